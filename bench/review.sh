#!/bin/bash
# bench/review.sh: how much does `git agent review` cost over the git it replaces?
#
#   make -C <project> git-agent git-agent-spawn git-agent-review && bench/review.sh
#
# Builds a deterministic 10,000-file repository under bench/work/review/
# (gitignored) with bench/make-repo.sh, spawns the task t, and commits on
# agent/t a change of CHANGED files (one line edited in each), 200 new files,
# 200 deleted (3 of them binary), 100 renamed (with a small edit) and 50 made
# executable, then leaves 2 uncommitted edits and 1 untracked file.  It then
# measures, interleaved in one run:
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
# Prints a table and writes bench/results/review.json.
#
# Environment: RUNS (rounds, default 11, at least 5), WARMUP (untimed rounds,
# default 2), FILES (repository size, default 10000), CHANGED (files edited
# by the task, default 3000), BENCH_STRICT=1 (exit 1 when the target is
# missed), BENCH_WORK (scratch directory, default bench/work; only its
# review entry is replaced), BENCH_RESULTS (JSON output, default
# bench/results/review.json).
# A real repository instead of the generated one: BENCH_REPO=<path to a git
# repository> BENCH_RANGE=<base>..<tip>.  The repository is cloned into the
# work directory (the original is only read), the task is spawned with
# --base <base>, and its worktree is reset to <tip>.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bench_name=review.sh
work=${BENCH_WORK:-$here/work}
out=${BENCH_RESULTS:-$here/results/review.json}
case $work in /*) ;; *) work=$PWD/$work ;; esac
case $out in /*) ;; *) out=$PWD/$out ;; esac
runs=${RUNS:-11}
warmup=${WARMUP:-2}
files=${FILES:-10000}
changed=${CHANGED:-3000}
src=${BENCH_REPO:-}
range=${BENCH_RANGE:-}
. "$here/lib.sh"

for v in "$runs" "$warmup" "$files" "$changed"; do
	case $v in '' | *[!0-9]*) die "RUNS, WARMUP, FILES and CHANGED must be numbers" ;; esac
done
[ "$runs" -ge 5 ] || die "RUNS must be at least 5 (got $runs)"
[ "$changed" -ge 1 ] || die "CHANGED must be at least 1"
if [ -n "$src" ] || [ -n "$range" ]; then
	if [ -z "$src" ] || [ -z "$range" ]; then die "BENCH_REPO and BENCH_RANGE go together"; fi
	case $range in
	*...* | ..* | *.. | *..*..*) die "BENCH_RANGE must be <base>..<tip> (got '$range')" ;;
	*..*) ;;
	*) die "BENCH_RANGE must be <base>..<tip> (got '$range')" ;;
	esac
	case $src in /*) ;; *) src=$PWD/$src ;; esac
	git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || die "BENCH_REPO '$src' is not a git repository"
fi
for exe in git-agent git-agent-spawn git-agent-review; do
	[ -x "$root/$exe" ] ||
		die "$root/$exe is missing: run 'make -C $root git-agent git-agent-spawn git-agent-review' first"
done
command -v python3 >/dev/null || die "python3 is needed to compute the medians"
command -v cc >/dev/null || die "a C compiler (cc) is needed for the timer"

dir=$work/review # everything this script makes, and nothing else
bench_env "$dir/home"
for exe in git-agent-spawn git-agent-review; do
	[ "$(command -v "$exe")" = "$root/$exe" ] ||
		die "$exe resolves to $(command -v "$exe"), not $root/$exe"
done

repo=$dir/repo # spawn puts the task worktree in ../repo-worktrees/t
samples=$dir/samples
bout=$dir/b-out # (b)'s outputs
bsh=$dir/b.sh
esh=$dir/empty.sh
log=$dir/last.log

# Start from scratch; remove only what this script makes.
rm -rf "${dir:?}"
mkdir -p "$HOME" "$samples" "$bout" "$(dirname "$out")"
bench_timer "$dir"

quiet() { # run a setup step; show its output only when it fails
	"$@" >"$dir/step.log" 2>&1 || {
		cat "$dir/step.log" >&2
		die "failed: $*"
	}
}

# Fixed identity and dates for the workload commit (same ids on every run).
GIT_AUTHOR_NAME='Bench Author'
GIT_AUTHOR_EMAIL='bench@example.com'
GIT_COMMITTER_NAME='Bench Author'
GIT_COMMITTER_EMAIL='bench@example.com'
GIT_AUTHOR_DATE='2024-01-05T12:00:00Z'
GIT_COMMITTER_DATE='2024-01-05T12:00:00Z'
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_AUTHOR_DATE GIT_COMMITTER_DATE

if [ -z "$src" ]; then
	mode=synthetic
	"$here/make-repo.sh" "$repo" "$files"
	cd "$repo"
	base=main
else
	mode=real
	base=${range%%..*}
	tip=${range#*..}
	base_sha=$(git -C "$src" rev-parse --verify -q "$base^{commit}") ||
		die "'$base' is not a commit in $src"
	tip_sha=$(git -C "$src" rev-parse --verify -q "$tip^{commit}") ||
		die "'$tip' is not a commit in $src"
	echo "review.sh: cloning $src" >&2
	quiet git clone -q "$src" "$repo"
	cd "$repo"
	# Commits reachable only from other refs of the original (its remote
	# branches, say) come in a second fetch.
	if ! git cat-file -e "$base_sha^{commit}" 2>/dev/null || ! git cat-file -e "$tip_sha^{commit}" 2>/dev/null; then
		quiet git fetch -q --no-tags "$src" '+refs/*:refs/bench-src/*'
	fi
	git cat-file -e "$base_sha^{commit}" 2>/dev/null || die "the clone lacks $base ($base_sha)"
	git cat-file -e "$tip_sha^{commit}" 2>/dev/null || die "the clone lacks $tip ($tip_sha)"
	# --base <base> as given when the clone resolves it the same way (a branch
	# that is the default, a tag, a commit id); else a local branch at it.
	if [ "$(git rev-parse --verify -q "$base^{commit}" || :)" != "$base_sha" ]; then
		echo "review.sh: '$base' names another commit in the clone, or none: the base is the branch bench-base at $base_sha" >&2
		base=bench-base
		git branch -f "$base" "$base_sha"
	fi
	git config user.name "$GIT_AUTHOR_NAME"
	git config user.email "$GIT_AUTHOR_EMAIL"
	git config gc.auto 0
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

load_start=$(bench_loadavg)
echo "review.sh: $warmup warm-up rounds, then $runs rounds (a, b alternating, then c)" >&2
for n in $(seq 1 "$warmup"); do
	round "$n" ""
done
for n in $(seq 1 "$runs"); do
	round "$n" "$samples/"
	printf '.' >&2
done
echo >&2
load_end=$(bench_loadavg)

# Peak memory of one run of each, outside the timed loop.
rss_a=
rss_b=
if [ -x /usr/bin/time ]; then
	rss() { # rss CMD...: maximum resident set size in KB, as /usr/bin/time -v reports it
		/usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p'
	}
	rss_a=$(rss git agent review t)
	r=$(round_dir)
	rm -rf "$r"
	rss_b=$(rss sh "$bsh")
	rm -f "$bout/diff.patch" "$bout/diffstat.txt" "$bout/status.txt"
fi

bench_host
BENCH_MODE=$mode \
BENCH_SOURCE=$src BENCH_RANGE_SPEC=$range \
BENCH_BASE=$base BENCH_MERGE_BASE=$mb BENCH_TIP=$head_a \
BENCH_REPO_FILES=$(git ls-files | wc -l) \
BENCH_TASK_FILES=$(git -C "$wt" ls-files | wc -l) \
BENCH_CHANGED=$changed BENCH_COMMITS=$commits \
BENCH_STAT_SUMMARY=$stat_summary BENCH_STATUS_LINES=$status_lines \
BENCH_PATCH_A=$patch_a BENCH_PATCH_B=$patch_b BENCH_PATCH_SAME=$patch_same \
BENCH_RUNS=$runs BENCH_WARMUP=$warmup \
BENCH_LOAD_START=$load_start BENCH_LOAD_END=$load_end \
BENCH_RSS_A=$rss_a BENCH_RSS_B=$rss_b \
BENCH_STRICT=${BENCH_STRICT:-0} \
	python3 - "$samples" "$out" "$here" <<'EOF'
import os, sys

samples, out, here = sys.argv[1:4]
sys.path.insert(0, here)
from benchlib import load, summary, paired, machine, write_json, host_line, table

env = os.environ

base = env["BENCH_BASE"]
rows = [("review", "a", "git agent review t"),
        ("git_diff_stat_patch_status", "b",
         f"sh b.sh: git diff --stat=80 {base}...agent/t; "
         f"git diff --binary --full-index {base}...agent/t; "
         "git -C <task worktree> status --porcelain"),
        ("sh_start", "c", "sh empty.sh")]
res = {}
for key, f, cmd in rows:
    res[key] = summary(load(samples, f))
    res[key]["command"] = cmd
ratio = res["review"]["median_ms"] / res["git_diff_stat_patch_status"]["median_ms"]
# The same ratio taken round by round: less sensitive to load that drifts.
pair = paired(res["review"], res["git_diff_stat_patch_status"])
rss = {key: int(env[var]) if env.get(var) else None
       for key, var in (("review", "BENCH_RSS_A"), ("git_diff_stat_patch_status", "BENCH_RSS_B"))}
targets = {"ratio_review_vs_git_max": 1.0}
met = {"ratio": ratio <= targets["ratio_review_vs_git_max"]}

synthetic = env["BENCH_MODE"] == "synthetic"
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
    "repository": {"files": int(env["BENCH_REPO_FILES"]),
                   "files_at_tip": int(env["BENCH_TASK_FILES"])},
    "workload": workload,
    "rounds": {"measured": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"])},
    "results": res,
    "ratio_review_vs_git": round(ratio, 3),
    "ratio_paired_median": round(pair, 3),
    "peak_rss_kb": rss if rss["review"] is not None else None,
    "targets": targets,
    "met": met,
}
write_json(out, doc)

def line(label, key, ratio_txt=""):
    return (label, res[key], [ratio_txt], rss[key] if key in rss else "")
table(44, [line("(a) git agent review t", "review", f"{ratio:.3f}"),
           line("(b) git diff --stat, diff --binary, status", "git_diff_stat_patch_status", "1.000"),
           line("(c) sh empty.sh (in b: one sh start)", "sh_start")],
      doc["peak_rss_kb"] is not None, strip=True)
print()
print(f"ratio (a)/(b) = {ratio:.3f}  (target <= 1.0: {'ok' if met['ratio'] else 'MISSED'});"
      f" median of per-round ratios {pair:.3f}")
what = (f"{doc['repository']['files']} files, {env['BENCH_CHANGED']} edited + 200 new, 200 deleted, "
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
