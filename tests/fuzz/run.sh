#!/bin/sh
# Runs each libFuzzer target for a number of seconds on a scratch copy of its
# seeds (tests/fuzz/corpus/<name>/ for fuzz_<name>, with the dictionary
# tests/fuzz/<name>.dict when there is one), so the inputs it finds never
# dirty the tree, and prints its executions and their rate. A crash, a
# leak or a failed property fails the run; the input that did it is kept in
# tests/fuzz/build/crashes/ (add it to the corpus once the bug is fixed).
#
# usage: tests/fuzz/run.sh <seconds> <target>...
set -u

seconds=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
crashes=$here/build/crashes
scratch=$(mktemp -d "${TMPDIR:-/tmp}/git-agent-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$crashes"

# Our own settings, not those a caller left for other runs (make check's log_path).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

stat() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

status=0
printf '%-20s %8s %12s %10s\n' target seconds executions exec/s
for target; do
	name=${target##*/fuzz_}
	corpus=$scratch/$name
	log=$scratch/$name.log
	mkdir -p "$corpus"
	if [ -d "$here/corpus/$name" ]; then
		find "$here/corpus/$name" -type f -exec cp {} "$corpus" \;
	fi
	dict=
	[ -f "$here/$name.dict" ] && dict=$here/$name.dict
	start=$(date +%s)
	"$target" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
		-artifact_prefix="$crashes/$name-" ${dict:+"-dict=$dict"} "$corpus" >"$log" 2>&1
	rc=$?
	elapsed=$(($(date +%s) - start))
	printf '%-20s %8s %12s %10s\n' "fuzz_$name" "$elapsed" \
		"$(stat number_of_executed_units "$log")" "$(stat average_exec_per_sec "$log")"
	if [ $rc != 0 ]; then
		echo "fuzz_$name FAILED (exit $rc):"
		grep -v '^#[0-9]' "$log" | tail -n 60
		status=1
	fi
done
[ $status = 0 ] || echo "fuzzing FAILED: crashing inputs are in $crashes"
exit $status
