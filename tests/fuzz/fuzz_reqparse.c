/* libFuzzer harness for the client request parser (core/reqparse.c).
 *
 * Input: two control bytes, then the bytes a client sends. Byte 0 picks the
 * limits (bit 0: the client must still AUTH; bit 1: proto-max-bulk-len 64
 * instead of the default; bit 2: drop each ready command with
 * req_reset_command instead of taking it); byte 1 seeds the chunking. The
 * stream is parsed once whole, as the reference, and then again under
 * several chunkings, each fed through a caller buffer that keeps the bytes
 * the parser left unconsumed, as client.c does:
 *   - one byte at a time;
 *   - chunks of pseudo-random sizes drawn from byte 1;
 *   - for inputs up to 512 bytes, two chunks split at every position.
 * Checked on every call: `consumed` never exceeds the bytes given; after
 * REQ_ERROR every later call returns REQ_ERROR and consumes nothing; a
 * ready command has argc >= 1. Checked per chunking: the same commands
 * (every argument byte for byte) and the same end (error text or not) as
 * the reference, which is what reqparse.h promises for any chunking; the
 * 64KB "too big" limits depend on what is pending, so inputs that long are
 * only checked for the per-call invariants. Taken argv arrays are freed
 * here and the parser is freed at the end, so LeakSanitizer sees any leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dstr.h"
#include "core/mem.h"
#include "core/reqparse.h"
#include "tests/fuzz/fuzz_util.h"

/* What one run produced: a hash of every command (argc and arguments, in
 * order), the count, and the error text if it ended in one. */
typedef struct outcome {
    uint64_t hash;
    size_t commands;
    int failed;
    char error[96];
} outcome;

typedef struct feeder {
    req_parser p;
    char *buf; /* the caller's buffer: bytes not consumed yet */
    size_t len;
    int drop;
    outcome out;
} feeder;

static void feeder_init(feeder *f, unsigned mode, size_t cap) {
    req_parser_init(&f->p, mode & 2 ? 64 : 0);
    f->p.auth_required = mode & 1;
    f->drop = (mode & 4) != 0;
    f->buf = malloc(cap ? cap : 1);
    f->len = 0;
    memset(&f->out, 0, sizeof(f->out));
    f->out.hash = FUZZ_HASH_INIT;
}

static void record(feeder *f) {
    CHECK(f->p.argc >= 1 && f->p.argv);
    f->out.commands++;
    if (f->drop) {
        f->out.hash = fuzz_hash(f->out.hash, &f->p.argc, sizeof(f->p.argc));
        for (int i = 0; i < f->p.argc; i++)
            f->out.hash = fuzz_hash(f->out.hash, f->p.argv[i], dstr_len(f->p.argv[i]) + 1);
        req_reset_command(&f->p);
        return;
    }
    int argc;
    dstr *argv = req_take_argv(&f->p, &argc);
    CHECK(argv && argc >= 1);
    f->out.hash = fuzz_hash(f->out.hash, &argc, sizeof(argc));
    for (int i = 0; i < argc; i++) {
        f->out.hash = fuzz_hash(f->out.hash, argv[i], dstr_len(argv[i]) + 1);
        dstr_free(argv[i]);
    }
    mem_free(argv);
}

/* Append a chunk and parse all that is complete. Returns 0 once failed. */
static int feed(feeder *f, const uint8_t *data, size_t n) {
    if (f->out.failed) return 0;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    for (;;) {
        size_t used = 12345;
        req_status st = req_parse(&f->p, f->buf, f->len, &used);
        CHECK(used <= f->len);
        memmove(f->buf, f->buf + used, f->len - used);
        f->len -= used;
        if (st == REQ_NEED_MORE) return 1;
        if (st == REQ_ERROR) {
            CHECK(f->p.error && f->p.error[0]);
            f->out.failed = 1;
            strncpy(f->out.error, f->p.error, sizeof(f->out.error) - 1);
            used = 12345;
            CHECK(req_parse(&f->p, f->buf, f->len, &used) == REQ_ERROR && used == 0);
            return 0;
        }
        CHECK(st == REQ_READY);
        /* Ready again until taken, consuming nothing. */
        used = 12345;
        CHECK(req_parse(&f->p, f->buf, f->len, &used) == REQ_READY && used == 0);
        record(f);
    }
}

static void feeder_done(feeder *f) {
    req_parser_free(&f->p);
    free(f->buf);
}

static void compare(const outcome *ref, const outcome *got, size_t size) {
    if (size > REQ_INLINE_MAX_SIZE) return;
    CHECK(ref->commands == got->commands);
    CHECK(ref->hash == got->hash);
    CHECK(ref->failed == got->failed);
    CHECK(!ref->failed || !strcmp(ref->error, got->error));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned mode = data[0];
    uint32_t rng = data[1] * 2654435761u + 1;
    data += 2;
    size -= 2;

    feeder ref;
    feeder_init(&ref, mode, size);
    feed(&ref, data, size);

    feeder f;
    feeder_init(&f, mode, size);
    for (size_t i = 0; i < size && feed(&f, data + i, 1); i++) {}
    compare(&ref.out, &f.out, size);
    feeder_done(&f);

    feeder_init(&f, mode, size);
    for (size_t off = 0; off < size;) {
        rng = rng * 1103515245u + 12345u;
        size_t n = 1 + (rng >> 16) % 97;
        if (n > size - off) n = size - off;
        if (!feed(&f, data + off, n)) break;
        off += n;
    }
    compare(&ref.out, &f.out, size);
    feeder_done(&f);

    if (size <= 512) {
        for (size_t cut = 1; cut < size; cut++) {
            feeder_init(&f, mode, size);
            if (feed(&f, data, cut)) feed(&f, data + cut, size - cut);
            compare(&ref.out, &f.out, size);
            feeder_done(&f);
        }
    }
    feeder_done(&ref);
    return 0;
}
