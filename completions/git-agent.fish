# fish completion for git-agent(1) and `git agent`
#
# fish's git completion completes `git agent ...` by handing the command line
# over to the completions of the executable git-agent found on $PATH
# (`complete -C "git-agent ..."`), so these rules are for `git-agent`.
#
# Install: share/fish/vendor_completions.d/git-agent.fish

# The command given to git-agent (the first word that is not an option).
function __fish_git_agent_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    for t in $tokens
        switch $t
            case '-*'
                continue
        end
        echo $t
        return 0
    end
    return 1
end

# True when no command has been given yet.
function __fish_git_agent_needs_command
    not __fish_git_agent_command >/dev/null
end

# True when the command is one of the arguments.
function __fish_git_agent_using_command
    set -l cmd (__fish_git_agent_command)
    or return 1
    contains -- $cmd $argv
end

# True right after `git agent help`.
function __fish_git_agent_help_needs_topic
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l seen 0
    for t in $tokens
        switch $t
            case '-*'
                continue
        end
        set seen (math $seen + 1)
    end
    test $seen -eq 1
    and __fish_git_agent_using_command help
end

# True when the word being completed after `review` is its first argument
# that is neither an option nor an option's value: the task.
function __fish_git_agent_review_needs_task
    __fish_git_agent_using_command review
    or return 1
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l seen_command 0
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --check --stat-width --style
                set skip 1
            case '-*'
            case '*'
                if test $seen_command -eq 0
                    set seen_command 1
                else
                    return 1
                end
        end
    end
    test $skip -eq 0
end

# True when the word being completed after `trace` is a task: not an
# option's value, and not with --emit (an emitted event takes no task
# argument; --task names it).
function __fish_git_agent_trace_needs_task
    __fish_git_agent_using_command trace
    or return 1
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $t
            case --emit '--emit=*'
                return 1
            case -e --event --since --until --agent --grep -n --max-count -m --message --field --task
                set skip 1
        end
    end
    test $skip -eq 0
end

# True when the word being completed is `--color=...`: its value is optional
# and only given after `=`, so it is not an option argument fish knows of.
function __fish_git_agent_completing_color
    string match -q -- '--color=*' (commandline -ct)
end

