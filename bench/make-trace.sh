#!/bin/sh
# make-trace.sh DIR [EVENTS [TASKS]]
#
# Create a small git repository at DIR whose event log
# <common-dir>/agent/trace.jsonl holds a deterministic, realistic trace of
# EVENTS events (default 1,000,000, 266 MB) for TASKS tasks (default
# 20,000, named task-00001-<title words> ...), over 30 days: the events
# git-agent itself writes (task.planned, worktree.created, setup.done,
# check.passed/failed, review.recorded, verdict.*, merge.*, worktree.removed,
# branch.deleted, spawn.failed, setup.failed), with the same fields in the
# same order and the same compact JSON, plus the agents' own
# `git agent trace --emit` events.  `git agent trace` run in DIR reads it.
#
# The events come from bench/tracegen.c (built here with cc; under 2 s for
# the default size): a fixed-seed generator, so the file is the same on every
# run (sha256 4d3843ee... for the defaults with glibc's libm).  The repository
# has one commit with a fixed author and date.
#
# If DIR already exists (file, directory or anything else) the script REFUSES
# and exits 1 without touching it; remove it yourself (bench/trace.sh does).
set -eu

usage() {
	echo "usage: make-trace.sh DIR [EVENTS [TASKS]]" >&2
	exit 129
}

if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
dir=$1
events=${2:-1000000}
tasks=${3:-20000}
for v in "$events" "$tasks"; do
	case $v in
	'' | *[!0-9]*) echo "make-trace.sh: EVENTS and TASKS must be numbers, got '$v'" >&2; exit 129 ;;
	esac
done
if [ "$tasks" -lt 1 ] || [ "$tasks" -gt 99999 ] || [ "$events" -lt $((3 * tasks)) ]; then
	echo "make-trace.sh: need 1 <= TASKS <= 99999 and EVENTS >= 3 x TASKS" >&2
	exit 129
fi
if [ -e "$dir" ] || [ -L "$dir" ]; then
	echo "make-trace.sh: '$dir' already exists; refusing to touch it" >&2
	exit 1
fi
command -v cc >/dev/null || { echo "make-trace.sh: a C compiler (cc) is needed" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/make-trace.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cc -O2 -o "$tmp/tracegen" "$here/tracegen.c" -lm

# The repository: one commit, fixed identity and dates, no user configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME='Bench Author' GIT_AUTHOR_EMAIL='bench@example.com'
export GIT_COMMITTER_NAME='Bench Author' GIT_COMMITTER_EMAIL='bench@example.com'
export GIT_AUTHOR_DATE='2026-10-21T09:00:00Z' GIT_COMMITTER_DATE='2026-10-21T09:00:00Z'
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_OBJECT_DIRECTORY
git init -q "$dir"
git -C "$dir" symbolic-ref HEAD refs/heads/main
printf '%s\n' '# shop' '' 'The repository of bench/make-trace.sh: its trace is the point.' >"$dir/README.md"
git -C "$dir" add README.md
git -C "$dir" commit -q -m 'Initial commit'

common=$(cd "$dir" && cd "$(git rev-parse --git-common-dir)" && pwd)
mkdir -p "$common/agent"
"$tmp/tracegen" "$events" "$tasks" >"$common/agent/trace.jsonl.tmp"
mv "$common/agent/trace.jsonl.tmp" "$common/agent/trace.jsonl"
echo "make-trace.sh: $common/agent/trace.jsonl: $events events, $tasks tasks," \
	"$(wc -c <"$common/agent/trace.jsonl") bytes" >&2
