/* `strays report --format sarif`: SARIF 2.1.0, which code-scanning tools
 * (GitHub, GitLab, IDEs) show as annotations on the source. One run for
 * all the reports given, one result per leak group, located at the
 * innermost frame of its creation stack that has a file and line, with the
 * whole creation stack attached. */
#include "cli.h"

#include "base/st.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *text, *help;
} rules[CLI_LEAK_KINDS] = {
    [CLI_LEAK_THREAD] = {"ThreadLeak", "A thread was left running or never joined.",
                         "The program ended with a thread that was still running, or that "
                         "finished and was never joined (its stack and memory are still held)."},
    [CLI_LEAK_BLOCKED] = {"BlockedThread", "A thread was left blocked in a wait.",
                          "The program ended with a thread blocked in a wait (a condition, "
                          "lock, semaphore, read, sleep...) that nothing was going to end."},
    [CLI_LEAK_TIMER] = {"TimerLeak", "A POSIX timer was never deleted.",
                        "timer_create (or timerfd_create) without a matching timer_delete "
                        "(or close): the timer outlived its use."},
    [CLI_LEAK_FD] = {"FdLeak", "A file descriptor was left open.",
                     "An fd was opened (open, socket, pipe, fopen, ...) and never closed."},
};

static void key(struct st_out *o, const char *k)
{
    st_out_json_str(o, k);
    st_out_char(o, ':');
}

static void text_object(struct st_out *o, const char *k, const char *text)
{
    key(o, k);
    st_out_str(o, "{\"text\":");
    st_out_json_str(o, text);
    st_out_char(o, '}');
}

static void write_rules(struct st_out *o)
{
    st_out_str(o, "\"rules\":[");
    for (int k = 0; k < CLI_LEAK_KINDS; k++) {
        st_out_str(o, k ? ",\n  {" : "\n  {");
        key(o, "id");
        st_out_json_str(o, cli_leak_rule_id(k));
        st_out_char(o, ',');
        key(o, "name");
        st_out_json_str(o, rules[k].name);
        st_out_char(o, ',');
        text_object(o, "shortDescription", rules[k].text);
        st_out_char(o, ',');
        text_object(o, "fullDescription", rules[k].help);
        st_out_str(o, ",\"defaultConfiguration\":{\"level\":\"error\"}}");
    }
    st_out_str(o, "]");
}

/* A file as a URI reference: absolute paths as file:// URIs, relative ones
 * (as compilers record them) relative to the source root. */
static void write_artifact(struct st_out *o, const char *path)
{
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    struct cli_buf uri = {0};
    if (path[0] == '/')
        cli_buf_printf(&uri, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p && strchr(keep, *p)))
            cli_buf_printf(&uri, "%c", *p);
        else
            cli_buf_printf(&uri, "%%%02X", *p);
    }
    key(o, "artifactLocation");
    st_out_str(o, "{\"uri\":");
    st_out_json_str(o, cli_buf_str(&uri));
    if (path[0] != '/')
        st_out_str(o, ",\"uriBaseId\":\"%SRCROOT%\"");
    st_out_char(o, '}');
    cli_buf_free(&uri);
}

/* A location from a frame: physical when it has a file and line, always
 * logical (the function, or module+offset). */
static void write_location(struct st_out *o, const struct st_frame *f)
{
    st_out_char(o, '{');
    if (f->file && f->line > 0) {
        st_out_str(o, "\"physicalLocation\":{");
        write_artifact(o, f->file);
        st_out_str(o, ",\"region\":{\"startLine\":");
        st_out_int(o, f->line);
        st_out_str(o, "}},");
    }
    struct cli_buf label = {0};
    cli_buf_frame_label(&label, f);
    st_out_str(o, "\"logicalLocations\":[{");
    key(o, f->function ? "fullyQualifiedName" : "name");
    st_out_json_str(o, f->function ? f->function : cli_buf_str(&label));
    st_out_str(o, f->function ? ",\"kind\":\"function\"}]" : "}]");
    cli_buf_free(&label);
    st_out_char(o, '}');
}

static void write_stack(struct st_out *o, const struct st_report *r, int index, const char *what)
{
    st_out_str(o, "{\"message\":{\"text\":");
    st_out_json_str(o, what);
    st_out_str(o, "},\"frames\":[");
    const struct st_report_stack *s = &r->stacks[index];
    for (uint32_t i = 0; i < s->depth; i++) {
        const struct st_frame *f = &s->frames[i];
        st_out_str(o, i ? ",{" : "{");
        key(o, "location");
        write_location(o, f);
        if (f->module) {
            st_out_char(o, ',');
            key(o, "module");
            st_out_json_str(o, f->module);
        }
        st_out_str(o, ",\"properties\":{\"offset\":\"");
        st_out_hex(o, f->module ? f->offset : f->address);
        st_out_char(o, '"');
        if (f->build_id) {
            st_out_char(o, ',');
            key(o, "build_id");
            st_out_json_str(o, f->build_id);
        }
        st_out_str(o, "}}");
    }
    st_out_str(o, "]}");
}

