#!/usr/bin/env bash
# Hot swap under load (issue 6): orders offered at RATE/s through the default manifest's full
# pipeline (predictor, rules, durable commit, dispatch to the stand-in warehouse), and at
# SWAP_AT seconds a live apply that swaps rules, predictor and connector for new images of
# themselves. Prints orders lost and duplicated (from every order's timeline), intake latency
# before and during the swap, and the time from apply to the new versions serving.
# Build first: swift build -c release (the default manifest is pinned to the fresh build here)
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${RATE:-5000}
SECONDS_OF_LOAD=${SECONDS_OF_LOAD:-8}
SWAP_AT=${SWAP_AT:-4}
PORT=${PORT:-19191}
bin=.build/release/orderhub
tmp=$(mktemp -d)
trap 'kill $vendor 2>/dev/null || true; rm -rf "$tmp"' EXIT
$bin manifest pin manifests/default.yaml > /dev/null
$bin dev vendors --port "$PORT" > "$tmp/vendor.log" 2>&1 & vendor=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$PORT/sink" && break; sleep 0.1; done
$bin bench-swap --manifest manifests/default.yaml --vendor "http://127.0.0.1:$PORT" \
  --rate "$RATE" --seconds "$SECONDS_OF_LOAD" --swap-at "$SWAP_AT" ${SLOTS:+--slots "$SLOTS"}
