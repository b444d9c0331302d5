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
. "$here/lib.sh"
bench_setup trace 5 1 git-agent git-agent-trace
events=$(bench_num EVENTS 1000000 3)
ntasks=$(bench_num TASKS 20000 1)
task=${BENCH_TASK:-}
command -v jq >/dev/null || die "jq is needed for the comparison: apt-get install jq"

repo=$dir/repo
outs=$dir/out # the outputs of the check before measuring
mkdir -p "$outs"
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
			row "$x"
			measure "$p${p:+$x}" "${cmd[@]}"
		done
	done
}

bench_rounds "the 9 commands (about 30 s each for 1,000,000 events)"

bench_host
BENCH_EVENTS=$(wc -l <"$trace") BENCH_TASKS=$ntasks BENCH_BYTES=$(wc -c <"$trace") \
BENCH_SHA256=$(sha256sum "$trace" | cut -d' ' -f1) \
BENCH_TASK=$task BENCH_TASK_LINES=$task_lines BENCH_MERGE_LINES=$merge_lines \
BENCH_TASKS_SAME=$tasks_same BENCH_TASKS_DIFF=$tasks_diff \
BENCH_JQ=$(jq --version) BENCH_GREP=$(grep --version | head -n 1) \
BENCH_STRICT=${BENCH_STRICT:-0} \
	bench_report <<'EOF'
import json, os, sys

samples, out = sys.argv[1:3]
from benchlib import results, pair, machine, write_json, host_line, table

env = os.environ
task = env["BENCH_TASK"]
res = results(samples, [
    ("one_task", "a", f"git agent trace {task} --json"),
    ("one_task_jq", "b", f"jq -c --arg t {task} 'select(.task == $t)' trace.jsonl"),
    ("one_task_grep", "c", f"grep -F '\"task\":\"{task}\"' trace.jsonl"),
    ("tasks_json", "d", "git agent trace --tasks --json"),
    ("tasks_human", "e", "git agent trace --tasks"),
    ("tasks_jq", "f", "jq -c -n -f bench/trace-tasks.jq trace.jsonl"),
    ("event", "g", "git agent trace --event 'merge.*' --json"),
    ("event_jq", "h", "jq -c 'select(.event | startswith(\"merge.\"))' trace.jsonl"),
    ("event_grep", "i", "grep -F '\"event\":\"merge.' trace.jsonl")])
size = f"{int(env['BENCH_EVENTS']):,}-event trace"
pairs = [pair(res, f"trace <task> vs jq, {size}", "one_task", "one_task_jq"),
         pair(res, f"trace <task> vs grep -F, {size}", "one_task", "one_task_grep"),
         pair(res, f"trace --tasks --json vs jq (one pass), {size}", "tasks_json", "tasks_jq"),
         pair(res, f"trace --tasks vs jq (one pass), {size}", "tasks_human", "tasks_jq"),
         pair(res, f"trace --event 'merge.*' vs jq, {size}", "event", "event_jq"),
         pair(res, f"trace --event 'merge.*' vs grep -F, {size}", "event", "event_grep")]
ratios = {k: p["ratio"] for k, p in zip(
    ["one_task_vs_jq", "one_task_vs_grep", "tasks_json_vs_jq", "tasks_human_vs_jq",
     "event_vs_jq", "event_vs_grep"], pairs)}
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
    "results": res,
    "pairs": pairs,
    "peak_rss_kb": peak,
    "targets": targets,
    "met": met,
}
write_json(out, doc)

def r(v):
    return f"{v:.3f}"

table(44, [
    ("(a) git agent trace <task> --json", res["one_task"],
     [r(ratios["one_task_vs_jq"]), r(ratios["one_task_vs_grep"])]),
    ("(b) jq select(.task == <task>)", res["one_task_jq"], ["1.000", ""]),
    ("(c) grep -F '\"task\":\"<task>\"'", res["one_task_grep"], ["", "1.000"]),
    ("(d) git agent trace --tasks --json", res["tasks_json"], [r(ratios["tasks_json_vs_jq"]), ""]),
    ("(e) git agent trace --tasks", res["tasks_human"], [r(ratios["tasks_human_vs_jq"]), ""]),
    ("(f) jq -n -f trace-tasks.jq (one pass)", res["tasks_jq"], ["1.000", ""]),
    ("(g) git agent trace --event 'merge.*' --json", res["event"],
     [r(ratios["event_vs_jq"]), r(ratios["event_vs_grep"])]),
    ("(h) jq select(.event | startswith(\"merge.\"))", res["event_jq"], ["1.000", ""]),
    ("(i) grep -F '\"event\":\"merge.'", res["event_grep"], ["", "1.000"]),
], cols=("vs jq", "vs grep"))
print()

def ok(key):
    return "ok" if met[key] else "MISSED"

print(f"one task ({doc['trace']['task_events']} events): jq takes {1 / ratios['one_task_vs_jq']:.1f}x as long"
      f" (target >= 20x: {ok('one_task_vs_jq')}); (a)/(c) = {ratios['one_task_vs_grep']:.2f} of grep -F"
      f" (target <= 2.0: {ok('one_task_vs_grep')}); per-round medians {pairs[0]['ratio_paired_median']:.4f}"
      f" and {pairs[1]['ratio_paired_median']:.2f}")
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
