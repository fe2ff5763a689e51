#!/usr/bin/env bash
# Profile of the gateway under load: where the request path spends its CPU and what it allocates, per workload.
# The mock and wrk run on CPU 0, the gateway alone on CPU 1 (as in the load benchmark). After a warm-up, dotnet-trace
# records the sample profiler (a stack of every thread each millisecond) for TRACE_SECONDS, then the allocation
# ticks (one per ~100 KB allocated) for TRACE_SECONDS, each under the same wrk load; TraceSummary turns both into
# Markdown: benchmarks/results/<date>-<machine>-profile.md. Before the traces, an untraced 8 s run splits the
# gateway's CPU time into user space and kernel (from /proc/PID/stat).
#
#   ./build.sh bench profile [workload...]   workloads: small large stream stream-anthropic stream-messages
#                                            (default: the first three)
#   Settings (environment): CONNECTIONS=64  WARMUP=40 (s)  TRACE_SECONDS=10  PORT_BASE=18200  REPORT=<path>
set -euo pipefail
cd "$(dirname "$0")/../.."
WORKLOADS="${*:-small large stream}"
CONNECTIONS="${CONNECTIONS:-64}"
WARMUP="${WARMUP:-40}"
TRACE_SECONDS="${TRACE_SECONDS:-10}"
PORT_BASE="${PORT_BASE:-18200}"
MOCK_PORT=$((PORT_BASE + 81)); GATEWAY_PORT=$((PORT_BASE + 80))
LOAD=benchmarks/load
OUT=artifacts/profile
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

. resources/scripts/lib/processes.sh
ensure_wrk
dotnet tool restore >/dev/null

echo "profile: building (Release)"
build_exe src/Gateway.Server "$OUT/gateway"
build_exe tools/Gateway.MockProvider "$OUT/mock"
build_exe benchmarks/profile/TraceSummary "$OUT/summary"

# stream-anthropic: the same mock in its Anthropic mode, translated (as in the load benchmark's translate phase).
ANTHROPIC_PROVIDERS='  claude: { type: anthropic, base_url: "http://127.0.0.1:'"$MOCK_PORT"'/v1", api_key: sk-bench-not-a-secret, discover_models: false, headers: { x-mock: "chunks=20" } }'
bench_config "$work/gateway.yaml" "$GATEWAY_PORT" "$MOCK_PORT" "" "$ANTHROPIC_PROVIDERS"
taskset -c 0 "$OUT/mock/mock-provider" --port "$MOCK_PORT" > "$work/mock.log" 2>&1 & pids+=($!)
wait_ready "http://127.0.0.1:$MOCK_PORT/v1/models"
taskset -c 1 "$OUT/gateway/gateway" --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 & GATEWAY_PID=$!; pids+=($GATEWAY_PID)
wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"

run_wrk() { # body seconds -> RESULT line (bodies named *-messages go to Anthropic's /v1/messages)
  local path=/v1/chat/completions
  case "$1" in *-messages) path=/v1/messages ;; esac
  BODY_FILE="$LOAD/bodies/$1.json" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"$2s" -s "$LOAD/post.lua" \
    "http://127.0.0.1:$GATEWAY_PORT$path" | grep '^RESULT'
}

# trace WORKLOAD PROFILE: the trace file, under load, and the requests served while it ran (wrk's rate × its length).
trace() {
  local file="$work/$1-$2.nettrace" line
  run_wrk "$1" $((TRACE_SECONDS + 4)) > "$work/wrk.out" & local load=$!
  sleep 2
  dotnet tool run dotnet-trace -- collect -p "$GATEWAY_PID" --profile "$2" --duration "00:00:00:$TRACE_SECONDS" -o "$file" >/dev/null
  wait "$load"
  line=$(sed 's/^RESULT //' "$work/wrk.out"); eval "$line"
  echo "$file $((requests * TRACE_SECONDS * 1000000 / duration_us))"
}

machine="$(hostname -s 2>/dev/null || echo machine)"
report="${REPORT:-benchmarks/results/$(date +%Y-%m-%d)-$machine-profile.md}"
{
  echo "# Profile: Gateway under load ($(date +%Y-%m-%d), $machine)"
  echo
  echo "Produced by \`./build.sh bench profile\` ($CONNECTIONS connections, ${WARMUP} s warm-up per workload, ${TRACE_SECONDS} s per trace;"
  echo "the gateway alone on CPU 1, wrk and the mock provider on CPU 0; telemetry off). CPU: the EventPipe sample profiler's"
  echo "stacks of the threads doing request work (waits, lock waits and the sampler's own suspension points left out), by the frame"
  echo "that was running. \"native\" and \"system calls\" are mostly socket sends and receives. Allocations: the runtime's"
  echo "allocation ticks (one per ~100 KB), by type and by the first gateway frame that asked for them."
} > "$work/report.md"

ticks() { awk "{print \$$1}" "/proc/$GATEWAY_PID/stat"; } # 14: user, 15: kernel (clock ticks)

for workload in $WORKLOADS; do
  echo "profile: $workload: warm-up ${WARMUP}s"
  run_wrk "$workload" "$WARMUP" >/dev/null
  # Untraced: how the gateway's CPU time splits between user space (its code, Kestrel, HttpClient, the runtime)
  # and the kernel (the socket system calls every proxy makes).
  user=$(ticks 14); kernel=$(ticks 15)
  line=$(run_wrk "$workload" 8 | sed 's/^RESULT //'); eval "$line"
  user=$(( $(ticks 14) - user )); kernel=$(( $(ticks 15) - kernel ))
  read -r cpu_file cpu_requests < <(trace "$workload" dotnet-sampled-thread-time)
  read -r alloc_file alloc_requests < <(trace "$workload" gc-verbose)
  echo "profile: $workload: traced"
  {
    echo
    echo "## $workload ($(basename "$LOAD/bodies/$workload.json"))"
    echo
    echo "### CPU (${cpu_requests} requests while tracing)"
    echo
    echo "Untraced, 8 s: $((requests / 8)) requests/s; the gateway's CPU time $(( user * 100 / (user + kernel) ))% in user space,"
    echo "$(( kernel * 100 / (user + kernel) ))% in the kernel ($(( (user + kernel) * 1000000 / $(getconf CLK_TCK) / requests )) µs per request)."
    echo
    dotnet "$OUT/summary/TraceSummary.dll" cpu "$cpu_file" "$cpu_requests" 15
    echo "### Allocations"
    echo
    dotnet "$OUT/summary/TraceSummary.dll" alloc "$alloc_file" "$alloc_requests" 12
  } >> "$work/report.md"
done
mkdir -p "$(dirname "$report")"
cp "$work/report.md" "$report"
echo "profile: wrote $report"
