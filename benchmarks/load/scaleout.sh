#!/usr/bin/env bash
# Scale-out load benchmark: what sharing a key's limits through Redis costs one gateway replica, in one run.
# Variants, every one with the same key and limits (high enough never to refuse, except gw-redis-reject):
#   gw-local         no state section: limits per process (the baseline)
#   gw-redis         state: redis on loopback, healthy
#   gw-redis-rtt     the same Redis behind tcp-delay: +0.25 ms each way (about a same-zone network)
#   gw-redis-down    Redis configured but not running (the degraded path once the health breaker is open)
#   gw-redis-reject  the key far over its rpm: refused from the negative cache
#   gw-redis-exact   as gw-redis with borrow_max: 0 (every admission a round trip: the cost borrowing saves)
#   gw-control       a second gw-local: the difference two identical gateways show is this machine's resolution
# This machine's speed drifts by tens of percent between runs minutes apart, so each variant is measured TOGETHER
# with gw-local: both gateways on CPU 1, loaded at the same time by two wrk on CPU 0 (with the mock, redis-server
# and tcp-delay), PAIRS times per level; the drift hits both alike and each one's CPU per request over the same
# seconds gives the difference. CPU per request from /proc/PID/stat; Redis commands per request from INFO
# commandstats. Quote the differences within one run, never one absolute number.
#
# MODE=alternate instead runs the two in turn, each alone on CPU 1, mirrored per pair (local-variant, variant-local):
# the drift is shared less well, but neither process's threads take CPU from the other's (a variant with more busy
# threads wins more of a shared core, which "together" counts as its cost).
#
# Settings (environment): DURATION=8 (s per level)  WARMUP=20 (s per gateway pair)  PAIRS=3  LEVELS="1 64"  MODE=together
#   PORT_BASE=18200  VARIANTS="gw-redis gw-redis-exact gw-redis-rtt gw-redis-down gw-redis-reject gw-control"
#   REPORT=benchmarks/results/<date>-<machine>-scaleout.md
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-8}"
WARMUP="${WARMUP:-20}"
PAIRS="${PAIRS:-3}"
MODE="${MODE:-together}"
LEVELS="${LEVELS:-1 64}"
PORT_BASE="${PORT_BASE:-18200}"
MOCK_PORT=$((PORT_BASE + 1)); GATEWAY_PORT=$((PORT_BASE + 2)); LOCAL_PORT=$((PORT_BASE + 6)); REDIS_PORT=$((PORT_BASE + 3)); DELAY_PORT=$((PORT_BASE + 4)); DOWN_PORT=$((PORT_BASE + 5))
LOAD=benchmarks/load
OUT=artifacts/bench
KEY=bench-scaleout-key-0123456789
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 AUTH_KEY="$KEY"

. resources/scripts/lib/processes.sh
ensure_wrk
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "bench: building (Release)"
build_exe src/Gateway.Server "$OUT/gateway"
build_exe tools/Gateway.MockProvider "$OUT/mock"
build_exe "$LOAD/TcpDelay" "$OUT/tcp-delay"

taskset -c 0 "$OUT/mock/mock-provider" --port "$MOCK_PORT" --chunks 20 > "$work/mock.log" 2>&1 & pids+=($!)
taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no > "$work/redis.log" 2>&1 & pids+=($!)
taskset -c 0 "$OUT/tcp-delay/TcpDelay" --listen "$DELAY_PORT" --target "$REDIS_PORT" --delay-us 250 > "$work/delay.log" 2>&1 & pids+=($!)
wait_ready "http://127.0.0.1:$MOCK_PORT/v1/models"
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done

config() { # variant port -> gateway config
  local rpm=10000000 state=""
  case "$1" in
    # The shared path itself is measured with a roomy budget: here Redis shares CPU 0 with the two load generators and
    # the mock, all saturated, and misses the default 5 ms often enough that the replica would run degraded instead.
    gw-redis) state="state: { backend: redis, url: \"redis://127.0.0.1:$REDIS_PORT\", timeout: 100ms }" ;;
    gw-redis-exact) state="state: { backend: redis, url: \"redis://127.0.0.1:$REDIS_PORT\", timeout: 100ms, borrow_max: 0 }" ;;
    gw-redis-rtt) state="state: { backend: redis, url: \"redis://127.0.0.1:$DELAY_PORT\", timeout: 100ms }" ;;
    gw-redis-down) state="state: { backend: redis, url: \"redis://127.0.0.1:$DOWN_PORT\" }" ;;
    gw-redis-reject) state="state: { backend: redis, url: \"redis://127.0.0.1:$REDIS_PORT\" }"; rpm=1 ;;
  esac
  # Metrics on for every variant alike: the gateway's own counts tell borrowed and locally decided admissions apart.
  bench_config "$work/$1.yaml" "$2" "$MOCK_PORT" "{ metrics: true, traces: false }" \
    "auth: { keys: [ { name: bench, key: \"$KEY\", rpm: $rpm, tpm: 1000000000000, max_concurrent: 100000 } ] }
$state"
}

