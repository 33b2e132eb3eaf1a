/* The JSON report writer. The format is a contract (docs/report.schema.json):
 * objects refer to entries of the "stacks" table by index. */
#include "report/report.h"
#include "base/st.h"

static void field_str(struct st_out *o, const char *key, const char *value)
{
    st_out_char(o, '"');
    st_out_str(o, key);
    st_out_str(o, "\":");
    if (value)
        st_out_json_str(o, value);
    else
        st_out_str(o, "null");
}

static void field_int(struct st_out *o, const char *key, long long value)
{
    st_out_char(o, '"');
    st_out_str(o, key);
    st_out_str(o, "\":");
    st_out_int(o, value);
}

/* The number, or null when the field has none (present false). */
static void field_int_or_null(struct st_out *o, const char *key, bool present, long long value)
{
    if (present)
        field_int(o, key, value);
    else
        field_str(o, key, NULL);
}

static void field_index(struct st_out *o, const char *key, int index)
{
    field_int_or_null(o, key, index >= 0, index);
}

static void field_hex(struct st_out *o, const char *key, uint64_t value)
{
    st_out_char(o, '"');
    st_out_str(o, key);
    st_out_str(o, "\":\"");
    st_out_hex(o, value);
    st_out_char(o, '"');
}

static void write_frame(struct st_out *o, const struct st_frame *f)
{
    st_out_char(o, '{');
    field_hex(o, "address", f->address);
    if (f->module) {
        st_out_char(o, ',');
        field_str(o, "module", f->module);
        st_out_char(o, ',');
        field_hex(o, "offset", f->offset);
    }
    if (f->build_id) {
        st_out_char(o, ',');
        field_str(o, "build_id", f->build_id);
    }
    if (f->function) {
        st_out_char(o, ',');
        field_str(o, "function", f->function);
    }
    if (f->file) {
        st_out_char(o, ',');
        field_str(o, "file", f->file);
        st_out_char(o, ',');
        field_int(o, "line", f->line);
    }
    if (f->unloaded)
        st_out_str(o, ",\"unloaded\":true");
    st_out_char(o, '}');
}

static void write_blocked(struct st_out *o, const struct st_report_blocked *b)
{
    st_out_str(o, "{");
    field_str(o, "call", b->call);
    st_out_char(o, ',');
    if (b->object)
        field_hex(o, "object", b->object);
    else
        field_str(o, "object", NULL);
    st_out_char(o, ',');
    field_int_or_null(o, "fd", b->fd >= 0, b->fd);
    st_out_char(o, ',');
    field_str(o, "target", b->target);
    st_out_str(o, ",\"seconds\":");
    if (b->since_unknown)
        st_out_str(o, "null");
    else
        st_out_seconds_ms(o, b->blocked_ns);
    st_out_char(o, ',');
    field_int_or_null(o, "deadline", b->deadline_ms >= 0, b->deadline_ms);
    st_out_char(o, ',');
    field_int(o, "timeout_ns", (long long)b->timeout_ns);
    st_out_char(o, ',');
    field_int(o, "timeouts", b->timeouts);
    st_out_char(o, ',');
    field_int_or_null(o, "owner_tid", b->owner_tid > 0, b->owner_tid);
    st_out_str(o, b->stuck ? ",\"stuck\":true" : ",\"stuck\":false");
    if (b->wchan) {
        st_out_char(o, ',');
        field_str(o, "wchan", b->wchan);
    }
    st_out_char(o, '}');
}

