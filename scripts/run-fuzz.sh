#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each, with a corpus kept under build.
set -euo pipefail
dir=$1
seconds=${2:-30}
status=0
for target in "$dir"/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus="$dir/corpus/$name"
  mkdir -p "$corpus"
  echo "== $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$corpus" 2>"$dir/$name.log"; then
    echo "$name FAILED, see $dir/$name.log"; tail -40 "$dir/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$dir/$name.log" | tail -2
  fi
done
exit $status
