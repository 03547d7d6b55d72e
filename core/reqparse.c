/* reqparse: see reqparse.h.
 *
 * A client speaks one of two request formats, chosen per request by its
 * first byte, exactly as Redis's processInputBuffer() does:
 *
 *   '*'        multibulk: "*<count>\r\n" then <count> times "$<len>\r\n<len
 *              bytes>\r\n". This is what every client library sends.
 *   otherwise  inline: one text line ending in "\n" (an "\r" before it is
 *              dropped), split into arguments like a redis.conf line, for
 *              telnet users and for the bare "\r\n" keepalives replicas send.
 *
 * State machine (reqtype, mbulk_left, bulk_len):
 *
 *   BOUNDARY     reqtype NONE. The next byte picks INLINE or MULTIBULK.
 *   INLINE       wait for '\n' in the pending bytes, then split the line.
 *                No '\n' in more than 64KB: "too big inline request".
 *   MB_HEADER    MULTIBULK, mbulk_left 0. Wait for "\r" plus one more byte,
 *                parse the count. More than 64KB without "\r": "too big
 *                mbulk count string". A count <= 0 is an empty request.
 *   MB_LEN       mbulk_left > 0, bulk_len -1. Same wait; the line must start
 *                with '$' and hold a length in [0, max_bulk_len].
 *   MB_DATA      bulk_len >= 0. Wait until len+2 bytes are pending, copy the
 *                len payload bytes into a dstr once, skip the two after it.
 *
 * When a request completes with no arguments ("\r\n", "*0\r\n", "*-1\r\n",
 * a line of blanks) it is skipped and parsing goes on at BOUNDARY; with
 * arguments the parser stops in the ready state and returns REQ_READY until
 * the caller takes or drops the command.
 *
 * Consumption. The parser never keeps bytes it has not turned into state:
 * it consumes a header or length line as soon as it is parsed, a payload
 * only once all of it has arrived, an inline line only whole. So the caller
 * re-presents the unconsumed tail on the next call, with new bytes after it,
 * and a big payload is copied once, out of the caller's buffer, rather than
 * reassembled piecewise. `scanned` remembers how far the search for the
 * current line's terminator got, so feeding a long line one byte at a time
 * costs linear, not quadratic, time.
 *
 * Redis compatibility, looked up in Redis 7.0's networking.c:
 *   - Numbers follow string2ll(): optional '-', no '+', no leading zeros
 *     (but "0"), no blanks, at most 20 characters, within long long.
 *   - A header or length line ends at the first '\r'; the byte after it is
 *     not checked to be '\n', and neither are the two bytes after a payload:
 *     Redis just skips them, and so do we.
 *   - The 64KB limits apply to everything pending while no terminator has
 *     been found; a line that arrives whole with its terminator is judged on
 *     its content only.
 *   - Multibulk counts go up to INT_MAX (Redis 7.0 removed the old 1M cap);
 *     argv starts at min(count, 1024) slots and doubles as arguments arrive,
 *     so a client cannot make us allocate by announcing a huge count.
 *   - A client that still has to AUTH may send at most 10 arguments of at
 *     most 16KB each (CVE-2021-32675).
 *   - Deliberate difference: Redis finds line ends with strchr(), so a NUL
 *     byte inside a header line or inline request makes it wait for more
 *     input; here NUL is an ordinary byte. */
#include "core/reqparse.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/splitargs.h"

enum { REQ_TYPE_NONE = 0, REQ_TYPE_INLINE, REQ_TYPE_MULTIBULK };
enum { REQ_STATE_PARSING = 0, REQ_STATE_READY, REQ_STATE_FAILED };

#define PROTO_ERR "ERR Protocol error: "
#define NOT_FOUND ((size_t)-1)

/* string2ll() refuses strings this long or longer (LONG_STR_SIZE). */
#define MAX_NUMBER_LEN 21
/* Initial argv slots for a multibulk request; see the top comment. */
#define ARGV_INITIAL_SLOTS 1024

static req_status parse_fail(req_parser *p, const char *msg) {
    p->error = msg;
    p->state = REQ_STATE_FAILED;
    return REQ_ERROR;
}

static req_status fail_expected_dollar(req_parser *p, char got) {
    /* Redis's addReplyErrorFormat() turns CR and LF into spaces so the error
     * stays one line; NUL gets the same treatment so the message survives
     * being handled as a C string. */
    if (got == '\r' || got == '\n' || got == '\0') got = ' ';
    snprintf(p->errbuf, sizeof(p->errbuf), PROTO_ERR "expected '$', got '%c'", got);
    return parse_fail(p, p->errbuf);
}

