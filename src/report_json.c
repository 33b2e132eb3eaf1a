/* The JSON report writer. The format is a contract (docs/report.schema.json):
 * objects refer to entries of the "stacks" table by index. */
#include "report.h"

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

static void field_index(struct st_out *o, const char *key, int index)
{
    if (index >= 0)
        field_int(o, key, index);
    else
        field_str(o, key, NULL);
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
    st_out_str(o, "\"blocked\":null,");
    field_index(o, "created_by", t->created_by);
    st_out_char(o, ',');
    field_index(o, "stack", t->stack);
    st_out_char(o, ',');
    field_int(o, "created_ms", (long long)t->created_ms);
    st_out_char(o, ',');
    field_int(o, "parent_tid", t->parent_tid);
    st_out_char(o, '}');
}

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
    if (r->exit_status >= 0)
        field_int(o, "exit_status", r->exit_status);
    else
        field_str(o, "exit_status", NULL);
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
    st_out_str(o, "],\n\"timers\":[],\n\"fds\":[],\n\"stacks\":[");
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
