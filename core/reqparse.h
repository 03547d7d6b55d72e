/* reqparse: incremental parser for client requests (RESP2 multibulk and
 * inline), with Redis 7.0's limits and protocol error replies.
 *
 * The caller owns the query buffer. It hands the parser the bytes it has not
 * yet consumed; the parser consumes whole elements only (a header line, a
 * bulk length line, a bulk payload with its CRLF, an inline line) and keeps
 * what it learned in the req_parser, so the bytes may arrive in any chunking
 * and the commands that come out are the same. */
#ifndef RM_REQPARSE_H
#define RM_REQPARSE_H

#include <limits.h>
#include <stddef.h>

#include "core/dstr.h"

/* Redis's PROTO_INLINE_MAX_SIZE: the longest an inline request, or a
 * multibulk header or bulk length line, may grow without its terminator. */
#define REQ_INLINE_MAX_SIZE (64 * 1024)
/* Default proto-max-bulk-len. */
#define REQ_DEFAULT_MAX_BULK_LEN (512LL * 1024 * 1024)
/* Largest multibulk count: INT_MAX since Redis 7.0 (it was 1024*1024 before).
 * argv is grown as arguments arrive, so a large count costs nothing up front. */
#define REQ_MAX_MULTIBULK_LEN INT_MAX
/* What a client that still has to AUTH may send (Redis 7.0, CVE-2021-32675). */
#define REQ_UNAUTH_MAX_MULTIBULK_LEN 10
#define REQ_UNAUTH_MAX_BULK_LEN 16384

typedef enum { REQ_NEED_MORE = 0, REQ_READY = 1, REQ_ERROR = -1 } req_status;

typedef struct req_parser {
    /* Parse state; see the comment at the top of reqparse.c. */
    int reqtype;          /* REQ_TYPE_* in reqparse.c: none yet, inline, multibulk */
    int state;            /* parsing, ready (argv complete) or failed */
    long long mbulk_left; /* arguments still to read; 0 while the header is unread */
    long long bulk_len;   /* length of the bulk being read; -1 while its line is unread */
    size_t scanned;       /* bytes of the pending line already searched for its end */
    size_t held;          /* unconsumed bytes the caller held after the last call */

    /* The command being built; complete when req_parse() returns REQ_READY. */
    dstr *argv;
    int argc;
    int argv_cap;

    /* On REQ_ERROR: the reply without "-" and CRLF, e.g.
     * "ERR Protocol error: invalid bulk length". Valid until the parser is
     * freed or re-initialised. */
    const char *error;
    char errbuf[64];

    /* Limits, set by req_parser_init() and adjustable by the caller. */
    long long max_bulk_len; /* proto-max-bulk-len */
    int auth_required;      /* nonzero while the client has not authenticated */
} req_parser;

/* max_bulk_len <= 0 selects REQ_DEFAULT_MAX_BULK_LEN. */
void req_parser_init(req_parser *p, long long max_bulk_len);
/* Free argv and state. The parser may be initialised again afterwards. */
void req_parser_free(req_parser *p);

/* Parse buf[0..len), which must start with the bytes left unconsumed by the
 * previous call. Sets *consumed to the bytes consumed, which the caller drops
 * from its buffer.
 *   REQ_READY:     a command with argc >= 1 is in p->argv/p->argc. Take it
 *                  with req_take_argv() or drop it with req_reset_command()
 *                  before parsing on (until then req_parse() returns
 *                  REQ_READY again, consuming nothing). Empty requests
 *                  ("\r\n", "*0\r\n", "*-1\r\n") are skipped silently.
 *   REQ_NEED_MORE: every complete element has been consumed; an unfinished
 *                  bulk payload stays in the caller's buffer until all of it
 *                  and its CRLF have arrived, and is then copied once.
 *   REQ_ERROR:     protocol error, p->error is set: reply "-" error "\r\n"
 *                  and close the client. Later calls return REQ_ERROR. */
req_status req_parse(req_parser *p, const char *buf, size_t len, size_t *consumed);

/* Hand over the ready command: the caller owns the array (mem_free) and each
 * dstr (dstr_free). The parser is ready for the next command. */
dstr *req_take_argv(req_parser *p, int *argc);

/* Free the current argv and get ready for the next command. */
void req_reset_command(req_parser *p);

/* While a bulk payload is being waited for: how many more bytes, beyond the
 * ones the caller held after the last req_parse() call, complete it
 * (payload and CRLF). 0 otherwise. Lets the caller size its buffer and
 * reads for big arguments. */
size_t req_bytes_wanted(const req_parser *p);
/* Nonzero between requests: the next byte given starts a new command. */
int req_at_boundary(const req_parser *p);

#endif
