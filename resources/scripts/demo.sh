#!/usr/bin/env bash
# ./build.sh demo: the gateway in front of the bundled mock provider, no API key needed.
# Starts both on loopback, shows a streamed and a plain completion, then stops both (by PID).
#   DEMO_GATEWAY_PORT (default 8080)  DEMO_MOCK_PORT (default 8081)
set -euo pipefail
cd "$(dirname "$0")/../.."
GATEWAY_PORT="${DEMO_GATEWAY_PORT:-8080}"
MOCK_PORT="${DEMO_MOCK_PORT:-8081}"
OUT=artifacts/bin
. resources/scripts/lib/processes.sh
command -v curl >/dev/null || { echo "demo: curl is required (apt-get install -y curl)" >&2; exit 1; }

echo "demo: building the gateway and the mock provider (Release)..."
build_exe src/Gateway.Server "$OUT/gateway"
build_exe tools/Gateway.MockProvider "$OUT/mock-provider"

cat > "$work/config.yaml" <<YAML
server: { host: 127.0.0.1, port: $GATEWAY_PORT }
providers:
  mock:
    type: openai
    base_url: http://127.0.0.1:$MOCK_PORT/v1
strategies:
  smart: { targets: [mock/llama-3-8b] }
YAML

"$OUT/mock-provider/mock-provider" --port "$MOCK_PORT" --chunks 8 --chunk-delay-ms 150 > "$work/mock.log" 2>&1 &
pids+=($!)
"$OUT/gateway/gateway" --config "$work/config.yaml" > "$work/gateway.log" 2>&1 &
pids+=($!)

wait_ready "http://127.0.0.1:$GATEWAY_PORT/readyz" || { cat "$work/gateway.log"; exit 1; }

echo; echo "== gateway start-up =="; cat "$work/gateway.log"
echo; echo "== streamed completion (model mock/llama-3-8b): events arrive one by one =="
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" MODEL=mock/llama-3-8b resources/scripts/streaming_request.sh
echo; echo "== plain completion through the 'smart' strategy =="
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" MODEL=smart resources/scripts/non_streaming_request.sh
echo "demo: done (both processes are stopped now)."
