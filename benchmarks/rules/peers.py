#!/usr/bin/env python3
"""Runs the rules benchmark's 50 conditions on the open engines at hand, one core, one thread.

    python3 benchmarks/rules/generate_orders.py            # once: orders.jsonl (100,000 orders)
    python3 benchmarks/rules/peers.py                      # every engine, 20,000 orders each
    python3 benchmarks/rules/peers.py --orders 5000 --engines zen-engine,python-handwritten

For each engine it evaluates all 50 conditions of peer_rules.json (plain JSON Logic) on every
order of the sample, timing only evaluation: reading and parsing orders.jsonl, compiling the
rules and building each engine's input form (a dict, a JSON string, a pre-parsed handle) happen
before the clock starts. It prints one line per engine:

    engine=<name> orders=<n> seconds=<s> orders_per_s=<x> ns_per_rule=<y>

ns_per_rule is seconds / (orders x 50). Lines starting with '#' are notes: what was skipped
and why, and whether each engine's answers agree with the exact (Decimal) hand-written Python.

The sample: the first --orders N orders of the file (default all), and of those at most
--per-engine M (default 20,000; 0 = no cap), evenly spaced across the file so that December's
time windows are represented (the file is in created_at order). Every engine runs the same
sample, so per-order figures compare directly with `orderhub rules bench` on the whole file.

Engines missing from this Python are installed with pip (--no-install to forbid). Packages that
would clash on the module name json_logic go to benchmarks/rules/.peer-libs/<package>
(pip install --target) and are imported from there one at a time.
"""
import argparse
import decimal
import gc
import importlib
import json
import os
import subprocess
import sys
import time

