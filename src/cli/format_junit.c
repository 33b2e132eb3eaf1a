/* `strays report --format junit`: JUnit XML, the format every CI system
 * shows as test results. One testsuite per report, one failing testcase per
 * leak group (kind and creation stack), named after the creation site so a
 * CI's test history follows it from run to run; a clean report is one
 * passing testcase. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of the valid UTF-8 sequence at s that XML 1.0 allows, or 0. */
static int xml_char_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' ? 1 : 0;
    int n = s[0] >= 0xf5 ? 0 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
                   (s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)))
        return 0; /* overlong, surrogate, U+FFFE/U+FFFF */
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0;
    return n;
}

/* s escaped for XML text or a quoted attribute; characters XML cannot
 * hold become U+FFFD. */
static void xml_escaped(struct st_out *o, const char *str, bool attribute)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        int n = xml_char_len(s);
        if (n == 0) {
            st_out_str(o, "\xef\xbf\xbd");
            s++;
            continue;
        }
        switch (*s) {
        case '&':
            st_out_str(o, "&amp;");
            break;
        case '<':
            st_out_str(o, "&lt;");
            break;
        case '>':
            st_out_str(o, "&gt;");
            break;
        case '"':
            st_out_str(o, attribute ? "&quot;" : "\"");
            break;
        case '\n':
            st_out_str(o, attribute ? "&#10;" : "\n");
            break;
        case '\r':
            st_out_str(o, "&#13;");
            break;
        case '\t':
            st_out_str(o, attribute ? "&#9;" : "\t");
            break;
        default:
            st_out_mem(o, (const char *)s, (size_t)n);
        }
        s += n;
    }
}

static void attr(struct st_out *o, const char *name, const char *value)
{
    st_out_char(o, ' ');
    st_out_str(o, name);
    st_out_str(o, "=\"");
    xml_escaped(o, value, true);
    st_out_char(o, '"');
}

static void attr_uint(struct st_out *o, const char *name, unsigned long long value)
{
    st_out_char(o, ' ');
    st_out_str(o, name);
    st_out_str(o, "=\"");
    st_out_uint(o, value);
    st_out_char(o, '"');
}

static void property(struct st_out *o, const char *name, const char *value)
{
    st_out_str(o, "      <property");
    attr(o, "name", name);
    attr(o, "value", value);
    st_out_str(o, "/>\n");
}

/* "strays.demo": the program's base name, dots made underscores (CI
 * systems read dots in a classname as packages). */
static void classname(struct cli_buf *b, const struct st_report *r)
{
    const char *path = r->command ? r->command : r->exe ? r->exe : "unknown";
    const char *slash = strrchr(path, '/');
    cli_buf_printf(b, "strays.");
    for (const char *p = slash ? slash + 1 : path; *p; p++)
        cli_buf_printf(b, "%c", *p == '.' ? '_' : *p);
}

static void write_properties(struct st_out *o, const struct st_report *r, const char *file)
{
    char num[32];
    st_out_str(o, "    <properties>\n");
    property(o, "strays.report", file);
    snprintf(num, sizeof num, "%d", r->pid);
    property(o, "strays.pid", num);
    if (r->exe)
        property(o, "strays.exe", r->exe);
    property(o, "strays.reason", r->reason ? r->reason : "?");
    if (r->exit_status >= 0) {
        snprintf(num, sizeof num, "%d", r->exit_status);
        property(o, "strays.exit_status", num);
    }
    st_out_str(o, "    </properties>\n");
}

/* Test case names within one suite are made unique: two groups whose
 * innermost frames read the same get their stack's index appended. */
static bool name_taken(const struct st_report *r, const struct cli_leaks *l, uint32_t upto,
                       const char *name)
{
    bool taken = false;
    struct cli_buf b = {0};
    for (uint32_t i = 0; i < upto && !taken; i++) {
        cli_buf_reset(&b);
        cli_buf_leak_name(&b, r, &l->groups[i]);
        taken = !strcmp(cli_buf_str(&b), name);
    }
    cli_buf_free(&b);
    return taken;
}

