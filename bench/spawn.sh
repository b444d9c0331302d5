#!/bin/bash
# bench/spawn.sh: how much does `git agent spawn` cost over plain git?
#
#   make -C <project> && bench/spawn.sh
#
# Builds a deterministic 5,000-file repository under bench/work/ (gitignored)
# with bench/make-repo.sh, then measures, interleaved in one run:
#   (a) git agent spawn --create --name t<N> "Bench task"
#   (b) git worktree add -b b<N> <worktrees>/w<N> HEAD
#   (c) git agent spawn --name d<N> "Bench task"        (dry run)
#   (d) git rev-parse HEAD                              (process start-up floor)
#   (e) git agent --version                             (git + dispatcher floor)
# (a) and (b) alternate their order every round, (c), (d) and (e) rotate;
# each run is followed by an
# untimed cleanup (worktree remove --force, branch -D, task record and folder
# removed).  Prints a table and writes bench/results/spawn.json.
#
# Environment: RUNS (rounds of a and b, default 21, at least 11),
# SMALL (runs of c, d and e per round, default 5), WARMUP (untimed rounds,
# default 2), FILES (repository size, default 5000), BENCH_STRICT=1 (exit 1
# when a target is missed), BENCH_WORK (scratch directory, default
# bench/work; e.g. /dev/shm/agent-bench to take the disk out of the figures;
# only its repo, repo-worktrees, samples and home entries are replaced),
# BENCH_RESULTS (JSON output, default bench/results/spawn.json).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bench_name=spawn.sh
work=${BENCH_WORK:-$here/work}
out=${BENCH_RESULTS:-$here/results/spawn.json}
case $work in /*) ;; *) work=$PWD/$work ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
runs=${RUNS:-21}
small=${SMALL:-5}
warmup=${WARMUP:-2}
files=${FILES:-5000}
. "$here/lib.sh"

for v in "$runs" "$small" "$warmup" "$files"; do
	case $v in '' | *[!0-9]*) die "RUNS, SMALL, WARMUP and FILES must be numbers" ;; esac
done
[ "$runs" -ge 11 ] || die "RUNS must be at least 11 (got $runs)"
[ "$small" -ge 1 ] || die "SMALL must be at least 1"
for exe in git-agent git-agent-spawn; do
	[ -x "$root/$exe" ] || die "$root/$exe is missing: run 'make -C $root' first"
done
command -v python3 >/dev/null || die "python3 is needed to compute the medians"
command -v cc >/dev/null || die "a C compiler (cc) is needed for the timer"

bench_env "$work/home"
[ "$(command -v git-agent-spawn)" = "$root/git-agent-spawn" ] ||
	die "git-agent-spawn resolves to $(command -v git-agent-spawn), not $root/git-agent-spawn"

repo=$work/repo
wts=$work/repo-worktrees # spawn's default agent.worktreeDir (../<repo>-worktrees)
samples=$work/samples
log=$work/last.log

# Start from scratch; remove only what this script makes in the work directory.
rm -rf "${work:?}/repo" "$work/repo-worktrees" "$samples" "$HOME" "$work/timeit" \
	"$log" "$work/cleanup.log"
mkdir -p "$work" "$HOME" "$samples" "$(dirname "$out")"
bench_timer "$work"
"$here/make-repo.sh" "$repo" "$files"
cd "$repo"
gitdir=$(git rev-parse --git-common-dir)
tasks=$gitdir/agent/tasks
[ -z "$(git status --porcelain)" ] || die "the benchmark repository is not clean"
git agent spawn --name warm "Bench task" >/dev/null # fails early if spawn is broken
rm -rf "$tasks/warm" "$tasks/warm.ini"

quiet() { # run a cleanup step; show its output only when it fails
	"$@" >"$work/cleanup.log" 2>&1 || {
		cat "$work/cleanup.log" >&2
		die "cleanup failed: $*"
	}
}

run_a() { # run_a N OUT
	measure "$2" git agent spawn --create --name "t$1" "Bench task"
	if ! [ -d "$wts/t$1" ] || ! git rev-parse -q --verify "refs/heads/agent/t$1" >/dev/null; then
		die "spawn --create did not make agent/t$1 at $wts/t$1"
	fi
	quiet git worktree remove --force "$wts/t$1"
	quiet git branch -D "agent/t$1"
	rm -rf "$tasks/t$1" "$tasks/t$1.ini"
}

run_b() { # run_b N OUT
	measure "$2" git worktree add -b "b$1" "$wts/w$1" HEAD
	[ -d "$wts/w$1" ] || die "git worktree add did not make $wts/w$1"
	quiet git worktree remove --force "$wts/w$1"
	quiet git branch -D "b$1"
}

run_c() { # run_c NAME OUT
	measure "$2" git agent spawn --name "$1" "Bench task"
	[ -f "$tasks/$1.ini" ] || die "dry run did not write $tasks/$1.ini"
	rm -rf "${tasks:?}/$1" "$tasks/$1.ini"
}

run_d() { # run_d OUT
	measure "$1" git rev-parse HEAD
}

run_e() { # run_e OUT
	measure "$1" git agent --version
}

round() { # round N PREFIX: one round of a, b and SMALL x (c, d, e), order alternating
	local n=$1 p=$2 k x
	if [ $((n % 2)) -eq 1 ]; then
		run_a "$n" "$p${p:+a}"
		run_b "$n" "$p${p:+b}"
	else
		run_b "$n" "$p${p:+b}"
		run_a "$n" "$p${p:+a}"
	fi
	for k in $(seq 1 "$small"); do
		case $(((n + k) % 3)) in
		0) set -- c d e ;;
		1) set -- d e c ;;
		*) set -- e c d ;;
		esac
		for x in "$@"; do
			case $x in
			c) run_c "d$n-$k" "$p${p:+c}" ;;
			d) run_d "$p${p:+d}" ;;
			e) run_e "$p${p:+e}" ;;
			esac
		done
	done
}

load_start=$(bench_loadavg)
echo "spawn.sh: $warmup warm-up rounds, then $runs rounds (a, b alternating; $small x c, d, e each)" >&2
for n in $(seq 1 "$warmup"); do
	round "$((1000 + n))" ""
done
for n in $(seq 1 "$runs"); do
	round "$n" "$samples/"
	printf '.' >&2
done
echo >&2
load_end=$(bench_loadavg)

# Peak memory of one spawn --create (and of the git command it wraps).
rss_a=
rss_b=
rss_c=
if [ -x /usr/bin/time ]; then
	rss() { # rss CMD...: maximum resident set size in KB, as /usr/bin/time -v reports it
		/usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p'
	}
	rss_a=$(rss git agent spawn --create --name m1 "Bench task")
	rss_b=$(rss git worktree add -b bm1 "$wts/wm1" HEAD)
	rss_c=$(rss git agent spawn --name m2 "Bench task")
	rm -rf "$tasks/m2" "$tasks/m2.ini"
	quiet git worktree remove --force "$wts/m1"
	quiet git branch -D agent/m1
	rm -rf "$tasks/m1" "$tasks/m1.ini"
	quiet git worktree remove --force "$wts/wm1"
	quiet git branch -D bm1
fi

bench_host
BENCH_REPO_HEAD=$(git rev-parse HEAD) \
BENCH_REPO_FILES=$(git ls-files | wc -l) \
BENCH_RUNS=$runs BENCH_SMALL=$small BENCH_WARMUP=$warmup \
BENCH_LOAD_START=$load_start BENCH_LOAD_END=$load_end \
BENCH_RSS_A=$rss_a BENCH_RSS_B=$rss_b BENCH_RSS_C=$rss_c \
BENCH_STRICT=${BENCH_STRICT:-0} \
	python3 - "$samples" "$out" "$here" <<'EOF'
import os, sys

samples, out, here = sys.argv[1:4]
sys.path.insert(0, here)
from benchlib import load, summary, paired, machine, write_json, host_line, table

env = os.environ

rows = [("spawn_create", "a", "git agent spawn --create --name t<N> \"Bench task\""),
        ("worktree_add", "b", "git worktree add -b b<N> <dir>/w<N> HEAD"),
        ("spawn_dry_run", "c", "git agent spawn --name d<N> \"Bench task\""),
        ("rev_parse", "d", "git rev-parse HEAD"),
        ("agent_version", "e", "git agent --version")]
res = {}
for key, f, cmd in rows:
    res[key] = summary(load(samples, f))
    res[key]["command"] = cmd
ratio = res["spawn_create"]["median_ms"] / res["worktree_add"]["median_ms"]
# The same ratio taken round by round: less sensitive to load that drifts.
pair = paired(res["spawn_create"], res["worktree_add"])
dry = res["spawn_dry_run"]["median_ms"]
rss = {key: int(env[var]) if env.get(var) else None
       for key, var in (("spawn_create", "BENCH_RSS_A"), ("worktree_add", "BENCH_RSS_B"),
                        ("spawn_dry_run", "BENCH_RSS_C"))}
targets = {"ratio_create_vs_worktree_add_max": 1.10, "dry_run_median_ms_max": 10.0}
met = {"ratio": ratio <= targets["ratio_create_vs_worktree_add_max"],
       "dry_run": dry <= targets["dry_run_median_ms_max"]}

doc = {
    "benchmark": "git agent spawn",
    **machine(env),
    "repository": {"files": int(env["BENCH_REPO_FILES"]), "head": env["BENCH_REPO_HEAD"],
                   "made_by": "bench/make-repo.sh"},
    "rounds": {"measured": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"]),
               "small_per_round": int(env["BENCH_SMALL"])},
    "results": res,
    "ratio_create_vs_worktree_add": round(ratio, 3),
    "ratio_paired_median": round(pair, 3),
    "dry_run_vs_rev_parse_ms": round(dry - res["rev_parse"]["median_ms"], 3),
    "peak_rss_kb": rss if rss["spawn_create"] is not None else None,
    "targets": targets,
    "met": met,
}
write_json(out, doc)

def line(label, key, ratio_txt="", rss_key=None):
    return (label, res[key], [ratio_txt], str(rss[rss_key]) if rss_key else "")
table(36, [line("(a) spawn --create", "spawn_create", f"{ratio:.3f}", "spawn_create"),
           line("(b) git worktree add", "worktree_add", "1.000", "worktree_add"),
           line("(c) spawn (dry run)", "spawn_dry_run", "", "spawn_dry_run"),
           line("(d) git rev-parse HEAD", "rev_parse"),
           line("(e) git agent --version", "agent_version")],
      doc["peak_rss_kb"] is not None)
print()
print(f"ratio (a)/(b) = {ratio:.3f}  (target <= 1.10: {'ok' if met['ratio'] else 'MISSED'});"
      f" median of per-round ratios {pair:.3f}")
print(f"dry run median = {dry:.2f} ms  (target <= 10 ms: {'ok' if met['dry_run'] else 'MISSED'})")
print(host_line(doc))
print(f"wrote {out}")
if env.get("BENCH_STRICT") == "1" and not all(met.values()):
    sys.exit(1)
EOF
