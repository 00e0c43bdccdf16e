/*
 * test_hc.c -- unit tests for the HTTP connector's support library (hc_*.c): a plain C
 * program that stops at the first failure with file:line and what differed.
 * Run with adapters/http_connector/tests/run.sh from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_buf.h"
#include "hc_crypto.h"
#include "hc_filter.h"
#include "hc_format.h"
#include "hc_json.h"
#include "hc_template.h"

static int checks;

#define CHECK(cond, what)                                                       \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, (what));   \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

#define CHECK_STR(got, want)                                                                         \
    do {                                                                                             \
        const char *g_ = (got), *w_ = (want);                                                        \
        checks++;                                                                                    \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                                                     \
            fprintf(stderr, "%s:%d: FAIL: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, #got,   \
                    g_ != NULL ? g_ : "(null)", w_);                                                 \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

static hc_json *parse(const char *text) {
    char err[128];
    hc_json *j = hc_json_parse(text, strlen(text), err, sizeof err);
    if (j == NULL) {
        fprintf(stderr, "FAIL: cannot parse %s: %s\n", text, err);
        exit(1);
    }
    return j;
}

/* Compact JSON of a node, in a static buffer the next call overwrites. */
static const char *dump(const hc_json *j) {
    static char text[4096];
    hc_buf b = {0};
    hc_json_write(&b, j);
    snprintf(text, sizeof text, "%s", b.failed || b.data == NULL ? "(failed)" : b.data);
    hc_buf_free(&b);
    return text;
}

static void expect_roundtrip(const char *in, const char *out) {
    hc_json *j = parse(in);
    CHECK_STR(dump(j), out);
    hc_json_free(j);
}

static void expect_parse_error(const char *in, const char *want) {
    char err[128];
    hc_json *j = hc_json_parse(in, strlen(in), err, sizeof err);
    CHECK(j == NULL, in);
    CHECK_STR(err, want);
}

static void test_buf(void) {
    hc_buf b = {0};
    int i;
    hc_buf_puts(&b, "n=");
    hc_buf_printf(&b, "%d/%s", 42, "x");
    hc_buf_append(&b, "", 0);
    CHECK_STR(b.data, "n=42/x");
    for (i = 0; i < 1000; i++) hc_buf_append(&b, "0123456789", 10);
    CHECK(b.len == 6 + 10000 && b.data[b.len] == '\0' && !b.failed, "buffer grows");
    hc_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0, "free resets");
}

static void test_json_roundtrip(void) {
    expect_roundtrip(" { \"a\" : 12345678901234 , \"b\": 1.10, \"c\": [ true, false, null ],\n"
                     "\"d\": -0.5e+10, \"e\": {}, \"f\": [], \"g\": 0 } ",
                     "{\"a\":12345678901234,\"b\":1.10,\"c\":[true,false,null],\"d\":-0.5e+10,"
                     "\"e\":{},\"f\":[],\"g\":0}");
    expect_roundtrip("\"q\\\" b\\\\ n\\n r\\r t\\t \\b\\f \\u0001 \\/ \xc3\xa9\"",
                     "\"q\\\" b\\\\ n\\n r\\r t\\t \\b\\f \\u0001 / \xc3\xa9\"");
    expect_roundtrip("{\"k\":1,\"k\":2}", "{\"k\":1,\"k\":2}"); /* duplicates kept in order */
}

static void test_json_values(void) {
    hc_json *j = parse("{\"n\": 1.10, \"s\": \"\\ud83d\\ude00\\u00e9\\u0000x\", \"t\": true,\n \"o\": {\"k\": [7]}}");
    size_t len = 0;
    const char *s = hc_json_string(hc_json_get(j, "s"), &len);
    CHECK(hc_json_type(j) == HC_OBJECT && hc_json_count(j) == 4, "object with 4 members");
    CHECK_STR(hc_json_key_at(j, 3), "o");
    CHECK(hc_json_number(hc_json_get(j, "n")) == 1.1, "1.10 as double");
    CHECK_STR(hc_json_number_raw(hc_json_get(j, "n")), "1.10");
    CHECK(len == 8 && memcmp(s, "\xf0\x9f\x98\x80\xc3\xa9\0x", 8) == 0, "surrogate pair, U+00E9 and NUL decoded");
    CHECK(hc_json_bool(hc_json_get(j, "t")) == 1, "true");
    CHECK(hc_json_get(j, "missing") == NULL && hc_json_get(hc_json_get(j, "n"), "x") == NULL, "get misses");
    CHECK(hc_json_line(hc_json_get(j, "o")) == 2 && hc_json_col(hc_json_get(j, "o")) == 7, "position of o");
    CHECK(hc_json_line(hc_json_path(j, "o.k.0")) == 2 && hc_json_col(hc_json_path(j, "o.k.0")) == 14, "position");
    hc_json_free(j);
}

