#!/usr/bin/env bash
# The dataset benchmark (issue: many services, months of snapshots): writes
# synthetic fleets with examples/gen_fleet.rs and measures, with GNU time,
#  - growth of one service (288 snapshots x STACKS stacks) from its bundle's
#    .pb.gz files and from the dataset (target: within 2x);
#  - `heapframe fleet` (top growers of every service) at three dataset
#    sizes: time and peak RSS (targets: linear time, under 1 GiB).
#
#   bash benches/fleet.sh [WORKDIR] [SIZES] [SNAPSHOTS] [STACKS]
#
# Defaults: WORKDIR target/fleet-bench, SIZES "5 15 50" services, 288
# snapshots, 10000 stacks. The fleets are kept in WORKDIR and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-target/fleet-bench}
sizes=${2:-5 15 50}
snapshots=${3:-288}
stacks=${4:-10000}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
cargo build --release --quiet --bin heapframe --example gen_fleet
hf=target/release/heapframe
measure() { # LABEL CMD...: prints LABEL, seconds, peak RSS in MiB
  local label=$1; shift
  local t
  t=$(mktemp)
  /usr/bin/time -o "$t" -f '%e %M' "$@" >/dev/null 2>&1
  local out
  out=$(tail -1 "$t")
  rm -f "$t"
  printf '%-46s %8.2f s %8d MiB\n' "$label" "${out% *}" "$(( ${out#* } / 1024 ))"
}
for n in $sizes; do
  dir="$work/s$n-$snapshots-$stacks"
  if [ ! -f "$dir/done" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "writing $n services x $snapshots snapshots x $stacks stacks into $dir"
    /usr/bin/time -f "  generated and exported in %e s, peak %M KB" \
      target/release/examples/gen_fleet "$dir" "$n" "$snapshots" "$stacks" 2>&1 | tail -1
    touch "$dir/done"
  fi
  echo "== $n services: dataset $(du -sh "$dir/dataset" | cut -f1), $((n * snapshots)) snapshots, $((n * snapshots * stacks)) sample rows"
  for i in 1 2 3; do
    measure "growth svc000 from .pb.gz files (run $i)" $hf growth "$dir/bundle-svc000"
    measure "growth svc000 from the dataset (run $i)" $hf growth --dataset "$dir/dataset" --service svc000
  done
  measure "fleet: top growers of $n services" $hf fleet "$dir/dataset"
done
