#!/usr/bin/env bash
# ./build.sh bench micro [filter]   BenchmarkDotNet micro-benchmarks, then the allocation budget check
# ./build.sh bench load             end-to-end load: direct vs YARP vs Gateway (see benchmarks/load/README.md)
# ./build.sh bench scaleout         one replica with its key's limits per process vs shared through Redis (healthy,
#                                   +0.25 ms, down, a key over its limit)
# ./build.sh bench soak [faults]    Gateway RSS under 10 minutes of mixed load, or with 5% of requests failing
# ./build.sh bench profile [w...]   CPU samples and allocations of the request path under load (dotnet-trace)
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
[ $# -gt 0 ] && shift
case "$kind" in
  micro) exec benchmarks/Gateway.Benchmarks/run.sh "$@" ;;
  load) exec benchmarks/load/run.sh "$@" ;;
  scaleout) exec benchmarks/load/scaleout.sh "$@" ;;
  soak) exec benchmarks/load/soak.sh "$@" ;;
  profile) exec benchmarks/profile/run.sh "$@" ;;
  *) echo "usage: ./build.sh bench micro [filter] | load | scaleout | soak [faults] | profile [small|large|stream...]" >&2; exit 2 ;;
esac
