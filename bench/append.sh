#!/bin/bash
# bench/append.sh: how many events a second can 16 writers append to one
# trace at once, and is every line whole?
#
#   make -C <project> git-agent bench/appender && bench/append.sh
#
# Measures, interleaved in one run, WRITERS (default 16) processes that each
# append APPENDS (default 10,000) events to one new file in bench/work/append:
#   (a) bench/appender FILE 16 10000      trace_append() of common/trace.c, as
#                                         every git-agent command appends (open,
#                                         flock, write, close), built with make
#   (b) bench/append-echo.bash FILE ...   16 bash loops of `echo ... >> FILE`
#   (c) bench/append-flock.zsh FILE ...   16 zsh loops of lock, `print >> FILE`,
#                                         unlock (zsystem flock: a builtin)
# The three rotate every round.  After every run, untimed,
# bench/check-append.py reads the file: exactly WRITERS x APPENDS lines, every
# line whole and one JSON object, each writer's events all there, once, in
# order.  A failure of (a) stops the script; one of (b) or (c) is recorded.
# Prints a table and writes bench/results/append.json.
#
# Environment: RUNS (rounds, default 5, at least 5), WARMUP (untimed rounds,
# default 1), WRITERS (default 16), APPENDS (events per writer, default 10000),
# BENCH_WORK (scratch directory, default bench/work; only its append entry
# is replaced), BENCH_RESULTS (JSON output).  (c) needs zsh; without it the
# row is left out.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_setup append 5 1 git-agent bench/appender
writers=$(bench_num WRITERS 16 1)
events=$(bench_num APPENDS 10000 1)
[ "$writers" -le 99 ] || die "WRITERS must be at most 99"
rows="a b c"
if ! command -v zsh >/dev/null; then
	echo "append.sh: zsh is missing: row (c) is left out (apt-get install zsh)" >&2
	rows="a b"
fi

file=$dir/trace.jsonl
checks=$dir/checks # one line of check-append.py's findings per run and row
mkdir -p "$checks"

row() { # row X: the command of row X, in the array cmd
	case $1 in
	a) cmd=("$root/bench/appender" "$file" "$writers" "$events") ;;
	b) cmd=(bash "$here/append-echo.bash" "$file" "$writers" "$events") ;;
	c) cmd=(zsh -f "$here/append-flock.zsh" "$file" "$writers" "$events") ;;
	esac
}

run() { # run X OUT: one run of row X into a new file, then the check
	local found
	row "$1"
	rm -f "$file"
	measure "$2" "${cmd[@]}"
	if ! found=$(python3 "$here/check-append.py" "$file" "$writers" "$events"); then
		[ "$1" != a ] || die "(a) left a broken trace: $found (see $file)"
		echo "append.sh: ($1) left a broken file: $found" >&2
	fi
	echo "$found" >>"$checks/$1"
	rm -f "$file"
}

round() { # round N PREFIX: every row once, in an order that rotates
	local n=$1 p=$2 x
	# shellcheck disable=SC2086 # rows is a list of letters
	set -- $rows
	case $((n % 3)) in
	1) set -- "${@:2}" "$1" ;;
	2) set -- "${@:3}" "${@:1:2}" ;;
	esac
	for x in "$@"; do
		run "$x" "$p${p:+$x}"
	done
}

bench_rounds "($rows) rotating, $writers writers x $events events each"

cd "$dir"
bench_host
BENCH_ROWS=$rows BENCH_WRITERS=$writers BENCH_EVENTS=$events \
BENCH_BASH=$(bash --version | head -n 1) \
BENCH_ZSH=$(zsh --version 2>/dev/null || echo none) \
	bench_report "$checks" <<'EOF'
import json, os, sys

samples, out, checks = sys.argv[1:4]
from benchlib import results, pair, machine, write_json, host_line, table

env = os.environ
writers, events = int(env["BENCH_WRITERS"]), int(env["BENCH_EVENTS"])
total = writers * events
rows = env["BENCH_ROWS"].split()
names = {"a": ("trace_append", f"bench/appender FILE {writers} {events}"),
         "b": ("bash_echo", f"bash bench/append-echo.bash FILE {writers} {events}"),
         "c": ("zsh_flock", f"zsh -f bench/append-flock.zsh FILE {writers} {events}")}
res = results(samples, [(names[x][0], x, names[x][1]) for x in rows])
for x in rows:
    r = res[names[x][0]]
    r["events_per_s"] = round(total / (r["median_ms"] / 1000))
    with open(os.path.join(checks, x)) as f:
        found = [json.loads(line) for line in f]
    # Every run, the warm-up's included, was checked.
    r["checked_runs"] = len(found)
    r["all_runs_whole"] = all(c["ok"] for c in found)
    r["worst_run"] = min(found, key=lambda c: (c["ok"], -c["lines"]))

what = f"{writers} writers x {events:,} events"
pairs = [pair(res, f"{what}: trace_append vs bash echo >> file", "trace_append", "bash_echo",
              ours_events_per_s=res["trace_append"]["events_per_s"],
              theirs_events_per_s=res["bash_echo"]["events_per_s"])]
if "c" in rows:
    pairs.append(pair(res, f"{what}: trace_append vs zsh flock + print >> file", "trace_append",
                      "zsh_flock", ours_events_per_s=res["trace_append"]["events_per_s"],
                      theirs_events_per_s=res["zsh_flock"]["events_per_s"]))

doc = {
    "benchmark": "concurrent appends to the trace",
    **machine(env),
    "tools": {"bash": env["BENCH_BASH"], "zsh": env["BENCH_ZSH"]},
    "workload": {"writers": writers, "events_per_writer": events, "events": total,
                 "checked_by": "bench/check-append.py"},
    "results": res,
    "pairs": pairs,
}
write_json(out, doc)

labels = {"a": "(a) bench/appender (trace_append)", "b": "(b) bash: echo >> file",
          "c": "(c) zsh: flock, print >> file"}
vs = {"a": [f"{p['ratio']:.3f}" for p in pairs], "b": ["1.000", ""], "c": ["", "1.000"]}
cols = ("vs bash", "vs zsh")[:len(pairs)]
table(36, [(labels[x], res[names[x][0]],
            vs[x][:len(pairs)] + [f"{res[names[x][0]]['events_per_s']:,}",
                                  "yes" if res[names[x][0]]["all_runs_whole"] else "NO"])
           for x in rows], cols=cols + ("events/s", "whole"))
print()
for p in pairs:
    print(f"{p['name']}: {p['ours_events_per_s']:,} against {p['theirs_events_per_s']:,} events/s"
          f" (time ratio {p['ratio']:.3f}, per-round {p['ratio_paired_median']:.3f})")
for x in rows:
    r = res[names[x][0]]
    print(f"({x}) {r['checked_runs']} runs checked: "
          + ("every line whole, valid JSON, exactly " + f"{total:,} lines" if r["all_runs_whole"]
             else "BROKEN: " + json.dumps(r["worst_run"])))
print(host_line(doc))
print(f"wrote {out}")
EOF