static void write_thread(struct st_out *o, const struct st_report_thread *t)
{
    st_out_char(o, '{');
    field_int(o, "tid", t->tid);
    st_out_char(o, ',');
    field_str(o, "name", t->name ? t->name : "");
    st_out_char(o, ',');
    field_str(o, "state", st_report_thread_state_name(t->state));
    st_out_str(o, t->detached ? ",\"detached\":true," : ",\"detached\":false,");
    if (t->blocked) {
        st_out_str(o, "\"blocked\":");
        write_blocked(o, t->blocked);
        st_out_char(o, ',');
    } else {
        st_out_str(o, "\"blocked\":null,");
    }
    field_index(o, "created_by", t->created_by);
    st_out_char(o, ',');
    field_index(o, "stack", t->stack);
    st_out_char(o, ',');
    field_int(o, "created_ms", (long long)t->created_ms);
    st_out_char(o, ',');
    field_int(o, "parent_tid", t->parent_tid);
    st_out_char(o, ',');
    field_str(o, "scope", t->scope);
    st_out_char(o, '}');
}

static void field_bool(struct st_out *o, const char *key, bool value)
{
    st_out_char(o, '"');
    st_out_str(o, key);
    st_out_str(o, value ? "\":true" : "\":false");
}

static void write_timer(struct st_out *o, const struct st_report_timer *t)
{
    st_out_char(o, '{');
    field_str(o, "id", t->id);
    st_out_char(o, ',');
    field_str(o, "clock", t->clock);
    st_out_char(o, ',');
    field_str(o, "notify", t->notify);
    st_out_char(o, ',');
    if (t->armed_unknown)
        field_str(o, "armed", NULL);
    else
        field_bool(o, "armed", t->armed);
    st_out_char(o, ',');
    field_int(o, "interval_ns", (long long)t->interval_ns);
    st_out_char(o, ',');
    field_int_or_null(o, "fd", t->fd >= 0, t->fd);
    st_out_char(o, ',');
    field_int(o, "tid", t->tid);
    st_out_char(o, ',');
    field_index(o, "created_by", t->created_by);
    st_out_char(o, ',');
    field_int(o, "created_ms", (long long)t->created_ms);
    st_out_char(o, ',');
    field_str(o, "scope", t->scope);
    st_out_char(o, '}');
}

static void write_fd(struct st_out *o, const struct st_report_fd *f)
{
    st_out_char(o, '{');
    field_int(o, "fd", f->fd);
    st_out_char(o, ',');
    field_str(o, "kind", f->kind);
    st_out_char(o, ',');
    field_str(o, "target", f->target);
    st_out_char(o, ',');
    if (f->stream) {
        st_out_str(o, "\"stream\":{");
        field_str(o, "type", f->stream);
        st_out_char(o, ',');
        field_hex(o, "address", f->stream_address);
        st_out_str(o, "},");
    } else {
        st_out_str(o, "\"stream\":null,");
    }
    field_int(o, "tid", f->tid);
    st_out_char(o, ',');
    field_index(o, "created_by", f->created_by);
    st_out_char(o, ',');
    field_int(o, "created_ms", (long long)f->created_ms);
    st_out_char(o, ',');
    field_str(o, "scope", f->scope);
    st_out_char(o, '}');
}

/* "exhausted" and "fd_warn" dumps: {"kind":"fds","error":"EMFILE",...}. */
static void write_limit(struct st_out *o, const struct st_report_limit *l)
{
    st_out_char(o, '{');
    field_str(o, "kind", l->kind);
    st_out_char(o, ',');
    field_str(o, "error", l->error);
    st_out_char(o, ',');
    field_int_or_null(o, "rlimit", l->rlimit >= 0, l->rlimit);
    st_out_char(o, ',');
    field_int(o, "hits", l->hits);
    st_out_char(o, ',');
    field_index(o, "fd", l->fd);
    st_out_char(o, ',');
    field_int(o, "warn_percent", l->warn_percent);
    st_out_char(o, '}');
}

