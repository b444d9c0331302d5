#!/bin/bash
# bench/review.sh: how much does `git agent review` cost over the git it replaces?
#
#   make -C <project> git-agent git-agent-spawn git-agent-review && bench/review.sh
#
# Builds a deterministic 20,000-file repository under bench/work/review/
# (gitignored) with bench/make-repo.sh, spawns the task t, and commits on
# agent/t a change of CHANGED files (default 5,000: one line edited in each),
# 200 new files, 200 deleted (3 of them binary), 100 renamed (with a small
# edit) and 50 made executable, then leaves 2 uncommitted edits and 1
# untracked file.  It then measures, interleaved in one run:
#   (a) git agent review t          (one evidence round, no checks)
#   (b) sh b.sh, where b.sh runs back to back, outputs to files:
#         git diff --stat=80 main...agent/t
#         git diff --binary --full-index main...agent/t
#         git -C <task worktree> status --porcelain
#   (c) sh empty.sh                 (the sh start that (b) pays on top)
# (a) and (b) alternate their order every round, (c) follows them.  Each
# run of (a) must leave a round <common-dir>/agent/tasks/t/review/NN with a
# non-empty diff.patch; it is removed after the run, untimed.  Before measuring, the round's
# diffstat.txt and status.txt must equal (b)'s outputs byte for byte.
# Prints a table and writes bench/results/review.json (review-real.json
# with BENCH_REPO).
#
# Environment: RUNS (rounds, default 7, at least 5), WARMUP (untimed rounds,
# default 1), FILES (repository size, default 20000), CHANGED (files edited
# by the task, default 5000), BENCH_STRICT=1 (exit 1 when the target is
# missed), BENCH_WORK (scratch directory, default bench/work; only its
# review or review-real entry is replaced), BENCH_RESULTS (JSON output).
# A real repository instead of the generated one: BENCH_REPO=<path to a git
# repository> BENCH_RANGE=<base>..<tip>.  The repository is cloned into the
# work directory (the original is only read), the task is spawned with
# --base <base>, and its worktree is reset to <tip>.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if [ -n "${BENCH_REPO:-}" ] && [ -z "${BENCH_RANGE:-}" ]; then die "BENCH_REPO needs BENCH_RANGE=<base>..<tip>"; fi
bench_setup --repo review 7 1 git-agent git-agent-spawn git-agent-review
files=$(bench_num FILES 20000 10)
changed=$(bench_num CHANGED 5000 1)

repo=$dir/repo # spawn puts the task worktree in ../repo-worktrees/t
bout=$dir/b-out # (b)'s outputs
bsh=$dir/b.sh
esh=$dir/empty.sh
mkdir -p "$bout"

bench_identity # for the workload commit
if [ "$mode" = synthetic ]; then
	"$here/make-repo.sh" "$repo" "$files"
	cd "$repo"
	base=main
else
	bench_real_repo "$repo"
	# --base <base> as given when the clone resolves it the same way (a branch
	# that is the default, a tag, a commit id); else a local branch at it.
	if [ "$(git rev-parse --verify -q "$base^{commit}" || :)" != "$base_sha" ]; then
		echo "review.sh: '$base' names another commit in the clone, or none: the base is the branch bench-base at $base_sha" >&2
		base=bench-base
		git branch -f "$base" "$base_sha"
	fi
	git config user.name "$GIT_AUTHOR_NAME"
	git config user.email "$GIT_AUTHOR_EMAIL"
fi
gitdir=$(cd "$(git rev-parse --git-common-dir)" && pwd)
tasks=$gitdir/agent/tasks
[ -z "$(git status --porcelain)" ] || die "the benchmark repository is not clean"

if [ "$mode" = synthetic ]; then
	quiet git agent spawn --create --name t 'Bench review'
else
	quiet git agent spawn --create --base "$base" --name t 'Bench review'
