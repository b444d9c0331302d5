# shellcheck shell=bash
# shellcheck disable=SC2154 # here, root, work, bench_name and log are the caller's
# bench/lib.sh: what bench/spawn.sh, bench/review.sh and bench/trace.sh share.
# Sourced (`. "$here/lib.sh"`) once here (bench/), root (the project), work
# (the scratch directory) and bench_name (the script's name, for messages)
# are set.  bench/benchlib.py is its Python half: statistics, JSON, table.

die() {
	echo "$bench_name: $*" >&2
	exit 1
}

# bench_env HOME: the binaries under test come first on PATH; a clean, fixed
# git configuration (no ~/.gitconfig, no /etc/gitconfig) so both sides run the
# same way.
bench_env() {
	PATH=$root:$PATH
	export PATH
	unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_OBJECT_DIRECTORY \
		GIT_CEILING_DIRECTORIES XDG_CONFIG_HOME
	HOME=$1
	GIT_CONFIG_NOSYSTEM=1
	LC_ALL=C
	export HOME GIT_CONFIG_NOSYSTEM LC_ALL
}

# bench_timer DIR: build bench/timeit.c as DIR/timeit; sets timeit.
bench_timer() {
	cc -O2 -o "$1/timeit" "$here/timeit.c" || die "cannot build the timer"
	timeit=$1/timeit
}

# measure FILE CMD...: time CMD once, its output to $log; append the ns to
# FILE (none when FILE is empty).  A failing command stops the script.
measure() {
	local file=$1 ns
	shift
	if ! ns=$("$timeit" -o "$log" "$@"); then
		cat "$log" >&2
		die "command failed: $*"
	fi
	if [ -n "$file" ]; then echo "$ns" >>"$file"; fi
}

bench_loadavg() {
	cut -d' ' -f1-3 /proc/loadavg
}

# bench_host: export what benchlib.machine() puts in the JSON: the date, the
# machine, the work directory's file system, the git and git-agent versions
# and the project commit.  Run it in the benchmark repository.
bench_host() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	[ -n "$cpu" ] || cpu=$(sed -n 's/^\(Hardware\|cpu model\|Processor\)[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	BENCH_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	BENCH_NPROC=$(nproc)
	BENCH_CPU=${cpu:-unknown}
	BENCH_KERNEL=$(uname -sr)
	BENCH_WORK=$work
	BENCH_FS=$(stat -f -c %T "$work" 2>/dev/null || echo unknown)
	BENCH_GIT=$(git --version)
	BENCH_AGENT=$(git agent --version)
	BENCH_PROJECT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	BENCH_PROJECT_DIRTY=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
	export BENCH_DATE BENCH_NPROC BENCH_CPU BENCH_KERNEL BENCH_WORK BENCH_FS BENCH_GIT \
		BENCH_AGENT BENCH_PROJECT BENCH_PROJECT_DIRTY
}