static void test_json_errors(void) {
    char deep[300];
    hc_json *j;
    expect_parse_error("", "1:1: unexpected end of input");
    expect_parse_error("  \n  ", "2:3: unexpected end of input");
    expect_parse_error("{\n  \"a\": 1,\n  \"b\": 2 \"c\"\n}", "3:10: expected ',' or '}' after object member");
    expect_parse_error("[1,\n \"x\\q\"]", "2:4: invalid escape \\q");
    expect_parse_error("[1, 2] x", "1:8: unexpected trailing characters after JSON value");
    expect_parse_error("[1 2]", "1:4: expected ',' or ']' after array element");
    expect_parse_error("[1,]", "1:4: unexpected character ']'");
    expect_parse_error("{\"a\" 1}", "1:6: expected ':' after object key");
    expect_parse_error("{\"a\":1,}", "1:8: expected string for object key");
    expect_parse_error("[\"abc", "1:2: unterminated string");
    expect_parse_error("\"a\tb\"", "1:3: control character \\x09 in string (must be escaped)");
    expect_parse_error("\"\\ud800x\"", "1:2: unpaired surrogate in \\u escape");
    expect_parse_error("\"\\udc00\"", "1:2: unpaired surrogate in \\u escape");
    expect_parse_error("\"\\u12g4\"", "1:2: invalid \\u escape");
    expect_parse_error("01", "1:1: invalid number");
    expect_parse_error("[-]", "1:2: invalid number");
    expect_parse_error("tru", "1:1: invalid literal (expected true)");
    memset(deep, '[', 129);
    memset(deep + 129, ']', 129);
    deep[258] = '\0';
    expect_parse_error(deep, "1:129: nesting deeper than 128");
    j = hc_json_parse(deep + 1, 256, NULL, 0); /* exactly 128 deep is fine */
    CHECK(j != NULL, "128 levels parse");
    hc_json_free(j);
}

static void test_json_path(void) {
    hc_json *j = parse("{\"order\":{\"items\":[{\"sku\":\"A\"},{\"sku\":\"B\"}],\"a.b\":1}}");
    CHECK(hc_json_path(j, "") == j, "empty path is root");
    CHECK_STR(hc_json_string(hc_json_path(j, "order.items.1.sku"), NULL), "B");
    CHECK_STR(dump(hc_json_path(j, "order.items.0")), "{\"sku\":\"A\"}");
    CHECK(hc_json_path(j, "order.items.2") == NULL, "index past end");
    CHECK(hc_json_path(j, "order.items.x") == NULL, "non-numeric index");
    CHECK(hc_json_path(j, "order.items.-1") == NULL, "negative index");
    CHECK(hc_json_path(j, "order.items.0.sku.x") == NULL, "path through a string");
    CHECK(hc_json_path(j, "order.missing") == NULL, "missing key");
    hc_json_free(j);
}

static void test_json_build(void) {
    hc_json *o = hc_json_new_object(), *a = hc_json_new_array(), *c;
    CHECK(hc_json_new_number_raw("1.") == NULL && hc_json_new_number_raw("") == NULL, "bad raw numbers");
    CHECK(hc_json_append(a, hc_json_new_number_raw("12345678901234")), "append");
    CHECK(hc_json_append(a, hc_json_new_string("a\"\n", 3)), "append");
    CHECK(hc_json_set(o, "list", a) && hc_json_set(o, "x", hc_json_new_bool(1)), "set");
    CHECK(hc_json_set(o, "x", hc_json_new_null()), "set replaces");
    CHECK(hc_json_append(o, hc_json_new_null()) == 0, "append to object fails (and frees)");
    c = hc_json_clone(o);
    CHECK_STR(dump(c), "{\"list\":[12345678901234,\"a\\\"\\n\"],\"x\":null}");
    hc_json_free(c);
    hc_json_free(o);
}

static void expect_sha(const char *msg, const char *want) {
    uint8_t d[HC_SHA256_LEN];
    char hex[2 * HC_SHA256_LEN + 1];
    hc_sha256(msg, strlen(msg), d);
    hc_hex(d, sizeof d, hex);
    CHECK_STR(hex, want);
}

static void expect_hmac(const uint8_t *key, size_t keylen, const char *msg, const char *want) {
    uint8_t d[HC_SHA256_LEN];
    char hex[2 * HC_SHA256_LEN + 1];
    hc_hmac_sha256(key, keylen, msg, strlen(msg), d);
    hc_hex(d, sizeof d, hex);
    CHECK_STR(hex, want);
}