fi
wt=$(git worktree list --porcelain | awk '
	/^worktree / { w = substr($0, 10) }
	$0 == "branch refs/heads/agent/t" { print w }')
if [ -z "$wt" ] || ! [ -d "$wt" ]; then die "spawn --create did not make a worktree for agent/t"; fi
[ -f "$tasks/t.ini" ] || die "spawn --create did not write $tasks/t.ini"

if [ "$mode" = real ]; then
	quiet git -C "$wt" reset --hard "$tip_sha"
else
	# The task's work, in the task worktree.  The plan comes from the sorted
	# list of tracked text files: a fixed permutation (j * p mod T) spreads
	# CHANGED edits, 197 deletions, 100 renames and 50 mode changes over the
	# tree; 3 binary files are deleted too, so the patch has binary hunks.
	cd "$wt"
	git ls-files | grep -v -e '\.png$' -e '^\.gitignore$' -e '^CHANGELOG\.md$' >"$dir/text-files"
	git ls-files '*.png' | head -n 3 >"$dir/plan-bin"
	eligible=$(wc -l <"$dir/text-files")
	[ $((changed + 347)) -le "$eligible" ] ||
		die "CHANGED=$changed is too large: the repository has $eligible text files, so CHANGED can be $((eligible - 347)) at most (or raise FILES)"
	[ "$(wc -l <"$dir/plan-bin")" -eq 3 ] || die "the repository has fewer than 3 binary files"
	awk -v changed="$changed" -v n="$eligible" -v plan="$dir/plan" '
	function gcd(a, b,  t) { while (b) { t = b; b = a % b; a = t } return a }
	{ F[NR - 1] = $0 }
	END {
		total = changed + 347
		p = 7919; while (gcd(p, total) != 1) p += 2
		for (j = 0; j < total; j++) {
			f = F[int(j * n / total)]
			c = (j * p) % total
			if (c < changed) print "M\t" f > plan
			else if (c < changed + 197) print "D\t" f > plan
			else if (c < changed + 297) print "R\t" f > plan
			else print "X\t" f > plan
		}
	}' "$dir/text-files"
	awk -F'\t' '$1 == "M" { print $2 }' "$dir/plan" >"$dir/plan-m"
	awk -F'\t' '$1 == "D" { print $2 }' "$dir/plan" >"$dir/plan-d"
	awk -F'\t' '$1 == "R" { print $2 }' "$dir/plan" >"$dir/plan-r"
	awk -F'\t' '$1 == "X" { print $2 }' "$dir/plan" >"$dir/plan-x"
	# Edit the middle line of each file, in one awk.
	awk '{
		f = $0; k = 0
		while ((getline line < f) > 0) L[++k] = line
		close(f)
		m = int((k + 1) / 2); L[m] = L[m] " (bench edit)"
		for (i = 1; i <= k; i++) printf "%s\n", L[i] > f
		close(f)
	}' "$dir/plan-m"
	xargs rm -f -- <"$dir/plan-bin"
	xargs rm -f -- <"$dir/plan-d"
	j=0
	while IFS= read -r f; do
		j=$((j + 1))
		case ${f##*/} in
		*.*) new="${f%.*}_moved$j.${f##*.}" ;;
		*) new="${f}_moved$j" ;;
		esac
		mv -- "$f" "$new"
		printf '%s\n' "renamed by bench ($j)" >>"$new"
	done <"$dir/plan-r"
	xargs chmod +x -- <"$dir/plan-x"
	# 200 new files, next to edited ones.
	head -n 200 "$dir/plan-m" | awk '{
		d = $0; sub(/\/[^\/]*$/, "", d); if (d == $0) d = "."
		f = d "/bench_new_" NR ".c"
		for (i = 1; i <= 10 + NR % 50; i++)
			printf "int bench_new_%d_%d = %d; /* new file %d, line %d */\n", NR, i, i * NR, NR, i > f
		close(f)
	}'
	quiet git add -A
	quiet git commit -q -m 'Bench review workload'
	# Uncommitted work, so that the status has something to say.
	head -n 2 "$dir/plan-m" | while IFS= read -r f; do
		printf '%s\n' "uncommitted bench edit" >>"$f"
	done
	printf '%s\n' "untracked bench file" >bench-untracked.txt
	cd "$repo"
