/* strays' options: one table (options.def) gives the struct, the parser and
 * the help text. Values come from STRAYS_OPTIONS in the sanitizers' syntax. */
#ifndef STRAYS_OPTIONS_H
#define STRAYS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum st_format { ST_FORMAT_TEXT, ST_FORMAT_JSON };

typedef bool st_opt_bool_t;
typedef enum st_format st_opt_format_t;
/* A path option points at its default (a literal) or at a copy kept for
 * the life of the process (options.c), so the struct stays small: st_opt
 * shares the one page of variables every process writes at start (st.h).
 * A value leaves room for the ".PID.N.json" a report file adds to it. */
#define ST_OPT_PATH_SIZE 512
#define ST_OPT_PATH_MAX (ST_OPT_PATH_SIZE - 64)
typedef const char *st_opt_path_t;
typedef int st_opt_exitcode_t;
typedef int st_opt_depth_t;
typedef int st_opt_verbosity_t;
typedef int st_opt_percent_t; /* 0 to 100; 0: off */
/* Bits of the track option. */
enum { ST_TRACK_THREADS = 1, ST_TRACK_TIMERS = 2, ST_TRACK_FDS = 4 };
typedef unsigned st_opt_track_t;
typedef uint64_t st_opt_duration_t; /* nanoseconds */
#define ST_OPT_MILLISECOND 1000000ull
#define ST_OPT_SECOND 1000000000ull
typedef uint64_t st_opt_size_t;     /* bytes; 0: no limit */
typedef int st_opt_signal_t;         /* 0: none */
typedef const char *st_opt_path_or_none_t;
typedef unsigned st_opt_mode_t; /* permission bits, 0 to 0777 */
enum st_report_when { ST_REPORT_ALWAYS, ST_REPORT_FAILURE };
typedef enum st_report_when st_opt_report_when_t;
enum st_exitcode_for { ST_EXITCODE_FOR_ROOT, ST_EXITCODE_FOR_EVERY, ST_EXITCODE_FOR_RUN };
typedef enum st_exitcode_for st_opt_exitcode_for_t;

struct st_options {
#define ST_OPT(type, name, def, value, help) st_opt_##type##_t name;
#include "base/options.def"
#undef ST_OPT
};

/* The default path values (options.def), and "stdout". */
extern const char st_opt_stderr[], st_opt_stdout[], st_opt_none[];

/* The options in force (defaults until st_options_init runs). */
extern struct st_options st_opt;

/* Called with one message per bad key or value; the message names it. */
typedef void (*st_option_error_fn)(void *ctx, const char *message);

/* Sets every option to its default. */
void st_options_defaults(struct st_options *o);
/* Applies "k=v:k=v" on top of o. A bad pair is reported through err and
 * leaves that option at the value it had; the rest still apply. Returns the
 * number of bad pairs. */
int st_options_parse(struct st_options *o, const char *text, st_option_error_fn err, void *ctx);
/* Writes the options table (name, default, help) to fd. */
void st_options_print_help(int fd);
/* Reads STRAYS_OPTIONS into st_opt, complaining on strays' channel. */
void st_options_init(void);
/* The same from text that is not the environment (the secure-execution
 * options file); NULL leaves the defaults. */
void st_options_init_from(const char *text);

#endif
