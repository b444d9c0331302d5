# bench/trace-tasks.jq: row (f) of bench/trace.sh, what `git agent trace --tasks
# --json` answers, in one pass of jq over the log:
#
#   jq -c -n -f bench/trace-tasks.jq <common-dir>/agent/trace.jsonl
#
# One object per task, in order of first appearance, with the same keys in the
# same order: the state from the task's own (not emitted) events, the branch
# and its prefix (the agent), the first and last event's ts, the last event,
# the number of events, the latest review's round, +/- and mergeable, and the
# verdict that followed it.
#
# Written for jq 1.6, where `.[$e.task] |= f` (or any `//` or `. as $x` in the
# update) keeps a second reference to the accumulator, so that every event
# copies the whole 20,000-key object: over 10 minutes instead of 17 s.  Here the
# update reads the task's entry once (`.[$e.task] as $t`) and writes it back
# with setpath, so the accumulator is updated in place.
{"task.planned": "planned", "worktree.created": "running", "agent.started": "running",
 "agent.exited": "exited", "setup.failed": "failed", "spawn.failed": "failed",
 "review.recorded": "reviewed", "verdict.changes": "changes requested",
 "merge.done": "merged", "verdict.abandon": "abandoned"} as $states
| {"verdict.merge": "merge", "verdict.changes": "changes", "verdict.abandon": "abandon",
   "merge.refused": "merge refused", "merge.failed": "merge failed",
   "merge.done": "merged"} as $verdicts
| reduce (inputs | select(.task != null)) as $e ({};
    .[$e.task] as $t
    | setpath([$e.task];
        (if $t == null then
           {task: $e.task, state: null, branch: null, created: $e.ts, updated: null,
            last_event: null, events: 0, round: null, insertions: null, deletions: null,
            verdict: null, mergeable: null}
         else $t end)
        | .updated = $e.ts | .last_event = $e.event | .events += 1
        | if $e.emitted == true then .
          else
            (if $states[$e.event] != null then .state = $states[$e.event] else . end)
            | (if $e.event == "task.planned" or $e.event == "worktree.created"
               then .branch = $e.branch else . end)
            | (if $e.event == "review.recorded" then
                 .round = $e.round | .insertions = $e.insertions | .deletions = $e.deletions
                 | .mergeable = $e.mergeable | .verdict = null
               elif $verdicts[$e.event] != null and .round != null then
                 .verdict = $verdicts[$e.event]
               else . end)
          end))
| .[]
| . as $r
| {task, state, branch,
   agent: (if $r.branch != null and ($r.branch | endswith("/" + $r.task))
           then $r.branch[0:($r.branch | length) - ($r.task | length) - 1] else null end),
   created, updated, last_event, events, round, insertions, deletions, verdict, mergeable}
