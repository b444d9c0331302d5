# git-agent: git subcommands that run coding agents beside your checkout.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libgit2 inih jansson
CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c99 -pedantic $(WARNINGS) $(CFLAGS) -Icommon \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_LDFLAGS = $(LDFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS))
TEST_LIBS = $(shell $(PKG_CONFIG) --libs criterion)

# WERROR=1 makes warnings fatal (CI); SANITIZE=1 builds with ASan and UBSan.
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_CFLAGS += $(SAN)
ALL_LDFLAGS += $(SAN)
endif

PROGS = git-agent git-agent-spawn git-agent-review git-agent-trace
# The dispatcher only execs: it links libc alone and starts in a millisecond.
BASE_OBJS = common/usage.o common/text.o
COMMON_OBJS = $(BASE_OBJS) common/repo.o common/run.o common/task.o common/trace.o \
	common/event.o common/supervise.o common/batch.o
MANPAGES = man/git-agent.1 man/git-agent-spawn.1 man/git-agent-review.1 man/git-agent-trace.1
TESTS = $(patsubst %.c,%,$(wildcard tests/test_*.c))
TEST_LIB_OBJS = tests/lib.o

# Where the sanitizers write their reports; `check` fails if any appear.
SANLOG = $(CURDIR)/tests/sanitizer-logs

all: $(PROGS)

# A change of flags (SANITIZE, WERROR) must rebuild everything.
.build-flags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

%.o: %.c common/agent.h .build-flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

