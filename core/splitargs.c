/* splitargs: see splitargs.h.
 *
 * The splitter is a small state machine walked once over the line:
 *
 *   BETWEEN   skip blanks (space, \t, \n, \v, \f, \r); the first other byte
 *             starts an argument in UNQUOTED state.
 *   UNQUOTED  bytes are copied until space, \t, \n, \r or the end of the
 *             line ends the argument. A '"' or '\'' switches to the quoted
 *             states *without* ending the argument, so foo"bar baz" is the
 *             single argument `foobar baz`, as in Redis.
 *   DQUOTE    \xHH (two hex digits) gives that byte; a backslash followed by
 *             n r t b a gives the control character and by anything else
 *             gives that byte itself (\" \\ \q -> " \ q). The closing '"'
 *             ends the argument and must be followed by a blank or the end.
 *   SQUOTE    only \' is an escape; every other byte, backslash included,
 *             is literal. The closing '\'' follows the same rule as '"'.
 *
 * Reaching the end of the line inside quotes, or a closing quote glued to
 * the next byte ("a"b), makes the whole line invalid: callers report
 * "unbalanced quotes" (inline requests) or a config syntax error.
 *
 * The odd asymmetry is Redis's and is kept on purpose: \v and \f are blanks
 * between arguments but ordinary bytes inside an unquoted one, because the
 * server between arguments uses isspace() and inside them a fixed set.
 *
 * One deliberate difference: sdssplitargs() works on a C string, so a NUL
 * byte ends the line there. Here the line has a length and NUL is an
 * ordinary byte, which keeps inline requests binary safe. */
#include "core/splitargs.h"

#include <limits.h>

#include "core/mem.h"

static int is_blank(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Bytes that end an unquoted argument: a subset of the blanks above. */
static int ends_unquoted(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char unescape(unsigned char c) {
    switch (c) {
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        case 'b':
            return '\b';
        case 'a':
            return '\a';
        default:
            return (char)c;
    }
}

/* A closing quote at s[i] is valid when nothing, or a blank, follows. */
static int quote_may_close(const unsigned char *s, size_t i, size_t len) {
    return i + 1 == len || is_blank(s[i + 1]);
}

/* Decode the argument starting at s[*pos] into out (which has room for
 * len bytes: an argument never decodes longer than its source). Returns the
 * decoded length, or -1 if the quoting is invalid. */
static long decode_arg(const unsigned char *s, size_t len, size_t *pos, char *out) {
    size_t i = *pos, n = 0;
    enum { UNQUOTED, DQUOTE, SQUOTE } state = UNQUOTED;

    for (;;) {
        if (i == len) {
            if (state != UNQUOTED) return -1;
            break;
        }
        unsigned char c = s[i];
        if (state == UNQUOTED) {
            if (ends_unquoted(c)) break;
            if (c == '"')
                state = DQUOTE;
            else if (c == '\'')
                state = SQUOTE;
            else
                out[n++] = (char)c;
            i++;
        } else if (state == DQUOTE) {
            if (c == '\\' && i + 3 < len && s[i + 1] == 'x' && hex_value(s[i + 2]) >= 0 &&
                hex_value(s[i + 3]) >= 0) {
                out[n++] = (char)(hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]));
                i += 4;
            } else if (c == '\\' && i + 1 < len) {
                out[n++] = unescape(s[i + 1]);
                i += 2;
            } else if (c == '"') {
                if (!quote_may_close(s, i, len)) return -1;
                i++;
                break;
            } else {
                out[n++] = (char)c;
                i++;
            }
        } else {
            if (c == '\\' && i + 1 < len && s[i + 1] == '\'') {
                out[n++] = '\'';
                i += 2;
            } else if (c == '\'') {
                if (!quote_may_close(s, i, len)) return -1;
                i++;
                break;
            } else {
                out[n++] = (char)c;
                i++;
            }
        }
    }
    *pos = i;
    return (long)n;
}

dstr *split_args(const char *line, size_t len, int *argc) {
    const unsigned char *s = (const unsigned char *)line;
    char *scratch = mem_alloc(len);
    dstr *argv = mem_alloc(sizeof(dstr));
    int n = 0, cap = 1;
    size_t pos = 0;

    *argc = 0;
    for (;;) {
        while (pos < len && is_blank(s[pos])) pos++;
        if (pos == len) break;

        long alen = decode_arg(s, len, &pos, scratch);
        if (alen < 0 || n == INT_MAX) goto invalid;
        if (n == cap) {
            cap = cap > INT_MAX / 2 ? INT_MAX : cap * 2;
            argv = mem_realloc(argv, sizeof(dstr) * (size_t)cap);
        }
        argv[n++] = dstr_new(scratch, (size_t)alen);
    }
    mem_free(scratch);
    *argc = n;
    return argv;

invalid:
    mem_free(scratch);
    split_args_free(argv, n);
    return NULL;
}

void split_args_free(dstr *argv, int argc) {
    if (!argv) return;
    for (int j = 0; j < argc; j++) dstr_free(argv[j]);
    mem_free(argv);
}
