/* The call chain of capture_chain.inc built without frame pointers (Makefile). */
#define CHAIN(name) nofp_##name
#include "capture_chain.inc"
