#!/usr/bin/env python3
"""Fails when a module imports across a boundary docs/architecture.md forbids.

Reads the declared graph from `swift package describe --type json` and the actual imports
from the sources, so an undeclared (transitive) import is caught too.
"""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
describe = json.loads(subprocess.check_output(["swift", "package", "describe", "--type", "json"], cwd=ROOT))
targets = {t["name"]: t for t in describe["targets"]}
# A plugin is what a dynamic library product is built from; other targets under Plugins/ are
# libraries plugins may share (HubModelRuntime) or C modules (CSQLite).
dynamic = {t for p in describe["products"] if p.get("type", {}).get("library") == ["dynamic"] for t in p["targets"]}
plugin_targets = {n for n in dynamic if targets[n]["path"].startswith(("Plugins/", "adapters/"))}
shared_plugin_libraries = {n for n, t in targets.items() if t["path"].startswith("Plugins/") and n not in dynamic}
host_targets = {n for n, t in targets.items() if t["path"].startswith("Host/")}

# What each group may depend on (declared) and import (in source).
ALLOWED = {
    "CHubABI": set(),
    "HubJSON": set(),
    "HubPluginKit": {"CHubABI", "HubJSON", "Synchronization", "Glibc"},
}
problems = []

def imports(target):
    found = set()
    for path in (ROOT / targets[target]["path"]).rglob("*.swift"):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:@_exported\s+)?(?:public\s+|internal\s+)?import\s+(\w+)", line)
            if m:
                found.add((m.group(1), str(path.relative_to(ROOT))))
    return found

for name, allowed in ALLOWED.items():
    extra = set(targets[name].get("target_dependencies", [])) - allowed
    if extra:
        problems.append(f"{name} may depend on {sorted(allowed) or 'nothing'}, but declares {sorted(extra)}")

for name in plugin_targets:
    for module, where in imports(name):
        if module in host_targets or module.startswith("HubCore") or module in {"HubLoader", "HubHTTP", "HubCore", "Logging", "NIOCore", "Hummingbird"}:
            problems.append(f"{where}: plugin imports host module {module}")
        if module in plugin_targets and module != name:
            problems.append(f"{where}: plugin imports another plugin ({module})")
    for dep in targets[name].get("target_dependencies", []):
        if dep in host_targets:
            problems.append(f"{name} (plugin) declares a dependency on host target {dep}")

for name in host_targets:
    for dep in targets[name].get("target_dependencies", []):
        if dep in plugin_targets or dep in shared_plugin_libraries or dep == "HubPluginKit":
            problems.append(f"{name} (host) depends on {dep}: the host reaches plugins only through dlopen")
    if name != "HubLoader":
        for module, where in imports(name):
            if module == "CHubABI":
                problems.append(f"{where}: only HubLoader may see the C ABI types")
            if module in plugin_targets or module == "HubPluginKit":
                problems.append(f"{where}: host imports plugin-side module {module}")

header = ROOT / "PluginAPI/CHubABI/include/hub_abi.h"
for include in re.findall(r"#\s*include\s*[<\"]([^>\"]+)[>\"]", header.read_text()):
    if include not in {"stdint.h", "stddef.h"}:
        problems.append(f"{header.relative_to(ROOT)} includes <{include}>: the ABI header depends on <stdint.h> and <stddef.h> only")

if problems:
    print("module boundary violations:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"module boundaries ok ({len(targets)} targets)")