# Native engines must not fan out over threads: one core, one thread.
for _var in ("RAYON_NUM_THREADS", "TOKIO_WORKER_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = os.path.join(HERE, ".peer-libs")
sys.path.insert(0, HERE)
import handwritten_rules  # noqa: E402


class Skip(Exception):
    """The engine cannot run here; the message says why."""


# ---------------------------------------------------------------------------------- install

def pip(*args):
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise Skip("pip install %s failed: %s" % (" ".join(args), (done.stderr or done.stdout).strip()[-300:]))


def import_shared(package, module, allow_install):
    """Imports `module`, pip-installing `package` into this Python first if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if not allow_install:
            raise Skip("%s is not installed (pip install %s)" % (module, package))
    pip(package)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Skip("%s installed but `import %s` fails: %s" % (package, module, e))


def import_isolated(package, module, allow_install):
    """Imports `module` from .peer-libs/<package>, so packages sharing a module name coexist."""
    target = os.path.join(LIBS, package)
    if not os.path.isdir(target):
        if not allow_install:
            raise Skip("%s is not in %s (run without --no-install)" % (package, target))
        os.makedirs(LIBS, exist_ok=True)
        pip("--target", target, package)
    saved = {k: v for k, v in sys.modules.items() if k == module or k.startswith(module + ".")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, target)
    try:
        return importlib.import_module(module)
    except Exception as e:  # SyntaxError too: some of these are Python 2 code
        raise Skip("`import %s` from %s fails: %s: %s" % (module, package, type(e).__name__, e))
    finally:
        sys.path.remove(target)
        for k in [k for k in sys.modules if k == module or k.startswith(module + ".")]:
            del sys.modules[k]
        sys.modules.update(saved)


# ---------------------------------------------------------------------------------- engines
#
# An engine is an object with: name, note (how it is driven), setup(conditions, install) that
# raises Skip, prepare(order dict) -> its input form (untimed), run(prepared orders, counts)
# that evaluates all 50 conditions on every order and adds 1 to counts[j] when condition j
# holds (timed), and truths(prepared order) -> 50 booleans (untimed, for the agreement check).

FALSY_JSON = frozenset(["false", "null", "0", "0.0", "-0", '""', "[]"])


class Handwritten:
    def __init__(self, money, name, note):
        self.name, self.note, self.money = name, note, money

    def setup(self, conditions, install):
        rules = handwritten_rules.make_rules(self.money)
        ids = [c["id"] for c in conditions]
        if [r[0] for r in rules] != ids:
            raise Skip("handwritten_rules.py does not list the rules of peer_rules.json in the same order")
        self.fns = [f for _, f in rules]

    def prepare(self, order):
        return order

    def run(self, orders, counts):
        fns = list(enumerate(self.fns))
        for o in orders:
            for j, f in fns:
                if f(o):
                    counts[j] += 1

    def truths(self, o):
        return [bool(f(o)) for f in self.fns]


class PurePythonJsonLogic:
    """A pure-Python JSON Logic library called as apply(rule, data) per rule and order."""

    def __init__(self, name, package, module, function, isolated=True, note=""):
        self.name, self.package, self.module, self.function, self.isolated = name, package, module, function, isolated
        self.note = note or "%s.%s(rule, order dict) per rule" % (module, function)

    def setup(self, conditions, install):
        load = import_isolated if self.isolated else import_shared
        mod = load(self.package, self.module, install)
        self.apply = getattr(mod, self.function, None)
        if self.apply is None:
            raise Skip("%s has no %s()" % (self.package, self.function))
        self.rules = [c["condition"] for c in conditions]

    def prepare(self, order):
        return order

    def run(self, orders, counts):
        apply, rules = self.apply, list(enumerate(self.rules))
        for o in orders:
            for j, r in rules:
                if apply(r, o):
                    counts[j] += 1

    def truths(self, o):
        return [bool(self.apply(r, o)) for r in self.rules]


class JsonLogicRs:
    """jsonlogic-rs: a Rust core behind apply(rule JSON text, data JSON text) -> JSON text."""

    def __init__(self, batched):
        self.batched = batched
        self.name = "jsonlogic-rs-batched" if batched else "jsonlogic-rs"
        self.note = ("one call per order: {\"merge\": [the 50 conditions]} (a top-level array is data to this "
                     "engine, not 50 rules), the result list parsed with json.loads"
                     if batched else
                     "jsonlogic_rs.jsonlogic.apply(rule text, order text) per rule; the engine parses both texts on "
                     "every call (its only API); truthiness read from the result text")

    def setup(self, conditions, install):
        import_shared("jsonlogic-rs", "jsonlogic_rs", install)
        native = importlib.import_module("jsonlogic_rs.jsonlogic")
        self.apply = native.apply
        self.rules = [json.dumps(c["condition"], separators=(",", ":")) for c in conditions]
        self.array = '{"merge":[' + ",".join(self.rules) + "]}"

    def prepare(self, order):
        return json.dumps(order, separators=(",", ":"), ensure_ascii=False)

    def run(self, orders, counts):
        apply = self.apply
        if self.batched:
            loads, array = json.loads, self.array
            for text in orders:
                for j, value in enumerate(loads(apply(array, text))):
                    if value:
                        counts[j] += 1
            return
        rules = list(enumerate(self.rules))
        for text in orders:
            for j, r in rules:
                if apply(r, text) not in FALSY_JSON:
                    counts[j] += 1

    def truths(self, text):
        if self.batched:
            return [bool(v) for v in json.loads(self.apply(self.array, text))]
        return [self.apply(r, text) not in FALSY_JSON for r in self.rules]


class DataLogic:
    """datalogic-py: Rust JSON Logic, rules compiled once, orders as pre-parsed DataHandles."""

    def __init__(self, many):
        self.many = many
        self.name = "datalogic-py-many" if many else "datalogic-py"
        self.note = ("Session.evaluate_many(50 compiled rules, DataHandle): one native call per order, "
                     "results as JSON text" if many else
                     "Engine.compile per rule once; Session.evaluate_truthy(rule, DataHandle) per rule; the "
                     "DataHandle (pre-parsed order) is built before timing, like OrderHub's parsed order")

    def setup(self, conditions, install):
        dl = import_shared("datalogic-py", "datalogic_py", install)
        self.dl = dl
        self.engine = dl.Engine()
        self.rules = [self.engine.compile(c["condition"]) for c in conditions]
        self.session = self.engine.session()

    def prepare(self, order):
        return self.dl.DataHandle(order)

    def run(self, orders, counts):
        s, rules = self.session, self.rules
        if self.many:
            for h in orders:
                for j, value in enumerate(s.evaluate_many(rules, h)):
                    if value not in FALSY_JSON:
                        counts[j] += 1
            return
        truthy, indexed = s.evaluate_truthy, list(enumerate(rules))
        for h in orders:
            for j, r in indexed:
                if truthy(r, h):
                    counts[j] += 1

    def truths(self, h):
        return [bool(self.session.evaluate_truthy(r, h)) for r in self.rules]


class Zen:
    """GoRules ZEN: one JDM decision graph, input -> one decision table (hit policy collect,
    one row per rule, each row's cell the rule's condition in ZEN expression language) -> output."""

    name = "zen-engine"
    note = ("ZenEngine.evaluate(key, order JSON text) with a static loader (the engine caches the compiled "
            "graph); synchronous; the engine parses the order text on every call (no pre-parsed input in its API)")

    def setup(self, conditions, install):
        zen = import_shared("zen-engine", "zen", install)
        self.ids = [c["id"] for c in conditions]
        self.index = {rid: j for j, rid in enumerate(self.ids)}
        self.graph = zen_graph(conditions)
        self.engine = zen.ZenEngine({"loader": {"type": "static", "content": {"bench-50.json": self.graph}}})

    def prepare(self, order):
        return json.dumps(order, separators=(",", ":"), ensure_ascii=False)

    def run(self, orders, counts):
        evaluate, index = self.engine.evaluate, self.index
        for text in orders:
            for hit in evaluate("bench-50.json", text)["result"]:
                counts[index[hit["rule"]]] += 1

    def truths(self, text):
        hits = {h["rule"] for h in self.engine.evaluate("bench-50.json", text)["result"]}
        return [rid in hits for rid in self.ids]


# ------------------------------------------------------------------ JSON Logic -> ZEN language

MONEY_FIELDS = {"unit_price", "fee", "amount"}


def zen_string(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_iso_moment(v):
    return isinstance(v, str) and len(v) == 20 and v[4] == "-" and v[10] == "T" and v.endswith("Z")


def is_clock(v):
    return isinstance(v, str) and len(v) == 5 and v[2] == ":" and v.replace(":", "").isdigit()


def to_zen(node, scoped=False):
    """Plain JSON Logic (the operators peer_rules.json uses) -> a ZEN expression.

    ZEN has no ordering on text, so the two text comparisons of the peer rules become date
    operations: created_at against an ISO moment -> d(created_at) vs d('...'), and
    substr(created_at, 11, 5) against "HH:MM" -> minutes of d(created_at). Money fields (decimal
    strings) go through number(). reduce(X, acc + E, 0) -> sum(map(X, E)).
    """
    z = lambda n: to_zen(n, scoped)
    if isinstance(node, bool):
        return "true" if node else "false"
    if node is None:
        return "null"
    if isinstance(node, (int, float)):
        return repr(node)
    if isinstance(node, str):
        return zen_string(node)
    if isinstance(node, list):
        return "[" + ", ".join(z(x) for x in node) + "]"
    (op, args), = node.items()
    if not isinstance(args, list):
        args = [args]
    if op == "var":
        path = args[0]
        if path.startswith("current."):
            path = "#." + path[len("current."):]
        elif path == "current":
            path = "#"
        elif scoped:
            path = "#." + path
        return "number(%s)" % path if path.split(".")[-1] in MONEY_FIELDS else path
    if op in ("and", "or"):
        return "(" + (" %s " % op).join(z(a) for a in args) + ")"
    if op == "!":
        inner = args[0]
        if isinstance(inner, dict) and "var" in inner:
            return "(%s != true)" % z(inner)
        return "(not %s)" % z(inner)
    if op == "!!":
        return "(%s == true)" % z(args[0])
    if op in ("==", "===", "!=", "!=="):
        return "(%s %s %s)" % (z(args[0]), "==" if op in ("==", "===") else "!=", z(args[1]))
    if op in ("<", "<=", ">", ">="):
        if len(args) == 3:
            return "(%s %s %s and %s %s %s)" % (z(args[0]), op, z(args[1]), z(args[1]), op, z(args[2]))
        a, b = args
        if is_iso_moment(b):
            return "(d(%s) %s d(%s))" % (z(a), op, zen_string(b))
        if is_clock(b) and isinstance(a, dict) and "substr" in a and a["substr"][1:] == [11, 5]:
            moment = z(a["substr"][0])
            h, m = b.split(":")
            return "((d(%s).hour() * 60 + d(%s).minute()) %s %d)" % (moment, moment, op, int(h) * 60 + int(m))
        return "(%s %s %s)" % (z(a), op, z(b))
    if op == "in":
        needle, hay = args
        if isinstance(hay, str):
            return "contains(%s, %s)" % (zen_string(hay), z(needle))
        return "(%s in %s)" % (z(needle), z(hay))
    if op in ("+", "*", "-", "/"):
        return "(" + (" %s " % op).join(z(a) for a in args) + ")"
    if op in ("filter", "map", "some", "all", "none"):
        return "%s(%s, %s)" % (op, z(args[0]), to_zen(args[1], True))
    if op == "reduce":
        source, body, initial = args
        if not (isinstance(body, dict) and "+" in body and body["+"][0] == {"var": "accumulator"} and initial == 0):
            raise ValueError("only reduce(X, accumulator + E, 0) has a ZEN translation: %r" % body)
        term = body["+"][1]
        if term == 1:
            return "len(%s)" % z(source)
        return "sum(map(%s, %s))" % (z(source), to_zen(term, False))
    raise ValueError("no ZEN translation for operator %r" % op)


def zen_graph(conditions):
    rows = [{"_id": "r%d" % j, "cond": to_zen(c["condition"]), "rule": zen_string(c["id"])}
            for j, c in enumerate(conditions)]
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "rules", "type": "decisionTableNode", "name": "bench-50", "position": {"x": 300, "y": 0},
             "content": {"hitPolicy": "collect",
                         "inputs": [{"id": "cond", "name": "Condition", "type": "expression"}],
                         "outputs": [{"id": "rule", "name": "Rule", "type": "expression", "field": "rule"}],
                         "rules": rows}},
            {"id": "response", "type": "outputNode", "name": "Response", "position": {"x": 600, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "type": "edge", "sourceId": "request", "targetId": "rules"},
            {"id": "e2", "type": "edge", "sourceId": "rules", "targetId": "response"},
        ],
    }


# ---------------------------------------------------------------------------------- driver

def engines():
    return [
        Handwritten(float, "python-handwritten",
                    "plain Python functions over the order dict, money as float (like the JSON Logic engines)"),
        Handwritten(decimal.Decimal, "python-handwritten-decimal",
                    "the same functions, money as decimal.Decimal (exact, like OrderHub): the reference answers"),
        PurePythonJsonLogic("json-logic", "json-logic", "json_logic", "jsonLogic",
                            note="json-logic 0.6.3 (2015), the original json-logic-py"),
        PurePythonJsonLogic("json-logic-qubit", "json-logic-qubit", "json_logic", "jsonLogic",
                            note="json_logic.jsonLogic(rule, order dict) per rule; the Python 3 fork of json-logic "
                                 "(nadirizr/json-logic-py) on PyPI"),
        PurePythonJsonLogic("panzi-json-logic", "panzi-json-logic", "json_logic", "jsonLogic"),
        JsonLogicRs(batched=False),
        JsonLogicRs(batched=True),
        DataLogic(many=False),
        DataLogic(many=True),
        Zen(),
    ]


def pin_one_core(cpu):
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return "pinned to CPU %d (of %s)" % (chosen, ",".join(map(str, allowed)))


def load_sample(path, limit, per_engine):
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if limit:
        lines = lines[:limit]
    n = len(lines)
    m = n if not per_engine or per_engine >= n else per_engine
    picked = [lines[i * n // m] for i in range(m)]
    return n, [json.loads(line) for line in picked]


def main():
    p = argparse.ArgumentParser(description="the rules benchmark's peer engines (see README.md)")
    p.add_argument("--orders", type=int, default=0, help="use the first N orders of the file (default all)")
    p.add_argument("--per-engine", type=int, default=20000,
                   help="each engine runs on at most this many of them, evenly spaced (default 20000; 0 = all)")
    p.add_argument("--orders-file", default=os.path.join(HERE, "orders.jsonl"))
    p.add_argument("--rules", default=os.path.join(HERE, "peer_rules.json"))
    p.add_argument("--engines", default="", help="comma-separated names (default: every engine)")
    p.add_argument("--check", type=int, default=1000,
                   help="orders whose 50 answers are compared with the Decimal reference (default 1000)")
    p.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default the first allowed)")
    p.add_argument("--no-install", action="store_true", help="never pip install a missing engine")
    p.add_argument("--counts", action="store_true", help="print how many orders each condition matched")
    p.add_argument("--counts-out", default="",
                   help="write the Decimal reference's per-rule match counts on the sample to this JSON file")
    args = p.parse_args()

    if not os.path.exists(args.orders_file):
        sys.exit("no %s: run benchmarks/rules/generate_orders.py first" % args.orders_file)
    with open(args.rules, encoding="utf-8") as f:
        conditions = json.load(f)
    total, orders = load_sample(args.orders_file, args.orders, args.per_engine)
    print("# %s; %d conditions; %d of the first %d orders, evenly spaced; timing evaluation only"
          % (pin_one_core(args.cpu), len(conditions), len(orders), total), flush=True)

    wanted = {e.strip() for e in args.engines.split(",") if e.strip()}
    chosen = [e for e in engines() if not wanted or e.name in wanted]
    unknown = wanted - {e.name for e in engines()}
    if unknown:
        sys.exit("unknown engine(s): %s" % ", ".join(sorted(unknown)))

    reference = Handwritten(decimal.Decimal, "reference", "")
    reference.setup(conditions, False)
    check = orders[:min(args.check, len(orders))]
    expected = [reference.truths(o) for o in check]
    ref_counts = [0] * len(conditions)
    reference.run(orders, ref_counts)
    if args.counts_out:
        with open(args.counts_out, "w", encoding="utf-8") as f:
            json.dump({"orders": len(orders), "of_first": total,
                       "matches": {c["id"]: k for c, k in zip(conditions, ref_counts)}}, f, indent=1)
            f.write("\n")
        print("# wrote the reference's per-rule match counts to %s" % args.counts_out)

    for engine in chosen:
        try:
            engine.setup(conditions, not args.no_install)
            prepared = [engine.prepare(o) for o in orders]
            # Smoke test and agreement check (untimed).
            mismatches = []
            for i, o in enumerate(check):
                got = engine.truths(prepared[i])
                for j, (g, e) in enumerate(zip(got, expected[i])):
                    if g != e:
                        mismatches.append((o["id"], conditions[j]["id"], g, e))
        except Skip as e:
            print("# skipped %s: %s" % (engine.name, e), flush=True)
            continue
        except Exception as e:
            why = "%s: %s" % (type(e).__name__, str(e)[:300])
            if engine.name == "json-logic" and "dict_keys" in why:
                why += (" -- json-logic 0.6.3 on PyPI (2015) is Python 2 code (dict.keys()[0]) and has no "
                        "map/filter/reduce/some/substr either; json-logic-qubit is its Python 3 fork")
            print("# skipped %s: it fails on these rules: %s" % (engine.name, why), flush=True)
            continue
        engine.run(prepared[:min(200, len(prepared))], [0] * len(conditions))   # warm-up
        counts = [0] * len(conditions)
        gc.collect()
        start = time.perf_counter()
        engine.run(prepared, counts)
        seconds = time.perf_counter() - start
        n = len(prepared)
        print("engine=%s orders=%d seconds=%.3f orders_per_s=%.0f ns_per_rule=%.0f"
              % (engine.name, n, seconds, n / seconds, seconds * 1e9 / (n * len(conditions))), flush=True)
        print("#   %s" % engine.note)
        diff = [(conditions[j]["id"], c, r) for j, (c, r) in enumerate(zip(counts, ref_counts)) if c != r]
        if not mismatches and not diff:
            print("#   agrees with the Decimal reference: all 50 answers on %d orders, per-rule match counts on all %d"
                  % (len(check), n))
        else:
            print("#   DISAGREES with the Decimal reference: %d of %d answers on %d orders; per-rule counts differ for %s"
                  % (len(mismatches), len(check) * len(conditions), len(check),
                     ", ".join("%s (%d vs %d)" % d for d in diff[:6]) or "none"))
            for m in mismatches[:5]:
                print("#     order %s rule %s: engine %s, reference %s" % m)
        if args.counts:
            print("#   matches: " + " ".join("%s=%d" % (c["id"], k) for c, k in zip(conditions, counts)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