# The tasks: the names of the task records <git-common-dir>/agent/tasks/*.ini.
function __fish_git_agent_tasks
    set -l dir (command git rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
    or set dir (command git rev-parse --git-common-dir 2>/dev/null)
    or return
    for record in $dir/agent/tasks/*.ini
        test -f $record
        and string replace -r -- '^.*/(.*)\.ini$' '$1' $record
    end
end

# Refs for --base: branches, tags and remote-tracking branches.
function __fish_git_agent_refs
    command git for-each-ref --format='%(refname:short)%09Branch' refs/heads/ 2>/dev/null
    command git for-each-ref --format='%(refname:short)%09Tag' refs/tags/ 2>/dev/null
    command git for-each-ref --format='%(refname:short)%09Remote branch' refs/remotes/ 2>/dev/null
end

# Directories for --out (also after `--out=`).
function __fish_git_agent_directories
    __fish_complete_directories (commandline -ct | string replace -r -- '^--[^=]*=' '')
end

complete -c git-agent -f

# git agent
complete -c git-agent -n __fish_git_agent_needs_command -a spawn -d 'Turn a task into a packet, a branch and an isolated worktree'
complete -c git-agent -n __fish_git_agent_needs_command -a review -d 'Record evidence of a task\'s work, and merge or abandon it'
complete -c git-agent -n __fish_git_agent_needs_command -a trace -d 'Show, filter, follow and summarize the trace, or add an event to it'
complete -c git-agent -n __fish_git_agent_needs_command -a help -d 'Show the manual of git agent or of a command'
complete -c git-agent -n __fish_git_agent_needs_command -l version -d 'Show the version'
complete -c git-agent -n __fish_git_agent_needs_command -s h -d 'Show usage and the list of commands'

# git agent help <command>
complete -c git-agent -n __fish_git_agent_help_needs_topic -a spawn -d 'Turn a task into a packet, a branch and an isolated worktree'
complete -c git-agent -n __fish_git_agent_help_needs_topic -a review -d 'Record evidence of a task\'s work, and merge or abandon it'
complete -c git-agent -n __fish_git_agent_help_needs_topic -a trace -d 'Show, filter, follow and summarize the trace, or add an event to it'

# git agent spawn [<options>] <title>...
set -l spawn '__fish_git_agent_using_command spawn'
complete -c git-agent -n $spawn -l create -d 'Create the branch and worktree (default mode is dry-run)'
complete -c git-agent -n $spawn -l dry-run -d 'Only write the task record, packet, README and commands'
complete -c git-agent -n $spawn -l base -x -a '(__fish_git_agent_refs)' -d 'Base ref (default: agent.base, else the current branch)'
complete -c git-agent -n $spawn -l fetch -d 'Run git fetch <agent.remote> before creating'
complete -c git-agent -n $spawn -l no-fetch -d 'Do not fetch before creating'
complete -c git-agent -n $spawn -l agent -x -d 'Branch prefix for this task (default: agent.branchPrefix)'
complete -c git-agent -n $spawn -l name -x -d 'The slug of the task'
complete -c git-agent -n $spawn -l out -x -a '(__fish_git_agent_directories)' -d 'Put the task folder in DIR/<slug> instead of agent.dir'
complete -c git-agent -n $spawn -s m -l message -x -d 'Description of the task'
complete -c git-agent -n $spawn -s F -l file -r -F -d 'Read the description from a file (- for stdin)'
complete -c git-agent -n $spawn -l scope -r -F -d 'Path inside the repository the task is about (repeatable)'
complete -c git-agent -n $spawn -l step -x -d 'A step for the agent (repeatable)'
complete -c git-agent -n $spawn -l check -x -d 'A check review will run (repeatable)'
complete -c git-agent -n $spawn -l allow-dirty -d 'Create even if the main worktree has uncommitted changes'
complete -c git-agent -n $spawn -l keep-failed -d 'Keep the worktree when an agent.setup command fails'
complete -c git-agent -n $spawn -l run -d 'Create the task and start its agent (default: agent.command)'
complete -c git-agent -n $spawn -l wait -d 'With --run: stay, show the agent output, exit with its status'
complete -c git-agent -n $spawn -l timeout -x -d 'With --run: end the agent after TIME (30s, 10m, 2h)'
complete -c git-agent -n $spawn -l from -r -F -d 'Spawn every task of an INI batch file or features.json'
complete -c git-agent -n $spawn -s j -l jobs -x -d 'With --from: at most N tasks at once (default: agent.jobs)'
complete -c git-agent -n $spawn -l json -d 'Print one JSON object instead of the human summary'
complete -c git-agent -n $spawn -s h -d 'Show usage'
complete -c git-agent -n $spawn -l help -d 'Show the manual page'

# git agent review [<task>] [<options>]
set -l review '__fish_git_agent_using_command review'
complete -c git-agent -n __fish_git_agent_review_needs_task -a '(__fish_git_agent_tasks)' -d Task
complete -c git-agent -n $review -l check -x -d 'Run a command as a check of this round (repeatable)'
complete -c git-agent -n $review -l stat-width -x -d 'Width of the diff stat (default 80)'
complete -c git-agent -n $review -l json -d 'Print one JSON object instead of the human summary'
complete -c git-agent -n $review -l merge -d 'Merge the reviewed head into the base, when the merge gate holds'
complete -c git-agent -n $review -l style -x -a 'merge ff squash' -d 'How to merge (default: agent.mergeStyle, else merge)'
complete -c git-agent -n $review -l keep -d 'Keep the worktree and branch after the merge'
complete -c git-agent -n $review -l allow-out-of-scope -d 'Merge even when paths are out of the task\'s scope'
complete -c git-agent -n $review -l request-changes -f -d 'Record the changes needed and add them to the packet'
complete -c git-agent -n $review -l abandon -d 'Remove the task\'s worktree and delete its branch'
complete -c git-agent -n $review -l force -d 'Abandon even when the worktree has uncommitted changes'
complete -c git-agent -n $review -l keep-branch -d 'Keep the branch when abandoning'
complete -c git-agent -n $review -s h -d 'Show usage'
complete -c git-agent -n $review -l help -d 'Show the manual page'

# git agent trace [<task>...] [<options>]
# git agent trace --tasks [<task>...] [<options>]
# git agent trace --emit <event> [<options>]
set -l trace '__fish_git_agent_using_command trace'
set -l events task.planned worktree.created setup.done setup.failed spawn.failed \
    agent.started agent.exited review.recorded check.passed check.failed \
    verdict.merge verdict.changes verdict.abandon merge.done merge.failed \
    merge.refused worktree.removed branch.deleted
complete -c git-agent -n __fish_git_agent_trace_needs_task -a '(__fish_git_agent_tasks)' -d Task
complete -c git-agent -n $trace -s e -l event -x -a "$events" -d 'Show only the events whose name matches a glob (repeatable)'
complete -c git-agent -n $trace -l since -x -d 'Show only the events at or after a time (ISO-8601, or 30m, 2h, 3d, 1w ago)'
complete -c git-agent -n $trace -l until -x -d 'Show only the events at or before a time (ISO-8601, or 30m, 2h, 3d, 1w ago)'
complete -c git-agent -n $trace -l agent -x -d 'Show only the events of the tasks of an agent (branch prefix)'
complete -c git-agent -n $trace -l grep -x -d 'Show only the events with a text in a string value'
complete -c git-agent -n $trace -s n -l max-count -x -d 'Show only the last N matching events'
complete -c git-agent -n $trace -l json -d 'Print the matching lines as stored (with --tasks, one JSON object per task)'
complete -c git-agent -n $trace -s f -l follow -d 'Keep printing new events as they are appended'
complete -c git-agent -n $trace -l color -d 'Color the output (default: color.ui, else auto)'
complete -c git-agent -n "$trace; and __fish_git_agent_completing_color" -a '--color=always --color=never --color=auto' -d 'Color the output'
complete -c git-agent -n $trace -l no-color -d 'Do not color the output'
complete -c git-agent -n $trace -l no-pager -d 'Do not send the output through a pager'
complete -c git-agent -n $trace -l tasks -d 'Print one line per task: state, branch, age, +/-, verdict'
complete -c git-agent -n $trace -l emit -x -d 'Append an event of your own to the trace'
complete -c git-agent -n $trace -s m -l message -x -d 'The message of the emitted event'
complete -c git-agent -n $trace -l field -x -d 'A field KEY=VALUE of the emitted event (repeatable)'
complete -c git-agent -n $trace -l task -x -a '(__fish_git_agent_tasks)' -d 'The task of the emitted event (default: the worktree\'s task)'
complete -c git-agent -n $trace -s h -d 'Show usage'
complete -c git-agent -n $trace -l help -d 'Show the manual page'
