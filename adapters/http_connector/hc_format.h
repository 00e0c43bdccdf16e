/*
 * hc_format.h -- text formats vendors ask for that have no libc function: money from minor
 * units, and ISO 8601 UTC timestamps without gmtime_r (whose availability and thread
 * safety vary). No global state.
 */
#ifndef HC_FORMAT_H
#define HC_FORMAT_H

#include <stddef.h>

#include "hc_buf.h"

/* Append integer minor units s[0..n) ("12345", " -5 ", "100.0": surrounding whitespace and a
 * zero fraction allowed) as major units with two decimals ("123.45", "-0.05", "1.00").
 * Works on the text, so any amount stays exact. Returns 0 (appending nothing) if s is not
 * an integer. */
int hc_format_money(const char *s, size_t n, hc_buf *out);
/* Append ms since 1970-01-01 as "YYYY-MM-DDTHH:MM:SSZ" (UTC; milliseconds dropped, rounding
 * down). Returns 0 (appending nothing) outside years 0000-9999 or for NaN. */
int hc_format_iso_time(double ms, hc_buf *out);

#endif
