#!/usr/bin/env bash
# The test command: installs what is missing, builds every product (plugins included,
# since the tests dlopen the real .so files), and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# A private PostgreSQL server for the scale-out tests (installed if missing), stopped on exit.
eval "$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop "$ORDERHUB_PG_DIR"' EXIT
swift build --build-tests
python3 scripts/check-boundaries.py
# The C connector's own library (JSON, templates, HMAC) under valgrind or ASan.
adapters/http_connector/tests/run.sh
# One test at a time: several tests inject timeouts into a stand-in WMS (1 s); on two shared
# cores, parallel suites could starve them past their deadlines. Serial takes ~80 s.
swift test --skip-build --disable-xctest --no-parallel
