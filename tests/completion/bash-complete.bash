# Drive bash's programmable completion the way readline does, without a
# terminal, and print what it offers.               -*- sh -*-
#
# usage: bash --norc --noprofile bash-complete.bash <loader> <file> <line>
#
#   <loader> bash-completion: <file> is bash-completion's main script
#            (bash_completion); its lazy loader finds git's completion and
#            then ours (installed in $XDG_DATA_HOME/bash-completion/completions)
#            git: <file> is git's completion script (git-completion.bash) and
#            a minimal _completion_loader stands in for bash-completion's,
#            sourcing $XDG_DATA_HOME/bash-completion/completions/<command>
#   <line>   the command line, the cursor at its end
#
# Output, one line each: `R <candidate>` for every COMPREPLY entry (verbatim,
# with git's trailing space if any) and `O <args>` for every compopt call made
# by the completion function (compopt itself only works inside readline).

loader=$1 file=$2 line=$3

case $loader in
bash-completion)
	# shellcheck disable=SC1090
	. "$file" || exit 2
	# What bash-completion does for `git <TAB>`: load git's completion.
	_completion_loader git
	;;
git)
	# shellcheck disable=SC1090
	. "$file" || exit 2
	_completion_loader ()
	{
		local f="${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions/${1##*/}"
		# shellcheck disable=SC1090
		[ -f "$f" ] && . "$f" && return 124
		return 1
	}
	;;
*)
	echo "bash-complete: unknown loader '$loader'" >&2
	exit 2
	;;
esac

# shellcheck disable=SC2317 # called by the completion functions
compopt ()
{
	local IFS=' '
	printf 'O %s\n' "$*"
}

# Split the line into words as readline does with the default
# COMP_WORDBREAKS: blanks separate words, and `=` and `:` are words of their
# own.
COMP_LINE=$line
COMP_POINT=${#line}
COMP_WORDS=()
for w in $line; do
	while [[ $w =~ ^([^=:]*)([=:])(.*)$ ]]; do
		[ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
		COMP_WORDS+=("${BASH_REMATCH[2]}")
		w=${BASH_REMATCH[3]}
	done
	[ -n "$w" ] && COMP_WORDS+=("$w")
done
case $line in
*" ") COMP_WORDS+=("") ;;
esac
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_TYPE=9
COMP_KEY=9

cmd=${COMP_WORDS[0]}
spec=$(complete -p "$cmd" 2>/dev/null)
if [ -z "$spec" ]; then
	_completion_loader "$cmd"
	spec=$(complete -p "$cmd" 2>/dev/null)
fi
func=$(printf '%s\n' "$spec" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
if [ -z "$func" ]; then
	echo "bash-complete: no completion function for '$cmd'" >&2
	exit 3
fi

COMPREPLY=()
prev=
[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
"$func" "$cmd" "${COMP_WORDS[COMP_CWORD]}" "$prev"
for c in "${COMPREPLY[@]}"; do
	printf 'R %s\n' "$c"
done
exit 0
