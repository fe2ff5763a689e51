#!/usr/bin/env bash
# Soak: Gateway under steady mixed load (small, SSE and 64 KB requests in turn, 64 connections) for SOAK_SECONDS
# (default 600), RSS sampled after every slice. The target is a flat RSS (within ±5% of the level after warm-up).
# Same pinning as the load benchmark: wrk and the mock on CPU 0, the gateway alone on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOAK_SECONDS="${SOAK_SECONDS:-600}"
SLICE="${SLICE:-30}"
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
cat > "$work/gateway.yaml" <<YAML
server: { host: 127.0.0.1, port: $GATEWAY_PORT }
providers:
  mock: { type: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-bench-not-a-secret }
YAML
taskset -c 0 "$OUT/mock/mock-provider" --port "$MOCK_PORT" > /dev/null 2>&1 & pids+=($!)
taskset -c 1 "$OUT/gateway/gateway" --config "$work/gateway.yaml" > /dev/null 2>&1 & GATEWAY_PID=$!; pids+=($GATEWAY_PID)
wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"

report="benchmarks/results/$(date +%Y-%m-%d)-$(hostname -s 2>/dev/null || echo machine)-soak.md"
{
  echo "# Soak: Gateway RSS under ${SOAK_SECONDS}s of mixed load ($(date +%Y-%m-%d))"
  echo
  echo "Produced by \`./build.sh bench soak\`: small, SSE (20 chunks) and 64 KB requests in turn, ${SLICE}s slices, 64 connections."
  echo
  echo "| slice | workload | requests | errors (socket/non-2xx) | RSS after (MiB) |"
  echo "|---|---|---|---|---|"
} > "$report"
total=0; errors=0; samples=()
slices=$((SOAK_SECONDS / SLICE))
workloads=(small stream large)
for i in $(seq 1 "$slices"); do
  w=${workloads[$(( (i - 1) % 3 ))]}
  line=$(BODY_FILE="$LOAD/bodies/$w.json" taskset -c 0 wrk -t1 -c64 -d"${SLICE}s" -s "$LOAD/post.lua" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" | grep '^RESULT')
  eval "$(echo "$line" | sed 's/^RESULT //')"
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$GATEWAY_PID/status")
  samples+=("$rss"); total=$((total + requests)); errors=$((errors + socket_errors + non2xx))
  printf '| %s | %s | %s | %s/%s | %.1f |\n' "$i" "$w" "$requests" "$socket_errors" "$non2xx" "$(awk "BEGIN {print $rss / 1024}")" >> "$report"
  echo "soak: slice $i/$slices $w $requests requests, rss ${rss} KiB"
done
python3 - "$report" "$total" "$errors" "${samples[@]}" <<'PY'
import sys
report, total, errors, *samples = sys.argv[1:]
rss = [int(x) for x in samples]
# The level after warm-up: the first full cycle of the three workloads.
base = max(rss[:3]) if len(rss) >= 3 else rss[0]
last, peak = rss[-1], max(rss)
growth = (last - base) / base * 100
with open(report, 'a') as f:
    f.write(f"\n{int(total):,} requests, {errors} errors. RSS after the first cycle {base/1024:.1f} MiB, at the end {last/1024:.1f} MiB "
            f"({growth:+.1f}%), peak {peak/1024:.1f} MiB. Target: flat within ±5%: {'met' if abs(growth) <= 5 else '**not met**'}.\n")
print(open(report).read().splitlines()[-1])
PY
echo "soak: report written to $report"