# Commands the gateway sends (scripts and their loads): INFO commandstats also counts every command a script runs inside.
redis_calls() { redis-cli -p "$REDIS_PORT" INFO commandstats | awk -F'calls=' '/^cmdstat_(evalsha|eval|script\|load):/ {split($2, a, ","); n += a[1]} END {print n + 0}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A counter of the gateway on port $1 (0 before its first count).
counter() { curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" 'index($0, name) == 1 {v = $NF} END {print v + 0}'; }
# The variant's admissions by source, before a run and (into $borrowed and $fallback) after it; the exporter caches a
# scrape for 300 ms, so the second read waits that out (after the CPU was read: a scrape costs CPU).
admissions_before() { borrowed_before=$(counter "$GATEWAY_PORT" gateway_state_borrowed_total); fallback_before=$(counter "$GATEWAY_PORT" gateway_state_fallback_total); }
admissions_after() {
  sleep 0.4
  borrowed=$(( $(counter "$GATEWAY_PORT" gateway_state_borrowed_total) - borrowed_before ))
  fallback=$(( $(counter "$GATEWAY_PORT" gateway_state_fallback_total) - fallback_before ))
}
TICK=$(getconf CLK_TCK)

RESULTS="$work/scaleout.tsv"
printf 'round\tvariant\tconnections\trequests\tseconds\tnon2xx\tp50_us\tp99_us\tcpu_ticks\ttick_hz\tredis_calls\tborrowed\tfallback\n' > "$RESULTS"

load() { # port connections seconds file
  BODY_FILE="$LOAD/bodies/small.json" taskset -c 0 wrk -t1 -c"$2" -d"$3s" --latency -s "$LOAD/post.lua" \
    "http://127.0.0.1:$1/v1/chat/completions" | grep '^RESULT' > "$4"
}

record() { # label variant connections ticks calls file borrowed fallback
  eval "$(sed 's/^RESULT //' "$6")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$requests" \
    "$(awk "BEGIN {print $duration_us / 1e6}")" "$non2xx" "$p50_us" "$p99_us" "$4" "$TICK" "$5" "${7:-0}" "${8:-0}" >> "$RESULTS"
  printf '  %-6s %-16s c=%-3s %8s req  non2xx %7s  p50 %6s us  p99 %7s us  cpu %4s ticks  redis %7s calls\n' \
    "$1" "$2" "$3" "$requests" "$non2xx" "$p50_us" "$p99_us" "$4" "$5"
}

for variant in ${VARIANTS:-gw-redis gw-redis-exact gw-redis-rtt gw-redis-down gw-redis-reject gw-control}; do
  config gw-local "$LOCAL_PORT"
  config "$variant" "$GATEWAY_PORT"
  taskset -c 1 "$OUT/gateway/gateway" --config "$work/gw-local.yaml" > "$work/local-$variant.log" 2>&1 & local_pid=$!; pids+=($local_pid)
  taskset -c 1 "$OUT/gateway/gateway" --config "$work/$variant.yaml" > "$work/$variant.log" 2>&1 & shared_pid=$!; pids+=($shared_pid)
  wait_ready "http://127.0.0.1:$LOCAL_PORT/healthz"
  wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"
  load "$LOCAL_PORT" 64 "$WARMUP" "$work/warm-local" & a=$!
  load "$GATEWAY_PORT" 64 "$WARMUP" "$work/warm-shared" & b=$!
  wait "$a" "$b"
  for connections in $LEVELS; do
    for pair in $(seq 1 "$PAIRS"); do
      if [ "$MODE" = alternate ]; then
        # Each gateway alone on CPU 1 in turn, mirrored (local then variant, variant then local): the variant's own
        # threads (the Redis client, the flusher) cannot take CPU from the baseline's, nor the other way round.
        for order in a b; do
          for side in $([ "$order" = a ] && echo "local shared" || echo "shared local"); do
            if [ "$side" = local ]; then
              before=$(cpu_ticks "$local_pid")
              load "$LOCAL_PORT" "$connections" "$DURATION" "$work/run-local"
              record "$variant.$pair$order" gw-local "$connections" "$(( $(cpu_ticks "$local_pid") - before ))" 0 "$work/run-local"
            else
              admissions_before
              before=$(cpu_ticks "$shared_pid"); calls_before=$(redis_calls)
              load "$GATEWAY_PORT" "$connections" "$DURATION" "$work/run-shared"
              ticks=$(( $(cpu_ticks "$shared_pid") - before )); calls=$(( $(redis_calls) - calls_before ))
              admissions_after
              record "$variant.$pair$order" "$variant" "$connections" "$ticks" "$calls" "$work/run-shared" "$borrowed" "$fallback"
            fi
          done
        done
        continue
      fi
      admissions_before
      local_before=$(cpu_ticks "$local_pid"); shared_before=$(cpu_ticks "$shared_pid"); calls_before=$(redis_calls)
      load "$LOCAL_PORT" "$connections" "$DURATION" "$work/run-local" & a=$!
      load "$GATEWAY_PORT" "$connections" "$DURATION" "$work/run-shared" & b=$!
      wait "$a" "$b"
      local_after=$(cpu_ticks "$local_pid"); shared_after=$(cpu_ticks "$shared_pid"); calls_after=$(redis_calls)
      record "$variant.$pair" gw-local "$connections" "$((local_after - local_before))" 0 "$work/run-local"
      admissions_after
      record "$variant.$pair" "$variant" "$connections" "$((shared_after - shared_before))" "$((calls_after - calls_before))" "$work/run-shared" "$borrowed" "$fallback"
    done
  done
  kill "$local_pid" "$shared_pid"; wait "$local_pid" "$shared_pid" 2>/dev/null || true
done

machine="$(hostname -s 2>/dev/null || echo machine)"
report="${REPORT:-benchmarks/results/$(date +%Y-%m-%d)-$machine-scaleout.md}"
python3 "$LOAD/scaleout_report.py" "$RESULTS" "$DURATION" "$WARMUP" "$PAIRS" "$MODE" > "$report"
echo "bench: report written to $report"
