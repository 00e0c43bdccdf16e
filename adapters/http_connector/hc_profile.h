/*
 * hc_profile.h -- a vendor profile: how one external system (WMS, TMS, carrier) is spoken
 * to. Loaded from JSON (adapters/profiles/NAME.json), checked at create with file:line:column
 * in every message, then read-only (shared by all delivery threads).
 * The format is documented in docs/connectors.md.
 */
#ifndef HC_PROFILE_H
#define HC_PROFILE_H

#include <stddef.h>

#include "hc_json.h"

#define HC_AUTH_NONE 0
#define HC_AUTH_API_KEY 1
#define HC_AUTH_HMAC 2
#define HC_AUTH_OAUTH2 3
#define HC_MAX_OPS 8

typedef struct hc_operation {
    char name[32];
    char on_type[160];           /* CloudEvents type it handles; "" for the status query */
    const hc_json *when;         /* {"path", "in"} or a list of them, all of which must hold; or NULL */
    char method[8];
    const char *path;            /* string template, appended to base_url */
    const hc_json *body;         /* JSON template; NULL sends the event data as it is */
    const hc_json *headers;      /* object of string templates, or NULL */
    const hc_json *status_path;  /* status query: where the status is in the reply */
    const hc_json *order_path;   /* status query: where the order id is (optional) */
} hc_operation;

typedef struct hc_profile {
    hc_json *doc;                /* owns every node the fields point into */
    char file[512];              /* for messages */
    char name[64];
    int plain;                   /* the config.url mode: every subscribed event is POSTed as it is */
    char base_url[512];
    int auth;                    /* HC_AUTH_* */
    char auth_header[64];
    char auth_prefix[64];
    char secret[512];            /* api key, HMAC secret or OAuth2 client secret */
    char timestamp_header[64];   /* HMAC: header carrying the unix time that is signed */
    char token_url[512];
    char client_id[256];
    char scope[256];
    hc_operation ops[HC_MAX_OPS];
    size_t op_count;
    int status_op;               /* index of the status query, or -1 */
    const hc_json *statuses;     /* {"VendorStatus": "state" | {"state": "...", "exception": true}} */
    const hc_json *maps;         /* value maps for map:NAME */
    int callbacks;               /* 1 when the profile takes status callbacks */
    char cb_header[64];
    char cb_prefix[64];
    int cb_base64;
    char cb_secret[512];
    const char *cb_order;        /* string template: the order id in a callback */
    const char *cb_status;       /* string template: the vendor status in a callback */
    int retry_codes[24];         /* HTTP codes that are temporary failures */
    size_t retry_count;
    double rate_per_second;      /* 0 = no limit */
    double burst;
    long timeout_ms;
    long connect_timeout_ms;
} hc_profile;

/* Loads and checks the profile at `file` (relative paths against `dir`), resolving
 * {{ config.* }} in its settings against `config` (the manifest's config object).
 * Returns 0 with "FILE:LINE:COL: message" in err on any problem. */
int hc_profile_load(hc_profile *p, const char *file, const char *dir, const hc_json *config, char *err, size_t errcap);
/* The profile used when the manifest gives only `url`: POST each event's data as it is. */
int hc_profile_plain(hc_profile *p, const hc_json *config, char *err, size_t errcap);
void hc_profile_free(hc_profile *p);

/* The operation for an event (by type and `when`), or NULL when the profile has none. */
const hc_operation *hc_profile_operation(const hc_profile *p, const char *type, const hc_json *scope_root);
/* Maps a vendor status to a lifecycle state ("" when it moves none) and an exception flag. */
const char *hc_profile_state(const hc_profile *p, const char *status, int *exception);
/* 1 when an HTTP code means "try again later". */
int hc_profile_is_retry(const hc_profile *p, long code);

#endif
