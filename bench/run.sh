#!/bin/bash
# bench/run.sh: every benchmark, one after the other; `make bench` runs it.
#
#   spawn.sh   spawn --create vs git worktree add; dry-run spawn vs git rev-parse HEAD
#   review.sh  review vs git diff --stat + git diff --binary + git status --porcelain
#   trace.sh   trace filters and --tasks vs jq and grep -F
#   append.sh  16 concurrent appenders x 10,000 events vs shell loops
#
# on generated workloads (a 20,000-file repository, a branch changing 5,000
# files, a 1,000,000-event trace).  With BENCH_REPO=<repository> (and
# BENCH_RANGE=<base>..<tip> for review), spawn.sh and review.sh run a
# second time on that repository.  Each script prints its table and writes
# bench/results/<name>.json; then bench/report.py prints every pair in one
# table and puts the figures in BENCHMARKS.md.  The environment knobs of
# the scripts (RUNS, WARMUP, BENCH_WORK, ...) pass through; BENCH_RESULTS
# does not (each script writes its own file).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_name=run.sh
root=$(dirname "$here")
unset BENCH_RESULTS
results=()
start=$(date +%s)

bench() { # bench SCRIPT RESULT [VAR=VALUE...]: run one benchmark
	local script=$1 result=$2
	shift 2
	echo "== bench/$script $*" >&2
	env "$@" "$here/$script"
	results+=("$here/results/$result")
	echo >&2
}

bench spawn.sh spawn.json -u BENCH_REPO -u BENCH_RANGE
bench review.sh review.json -u BENCH_REPO -u BENCH_RANGE
bench trace.sh trace.json
bench append.sh append.json
if [ -n "${BENCH_REPO:-}" ]; then
	bench spawn.sh spawn-real.json
	if [ -n "${BENCH_RANGE:-}" ]; then
		bench review.sh review-real.json
	else
		echo "run.sh: no BENCH_RANGE=<base>..<tip>: review is not measured on $BENCH_REPO" >&2
	fi
fi

echo "== all pairs ($(($(date +%s) - start)) s)"
python3 "$here/report.py" --markdown "${BENCH_REPORT:-$root/BENCHMARKS.md}" "${results[@]}"
