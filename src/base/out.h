/* A buffered writer over a file descriptor that uses nothing but write(2):
 * no stdio and no malloc, so report writers can also run on the crash path.
 * The first write error sticks and later output is dropped. */
#ifndef STRAYS_OUT_H
#define STRAYS_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_out {
    int fd;
    int error;    /* 0 or the first -errno */
    bool to_file; /* fd is a regular file strays made: no SIGPIPE to guard against */
    size_t used;
    /* One page: writers live on the stack, and every process under `strays
     * run` writes a report, whose every 4 KiB of stack touched first is a
     * page fault; a larger buffer would save a write(2) per 4 KiB only. */
    char buf[4096];
};

void st_out_init(struct st_out *o, int fd);
void st_out_flush(struct st_out *o);
/* A writer into its own buffer only, never to an fd: short text (a file
 * name, a socket's addresses) built without stdio, for the crash path.
 * What does not fit is dropped. st_out_string() ends it and returns it. */
void st_out_init_string(struct st_out *o);
const char *st_out_string(struct st_out *o);
void st_out_mem(struct st_out *o, const char *s, size_t n);
void st_out_str(struct st_out *o, const char *s);
void st_out_char(struct st_out *o, char c);
void st_out_int(struct st_out *o, long long v);
void st_out_uint(struct st_out *o, unsigned long long v);
/* n, then one when n is 1, else many: "1 thread", "3 threads". */
void st_out_count(struct st_out *o, unsigned long long n, const char *one, const char *many);
/* "0x" and lower-case hex digits. */
void st_out_hex(struct st_out *o, unsigned long long v);
/* A duration in seconds: "0.4s", "12.4s", "3m12s", "2h05m". */
void st_out_duration(struct st_out *o, uint64_t ns);
/* Seconds with one decimal ("192.4"), for JSON. */
void st_out_seconds(struct st_out *o, uint64_t ns);
/* Seconds with three decimals ("192.412"), for JSON. */
void st_out_seconds_ms(struct st_out *o, uint64_t ns);
/* A JSON string literal, quotes included; bytes that are not valid UTF-8
 * are written as \ufffd so the output always parses. */
void st_out_json_str(struct st_out *o, const char *s);
/* s padded with spaces to width (never cut). */
void st_out_pad(struct st_out *o, const char *s, int width);

#endif
