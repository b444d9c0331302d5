"""check-append.py FILE WRITERS EVENTS: is FILE what bench/append.sh's
writers should leave?  Every line whole (ends in a newline) and one JSON
object, WRITERS x EVENTS lines in all, and from each writer
(bench-writer-NN) every "seq" from 1 to EVENTS exactly once, in order.
Prints the findings as one JSON object; exits 1 when something is wrong."""
import json
import sys

path, writers, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
found = {"lines": 0, "not_json": 0, "unterminated": 0, "foreign": 0,
         "missing": 0, "duplicated": 0, "out_of_order": 0}
last = {}
seen = {}
with open(path, "rb") as f:
    for raw in f:
        found["lines"] += 1
        if not raw.endswith(b"\n"):
            found["unterminated"] += 1
        try:
            e = json.loads(raw)
            task, seq = e["task"], int(e["seq"])
        except (ValueError, KeyError, TypeError):
            found["not_json"] += 1
            continue
        if not task.startswith("bench-writer-") or not 1 <= seq <= events:
            found["foreign"] += 1
            continue
        got = seen.setdefault(task, set())
        if seq in got:
            found["duplicated"] += 1
        got.add(seq)
        if seq <= last.get(task, 0):
            found["out_of_order"] += 1
        last[task] = seq
for k in range(1, writers + 1):
    found["missing"] += events - len(seen.get(f"bench-writer-{k:02d}", ()))
found["expected_lines"] = writers * events
found["ok"] = (found["lines"] == writers * events and
               all(found[k] == 0 for k in ("not_json", "unterminated", "foreign", "missing",
                                           "duplicated", "out_of_order")))
print(json.dumps(found))
sys.exit(0 if found["ok"] else 1)
