#!/usr/bin/env bash
# ./build.sh bench micro [filter...] [--short]: BenchmarkDotNet micro-benchmarks, then the allocation budget check.
#   --hot-path   only the benchmarks with an allocation budget (what ./build.sh test runs, with --short)
set -euo pipefail
cd "$(dirname "$0")"
filters=()
job=()
for arg in "$@"; do
  case "$arg" in
    --short) job=(--job short) ;;
    --hot-path) filters+=('*RequestInspection*' '*RouteLookup*' '*CopyLoop*' '*SseStream*' '*TranslationBenchmarks*' '*SpendBenchmarks*' '*SharedAdmission*') ;;
    *) filters+=("$arg") ;;
  esac
done
[ ${#filters[@]} -gt 0 ] || filters=('*')
rm -rf BenchmarkDotNet.Artifacts
dotnet run -c Release -- --filter "${filters[@]}" "${job[@]}"
python3 check-allocations.py 'BenchmarkDotNet.Artifacts/results/*-report.csv'
