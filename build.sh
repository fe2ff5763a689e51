#!/usr/bin/env bash
# Gateway build entry point. Release builds by default: what users run is what the benchmarks measure.
#
#   ./build.sh build                 restore and build everything (Release)
#   ./build.sh test                  build, check the formatting (dotnet format), run the whole test suite, then the
#                                    hot-path allocation budget check
#   ./build.sh run [gateway options] build and run the gateway in the foreground (default --config config.yaml)
#   ./build.sh demo                  the gateway in front of the bundled mock provider, with a streamed request shown
#   ./build.sh bench micro [filter]  BenchmarkDotNet micro-benchmarks + the allocation budget check
#   ./build.sh bench load            end-to-end load: direct vs YARP vs Gateway (installs wrk when missing)
#   ./build.sh bench scaleout        the cost of sharing limits through Redis (one replica: healthy, slow, down)
#   ./build.sh bench soak [faults]   Gateway RSS (and fds, errors) across 10 minutes of mixed (or failing) load
#   ./build.sh bench profile         where the request path's CPU and allocations go, under load (dotnet-trace)
#   ./build.sh clean                 remove build outputs
set -euo pipefail
cd "$(dirname "$0")"

CONFIGURATION="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
OUT=artifacts/bin

require_dotnet() {
  command -v dotnet >/dev/null || { echo "build.sh: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }
}

build() {
  require_dotnet
  dotnet restore Gateway.sln --nologo -v quiet
  dotnet build Gateway.sln -c "$CONFIGURATION" --no-restore --nologo -v quiet -clp:ErrorsOnly
}

publish_exe() { # project output-dir
  dotnet build "$1" -c "$CONFIGURATION" --nologo -v quiet -clp:ErrorsOnly -o "$2" >/dev/null
}

# The short job measures allocations in one iteration per benchmark: a one-off allocation elsewhere in the process
# (a runtime buffer, tiered compilation) can land in it, over 256 operations of the 1 MB body once made 468 B/op,
# and on a loaded machine a few B/op land on whichever slow case (1 MB, 64 KB in segments) is unlucky. An
# over-budget benchmark is therefore measured once more, alone; a real allocation on the hot path is over budget in
# the same case both times, noise in a different one.
over_cases() { # log -> the over-budget cases, "Class.Method (param=value)", parameters that do not apply left out
  sed -nE 's/^OVER BUDGET +([^:]+):.*/\1/p' "$1" | sed -E 's/[A-Za-z]+=\?(, )?//g; s/, \)/)/; s/ \(\)//' | sort -u
}
check_allocations() {
  local over=() twice status
  benchmarks/Gateway.Benchmarks/run.sh --hot-path --short > artifacts/allocation-check.log 2>&1 && status=0 || status=$?
  grep -E '^(ok|OVER)' artifacts/allocation-check.log || true
  [ "$status" = 0 ] && return 0
  mapfile -t over < <(sed -nE 's/^OVER BUDGET +([A-Za-z]+\.[A-Za-z]+) .*/*\1*/p' artifacts/allocation-check.log | sort -u)
  [ ${#over[@]} -gt 0 ] || return 1
  cp artifacts/allocation-check.log artifacts/allocation-check-first.log
  echo "build.sh: over budget once, measuring again: ${over[*]}"
  ALLOCATION_CHECK_PARTIAL=1 benchmarks/Gateway.Benchmarks/run.sh "${over[@]}" --short > artifacts/allocation-check.log 2>&1 \
    && status=0 || status=$?
  grep -E '^(ok|OVER)' artifacts/allocation-check.log || true
  [ "$status" = 0 ] && return 0
  twice=$(comm -12 <(over_cases artifacts/allocation-check-first.log) <(over_cases artifacts/allocation-check.log))
  [ -n "$twice" ] && { echo "build.sh: over budget twice: $twice"; return 1; }
  grep -q '^OVER' artifacts/allocation-check.log || return "$status"
  echo "build.sh: over budget in a different case each time (noise, not an allocation on the hot path)"
}

cmd="${1:-build}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    build
    ;;
  test)
    # The scale-out tests run real redis-server processes (Debian's package).
    command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
    build
    # One code style for everyone (.editorconfig): a change that dotnet format would rewrite fails the run.
    echo "build.sh: format check (dotnet format --verify-no-changes)"
    dotnet format Gateway.sln --verify-no-changes --no-restore -v quiet \
      || { echo "build.sh: formatting differs from .editorconfig: run 'dotnet format Gateway.sln'" >&2; exit 1; }
    # A hung test fails the run after 2 minutes instead of eating the CI budget.
    dotnet test Gateway.sln -c "$CONFIGURATION" --no-build --nologo --blame-hang-timeout 120s "$@"
    # The allocation budget of the hot path (0 B/op), BenchmarkDotNet's short job: about two minutes.
    echo "build.sh: allocation budget check (hot-path micro-benchmarks, short job)"
    mkdir -p artifacts
    check_allocations || { tail -n 60 artifacts/allocation-check.log; echo "build.sh: allocation budget check failed" >&2; exit 1; }
    ;;
  run)
    require_dotnet
    publish_exe src/Gateway.Server "$OUT/gateway"
    args=("$@")
    if [[ " ${args[*]-} " != *" --config "* ]] && [ -z "${GATEWAY_CONFIG:-}" ] && [ ! -f config.yaml ]; then
      cp config.example.yaml config.yaml
      echo "build.sh: config.yaml was missing: copied config.example.yaml to config.yaml (edit it for your providers)"
    fi
    exec "$OUT/gateway/gateway" "$@"
    ;;
  demo)
    require_dotnet
    exec resources/scripts/demo.sh
    ;;
  bench)
    exec benchmarks/run.sh "$@"
    ;;
  clean)
    rm -rf artifacts
    find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
    ;;
  *)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
