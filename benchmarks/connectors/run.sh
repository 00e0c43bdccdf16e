#!/usr/bin/env bash
# Connector dispatch throughput beside its ceiling, in the same run on the same server:
#   bare   a plain libcurl loop POSTing the hub's dispatch body with keep-alive (bare_curl.c)
#   hub    orderhub bench-dispatch: the HTTP connector plugin through the hub's dispatcher,
#          every acknowledgement committed to the SQLite bus (synchronous=full) before settling
# Both use the same number of parallel requests against `orderhub dev vendors`' /sink.
# Runs bare, hub, bare, hub and prints the ratio of the means. Build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-20000}
C=${C:-4}
PORT=${PORT:-19190}
bin=.build/release/orderhub
tmp=$(mktemp -d)
trap 'kill $vendor 2>/dev/null || true; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/bare_curl" benchmarks/connectors/bare_curl.c -lcurl -lpthread
$bin dev vendors --port "$PORT" > "$tmp/vendor.log" 2>&1 & vendor=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$PORT/sink" && break; sleep 0.1; done
url="http://127.0.0.1:$PORT/sink"
$bin bench-dispatch --url "$url" --orders 200 --concurrency "$C" --write-body "$tmp/body.json" > /dev/null
rates_bare=(); rates_hub=()
for round in 1 2; do
  out=$("$tmp/bare_curl" "$url" "$tmp/body.json" "$N" "$C"); echo "$out"
  rates_bare+=("$(echo "$out" | sed -n 's/.*= \([0-9]*\)\/s.*/\1/p')")
  out=$($bin bench-dispatch --url "$url" --orders "$N" --concurrency "$C"); echo "$out"
  rates_hub+=("$(echo "$out" | sed -n 's/.* = \([0-9]*\)\/s$/\1/p')")
done
python3 - "${rates_bare[@]}" "${rates_hub[@]}" <<'PY'
import sys
v = list(map(float, sys.argv[1:])); bare, hub = v[:2], v[2:]
b, h = sum(bare) / 2, sum(hub) / 2
print(f"ratio hub/bare = {h:.0f}/{b:.0f} = {h / b:.2f} (goal >= 0.80)")
PY
