/* link_parse: see link_parse.h. */
#include "repl/link_parse.h"

#include <string.h>
#include <strings.h>

#include "core/util.h"

/* The length after a '*' or '$' at p, on a line that ends at nl (the
 * '\n'): decimal digits up to a "\r\n", as Redis reads them with
 * string2ll. Returns 0, or -1 for anything else ("*x", "$zz", "$3\n"),
 * which Redis answers with "Protocol error: invalid ... length". */
static int parse_length(const char *p, const char *nl, long long *out) {
    if (nl - p < 2 || nl[-1] != '\r') return -1;
    return util_str_to_ll(p + 1, (size_t)(nl - 1 - (p + 1)), out) ? 0 : -1;
}

long link_parse_command(char *buf, size_t len, char **argv, size_t *lens, int max, int *argc) {
    *argc = 0;
    if (len == 0) return 0;
    if (buf[0] != '*') {
        char *nl = memchr(buf, '\n', len);
        if (!nl) return len > 1024 ? -1 : 0;
        char *p = buf, *end = nl;
        if (end > buf && end[-1] == '\r') end--;
        while (p < end && *argc < max) {
            while (p < end && *p == ' ') p++;
            if (p == end) break;
            char *w = p;
            while (p < end && *p != ' ') p++;
            argv[*argc] = w;
            lens[*argc] = (size_t)(p - w);
            (*argc)++;
        }
        return nl - buf + 1;
    }
    char *p = buf, *end = buf + len;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return len > 64 ? -1 : 0;
    long long count;
    if (parse_length(p, nl, &count) < 0 || count > 64) return -1;
    p = nl + 1;
    /* "*0" and "*-1" are empty commands, skipped as Redis does. */
    for (long long i = 0; i < count; i++) {
        if (p >= end) return 0;
        if (*p != '$') return -1;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return (end - p) > 64 ? -1 : 0;
        long long blen;
        if (parse_length(p, nl, &blen) < 0 || blen < 0 || blen > 1024) return -1;
        p = nl + 1;
        if (end - p < blen + 2) return 0;
        if (*argc < max) {
            argv[*argc] = p;
            lens[*argc] = (size_t)blen;
            (*argc)++;
        }
        p += blen + 2;
    }
    return p - buf;
}

int link_word_is(const char *p, size_t len, const char *w) {
    return strlen(w) == len && strncasecmp(p, w, len) == 0;
}
