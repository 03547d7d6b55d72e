/* libFuzzer harness for the RDB reader.
 *
 * Each input is one control byte and an RDB file. The control byte picks
 * how the file is cut into chunks (the loader must behave the same for any
 * chunking) and whether expired keys are kept; the file is fed to a loader
 * bound to one long-lived in-process server. The checksum is off so that
 * mutated files reach the value decoders instead of stopping at the CRC.
 * Whatever the input, the loader must end in DONE or ERR without a
 * sanitizer report or a leak, and a DONE must commit cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/rdb.h"
#include "core/server.h"

static server *fuzz_server(void) {
    static server srv;
    static int ready;
    if (!ready) {
        log_setup(LL_NOTHING, NULL);
        config_defaults(&srv.cfg);
        srv.cfg.rdbchecksum = 0;
        server_init(&srv);
        ready = 1;
    }
    return &srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    server *s = fuzz_server();
    /* Byte 0: bit 0 keeps expired keys (replica load), bits 1-7 the chunk
     * size (0: the whole input at once). */
    int flags = data[0] & 1 ? RDB_LOAD_KEEP_EXPIRED : 0;
    size_t chunk = data[0] >> 1 ? (size_t)(data[0] >> 1) : size;
    data++;
    size--;
    rdb_loader *ld = rdb_loader_new(s, flags);
    int rc = RDB_LOAD_MORE;
    size_t off = 0;
    while (off < size && rc == RDB_LOAD_MORE) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = rdb_loader_feed(ld, data + off, n);
        off += n;
    }
    if (rc == RDB_LOAD_MORE) rc = rdb_loader_finish(ld);
    if (rc == RDB_LOAD_DONE) rdb_loader_commit(ld);
    rdb_loader_free(ld);
    if (rc == RDB_LOAD_DONE) db_flush(s, -1);
    return 0;
}
