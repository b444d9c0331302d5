# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # the variables set here are the calling script's, and it sets here
# bench/lib.sh: what the scripts of bench/ share.  A script sets here (bench/,
# where it lives), sources this file and calls bench_setup; bench/benchlib.py
# is the Python half: statistics, JSON, tables.

die() {
	echo "${bench_name:-bench}: $*" >&2
	exit 1
}

# bench_num VAR DEFAULT MIN: the value of the environment variable VAR (DEFAULT
# when unset), checked to be a number of at least MIN.
bench_num() {
	local v
	v=$(printenv "$1" || :)
	v=${v:-$2}
	case $v in '' | *[!0-9]*) die "$1 must be a number (got '$v')" ;; esac
	[ "$v" -ge "$3" ] || die "$1 must be at least $3 (got $v)"
	echo "$v"
}

# bench_setup [--repo] NAME RUNS WARMUP PROGRAM...: the start every script
# shares.  Sets root (the project), work (BENCH_WORK, default bench/work),
# mode (synthetic; real with --repo when BENCH_REPO is set), dir (the
# script's own scratch directory <work>/NAME[-real], emptied), out (its JSON,
# BENCH_RESULTS or bench/results/NAME[-real].json), samples, log, runs and
# warmup (RUNS and WARMUP, defaults given; at least 5 runs).  Checks that
# the PROGRAMs are built and the tools are there, builds the timer, and sets
# the environment (bench_env).
bench_setup() {
	local takes_repo='' exe
	if [ "$1" = --repo ]; then
		takes_repo=1
		shift
	fi
	bench_name=$1.sh
	root=$(dirname "$here")
	mode=synthetic
	if [ -n "$takes_repo" ] && [ -n "${BENCH_REPO:-}" ]; then mode=real; fi
	local name=$1${takes_repo:+${BENCH_REPO:+-real}}
	work=${BENCH_WORK:-$here/work}
	out=${BENCH_RESULTS:-$here/results/$name.json}
	case $work in /*) ;; *) work=$PWD/$work ;; esac
	case $out in /*) ;; *) out=$PWD/$out ;; esac
	runs=$(bench_num RUNS "$2" 5)
	warmup=$(bench_num WARMUP "$3" 0)
	shift 3
	for exe in "$@"; do
		[ -x "$root/$exe" ] || die "$root/$exe is missing: run 'make -C $root $*' first"
	done
	command -v python3 >/dev/null || die "python3 is needed to compute the medians"
	command -v cc >/dev/null || die "a C compiler (cc) is needed for the timer"

	dir=$work/$name # everything this script makes, and nothing else
	samples=$dir/samples
	log=$dir/last.log
	rm -rf "${dir:?}"
	mkdir -p "$dir/home" "$samples" "$(dirname "$out")"
	bench_env "$dir/home"
	for exe in "$@"; do
		case $exe in */*) continue ;; esac # run by its path, not found on PATH
		[ "$(command -v "$exe")" = "$root/$exe" ] ||
			die "$exe resolves to $(command -v "$exe"), not $root/$exe"
	done
	cc -O2 -o "$dir/timeit" "$here/timeit.c" || die "cannot build the timer"
	timeit=$dir/timeit
}

# bench_env HOME: the binaries under test come first on PATH; a clean, fixed
# git configuration (no ~/.gitconfig, no /etc/gitconfig) so both sides run the
# same way; UTC, so that nothing depends on the machine's zone.
bench_env() {
	PATH=$root:$PATH
	export PATH
	unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_OBJECT_DIRECTORY \
		GIT_CEILING_DIRECTORIES XDG_CONFIG_HOME GIT_CONFIG_PARAMETERS
	HOME=$1
	GIT_CONFIG_NOSYSTEM=1
	LC_ALL=C
	TZ=UTC
	export HOME GIT_CONFIG_NOSYSTEM LC_ALL TZ
}

# measure FILE CMD...: run CMD once, its output to $log; append its time (ns)
# to FILE and its peak RSS (KB, the largest process of its tree) to FILE.rss;
# with FILE empty, record nothing.  A failing command stops the script.
measure() {
	local file=$1 res ns kb
	shift
	if ! res=$("$timeit" -r -o "$log" "$@"); then
		cat "$log" >&2
		die "command failed: $*"
	fi
	read -r ns kb <<<"$res"
	if [ -n "$file" ]; then
		echo "$ns" >>"$file"
		echo "$kb" >>"$file.rss"
	fi
}

# quiet CMD...: run a step that is not measured; show its output only when it fails.
quiet() {
	"$@" >"$dir/step.log" 2>&1 || {
		cat "$dir/step.log" >&2
		die "failed: $*"
	}
}

# bench_identity: fixed author, committer and dates, so that the commits a
# script makes have the same ids on every run.
bench_identity() {
	GIT_AUTHOR_NAME='Bench Author'
	GIT_AUTHOR_EMAIL='bench@example.com'
	GIT_COMMITTER_NAME='Bench Author'
	GIT_COMMITTER_EMAIL='bench@example.com'
	GIT_AUTHOR_DATE='2024-01-05T12:00:00Z'
	GIT_COMMITTER_DATE='2024-01-05T12:00:00Z'
	export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
		GIT_AUTHOR_DATE GIT_COMMITTER_DATE
}

