# bash completion for git-agent(1), git-agent-spawn(1), git-agent-review(1),
# git-agent-trace(1) -*- sh -*-
#
# This file is an extension of git's own bash completion: it defines
# _git_agent, which git's completion calls for `git agent ...`, and
# _git_agent_spawn, _git_agent_review and _git_agent_trace for
# `git agent-spawn ...`, `git agent-review ...` and `git agent-trace ...`.  It uses git's helper functions (__gitcomp,
# __git_complete_refs, ...), so git's completion must be loaded; git's
# completion loads this file itself when it is installed as
# <completionsdir>/git-agent (bash-completion's lazy loader), or source it
# after git's completion script (git-completion.bash).
#
# Install: share/bash-completion/completions/git-agent

# cur, prev, words and cword are set by git's completion (__git_func_wrap).
# shellcheck disable=SC2154

# The options of `git agent spawn`; those that take an argument end in `=`
# (as git's own completion lists them), so that `--base=<TAB>` goes on
# completing the argument.
__git_agent_spawn_options="
	--create --dry-run --base= --fetch --no-fetch --agent= --name= --out=
	--message= --file= --scope= --step= --check= --allow-dirty --keep-failed
	--run --wait --timeout= --from= --jobs= --json --help
"

# The options of `git agent review`, of every mode; --request-changes takes
# its text only as --request-changes=<text>, so it is listed without `=` (as
# git lists options whose argument is optional).
__git_agent_review_options="
	--check= --stat-width= --json --merge --style= --keep --allow-out-of-scope
	--request-changes --abandon --force --keep-branch --help
"

# The options of `git agent trace`, of every mode; --color takes its value
# only as --color=<when>, so it is listed without `=`.
__git_agent_trace_options="
	--event= --since= --until= --agent= --grep= --max-count= --json --follow
	--color --no-color --no-pager --tasks --emit= --message= --field= --task=
	--help
"

# The events git agent writes (see EVENTS in git-agent-trace(1)).
__git_agent_trace_events="
	task.planned worktree.created setup.done setup.failed spawn.failed
	agent.started agent.exited review.recorded check.passed check.failed
	verdict.merge verdict.changes verdict.abandon merge.done merge.failed
	merge.refused worktree.removed branch.deleted
"

# Offer nothing at all: no candidates and no fall-back to file names (git
# registers its completion with -o bashdefault -o default).
__git_agent_complete_nothing ()
{
	COMPREPLY=()
	compopt +o default +o bashdefault 2>/dev/null
	return 0
}

# Complete path names.
# 1: -f for files and directories, -d for directories only.
# 2: the (partial) path to complete.
__git_agent_complete_paths ()
{
	local path

	COMPREPLY=()
	while IFS= read -r path; do
		COMPREPLY+=("$path")
	done < <(compgen "$1" -- "$2")
	# Quote the names, mark directories with a slash, and add a space
	# after a complete file name (git's completion sets -o nospace).
	compopt -o filenames +o nospace 2>/dev/null
	return 0
}

# usage: git agent spawn [<options>] <title>...
_git_agent_spawn ()
{
	case "$prev" in
	--base)
		__git_complete_refs
		return
		;;
	--agent|--name|-m|--message|--step|--check|-j|--jobs|--timeout)
		__git_agent_complete_nothing
		return
		;;
	--out)
		__git_agent_complete_paths -d "$cur"
		return
		;;
	-F|--file|--scope|--from)
		__git_agent_complete_paths -f "$cur"
		return
		;;
	esac

	case "$cur" in
	--base=*)
		__git_complete_refs --cur="${cur#*=}"
		;;
	--agent=*|--name=*|--message=*|--step=*|--check=*|--jobs=*|--timeout=*|--run=*)
		__git_agent_complete_nothing
		;;
	--out=*)
		__git_agent_complete_paths -d "${cur#*=}"
		;;
	--file=*|--scope=*|--from=*)
		__git_agent_complete_paths -f "${cur#*=}"
		;;
	--*)
		__gitcomp "$__git_agent_spawn_options"
		;;
	-*)
		__gitcomp "-m -F -j -h $__git_agent_spawn_options"
		;;
	*)
		# The title: free text.
		__git_agent_complete_nothing
		;;
	esac
}

