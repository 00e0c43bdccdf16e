#!/bin/sh
# Build and run the hc_* unit tests (from any directory; paths are from the repository root):
#   adapters/http_connector/tests/run.sh
# Also compiles each library file with the plugin's strict flags, then reruns the tests under
# valgrind when it is installed, else built with -fsanitize=address,undefined (leaks included).
# HC_SANITIZE=1 forces the sanitizer build even when valgrind is present.
#
# The sources are listed rather than globbed (hc_*.c): hc_http.c and hc_profile.c need
# libcurl and pthreads and are not under test here.
set -eu

cd "$(dirname "$0")/../../.."
D=adapters/http_connector
CC=${CC:-cc}
LIB="hc_buf.c hc_crypto.c hc_filter.c hc_format.c hc_json.c hc_json_parse.c hc_template.c"
SRC=""
for f in $LIB; do SRC="$SRC $D/$f"; done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/test_hc.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

for f in $SRC; do # the flags the plugin is built with
    "$CC" -std=c99 -Wall -Wextra -Werror -pedantic -fPIC -fvisibility=hidden -c "$f" -o "$TMP/lib.o"
done

"$CC" -std=c99 -Wall -Wextra -Werror -I "$D" -o "$TMP/test_hc" "$D/tests/test_hc.c" $SRC
"$TMP/test_hc"

if command -v valgrind >/dev/null 2>&1 && [ "${HC_SANITIZE:-0}" != 1 ]; then
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all "$TMP/test_hc"
    echo "test_hc: clean under valgrind"
else
    "$CC" -std=c99 -Wall -Wextra -Werror -g -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=all -I "$D" -o "$TMP/test_hc_asan" "$D/tests/test_hc.c" $SRC
    ASAN_OPTIONS=detect_leaks=1 "$TMP/test_hc_asan"
    echo "test_hc: clean under ASan/UBSan"
fi