/* Strict decimal parse with Redis's string2ll() rules. */
static int parse_number(const char *s, size_t len, long long *out) {
    size_t i = 0;
    int negative = 0;
    unsigned long long v = 0;

    if (len == 0 || len >= MAX_NUMBER_LEN) return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        negative = 1;
        i++;
    }
    if (i == len || s[i] < '1' || s[i] > '9') return 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Offset of the first `ch` in buf[pos..len), or NOT_FOUND. The search picks
 * up where the previous one for this same line stopped. */
static size_t find_line_end(req_parser *p, const char *buf, size_t pos, size_t len, char ch) {
    size_t from = pos + p->scanned;
    if (from > len) from = pos; /* the caller dropped bytes it should have kept */
    const char *hit = from < len ? memchr(buf + from, ch, len - from) : NULL;
    if (!hit) {
        p->scanned = len - pos;
        return NOT_FOUND;
    }
    size_t at = (size_t)(hit - buf);
    p->scanned = at - pos;
    return at;
}

static void consume(req_parser *p, size_t *pos, size_t to) {
    *pos = to;
    p->scanned = 0;
}

/* Forget the request in progress (argv included): back to BOUNDARY. */
static void reset_request(req_parser *p) {
    if (p->argv) {
        for (int j = 0; j < p->argc; j++) dstr_free(p->argv[j]);
        mem_free(p->argv);
    }
    p->argv = NULL;
    p->argc = 0;
    p->argv_cap = 0;
    p->reqtype = REQ_TYPE_NONE;
    p->mbulk_left = 0;
    p->bulk_len = -1;
    p->scanned = 0;
}

void req_parser_init(req_parser *p, long long max_bulk_len) {
    *p = (req_parser){.bulk_len = -1};
    p->max_bulk_len = max_bulk_len > 0 ? max_bulk_len : REQ_DEFAULT_MAX_BULK_LEN;
}

void req_parser_free(req_parser *p) {
    reset_request(p);
    p->state = REQ_STATE_PARSING;
    p->error = NULL;
    p->held = 0;
}

/* INLINE: returns REQ_READY with a complete (possibly empty) request. */
static req_status parse_inline(req_parser *p, const char *buf, size_t len, size_t *pos) {
    size_t start = *pos;
    size_t newline = find_line_end(p, buf, start, len, '\n');
    if (newline == NOT_FOUND) {
        if (len - start > REQ_INLINE_MAX_SIZE)
            return parse_fail(p, PROTO_ERR "too big inline request");
        return REQ_NEED_MORE;
    }

    size_t end = newline;
    if (end > start && buf[end - 1] == '\r') end--;
    int argc;
    dstr *argv = split_args(buf + start, end - start, &argc);
    if (!argv) return parse_fail(p, PROTO_ERR "unbalanced quotes in request");

    consume(p, pos, newline + 1);
    if (argc == 0) {
        mem_free(argv);
    } else {
        p->argv = argv;
        p->argc = argc;
        p->argv_cap = argc;
    }
    return REQ_READY;
}

/* Find the "\r" ending the header or length line at *pos. Returns its offset,
 * or NOT_FOUND with *st set to REQ_NEED_MORE or a "too big" error. The byte
 * after "\r" must have arrived too, since the line's end skips it. */
static size_t find_count_line(req_parser *p, const char *buf, size_t len, size_t pos,
                              const char *too_big, req_status *st) {
    size_t cr = find_line_end(p, buf, pos, len, '\r');
    if (cr == NOT_FOUND) {
        *st = len - pos > REQ_INLINE_MAX_SIZE ? parse_fail(p, too_big) : REQ_NEED_MORE;
        return NOT_FOUND;
    }
    if (cr + 1 == len) {
        *st = REQ_NEED_MORE;
        return NOT_FOUND;
    }
    return cr;
}

/* MB_HEADER: returns REQ_READY for an empty request, REQ_NEED_MORE with
 * mbulk_left > 0 once arguments are expected, or an error. */
static req_status parse_mbulk_header(req_parser *p, const char *buf, size_t len, size_t *pos) {
    req_status st;
    size_t cr = find_count_line(p, buf, len, *pos, PROTO_ERR "too big mbulk count string", &st);
    if (cr == NOT_FOUND) return st;

    long long count;
    if (!parse_number(buf + *pos + 1, cr - *pos - 1, &count) || count > REQ_MAX_MULTIBULK_LEN)
        return parse_fail(p, PROTO_ERR "invalid multibulk length");
    if (count > REQ_UNAUTH_MAX_MULTIBULK_LEN && p->auth_required)
        return parse_fail(p, PROTO_ERR "unauthenticated multibulk length");
    consume(p, pos, cr + 2);
    if (count <= 0) return REQ_READY;

    p->mbulk_left = count;
    p->argv_cap = count < ARGV_INITIAL_SLOTS ? (int)count : ARGV_INITIAL_SLOTS;
    p->argv = mem_alloc(sizeof(dstr) * (size_t)p->argv_cap);
    p->argc = 0;
    return REQ_NEED_MORE;
}

