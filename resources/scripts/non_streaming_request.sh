#!/usr/bin/env bash
# A chat completion through the gateway, answered in one JSON document.
#   GATEWAY_URL (default http://127.0.0.1:8080)  MODEL (default local/llama-3-8b)  GATEWAY_KEY (optional)
set -euo pipefail
GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
MODEL="${MODEL:-local/llama-3-8b}"
auth=()
[ -n "${GATEWAY_KEY:-}" ] && auth=(-H "Authorization: Bearer ${GATEWAY_KEY}")
curl -sS --fail-with-body -i "${auth[@]}" \
  -H 'Content-Type: application/json' \
  "$GATEWAY_URL/v1/chat/completions" \
  -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in five words.\"}]}"
echo