/* 64-bit FNV-1a of the site's frames (function, file, line; module and
 * offset without a file): the same leak keeps its fingerprint across runs
 * and load addresses, so code scanning does not open it anew each time. */
static uint64_t site_hash(const struct st_report *r, const struct cli_leak_group *g)
{
    uint64_t h = 0xcbf29ce484222325ull;
    struct cli_buf b = {0};
    cli_buf_printf(&b, "%s", cli_leak_rule_id(g->kind));
    if (g->created_by >= 0 && (uint32_t)g->created_by < r->nstacks) {
        const struct st_report_stack *s = &r->stacks[g->created_by];
        for (uint32_t i = 0; i < s->depth; i++) {
            const struct st_frame *f = &s->frames[i];
            if (f->file)
                cli_buf_printf(&b, "|%s|%s|%d", f->function ? f->function : "", f->file, f->line);
            else
                cli_buf_printf(&b, "|%s|%s+%llx", f->function ? f->function : "",
                               f->module ? f->module : "", (unsigned long long)f->offset);
        }
    }
    for (const char *p = cli_buf_str(&b); *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    cli_buf_free(&b);
    return h;
}

static void write_result(struct st_out *o, const struct st_report *r, const char *file,
                         const struct cli_leak_group *g)
{
    struct cli_buf msg = {0};
    cli_buf_leak_title(&msg, r, g);
    cli_buf_printf(&msg, ", in %s (pid %d)", r->command ? r->command : r->exe ? r->exe : "?",
                   r->pid);
    st_out_str(o, "{\"ruleId\":");
    st_out_json_str(o, cli_leak_rule_id(g->kind));
    st_out_str(o, ",\"ruleIndex\":");
    st_out_int(o, g->kind);
    st_out_str(o, ",\"level\":\"error\",");
    text_object(o, "message", cli_buf_str(&msg));
    cli_buf_free(&msg);
    bool has_stack = g->created_by >= 0 && (uint32_t)g->created_by < r->nstacks &&
                     r->stacks[g->created_by].depth > 0;
    if (has_stack) {
        const struct st_frame *at = cli_frame_with_line(r, g->created_by);
        st_out_str(o, ",\"locations\":[");
        write_location(o, at ? at : &r->stacks[g->created_by].frames[0]);
        st_out_str(o, "],\"stacks\":[");
        write_stack(o, r, g->created_by, g->kind == CLI_LEAK_FD ? "opened at" : "created at");
        st_out_char(o, ']');
    }
    st_out_str(o, ",\"partialFingerprints\":{\"strays/site/v1\":\"");
    st_out_hex(o, site_hash(r, g));
    st_out_str(o, "\"},\"properties\":{\"count\":");
    st_out_uint(o, g->count);
    st_out_str(o, ",\"pid\":");
    st_out_int(o, r->pid);
    st_out_char(o, ',');
    key(o, "command");
    st_out_json_str(o, r->command ? r->command : r->exe ? r->exe : "?");
    st_out_char(o, ',');
    key(o, "report");
    st_out_json_str(o, file);
    st_out_str(o, "}}");
}

int cli_write_sarif(struct st_report *reports, const char *const *files, int count, int fd)
{
    struct st_out out;
    st_out_init(&out, fd);
    st_out_str(&out, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\","
                     "\"version\":\"2.1.0\",\n\"runs\":[{\"tool\":{\"driver\":{"
                     "\"name\":\"strays\",\"version\":\"" STRAYS_VERSION "\","
                     "\"semanticVersion\":\"" STRAYS_VERSION "\",\n");
    write_rules(&out);
    st_out_str(&out, "}},\n\"results\":[");
    bool first = true;
    int rc = 0;
    for (int i = 0; i < count && !rc; i++) {
        struct cli_leaks l;
        if (cli_leaks_group(&reports[i], &l) != 0) {
            rc = -1;
            break;
        }
        for (uint32_t j = 0; j < l.n; j++) {
            st_out_str(&out, first ? "\n" : ",\n");
            write_result(&out, &reports[i], files[i], &l.groups[j]);
            first = false;
        }
        cli_leaks_free(&l);
    }
    st_out_str(&out, "]}]}\n");
    st_out_flush(&out);
    return rc || out.error ? -1 : 0;
}
