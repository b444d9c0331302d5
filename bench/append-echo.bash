#!/bin/bash
# append-echo.bash FILE WRITERS EVENTS: row (b) of bench/append.sh, the
# shell way to add lines to a log: WRITERS bash loops at once, each
# appending EVENTS lines with `echo ... >> FILE` (builtins only: no process
# per event), the same JSON as bench/appender writes.  No lock: every echo
# is one write(2) with O_APPEND.
set -eu
file=$1 writers=$2 events=$3
pids=()
for ((k = 1; k <= writers; k++)); do
	(
		printf -v task 'bench-writer-%02d' "$k"
		for ((i = 1; i <= events; i++)); do
			t=$EPOCHREALTIME
			printf -v ts '%(%Y-%m-%dT%H:%M:%S)T' "${t%.*}"
			ms=${t#*.}
			echo "{\"v\":1,\"ts\":\"$ts.${ms:0:3}Z\",\"event\":\"bench.append\",\"task\":\"$task\",\"emitted\":true,\"message\":\"event $i of writer $k\",\"seq\":\"$i\"}" >>"$file"
		done
	) &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid"
done
