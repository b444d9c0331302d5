#!/bin/bash
# bench/spawn.sh: how much does `git agent spawn` cost over plain git?
#
#   make -C <project> && bench/spawn.sh
#
# Builds a deterministic 20,000-file repository under bench/work/spawn
# (gitignored) with bench/make-repo.sh, or clones BENCH_REPO there, then
# measures, interleaved in one run:
#   (a) git agent spawn --create --name t<N> "Bench task"
#   (b) git worktree add -b b<N> <worktrees>/w<N> HEAD
#   (c) git agent spawn --name d<N> "Bench task"        (dry run)
#   (d) git rev-parse HEAD                              (process start-up floor)
#   (e) git agent --version                             (git + dispatcher floor)
# (a) and (b) alternate their order every round, (c), (d) and (e) rotate;
# each run is followed by an untimed cleanup (worktree remove --force,
# branch -D, task record and folder removed).  The pairs are (a)/(b) and
# (c)/(d).  Prints a table and writes bench/results/spawn.json
# (spawn-real.json with BENCH_REPO).
#
# Environment: RUNS (rounds, default 7, at least 5), SMALL (runs of c, d and
# e per round, default 5), WARMUP (untimed rounds, default 1), FILES
# (repository size, default 20000), BENCH_REPO (a repository to clone and
# measure instead; spawn starts from its HEAD), BENCH_STRICT=1 (exit 1 when
# a target is missed), BENCH_WORK (scratch directory, default bench/work;
# e.g. /dev/shm/agent-bench to take the disk out of the figures; only its
# spawn or spawn-real entry is replaced), BENCH_RESULTS (JSON output).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_setup --repo spawn 7 1 git-agent git-agent-spawn
small=$(bench_num SMALL 5 1)
files=$(bench_num FILES 20000 10)

repo=$dir/repo
wts=$dir/repo-worktrees # spawn's default agent.worktreeDir (../<repo>-worktrees)
if [ "$mode" = real ]; then
	bench_real_repo "$repo"
else
	"$here/make-repo.sh" "$repo" "$files"
	cd "$repo"
fi
tasks=$(git rev-parse --git-common-dir)/agent/tasks
[ -z "$(git status --porcelain)" ] || die "the benchmark repository is not clean"
git agent spawn --name warm "Bench task" >/dev/null # fails early if spawn is broken
rm -rf "$tasks/warm" "$tasks/warm.ini"

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

round() { # round N PREFIX: a and b, order alternating, then SMALL x (c, d, e), rotating
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
			d) measure "$p${p:+d}" git rev-parse HEAD ;;
			e) measure "$p${p:+e}" git agent --version ;;
			esac
		done
	done
}

bench_rounds "(a, b) alternating and $small x (c, d, e) rotating"

bench_host
BENCH_MODE=$mode BENCH_SOURCE=${BENCH_REPO:-} \
BENCH_REPO_HEAD=$(git rev-parse HEAD) \
BENCH_REPO_FILES=$(git ls-files | wc -l) \
BENCH_SMALL=$small BENCH_STRICT=${BENCH_STRICT:-0} \
	bench_report <<'EOF'
import os, sys

samples, out = sys.argv[1:3]
from benchlib import results, pair, machine, write_json, host_line, table

env = os.environ
real = env["BENCH_MODE"] == "real"
res = results(samples, [
    ("spawn_create", "a", "git agent spawn --create --name t<N> \"Bench task\""),
    ("worktree_add", "b", "git worktree add -b b<N> <dir>/w<N> HEAD"),
    ("spawn_dry_run", "c", "git agent spawn --name d<N> \"Bench task\""),
    ("rev_parse", "d", "git rev-parse HEAD"),
    ("agent_version", "e", "git agent --version")])
files = int(env["BENCH_REPO_FILES"])
where = f"{env['BENCH_SOURCE']} ({files} files)" if real else f"{files}-file repository"
pairs = [pair(res, f"spawn --create vs git worktree add, {where}", "spawn_create", "worktree_add"),
         pair(res, f"dry-run spawn vs git rev-parse HEAD, {where}", "spawn_dry_run", "rev_parse")]
create, dry = pairs
targets = {"ratio_create_vs_worktree_add_max": 1.10, "dry_run_median_ms_max": 10.0}
met = {"ratio": create["ratio"] <= targets["ratio_create_vs_worktree_add_max"],
       "dry_run": dry["ours_median_ms"] <= targets["dry_run_median_ms_max"]}

doc = {
    "benchmark": "git agent spawn",
    **machine(env),
    "repository": {"files": files, "head": env["BENCH_REPO_HEAD"],
                   **({"source": env["BENCH_SOURCE"]} if real else {"made_by": "bench/make-repo.sh"})},
    "small_per_round": int(env["BENCH_SMALL"]),
    "results": res,
    "pairs": pairs,
    "dry_run_minus_rev_parse_ms": round(dry["ours_median_ms"] - dry["theirs_median_ms"], 3),
    "targets": targets,
    "met": met,
}
write_json(out, doc)

table(36, [("(a) spawn --create", res["spawn_create"], [f"{create['ratio']:.3f}"]),
           ("(b) git worktree add", res["worktree_add"], ["1.000"]),
           ("(c) spawn (dry run)", res["spawn_dry_run"], [f"{dry['ratio']:.3f}"]),
           ("(d) git rev-parse HEAD", res["rev_parse"], ["1.000"]),
           ("(e) git agent --version", res["agent_version"], [""])])
print()
print(f"{where}: (a)/(b) = {create['ratio']:.3f} (target <= 1.10: {'ok' if met['ratio'] else 'MISSED'});"
      f" median of per-round ratios {create['ratio_paired_median']:.3f}")
print(f"dry run median = {dry['ours_median_ms']:.2f} ms (target <= 10 ms: {'ok' if met['dry_run'] else 'MISSED'}),"
      f" {doc['dry_run_minus_rev_parse_ms']:.2f} ms over git rev-parse HEAD; (c)/(d) = {dry['ratio']:.2f}")
print(host_line(doc))
print(f"wrote {out}")
if env.get("BENCH_STRICT") == "1" and not all(met.values()):
    sys.exit(1)
EOF
