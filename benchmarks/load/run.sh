#!/usr/bin/env bash
# End-to-end load benchmark: the same mock provider reached directly, through a minimal YARP 2.3 proxy, and
# through Gateway, in one run. The load generator (wrk, or the stream probe) and the mock share CPU 0; the proxy
# under test runs alone on CPU 1. Proxy CPU time comes from /proc/PID/stat around each level, peak RSS from
# /proc/PID/status. Every level runs twice (two rounds): quote medians and ratios, never one absolute time.
#
# Settings (environment): DURATION=8 (s per level)  WARMUP=60 (s per server before round 1; 10 before later rounds)
#   LEVELS="1 16 64 256"
#   ROUNDS=2  RUNS_PER_LEVEL=2 (runs of each proxy per level and round, interleaved)  IDLE_STREAMS=2000  PORT_BASE=18000
#   TELEMETRY_PAIRS=4 TELEMETRY_SECONDS=8 TELEMETRY_CONNECTIONS=64 (the telemetry on/off comparison, see below)
#   PHASES="main telemetry ttft translate idle" (run only some, e.g. PHASES=telemetry for a quick look at that one)
#   TRANSLATE_PAIRS=4 (translate: passthrough and Anthropic-translated streams through the same gateway, interleaved;
#     messages: the passthrough stream for /v1/chat/completions and the same through Anthropic's /v1/messages)
#   REPORT=benchmarks/results/<date>-<machine>.md (where the report goes)
#   BASELINE=<git revision> (an A/B of two builds: that revision's Gateway runs in YARP's place, same config, and the
#     report calls it "baseline <revision>"; the ratio column is then this build's CPU per request over the baseline's)
#
# "gateway" runs with telemetry off, like the YARP baseline; "otel" is the same gateway with metrics on and traces on
# at a 10% sample (no exporter endpoint). A few percent is below this machine's noise between two runs minutes
# apart, so the two are loaded at the same time, both on CPU 1: the noise hits both alike, and each one's CPU per
# request over the same seconds gives the cost (the proxies are CPU-bound, so throughput follows its inverse).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${DURATION:-8}"
# Pinned to one busy CPU, .NET keeps re-compiling hot methods (tiered compilation, dynamic PGO) for about 40 s of
# saturated load: measured earlier, a server is still warming up and its numbers swing by tens of percent.
WARMUP="${WARMUP:-60}"
LEVELS="${LEVELS:-1 16 64 256}"
ROUNDS="${ROUNDS:-2}"
RUNS_PER_LEVEL="${RUNS_PER_LEVEL:-2}"
IDLE_STREAMS="${IDLE_STREAMS:-2000}"
PORT_BASE="${PORT_BASE:-18000}"
TELEMETRY_PAIRS="${TELEMETRY_PAIRS:-4}"
TELEMETRY_SECONDS="${TELEMETRY_SECONDS:-8}"
PHASES="${PHASES:-main telemetry ttft translate messages idle}"
TRANSLATE_PAIRS="${TRANSLATE_PAIRS:-4}"
BASELINE="${BASELINE:-}"
TELEMETRY_CONNECTIONS="${TELEMETRY_CONNECTIONS:-64}"
MOCK_PORT=$((PORT_BASE + 81)); GATEWAY_PORT=$((PORT_BASE + 80)); YARP_PORT=$((PORT_BASE + 90)); OTEL_PORT=$((PORT_BASE + 85))
LOAD=benchmarks/load
OUT=artifacts/bench
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

. resources/scripts/lib/processes.sh
ensure_wrk
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "bench: building (Release)"
build_exe src/Gateway.Server "$OUT/gateway"
build_exe tools/Gateway.MockProvider "$OUT/mock"
if [ -n "$BASELINE" ]; then
  # The other build, from a worktree of this repository at that revision, in YARP's slot.
  rm -rf "$OUT/baseline-src"; git worktree prune
  git worktree add --detach "$OUT/baseline-src" "$BASELINE" >/dev/null
  build_exe "$OUT/baseline-src/src/Gateway.Server" "$OUT/yarp"
  git worktree remove --force "$OUT/baseline-src"
  export BASELINE_NAME="baseline $(git rev-parse --short "$BASELINE")"
