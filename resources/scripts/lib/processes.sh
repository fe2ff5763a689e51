# Shared by the demo and the benchmark scripts (source it; it sets a trap on EXIT).
# Builds executables, starts processes that are stopped by PID when the script ends, and waits for them.

# A scratch directory and the PIDs to stop, both cleaned up on exit.
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# build_exe PROJECT OUTPUT_DIR: a Release build of one project into its own folder.
build_exe() {
  dotnet build "$1" -c Release --nologo -v quiet -clp:ErrorsOnly -o "$2" >/dev/null
}

# wait_ready URL: until URL answers 2xx (10 s at most); else says so and fails (under set -e: the script).
wait_ready() {
  for _ in $(seq 1 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "$(basename "$0"): $1 did not come up" >&2
  return 1
}

# ensure_wrk: install Debian's wrk when it is missing.
ensure_wrk() {
  command -v wrk >/dev/null && return 0
  echo "$(basename "$0"): installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else sudo apt-get install -y -qq wrk >/dev/null; fi
}

# bench_config FILE PORT MOCK_PORT [TELEMETRY [MORE_PROVIDERS]]: the gateway config of the load benchmark and the
# profile: the mock as its provider, 16 MiB bodies allowed, telemetry off (like the YARP baseline) unless TELEMETRY
# says otherwise; MORE_PROVIDERS are extra lines under providers: (a build that knows them).
bench_config() {
  cat > "$1" <<YAML
server: { host: 127.0.0.1, port: $2, max_request_body_bytes: 16777216 }
providers:
  mock: { type: openai, base_url: "http://127.0.0.1:$3/v1", api_key: sk-bench-not-a-secret }
${5:-}
telemetry: ${4:-"{ metrics: false, traces: false }"}
YAML
}
