#!/usr/bin/env bash
# Runs the hub on manifests/default.yaml (embedded SQLite bus) and shows an order going through:
# builds (release), pins the fresh plugin checksums into the manifest, starts stand-in vendor
# systems (a warehouse that signs its status callbacks back to the hub), starts the hub, sends a
# sample order, prints its timeline, then keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release
bin=.build/release/orderhub
$bin manifest pin manifests/default.yaml
$bin check manifests/default.yaml

$bin dev vendors --port 9090 --callback-base http://127.0.0.1:8080 --step-ms 500 & wms=$!
$bin run --manifest manifests/default.yaml & hub=$!
trap 'kill $hub $wms 2>/dev/null; wait $hub 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:8080/v1/health >/dev/null 2>&1 && break; sleep 0.1; done

echo; echo "== POST /v1/orders (manifests/sample-order.json)"
reply=$(curl -s -X POST http://127.0.0.1:8080/v1/orders \
  -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$(date +%s%N)" \
  --data @manifests/sample-order.json)
echo "$reply"
id=$(echo "$reply" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
sleep 2.5   # the warehouse picks, packs and ships (a step every 500 ms) and calls back
echo; echo "== GET /v1/orders/$id"
curl -s "http://127.0.0.1:8080/v1/orders/$id" | python3 -m json.tool 2>/dev/null || curl -s "http://127.0.0.1:8080/v1/orders/$id"
echo; echo "The hub keeps serving on http://127.0.0.1:8080 (API: /openapi.yaml). Ctrl-C stops it cleanly."
wait $hub
