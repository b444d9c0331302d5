#!/bin/bash
# bench/trace.sh: how fast does `git agent trace` read a big log, against jq
# and grep?
#
#   make -C <project> git-agent git-agent-trace && bench/trace.sh
#
# Writes a deterministic log of EVENTS events (default 1,000,000, 266 MB)
# for TASKS tasks (default 20,000) into the repository bench/work/trace/repo
# (gitignored) with bench/make-trace.sh, then measures, interleaved in one run:
#   (a) git agent trace <task> --json                 one task's events
#   (b) jq -c --arg t <task> 'select(.task == $t)'     the same with jq
#   (c) grep -F '"task":"<task>"'                      the same with grep
#   (d) git agent trace --tasks --json                one line per task
#   (e) git agent trace --tasks                       the same, for humans
#   (f) jq -c -n -f bench/trace-tasks.jq              the same summary, one jq pass
#   (g) git agent trace --event 'merge.*' --json      all merge.* events
#   (h) jq -c 'select(.event | startswith("merge."))'
#   (i) grep -F '"event":"merge.'
# Within each group of three the order rotates every round.  Before
# measuring, (a), (b) and (c) must print the same lines, byte for byte, and
# so must (g), (h) and (i); (d) is compared with (f) (a difference is
# reported, not fatal).  Every run's time and peak RSS come from
# bench/timeit.c.  Prints a table and writes bench/results/trace.json.
#
# Environment: RUNS (rounds, default 5, at least 5), WARMUP (untimed rounds,
# default 1), EVENTS and TASKS (the log), BENCH_TASK (the task of (a)-(c);
# default the one numbered TASKS/2), BENCH_STRICT=1 (exit 1 when a target is
# missed), BENCH_WORK (scratch directory, default bench/work; only its trace
# entry is replaced), BENCH_RESULTS (JSON output, default
# bench/results/trace.json).  Needs jq: apt-get install jq.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bench_name=trace.sh
work=${BENCH_WORK:-$here/work}
out=${BENCH_RESULTS:-$here/results/trace.json}
case $work in /*) ;; *) work=$PWD/$work ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
runs=${RUNS:-5}
warmup=${WARMUP:-1}
events=${EVENTS:-1000000}
ntasks=${TASKS:-20000}
task=${BENCH_TASK:-}
. "$here/lib.sh"

for v in "$runs" "$warmup" "$events" "$ntasks"; do
	case $v in '' | *[!0-9]*) die "RUNS, WARMUP, EVENTS and TASKS must be numbers" ;; esac
done
[ "$runs" -ge 5 ] || die "RUNS must be at least 5 (got $runs)"
for exe in git-agent git-agent-trace; do
	[ -x "$root/$exe" ] || die "$root/$exe is missing: run 'make -C $root git-agent git-agent-trace' first"
done
command -v jq >/dev/null || die "jq is needed for the comparison: apt-get install jq"
command -v python3 >/dev/null || die "python3 is needed to compute the medians"
command -v cc >/dev/null || die "a C compiler (cc) is needed for the timer and the log"

dir=$work/trace # everything this script makes, and nothing else
bench_env "$dir/home"
TZ=UTC # the human --tasks output does not depend on the machine's zone
export TZ
[ "$(command -v git-agent-trace)" = "$root/git-agent-trace" ] ||
	die "git-agent-trace resolves to $(command -v git-agent-trace), not $root/git-agent-trace"

repo=$dir/repo
samples=$dir/samples
outs=$dir/out # the outputs of the check before measuring
log=$dir/last.log

rm -rf "${dir:?}"
mkdir -p "$HOME" "$samples" "$outs" "$(dirname "$out")"
bench_timer "$dir"
"$here/make-trace.sh" "$repo" "$events" "$ntasks"
cd "$repo"
trace=$(cd "$(git rev-parse --git-common-dir)" && pwd)/agent/trace.jsonl
if [ -z "$task" ]; then
	n=$(printf '%05d' $((ntasks / 2 > 0 ? ntasks / 2 : 1)))
	task=$(grep -m 1 -o "\"task\":\"task-$n-[^\"]*\"" "$trace" | sed 's/^"task":"//; s/"$//')
	[ -n "$task" ] || die "no task numbered $n in $trace"
fi
case $task in *[!a-z0-9-]*) die "BENCH_TASK must be a task slug (got '$task')" ;; esac

# shellcheck disable=SC2016 # $t is jq's variable
row() { # row X: the command of row X, in the array cmd
	case $1 in
	a) cmd=(git agent trace "$task" --json) ;;
	b) cmd=(jq -c --arg t "$task" 'select(.task == $t)' "$trace") ;;
	c) cmd=(grep -F "\"task\":\"$task\"" "$trace") ;;
	d) cmd=(git agent trace --tasks --json) ;;
	e) cmd=(git agent trace --tasks) ;;
	f) cmd=(jq -c -n -f "$here/trace-tasks.jq" "$trace") ;;
	g) cmd=(git agent trace --event 'merge.*' --json) ;;
	h) cmd=(jq -c 'select(.event | startswith("merge."))' "$trace") ;;
	i) cmd=(grep -F '"event":"merge.' "$trace") ;;
	esac
}

run() { # run X OUT: one run of row X; with OUT, its time and peak RSS go to OUT and OUT.rss
	local x=$1 file=$2 res ns kb cmd
	row "$x"
	if ! res=$("$timeit" -o "$log" -r "${cmd[@]}"); then
		cat "$log" >&2
		die "command failed: ${cmd[*]}"
	fi
	read -r ns kb <<<"$res"
	if [ -n "$file" ]; then
		echo "$ns" >>"$file"
		echo "$kb" >>"$file.rss"
	fi
}

# Once, before measuring: the three sides must say the same.
for x in a b c d e f g h i; do
	row "$x"
	"${cmd[@]}" >"$outs/$x" 2>"$outs/$x.err" || die "($x) failed: ${cmd[*]} (see $outs/$x.err)"
done
same() { # same X Y WHAT: X's output must be Y's, byte for byte
	cmp -s "$outs/$1" "$outs/$2" ||
		die "($1) and ($2) differ on $3: see $outs/$1 and $outs/$2 ($(wc -l <"$outs/$1") and $(wc -l <"$outs/$2") lines)"
}
same a c "task $task"
same a b "task $task"
same g i "--event 'merge.*'"
same g h "--event 'merge.*'"
for x in a g d e; do
	[ ! -s "$outs/$x.err" ] || die "($x) wrote to stderr: see $outs/$x.err"
done
task_lines=$(wc -l <"$outs/a")
merge_lines=$(wc -l <"$outs/g")
[ "$task_lines" -gt 0 ] || die "task $task has no events"
[ "$(wc -l <"$outs/d")" -eq "$ntasks" ] || die "--tasks --json printed $(wc -l <"$outs/d") lines for $ntasks tasks"
[ "$(wc -l <"$outs/e")" -eq $((ntasks + 1)) ] || die "--tasks printed $(wc -l <"$outs/e") lines for $ntasks tasks and a header"
tasks_same=false
if cmp -s "$outs/d" "$outs/f"; then tasks_same=true; fi
# Where they differ: which keys, in how many tasks (JSON for the results).
tasks_diff=$(python3 - "$outs/d" "$outs/f" <<'EOF'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
jq = [json.loads(l) for l in open(sys.argv[2])]
diff = {}
if [o.get("task") for o in ours] != [j.get("task") for j in jq]:
    diff["task list or order"] = None
else:
    for o, j in zip(ours, jq):
        for k in dict.fromkeys(list(o) + list(j)):
            if o.get(k, "<missing>") != j.get(k, "<missing>"):
                d = diff.setdefault(k, {"tasks": 0, "example": None})
                d["tasks"] += 1
                if d["example"] is None:
                    d["example"] = {"task": o["task"], "ours": o.get(k, "<missing>"),
                                    "jq": j.get(k, "<missing>")}
print(json.dumps(diff))
EOF
)
if [ "$tasks_same" = false ]; then
	echo "trace.sh: warning: --tasks --json differs from bench/trace-tasks.jq: $tasks_diff" >&2
fi
echo "trace.sh: task $task: $task_lines events; $merge_lines merge.* events; --tasks:" \
	"$([ "$tasks_same" = true ] && echo same as jq || echo differs from jq)" >&2

round() { # round N PREFIX: each group of three once, in an order that rotates
	local n=$1 p=$2 group x
	for group in abc def ghi; do
		case $((n % 3)) in
		1) group=${group:1}${group:0:1} ;;
		2) group=${group:2}${group:0:2} ;;
		esac
		for x in ${group:0:1} ${group:1:1} ${group:2:1}; do
			run "$x" "$p${p:+$x}"
		done
	done
}

load_start=$(bench_loadavg)
echo "trace.sh: $warmup warm-up rounds, then $runs rounds of the 9 commands" \
	"(about 30 s each for 1,000,000 events)" >&2
for n in $(seq 1 "$warmup"); do
	round "$n" ""
done
for n in $(seq 1 "$runs"); do
	round "$n" "$samples/"
	printf '.' >&2
done
echo >&2
load_end=$(bench_loadavg)

bench_host
BENCH_LOAD_START=$load_start BENCH_LOAD_END=$load_end \
BENCH_RUNS=$runs BENCH_WARMUP=$warmup \
BENCH_EVENTS=$(wc -l <"$trace") BENCH_TASKS=$ntasks BENCH_BYTES=$(wc -c <"$trace") \
BENCH_SHA256=$(sha256sum "$trace" | cut -d' ' -f1) \
BENCH_TASK=$task BENCH_TASK_LINES=$task_lines BENCH_MERGE_LINES=$merge_lines \
BENCH_TASKS_SAME=$tasks_same BENCH_TASKS_DIFF=$tasks_diff \
BENCH_JQ=$(jq --version) BENCH_GREP=$(grep --version | head -n 1) \
BENCH_STRICT=${BENCH_STRICT:-0} \
	python3 - "$samples" "$out" "$here" <<'EOF'
import json, os, statistics, sys

samples, out, here = sys.argv[1:4]
sys.path.insert(0, here)
from benchlib import load, summary, paired, machine, write_json, host_line, table

env = os.environ
task = env["BENCH_TASK"]
rows = [("one_task", "a", f"git agent trace {task} --json"),
        ("one_task_jq", "b", f"jq -c --arg t {task} 'select(.task == $t)' trace.jsonl"),
        ("one_task_grep", "c", f"grep -F '\"task\":\"{task}\"' trace.jsonl"),
        ("tasks_json", "d", "git agent trace --tasks --json"),
        ("tasks_human", "e", "git agent trace --tasks"),
        ("tasks_jq", "f", "jq -c -n -f bench/trace-tasks.jq trace.jsonl"),
        ("event", "g", "git agent trace --event 'merge.*' --json"),
        ("event_jq", "h", "jq -c 'select(.event | startswith(\"merge.\"))' trace.jsonl"),
        ("event_grep", "i", "grep -F '\"event\":\"merge.' trace.jsonl")]
res = {}
for key, f, cmd in rows:
    res[key] = summary(load(samples, f))
    res[key]["command"] = cmd
    with open(os.path.join(samples, f + ".rss")) as fh:
        kb = [int(x) for x in fh.read().split()]
    res[key]["peak_rss_kb"] = max(kb)
    res[key]["rss_kb_samples"] = kb

def ratio(a, b):
    return res[a]["median_ms"] / res[b]["median_ms"]

ratios = {"one_task_vs_jq": ratio("one_task", "one_task_jq"),
          "one_task_vs_grep": ratio("one_task", "one_task_grep"),
          "tasks_json_vs_jq": ratio("tasks_json", "tasks_jq"),
          "tasks_human_vs_jq": ratio("tasks_human", "tasks_jq"),
          "event_vs_jq": ratio("event", "event_jq"),
          "event_vs_grep": ratio("event", "event_grep")}
pairs = {"one_task_vs_jq": paired(res["one_task"], res["one_task_jq"]),
         "one_task_vs_grep": paired(res["one_task"], res["one_task_grep"]),
         "tasks_json_vs_jq": paired(res["tasks_json"], res["tasks_jq"]),
         "event_vs_jq": paired(res["event"], res["event_jq"]),
         "event_vs_grep": paired(res["event"], res["event_grep"])}
ours = ["one_task", "tasks_json", "tasks_human", "event"]
peak = max(res[k]["peak_rss_kb"] for k in ours)
tasks_ms = max(res["tasks_json"]["median_ms"], res["tasks_human"]["median_ms"])
targets = {"one_task_speedup_vs_jq_min": 20.0, "one_task_ratio_vs_grep_max": 2.0,
           "tasks_median_ms_max": 1000.0, "peak_rss_kb_max": 16384}
met = {"one_task_vs_jq": 1 / ratios["one_task_vs_jq"] >= targets["one_task_speedup_vs_jq_min"],
       "one_task_vs_grep": ratios["one_task_vs_grep"] <= targets["one_task_ratio_vs_grep_max"],
       "tasks": tasks_ms <= targets["tasks_median_ms_max"],
       "peak_rss": peak <= targets["peak_rss_kb_max"]}

doc = {
    "benchmark": "git agent trace",
    **machine(env),
    "tools": {"jq": env["BENCH_JQ"], "grep": env["BENCH_GREP"]},
    "trace": {"events": int(env["BENCH_EVENTS"]), "tasks": int(env["BENCH_TASKS"]),
              "bytes": int(env["BENCH_BYTES"]), "sha256": env["BENCH_SHA256"],
              "made_by": "bench/make-trace.sh", "task": task,
              "task_events": int(env["BENCH_TASK_LINES"]),
              "merge_events": int(env["BENCH_MERGE_LINES"])},
    "checks": {"one_task_same_as_jq_and_grep": True, "event_same_as_jq_and_grep": True,
               "tasks_same_as_jq": env["BENCH_TASKS_SAME"] == "true",
               "tasks_differences": json.loads(env["BENCH_TASKS_DIFF"])},
    "rounds": {"measured": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"])},
    "results": res,
    "ratios": {k: round(v, 4) for k, v in ratios.items()},
    "ratio_paired_median": {k: round(v, 4) for k, v in pairs.items()},
    "peak_rss_kb": peak,
    "targets": targets,
    "met": met,
}
write_json(out, doc)

def r(v):
    return f"{v:.3f}"

table(44, [
    ("(a) git agent trace <task> --json", res["one_task"],
     [r(ratios["one_task_vs_jq"]), r(ratios["one_task_vs_grep"])], res["one_task"]["peak_rss_kb"]),
    ("(b) jq select(.task == <task>)", res["one_task_jq"], ["1.000", ""], res["one_task_jq"]["peak_rss_kb"]),
    ("(c) grep -F '\"task\":\"<task>\"'", res["one_task_grep"], ["", "1.000"],
     res["one_task_grep"]["peak_rss_kb"]),
    ("(d) git agent trace --tasks --json", res["tasks_json"], [r(ratios["tasks_json_vs_jq"]), ""],
     res["tasks_json"]["peak_rss_kb"]),
    ("(e) git agent trace --tasks", res["tasks_human"], [r(ratios["tasks_human_vs_jq"]), ""],
     res["tasks_human"]["peak_rss_kb"]),
    ("(f) jq -n -f trace-tasks.jq (one pass)", res["tasks_jq"], ["1.000", ""], res["tasks_jq"]["peak_rss_kb"]),
    ("(g) git agent trace --event 'merge.*' --json", res["event"],
     [r(ratios["event_vs_jq"]), r(ratios["event_vs_grep"])], res["event"]["peak_rss_kb"]),
    ("(h) jq select(.event | startswith(\"merge.\"))", res["event_jq"], ["1.000", ""],
     res["event_jq"]["peak_rss_kb"]),
    ("(i) grep -F '\"event\":\"merge.'", res["event_grep"], ["", "1.000"], res["event_grep"]["peak_rss_kb"]),
], True, cols=("vs jq", "vs grep"), strip=True)
print()

def ok(key):
    return "ok" if met[key] else "MISSED"

print(f"one task ({doc['trace']['task_events']} events): jq takes {1 / ratios['one_task_vs_jq']:.1f}x as long"
      f" (target >= 20x: {ok('one_task_vs_jq')}); (a)/(c) = {ratios['one_task_vs_grep']:.2f} of grep -F"
      f" (target <= 2.0: {ok('one_task_vs_grep')}); per-round medians {pairs['one_task_vs_jq']:.4f}"
      f" and {pairs['one_task_vs_grep']:.2f}")
print(f"--tasks ({doc['trace']['tasks']} tasks): --json {res['tasks_json']['median_ms']:.0f} ms,"
      f" human {res['tasks_human']['median_ms']:.0f} ms (target <= 1000 ms: {ok('tasks')});"
      f" jq takes {1 / ratios['tasks_json_vs_jq']:.1f}x as long;"
      f" {'same output as jq' if doc['checks']['tasks_same_as_jq'] else 'DIFFERS from jq: ' + json.dumps(doc['checks']['tasks_differences'])}")
print(f"--event 'merge.*' ({doc['trace']['merge_events']} events): jq takes {1 / ratios['event_vs_jq']:.1f}x as long;"
      f" (g)/(i) = {ratios['event_vs_grep']:.2f} of grep -F")
print(f"peak RSS of git agent trace: {peak} KB, the largest of all runs of (a), (d), (e), (g)"
      f" (target <= 16384 KB: {ok('peak_rss')})")
print(f"log: {doc['trace']['events']} events, {doc['trace']['tasks']} tasks, {doc['trace']['bytes']} bytes;"
      f" {doc['tools']['jq']}, {doc['tools']['grep']}")
print(host_line(doc))
print(f"wrote {out}")
if env.get("BENCH_STRICT") == "1" and not all(met.values()):
    sys.exit(1)
EOF