# bench_real_repo DEST: clone BENCH_REPO into DEST (a local clone: the
# original is only read) and cd there.  With BENCH_RANGE=<base>..<tip>, set
# base and tip (as given) and base_sha and tip_sha, and make sure the clone
# has both commits.
bench_real_repo() {
	local src=$BENCH_REPO range=${BENCH_RANGE:-}
	case $src in /*) ;; *) src=$PWD/$src ;; esac
	git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || die "BENCH_REPO '$src' is not a git repository"
	BENCH_REPO=$src
	base=
	tip=
	if [ -n "$range" ]; then
		case $range in
		*...* | ..* | *.. | *..*..*) die "BENCH_RANGE must be <base>..<tip> (got '$range')" ;;
		*..*) ;;
		*) die "BENCH_RANGE must be <base>..<tip> (got '$range')" ;;
		esac
		base=${range%%..*}
		tip=${range#*..}
		base_sha=$(git -C "$src" rev-parse --verify -q "$base^{commit}") ||
			die "'$base' is not a commit in $src"
		tip_sha=$(git -C "$src" rev-parse --verify -q "$tip^{commit}") ||
			die "'$tip' is not a commit in $src"
	fi
	echo "$bench_name: cloning $src" >&2
	quiet git clone -q "$src" "$1"
	cd "$1" || die "cannot enter $1"
	git config gc.auto 0
	[ -n "$range" ] || return 0
	# Commits reachable only from other refs of the original (its remote
	# branches, say) come in a second fetch.
	if ! git cat-file -e "$base_sha^{commit}" 2>/dev/null || ! git cat-file -e "$tip_sha^{commit}" 2>/dev/null; then
		quiet git fetch -q --no-tags "$src" '+refs/*:refs/bench-src/*'
	fi
	git cat-file -e "$base_sha^{commit}" 2>/dev/null || die "the clone lacks $base ($base_sha)"
	git cat-file -e "$tip_sha^{commit}" 2>/dev/null || die "the clone lacks $tip ($tip_sha)"
}

# bench_report [ARG...]: run the Python program on stdin, with bench/benchlib.py
# importable and the samples directory, the JSON path and ARGs as arguments.
bench_report() {
	PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} python3 - "$samples" "$out" "$@"
}

bench_loadavg() {
	cut -d' ' -f1-3 /proc/loadavg
}

# bench_rounds WHAT: the script's round() WARMUP times untimed (rounds 1001,
# 1002, ...: names that measured rounds do not use), then RUNS times with
# its samples in $samples (rounds 1, 2, ...).  round N PREFIX runs every row
# once, in an order that changes with N, each with its sample file
# PREFIX<row> (no file when PREFIX is empty).  Exports the load average
# before and after, and the rounds, for benchlib.machine().
bench_rounds() {
	local n
	BENCH_LOAD_START=$(bench_loadavg)
	echo "$bench_name: $warmup warm-up rounds, then $runs rounds of $1" >&2
	for n in $(seq 1 "$warmup"); do
		round "$((1000 + n))" ""
	done
	for n in $(seq 1 "$runs"); do
		round "$n" "$samples/"
		printf '.' >&2
	done
	echo >&2
	BENCH_LOAD_END=$(bench_loadavg)
	BENCH_RUNS=$runs
	BENCH_WARMUP=$warmup
	export BENCH_LOAD_START BENCH_LOAD_END BENCH_RUNS BENCH_WARMUP
}

# bench_host: export what benchlib.machine() puts in the JSON: the date, the
# machine (CPU, cores, memory, the work directory's disk and file system,
# kernel), the compiler, the git and git-agent versions and the project
# commit.  Run it in the benchmark repository.
bench_host() {
	local cpu dev
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	[ -n "$cpu" ] || cpu=$(sed -n 's/^\(Hardware\|cpu model\|Processor\)[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	dev=$(df -P "$work" 2>/dev/null | awk 'NR == 2 { print $1 }')
	BENCH_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	BENCH_NPROC=$(nproc)
	BENCH_CPU=${cpu:-unknown}
	BENCH_MEM_KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	BENCH_KERNEL=$(uname -sr)
	BENCH_WORK=$work
	BENCH_FS=$(findmnt -n -o FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work")
	BENCH_DISK=${dev:-unknown}
	if [ -n "$dev" ] && [ -b "$dev" ]; then
		local rota
		rota=$(lsblk -dn -o ROTA "$dev" 2>/dev/null | tr -d ' ')
		case $rota in [01]) BENCH_DISK="$dev (rotational: $rota)" ;; esac
	fi
	BENCH_CC=$(cc --version | head -n 1)
	BENCH_GIT=$(git --version)
	BENCH_AGENT=$(git agent --version)
	BENCH_PROJECT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	BENCH_PROJECT_DIRTY=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
	export BENCH_DATE BENCH_NPROC BENCH_CPU BENCH_MEM_KB BENCH_KERNEL BENCH_WORK BENCH_FS \
		BENCH_DISK BENCH_CC BENCH_GIT BENCH_AGENT BENCH_PROJECT BENCH_PROJECT_DIRTY
}
