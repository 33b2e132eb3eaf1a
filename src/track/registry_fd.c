/* The fd registry; see registry_fd.h. Slots live in chunks mapped on first
 * use, so a program with a handful of fds costs one small chunk and a
 * program near a million fds still indexes directly. A slot's sequence
 * number is odd while its writer holds it: writers take it with a CAS (two
 * writers on one fd only happen in a racy program, and then they wait for
 * each other, not for the whole table); readers copy and retry. */
#define _GNU_SOURCE
#include "track/registry_fd.h"

#include "base/options.h"
#include "track/registry_memory.h"
#include "track/scope.h"
#include "base/st.h"

#include <string.h>
#include <sys/socket.h>

#define CHUNK_SHIFT 9
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)
#define MAX_FDS (1u << 20) /* fds above the kernel's default nr_open are not tracked */
#define CHUNK_COUNT (MAX_FDS / CHUNK_SLOTS)

struct slot {
    uint32_t seq;
    uint8_t live;
    uint8_t kind;
    uint8_t stream_kind;
    uint8_t name_truncated;
    uint8_t ignored;
    const char *scope;
    int tid;
    int clock;
    void *stream;
    const struct st_stack *created_by;
    uint64_t created_ns;
    char name[ST_FD_NAME_MAX];
};

static struct slot *chunks[CHUNK_COUNT] ST_LARGE_BSS;
/* One past the highest chunk ever mapped: walks of the table stop there
 * (most processes use the first chunk only, or none). */
ST_HOT_DATA static unsigned chunks_end;

/* The slot of fd, mapping its chunk first; NULL if fd is out of range or
 * there is no memory. The slow half of slot_of. */
