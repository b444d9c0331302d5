# Drive zsh's completion system for real and print what it offers.
#
# usage: zsh -f zsh-complete.zsh <scratch-dir> <fpath-dir> <line>
#
# Starts an interactive `zsh -f -i` in a pseudo-terminal (zsh/zpty), runs
# compinit with <fpath-dir> first in $fpath, types <line> followed by TAB and
# waits for the completion widget to finish.  Every match the completion
# functions add is recorded by a wrapper around the compadd builtin (the
# matches are still added, so completion behaves as usual) and printed, one
# per line: the match, a TAB, and its description as zsh would list it (empty
# when there is none).  <scratch-dir> must be an existing, empty directory.
# Exit status: 0 done, 2 usage or setup error, 3 timeout.

if (( $# != 3 )); then
  print -u2 "usage: zsh -f zsh-complete.zsh <scratch-dir> <fpath-dir> <line>"
  exit 2
fi
zmodload zsh/zpty || exit 2

scratch=$1 compdir=$2 line=$3

# Runs inside the shell in the pseudo-terminal.
cat >| $scratch/init.zsh <<'EOF'
PS1='' RPS1='' PS2=''
unsetopt beep
fpath=($ZC_COMPDIR $fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' verbose yes

compadd () {
  # Calls that only compute matches (-O, -A, -D) are for the completion
  # functions themselves: pass them through untouched.
  local -a __zc_opts
  __zc_opts=("${@[1,(i)(-|--)]}")
  if (( ${__zc_opts[(I)-[OAD]*]} )); then
    builtin compadd "$@"
    return
  fi
  local -a __zc_hits __zc_dscr
  local __zc_d __zc_i
  if (( ${__zc_opts[(I)-d]} )); then
    __zc_d=${@[${@[(i)-d]} + 1]}
    if [[ $__zc_d == \(* ]]; then
      eval "__zc_dscr=$__zc_d"
    else
      __zc_dscr=("${(@P)__zc_d}")
    fi
  fi
  # -A: the matches that fit the word on the line; -D: keep the descriptions
  # of those.
  builtin compadd -A __zc_hits -D __zc_dscr "$@"
  for (( __zc_i = 1; __zc_i <= $#__zc_hits; __zc_i++ )); do
    print -r -- "$__zc_hits[__zc_i]"$'\t'"$__zc_dscr[__zc_i]" >> $ZC_SCRATCH/matches
  done
  builtin compadd "$@"
}

__zc_complete () {
  : >> $ZC_SCRATCH/matches
  zle complete-word
  print -r -- done >| $ZC_SCRATCH/done
}
zle -N __zc_complete
bindkey '^I' __zc_complete
print -r -- ready >| $ZC_SCRATCH/ready
EOF

export ZC_SCRATCH=$scratch ZC_COMPDIR=$compdir
zpty zc zsh -f -i || exit 2

# Wait (at most 30 s) for a file to appear, reading what the shell writes to
# the terminal meanwhile so that it never blocks on a full pty buffer.
wait_for () {
  local junk
  integer i
  for (( i = 0; i < 600; i++ )); do
    while zpty -r -t zc junk; do :; done
    [[ -e $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

zpty -w zc "source ${(q)scratch}/init.zsh"
if ! wait_for $scratch/ready; then
  print -u2 "zsh-complete: the shell in the pseudo-terminal did not start"
  zpty -d zc
  exit 3
fi
zpty -w -n zc "$line"$'\t'
if ! wait_for $scratch/done; then
  print -u2 "zsh-complete: completion did not finish"
  zpty -d zc
  exit 3
fi
zpty -d zc
cat $scratch/matches
exit 0