fi
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
[ -n "$(git -C "$wt" status --porcelain)" ] || [ "$mode" = real ] ||
	die "the task worktree has no uncommitted changes"

# (b): the three git commands that review replaces, in one small script.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo '#!/bin/sh'
	echo '# (b) of bench/review.sh: what git agent review replaces, back to back.'
	echo 'set -e'
	echo "git diff --stat=80 $(q "$base...agent/t") >$(q "$bout/diffstat.txt")"
	echo "git diff --binary --full-index $(q "$base...agent/t") >$(q "$bout/diff.patch")"
	echo "git -C $(q "$wt") status --porcelain >$(q "$bout/status.txt")"
} >"$bsh"
echo '#!/bin/sh' >"$esh"

round_dir() { # the one round under $tasks/t/review, or die
	local r n=0 found=
	for r in "$tasks/t/review"/[0-9]*; do
		[ -d "$r" ] || continue
		n=$((n + 1))
		found=$r
	done
	[ "$n" -eq 1 ] || die "expected one review round under $tasks/t/review, found $n"
	[ -s "$found/diff.patch" ] || die "review round $found has no diff.patch, or an empty one"
	echo "$found"
}

run_a() { # run_a OUT [KEEP]
	local r
	measure "$1" git agent review t
	r=$(round_dir)
	if [ -z "${2:-}" ]; then rm -rf "$r"; fi
}

run_b() { # run_b OUT [KEEP]
	measure "$1" sh "$bsh"
	if ! [ -s "$bout/diff.patch" ] || ! [ -f "$bout/diffstat.txt" ] || ! [ -f "$bout/status.txt" ]; then
		die "(b) did not write its outputs in $bout"
	fi
	if [ -z "${2:-}" ]; then rm -f "$bout/diff.patch" "$bout/diffstat.txt" "$bout/status.txt"; fi
}

# Once, before measuring: review and git must agree.
run_a "" keep
run_b "" keep
r=$(round_dir)
cmp "$r/diffstat.txt" "$bout/diffstat.txt" >&2 ||
	die "diffstat.txt of review differs from 'git diff --stat=80 $base...agent/t' (see $r and $bout)"
cmp "$r/status.txt" "$bout/status.txt" >&2 ||
	die "status.txt of review differs from 'git status --porcelain' (see $r and $bout)"
patch_a=$(wc -c <"$r/diff.patch")
patch_b=$(wc -c <"$bout/diff.patch")
patch_same=false
if cmp -s "$r/diff.patch" "$bout/diff.patch"; then patch_same=true; fi
stat_summary=$(tail -n 1 "$bout/diffstat.txt" | sed 's/^ *//')
status_lines=$(wc -l <"$bout/status.txt")
commits=$(git rev-list --count "$base..agent/t")
head_a=$(git rev-parse agent/t)
mb=$(git merge-base "$base" agent/t)
rm -rf "$r"
rm -f "$bout/diff.patch" "$bout/diffstat.txt" "$bout/status.txt"
echo "review.sh: $stat_summary; patch $patch_a bytes; $status_lines status lines" >&2

round() { # round N PREFIX: a and b, order alternating
	if [ $(($1 % 2)) -eq 1 ]; then
		run_a "$2${2:+a}"
		run_b "$2${2:+b}"
	else
		run_b "$2${2:+b}"
		run_a "$2${2:+a}"
	fi
	measure "$2${2:+c}" sh "$esh"
}

bench_rounds "(a, b) alternating, then (c)"

bench_host
BENCH_MODE=$mode \
BENCH_SOURCE=${BENCH_REPO:-} BENCH_RANGE_SPEC=${BENCH_RANGE:-} \
BENCH_BASE=$base BENCH_MERGE_BASE=$mb BENCH_TIP=$head_a \
BENCH_REPO_FILES=$(git ls-files | wc -l) \
BENCH_TASK_FILES=$(git -C "$wt" ls-files | wc -l) \
BENCH_CHANGED=$changed BENCH_COMMITS=$commits \
BENCH_STAT_SUMMARY=$stat_summary BENCH_STATUS_LINES=$status_lines \
BENCH_PATCH_A=$patch_a BENCH_PATCH_B=$patch_b BENCH_PATCH_SAME=$patch_same \
BENCH_STRICT=${BENCH_STRICT:-0} \
	bench_report <<'EOF'
