/* The pprof encoder's wire format at its edges: lengths that need two and
 * three varint bytes (a 300-character function name, a 128-frame stack, a
 * label over 128 bytes), walked back field by field; and gzip, which
 * zlib must read back as the same bytes. Readers of the content are the
 * e2e tests (go tool pprof, protoc). */
#define _GNU_SOURCE
#include "base/gzip.h"
#include "report/pprof.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint64_t varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (int shift = 0; *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    cr_assert_fail("varint runs past the end");
    return 0;
}

/* Walks a message and the messages nested in it; returns its field count. */
static int walk(const uint8_t *p, const uint8_t *end, int depth)
{
    int fields = 0;
    while (p < end) {
        uint64_t key = varint(&p, end);
        unsigned wire = key & 7, field = (unsigned)(key >> 3);
        cr_assert_gt(field, 0);
        if (wire == 0) {
            varint(&p, end);
        } else {
            cr_assert_eq(wire, 2, "wire type %u", wire);
            uint64_t len = varint(&p, end);
            cr_assert_leq(len, (uint64_t)(end - p), "field %u overruns", field);
            /* Profile fields 1-5 and 11 are messages, and so are a sample's
             * labels (3) and a location's lines (4). */
            bool message = depth == 0 ? (field <= 5 || field == 11) : depth == 1 && field >= 3;
            if (message) walk(p, p + len, depth + 1);
            p += len;
        }
        fields++;
    }
    cr_assert_eq(p, end);
    return fields;
}

static void deep_report(struct st_report *r, char *name, struct st_frame *frames)
{
    memset(r, 0, sizeof *r);
    memset(name, 'f', 300);
    name[300] = '\0';
    for (int i = 0; i < 128; i++)
        frames[i] = (struct st_frame){.address = 0x401000u + 16u * (unsigned)i,
                                      .module = "/bin/deep",
                                      .offset = 0x1000u + 16u * (unsigned)i,
                                      .build_id = "abcd",
                                      .function = i ? "g" : name,
                                      .file = "deep.c",
                                      .line = i + 1};
    static struct st_report_stack stack;
    stack = (struct st_report_stack){128, frames};
    static struct st_report_blocked blocked = {.call = "read", .fd = 3, .target = NULL};
    static char target[200];
    memset(target, 't', sizeof target - 1);
    blocked.target = target;
    static struct st_report_thread thread;
    thread = (struct st_report_thread){.tid = 7,
                                       .name = "w",
                                       .state = ST_RT_BLOCKED,
                                       .created_by = 0,
                                       .stack = 0,
                                       .blocked = &blocked};
    r->threads = &thread;
    r->nthreads = 1;
    r->stacks = &stack;
    r->nstacks = 1;
    r->reason = "signal";
    r->command = "./deep";
    r->pid = 7;
}

Test(pprof, long_names_and_deep_stacks_encode_to_well_formed_messages)
{
    struct st_report r;
    char name[301];
    struct st_frame frames[128];
    deep_report(&r, name, frames);
    uint8_t *out;
    size_t len;
    cr_assert_eq(st_pprof_encode(&r, ST_PPROF_CREATED, &out, &len), 0);
    cr_assert_gt(walk(out, out + len, 0), 128 + 3);
    /* The name and the label are there whole. */
    cr_assert_not_null(memmem(out, len, name, 300));
    free(out);
}

Test(pprof, gzip_round_trips_through_zlib)
{
    struct st_report r;
    char name[301];
    struct st_frame frames[128];
    deep_report(&r, name, frames);
    uint8_t *raw, *gz;
    size_t raw_len, gz_len;
    cr_assert_eq(st_pprof_encode(&r, ST_PPROF_CURRENT, &raw, &raw_len), 0);
    cr_assert_eq(st_gzip(raw, raw_len, &gz, &gz_len), 0);
    cr_assert_eq(gz[0], 0x1f);
    cr_assert_eq(gz[1], 0x8b);
    uint8_t *back = malloc(raw_len + 1);
    z_stream s = {0};
    cr_assert_eq(inflateInit2(&s, 15 + 16), Z_OK);
    s.next_in = gz;
    s.avail_in = (uInt)gz_len;
    s.next_out = back;
    s.avail_out = (uInt)raw_len + 1;
    cr_assert_eq(inflate(&s, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(s.total_out, raw_len);
    cr_assert_eq(memcmp(back, raw, raw_len), 0);
    inflateEnd(&s);
    free(back);
    free(raw);
    free(gz);
}
