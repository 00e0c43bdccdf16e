/*
 * hc_profile.c -- loads and checks a vendor profile (see hc_profile.h). Every message names
 * the profile file, line and column of the offending value, and what was expected.
 */
#include "hc_profile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_template.h"

typedef struct loader {
    hc_profile *p;
    const hc_json *config;
    char *err;
    size_t errcap;
} loader;

static int fail_at(loader *l, const hc_json *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(loader *l, const hc_json *node, const char *fmt, ...) {
    char message[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    snprintf(l->err, l->errcap, "%s:%d:%d: %s", l->p->file, node ? hc_json_line(node) : 1, node ? hc_json_col(node) : 1, message);
    return 0;
}

/* Rejects keys not in `allowed` (NULL-terminated), as the manifest does. */
static int check_keys(loader *l, const hc_json *obj, const char *const *allowed, const char *where) {
    for (size_t i = 0; i < hc_json_count(obj); i++) {
        const char *key = hc_json_key_at(obj, i);
        int known = 0;
        for (const char *const *a = allowed; *a; a++) known |= strcmp(*a, key) == 0;
        if (!known) {
            char list[400] = "";
            for (const char *const *a = allowed; *a; a++) {
                strncat(list, *a, sizeof list - strlen(list) - 3);
                if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            return fail_at(l, hc_json_at(obj, i), "%s: unknown key '%s' (allowed: %s)", where, key, list);
        }
    }
    return 1;
}

static const hc_json *want(loader *l, const hc_json *obj, const char *key, hc_type type, int required, const char *where) {
    const hc_json *v = hc_json_get(obj, key);
    if (v == NULL) {
        if (required) fail_at(l, obj, "%s.%s: required", where, key);
        return NULL;
    }
    if (hc_json_type(v) != type) {
        static const char *names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
        fail_at(l, v, "%s.%s: expected %s", where, key, names[type]);
        return NULL;
    }
    return v;
}

/* Renders a setting (a string template over {{ config.* }}) into dst; "env:NAME" reads the
 * environment so secrets need not sit in the manifest. */
static int setting(loader *l, const hc_json *node, const char *where, char *dst, size_t cap, int required) {
    dst[0] = '\0';
    if (node == NULL) return required ? fail_at(l, NULL, "%s: required", where) : 1;
    if (hc_json_type(node) != HC_STRING) return fail_at(l, node, "%s: expected a string", where);
    hc_scope scope = {"config", l->config};
    hc_buf out = {0};
    char message[300];
    if (!hc_template_render_text(hc_json_string(node, NULL), &scope, 1, NULL, &out, message, sizeof message)) {
        hc_buf_free(&out);
        return fail_at(l, node, "%s: %s", where, message);
    }
    const char *value = out.data ? out.data : "";
    if (strncmp(value, "env:", 4) == 0) {
        const char *env = getenv(value + 4);
        if (env == NULL) {
            fail_at(l, node, "%s: environment variable %s is not set", where, value + 4);
            hc_buf_free(&out);
            return 0;
        }
        value = env;
    }
    if (required && value[0] == '\0') {
        fail_at(l, node, "%s: renders empty; set it in the manifest's config (%s)", where, hc_json_string(node, NULL));
        hc_buf_free(&out);
        return 0;
    }
    if (strlen(value) >= cap) {
        fail_at(l, node, "%s: longer than %zu bytes", where, cap - 1);
        hc_buf_free(&out);
        return 0;
    }
    strcpy(dst, value);
    hc_buf_free(&out);
    return 1;
}

static int copy_text(loader *l, const hc_json *node, const char *where, char *dst, size_t cap) {
    size_t len = 0;
    const char *s = hc_json_string(node, &len);
    if (s == NULL) return fail_at(l, node, "%s: expected a string", where);
    if (len >= cap) return fail_at(l, node, "%s: longer than %zu bytes", where, cap - 1);
    memcpy(dst, s, len + 1);
    return 1;
}

static int check_template_text(loader *l, const hc_json *node, const char *where) {
    char message[400];
    if (hc_json_type(node) != HC_STRING) return fail_at(l, node, "%s: expected a string template", where);
    if (!hc_template_check_text(hc_json_string(node, NULL), l->p->maps, message, sizeof message))
        return fail_at(l, node, "%s: %s", where, message);
    return 1;
}

static int load_auth(loader *l, const hc_json *auth) {
    hc_profile *p = l->p;
    if (auth == NULL) return 1;
    static const char *const keys[] = {"type", "header", "prefix", "key", "secret", "timestamp_header", "token_url",
                                       "client_id", "client_secret", "scope", NULL};
    if (!check_keys(l, auth, keys, "auth")) return 0;
    const hc_json *type = want(l, auth, "type", HC_STRING, 1, "auth");
    if (type == NULL) return 0;
    const char *t = hc_json_string(type, NULL);
    if (strcmp(t, "api_key") == 0) {
        p->auth = HC_AUTH_API_KEY;
        strcpy(p->auth_header, "X-Api-Key");
        if (hc_json_get(auth, "header") && !copy_text(l, hc_json_get(auth, "header"), "auth.header", p->auth_header, sizeof p->auth_header)) return 0;
        if (hc_json_get(auth, "prefix") && !copy_text(l, hc_json_get(auth, "prefix"), "auth.prefix", p->auth_prefix, sizeof p->auth_prefix)) return 0;
        return setting(l, hc_json_get(auth, "key"), "auth.key", p->secret, sizeof p->secret, 1);
    }
    if (strcmp(t, "hmac") == 0) {
        p->auth = HC_AUTH_HMAC;
        strcpy(p->auth_header, "X-Signature");
        strcpy(p->auth_prefix, "sha256=");
        strcpy(p->timestamp_header, "X-Timestamp");
        if (hc_json_get(auth, "header") && !copy_text(l, hc_json_get(auth, "header"), "auth.header", p->auth_header, sizeof p->auth_header)) return 0;
        if (hc_json_get(auth, "prefix") && !copy_text(l, hc_json_get(auth, "prefix"), "auth.prefix", p->auth_prefix, sizeof p->auth_prefix)) return 0;
        if (hc_json_get(auth, "timestamp_header") &&
            !copy_text(l, hc_json_get(auth, "timestamp_header"), "auth.timestamp_header", p->timestamp_header, sizeof p->timestamp_header))
            return 0;
        return setting(l, hc_json_get(auth, "secret"), "auth.secret", p->secret, sizeof p->secret, 1);
    }
    if (strcmp(t, "oauth2_client_credentials") == 0) {
        p->auth = HC_AUTH_OAUTH2;
        return setting(l, hc_json_get(auth, "token_url"), "auth.token_url", p->token_url, sizeof p->token_url, 1) &&
               setting(l, hc_json_get(auth, "client_id"), "auth.client_id", p->client_id, sizeof p->client_id, 1) &&
               setting(l, hc_json_get(auth, "client_secret"), "auth.client_secret", p->secret, sizeof p->secret, 1) &&
               setting(l, hc_json_get(auth, "scope"), "auth.scope", p->scope, sizeof p->scope, 0);
    }
    return fail_at(l, type, "auth.type: '%s' is not api_key, hmac or oauth2_client_credentials", t);
}

static int load_operation(loader *l, const char *name, const hc_json *op) {
    hc_profile *p = l->p;
    char where[64];
    snprintf(where, sizeof where, "operations.%s", name);
    if (hc_json_type(op) != HC_OBJECT) return fail_at(l, op, "%s: expected an object", where);
    static const char *const keys[] = {"on", "when", "method", "path", "headers", "body", "status_path", "order_path", NULL};
    if (!check_keys(l, op, keys, where)) return 0;
    if (p->op_count == HC_MAX_OPS) return fail_at(l, op, "%s: at most %d operations", where, HC_MAX_OPS);
    hc_operation *o = &p->ops[p->op_count];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    int is_status = strcmp(name, "status") == 0;
    const hc_json *on = want(l, op, "on", HC_STRING, !is_status, where);
    if (on == NULL && !is_status) return 0;
    if (on && !copy_text(l, on, "on", o->on_type, sizeof o->on_type)) return 0;
    const hc_json *method = want(l, op, "method", HC_STRING, 1, where);
    if (method == NULL) return 0;
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
    int known = 0;
    for (const char *const *m = methods; *m; m++) known |= strcmp(*m, hc_json_string(method, NULL)) == 0;
    if (!known) return fail_at(l, method, "%s.method: '%s' is not GET, POST, PUT, PATCH or DELETE", where, hc_json_string(method, NULL));
    snprintf(o->method, sizeof o->method, "%s", hc_json_string(method, NULL));
    const hc_json *path = want(l, op, "path", HC_STRING, 1, where);
    if (path == NULL || !check_template_text(l, path, where)) return 0;
    o->path = hc_json_string(path, NULL);
    if ((o->headers = hc_json_get(op, "headers")) != NULL) {
        if (hc_json_type(o->headers) != HC_OBJECT) return fail_at(l, o->headers, "%s.headers: expected an object of name: template", where);
        for (size_t i = 0; i < hc_json_count(o->headers); i++)
            if (!check_template_text(l, hc_json_at(o->headers, i), where)) return 0;
    }
    if ((o->body = hc_json_get(op, "body")) != NULL) {
        char message[400];
        if (!hc_template_check(o->body, p->maps, message, sizeof message)) {
            /* message is "LINE:COL: text": put the file in front and the place after. */
            char *rest = strstr(message, ": ");
            if (rest) *rest = '\0';
            snprintf(l->err, l->errcap, "%s:%s: %s.body: %s", p->file, message, where, rest ? rest + 2 : "");
            return 0;
        }
    }
    const hc_json *when = hc_json_get(op, "when");
    if (when) {
        /* One condition or a list of them (all must hold). */
        size_t n = hc_json_type(when) == HC_ARRAY ? hc_json_count(when) : 1;
        for (size_t i = 0; i < n; i++) {
            const hc_json *c = hc_json_type(when) == HC_ARRAY ? hc_json_at(when, i) : when;
            static const char *const wkeys[] = {"path", "in", NULL};
            if (hc_json_type(c) != HC_OBJECT) return fail_at(l, c, "%s.when: expected {\"path\": ..., \"in\": [...]} or a list of them", where);
            if (!check_keys(l, c, wkeys, "when") || !want(l, c, "path", HC_STRING, 1, "when") || !want(l, c, "in", HC_ARRAY, 1, "when")) return 0;
        }
        o->when = when;
    }
    o->status_path = hc_json_get(op, "status_path");
    o->order_path = hc_json_get(op, "order_path");
    if (is_status && (o->status_path == NULL || hc_json_type(o->status_path) != HC_STRING))
        return fail_at(l, op, "%s.status_path: required, where the status is in the reply (e.g. \"0.status\")", where);
    if (is_status) p->status_op = (int)p->op_count;
    p->op_count++;
    return 1;
}

static int load_callbacks(loader *l, const hc_json *cb) {
    hc_profile *p = l->p;
    if (cb == NULL) return 1;
    static const char *const keys[] = {"signature", "order_id", "status", NULL};
    if (hc_json_type(cb) != HC_OBJECT) return fail_at(l, cb, "callbacks: expected an object");
    if (!check_keys(l, cb, keys, "callbacks")) return 0;
    const hc_json *sig = want(l, cb, "signature", HC_OBJECT, 1, "callbacks");
    if (sig == NULL) return 0;
    static const char *const skeys[] = {"header", "prefix", "encoding", "secret", NULL};
    if (!check_keys(l, sig, skeys, "callbacks.signature")) return 0;
    const hc_json *header = want(l, sig, "header", HC_STRING, 1, "callbacks.signature");
    if (header == NULL || !copy_text(l, header, "callbacks.signature.header", p->cb_header, sizeof p->cb_header)) return 0;
    if (hc_json_get(sig, "prefix") && !copy_text(l, hc_json_get(sig, "prefix"), "callbacks.signature.prefix", p->cb_prefix, sizeof p->cb_prefix))
        return 0;
    const hc_json *encoding = hc_json_get(sig, "encoding");
    if (encoding) {
        const char *e = hc_json_string(encoding, NULL);
        if (e == NULL || (strcmp(e, "hex") != 0 && strcmp(e, "base64") != 0))
            return fail_at(l, encoding, "callbacks.signature.encoding: expected \"hex\" or \"base64\"");
        p->cb_base64 = strcmp(e, "base64") == 0;
    }
    if (!setting(l, hc_json_get(sig, "secret"), "callbacks.signature.secret", p->cb_secret, sizeof p->cb_secret, 1)) return 0;
    const hc_json *order = want(l, cb, "order_id", HC_STRING, 1, "callbacks");
    const hc_json *status = want(l, cb, "status", HC_STRING, 1, "callbacks");
    if (!order || !status || !check_template_text(l, order, "callbacks.order_id") || !check_template_text(l, status, "callbacks.status")) return 0;
    p->cb_order = hc_json_string(order, NULL);
    p->cb_status = hc_json_string(status, NULL);
    p->callbacks = 1;
    return 1;
}

static const char *const states[] = {"", "acknowledged", "picked", "packed", "shipped", "delivered", "canceled", NULL};

static int known_state(const char *s) {
    for (const char *const *k = states; *k; k++)
        if (strcmp(*k, s) == 0) return 1;
    return 0;
}

static int load_statuses(loader *l, const hc_json *statuses) {
    if (statuses == NULL) return 1;
    if (hc_json_type(statuses) != HC_OBJECT) return fail_at(l, statuses, "statuses: expected an object of vendor status: state");
    for (size_t i = 0; i < hc_json_count(statuses); i++) {
        const hc_json *v = hc_json_at(statuses, i);
        const hc_json *state = hc_json_type(v) == HC_OBJECT ? hc_json_get(v, "state") : v;
        const char *name = state ? hc_json_string(state, NULL) : "";
        if (state && name == NULL) return fail_at(l, v, "statuses.%s: expected a state name or {\"state\", \"exception\"}", hc_json_key_at(statuses, i));
        if (!known_state(name))
            return fail_at(l, state, "statuses.%s: '%s' is not one of acknowledged, picked, packed, shipped, delivered, canceled (or \"\" for none)",
                           hc_json_key_at(statuses, i), name);
    }
    l->p->statuses = statuses;
    return 1;
}

static int load_limits(loader *l, const hc_json *doc) {
    hc_profile *p = l->p;
    const hc_json *retry = hc_json_get(doc, "retry_on");
    static const int defaults[] = {408, 425, 429, 500, 502, 503, 504};
    if (retry == NULL) {
        memcpy(p->retry_codes, defaults, sizeof defaults);
        p->retry_count = sizeof defaults / sizeof defaults[0];
    } else {
        if (hc_json_type(retry) != HC_ARRAY) return fail_at(l, retry, "retry_on: expected a list of HTTP status codes");
        for (size_t i = 0; i < hc_json_count(retry) && i < 24; i++) {
            double code = hc_json_number(hc_json_at(retry, i));
            if (hc_json_type(hc_json_at(retry, i)) != HC_NUMBER || code < 100 || code > 599)
                return fail_at(l, hc_json_at(retry, i), "retry_on[%zu]: expected an HTTP status code 100-599", i);
            p->retry_codes[p->retry_count++] = (int)code;
        }
    }
    const hc_json *rate = hc_json_get(doc, "rate_limit");
    if (rate) {
        static const char *const keys[] = {"per_second", "burst", NULL};
        if (hc_json_type(rate) != HC_OBJECT || !check_keys(l, rate, keys, "rate_limit")) return fail_at(l, rate, "rate_limit: expected {\"per_second\": N, \"burst\": N}");
        const hc_json *per = want(l, rate, "per_second", HC_NUMBER, 1, "rate_limit");
        if (per == NULL || hc_json_number(per) <= 0) return per ? fail_at(l, per, "rate_limit.per_second: must be > 0") : 0;
        p->rate_per_second = hc_json_number(per);
        const hc_json *burst = hc_json_get(rate, "burst");
        p->burst = burst ? hc_json_number(burst) : p->rate_per_second;
        if (p->burst < 1) return fail_at(l, burst, "rate_limit.burst: must be >= 1");
    }
    const hc_json *t = hc_json_get(doc, "timeout_ms");
    const hc_json *c = hc_json_get(doc, "connect_timeout_ms");
    p->timeout_ms = t ? (long)hc_json_number(t) : 5000;
    p->connect_timeout_ms = c ? (long)hc_json_number(c) : 2000;
    if (p->timeout_ms <= 0 || p->connect_timeout_ms <= 0) return fail_at(l, t ? t : c, "timeout_ms / connect_timeout_ms: must be positive (milliseconds)");
    return 1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    hc_buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) hc_buf_append(&b, chunk, n);
    fclose(f);
    if (b.failed || b.data == NULL) {
        hc_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

static int load_document(loader *l, const hc_json *doc) {
    hc_profile *p = l->p;
    static const char *const keys[] = {"profile", "description", "modeled_on", "base_url", "auth", "operations", "statuses", "callbacks",
                                       "maps", "retry_on", "rate_limit", "timeout_ms", "connect_timeout_ms", NULL};
    if (hc_json_type(doc) != HC_OBJECT) return fail_at(l, doc, "a profile is a JSON object");
    if (!check_keys(l, doc, keys, "profile")) return 0;
    const hc_json *name = want(l, doc, "profile", HC_STRING, 1, "profile");
    if (name == NULL || !copy_text(l, name, "profile", p->name, sizeof p->name)) return 0;
    p->maps = hc_json_get(doc, "maps");
    if (p->maps && hc_json_type(p->maps) != HC_OBJECT) return fail_at(l, p->maps, "maps: expected an object of name: {value: mapped}");
    if (!setting(l, hc_json_get(doc, "base_url"), "base_url", p->base_url, sizeof p->base_url, 1)) return 0;
    if (strncmp(p->base_url, "http://", 7) != 0 && strncmp(p->base_url, "https://", 8) != 0)
        return fail_at(l, hc_json_get(doc, "base_url"), "base_url: '%s' is not an http:// or https:// URL", p->base_url);
    if (!load_auth(l, hc_json_get(doc, "auth")) || !load_limits(l, doc) || !load_statuses(l, hc_json_get(doc, "statuses")) ||
        !load_callbacks(l, hc_json_get(doc, "callbacks")))
        return 0;
    const hc_json *ops = want(l, doc, "operations", HC_OBJECT, 1, "profile");
    if (ops == NULL) return 0;
    for (size_t i = 0; i < hc_json_count(ops); i++)
        if (!load_operation(l, hc_json_key_at(ops, i), hc_json_at(ops, i))) return 0;
    if (p->op_count == 0) return fail_at(l, ops, "operations: name at least one (e.g. \"create\")");
    return 1;
}

/* 1 when some string in the profile reads config.<name> (a template's path). */
static int profile_reads(const hc_json *node, const char *name) {
    size_t len = 0;
    const char *text = hc_json_string(node, &len);
    if (text) {
        size_t n = strlen(name);
        for (const char *at = strstr(text, "config."); at; at = strstr(at + 1, "config.")) {
            const char *end = at + 7 + n;
            if (strncmp(at + 7, name, n) == 0 && (*end == '\0' || !(*end == '_' || (*end >= 'a' && *end <= 'z') ||
                (*end >= 'A' && *end <= 'Z') || (*end >= '0' && *end <= '9'))))
                return 1;
        }
        return 0;
    }
    for (size_t i = 0; i < hc_json_count(node); i++)
        if (profile_reads(hc_json_at(node, i), name)) return 1;
    return 0;
}

/* A config key that neither the connector nor the profile reads is a typo (api_secretx):
 * say so at create instead of sending requests without the intended value. */
static int check_config_keys(loader *l) {
    static const char *const own[] = {"profile", "url", "timeout_ms", "connect_timeout_ms", "api_key", "api_key_header", "_manifest_dir", NULL};
    for (size_t i = 0; i < hc_json_count(l->config); i++) {
        const char *key = hc_json_key_at(l->config, i);
        int known = 0;
        for (const char *const *k = own; *k && !known; k++) known = strcmp(*k, key) == 0;
        if (!known && !profile_reads(l->p->doc, key)) {
            snprintf(l->err, l->errcap, "config.%s: not read by profile '%s' (%s); check the spelling against the profile's {{ config.* }} settings",
                     key, l->p->name, l->p->file);
            return 0;
        }
    }
    return 1;
}

int hc_profile_load(hc_profile *p, const char *file, const char *dir, const hc_json *config, char *err, size_t errcap) {
    memset(p, 0, sizeof *p);
    p->status_op = -1;
    if (file[0] == '/' || dir == NULL || dir[0] == '\0') snprintf(p->file, sizeof p->file, "%s", file);
    else snprintf(p->file, sizeof p->file, "%s/%s", dir, file);
    loader l = {p, config, err, errcap};
    size_t len = 0;
    char *text = read_file(p->file, &len);
    if (text == NULL) {
        snprintf(err, errcap, "config.profile: cannot read %s", p->file);
        return 0;
    }
    char message[300];
    p->doc = hc_json_parse(text, len, message, sizeof message);
    free(text);
    if (p->doc == NULL) {
        snprintf(err, errcap, "%s:%s", p->file, message);
        return 0;
    }
    if (!load_document(&l, p->doc) || !check_config_keys(&l)) {
        hc_profile_free(p);
        return 0;
    }
    return 1;
}

int hc_profile_plain(hc_profile *p, const hc_json *config, char *err, size_t errcap) {
    /* The same shape as a file profile, built in memory: POST the data to config.url. */
    static const char plain[] =
        "{\"profile\": \"plain\", \"base_url\": \"{{ config.url }}\", \"operations\": {\"create\": {"
        "\"on\": \"com.orderhub.dispatch.requested.v1\", \"method\": \"POST\", \"path\": \"\"}}}";
    memset(p, 0, sizeof *p);
    p->status_op = -1;
    snprintf(p->file, sizeof p->file, "(config.url)");
    loader l = {p, config, err, errcap};
    p->doc = hc_json_parse(plain, sizeof plain - 1, err, errcap);
    if (p->doc == NULL || !load_document(&l, p->doc)) {
        if (strstr(err, "base_url")) snprintf(err, errcap, "config.url: required (or config.profile), an http:// or https:// URL");
        hc_profile_free(p);
        return 0;
    }
    p->plain = 1;
    /* The plain mode's static key: config.api_key in the header config.api_key_header. */
    const char *key = hc_json_string(hc_json_get(config, "api_key"), NULL);
    if (key) {
        const char *header = hc_json_string(hc_json_get(config, "api_key_header"), NULL);
        if (strlen(key) >= sizeof p->secret || (header && strlen(header) >= sizeof p->auth_header)) {
            snprintf(err, errcap, "config.api_key / config.api_key_header: too long");
            hc_profile_free(p);
            return 0;
        }
        p->auth = HC_AUTH_API_KEY;
        snprintf(p->auth_header, sizeof p->auth_header, "%s", header ? header : "X-Api-Key");
        snprintf(p->secret, sizeof p->secret, "%s", key);
    }
    return 1;
}

void hc_profile_free(hc_profile *p) {
    hc_json_free(p->doc);
    p->doc = NULL;
}

/* 1 when the text of the value at `path` equals the text of one of `values`. */
static int condition_holds(const hc_json *c, const hc_json *scope_root) {
    const hc_json *value = hc_json_path(scope_root, hc_json_string(hc_json_get(c, "path"), NULL));
    const hc_json *values = hc_json_get(c, "in");
    hc_buf text = {0};
    hc_json_text(value, &text);
    int found = 0;
    for (size_t k = 0; k < hc_json_count(values) && !found; k++) {
        hc_buf candidate = {0};
        hc_json_text(hc_json_at(values, k), &candidate);
        found = text.data && candidate.data && strcmp(text.data, candidate.data) == 0;
        hc_buf_free(&candidate);
    }
    hc_buf_free(&text);
    return found;
}

const hc_operation *hc_profile_operation(const hc_profile *p, const char *type, const hc_json *scope_root) {
    for (size_t i = 0; i < p->op_count; i++) {
        const hc_operation *o = &p->ops[i];
        if (o->on_type[0] == '\0' || strcmp(o->on_type, type) != 0) continue;
        int all = 1;
        size_t n = o->when == NULL ? 0 : hc_json_type(o->when) == HC_ARRAY ? hc_json_count(o->when) : 1;
        for (size_t k = 0; k < n && all; k++) all = condition_holds(hc_json_type(o->when) == HC_ARRAY ? hc_json_at(o->when, k) : o->when, scope_root);
        if (all) return o;
    }
    return NULL;
}

const char *hc_profile_state(const hc_profile *p, const char *status, int *exception) {
    *exception = 0;
    const hc_json *v = hc_json_get(p->statuses, status);
    if (v == NULL) return NULL;
    if (hc_json_type(v) == HC_OBJECT) {
        *exception = hc_json_bool(hc_json_get(v, "exception"));
        const char *s = hc_json_string(hc_json_get(v, "state"), NULL);
        return s ? s : "";
    }
    return hc_json_string(v, NULL);
}

int hc_profile_is_retry(const hc_profile *p, long code) {
    for (size_t i = 0; i < p->retry_count; i++)
        if (p->retry_codes[i] == code) return 1;
    return 0;
}
