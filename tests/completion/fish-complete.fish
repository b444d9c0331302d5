# Drive fish's completion for real and print what it offers.
#
# usage: fish --no-config fish-complete.fish <completions-dir> <line>
#
# Completes <line> (the cursor at its end) with `complete -C`, with
# <completions-dir> first in $fish_complete_path and fish's own completions
# (git.fish among them) after it, and prints the candidates, one per line:
# the candidate, a TAB and its description when it has one.
#
# `git agent ...` is completed by fish's git.fish, which hands it over to the
# completions of git-agent: for every executable git-<name> on $PATH it adds
#     complete -c git -n '__fish_git_using_command <name>' \
#         -a '(__fish_git_complete_custom_command <name>)'
# fish 3.6.0 has a regression there (fish-shell issue #9457): it uses the
# name git-<name> instead of <name>, so the rule never applies.  When the rule
# for `agent` is missing, this script adds it as fixed releases of fish do,
# which still lets git.fish's own __fish_git_complete_custom_command do the
# hand-over, and says so on stderr.

set -l compdir $argv[1]
set -l line $argv[2]

set fish_function_path $__fish_data_dir/functions
set fish_complete_path $compdir $__fish_data_dir/completions

if string match -q -- 'git *' $line
    # Load git.fish the way fish does: on the first completion of `git`.
    complete -C 'git ' >/dev/null
    if not complete -c git | string match -q -- "*'__fish_git_using_command agent'*"
        echo 'fish-complete: fish git.fish lacks the git-agent hand-over (fish-shell#9457), adding it' >&2
        complete -c git -f -n '__fish_git_using_command agent' -a '(__fish_git_complete_custom_command agent)'
    end
end

complete -C $line