/* Live dumps: {"since_ms":N|null,"sites":[...]}; other reports: null. */
static void write_growth(struct st_out *o, const struct st_report *r)
{
    if (!r->growth) {
        st_out_str(o, "null");
        return;
    }
    st_out_str(o, "{\"since_ms\":");
    if (r->growth_since_ms >= 0)
        st_out_int(o, r->growth_since_ms);
    else
        st_out_str(o, "null");
    st_out_str(o, ",\"sites\":[");
    for (uint32_t i = 0; i < r->ngrowth; i++) {
        const struct st_report_growth *g = &r->growth[i];
        st_out_str(o, i ? ",\n {" : "\n {");
        field_str(o, "kind", g->kind);
        st_out_char(o, ',');
        field_index(o, "created_by", g->created_by);
        st_out_char(o, ',');
        field_int(o, "count", g->count);
        st_out_char(o, ',');
        field_int(o, "delta", g->delta);
        st_out_char(o, ',');
        field_int(o, "streak", g->streak);
        st_out_char(o, ',');
        field_bool(o, "growing", g->growing);
        st_out_char(o, '}');
    }
    st_out_str(o, "]}");
}

/* Crash reports: the signal, the fault address and the crashing thread. */
static void write_crash(struct st_out *o, const struct st_report *r)
{
    if (!r->signal) {
        st_out_str(o, "null");
        return;
    }
    st_out_char(o, '{');
    field_int(o, "signal", r->signal);
    st_out_char(o, ',');
    field_str(o, "name", st_report_signal_name(r->signal));
    st_out_char(o, ',');
    field_hex(o, "fault_address", r->fault_address);
    st_out_char(o, ',');
    field_int(o, "tid", r->crash_tid);
    st_out_char(o, ',');
    field_index(o, "stack", r->crash_stack);
    st_out_char(o, '}');
}

/* {"threads":N,"timers":N,"fds":N,"rules":[...]}: what suppression rules
 * left out; rules listed with print_suppressions=1 only. */
static void write_suppressed(struct st_out *o, const struct st_report_suppressed *s)
{
    st_out_char(o, '{');
    field_int(o, "threads", s->threads);
    st_out_char(o, ',');
    field_int(o, "timers", s->timers);
    st_out_char(o, ',');
    field_int(o, "fds", s->fds);
    st_out_str(o, ",\"rules\":[");
    for (uint32_t i = 0; i < s->nrules; i++) {
        st_out_str(o, i ? ",\n {" : "\n {");
        field_str(o, "rule", s->rules[i].rule);
        st_out_char(o, ',');
        field_str(o, "file", s->rules[i].file);
        st_out_char(o, ',');
        field_int(o, "line", s->rules[i].line);
        st_out_char(o, ',');
        field_int(o, "matched", s->rules[i].matched);
        st_out_char(o, '}');
    }
    st_out_str(o, "]}");
}

/* {"table_bytes":N,...,"not_tracked":{...}}: what tracking cost and missed;
 * null in a report read from a file that did not have it. */
static void write_tracking(struct st_out *o, const struct st_report_tracking *t)
{
    if (!t->present) {
        st_out_str(o, "null");
        return;
    }
    st_out_char(o, '{');
    field_bool(o, "complete", !st_report_tracking_incomplete(t) && !t->threads_unread &&
                                  !t->timers_unread);
    st_out_char(o, ',');
    field_int(o, "table_bytes", (long long)t->table_bytes);
    st_out_char(o, ',');
    field_int(o, "stack_bytes", (long long)t->stack_bytes);
    st_out_char(o, ',');
    field_int_or_null(o, "limit_bytes", t->limit_bytes != 0, (long long)t->limit_bytes);
    st_out_str(o, ",\"not_tracked\":{");
    field_int(o, "threads", (long long)t->threads_not_tracked);
    st_out_char(o, ',');
    field_int(o, "timers", (long long)t->timers_not_tracked);
    st_out_char(o, ',');
    field_int(o, "fds", (long long)t->fds_not_tracked);
    st_out_char(o, ',');
    field_int(o, "stacks", (long long)t->stacks_not_kept);
    st_out_str(o, "},");
    field_int(o, "timers_unchecked", t->timers_unchecked);
    st_out_char(o, ',');
    field_int(o, "fds_unchecked", t->fds_unchecked);
    st_out_char(o, ',');
    field_int(o, "threads_without_stack", t->threads_without_stack);
    st_out_char(o, ',');
    field_int(o, "threads_unread", t->threads_unread);
    st_out_char(o, ',');
    field_int(o, "timers_unread", t->timers_unread);
    st_out_char(o, '}');
}