git-agent: git-agent.o $(BASE_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

git-agent-spawn git-agent-review git-agent-trace: %: %.o $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# bench/append.sh's driver: trace_append() from 16 processes at once.
bench/appender: bench/appender.o $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tests/lib.o: tests/lib.c tests/lib.h common/agent.h .build-flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(TESTS): %: %.c $(TEST_LIB_OBJS) $(COMMON_OBJS) tests/lib.h
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(TEST_LIB_OBJS) \
		$(COMMON_OBJS) $(LIBS) $(TEST_LIBS)

# Each test binary runs with the built programs first on PATH. Sanitizer
# reports go to $(SANLOG); any report, leaks included, fails the run.
check: all $(TESTS) lint-man
	@rm -rf $(SANLOG) && mkdir -p $(SANLOG)
	@status=0; for t in $(TESTS); do \
		echo "== $$t"; \
		GIT_AGENT_BUILD_DIR=$(CURDIR) \
		ASAN_OPTIONS=detect_leaks=1:log_path=$(SANLOG)/asan \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$(SANLOG)/ubsan \
		./$$t -j2 --timeout 120 || status=1; \
	done; \
	if [ -n "$$(ls -A $(SANLOG))" ]; then \
		echo "sanitizer reports:"; cat $(SANLOG)/*; status=1; \
	fi; \
	[ $$status = 0 ] && echo "all tests passed" || { echo "tests FAILED"; exit 1; }

# The tests under valgrind's memcheck: the integration tests with every
# git-agent program they start under it (git and the rest run as usual),
# and the unit tests' binary itself.  Any error or leak, in a program's exit
# code or in $(VGLOG), fails the run.  Slow (8 minutes on an idle 2-core VM):
# VALGRIND_TESTS picks the test binaries; VALGRIND_FLAGS adds options
# (--track-origins=yes says where an uninitialised value came from).
ifeq ($(SANITIZE),1)
ifneq ($(filter valgrind,$(MAKECMDGOALS)),)
$(error make valgrind: not with SANITIZE=1: ASan and valgrind cannot share a program)
endif
endif
VALGRIND_TESTS ?= $(filter-out tests/test_common tests/test_completions,$(TESTS))
# Unit tests run inside the test binary: it runs under valgrind itself,
# with the workers Criterion re-executes but nothing from /bin or /usr.
# Criterion's threads and messages (nanomsg) stay "possibly lost" in every
# worker, so only definite and indirect leaks count there.
VALGRIND_UNIT_TESTS ?= tests/test_common
VALGRIND_FLAGS ?=
VGLOG = $(CURDIR)/tests/valgrind-logs
VALGRIND = valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	--suppressions=$(CURDIR)/tests/valgrind.supp --gen-suppressions=all \
	--log-file=$(VGLOG)/vg.%p $(VALGRIND_FLAGS)
valgrind: all $(VALGRIND_TESTS) $(VALGRIND_UNIT_TESTS)
	@command -v valgrind >/dev/null || { echo "make valgrind: valgrind is not installed"; exit 1; }
	@rm -rf $(VGLOG) && mkdir -p $(VGLOG)
	@status=0; for t in $(VALGRIND_TESTS); do \
		echo "== $$t (valgrind)"; \
		GIT_AGENT_BUILD_DIR=$(CURDIR) GIT_AGENT_TEST_WRAPPER='$(VALGRIND)' \
		./$$t -j2 --timeout 600 || status=1; \
	done; \
	for t in $(VALGRIND_UNIT_TESTS); do \
		echo "== $$t (in valgrind)"; \
		GIT_AGENT_BUILD_DIR=$(CURDIR) $(VALGRIND) --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --trace-children=yes \
		--trace-children-skip='/bin/*,/usr/*' ./$$t --timeout 600 || status=1; \
	done; \
	find $(VGLOG) -type f -empty -delete; \
	if [ -n "$$(ls -A $(VGLOG))" ]; then \
		echo "valgrind reports:"; tail -n +1 $(VGLOG)/*; status=1; \
	fi; \
	[ $$status = 0 ] && echo "valgrind: no errors" || { echo "valgrind: FAILED"; exit 1; }

lint-man: $(MANPAGES)
	@for m in $(MANPAGES); do \
		out=$$(LC_ALL=C.UTF-8 groff -man -ww -z $$m 2>&1; mandoc -Tlint -W warning $$m 2>&1); \
		[ -z "$$out" ] || { echo "$$m:"; echo "$$out"; exit 1; }; \
	done

# Every benchmark (bench/run.sh; see BENCHMARKS.md): spawn, review, trace and
# concurrent appends against git, jq, grep and shell loops, on generated
# workloads, and on BENCH_REPO (with BENCH_RANGE) when it is set.  About 11
# minutes.  The figures go to bench/results/ and BENCHMARKS.md.
bench: all bench/appender
	bench/run.sh

# One benchmark each.
bench-spawn: all
	bench/spawn.sh
bench-review: all
	bench/review.sh
bench-trace: all
	bench/trace.sh
bench-append: all bench/appender
	bench/append.sh

# Fuzzing with libFuzzer, ASan and UBSan: every tests/fuzz/fuzz_<name>.c is a
# target, linked with the common module built by clang into its own directory,
# and run for FUZZ_TIME seconds on a scratch copy of tests/fuzz/corpus/<name>/.
# Any crash, leak or failed property fails the run; fuzz-smoke is CI's brief run.
FUZZ_CC = clang
FUZZ_TIME = 60
FUZZ_BUILD = tests/fuzz/build
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c99 -pedantic $(WARNINGS) -Werror -O1 -g $(FUZZ_SAN) -Icommon \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_OBJS = $(addprefix $(FUZZ_BUILD)/,$(COMMON_OBJS))
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/common/%.o: common/%.c common/agent.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) $(wildcard tests/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LIBS)

fuzz-build: $(FUZZ_TARGETS)
.SECONDARY: $(FUZZ_OBJS)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@tests/fuzz/run.sh 10 $(FUZZ_TARGETS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1
	install -m 644 completions/git-agent.bash $(DESTDIR)$(BASHCOMPDIR)/git-agent
	install -m 644 completions/_git-agent $(DESTDIR)$(ZSHCOMPDIR)/_git-agent
	install -m 644 completions/git-agent.fish $(DESTDIR)$(FISHCOMPDIR)/git-agent.fish

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROGS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/git-agent $(DESTDIR)$(ZSHCOMPDIR)/_git-agent \
		$(DESTDIR)$(FISHCOMPDIR)/git-agent.fish

# Debian/Ubuntu packages: to build, to test (shells for the completion
# tests, man for --help, linters for the man pages and generated scripts,
# cmark to read the packets as CommonMark).
BUILD_DEPS = gcc make pkg-config git libgit2-dev libinih-dev libjansson-dev
TEST_DEPS = libcriterion-dev bash bash-completion zsh fish man-db groff mandoc shellcheck cmark
# clang and its runtimes (libFuzzer, ASan, UBSan) for make fuzz.
FUZZ_DEPS = clang libclang-rt-dev
deps:
	@if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then \
		echo "make deps: not a Debian/Ubuntu system; install these (or your system's equivalents):"; \
		echo "  $(BUILD_DEPS) $(TEST_DEPS) $(FUZZ_DEPS)"; exit 1; \
	fi; \
	missing=""; for p in $(BUILD_DEPS) $(TEST_DEPS) $(FUZZ_DEPS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "make deps: all dependencies are installed"; exit 0; fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	echo "make deps: installing$$missing"; \
	$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing

clean:
	rm -f $(PROGS) *.o common/*.o tests/*.o bench/*.o bench/appender $(TESTS) .build-flags
	rm -rf $(SANLOG) $(VGLOG) $(FUZZ_BUILD)

.PHONY: all check valgrind lint-man bench bench-spawn bench-review bench-trace bench-append \
	fuzz fuzz-build fuzz-smoke install uninstall deps clean FORCE
