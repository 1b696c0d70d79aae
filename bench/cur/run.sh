#!/usr/bin/env bash
# Times netcost's CUR reader over a generated month of hourly CUR for a
# large account (10M line items by default), Parquet and gzip CSV, by line
# and by resource, with /usr/bin/time -v for peak RSS. The exports are
# generated once under DIR (default /tmp/curbench).
set -euo pipefail
items=${1:-10000000}
dir=${DIR:-/tmp/curbench}
cd "$(dirname "$0")/../.."
go build -o "$dir/curbench" ./bench/cur
for f in parquet csv.gz; do
	if [ ! -d "$dir/$f/bench-cur" ]; then
		"$dir/curbench" gen -o "$dir/$f" -format "$f" -items "$items"
	fi
done
grep -m1 "model name" /proc/cpuinfo; nproc; uptime
for by in "" -by-resource; do
	for f in parquet csv.gz; do
		echo "== $f $by"
		/usr/bin/time -v "$dir/curbench" read $by -cur "file:$dir/$f/bench-cur" 2>"$dir/time.txt"
		grep -E "User time|System time|Elapsed|Maximum resident" "$dir/time.txt"
	done
done
