/* The call chain of capture_chain.inc built with frame pointers (Makefile). */
#define CHAIN(name) fp_##name
#include "capture_chain.inc"