ST_EVERY_REPORT
void st_report_write_json(const struct st_report *r, struct st_out *o)
{
    st_out_str(o, "{\"tool\":\"strays\",");
    field_str(o, "version", r->version);
    st_out_char(o, ',');
    field_int(o, "pid", r->pid);
    st_out_char(o, ',');
    field_str(o, "exe", r->exe);
    st_out_char(o, ',');
    field_str(o, "command", r->command);
    st_out_char(o, ',');
    field_str(o, "reason", r->reason);
    st_out_char(o, ',');
    field_str(o, "scope", r->scope);
    st_out_char(o, ',');
    field_int_or_null(o, "exit_status", r->exit_status >= 0, r->exit_status);
    st_out_char(o, ',');
    field_int(o, "time", (long long)r->time_ms);
    st_out_char(o, ',');
    field_int(o, "uptime_ms", (long long)r->uptime_ms);
    st_out_str(o, ",\n\"threads\":[");
    for (uint32_t i = 0; i < r->nthreads; i++) {
        st_out_str(o, i ? ",\n " : "\n ");
        write_thread(o, &r->threads[i]);
    }
    st_out_str(o, "],\n\"untracked_threads\":[");
    for (uint32_t i = 0; i < r->nuntracked; i++) {
        st_out_str(o, i ? ",{" : "{");
        field_int(o, "tid", r->untracked[i].tid);
        st_out_char(o, ',');
        field_str(o, "name", r->untracked[i].name ? r->untracked[i].name : "");
        st_out_char(o, '}');
    }
    st_out_str(o, "],\n\"timers\":[");
    for (uint32_t i = 0; i < r->ntimers; i++) {
        st_out_str(o, i ? ",\n " : "\n ");
        write_timer(o, &r->timers[i]);
    }
    st_out_str(o, "],\n\"fds\":[");
    for (uint32_t i = 0; i < r->nfds; i++) {
        st_out_str(o, i ? ",\n " : "\n ");
        write_fd(o, &r->fds[i]);
    }
    st_out_str(o, "],\n\"growth\":");
    write_growth(o, r);
    st_out_str(o, ",\n\"crash\":");
    write_crash(o, r);
    if (r->limit.present) {
        st_out_str(o, ",\n\"limit\":");
        write_limit(o, &r->limit);
    }
    st_out_str(o, ",\n\"deadlocks\":[");
    for (uint32_t i = 0; i < r->ndeadlocks; i++) {
        st_out_str(o, i ? ",[" : "[");
        for (uint32_t j = 0; j < r->deadlocks[i].n; j++) {
            if (j)
                st_out_char(o, ',');
            st_out_int(o, r->deadlocks[i].tids[j]);
        }
        st_out_char(o, ']');
    }
    st_out_str(o, "],\n\"suppressed\":");
    write_suppressed(o, &r->suppressed);
    st_out_str(o, ",\n\"tracking\":");
    write_tracking(o, &r->tracking);
    st_out_str(o, ",\n\"stacks\":[");
    for (uint32_t i = 0; i < r->nstacks; i++) {
        st_out_str(o, i ? ",\n [" : "\n [");
        for (uint32_t j = 0; j < r->stacks[i].depth; j++) {
            if (j)
                st_out_char(o, ',');
            write_frame(o, &r->stacks[i].frames[j]);
        }
        st_out_char(o, ']');
    }
    st_out_str(o, "]}\n");
}
