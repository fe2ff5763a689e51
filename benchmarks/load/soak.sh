#!/usr/bin/env bash
# Soak: Gateway under steady load for SOAK_SECONDS (default 600) at 64 connections, sampled after every slice.
#   ./build.sh bench soak          small, SSE and 64 KB requests in turn; target: a flat RSS (±5% of the level after
#                                  the first cycle)
#   ./build.sh bench soak faults   small and SSE requests, FAULT_PERCENT (default 5) of them asking the mock for a
#                                  failure before or after the commit point (faults.lua); targets: flat RSS, flat
#                                  open file descriptors, no error-level log line, no unobserved task exception
# Same pinning as the load benchmark: wrk and the mock on CPU 0, the gateway alone on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE="${1:-mixed}"
case "$MODE" in mixed|faults) ;; *) echo "usage: soak.sh [mixed|faults]" >&2; exit 2 ;; esac
SOAK_SECONDS="${SOAK_SECONDS:-600}"
SLICE="${SLICE:-30}"
FAULT_PERCENT="${FAULT_PERCENT:-5}"
PORT_BASE="${PORT_BASE:-18000}"
MOCK_PORT=$((PORT_BASE + 81)); GATEWAY_PORT=$((PORT_BASE + 80))
LOAD=benchmarks/load
OUT=artifacts/bench
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
. resources/scripts/lib/processes.sh
ensure_wrk
ulimit -n 65536 2>/dev/null || true

build_exe src/Gateway.Server "$OUT/gateway"
build_exe tools/Gateway.MockProvider "$OUT/mock"
# Faults mode: short timeouts, so that a hanging provider costs a connection half a second, not the defaults' minutes.
provider_options=""
[ "$MODE" = faults ] && provider_options=", timeout: 500ms, stream_idle_timeout: 500ms"
cat > "$work/gateway.yaml" <<YAML
server: { host: 127.0.0.1, port: $GATEWAY_PORT }
providers:
  mock: { type: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-bench-not-a-secret$provider_options }
YAML
taskset -c 0 "$OUT/mock/mock-provider" --port "$MOCK_PORT" > /dev/null 2>&1 & pids+=($!)
taskset -c 1 "$OUT/gateway/gateway" --config "$work/gateway.yaml" > "$OUT/soak-gateway.log" 2>&1 & GATEWAY_PID=$!; pids+=($GATEWAY_PID)
wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"

suffix=soak; [ "$MODE" = faults ] && suffix=soak-faults
report="benchmarks/results/$(date +%Y-%m-%d)-$(hostname -s 2>/dev/null || echo machine)-$suffix.md"
{
  if [ "$MODE" = faults ]; then
    echo "# Soak with faults: Gateway under ${SOAK_SECONDS}s of load, ${FAULT_PERCENT}% of requests failing ($(date +%Y-%m-%d))"
    echo
    echo "Produced by \`./build.sh bench soak faults\`: small and SSE (20 chunks) requests in equal parts, ${FAULT_PERCENT}% of"
    echo "them asking the mock for a failure (500, 429, reset before headers, no headers within the 500 ms timeout, an error"
    echo "as the first event, a stream cut after 5 chunks, a stream stalled after 5 chunks: \`faults.lua\`), ${SLICE}s"
    echo "slices, 64 connections. Failed requests are expected: a clean error status before the commit point"
    echo "(non-2xx), an error event and an abnormal end after it (wrk counts those as read errors)."
  else
    echo "# Soak: Gateway RSS under ${SOAK_SECONDS}s of mixed load ($(date +%Y-%m-%d))"
    echo
    echo "Produced by \`./build.sh bench soak\`: small, SSE (20 chunks) and 64 KB requests in turn, ${SLICE}s slices, 64 connections."
  fi
  echo
  echo "| slice | workload | requests | errors (socket/non-2xx) | RSS after (MiB) | open fds | TIME_WAIT sockets |"
  echo "|---|---|---|---|---|---|---|"
} > "$report"
total=0; errors=0; rss_samples=(); fd_samples=()
slices=$((SOAK_SECONDS / SLICE))
workloads=(small stream large)
for i in $(seq 1 "$slices"); do
  if [ "$MODE" = faults ]; then
    w=faults
    line=$(BODIES="$LOAD/bodies" FAULT_PERCENT="$FAULT_PERCENT" taskset -c 0 wrk -t1 -c64 -d"${SLICE}s" -s "$LOAD/faults.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" | grep '^RESULT')
  else
    w=${workloads[$(( (i - 1) % 3 ))]}
    line=$(BODY_FILE="$LOAD/bodies/$w.json" taskset -c 0 wrk -t1 -c64 -d"${SLICE}s" -s "$LOAD/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" | grep '^RESULT')
  fi
  eval "$(echo "$line" | sed 's/^RESULT //')"
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status")
  fds=$(ls "/proc/$GATEWAY_PID/fd" | wc -l)
  time_wait=$(ss -Htan state time-wait | wc -l)
  rss_samples+=("$rss"); fd_samples+=("$fds"); total=$((total + requests)); errors=$((errors + socket_errors + non2xx))
  printf '| %s | %s | %s | %s/%s | %.1f | %s | %s |\n' "$i" "$w" "$requests" "$socket_errors" "$non2xx" "$(awk "BEGIN {print $rss / 1024}")" "$fds" "$time_wait" >> "$report"
  echo "soak: slice $i/$slices $w $requests requests, $socket_errors/$non2xx errors, rss ${rss} KiB, $fds fds, $time_wait in TIME_WAIT"
done
# Error-level lines ("fail:"/"crit:" in the console format) mean a bug, not a provider's failure (those are warnings).
error_lines=$(grep -cE '^([0-9:.]+ )?(fail|crit): ' "$OUT/soak-gateway.log" || true)
unobserved=$(grep -c 'unobserved' "$OUT/soak-gateway.log" || true)
python3 - "$report" "$MODE" "$total" "$errors" "$error_lines" "$unobserved" "${#rss_samples[@]}" "${rss_samples[@]}" "${fd_samples[@]}" <<'PY'
import sys
report, mode, total, errors, error_lines, unobserved, count, *rest = sys.argv[1:]
count = int(count)
rss = [int(x) for x in rest[:count]]
fds = [int(x) for x in rest[count:]]
# The level after warm-up: the first full cycle (three slices).
base = max(rss[:3]) if len(rss) >= 3 else rss[0]
last, peak = rss[-1], max(rss)
growth = (last - base) / base * 100
lines = [f"{int(total):,} requests, {int(errors):,} failed. RSS after the first cycle {base/1024:.1f} MiB, at the end {last/1024:.1f} MiB "
         f"({growth:+.1f}%), peak {peak/1024:.1f} MiB. Target: flat within ±5%: {'met' if abs(growth) <= 5 else '**not met**'}."]
if mode == "faults":
    fd_base = max(fds[:3]) if len(fds) >= 3 else fds[0]
    lines.append(f"Open file descriptors: {fds[0]} after the first slice, at most {fd_base} in the first cycle, {fds[-1]} at the end, "
                 f"at most {max(fds)}. Target: no growth beyond the first cycle's level (+10%): "
                 f"{'met' if fds[-1] <= fd_base * 1.1 else '**not met**'}.")
    lines.append(f"Error-level log lines: {error_lines}; unobserved task exceptions: {unobserved}. Target: none: "
                 f"{'met' if int(error_lines) == 0 and int(unobserved) == 0 else '**not met**'}.")
with open(report, 'a') as f:
    f.write("\n" + "\n\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "soak: report written to $report"