static __attribute__((noinline)) struct slot *slot_create(int fd)
{
    if (fd < 0)
        return NULL;
    if ((unsigned)fd >= MAX_FDS) {
        st_mem_not_tracked(ST_MEM_FDS);
        return NULL;
    }
    struct slot **chunk = &chunks[(unsigned)fd >> CHUNK_SHIFT];
    struct slot *base = __atomic_load_n(chunk, __ATOMIC_ACQUIRE);
    if (!base) {
        struct slot *fresh = st_mem_map(ST_MEM_FDS, CHUNK_SLOTS * sizeof(struct slot));
        if (!fresh) {
            st_mem_not_tracked(ST_MEM_FDS);
            return NULL;
        }
        struct slot *expected = NULL;
        if (__atomic_compare_exchange_n(chunk, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            base = fresh;
            unsigned end = ((unsigned)fd >> CHUNK_SHIFT) + 1;
            unsigned seen = __atomic_load_n(&chunks_end, __ATOMIC_RELAXED);
            while (seen < end && !__atomic_compare_exchange_n(&chunks_end, &seen, end, false,
                                                              __ATOMIC_RELEASE, __ATOMIC_RELAXED))
                ;
        } else {
            st_mem_unmap(ST_MEM_FDS, fresh, CHUNK_SLOTS * sizeof(struct slot));
            base = expected;
        }
    }
    return &base[(unsigned)fd & (CHUNK_SLOTS - 1)];
}

/* The slot of fd, mapping its chunk when create is set; NULL if fd is out
 * of range or (create unset) its chunk was never needed. Inlined: every
 * hooked open and close comes through here. */
static inline struct slot *slot_of(int fd, bool create)
{
    if (ST_LIKELY((unsigned)fd < MAX_FDS)) {
        struct slot *base = __atomic_load_n(&chunks[(unsigned)fd >> CHUNK_SHIFT], __ATOMIC_ACQUIRE);
        if (ST_LIKELY(base))
            return &base[(unsigned)fd & (CHUNK_SLOTS - 1)];
    }
    return create ? slot_create(fd) : NULL;
}

/* Takes the slot for writing; returns the even sequence number it had. */
static uint32_t slot_lock(struct slot *s)
{
    for (;;) {
        uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
        if (!(seq & 1) && __atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
                                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return seq;
        __builtin_ia32_pause();
    }
}

static void slot_unlock(struct slot *s, uint32_t seq)
{
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Keeps the tail of name: the end of a path is what tells files apart. */
static void set_name(struct slot *s, const char *name)
{
    if (!name) {
        s->name[0] = '\0';
        s->name_truncated = 0;
        return;
    }
    size_t len = strlen(name);
    s->name_truncated = len >= ST_FD_NAME_MAX;
    if (s->name_truncated) {
        name += len - (ST_FD_NAME_MAX - 1);
        len = ST_FD_NAME_MAX - 1;
    }
    memcpy(s->name, name, len);
    s->name[len] = '\0';
}

ST_HOT static void write_slot(struct slot *s, enum st_fd_kind kind, const char *name,
                              bool name_truncated, void *stream, enum st_fd_stream stream_kind,
                              int clock, const struct st_stack *stack)
{
    uint64_t now = st_uptime_ns();
    uint32_t seq = slot_lock(s);
    s->live = 1;
    s->kind = (uint8_t)kind;
    s->stream_kind = (uint8_t)stream_kind;
    s->stream = stream;
    s->clock = clock;
    s->tid = st_gettid();
    s->created_by = stack;
    s->created_ns = now;
    s->ignored = 0;
    s->scope = st_scope_current();
    set_name(s, name);
    if (name_truncated)
        s->name_truncated = 1;
    slot_unlock(s, seq);
}

ST_HOT void st_fd_track_stream(int fd, enum st_fd_kind kind, const char *name, void *stream,
                               enum st_fd_stream stream_kind)
{
    if (!(st_opt.track & ST_TRACK_FDS))
        return;
    struct slot *s = slot_of(fd, true);
    if (s)
        write_slot(s, kind, name, false, stream, stream_kind, -1, st_stack_here());
}

ST_HOT void st_fd_track(int fd, enum st_fd_kind kind, const char *name)
{
    st_fd_track_stream(fd, kind, name, NULL, ST_STREAM_NONE);
}

void st_fd_track_timerfd(int fd, int clock)
{
    if (!(st_opt.track & ST_TRACK_TIMERS))
        return;
    struct slot *s = slot_of(fd, true);
    if (s)
        write_slot(s, ST_FD_TIMERFD, NULL, false, NULL, ST_STREAM_NONE, clock, st_stack_here());
}

/* A consistent copy of s; false when the slot is not live. */
static bool read_slot(const struct slot *s, struct slot *copy)
{
    for (;;) {
        uint32_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
        if (before & 1) {
            __builtin_ia32_pause();
            continue;
        }
        memcpy(copy, (const void *)s, sizeof *copy);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == before)
            return copy->live;
    }
}

void st_fd_track_dup(int oldfd, int newfd)
{
    if (!(st_opt.track & ST_TRACK_FDS))
        return;
    struct slot *dst = slot_of(newfd, true);
    if (!dst)
        return;
    const struct st_stack *stack = st_stack_here();
    struct slot *src = slot_of(oldfd, false), from;
    if (src && read_slot(src, &from))
        write_slot(dst, (enum st_fd_kind)from.kind, from.name, from.name_truncated, NULL,
                   ST_STREAM_NONE, from.clock, stack);
    else
        write_slot(dst, ST_FD_ANY, NULL, false, NULL, ST_STREAM_NONE, -1, stack);
}

void st_fd_track_received(const struct msghdr *msg)
{
    if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
        return;
    /* CMSG_NXTHDR casts away const; the header is only read. */
    struct msghdr *m = (struct msghdr *)msg;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof fd, sizeof fd); /* CMSG_DATA need not be aligned */
            if (fd > 2)
                st_fd_track(fd, ST_FD_ANY, NULL);
        }
    }
}

void st_fd_attach_stream(int fd, void *stream, enum st_fd_stream stream_kind)
{
    struct slot *s = slot_of(fd, false);
    if (!s || !__atomic_load_n(&s->live, __ATOMIC_RELAXED))
        return;
    uint32_t seq = slot_lock(s);
    if (s->live) {
        s->stream = stream;
        s->stream_kind = (uint8_t)stream_kind;
    }
    slot_unlock(s, seq);
}

