/*
 * hc_json.h -- a small JSON DOM (RFC 8259) with source positions, for the HTTP connector.
 *
 * Nodes remember where they started in the source (1-based line and byte column) so config
 * errors can point at the offending template. Numbers keep their source text, so
 * 12345678901234 and 1.10 are written back exactly as they were read.
 *
 * Ownership: hc_json_parse and the hc_json_new_* constructors return trees the caller frees
 * with hc_json_free. Accessors return borrowed pointers into the tree. No global state; a
 * tree may be read from several threads at once but not changed while read.
 */
#ifndef HC_JSON_H
#define HC_JSON_H

#include <stddef.h>

#include "hc_buf.h"

typedef enum { HC_NULL, HC_BOOL, HC_NUMBER, HC_STRING, HC_ARRAY, HC_OBJECT } hc_type;

typedef struct hc_json hc_json;

/* Parse text[0..len). NULL on error, with "LINE:COL: message" written to err (if errcap > 0).
 * Nesting is limited to 128 arrays/objects. Columns count bytes. */
hc_json *hc_json_parse(const char *text, size_t len, char *err, size_t errcap);
/* Free a tree (NULL is fine). */
void hc_json_free(hc_json *node);
/* Deep copy; NULL on allocation failure. Positions are copied too. */
hc_json *hc_json_clone(const hc_json *node);

/* Accessors. All take NULL or a node of the wrong type and return a neutral value. */
hc_type hc_json_type(const hc_json *node);            /* HC_NULL for a NULL node */
int hc_json_bool(const hc_json *node);                /* 0 unless a true bool */
double hc_json_number(const hc_json *node);           /* 0 unless a number */
const char *hc_json_number_raw(const hc_json *node);  /* source text of a number, else NULL */
const char *hc_json_string(const hc_json *node, size_t *len); /* decoded UTF-8, NUL-terminated
                                                       * (may hold NULs: use len); else NULL */
size_t hc_json_count(const hc_json *node);            /* elements or members; 0 for scalars */
hc_json *hc_json_at(const hc_json *node, size_t i);   /* element or member value i, else NULL */
const char *hc_json_key_at(const hc_json *node, size_t i); /* member key i of an object */
hc_json *hc_json_get(const hc_json *object, const char *key); /* first member named key */
hc_json *hc_json_get_n(const hc_json *object, const char *key, size_t klen); /* same, key a slice */
int hc_json_line(const hc_json *node);                /* 1-based; 0 for built nodes */
int hc_json_col(const hc_json *node);                 /* 1-based byte column; 0 for built */

/* Dotted lookup: "order.items.0.sku". Segments are object keys, or decimal indexes into
 * arrays. "" returns root. NULL when absent. Keys containing '.' cannot be addressed. */
hc_json *hc_json_path(const hc_json *root, const char *path);
/* Same, for a path that is not NUL-terminated. */
hc_json *hc_json_path_n(const hc_json *root, const char *path, size_t len);

/* Compact serialisation appended to out (numbers as their raw text). */
void hc_json_write(hc_buf *out, const hc_json *node);
/* Append s[0..len) as a quoted, escaped JSON string. */
void hc_json_write_string(hc_buf *out, const char *s, size_t len);
/* Append a node as plain text: strings unquoted, numbers raw, true/false, null as nothing,
 * arrays and objects as compact JSON. Returns 1, or 0 if out has failed. */
int hc_json_text(const hc_json *node, hc_buf *out);

/* Constructors; each returns NULL on allocation failure. */
hc_json *hc_json_new_null(void);
hc_json *hc_json_new_bool(int value);
hc_json *hc_json_new_number_raw(const char *raw); /* NULL also if raw is not a JSON number */
hc_json *hc_json_new_number_n(const char *raw, size_t len); /* same, raw not NUL-terminated */
hc_json *hc_json_new_string(const char *s, size_t len);
hc_json *hc_json_new_array(void);
hc_json *hc_json_new_object(void);
/* Append child to an array. Takes ownership of child even on failure (then frees it).
 * Returns 1 on success, 0 on failure (not an array, or out of memory). */
int hc_json_append(hc_json *array, hc_json *child);
/* Append member key[0..klen) (may hold NULs) to an object, keeping earlier members of the
 * same name as a parsed document does. Ownership and result as hc_json_append. */
int hc_json_add(hc_json *object, const char *key, size_t klen, hc_json *child);
/* Set object member key to child, replacing the first member of that name or appending.
 * Takes ownership of child as hc_json_append does. Returns 1 on success. */
int hc_json_set(hc_json *object, const char *key, hc_json *child);

/* Record a source position on a built node (the parser uses this; NULL is ignored). */
void hc_json_set_pos(hc_json *node, int line, int col);

#endif