static void test_crypto(void) {
    static const char *b64[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                                   {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    uint8_t key[131], d[HC_SHA256_LEN];
    char a[1000], hex[2 * HC_SHA256_LEN + 1];
    hc_sha256_ctx ctx;
    size_t i;
    hc_buf b = {0};
    expect_sha("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_sha("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(a, 'a', sizeof a); /* one million 'a' in uneven pieces, to exercise buffering */
    hc_sha256_init(&ctx);
    for (i = 0; i < 1000000; i += 997) hc_sha256_update(&ctx, a, 1000000 - i < 997 ? 1000000 - i : 997);
    hc_sha256_final(&ctx, d);
    hc_hex(d, sizeof d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    memset(key, 0x0b, 20); /* RFC 4231 test cases 1, 2 and 6 */
    expect_hmac(key, 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, 131);
    expect_hmac(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    for (i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        hc_base64((const uint8_t *)b64[i][0], strlen(b64[i][0]), &b);
        CHECK_STR(b.data, b64[i][1]);
        hc_buf_free(&b);
    }
    CHECK(hc_equal_ct("abc", 3, "abc", 3) == 1 && hc_equal_ct("", 0, "", 0) == 1, "equal");
    CHECK(hc_equal_ct("abc", 3, "abd", 3) == 0 && hc_equal_ct("abc", 3, "ab", 2) == 0, "differ");
    CHECK(hc_equal_ct("ab", 2, "abc", 3) == 0 && hc_equal_ct("abc", 3, "", 0) == 0, "length differs");
    hc_url_encode("a b&c=d/\xc3\xa9~-._Z9", 16, &b);
    CHECK_STR(b.data, "a%20b%26c%3Dd%2F%C3%A9~-._Z9");
    hc_buf_free(&b);
}

static void test_format(void) {
    static const char *money[][2] = {{"12345", "123.45"}, {"5", "0.05"}, {"-5", "-0.05"}, {"0", "0.00"},
                                     {"-0", "0.00"}, {"100", "1.00"}, {" 007 ", "0.07"}, {"100.00", "1.00"},
                                     {"12345678901234567890", "123456789012345678.90"}};
    static const struct { double ms; const char *want; } times[] = {
        {0, "1970-01-01T00:00:00Z"}, {1700000000123.0, "2023-11-14T22:13:20Z"},
        {951782400000.0, "2000-02-29T00:00:00Z"}, {-1, "1969-12-31T23:59:59Z"}};
    hc_buf b = {0};
    size_t i;
    for (i = 0; i < sizeof money / sizeof money[0]; i++) {
        CHECK(hc_format_money(money[i][0], strlen(money[i][0]), &b), money[i][0]);
        CHECK_STR(b.data, money[i][1]);
        hc_buf_free(&b);
    }
    CHECK(!hc_format_money("1.5", 3, &b) && !hc_format_money("", 0, &b) && !hc_format_money("1e2", 3, &b), "money");
    for (i = 0; i < sizeof times / sizeof times[0]; i++) {
        CHECK(hc_format_iso_time(times[i].ms, &b), times[i].want);
        CHECK_STR(b.data, times[i].want);
        hc_buf_free(&b);
    }
    CHECK(!hc_format_iso_time(1e300, &b) && b.data == NULL, "iso_time out of range");
}

/* ---- templates ---- */

static const char *ORDER =
    "{\"id\":\"ord_1\",\"total_minor\":12345,\"gift\":null,\"status\":\"paid\",\"note\":\"\","
    "\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"Z-9\",\"qty\":1}],\"created_ms\":1700000000123,"
    "\"big\":12345678901234,\"price\":\" 1.10 \",\"word\":\"abc\",\"five\":5,\"minus\":-5,\"frac\":1.5}";
static const char *MAPS = "{\"status\":{\"paid\":\"PAID\",\"*\":\"OTHER\"},\"skus\":{\"A-1\":\"100234\"}}";

/* Render a template (JSON text) against {"order": ORDER}; returns the compact JSON or, when
 * rendering fails, "ERROR: message". */
static const char *render(const char *tmpl_text) {
    static char out[4096];
    hc_json *tmpl = parse(tmpl_text), *order = parse(ORDER), *maps = parse(MAPS), *r;
    hc_scope scope = {"order", NULL};
    char err[256];
    scope.value = order;
    r = hc_template_render(tmpl, &scope, 1, maps, err, sizeof err);
    if (r != NULL) {
        snprintf(out, sizeof out, "%s", dump(r));
    } else {
        snprintf(out, sizeof out, "ERROR: %s", err);
    }
    hc_json_free(r);
    hc_json_free(tmpl);
    hc_json_free(order);
    hc_json_free(maps);
    return out;
}

static void expect_check_error(const char *tmpl_text, const char *want) {
    hc_json *tmpl = parse(tmpl_text), *maps = parse(MAPS);
    char err[256];
    CHECK(hc_template_check(tmpl, maps, err, sizeof err) == 0, tmpl_text);
    CHECK_STR(err, want);
    hc_json_free(tmpl);
    hc_json_free(maps);
}

static void test_template_render(void) {
    static const char *full =
        "{\"id\": \"{{ order.id }}\", \"qty\": \" {{order.items.0.qty}} \", \"first\": \"{{ order.items | first }}\","
        " \"n\": \"{{ order.items | count }}\", \"big\": \"{{ order.big }}\", \"none\": \"{{ order.nope.x }}\","
        " \"label\": \"Order {{ order.id | upper }} ({{ order.items | count }} lines){{ order.gift }}\","
        " \"lit\": \"hello }}\", \"num\": 1.50, \"flag\": true, \"nil\": null, \"arr\": [\"{{ order.five }}\", 2],"
        " \"gift\": \"{{ order.gift | optional }}\", \"kept\": \"{{ order.id | optional }}\","
        " \"lines\": {\"$each\": \"order.items\", \"$as\": \"line\","
        "   \"$render\": {\"sku\": \"{{ line.sku }}\", \"q\": \"{{ line.qty | string }}\", \"o\": \"{{ order.id }}\"}},"
        " \"items\": {\"$each\": \"order.items\", \"$render\": \"{{ item.sku | lower }}\"},"
        " \"empty\": {\"$each\": \"order.id\", \"$render\": 1}}";
    hc_json *tmpl = parse(full), *maps = parse(MAPS);
    char err[256];
    CHECK(hc_template_check(tmpl, maps, err, sizeof err) == 1, err);
    hc_json_free(tmpl);
    hc_json_free(maps);
    CHECK_STR(render(full),
              "{\"id\":\"ord_1\",\"qty\":2,\"first\":{\"sku\":\"A-1\",\"qty\":2},\"n\":2,\"big\":12345678901234,"
              "\"none\":null,\"label\":\"Order ORD_1 (2 lines)\",\"lit\":\"hello }}\",\"num\":1.50,\"flag\":true,"
              "\"nil\":null,\"arr\":[5,2],\"kept\":\"ord_1\","
              "\"lines\":[{\"sku\":\"A-1\",\"q\":\"2\",\"o\":\"ord_1\"},{\"sku\":\"Z-9\",\"q\":\"1\",\"o\":\"ord_1\"}],"
              "\"items\":[\"a-1\",\"z-9\"],\"empty\":[]}");
}

static void test_template_filters(void) {
    CHECK_STR(render("[\"{{ order.total_minor | money }}\", \"{{ order.five | money }}\","
                     " \"{{ order.minus | money }}\"]"),
              "[\"123.45\",\"0.05\",\"-0.05\"]");
    CHECK_STR(render("\"{{ order.total_minor | money_number }}\""), "123.45");
    CHECK_STR(render("\"{{ order.frac | money }}\""), "ERROR: filter 'money' needs integer minor units, got 1.5");
    CHECK_STR(render("\"{{ order.gift | money }}\""), "null");
    CHECK_STR(render("[\"{{ order.status | map:status }}\", \"{{ order.id | map:status }}\"]"), "[\"PAID\",\"OTHER\"]");
    CHECK_STR(render("\"{{ order.items.0.sku | map:skus }}\""), "\"100234\"");
    CHECK_STR(render("\"{{ order.items.1.sku | map:skus }}\""), "ERROR: map skus has no entry for 'Z-9'");
    CHECK_STR(render("[\"{{ order.note | default:\\\"none\\\" }}\", \"{{ order.x | default:0 }}\","
                     " \"{{ order.x | default: n/a }}\", \"{{ order.x | default:true }}\","
                     " \"{{ order.id | default:1 }}\","
                     " \"{{ order.x | default:\\\"a|b}}\\\" }}\"]"),
              "[\"none\",0,\"n/a\",true,\"ord_1\",\"a|b}}\"]");
    CHECK_STR(render("[\"{{ order.price | number }}\", \"{{ order.five | number }}\", \"{{ order.five | string }}\"]"),
              "[1.10,5,\"5\"]");
    CHECK_STR(render("\"{{ order.word | number }}\""),
              "ERROR: filter 'number' needs a number or numeric string, got \"abc\"");
    CHECK_STR(render("[\"{{ order.created_ms | iso_time }}\", \"{{ order.id | iso_time }}\"]"),
              "[\"2023-11-14T22:13:20Z\",\"ord_1\"]");
    CHECK_STR(render("[\"{{ order.items.0 | json }}\", \"{{ order.gift | json }}\", \"{{ order.x | count }}\"]"),
              "[\"{\\\"sku\\\":\\\"A-1\\\",\\\"qty\\\":2}\",\"null\",0]");
    CHECK_STR(render("\"{{ order.items.0.sku | url }}/{{ order.label | default:\\\"a b\\\" | url }}\""),
              "\"A-1/a%20b\"");
    CHECK_STR(render("\"{{ other.id }}\""), "null"); /* unknown scope renders as null */
}

static void test_template_text(void) {
    hc_json *order = parse(ORDER);
    hc_scope scope = {"order", NULL};
    hc_buf out = {0};
    char err[256];
    scope.value = order;
    CHECK(hc_template_render_text("/orders/{{ order.id | url }}/lines?n={{ order.items | count }}&g={{ order.gift }}",
                                  &scope, 1, NULL, &out, err, sizeof err), err);
    CHECK_STR(out.data, "/orders/ord_1/lines?n=2&g=");
    hc_buf_free(&out);
    CHECK(hc_template_render_text("{{ order.id | map:nope }}", &scope, 1, NULL, &out, err, sizeof err) == 0, "map");
    CHECK_STR(err, "unknown map 'nope'");
    hc_buf_free(&out);
    CHECK(hc_template_check_text("x {{ order.id | lower", NULL, err, sizeof err) == 0, "unterminated");
    CHECK_STR(err, "unterminated '{{' in \"{{ order.id | lower\"");
    CHECK(hc_template_check_text("plain {{ order.id }}", NULL, err, sizeof err) == 1, err);
    hc_json_free(order);
}

static void test_template_check(void) {
    expect_check_error("{\n  \"id\": \"{{ order.id | xyz }}\"\n}",
                       "2:9: unknown filter 'xyz' in \"{{ order.id | xyz }}\"");
    expect_check_error("[\"ok\", \"x {{ order.id \"]", "1:8: unterminated '{{' in \"{{ order.id \"");
    expect_check_error("{\"s\": \"{{ order.status | map:nope }}\"}",
                       "1:7: unknown map 'nope' in \"{{ order.status | map:nope }}\"");
    expect_check_error("{\"l\": {\n \"$each\": \"order.items\"}}", "1:7: $each needs a $render template");
    expect_check_error("{\"l\": {\"$each\": 3, \"$render\": 1}}",
                       "1:17: $each must be a path string such as \"order.items\"");
    expect_check_error("{\"l\": {\"$each\": \"a\", \"$render\": \"{{ a | nope }}\"}}",
                       "1:33: unknown filter 'nope' in \"{{ a | nope }}\"");
    expect_check_error("\"{{ a | optional | upper }}\"",
                       "1:1: filter 'optional' must come last in \"{{ a | optional | upper }}\"");
    expect_check_error("\"{{ a | default }}\"",
                       "1:1: filter 'default' needs an argument (default:...) in \"{{ a | default }}\"");
    expect_check_error("\"{{ a | upper:x }}\"", "1:1: filter 'upper' takes no argument in \"{{ a | upper:x }}\"");
    expect_check_error("\"{{ }}\"", "1:1: expected a path after '{{' in \"{{ }}\"");
    expect_check_error("\"{{ a..b }}\"", "1:1: invalid path 'a..b' in \"{{ a..b }}\"");
    expect_check_error("\"{{ a b }}\"", "1:1: unexpected 'b' in \"{{ a b }}\"");
}

static void test_filter_api(void) {
    char err[128];
    hc_json *v = hc_filter_apply(hc_filter_find("money", 5), NULL, 0, hc_json_new_number_raw("250"), NULL, err,
                                 sizeof err);
    CHECK_STR(hc_json_string(v, NULL), "2.50");
    hc_json_free(v);
    CHECK(hc_filter_find("nope", 4) == -1 && hc_filter_needs_arg(HC_FILTER_MAP), "filter table");
}

int main(void) {
    test_buf();
    test_json_roundtrip();
    test_json_values();
    test_json_errors();
    test_json_path();
    test_json_build();
    test_crypto();
    test_format();
    test_template_render();
    test_template_filters();
    test_template_text();
    test_template_check();
    test_filter_api();
    printf("test_hc: %d checks passed\n", checks);
    return 0;
}