import os, sys

samples, out = sys.argv[1:3]
from benchlib import results, pair, machine, write_json, host_line, table

env = os.environ
base = env["BENCH_BASE"]
synthetic = env["BENCH_MODE"] == "synthetic"
res = results(samples, [
    ("review", "a", "git agent review t"),
    ("git_diff_stat_patch_status", "b",
     f"sh b.sh: git diff --stat=80 {base}...agent/t; "
     f"git diff --binary --full-index {base}...agent/t; "
     "git -C <task worktree> status --porcelain"),
    ("sh_start", "c", "sh empty.sh")])
files = int(env["BENCH_REPO_FILES"])
where = (f"{files}-file repository, {env['BENCH_CHANGED']} files edited" if synthetic else
         f"{env['BENCH_SOURCE']} {env['BENCH_RANGE_SPEC']}")
p = pair(res, f"review vs git diff --stat + diff --binary + status, {where}",
         "review", "git_diff_stat_patch_status")
targets = {"ratio_review_vs_git_max": 1.0}
met = {"ratio": p["ratio"] <= targets["ratio_review_vs_git_max"]}

workload = {
    "mode": env["BENCH_MODE"],
    "base": base, "merge_base": env["BENCH_MERGE_BASE"], "tip": env["BENCH_TIP"],
    "commits": int(env["BENCH_COMMITS"]),
    "diffstat_summary": env["BENCH_STAT_SUMMARY"],
    "status_lines": int(env["BENCH_STATUS_LINES"]),
    "patch_bytes_review": int(env["BENCH_PATCH_A"]),
    "patch_bytes_git": int(env["BENCH_PATCH_B"]),
    "patch_identical": env["BENCH_PATCH_SAME"] == "true",
}
if synthetic:
    workload.update({"made_by": "bench/make-repo.sh", "changed": int(env["BENCH_CHANGED"]),
                     "added": 200, "deleted": 200, "deleted_binary": 3, "renamed": 100,
                     "mode_changed": 50, "uncommitted": "2 edits, 1 untracked file"})
else:
    workload.update({"source": env["BENCH_SOURCE"], "range": env["BENCH_RANGE_SPEC"]})

doc = {
    "benchmark": "git agent review",
    **machine(env),
    "repository": {"files": files, "files_at_tip": int(env["BENCH_TASK_FILES"])},
    "workload": workload,
    "results": res,
    "pairs": [p],
    "targets": targets,
    "met": met,
}
write_json(out, doc)

table(44, [("(a) git agent review t", res["review"], [f"{p['ratio']:.3f}"]),
           ("(b) git diff --stat, diff --binary, status", res["git_diff_stat_patch_status"], ["1.000"]),
           ("(c) sh empty.sh (in b: one sh start)", res["sh_start"], [""])])
print()
print(f"ratio (a)/(b) = {p['ratio']:.3f}  (target <= 1.0: {'ok' if met['ratio'] else 'MISSED'});"
      f" median of per-round ratios {p['ratio_paired_median']:.3f}")
what = (f"{files} files, {env['BENCH_CHANGED']} edited + 200 new, 200 deleted, "
        f"100 renamed, 50 mode changes" if synthetic else
        f"{env['BENCH_SOURCE']} {env['BENCH_RANGE_SPEC']}, {doc['repository']['files_at_tip']} files at the tip")
print(f"workload: {what}; {workload['diffstat_summary']}; "
      f"patch {workload['patch_bytes_review']} bytes"
      f"{'' if workload['patch_identical'] else ' (git: ' + str(workload['patch_bytes_git']) + ')'}"
      f"; {workload['status_lines']} status lines")
print(host_line(doc))
print(f"wrote {out}")
if env.get("BENCH_STRICT") == "1" and not all(met.values()):
    sys.exit(1)
EOF
