/* A library that does nothing. bench_process preloads it beside strays to
 * show what preloading any library costs a process on this machine: the
 * floor under strays' own cost (a mapped file, its relocations, its pages). */
void bench_empty_preload(void);
void bench_empty_preload(void) {}