static void write_testcase(struct st_out *o, const struct st_report *r, const struct cli_leaks *l,
                           uint32_t i, const char *cls)
{
    const struct cli_leak_group *g = &l->groups[i];
    struct cli_buf name = {0}, title = {0}, details = {0};
    cli_buf_leak_name(&name, r, g);
    if (name_taken(r, l, i, cli_buf_str(&name)))
        cli_buf_printf(&name, " (stack %d)", g->created_by);
    cli_buf_leak_title(&title, r, g);
    cli_buf_leak_details(&details, r, g);
    st_out_str(o, "    <testcase");
    attr(o, "name", cli_buf_str(&name));
    attr(o, "classname", cls);
    st_out_str(o, " time=\"0\">\n      <failure");
    attr(o, "message", cli_buf_str(&title));
    attr(o, "type", cli_leak_rule_id(g->kind));
    st_out_char(o, '>');
    xml_escaped(o, cli_buf_str(&details), false);
    st_out_str(o, "</failure>\n    </testcase>\n");
    cli_buf_free(&name);
    cli_buf_free(&title);
    cli_buf_free(&details);
}

static void write_suite(struct st_out *o, const struct st_report *r, const char *file, int id,
                        const struct cli_leaks *l)
{
    struct cli_buf cls = {0};
    classname(&cls, r);
    char stamp[32] = "1970-01-01T00:00:00", seconds[32];
    time_t t = (time_t)(r->time_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(seconds, sizeof seconds, "%" PRIu64 ".%03" PRIu64, r->uptime_ms / 1000,
             r->uptime_ms % 1000);
    st_out_str(o, "  <testsuite");
    attr(o, "name", r->command ? r->command : r->exe ? r->exe : "unknown");
    attr_uint(o, "tests", l->n ? l->n : 1);
    attr_uint(o, "failures", l->n);
    st_out_str(o, " errors=\"0\" skipped=\"0\"");
    attr(o, "time", seconds);
    attr(o, "timestamp", stamp);
    attr_uint(o, "id", (unsigned)id);
    st_out_str(o, ">\n");
    write_properties(o, r, file);
    for (uint32_t i = 0; i < l->n; i++)
        write_testcase(o, r, l, i, cli_buf_str(&cls));
    if (!l->n) {
        st_out_str(o, "    <testcase name=\"no leaks\"");
        attr(o, "classname", cli_buf_str(&cls));
        st_out_str(o, " time=\"0\"/>\n");
    }
    st_out_str(o, "  </testsuite>\n");
    cli_buf_free(&cls);
}

int cli_write_junit(struct st_report *reports, const char *const *files, int count, int fd)
{
    struct cli_leaks *leaks = calloc((size_t)count + 1, sizeof *leaks);
    if (!leaks)
        return -1;
    unsigned long long tests = 0, failures = 0;
    for (int i = 0; i < count; i++) {
        if (cli_leaks_group(&reports[i], &leaks[i]) != 0) {
            while (i-- > 0)
                cli_leaks_free(&leaks[i]);
            free(leaks);
            return -1;
        }
        tests += leaks[i].n ? leaks[i].n : 1;
        failures += leaks[i].n;
    }
    struct st_out out;
    st_out_init(&out, fd);
    st_out_str(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"strays\"");
    attr_uint(&out, "tests", tests);
    attr_uint(&out, "failures", failures);
    st_out_str(&out, " errors=\"0\">\n");
    for (int i = 0; i < count; i++) {
        write_suite(&out, &reports[i], files[i], i, &leaks[i]);
        cli_leaks_free(&leaks[i]);
    }
    st_out_str(&out, "</testsuites>\n");
    st_out_flush(&out);
    free(leaks);
    return out.error ? -1 : 0;
}
