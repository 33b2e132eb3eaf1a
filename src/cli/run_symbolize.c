/* `strays run`'s symbolization of the reports it collected. Each process
 * names its frames from ELF symbol tables and adds files and lines only
 * from debug info its modules carry themselves (src/symbolize/symbolize.c
 * says why); what a separate debug file knows (libc6-dbg's libc, Debian's
 * -dbgsym packages) is added here, with one libdwfl session per module
 * (path and build-id) for the whole job: a job of 5 000 processes reads
 * libc's debug info once, not 5 000 times. A report that gained a name or
 * a line is written back to its file, so --json copies what was printed. */
#define _GNU_SOURCE
#include "cli.h"

#include "base/options.h"
#include "base/out.h"
#include "symbolize/symbolize_offline.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ignore_option_error(void *ctx, const char *message)
{
    (void)ctx;
    (void)message; /* said once already, by the run command's own check */
}

/* Whether the run asked for names at all (symbolize=0 leaves module and
 * offset only, here as in the process). STRAYS_OPTIONS holds the user's
 * options and -o's by now. */
static bool symbolize_wanted(void)
{
    struct st_options opts;
    st_options_defaults(&opts);
    st_options_parse(&opts, getenv("STRAYS_OPTIONS"), ignore_option_error, NULL);
    return opts.symbolize;
}

/* Replaces path with r as JSON (a new file renamed over it). */
static void rewrite(const struct st_report *r, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.symbolized", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct st_out out;
    st_out_init(&out, fd);
    st_report_write_json(r, &out);
    st_out_flush(&out);
    if (close(fd) != 0 || out.error || rename(tmp, path) != 0)
        unlink(tmp); /* the process's own report stays */
}

int cli_run_symbolize(struct st_report *reports, char *const *paths, int count)
{
    if (count == 0 || !symbolize_wanted())
        return 0;
    bool any_stack = false;
    for (int i = 0; i < count && !any_stack; i++)
        any_stack = reports[i].nstacks > 0;
    if (!any_stack)
        return 0; /* clean processes only: libdw is not even loaded */
    struct st_offline_symbolizer *s;
    char err[300];
    /* No notes: a module rebuilt or removed while the job ran (a build's
     * own tools) keeps the names its process gave, which is all it can. */
    if (st_offline_symbolizer_open(&s, NULL, NULL, NULL, err, sizeof err) != 0) {
        cli_error("run: %s; frames keep the names their processes gave", err);
        return -1;
    }
    for (int i = 0; i < count; i++)
        if (st_offline_symbolize_report(s, &reports[i]) > 0 && paths[i])
            rewrite(&reports[i], paths[i]);
    st_offline_symbolizer_close(s);
    return 0;
}
