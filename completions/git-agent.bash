# bash completion for git-agent(1) and git-agent-spawn(1)                -*- sh -*-
#
# This file is an extension of git's own bash completion: it defines
# _git_agent, which git's completion calls for `git agent ...`, and
# _git_agent_spawn for `git agent-spawn ...`.  It uses git's helper
# functions (__gitcomp, __git_complete_refs, ...), so git's completion must be
# loaded; git's completion loads this file itself when it is installed as
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
	--json --help
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
	--agent|--name|-m|--message|--step|--check)
		__git_agent_complete_nothing
		return
		;;
	--out)
		__git_agent_complete_paths -d "$cur"
		return
		;;
	-F|--file|--scope)
		__git_agent_complete_paths -f "$cur"
		return
		;;
	esac

	case "$cur" in
	--base=*)
		__git_complete_refs --cur="${cur#*=}"
		;;
	--agent=*|--name=*|--message=*|--step=*|--check=*)
		__git_agent_complete_nothing
		;;
	--out=*)
		__git_agent_complete_paths -d "${cur#*=}"
		;;
	--file=*|--scope=*)
		__git_agent_complete_paths -f "${cur#*=}"
		;;
	--*)
		__gitcomp "$__git_agent_spawn_options"
		;;
	-*)
		__gitcomp "-m -F -h $__git_agent_spawn_options"
		;;
	*)
		# The title: free text.
		__git_agent_complete_nothing
		;;
	esac
}

# usage: git agent <command> [<args>]
_git_agent ()
{
	local subcommands="spawn help"
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
	help)
		# git agent help [<command>]
		if [ "$cword" -eq $((subcommand_idx + 1)) ]; then
			__gitcomp "spawn"
		else
			__git_agent_complete_nothing
		fi
		;;
	esac
}
