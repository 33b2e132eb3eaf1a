# strays: build, test, demo and benchmark.
#   make          build/libstrays.so (the preload, also linkable) and build/strays (the CLI)
#   make demo     run the bundled leaky example under strays
#   make test     unit and end-to-end tests
#   make bench    overhead of the preload, plain vs preloaded, as ratios (hooked
#                 calls, whole processes, scale)
#   make install  PREFIX=/usr/local DESTDIR= (and make uninstall)
# Every target first installs the Debian packages it needs, and only those (see deps below).

CC      ?= cc
CXX     ?= c++
B       := build
WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -pthread -Iinclude -Isrc -MMD -MP
LDLIBS  := -ldl -pthread

# src/ is cut into layers, each a folder; a layer includes only from the layers
# below it (scripts/check-layers.py, run by `make lint` and `make test`):
#   base       raw system calls, locks, logging, options, output buffers
#   report     the report model, its JSON and text writers and reader, sinks
#   symbolize  function, file and line for frames (libdw, ELF symbol tables)
#   track      the registries of threads, timers and fds; each thread's own state;
#              stacks and their capture
#   collect    a report built from the registries (waits, fds, current stacks)
#   runtime    strays' life in the process: init, exit, fork, crash, watchdog, API
#   cli        the strays command (base, report and symbolize only)
LAYERS := base report symbolize track collect runtime
layer_src = $(wildcard $(patsubst %,src/%/*.c,$(1)))
# What only the CLI reads: JSON reports, and symbolization after the fact.
CLI_ONLY_SRC := src/report/json.c src/report/report_parse.c src/symbolize/symbolize_offline.c

# One list per link target.
CORE_SRC := $(filter-out $(CLI_ONLY_SRC),$(call layer_src,$(LAYERS)))
PRELOAD_SRC := $(wildcard preload/*.c)
CLI_CORE := $(call layer_src,base report) src/symbolize/symbolize_offline.c \
            $(wildcard src/symbolize/demangle*.c)
CLI_SRC := $(wildcard src/cli/*.c)
ALL_SRC := $(call layer_src,$(LAYERS))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
CORE_OBJ := $(call obj,$(CORE_SRC))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
CLI_OBJ := $(call obj,$(CLI_SRC) $(CLI_CORE))

UNIT_SRC := $(wildcard tests/unit/*.c)
E2E_SRC := $(wildcard tests/e2e/*.c)
FIXTURES_C := $(wildcard tests/fixtures/*.c)
FIXTURES_CXX := $(wildcard tests/fixtures/*.cc)
FIXTURES := $(patsubst tests/fixtures/%.c,$(B)/fixtures/%,$(FIXTURES_C)) \
            $(patsubst tests/fixtures/%.cc,$(B)/fixtures/%,$(FIXTURES_CXX))
# Shell-script fixtures keep their .sh name (and stay out of FIXTURES, which
# `make compare` rebuilds with -fsanitize=thread).
FIXTURES_SH := $(patsubst tests/fixtures/%,$(B)/fixtures/%,$(wildcard tests/fixtures/*.sh))

.PHONY: all demo test test-unit test-e2e bench clean compare
all: $(B)/libstrays.so $(B)/strays

# Debian packages (scripts/install-deps.sh, silent when all is there): each target asks
# for its group. What is compiled waits for its group (an order-only prerequisite), so
# nothing is built before its headers are there, even under -j. Each group comes after
# deps-build (and deps-test where it needs it), so two apt-gets never run at once.
# `make deps` installs what every target needs.
DEPS_ENV = CC='$(CC)' CXX='$(CXX)' FUZZ_CC='$(FUZZ_CC)'
.PHONY: deps deps-build deps-test deps-bench deps-memcheck deps-compare deps-lint deps-fuzz
deps-build:
	@$(DEPS_ENV) scripts/install-deps.sh build
deps-test deps-bench deps-lint deps-fuzz: deps-build
deps-memcheck deps-compare: deps-test
deps deps-test deps-bench deps-memcheck deps-compare deps-lint deps-fuzz:
	@$(DEPS_ENV) scripts/install-deps.sh $(patsubst deps,all,$(patsubst deps-%,%,$@))

$(B)/obj/%.o: %.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Tests reach into the core's private headers.
$(B)/obj/tests/%.o: tests/%.c | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# -static-libgcc links libgcc's unwinder in (libgcc_eh.a), where the version
# script keeps its symbols private: stack capture needs no library loaded
# until a thread moves on to libunwind (src/track/stack_capture.c).
# The layout: the start code first in .text (preload/start.ld says why), and
# one read-only segment for headers, code and constants (noseparate-code):
# the loader reads the headers' window anyway, and the start code shares it.
# No RELRO either: the relocated tables, the GOT and the variables every
# process writes (ST_HOT_DATA) then share one page, which the loader writes
# anyway, instead of two pages and an mprotect (each page first written
# costs a fault: docs/performance.md). What the two give up is hardening
# against code-reuse attacks and GOT overwrites, which a debugging tool
# preloaded into test runs can do without.
LIB_LAYOUT = -Wl,-z,noseparate-code -Wl,-z,norelro
$(B)/libstrays.ld: preload/start.ld scripts/link-layout.py Makefile
	@mkdir -p $(B)
	scripts/link-layout.py preload/start.ld $(CC) $(LIB_LAYOUT) > $@.tmp && mv $@.tmp $@

$(B)/libstrays.so: $(PRELOAD_OBJ) $(CORE_OBJ) preload/strays.map $(B)/libstrays.ld
	$(CC) -shared -static-libgcc -Wl,-soname,libstrays.so -Wl,-fini=strays_preload_fini_nothing -Wl,-z,defs -Wl,--version-script=preload/strays.map -Wl,-T,$(B)/libstrays.ld $(LIB_LAYOUT) -o $@ $(filter %.o,$^) $(LDLIBS)

$(B)/strays: $(CLI_OBJ)
	$(CC) -o $@ $^ $(LDLIBS)

# System call names by number, for `strays inspect` (what /proc/PID/task/TID/syscall
# says a thread is in), from the C library's own <sys/syscall.h>.
$(B)/gen/syscall_names.h:
	@mkdir -p $(dir $@)
	printf '#include <sys/syscall.h>\n' | $(CC) -E -dM - | \
	    sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/[\2] = "\1",/p' > $@
$(B)/obj/src/cli/inspect_proc.o: $(B)/gen/syscall_names.h
$(B)/obj/src/cli/inspect_proc.o: ALL_CFLAGS += -I$(B)/gen

# hooks_check.c compares hooks.def with libc's prototypes, some of which
# (__open_2 and its kin) only _FORTIFY_SOURCE declares.
$(B)/obj/preload/hooks_check.o: ALL_CFLAGS += -D_FORTIFY_SOURCE=2

# Tests link the core directly, without the preload.
$(B)/libstrays_core.a: $(call obj,$(ALL_SRC))
	rm -f $@
	ar rcs $@ $^

# test_stack_capture compares capture methods on one call chain built both
# with and without frame pointers.
$(B)/obj/tests/unit/capture_chain_fp.o: ALL_CFLAGS += -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
$(B)/obj/tests/unit/capture_chain_nofp.o: ALL_CFLAGS += -fomit-frame-pointer

# -lz: the pprof test reads gzip back with zlib (the core loads it with dlopen).
$(B)/test_unit: $(call obj,$(UNIT_SRC)) $(B)/libstrays_core.a
	$(CC) -o $@ $^ -lcriterion -lz $(LDLIBS)

$(B)/test_e2e: $(call obj,$(E2E_SRC)) $(B)/libstrays_core.a
	$(CC) -o $@ $^ -lcriterion $(LDLIBS)

FIXTURE_FLAGS := -O0 -g -fno-omit-frame-pointer -pthread -Wall -Werror -Iinclude
# The waits fixtures share (a header, so each stays a single-file program).
FIXTURE_SYNC := tests/fixtures/fixture_sync.h
$(B)/fixtures/%: tests/fixtures/%.c $(FIXTURE_SYNC) | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -o $@ $< -lrt

$(B)/fixtures/%: tests/fixtures/%.cc $(FIXTURE_SYNC) | deps-test
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(FIXTURE_FLAGS) -o $@ $<

# The same fixture without frame pointers: creation stacks must stay right
# where unwinding has only DWARF CFI to go by (tests/e2e/test_capture.c).
NOFP_FIXTURES := $(B)/fixtures/capture_two_paths_nofp
$(B)/fixtures/%_nofp: tests/fixtures/%.c $(FIXTURE_SYNC) | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -pthread -Wall -Werror -Iinclude -o $@ $< -lrt

# Rust fixtures (tests/fixtures/*.rs), built only where rustc is installed,
# twice: with rustc's default mangling (legacy for the crate; std as the
# toolchain built it) and with v0 throughout (tests/e2e/test_rust.c).
RUSTC ?= $(shell command -v rustc 2>/dev/null)
RUST_FIXTURE_SRC := $(wildcard tests/fixtures/*.rs)
RUST_FIXTURES := $(if $(RUSTC),$(patsubst tests/fixtures/%.rs,$(B)/fixtures/%,$(RUST_FIXTURE_SRC)) \
                  $(patsubst tests/fixtures/%.rs,$(B)/fixtures/%_v0,$(RUST_FIXTURE_SRC)))
# rustc would take MAKEFLAGS' jobserver for its own and warn; the two builds
# of one crate run one after the other (their temporary files share names).
$(B)/fixtures/%: tests/fixtures/%.rs
	@mkdir -p $(dir $@)
	MAKEFLAGS= $(RUSTC) -g -o $@ $<
$(B)/fixtures/%_v0: tests/fixtures/%.rs | $(B)/fixtures/%
	MAKEFLAGS= $(RUSTC) -g -C symbol-mangling-version=v0 -o $@ $<
test: $(RUST_FIXTURES)

# Shared libraries that fixtures of unusual programs load (dlopen):
# tests/fixtures/lib/NAME.c becomes build/fixtures/NAME.so, beside them.
FIXTURE_LIBS := $(patsubst tests/fixtures/lib/%.c,$(B)/fixtures/%.so,$(wildcard tests/fixtures/lib/*.c))
$(B)/fixtures/%.so: tests/fixtures/lib/%.c $(FIXTURE_SYNC) | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -shared -fPIC -o $@ $<
test: $(FIXTURE_LIBS)

# Programs linked with a library whose constructor runs before strays
# initialises (tests/fixtures/early/): it starts a thread, makes the first
# hooked call, installs a signal handler. Each program links its library.
$(B)/fixtures/%.so: tests/fixtures/early/%.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -shared -fPIC -o $@ $<
EARLY_FIXTURES := $(B)/fixtures/unusual_early_thread $(B)/fixtures/unusual_early_errno \
                  $(B)/fixtures/crash_early_handler
link_early = $(CC) -std=gnu11 $(FIXTURE_FLAGS) -o $@ $< -L$(B)/fixtures -Wl,--no-as-needed \
             -l$(1) -Wl,--as-needed -Wl,-rpath,'$$ORIGIN'
$(B)/fixtures/unusual_early_thread: tests/fixtures/unusual_early_thread.c $(B)/fixtures/libunusual_early.so
	$(call link_early,unusual_early)
$(B)/fixtures/unusual_early_errno: tests/fixtures/unusual_early_errno.c $(B)/fixtures/liberrno_early.so
	$(call link_early,errno_early)
$(B)/fixtures/crash_early_handler: tests/fixtures/crash_early_handler.c $(B)/fixtures/libcrash_early.so
	$(call link_early,crash_early)

# The Criterion example of the in-process API (README), run by the e2e tests.
$(B)/api_example/%: tests/api_example/%.c include/strays.h | deps-test
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -o $@ $< -lcriterion

$(B)/fixtures/%.sh: tests/fixtures/%.sh
	@mkdir -p $(dir $@)
	cp $< $@
	chmod +x $@

$(B)/examples/%: examples/%.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O0 -g -pthread -Wall -Werror -o $@ $< -lrt

demo: all $(B)/examples/demo
	@echo "== build/strays run -- build/examples/demo"
	@$(B)/strays run -- $(B)/examples/demo; status=$$?; \
	  echo "== exit status $$status (23: the program exited 0 but left threads, a timer and an fd behind)"; \
	  test $$status -eq 23

# Fixtures whose reports, between them, hold every field of the schema.
SCHEMA_FIXTURES := thread_exited_unjoined fd_fopen_opendir fd_epoll_eventfd_timerfd dump_growing_server crash_segv_with_worker \
                   timer_periodic_leak wait_deadlock wait_timed_loop wait_pipe_reader unusual_dlclose

API_EXAMPLES := $(patsubst tests/api_example/%.c,$(B)/api_example/%,$(wildcard tests/api_example/*.c))

test: deps-test all $(B)/test_unit $(B)/test_e2e $(FIXTURES) $(NOFP_FIXTURES) $(FIXTURES_SH) $(API_EXAMPLES)
	scripts/check-layers.py
	scripts/check-test-sleeps.py
	scripts/check-raw-calls.py $(call obj,$(CORE_SRC))
	scripts/check-start-path.py $(B)/libstrays.so
	$(B)/test_unit --jobs 2
	$(B)/test_e2e --jobs 2
	scripts/check-schema.py $(B) $(SCHEMA_FIXTURES) # also: inspect_target, limit_exhaust
	@$(MAKE) --no-print-directory check-docs
	@$(MAKE) --no-print-directory real

# The documents say what the code does (docs/development.md#the-documents):
# docs/options.md is current with src/base/options.def (`make docs` rewrites it),
# links and the list of hooked symbols are right (scripts/check-docs.py), and
# the examples marked in README.md and docs/*.md print what they show
# (scripts/doc-examples.py, which runs these programs).
.PHONY: docs check-docs
DOC_EXAMPLES := $(B)/examples/demo $(B)/examples/crash $(B)/examples/server $(API_EXAMPLES) \
                $(B)/fixtures/run_forks_leaky_child.sh $(B)/fixtures/thread_clean \
                $(B)/fixtures/fd_error_path_leak $(B)/fixtures/security_static \
                $(B)/fixtures/wait_lock_held

$(B)/options-doc: scripts/options-doc.c src/base/options.def | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) -o $@ $<

$(B)/docs/options.md: docs/options.md.in $(B)/options-doc
	@mkdir -p $(dir $@)
	$(B)/options-doc markdown > $@.options
	sed -e '/^@OPTIONS@$$/{r $@.options' -e 'd}' $< > $@
	rm -f $@.options

docs: $(B)/docs/options.md
	cp $< docs/options.md

check-docs: deps-test all $(B)/docs/options.md $(DOC_EXAMPLES)
	@cmp -s $(B)/docs/options.md docs/options.md || { diff -u docs/options.md $(B)/docs/options.md; \
	  echo "docs/options.md differs from what src/base/options.def gives: run make docs" >&2; exit 1; }
	scripts/check-docs.py --build $(B)
	scripts/doc-examples.py

# Real programs (issue 9): xz -T2, sort --parallel=2, zstd -T2, Python threads, a GLib
# thread pool and a shell pipeline, each run plain and under strays; same output and exit
# status, and reports with the exact counts. A program that is not installed is skipped.
# tests/real/ holds their fixtures: a GLib program (built only where GLib is installed)
# and a preload that counts the threads a program creates and joins.
.PHONY: real
REAL_FIXTURES := $(B)/real/libcount_threads.so $(B)/real/glib_pool

$(B)/real/libcount_threads.so: tests/real/count_threads.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -shared -fPIC -o $@ $< -ldl

$(B)/real/glib_pool: tests/real/glib_pool.c | deps-test
	@mkdir -p $(dir $@)
	if pkg-config --exists glib-2.0; then \
	  $(CC) -std=gnu11 $(FIXTURE_FLAGS) -Wextra -o $@ $< $$(pkg-config --cflags --libs glib-2.0); \
	else echo "$@: not built, GLib is missing (Debian package libglib2.0-dev)"; fi

real: deps-test all $(REAL_FIXTURES)
	scripts/real-programs.py --build $(B)

$(B)/bench_ops: tests/bench/bench_ops.c | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -pthread -o $@ $< -lrt

$(B)/bench_run: tests/bench/bench_run.c tests/bench/bench_util.h | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -pthread -o $@ $<

# Scale (issue 7): 10 000 threads, 100 000 fds and timers in one process,
# the exit report's time and strays' memory per object; dump stalls under
# churn. bench_scale prints a table for docs/performance.md.
$(B)/bench_scale: tests/bench/bench_scale.c tests/bench/bench_util.h | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

$(B)/bench_churn: tests/bench/bench_churn.c | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -pthread -o $@ $<

.PHONY: bench-scale
bench-scale: all $(B)/bench_scale $(B)/bench_churn $(B)/fixtures/scale_objects
	$(B)/bench_scale --lib $(B)/libstrays.so --objects $(B)/fixtures/scale_objects \
	    --churn $(B)/bench_churn

# Whole programs (issue 16): a clean process's start and exit, a leaky xz -T2,
# strays' own build under `strays run`; plain vs strays, wall time, peak memory
# and instructions.
$(B)/bench_process: tests/bench/bench_process.c tests/bench/bench_util.h | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

$(B)/bench_empty.so: tests/bench/empty_preload.c | deps-build
	@mkdir -p $(B)
	$(CC) -std=gnu11 -O2 $(WARN) -shared -fPIC -o $@ $<

BENCH_PROCESS = $(B)/bench_process --lib $(B)/libstrays.so --cli $(B)/strays --src . \
                --empty-lib $(B)/bench_empty.so

.PHONY: bench-process
bench-process: deps-bench all $(B)/bench_process $(B)/bench_empty.so
	$(BENCH_PROCESS)

bench: deps-bench all $(B)/bench_ops $(B)/bench_run $(B)/bench_scale $(B)/bench_churn $(B)/fixtures/scale_objects $(B)/bench_process $(B)/bench_empty.so
	$(B)/bench_run --lib $(B)/libstrays.so --ops $(B)/bench_ops --instructions
	$(BENCH_PROCESS)
	$(B)/bench_scale --lib $(B)/libstrays.so --objects $(B)/fixtures/scale_objects \
	    --churn $(B)/bench_churn

# Soak (issue 8): threads and fds churned under periodic dumps for
# SOAK_SECONDS; fails when the heap or RSS grows or the objects left behind
# are not exactly the ones reported, and prints the memory trend. `make test`
# runs the same test for 15 s.
SOAK_SECONDS ?= 60
.PHONY: soak
soak: deps-test all $(B)/test_e2e $(B)/fixtures/stress_churn
	STRAYS_SOAK_SECONDS=$(SOAK_SECONDS) $(B)/test_e2e --verbose --filter 'stress/soak*'

clean:
	rm -rf $(B)

# make install [PREFIX=/usr/local] [DESTDIR=/staging/root]: the library, the
# CLI, the header, the pkg-config file and the manuals. strays-options(7)
# is written from src/base/options.def, strays.pc with the PREFIX given here;
# the version is src/base/st.h's STRAYS_VERSION, in all of them.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install
VERSION    := $(shell sed -n 's/^\#define STRAYS_VERSION "\(.*\)"/\1/p' src/base/st.h)
# ${prefix}/lib in the .pc file when LIBDIR is under PREFIX.
pc_path = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

# The manuals carry the version of src/base/st.h (@VERSION@ on their .TH line).
$(B)/man/strays-options.7: docs/man/strays-options.7.in $(B)/options-doc
	@mkdir -p $(dir $@)
	$(B)/options-doc roff > $@.options
	sed -e '/^@OPTIONS@$$/{r $@.options' -e 'd}' -e 's/@VERSION@/$(VERSION)/' $< > $@
	rm -f $@.options

$(B)/man/%: docs/man/% src/base/st.h
	@mkdir -p $(dir $@)
	sed -e 's/@VERSION@/$(VERSION)/' $< > $@

.PHONY: install uninstall
install: all $(B)/man/strays.1 $(B)/man/strays.3 $(B)/man/strays-options.7
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	$(INSTALL) -m 755 $(B)/strays $(DESTDIR)$(BINDIR)/strays
	$(INSTALL) -m 755 $(B)/libstrays.so $(DESTDIR)$(LIBDIR)/libstrays.so
	$(INSTALL) -m 644 $(wildcard include/*.h) $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(B)/man/strays.1 $(DESTDIR)$(MANDIR)/man1/strays.1
	$(INSTALL) -m 644 $(B)/man/strays.3 $(DESTDIR)$(MANDIR)/man3/strays.3
	$(INSTALL) -m 644 $(B)/man/strays-options.7 $(DESTDIR)$(MANDIR)/man7/strays-options.7
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pc_path,$(LIBDIR))' \
	    'includedir=$(call pc_path,$(INCLUDEDIR))' '' 'Name: strays' \
	    'Description: finds the threads, POSIX timers and fds a program leaves behind' \
	    'Version: $(VERSION)' 'Libs: -L$${libdir} -lstrays' 'Cflags: -I$${includedir}' \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/strays.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/strays.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/strays $(DESTDIR)$(LIBDIR)/libstrays.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/strays.pc \
	    $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(wildcard include/*.h)) \
	    $(DESTDIR)$(MANDIR)/man1/strays.1 $(DESTDIR)$(MANDIR)/man3/strays.3 \
	    $(DESTDIR)$(MANDIR)/man7/strays-options.7

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Sanitizers, memcheck and lint (issue 8).
#   make test-asan  the core, the unit and e2e tests and the CLI rebuilt with
#                   AddressSanitizer + UndefinedBehaviorSanitizer in build/asan/, then run.
#                   The preload and the fixtures stay plain (build/asan/libstrays.so is a
#                   link to build/libstrays.so): the preload is injected into programs
#                   that were not built with ASan, and the e2e tests run them as they are.
#   make memcheck   every fixture under valgrind with the plain preload; fails on an error
#                   with a frame in libstrays.so (scripts/memcheck.py).
#   make lint       cppcheck and clang-tidy (.clang-tidy) on src/, src/cli/ and preload/.
ASAN := $(B)/asan
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := -std=gnu11 $(WARN) -O1 -g $(SANITIZE) -pthread -Iinclude -Isrc -MMD -MP
asan_obj = $(patsubst %.c,$(ASAN)/obj/%.o,$(1))
# detect_leaks: the CLI and the tests exit with what they allocated still held,
# as C programs may; leaks are not what this pass looks for. Every sanitizer
# report goes to a file in ASAN_LOG, so one is seen even where a test does
# not check the status or the stderr of the CLI it ran.
ASAN_LOG := $(abspath $(ASAN))/log
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=1:log_path=$(ASAN_LOG)/asan \
            UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN_LOG)/ubsan
ASAN_CHECK = status=$$?; if [ -n "$$(ls $(ASAN_LOG))" ]; then cat $(ASAN_LOG)/*; \
             echo "test-asan: sanitizer reports above" >&2; exit 1; fi; exit $$status

$(ASAN)/obj/%.o: %.c | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(ASAN)/obj/src/cli/inspect_proc.o: $(B)/gen/syscall_names.h
$(ASAN)/obj/src/cli/inspect_proc.o: ASAN_CFLAGS += -I$(B)/gen

$(ASAN)/obj/tests/%.o: tests/%.c | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

# As in the plain build: the capture chain with and without frame pointers
# (the later -fomit-frame-pointer wins over SANITIZE's).
$(ASAN)/obj/tests/unit/capture_chain_nofp.o: ASAN_CFLAGS += -fomit-frame-pointer

$(ASAN)/libstrays_core.a: $(call asan_obj,$(ALL_SRC))
	rm -f $@
	ar rcs $@ $^

$(ASAN)/strays: $(call asan_obj,$(CLI_SRC) $(CLI_CORE))
	$(CC) $(SANITIZE) -o $@ $^ $(LDLIBS)

$(ASAN)/test_unit: $(call asan_obj,$(UNIT_SRC)) $(ASAN)/libstrays_core.a
	$(CC) $(SANITIZE) -o $@ $^ -lcriterion -lz $(LDLIBS)

$(ASAN)/test_e2e: $(call asan_obj,$(E2E_SRC)) $(ASAN)/libstrays_core.a
	$(CC) $(SANITIZE) -o $@ $^ -lcriterion $(LDLIBS)

# The e2e tests run the ASan CLI (STRAYS_CLI) on the plain fixtures of
# build/; the CLI finds the plain preload beside itself, as in build/.
$(ASAN)/libstrays.so: | $(B)/libstrays.so
	@mkdir -p $(dir $@)
	ln -sfn ../libstrays.so $@

test-asan: deps-test all $(ASAN)/strays $(ASAN)/libstrays.so $(ASAN)/test_unit $(ASAN)/test_e2e \
           $(FIXTURES) $(FIXTURES_SH) $(API_EXAMPLES)
	rm -rf $(ASAN_LOG) && mkdir -p $(ASAN_LOG)
	$(ASAN_ENV) $(ASAN)/test_unit --jobs 2; $(ASAN_CHECK)
	$(ASAN_ENV) STRAYS_CLI=$(ASAN)/strays $(ASAN)/test_e2e --jobs 2; $(ASAN_CHECK)

-include $(shell find $(ASAN)/obj -name '*.d' 2>/dev/null)

# Errors of valgrind's own noise (libunwind's probes, strays' stack cache reading
# raw stack words) are suppressed by scripts/memcheck.supp, each rule explained.
memcheck: deps-memcheck all $(FIXTURES) $(FIXTURES_SH)
	scripts/memcheck.py --build $(B)

# lint: the sources of the library and the CLI as they are built (the flags
# below, in a compile_commands.json for clang-tidy); zero findings passes.
# clang-tidy's checks are in .clang-tidy (and preload/.clang-tidy), each one
# left out with its reason; cppcheck's suppressions in scripts/cppcheck.supp.
# cppcheck reads no system header: uthash.h is given, as src/base/uthash_st.h sets it up.
# preload/hooks_check.c is left to gcc: it holds only compile-time checks,
# against declarations that clang's view of glibc's headers lacks (__open_2).
LINT_SRC := $(ALL_SRC) $(CLI_SRC) $(filter-out preload/hooks_check.c,$(PRELOAD_SRC))
LINT_FLAGS := -std=gnu11 -Wall -Wextra -pthread -Iinclude -Isrc -I$(B)/gen
CPPCHECK_FLAGS := --enable=warning,style,performance,portability --library=posix --library=gnu \
                  --inline-suppr --suppressions-list=scripts/cppcheck.supp --error-exitcode=1 \
                  --quiet -j2 -Iinclude -Isrc -I$(B)/gen -DHASH_NONFATAL_OOM=1 --include=/usr/include/uthash.h \
                  --template='{file}:{line}: {severity}: {message} [{id}]'

$(B)/lint/compile_commands.json: Makefile
	@mkdir -p $(dir $@)
	@{ echo '['; sep=; for f in $(LINT_SRC); do \
	    printf '%s{"directory":"%s","file":"%s","command":"cc %s -c %s"}\n' \
	        "$$sep" "$(CURDIR)" "$$f" "$(LINT_FLAGS)" "$$f"; sep=,; done; echo ']'; } > $@

lint: deps-lint $(B)/lint/compile_commands.json $(B)/gen/syscall_names.h
	scripts/check-layers.py
	cppcheck $(CPPCHECK_FLAGS) src preload
	run-clang-tidy -p $(B)/lint -quiet -j 2 $(CURDIR)/src/ $(CURDIR)/preload/
	@echo "lint: cppcheck and clang-tidy found nothing"

.PHONY: test-asan memcheck lint

# Comparison with the oracles (issue 9): every fixture under strays, under valgrind
# --track-fds=yes and rebuilt with -fsanitize=thread; prints one table and writes it
# to build/compare/table.md. Exit status 1 when a disagreement is left unexplained.
# (The EARLY_FIXTURES link a library of their own: not rebuilt, see compare.py's SKIP.)
TSAN_FIXTURES := $(patsubst $(B)/fixtures/%,$(B)/compare/tsan/%,$(filter-out $(EARLY_FIXTURES),$(FIXTURES)))

$(B)/compare/tsan/%: tests/fixtures/%.c $(FIXTURE_SYNC) | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -fsanitize=thread -o $@ $< -lrt

$(B)/compare/tsan/%: tests/fixtures/%.cc $(FIXTURE_SYNC) | deps-test
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(FIXTURE_FLAGS) -fsanitize=thread -o $@ $<

compare: deps-compare all $(FIXTURES) $(TSAN_FIXTURES)
	scripts/compare.py --build $(B)

# Security tests (issue 8): a statically linked fixture, for `strays run`'s
# warning that the loader cannot preload strays into it (libc6-dev's libc.a).
$(B)/fixtures/security_static: tests/fixtures/security_static.c | deps-build
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(FIXTURE_FLAGS) -static -o $@ $<

# Fuzzing (issue 8): libFuzzer harnesses (tests/fuzz/) for the STRAYS_OPTIONS parser,
# the suppressions parser, the CLI's report reader and the Rust demangler, built with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer (any report aborts). `make fuzz`
# replays the inputs that once broke a parser, then runs each harness for FUZZ_SECONDS;
# `make fuzz-ci` does the same for FUZZ_CI_SECONDS each (what .ci/run calls). Only these
# targets need clang.
FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 8
FUZZ_TARGETS    := options suppressions report demangle
FUZZ_CFLAGS     := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer -pthread -Iinclude -Isrc \
                   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# What each harness links of the core. tests/fuzz/arena_checked.c replaces src/base/arena.c,
# so the sanitizers see every arena allocation.
# The options parser names signals (dump_signal=), and signals.c reaches libc's sigaction.
FUZZ_OPTIONS_SRC      := src/base/options.c src/base/signals.c src/base/libc.c src/base/log.c src/base/sys.c
FUZZ_SRC_options      := $(FUZZ_OPTIONS_SRC)
DEMANGLE_SRC          := $(wildcard src/symbolize/demangle*.c)
FUZZ_SRC_suppressions := src/collect/suppressions.c src/report/report.c src/symbolize/symbolize_elf.c \
                         $(DEMANGLE_SRC) $(FUZZ_OPTIONS_SRC)
FUZZ_SRC_demangle     := $(DEMANGLE_SRC) src/base/sys.c
FUZZ_SRC_report       := src/report/json.c src/report/report_parse.c src/report/report.c \
                         src/report/report_json.c src/report/report_text.c src/base/out.c \
                         src/base/sort.c src/base/sys.c
FUZZ_BINS := $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-ci

define fuzz_harness
$(B)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/arena_checked.c $(FUZZ_SRC_$(1)) \
                     $(wildcard src/*/*.h src/*/*.def) | deps-fuzz
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $$(filter %.c,$$^) -ldl
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_harness,$(t))))

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-ci: $(FUZZ_BINS)
	tests/fuzz/run.sh $(B) $(FUZZ_CI_SECONDS) $(FUZZ_TARGETS)
