/* libFuzzer harness for what a master makes of a replica's PSYNC and
 * REPLCONF arguments.
 *
 * PSYNC: the input builds a replication state (replid, replid2 and
 * second_replid_offset, whether there is a backlog and its window) and a
 * request (an id: the replid or replid2 with its case flipped at random,
 * "?", or raw bytes; an offset string: raw bytes, or a number near one of
 * the window's edges). The offset string goes through util_str_to_ll as
 * try_partial in repl/master_sync.c does (lines 297-302: -1 when it is no
 * number), then psync_decide, whose answer is checked against the rule in
 * psync.h, restated here on its own:
 *   CONTINUE  iff  (id is replid, ignoring case, or id is replid2 and
 *                   second_replid_offset >= 0 and offset <= it)
 *             and  there is a backlog and first <= offset <= end + 1;
 *   a FULL gives a reason, except for "?" (the replica asked for it).
 * The replies are then built and checked for their exact length.
 * The state stays as the master keeps it (0 <= first <= end + 1, the
 * offsets below 2^62, second_replid_offset -1 or in [0, end + 1]); the
 * request is anything.
 *
 * REPLCONF: the rest of the input is the stream a replica sends its master,
 * read with link_parse_command in a loop as replica_link.c's reader does
 * (lines 566-586: at most 4 arguments, then link_word_is to spot
 * REPLCONF ACK). Checked: consumed bytes stay within what was given, argc
 * within 0..4, every argument inside the bytes consumed, and link_word_is
 * agreeing with a plain comparison. */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "repl/link_parse.h"
#include "repl/psync.h"
#include "tests/fuzz/fuzz_util.h"

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t take8(reader *r) {
    if (!r->left) return 0;
    r->left--;
    return *r->p++;
}

static uint64_t take64(reader *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | take8(r);
    return v;
}

static void take_id(reader *r, char *id) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; i += 2) {
        uint8_t b = take8(r);
        id[i] = hex[b >> 4];
        id[i + 1] = hex[b & 15];
    }
    id[40] = '\0';
}

#define MAX_OFF (1LL << 62)

static void fuzz_psync(reader *r) {
    uint8_t flags = take8(r);
    char replid[41], replid2[41], req_id[64];
    take_id(r, replid);
    if (flags & 1) take_id(r, replid2);
    else memset(replid2, '0', 40), replid2[40] = '\0';

    long long end = (long long)(take64(r) % (uint64_t)MAX_OFF);
    long long first = (long long)(take64(r) % (uint64_t)(end + 2));
    long long second = flags & 1 ? (long long)(take64(r) % (uint64_t)(end + 2)) : -1;
    int has_backlog = (flags & 2) != 0;

    /* The requested id. */
    switch ((flags >> 2) & 3) {
    case 0: memcpy(req_id, replid, 41); break;
    case 1: memcpy(req_id, replid2, 41); break;
    case 2: strcpy(req_id, "?"); break;
    default: {
        size_t n = take8(r) % sizeof(req_id);
        for (size_t i = 0; i < n; i++) req_id[i] = (char)(take8(r) | 1); /* no NUL */
        req_id[n] = '\0';
    }
    }
    uint8_t caps = take8(r);
    for (int i = 0; req_id[i]; i++)
        if (caps >> (i % 8) & 1) req_id[i] = (char)toupper((unsigned char)req_id[i]);

    /* The offset string. */
    char offstr[40];
    size_t offlen;
    int delta = (int8_t)take8(r);
    switch ((flags >> 4) & 3) {
    case 0: offlen = (size_t)snprintf(offstr, sizeof(offstr), "%lld", first + delta); break;
    case 1: offlen = (size_t)snprintf(offstr, sizeof(offstr), "%lld", end + 1 + delta); break;
    case 2: offlen = (size_t)snprintf(offstr, sizeof(offstr), "%lld", second + delta); break;
    default:
        offlen = take8(r) % 32;
        for (size_t i = 0; i < offlen; i++) offstr[i] = (char)take8(r);
    }

    long long off;
    if (!util_str_to_ll(offstr, offlen, &off)) off = -1;
    psync_state st = {replid, replid2, second, has_backlog, first, end};
    char why[512];
    memset(why, 'x', sizeof(why));
    enum psync_outcome got = psync_decide(&st, req_id, off, why, sizeof(why));

    int is_current = !strcasecmp(req_id, replid);
    int is_previous = second >= 0 && !strcasecmp(req_id, replid2) && off <= second;
    int in_window = has_backlog && off >= first && off <= end + 1;
    int want = (is_current || is_previous) && in_window;
    CHECK(got == (want ? PSYNC_CONTINUE : PSYNC_FULL));
    CHECK(memchr(why, '\0', sizeof(why)) != NULL);
    /* Ids are 40 hex digits, so "?" never matches one. */
    if (got == PSYNC_CONTINUE) CHECK(why[0] == '\0');
    else CHECK((why[0] == '\0') == !strcmp(req_id, "?"));

    char reply[128];
    CHECK(psync_continue_reply(reply, sizeof(reply), replid, 1) == 10 + 40 + 2);
    CHECK(!strcmp(reply + 10 + 40, "\r\n"));
    CHECK(psync_continue_reply(reply, sizeof(reply), replid, 0) == 11);
    int n = psync_fullresync_reply(reply, sizeof(reply), replid, end);
    CHECK(n > 0 && (size_t)n == strlen(reply) && reply[n - 1] == '\n');
}

static void fuzz_replconf(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t off = 0;
    while (off < size) {
        char *argv[4];
        size_t lens[4];
        int argc = -1;
        long used = link_parse_command(buf + off, size - off, argv, lens, 4, &argc);
        if (used <= 0) break;
        CHECK((size_t)used <= size - off);
        CHECK(argc >= 0 && argc <= 4);
        for (int i = 0; i < argc; i++)
            CHECK(argv[i] >= buf + off && argv[i] + lens[i] <= buf + off + (size_t)used);
        /* How the reader tells REPLCONF ACK: link_word_is must agree with
         * a plain length and case-insensitive comparison. */
        for (int i = 0; i < argc; i++)
            CHECK(link_word_is(argv[i], lens[i], "ack") ==
                  (lens[i] == 3 && !strncasecmp(argv[i], "ack", 3)));
        off += (size_t)used;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Byte 0: how many of the following bytes describe the PSYNC. */
    if (size < 1) return 0;
    size_t psync_len = data[0] < size - 1 ? data[0] : size - 1;
    reader r = {data + 1, psync_len};
    fuzz_psync(&r);
    fuzz_replconf(data + 1 + psync_len, size - 1 - psync_len);
    return 0;
}