ST_HOT void st_fd_untrack(int fd)
{
    struct slot *s = slot_of(fd, false);
    /* The common close of an fd strays never saw costs this one load. */
    if (!s || !__atomic_load_n(&s->live, __ATOMIC_RELAXED))
        return;
    uint32_t seq = slot_lock(s);
    s->live = 0;
    slot_unlock(s, seq);
}

void st_fd_untrack_range(unsigned first, unsigned last)
{
    if (last >= MAX_FDS)
        last = MAX_FDS - 1;
    for (unsigned fd = first; fd <= last;) {
        if (!__atomic_load_n(&chunks[fd >> CHUNK_SHIFT], __ATOMIC_ACQUIRE)) {
            fd = ((fd >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT; /* skip an unmapped chunk */
            continue;
        }
        st_fd_untrack((int)fd);
        fd++;
    }
}

bool st_fd_is_tracked(int fd)
{
    struct slot *s = slot_of(fd, false);
    return s && __atomic_load_n(&s->live, __ATOMIC_RELAXED);
}

ST_EVERY_FORK
static unsigned chunks_in_use(void) { return __atomic_load_n(&chunks_end, __ATOMIC_ACQUIRE); }

ST_EVERY_PROCESS
bool st_fd_any_tracked(void)
{
    for (unsigned c = 0, end = chunks_in_use(); c < end; c++) {
        const struct slot *base = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
        for (unsigned i = 0; base && i < CHUNK_SLOTS; i++)
            if (__atomic_load_n(&base[i].live, __ATOMIC_RELAXED))
                return true;
    }
    return false;
}

ST_EVERY_REPORT
int st_fd_foreach(void (*fn)(const struct st_fd_view *, void *), void *ctx)
{
    int n = 0;
    for (unsigned c = 0, end = chunks_in_use(); c < end; c++) {
        struct slot *base = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
        for (unsigned i = 0; base && i < CHUNK_SLOTS; i++) {
            struct slot copy;
            if (!base[i].live || !read_slot(&base[i], &copy))
                continue;
            struct st_fd_view v = {
                .fd = (int)(c * CHUNK_SLOTS + i),
                .kind = (enum st_fd_kind)copy.kind,
                .stream_kind = (enum st_fd_stream)copy.stream_kind,
                .name_truncated = copy.name_truncated,
                .tid = copy.tid,
                .clock = copy.clock,
                .stream = copy.stream,
                .created_by = copy.created_by,
                .created_ns = copy.created_ns,
                .ignored = copy.ignored,
                .scope = copy.scope,
            };
            memcpy(v.name, copy.name, sizeof v.name);
            fn(&v, ctx);
            n++;
        }
    }
    return n;
}

void st_fd_ignore_all(void)
{
    for (unsigned c = 0, end = chunks_in_use(); c < end; c++) {
        struct slot *base = __atomic_load_n(&chunks[c], __ATOMIC_ACQUIRE);
        for (unsigned i = 0; base && i < CHUNK_SLOTS; i++) {
            if (!__atomic_load_n(&base[i].live, __ATOMIC_RELAXED))
                continue;
            uint32_t seq = slot_lock(&base[i]);
            base[i].ignored = 1;
            slot_unlock(&base[i], seq);
        }
    }
}

/* Only the forking thread survives, so no slot is being written; a slot a
 * vanished thread held half-written goes with the rest. What the parent
 * could not track is not the child's to report either. The parent's chunks
 * are unmapped, not wiped: wiping would copy each of their pages into the
 * child (a page fault each, in every child a shell forks), most of them
 * only to exec; the child maps fresh ones for the fds it opens. */
ST_EVERY_FORK
void st_fd_after_fork_child(void)
{
    for (unsigned c = 0, end = chunks_in_use(); c < end; c++)
        if (chunks[c]) {
            st_mem_unmap(ST_MEM_FDS, chunks[c], CHUNK_SLOTS * sizeof(struct slot));
            chunks[c] = NULL;
        }
    ST_STORE_IF_CHANGED(chunks_end, 0u);
    st_mem_reset_misses();
}
