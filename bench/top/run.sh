#!/usr/bin/env bash
# bench/top: time `netcost top` and `netcost recommend` over a generated
# store of N records (default 10M, about 6.4 GB), interleaved, RUNS times
# each, with the page cache warm. Usage: bench/top/run.sh [N]
# The store is kept in bench/out (git-ignored) and reused while N matches.
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${1:-10000000}
runs=${RUNS:-5}
dir=${BENCH_STORE:-bench/out/store-$records}
mkdir -p bench/out

if [ ! -f "$dir/.complete" ]; then
	echo "generating $records records in $dir ..." >&2
	go run ./internal/sample/cmd/samplegen -o "$dir" -records "$records"
	touch "$dir/.complete"
fi
go build -o bench/out/netcost ./cmd/netcost
size=$(du -sbL "$dir" | cut -f1)
echo "store: $dir, $records records, $((size / 1000000)) MB; $(nproc) CPUs; $(go version | cut -d' ' -f3)"
cat "$dir"/*.jsonl >/dev/null # warm the page cache: this measures netcost, not the disk

declare -A wall cpu
cmds=("top --category inter-az" "top --category nat" "recommend")
for c in "${cmds[@]}"; do wall[$c]=""; cpu[$c]=""; done
TIMEFORMAT='%R %U %S'
for ((i = 1; i <= runs; i++)); do
	for c in "${cmds[@]}"; do
		# shellcheck disable=SC2086
		t=$({ time bench/out/netcost $c --source "file:$dir" >/dev/null; } 2>&1 | tail -1) || { echo "netcost $c failed" >&2; exit 1; }
		[[ $t =~ ^[0-9.]+\ [0-9.]+\ [0-9.]+$ ]] || { echo "netcost $c: $t" >&2; exit 1; }
		read -r r u s <<<"$t"
		wall[$c]+="$r "
		cpu[$c]+="$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}') "
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
printf '%-26s %8s %8s %8s %10s\n' command "median s" "min s" "max s" "CPU s"
for c in "${cmds[@]}"; do
	w=${wall[$c]}
	printf '%-26s %8s %8s %8s %10s\n' "$c" "$(median <<<"$w")" \
		"$(tr ' ' '\n' <<<"$w" | grep -v '^$' | sort -n | head -1)" \
		"$(tr ' ' '\n' <<<"$w" | grep -v '^$' | sort -n | tail -1)" "$(median <<<"${cpu[$c]}")"
done
rss=$( (command -v /usr/bin/time >/dev/null && /usr/bin/time -f '%M' bench/out/netcost top --category inter-az --source "file:$dir" 2>&1 >/dev/null | tail -1) || echo "n/a")
echo "max RSS of top --category inter-az: ${rss} KB"
