#!/bin/zsh -f
# append-flock.zsh FILE WRITERS EVENTS: row (c) of bench/append.sh, the
# shell way with a lock: WRITERS zsh loops at once, each taking the lock
# of FILE, appending one line with `print >> FILE` and letting go, EVENTS
# times.  zsh's `zsystem flock` is a builtin (an fcntl lock); flock(1)
# would start a process per event.  The same JSON as bench/appender writes.
set -eu
zmodload zsh/system zsh/datetime
file=$1 writers=$2 events=$3
: >>$file
pids=()
for ((k = 1; k <= writers; k++)); do
	(
		task=bench-writer-${(l:2::0:)k}
		for ((i = 1; i <= events; i++)); do
			zsystem flock -f fd $file
			t=$EPOCHREALTIME
			strftime -s ts '%Y-%m-%dT%H:%M:%S' ${t%.*}
			ms=${t#*.}
			print -r -- "{\"v\":1,\"ts\":\"$ts.${ms[1,3]}Z\",\"event\":\"bench.append\",\"task\":\"$task\",\"emitted\":true,\"message\":\"event $i of writer $k\",\"seq\":\"$i\"}" >>$file
			zsystem flock -u $fd
		done
	) &
	pids+=($!)
done
for pid in $pids; do
	wait $pid
done