/* MB_LEN: parse "$<len>" and move to MB_DATA. */
static req_status parse_bulk_len(req_parser *p, const char *buf, size_t len, size_t *pos) {
    req_status st;
    size_t cr = find_count_line(p, buf, len, *pos, PROTO_ERR "too big bulk count string", &st);
    if (cr == NOT_FOUND) return st;

    if (buf[*pos] != '$') return fail_expected_dollar(p, buf[*pos]);
    long long bulk;
    if (!parse_number(buf + *pos + 1, cr - *pos - 1, &bulk) || bulk < 0 || bulk > p->max_bulk_len)
        return parse_fail(p, PROTO_ERR "invalid bulk length");
    if (bulk > REQ_UNAUTH_MAX_BULK_LEN && p->auth_required)
        return parse_fail(p, PROTO_ERR "unauthenticated bulk length");
    consume(p, pos, cr + 2);
    p->bulk_len = bulk;
    return REQ_READY;
}

static void argv_make_room(req_parser *p) {
    if (p->argc < p->argv_cap) return;
    /* Never beyond what the header announced: argc + mbulk_left <= INT_MAX. */
    long long want = (long long)p->argv_cap * 2;
    long long announced = (long long)p->argc + p->mbulk_left;
    if (want > announced) want = announced;
    p->argv_cap = (int)want;
    p->argv = mem_realloc(p->argv, sizeof(dstr) * (size_t)p->argv_cap);
}

static req_status parse_multibulk(req_parser *p, const char *buf, size_t len, size_t *pos) {
    if (p->mbulk_left == 0) {
        req_status st = parse_mbulk_header(p, buf, len, pos);
        if (st != REQ_NEED_MORE || p->mbulk_left == 0) return st;
    }
    while (p->mbulk_left > 0) {
        if (p->bulk_len < 0) {
            req_status st = parse_bulk_len(p, buf, len, pos);
            if (st != REQ_READY) return st;
        }
        size_t need = (size_t)p->bulk_len + 2;
        if (len - *pos < need) return REQ_NEED_MORE;

        argv_make_room(p);
        p->argv[p->argc++] = dstr_new(buf + *pos, (size_t)p->bulk_len);
        consume(p, pos, *pos + need);
        p->bulk_len = -1;
        p->mbulk_left--;
    }
    return REQ_READY;
}

req_status req_parse(req_parser *p, const char *buf, size_t len, size_t *consumed) {
    size_t pos = 0;
    req_status st;

    *consumed = 0;
    if (p->state == REQ_STATE_READY) return REQ_READY;
    if (p->state == REQ_STATE_FAILED) return REQ_ERROR;

    for (;;) {
        if (p->reqtype == REQ_TYPE_NONE) {
            if (pos == len) {
                st = REQ_NEED_MORE;
                break;
            }
            p->reqtype = buf[pos] == '*' ? REQ_TYPE_MULTIBULK : REQ_TYPE_INLINE;
        }
        if (p->reqtype == REQ_TYPE_INLINE)
            st = parse_inline(p, buf, len, &pos);
        else
            st = parse_multibulk(p, buf, len, &pos);
        if (st != REQ_READY) break;
        if (p->argc > 0) {
            p->state = REQ_STATE_READY;
            break;
        }
        reset_request(p); /* empty request: skip it */
    }
    *consumed = pos;
    p->held = len - pos;
    return st;
}

dstr *req_take_argv(req_parser *p, int *argc) {
    if (p->state != REQ_STATE_READY) {
        *argc = 0;
        return NULL;
    }
    dstr *argv = p->argv;
    *argc = p->argc;
    p->argv = NULL;
    p->argc = 0;
    reset_request(p);
    p->state = REQ_STATE_PARSING;
    return argv;
}

void req_reset_command(req_parser *p) {
    reset_request(p);
    if (p->state == REQ_STATE_READY) p->state = REQ_STATE_PARSING;
}

int req_at_boundary(const req_parser *p) {
    return p->state == REQ_STATE_PARSING && p->reqtype == REQ_TYPE_NONE;
}

size_t req_bytes_wanted(const req_parser *p) {
    if (p->state != REQ_STATE_PARSING || p->reqtype != REQ_TYPE_MULTIBULK || p->bulk_len < 0)
        return 0;
    size_t need = (size_t)p->bulk_len + 2;
    return need > p->held ? need - p->held : 0;
}
