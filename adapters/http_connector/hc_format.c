/* hc_format.c -- money and ISO 8601 formatting; see hc_format.h. */
#include "hc_format.h"

#include <stdio.h>

static int hc_fmt_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int hc_format_money(const char *s, size_t n, hc_buf *out) {
    size_t i = 0, start, end, k;
    int neg = 0;
    while (i < n && hc_fmt_ws(s[i])) i++;
    while (n > i && hc_fmt_ws(s[n - 1])) n--;
    if (i < n && s[i] == '-') neg = 1, i++;
    while (i + 1 < n && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9') i++; /* leading zeros */
    for (start = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    end = i;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] == '0'; i++) {}
    }
    if (end == start || i != n) return 0;
    k = end - start;
    if (neg && !(k == 1 && s[start] == '0')) hc_buf_append(out, "-", 1); /* no "-0.00" */
    if (k > 2) {
        hc_buf_append(out, s + start, k - 2);
        hc_buf_append(out, ".", 1);
        hc_buf_append(out, s + end - 2, 2);
    } else {
        hc_buf_append(out, k == 1 ? "0.0" : "0.", k == 1 ? 3 : 2);
        hc_buf_append(out, s + start, k);
    }
    return 1;
}

/* Floor division, since C99 division truncates toward zero. */
static long long hc_floor_div(long long a, long long b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int hc_format_iso_time(double ms, hc_buf *out) {
    long long t, days, sod, z, era, doe, yoe, doy, mp, m, d, y;
    if (!(ms >= -62167219200000.0 && ms <= 253402300799999.0)) return 0; /* also NaN */
    t = (long long)ms;
    if ((double)t > ms) t--;
    t = hc_floor_div(t, 1000);
    days = hc_floor_div(t, 86400);
    sod = t - days * 86400;
    /* civil_from_days: https://howardhinnant.github.io/date_algorithms.html#civil_from_days */
    z = days + 719468;
    era = hc_floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    hc_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d, (int)(sod / 3600),
                  (int)(sod / 60 % 60), (int)(sod % 60));
    return 1;
}