else
  build_exe "$LOAD/YarpBaseline" "$OUT/yarp"
fi
build_exe "$LOAD/StreamProbe" "$OUT/probe"

# The translate phase: the same mock in its Anthropic mode (x-mock: its per-provider behaviour, 20 deltas like the
# passthrough stream's 20 chunks; 5 ms apart for time to first token).
ANTHROPIC_PROVIDERS='  claude: { type: anthropic, base_url: "http://127.0.0.1:'"$MOCK_PORT"'/v1", api_key: sk-bench-not-a-secret, discover_models: false, headers: { x-mock: "chunks=20" } }
  claude-ttft: { type: anthropic, base_url: "http://127.0.0.1:'"$MOCK_PORT"'/v1", api_key: sk-bench-not-a-secret, discover_models: false, headers: { x-mock: "chunks=20,chunk_delay_ms=5" } }'
bench_config "$work/gateway.yaml" "$GATEWAY_PORT" "$MOCK_PORT" "" "$ANTHROPIC_PROVIDERS"
bench_config "$work/baseline.yaml" "$YARP_PORT" "$MOCK_PORT"
# The comparison proxy on CPU 1: YARP, or with BASELINE the other Gateway build.
start_yarp() {
  if [ -n "$BASELINE" ]; then
    taskset -c 1 "$OUT/yarp/gateway" --config "$work/baseline.yaml" > "$1" 2>&1 & YARP_PID=$!
  else
    taskset -c 1 "$OUT/yarp/YarpBaseline" --port "$YARP_PORT" --destination "http://127.0.0.1:$MOCK_PORT/" > "$1" 2>&1 & YARP_PID=$!
  fi
  pids+=($YARP_PID)
}
bench_config "$work/otel.yaml" "$OTEL_PORT" "$MOCK_PORT" "{ metrics: true, traces: true, sample_ratio: 0.1 }"

# 20 chunks by default: what every stream body asks for, and what a /v1/messages body (which cannot carry the mock's
# own "mock" object through the translation) gets.
taskset -c 0 "$OUT/mock/mock-provider" --port "$MOCK_PORT" --chunks 20 > "$work/mock.log" 2>&1 & pids+=($!)
wait_ready "http://127.0.0.1:$MOCK_PORT/v1/models"
taskset -c 1 "$OUT/gateway/gateway" --config "$work/gateway.yaml" > "$work/gateway.log" 2>&1 & GATEWAY_PID=$!; pids+=($GATEWAY_PID)
start_yarp "$work/yarp.log"
taskset -c 1 "$OUT/gateway/gateway" --config "$work/otel.yaml" > "$work/otel.log" 2>&1 & OTEL_PID=$!; pids+=($OTEL_PID)
wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"
wait_ready "http://127.0.0.1:$OTEL_PORT/healthz"
wait_ready "http://127.0.0.1:$YARP_PORT/v1/models"

