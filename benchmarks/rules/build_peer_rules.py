#!/usr/bin/env python3
"""Translates bench-50.rules.yaml's conditions into plain JSON Logic: peer_rules.json.

The peer engines only know standard JSON Logic (jsonlogic.com), so OrderHub's extensions are
spelled out with standard operators:

  items_total [f]      reduce(filter(items, f), acc + current.quantity * current.unit_price, 0)
  items_quantity [f]   reduce(filter(items, f), acc + current.quantity, 0)
  count_items [f]      reduce(filter(items, f), acc + 1, 0)
  sum_items [e, f]     reduce(map(filter(items, f), e), acc + current, 0)
  in_table [v, t]      in [v, <the table's keys as a literal list>]
  lookup [t, k, c, d]  if(k == key1, value1, k == key2, value2, ..., d)
  in_window [a, b]     created_at >= "<a in UTC>" and created_at < "<b in UTC>"   (text comparison)
  daily_window [a, b]  substr(created_at, 11, 5) against the window moved to UTC (wraps midnight)
  decide (hit first)   or(row 1 matches, row 2 matches, ...): the rule does something when any row matches
  velocity             only the rule's `when` (JSON Logic cannot count orders across a window)

Local times become UTC with the ruleset's time zone at the time given (America/Sao_Paulo is
UTC-3 all year since 2019, so daily windows move by a fixed three hours). created_at must be
"YYYY-MM-DDTHH:MM:SSZ", which is what generate_orders.py writes.

    python3 benchmarks/rules/build_peer_rules.py          # rewrites peer_rules.json
    python3 benchmarks/rules/build_peer_rules.py --check  # fails if peer_rules.json is stale
"""
import argparse
import csv
import datetime as dt
import io
import json
import os
import sys
from zoneinfo import ZoneInfo

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ITEMS = {"var": "items"}
ACC = {"var": "accumulator"}
DOMAIN = {"items_total", "items_quantity", "count_items", "sum_items", "in_table", "lookup",
          "in_window", "daily_window"}
UNSUPPORTED = {"local_time", "local_date", "weekday", "now", "risk"}


