#!/usr/bin/env bash
# Scale-out on PostgreSQL (issue 7). In one run, on a private PostgreSQL server:
#   1. one hub node: orders/s and p99 accept -> dispatch-enqueued (`orderhub bench`: the default
#      manifest's full pipeline, predictor and rules, then the durable commit), bus on PostgreSQL;
#   2. two hub nodes (two processes) on one schema, half the orders each, at the same time;
#   3. the raw ceiling: the same rows (one record with the order's events, one order row, one
#      idempotency row per order, and the head row) inserted by one client in batches of 100 orders
#      per transaction (pgbench), no hub at all.
# The figures are the ratios: hub / raw ceiling, and two nodes / one node.
# Build first: swift build -c release. Env: ORDERS (default 20000), CONCURRENCY (default 128), POOL
# (the bus's pool_size, default 8), VELOCITY_SCOPE=node (rules count velocity per node instead of in
# the shared KV: shows what exact cross-node velocity costs).
set -euo pipefail
cd "$(dirname "$0")/../.."
ORDERS=${ORDERS:-20000}
CONCURRENCY=${CONCURRENCY:-128}
bin=.build/release/orderhub
eval "$(scripts/postgres.sh start)"
tmp=$(mktemp -d)
trap 'scripts/postgres.sh stop "$ORDERHUB_PG_DIR"; rm -rf "$tmp" manifests/.bench-scale-*.yaml' EXIT
psql_() { psql "$ORDERHUB_TEST_PG_URL" -qtAX -v ON_ERROR_STOP=1 "$@"; }

# The default manifest with its bus entry on PostgreSQL (beside it, so its relative paths hold).
manifest() {
  local file="manifests/.bench-scale-$1.yaml"
  python3 - "$1" "$ORDERHUB_TEST_PG_URL" "${POOL:-8}" "${VELOCITY_SCOPE:-}" > "$file" <<'PY'
import sys, re
schema, url, pool, scope = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
text = open("manifests/default.yaml").read()
bus = f"""  bus:
    kind: state_bus
    library: ../.build/release/libStateBusPostgres.so
    config: {{url: "{url}", schema: {schema}, pool_size: {pool}}}

"""
text = re.sub(r"  bus:\n.*?\n(?=  rules:)", bus, text, flags=re.S)
if scope:  # VELOCITY_SCOPE=node: the rules count velocity per node (fast, not exact across nodes)
    text = text.replace("      rulesets: [", f"      velocity_scope: {scope}\n      rulesets: [", 1)
print(text, end="")
PY
  $bin manifest pin "$file" > /dev/null
  echo "$file"
}

field() { sed -n "s/.*$1 *\([0-9.]*\).*/\1/p" "$2" | head -1; }

one=$(manifest bench1)
echo "one node: $ORDERS orders, concurrency $CONCURRENCY"
$bin bench --manifest "$one" --orders "$ORDERS" --concurrency "$CONCURRENCY" --key-prefix one | tee "$tmp/one.txt"

two=$(manifest bench2)
half=$((ORDERS / 2))
echo "two nodes: $half orders each, concurrency $((CONCURRENCY / 2)) each, same schema"
$bin bench --manifest "$two" --orders "$half" --concurrency $((CONCURRENCY / 2)) --key-prefix a > "$tmp/a.txt" &
a=$!
$bin bench --manifest "$two" --orders "$half" --concurrency $((CONCURRENCY / 2)) --key-prefix b > "$tmp/b.txt" &
b=$!
wait $a $b
cat "$tmp/a.txt" "$tmp/b.txt"

# The raw ceiling, with rows the size the hub wrote.
record=$(psql_ -c "SELECT coalesce(avg(length(events)), 2500)::int FROM bench1.records")
response=$(psql_ -c "SELECT coalesce(avg(length(response)), 90)::int FROM bench1.idempotency")
psql_ -c "CREATE SCHEMA raw; CREATE TABLE raw.head(id int PRIMARY KEY, last_offset bigint); INSERT INTO raw.head VALUES (1, 0);
  CREATE TABLE raw.records(off bigint PRIMARY KEY, subject text COLLATE \"C\", seq_first bigint, seq_last bigint, events bytea);
  ALTER TABLE raw.records ALTER COLUMN events SET STORAGE EXTERNAL;
  CREATE INDEX ON raw.records(subject, off);
  CREATE TABLE raw.orders(id text COLLATE \"C\" PRIMARY KEY, state text, seq bigint, updated_ns bigint);
  CREATE INDEX ON raw.orders(state, updated_ns);
  CREATE TABLE raw.idempotency(key text COLLATE \"C\" PRIMARY KEY, subject text, fingerprint text, response bytea);
  CREATE SEQUENCE raw.offsets;"
python3 - "$record" "$response" > "$tmp/raw.sql" <<'PY'
import os, sys
record, response = int(sys.argv[1]), int(sys.argv[2])
blob = os.urandom(record).hex()
answer = os.urandom(response // 2).hex()
rows = range(100)
print(r"\set b random(1, 2000000000)")
print("BEGIN;")
print("INSERT INTO raw.idempotency VALUES " + ",".join(f"('k:b-{i}', 'o:b-{i}', '{'f' * 64}', '\\x{answer}')" for i in rows) + " ON CONFLICT DO NOTHING;")
print("INSERT INTO raw.orders VALUES " + ",".join(f"('o:b-{i}', 'dispatched', 6, 0)" for i in rows) + " ON CONFLICT DO NOTHING;")
print("UPDATE raw.head SET last_offset = last_offset + 100 WHERE id = 1;")
print("INSERT INTO raw.records VALUES " + ",".join(f"(nextval('raw.offsets'), 'o:b-{i}', 1, 6, '\\x{blob}')" for i in rows) + ";")
print("COMMIT;")
PY
"$ORDERHUB_PG_BIN/pgbench" -n -c 1 -T 10 -f "$tmp/raw.sql" "$ORDERHUB_TEST_PG_URL" > "$tmp/raw.txt" 2>&1 || cat "$tmp/raw.txt"
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tmp/raw.txt" | head -1)

python3 - "$tmp" "$tps" "$record" <<'PY'
import re, sys
tmp, tps, record = sys.argv[1], float(sys.argv[2] or 0), sys.argv[3]
def read(name):
    text = open(f"{tmp}/{name}.txt").read()
    rate = int(re.search(r"throughput\s+(\d+) orders/s", text).group(1))
    p99 = float(re.search(r"p99 ([0-9.]+) ms", text).group(1))
    return rate, p99
one, (a, pa), (b, pb) = read("one"), read("a"), read("b")
raw = tps * 100
print()
print(f"raw ceiling (pgbench, 1 client, 100 orders/transaction, records of {record} bytes): {raw:,.0f} orders/s")
print(f"one node : {one[0]:,} orders/s, p99 {one[1]:.1f} ms  -> {one[0] / raw:.2f} of the raw ceiling")
print(f"two nodes: {a + b:,} orders/s ({a:,} + {b:,}), p99 {max(pa, pb):.1f} ms  -> {(a + b) / raw:.2f} of the raw ceiling, {(a + b) / one[0]:.2f}x one node")
PY