# Complete the names of the tasks: the task records
# <git-common-dir>/agent/tasks/<slug>.ini.
# 1: the (partial) name to complete.
__git_agent_complete_tasks ()
{
	local dir record tasks=""

	dir="$(__git rev-parse --path-format=absolute --git-common-dir)"
	[ -n "$dir" ] || dir="$(__git rev-parse --git-common-dir)"
	if [ -n "$dir" ]; then
		for record in "$dir"/agent/tasks/*.ini; do
			[ -f "$record" ] || continue
			record="${record##*/}"
			tasks+="${record%.ini}"$'\n'
		done
	fi
	if [ -z "$tasks" ]; then
		__git_agent_complete_nothing
		return
	fi
	__gitcomp_nl "$tasks" "" "$1"
}

# usage: git agent review [<task>] [<options>]
# 1: the index in words of `review` (default: of `agent-review`, the command).
_git_agent_review ()
{
	local i=$((${1:-${__git_cmd_idx:-1}} + 1)) word

	case "$prev" in
	--style)
		__gitcomp "merge ff squash"
		return
		;;
	--check|--stat-width)
		__git_agent_complete_nothing
		return
		;;
	esac

	case "$cur" in
	--style=*)
		__gitcomp "merge ff squash" "" "${cur#*=}"
		;;
	--check=*|--stat-width=*|--request-changes=*)
		__git_agent_complete_nothing
		;;
	--*)
		__gitcomp "$__git_agent_review_options"
		;;
	-*)
		__gitcomp "-h $__git_agent_review_options"
		;;
	*)
		# The first word that is neither an option nor an option's
		# argument is the task; there is nothing after it.
		while [ "$i" -lt "$cword" ]; do
			word="${words[i]}"
			case "$word" in
			--check|--stat-width|--style)
				i=$((i + 1))
				;;
			-*)
				;;
			*)
				__git_agent_complete_nothing
				return
				;;
			esac
			i=$((i + 1))
		done
		__git_agent_complete_tasks "$cur"
		;;
	esac
}

# usage: git agent trace [<task>...] [<options>]
#    or: git agent trace --tasks [<task>...] [<options>]
#    or: git agent trace --emit <event> [<options>]
# 1: the index in words of `trace` (default: of `agent-trace`, the command).
_git_agent_trace ()
{
	local i=$((${1:-${__git_cmd_idx:-1}} + 1))

	case "$prev" in
	-e|--event)
		__gitcomp "$__git_agent_trace_events"
		return
		;;
	--task)
		__git_agent_complete_tasks "$cur"
		return
		;;
	--since|--until|--agent|--grep|-n|--max-count|--emit|-m|--message|--field)
		__git_agent_complete_nothing
		return
		;;
	esac

	case "$cur" in
	--event=*)
		__gitcomp "$__git_agent_trace_events" "" "${cur#*=}"
		;;
	--task=*)
		__git_agent_complete_tasks "${cur#*=}"
		;;
	--color=*)
		__gitcomp "always never auto" "" "${cur#*=}"
		;;
	--since=*|--until=*|--agent=*|--grep=*|--max-count=*|--emit=*|--message=*|--field=*)
		__git_agent_complete_nothing
		;;
	--*)
		__gitcomp "$__git_agent_trace_options"
		;;
	-*)
		__gitcomp "-e -n -f -m -h $__git_agent_trace_options"
		;;
	*)
		# Tasks, as many as wanted; an emitted event takes none.
		while [ "$i" -lt "$cword" ]; do
			case "${words[i]}" in
			--emit|--emit=*)
				__git_agent_complete_nothing
				return
				;;
			esac
			i=$((i + 1))
		done
		__git_agent_complete_tasks "$cur"
		;;
	esac
}

# usage: git agent <command> [<args>]
_git_agent ()
{
	local subcommands="spawn review trace help"
	local subcommand subcommand_idx

	subcommand="$(__git_find_on_cmdline --show-idx "$subcommands")"
	subcommand_idx="${subcommand% *}"
	subcommand="${subcommand#* }"

	case "$subcommand" in
	"")
		case "$cur" in
		-*)
			__gitcomp "--version -h"
			;;
		*)
			__gitcomp "$subcommands"
			;;
		esac
		;;
	spawn)
		_git_agent_spawn
		;;
	review)
		_git_agent_review "$subcommand_idx"
		;;
	trace)
		_git_agent_trace "$subcommand_idx"
		;;
	help)
		# git agent help [<command>]
		if [ "$cword" -eq $((subcommand_idx + 1)) ]; then
			__gitcomp "spawn review trace"
		else
			__git_agent_complete_nothing
		fi
		;;
	esac
}
