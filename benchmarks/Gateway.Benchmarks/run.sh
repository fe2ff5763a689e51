#!/usr/bin/env bash
# ./build.sh bench micro [filter] [--short]: BenchmarkDotNet micro-benchmarks, then the allocation budget check.
set -euo pipefail
cd "$(dirname "$0")"
filter='*'
job=()
for arg in "$@"; do
  case "$arg" in
    --short) job=(--job short) ;;
    *) filter="$arg" ;;
  esac
done
rm -rf BenchmarkDotNet.Artifacts
dotnet run -c Release -- --filter "$filter" "${job[@]}"
python3 check-allocations.py 'BenchmarkDotNet.Artifacts/results/*-report.csv'