class Translator:
    def __init__(self, ruleset):
        self.zone = ZoneInfo(ruleset.get("timezone", "UTC"))
        self.tables = {}
        for name, spec in (ruleset.get("tables") or {}).items():
            if "csv" not in spec:
                raise SystemExit("table %s: only inline csv tables are supported here" % name)
            rows = list(csv.reader(io.StringIO(spec["csv"])))
            header, body = rows[0], [r for r in rows[1:] if r]
            self.tables[name] = (header, {r[0].strip(): [c.strip() for c in r] for r in body})

    # -- expressions -------------------------------------------------------------------------
    def expr(self, node):
        if isinstance(node, list):
            return [self.expr(x) for x in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        (op, raw), = node.items()
        args = raw if isinstance(raw, list) else [raw]
        if op in UNSUPPORTED:
            raise SystemExit("operator %r has no plain JSON Logic translation" % op)
        if op in DOMAIN:
            return getattr(self, "op_" + op)(args)
        if op in ("and", "or") and isinstance(raw, list):
            flat = []
            for a in (self.expr(a) for a in args):
                # and(and(x, y), z) -> and(x, y, z): what an in_window inside an `and` becomes.
                flat += a[op] if isinstance(a, dict) and list(a) == [op] and isinstance(a[op], list) else [a]
            return {op: flat}
        return {op: [self.expr(a) for a in args] if isinstance(raw, list) else self.expr(raw)}

    def items(self, args):
        return {"filter": [ITEMS, self.expr(args[0])]} if args else ITEMS

    def op_items_total(self, args):
        line = {"*": [{"var": "current.quantity"}, {"var": "current.unit_price"}]}
        return {"reduce": [self.items(args), {"+": [ACC, line]}, 0]}

    def op_items_quantity(self, args):
        return {"reduce": [self.items(args), {"+": [ACC, {"var": "current.quantity"}]}, 0]}

    def op_count_items(self, args):
        return {"reduce": [self.items(args), {"+": [ACC, 1]}, 0]}

    def op_sum_items(self, args):
        mapped = {"map": [self.items(args[1:]), self.expr(args[0])]}
        return {"reduce": [mapped, {"+": [ACC, {"var": "current"}]}, 0]}

    def op_in_table(self, args):
        _, rows = self.tables[args[1]]
        return {"in": [self.expr(args[0]), sorted(rows)]}

    def op_lookup(self, args):
        header, rows = self.tables[args[0]]
        key, column = self.expr(args[1]), header.index(args[2])
        chain = []
        for k in sorted(rows):
            text = rows[k][column]
            try:
                value = int(text) if text.lstrip("-").isdigit() else float(text)
            except ValueError:
                value = text
            chain += [{"==": [key, k]}, value]
        return {"if": chain + [self.expr(args[3]) if len(args) > 3 else None]}

    def utc(self, local):
        if local.endswith("T24:00"):
            local = local[:-5] + "00:00"
            moment = dt.datetime.fromisoformat(local).replace(tzinfo=self.zone) + dt.timedelta(days=1)
        else:
            moment = dt.datetime.fromisoformat(local).replace(tzinfo=self.zone)
        return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def op_in_window(self, args):
        created = {"var": "created_at"}
        return {"and": [{">=": [created, self.utc(args[0])]}, {"<": [created, self.utc(args[1])]}]}

    def op_daily_window(self, args):
        # The offset at the first day of the data (December 2026); fixed for São Paulo.
        offset = int(dt.datetime(2026, 12, 1, 12, tzinfo=self.zone).utcoffset().total_seconds() // 60)

        def minutes(text):
            h, m = text.split(":")[:2]
            return int(h) * 60 + int(m)

        start = (minutes(args[0]) - offset) % 1440
        end = (minutes(args[1]) - offset) % 1440
        clock = {"substr": [{"var": "created_at"}, 11, 5]}
        fmt = lambda m: "%02d:%02d" % (m // 60, m % 60)
        if start == end:
            return True
        if start < end:
            return {"and": [{">=": [clock, fmt(start)]}, {"<": [clock, fmt(end)]}]}
        tests = [{">=": [clock, fmt(start)]}]
        if end > 0:
            tests.append({"<": [clock, fmt(end)]})
        return {"or": tests} if len(tests) > 1 else tests[0]

    # -- decision tables ---------------------------------------------------------------------
    def cell(self, value_expr, cell):
        if cell is None:
            return None
        if isinstance(cell, list):
            return {"in": [value_expr, cell]}
        if isinstance(cell, bool) or isinstance(cell, (int, float)):
            return {"==": [value_expr, cell]}
        text = str(cell).strip()
        if text in ("-", ""):
            return None
        for op in (">=", "<=", "!=", ">", "<"):
            if text.startswith(op):
                return {op: [value_expr, literal(text[len(op):].strip())]}
        if text.startswith("[") and text.endswith("]") and ".." in text:
            low, high = text[1:-1].split("..", 1)
            return {"<=": [literal(low.strip()), value_expr, literal(high.strip())]}
        return {"==": [value_expr, cell]}

    def decide(self, table):
        if table.get("hit", "first") not in ("first", "collect", "priority", "unique"):
            raise SystemExit("unknown hit policy")
        inputs = {name: self.expr(e) for name, e in table["inputs"].items()}
        rows = []
        for row in table["rows"]:
            tests = [t for t in (self.cell(inputs[n], c) for n, c in (row.get("when") or {}).items()) if t is not None]
            if not tests:
                return True                       # a catch-all row: the table always decides
            rows.append(tests[0] if len(tests) == 1 else {"and": tests})
        return rows[0] if len(rows) == 1 else {"or": rows}

    def rule(self, rule):
        if "decide" in rule:
            condition, kind = self.decide(rule["decide"]), "decide: any row matches"
            if "when" in rule:
                condition = {"and": [self.expr(rule["when"]), condition]}
        elif "velocity" in rule:
            condition, kind = (self.expr(rule["when"]) if "when" in rule else True), "velocity: its when only"
        else:
            condition, kind = self.expr(rule["when"]), "when"
        return {"id": rule["id"], "kind": kind, "condition": condition}


def literal(text):
    for convert in (int, float):
        try:
            return convert(text.replace("_", ""))
        except ValueError:
            pass
    return text.strip('"')


def build(path):
    with open(path, encoding="utf-8") as f:
        ruleset = yaml.safe_load(f)
    t = Translator(ruleset)
    return [t.rule(r) for r in ruleset["rules"]]


def main():
    p = argparse.ArgumentParser(description="bench-50.rules.yaml -> peer_rules.json (plain JSON Logic)")
    p.add_argument("--ruleset", default=os.path.join(HERE, "bench-50.rules.yaml"))
    p.add_argument("--out", default=os.path.join(HERE, "peer_rules.json"))
    p.add_argument("--check", action="store_true", help="exit 1 if --out differs from a fresh translation")
    args = p.parse_args()
    rules = build(args.ruleset)
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in rules) + "\n]\n"
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            same = f.read() == text
        print("peer_rules.json is %s" % ("up to date" if same else "STALE: run build_peer_rules.py"))
        sys.exit(0 if same else 1)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %d rules to %s" % (len(rules), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
