#!/usr/bin/env bash
# The rules benchmark in one run: OrderHub (release) and the peer engines on the same 50 rules
# and orders, one core each, then the ratios. Figures, not a pass/fail test (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f benchmarks/rules/orders.jsonl ] || python3 benchmarks/rules/generate_orders.py
swift build -c release --product orderhub >/dev/null
cpu=${CPU:-1}
ours=$(taskset -c "$cpu" .build/release/orderhub rules bench --ruleset benchmarks/rules/bench-50.rules.yaml \
        --orders benchmarks/rules/orders.jsonl --count "${COUNT:-100000}")
echo "$ours"
peers=$(python3 benchmarks/rules/peers.py --cpu "$cpu" "$@" | grep '^engine=' || true)
echo "$peers"
echo
python3 - "$ours" "$peers" <<'PY'
import re, sys
def rates(text):
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"engine=(\S+) .*?orders_per_s=([0-9.]+)", text)}
ours, peers = rates(sys.argv[1]), rates(sys.argv[2])
if not peers:
    sys.exit("no peer engine ran")
best_name, best = max(peers.items(), key=lambda kv: kv[1])
for name in ("orderhub-conditions", "orderhub"):
    if name in ours:
        print(f"{name}: {ours[name]:,.0f} orders/s = {ours[name] / best:.2f}x the fastest peer ({best_name}, {best:,.0f} orders/s)")
for name, rate in sorted(peers.items(), key=lambda kv: -kv[1]):
    print(f"  vs {name}: orderhub-conditions {ours.get('orderhub-conditions', 0) / rate:.2f}x, orderhub (whole rules) {ours.get('orderhub', 0) / rate:.2f}x")
PY