port_of() { case "$1" in direct) echo "$MOCK_PORT" ;; yarp) echo "$YARP_PORT" ;; gateway) echo "$GATEWAY_PORT" ;; otel) echo "$OTEL_PORT" ;; esac; }
pid_of() { case "$1" in direct) echo 0 ;; yarp) echo "$YARP_PID" ;; gateway) echo "$GATEWAY_PID" ;; otel) echo "$OTEL_PID" ;; esac; }
cpu_ticks() { [ "$1" = 0 ] && echo 0 && return; awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { [ "$1" = 0 ] && echo 0 && return; awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kib() { [ "$1" = 0 ] && echo 0 && return; awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

RESULTS="$work/results.tsv"
TELEMETRY="$work/telemetry.tsv"
for f in "$RESULTS" "$TELEMETRY"; do
  printf 'round\tworkload\tconnections\tvariant\trequests\tseconds\tsocket_errors\tnon2xx\tp50_us\tp99_us\tcpu_ticks\ttick_hz\n' > "$f"
done

run_wrk() { # variant body connections seconds -> RESULT line (bodies named *-messages go to Anthropic's /v1/messages)
  local path=/v1/chat/completions
  case "$2" in *-messages) path=/v1/messages ;; esac
  BODY_FILE="$LOAD/bodies/$2.json" taskset -c 0 wrk -t1 -c"$3" -d"$4s" --latency -s "$LOAD/post.lua" \
    "http://127.0.0.1:$(port_of "$1")$path" | grep '^RESULT'
}

measure() { # round workload connections variant [seconds [file]]
  local pid before after line out="${6:-$RESULTS}"
  pid=$(pid_of "$4")
  before=$(cpu_ticks "$pid")
  line=$(run_wrk "$4" "$2" "$3" "${5:-$DURATION}")
  after=$(cpu_ticks "$pid")
  # RESULT requests=N duration_us=N socket_errors=N non2xx=N p50_us=N p99_us=N
  eval "$(echo "$line" | sed 's/^RESULT //')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$requests" \
    "$(awk "BEGIN {print $duration_us / 1e6}")" "$socket_errors" "$non2xx" "$p50_us" "$p99_us" "$((after - before))" "$TICK" >> "$out"
  printf '  round %s %-6s c=%-3s %-8s %8s req  p50 %6s us  p99 %7s us  errors %s/%s  cpu %s ticks\n' \
    "$1" "$2" "$3" "$4" "$requests" "$p50_us" "$p99_us" "$socket_errors" "$non2xx" "$((after - before))"
}

probe() { # variant body args...
  local variant=$1 body=$2; shift 2
  taskset -c 0 "$OUT/probe/StreamProbe" "$@" --url "http://127.0.0.1:$(port_of "$variant")/v1/chat/completions" --body "$LOAD/bodies/$body.json"
}

measure_together() { # label workload connections: telemetry off and on, under the same load at the same time
  local off_before on_before off_after on_after off_wrk on_wrk variant ticks
  off_before=$(cpu_ticks "$GATEWAY_PID"); on_before=$(cpu_ticks "$OTEL_PID")
  run_wrk gateway "$2" "$3" "$TELEMETRY_SECONDS" > "$work/together-gateway" & off_wrk=$!
  run_wrk otel "$2" "$3" "$TELEMETRY_SECONDS" > "$work/together-otel" & on_wrk=$!
  wait "$off_wrk" "$on_wrk"
  off_after=$(cpu_ticks "$GATEWAY_PID"); on_after=$(cpu_ticks "$OTEL_PID")
  for variant in gateway otel; do
    eval "$(sed 's/^RESULT //' "$work/together-$variant")"
    ticks=$((off_after - off_before)); [ "$variant" = otel ] && ticks=$((on_after - on_before))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$variant" "$requests" \
      "$(awk "BEGIN {print $duration_us / 1e6}")" "$socket_errors" "$non2xx" "$p50_us" "$p99_us" "$ticks" "$TICK" >> "$TELEMETRY"
    printf '  round %s %-6s c=%-3s %-8s %8s req  together  errors %s/%s  cpu %s ticks\n' "$1" "$2" "$3" "$variant" "$requests" "$socket_errors" "$non2xx" "$ticks"
  done
}
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

# YARP and Gateway run RUNS_PER_LEVEL times each per level, interleaved and mirrored (Y G G Y, and G Y Y G in the
# next round), so a drift of the machine's speed during a level hits both alike; the report adds up their runs.
proxy_order() { # round
  local order="" i first=yarp second=gateway
  [ $(($1 % 2)) = 0 ] && first=gateway second=yarp
  for i in $(seq 1 "$RUNS_PER_LEVEL"); do
    if [ $((i % 2)) = 1 ]; then order="$order $first $second"; else order="$order $second $first"; fi
  done
  echo "$order"
}

TRANSLATE="$work/translate.tsv"
printf 'round\tworkload\tconnections\tvariant\trequests\tseconds\tsocket_errors\tnon2xx\tp50_us\tp99_us\tcpu_ticks\ttick_hz\n' > "$TRANSLATE"
TRANSLATE_TTFT="$work/translate-ttft.tsv"
printf 'round\tconnections\tvariant\trequests\terrors\tttft_p50_ms\tttft_p99_ms\tfirst_delay_p50_ms\tfirst_delay_p99_ms\tchunk_delay_p50_ms\tchunk_delay_p99_ms\n' > "$TRANSLATE_TTFT"

TTFT="$work/ttft.tsv"
printf 'round\tconnections\tvariant\trequests\terrors\tttft_p50_ms\tttft_p99_ms\tfirst_delay_p50_ms\tfirst_delay_p99_ms\tchunk_delay_p50_ms\tchunk_delay_p99_ms\n' > "$TTFT"

for round in $(seq 1 "$ROUNDS"); do
  warmup=$WARMUP; [ "$round" = 1 ] || warmup=$((WARMUP < 10 ? WARMUP : 10))
  echo "bench: round $round: warm-up (${warmup}s per server)"
  for variant in direct yarp gateway otel; do
    run_wrk "$variant" small 64 "$warmup" >/dev/null
    run_wrk "$variant" large 16 3 >/dev/null
    run_wrk "$variant" stream 16 3 >/dev/null
  done
  has_phase main && for workload in small large stream; do
    for connections in $LEVELS; do
      for variant in direct $(proxy_order "$round"); do
        measure "$round" "$workload" "$connections" "$variant"
      done
    done
  done
  has_phase telemetry && for workload in small stream; do
    # The telemetry-on gateway idled through the main phase: warm both again first.
    run_wrk gateway "$workload" 16 3 >/dev/null
    run_wrk otel "$workload" 16 3 >/dev/null
    for pair in $(seq 1 "$TELEMETRY_PAIRS"); do
      measure_together "$round.$pair" "$workload" "$TELEMETRY_CONNECTIONS"
    done
  done
  has_phase ttft && for connections in 1 64; do
    for variant in direct $(proxy_order "$round"); do
      line=$(probe "$variant" ttft ttft --connections "$connections" --seconds "$DURATION")
      eval "$line"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$connections" "$variant" "$requests" "$errors" \
        "$ttft_p50_ms" "$ttft_p99_ms" "$first_delay_p50_ms" "$first_delay_p99_ms" "$chunk_delay_p50_ms" "$chunk_delay_p99_ms" >> "$TTFT"
      echo "  round $round ttft   c=$connections $variant: $line"
    done
  done
  # The translation's price: a passthrough stream and the same stream translated from Anthropic's format, through
  # the same gateway process, interleaved in pairs so the machine's drift hits both; CPU per request from its ticks.
  if has_phase translate; then
    run_wrk gateway stream-anthropic 16 3 >/dev/null
    for pair in $(seq 1 "$TRANSLATE_PAIRS"); do
      for workload in stream stream-anthropic; do
        measure "$round" "$workload" 64 gateway "$DURATION" "$TRANSLATE"
      done
    done
    for body in ttft ttft-anthropic; do
      for pair in 1 2; do
        line=$(probe gateway "$body" ttft --connections 1 --seconds "$DURATION")
        eval "$line"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" 1 "$body" "$requests" "$errors" \
          "$ttft_p50_ms" "$ttft_p99_ms" "$first_delay_p50_ms" "$first_delay_p99_ms" "$chunk_delay_p50_ms" "$chunk_delay_p99_ms" >> "$TRANSLATE_TTFT"
        echo "  round $round translate ttft c=1 $body: $line"
      done
    done
  fi
  # /v1/messages: Anthropic's entry point over the same OpenAI provider (request to the pivot, the answer to events).
  if has_phase messages; then
    # Warmed like a server (the warm-up above ran only the chat path): a path run for seconds is still being
    # recompiled, and the first pair after a short warm-up measured the JIT, not the path.
    run_wrk gateway stream-messages 64 "$warmup" >/dev/null
    # Mirrored pairs (AB, BA, AB...): a drift of the machine's speed across a pair does not favour one side.
    for pair in $(seq 1 "$TRANSLATE_PAIRS"); do
      order="stream stream-messages"
      [ $((pair % 2)) -eq 0 ] && order="stream-messages stream"
      for workload in $order; do
        measure "$round" "$workload" 64 gateway "$DURATION" "$TRANSLATE"
      done
    done
  fi
done

PEAK="$work/peak.tsv"
printf 'variant\tpeak_rss_kib\n' > "$PEAK"
for variant in yarp gateway; do printf '%s\t%s\n' "$variant" "$(peak_rss_kib "$(pid_of "$variant")")" >> "$PEAK"; done

IDLE="$work/idle.tsv"
printf 'variant\tprocess\tstreams\topen\trss_before_kib\trss_open_kib\n' > "$IDLE"
idle_streams() { # variant process(after-load|fresh)
  local pid before open_rss ready open probe_pid
  pid=$(pid_of "$1")
  before=$(rss_kib "$pid")
  probe "$1" idle idle --streams "$IDLE_STREAMS" --hold-seconds 5 > "$work/idle-$1-$2.out" &
  probe_pid=$!
  until grep -q READY "$work/idle-$1-$2.out" 2>/dev/null; do
    kill -0 "$probe_pid" 2>/dev/null || break
    sleep 0.1
  done
  open_rss=$(rss_kib "$pid")
  wait "$probe_pid" || true
  ready=$(grep READY "$work/idle-$1-$2.out" || echo "READY open=0")
  open=$(echo "$ready" | sed -n 's/.*open=\([0-9]*\).*/\1/p')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$IDLE_STREAMS" "$open" "$before" "$open_rss" >> "$IDLE"
  echo "  idle streams $1 ($2): $ready rss ${before} -> ${open_rss} KiB"
}
if has_phase idle; then
# Twice per proxy: in the process that just served the whole run (its pools and heap sized by the 64 KB and
# 256-connection levels), and in a fresh process after a short warm-up (what the streams themselves cost).
for variant in yarp gateway; do idle_streams "$variant" after-load; done
kill "$YARP_PID" "$GATEWAY_PID"; wait "$YARP_PID" "$GATEWAY_PID" 2>/dev/null || true
taskset -c 1 "$OUT/gateway/gateway" --config "$work/gateway.yaml" > "$work/gateway-fresh.log" 2>&1 & GATEWAY_PID=$!; pids+=($GATEWAY_PID)
start_yarp "$work/yarp-fresh.log"
wait_ready "http://127.0.0.1:$GATEWAY_PORT/healthz"
wait_ready "http://127.0.0.1:$YARP_PORT/v1/models"
for variant in yarp gateway; do
  run_wrk "$variant" small 16 5 >/dev/null
  run_wrk "$variant" stream 16 3 >/dev/null
  idle_streams "$variant" fresh
done
fi

machine="$(hostname -s 2>/dev/null || echo machine)"
report="${REPORT:-benchmarks/results/$(date +%Y-%m-%d)-$machine.md}"
python3 "$LOAD/report.py" "$RESULTS" "$TTFT" "$PEAK" "$IDLE" "$DURATION" "$WARMUP" "$TELEMETRY" "$TRANSLATE" "$TRANSLATE_TTFT" > "$report"
echo "bench: report written to $report"
