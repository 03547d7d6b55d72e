/* debug: DEBUG subcommands and DEBUG DIGEST.
 *
 * The digest must equal Redis 7.0's for the same data, so that a
 * Ringmaster master and a Redis replica (or the reverse) can be compared
 * with one command. The definition, from Redis's debug.c:
 *   xor(D, bytes):  D ^= SHA1(bytes)
 *   mix(D, bytes):  xor(D, bytes); D = SHA1(D)
 * For each non-empty db j: mix(final, htonl(j)); then for each key, with a
 * fresh zero digest K: mix(K, key); mix(K, htonl(type)); the value's
 * contribution (a string: mix(K, bytes)); xor(K, "!!expire!!") when the
 * key has a TTL; then xor(final, K). Key order does not matter because
 * keys are combined with xor, which is what lets two servers with
 * different hash tables agree. */
#include "core/debug.h"

#include <arpa/inet.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/log.h"
#include "core/quicklist.h"
#include "core/reply.h"
#include "core/util.h"

void digest_xor(unsigned char digest[20], const void *p, size_t len) {
    unsigned char hash[SHA_DIGEST_LENGTH];
    SHA1(p, len, hash);
    for (int i = 0; i < 20; i++) digest[i] ^= hash[i];
}

void digest_mix(unsigned char digest[20], const void *p, size_t len) {
    digest_xor(digest, p, len);
    unsigned char tmp[20];
    SHA1(digest, 20, tmp);
    memcpy(digest, tmp, 20);
}

/* The value's part of a key digest (Redis's xorObjectDigest). */
static void digest_object(db *d, const dstr key, const obj *o, unsigned char digest[20]) {
    uint32_t type = htonl(o->type);
    digest_mix(digest, &type, sizeof(type));
    if (o->type == OBJ_STRING) {
        char buf[32];
        size_t len;
        const char *p = obj_string_bytes(o, buf, &len);
        digest_mix(digest, p, len);
    } else {
        const obj_type_ops *ops = obj_get_type_ops(o->type);
        if (ops && ops->digest) ops->digest(o, digest);
    }
    if (db_get_expire(d, key) != -1) digest_xor(digest, "!!expire!!", 10);
}

void digest_key_value(db *d, const dstr key, const obj *o, unsigned char out[20]) {
    memset(out, 0, 20);
    digest_object(d, key, o, out);
}

void digest_dataset(server *s, unsigned char out[20]) {
    memset(out, 0, 20);
    for (int j = 0; j < s->dbnum; j++) {
        db *d = &s->dbs[j];
        if (dict_size(d->keys) == 0) continue;
        uint32_t id = htonl((uint32_t)j);
        digest_mix(out, &id, sizeof(id));
        dict_iter it;
        dict_iter_init(d->keys, &it);
        dict_entry *de;
        while ((de = dict_iter_next(&it))) {
            unsigned char k[20];
            memset(k, 0, 20);
            dstr key = de->key;
            digest_mix(k, key, dstr_len(key));
            digest_object(d, key, de->v.val, k);
            digest_xor(out, k, 20);
        }
        dict_iter_done(&it);
    }
}

static struct {
    const char *name;
    command_proc fn;
} extensions[16];
static int n_extensions;

void debug_register(const char *name, command_proc fn) {
    if (n_extensions < 16) {
        extensions[n_extensions].name = name;
        extensions[n_extensions].fn = fn;
        n_extensions++;
    }
}

/* DEBUG POPULATE count [prefix] [size]: string keys "<prefix>:<n>" with
 * values "value:<n>" (padded with zero bytes or cut to `size`), skipping
 * keys that exist. Not propagated, as in Redis. */
/* DEBUG PROTOCOL <type>: one reply of each RESP3 type, as Redis 7.0 sends
 * it (and its RESP2 form), for clients to test their parsers against. */
static void debug_protocol(client *c, const dstr type) {
    if (arg_is(type, "string")) {
        reply_bulk_cstr(c, "Hello World");
    } else if (arg_is(type, "integer")) {
        reply_int(c, 12345);
    } else if (arg_is(type, "double")) {
        reply_double(c, 3.141);
    } else if (arg_is(type, "bignum")) {
        reply_bignum(c, "1234567999999999999999999999999999999", 37);
    } else if (arg_is(type, "null")) {
        reply_null(c);
    } else if (arg_is(type, "array") || arg_is(type, "set") || arg_is(type, "map")) {
        if (arg_is(type, "array")) reply_array(c, 3);
        else if (arg_is(type, "set")) reply_set(c, 3);
        else reply_map(c, 3);
        for (int j = 0; j < 3; j++) {
            reply_int(c, j);
            if (arg_is(type, "map")) reply_bool(c, j == 1);
        }
    } else if (arg_is(type, "attrib")) {
        if (c->resp == 3) {
            reply_attribute(c, 1);
            reply_bulk_cstr(c, "key-popularity");
            reply_array(c, 2);
            reply_bulk_cstr(c, "key:123");
            reply_int(c, 90);
        }
        reply_bulk_cstr(c, "Some real reply following the attribute");
    } else if (arg_is(type, "push")) {
        if (c->resp != 3) {
            reply_error(c, "ERR RESP2 is not supported by this command");
            return;
        }
        reply_push(c, 2);
        reply_bulk_cstr(c, "server-cpu-usage");
        reply_int(c, 42);
        reply_bulk_cstr(c, "Some real reply following the push reply");
    } else if (arg_is(type, "verbatim")) {
        reply_verbatim(c, "This is a verbatim\nstring", 25);
    } else if (arg_is(type, "true") || arg_is(type, "false")) {
        reply_bool(c, arg_is(type, "true"));
    } else {
        reply_error(c, "ERR Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
    }
}

static void debug_populate(client *c) {
    long long count, size = 0;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &count) || count < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    if (c->argc == 5 &&
        (!util_str_to_ll(c->argv[4], dstr_len(c->argv[4]), &size) || size < 0)) {
        reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    const char *prefix = c->argc >= 4 ? c->argv[3] : "key";
    dict_expand(c->db->keys, dict_size(c->db->keys) + (size_t)count);
    char kbuf[128], vbuf[128];
    for (long long j = 0; j < count; j++) {
        int kn = snprintf(kbuf, sizeof(kbuf), "%s:%lld", prefix, j);
        if (kn >= (int)sizeof(kbuf)) kn = sizeof(kbuf) - 1;
        dstr key = dstr_new(kbuf, (size_t)kn);
        if (db_lookup_write(c->srv, c->db, key)) {
            dstr_free(key);
            continue;
        }
        int vn = snprintf(vbuf, sizeof(vbuf), "value:%lld", j);
        obj *val;
        if (size == 0) {
            val = obj_string_new(vbuf, (size_t)vn);
        } else {
            dstr v = dstr_grow_zero(dstr_empty(), (size_t)size);
            memcpy(v, vbuf, (size_t)(size < vn ? size : vn));
            val = obj_string_new(v, (size_t)size);
            dstr_free(v);
        }
        db_add(c->srv, c->db, key, val);
        dstr_free(key);
    }
    reply_ok(c);
}

static void reply_hex_status(client *c, const unsigned char d[20]) {
    char hex[41];
    util_hex(hex, d, 20);
    reply_status(c, hex);
}

void cmd_debug(client *c) {
    server *s = c->srv;
    int mode = s->cfg.enable_debug_command;
    if (mode == DEBUG_CMD_NO || (mode == DEBUG_CMD_LOCAL && !client_is_local(c))) {
        reply_error(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set "
                       "to \"local\", you can run it from a local connection, otherwise you need "
                       "to set this option in the configuration file, and then restart the "
                       "server.");
        return;
    }
    const dstr sub = c->argv[1];
    if (arg_is(sub, "digest") && c->argc == 2) {
        unsigned char d[20];
        digest_dataset(s, d);
        reply_hex_status(c, d);
    } else if (arg_is(sub, "digest-value") && c->argc >= 2) {
        reply_array(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            unsigned char d[20];
            memset(d, 0, 20);
            obj *o = db_peek(c->db, c->argv[j]);
            if (o) digest_key_value(c->db, c->argv[j], o, d);
            reply_hex_status(c, d);
        }
    } else if (arg_is(sub, "sleep") && c->argc == 3) {
        double secs;
        if (!util_str_to_d(c->argv[2], dstr_len(c->argv[2]), &secs)) secs = 0;
        long long us = (long long)(secs * 1000000);
        if (us > 0) usleep((useconds_t)us);
        reply_ok(c);
    } else if (arg_is(sub, "set-active-expire") && c->argc == 3) {
        s->active_expire_enabled = atoi(c->argv[2]) != 0;
        reply_ok(c);
    } else if (arg_is(sub, "object") && c->argc == 3) {
        obj *o = db_peek(c->db, c->argv[2]);
        if (!o) {
            reply_error(c, "ERR no such key");
            return;
        }
        char buf[256];
        snprintf(buf, sizeof(buf), "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%llu",
                 (void *)o, obj_encoding_name(o), o->type == OBJ_STRING ? obj_string_len(o) : 0,
                 o->lru, obj_idle_seconds(o));
        reply_status(c, buf);
    } else if (arg_is(sub, "protocol") && c->argc == 3) {
        debug_protocol(c, c->argv[2]);
    } else if (arg_is(sub, "populate") && c->argc >= 3 && c->argc <= 5) {
        debug_populate(c);
    } else if (arg_is(sub, "log") && c->argc == 3) {
        /* The client's text, escaped: it must not forge log lines. */
        char text[1024];
        log_msg(LL_WARNING, "DEBUG LOG: %s",
                log_repr(text, sizeof(text), c->argv[2], dstr_len(c->argv[2])));
        reply_ok(c);
    } else if (arg_is(sub, "quicklist-packed-threshold") && c->argc == 3) {
        unsigned long long sz;
        if (!util_mem_to_ull(c->argv[2], &sz) || ql_set_packed_threshold(sz) < 0) {
            reply_error(c, "ERR argument must be a memory value bigger than 1 and smaller "
                           "than 4gb");
            return;
        }
        reply_ok(c);
    } else if (arg_is(sub, "help")) {
        static const char *lines[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DIGEST", "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "LOG <message>", "    Write <message> to the server log.",
            "OBJECT <key>", "    Show low level info about the `key` and associated value.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
            "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
            "HELP", "    Print this help.",
        };
        int n = (int)(sizeof(lines) / sizeof(lines[0]));
        reply_array(c, n);
        for (int i = 0; i < n; i++) reply_status(c, lines[i]);
    } else {
        for (int i = 0; i < n_extensions; i++) {
            if (arg_is(sub, extensions[i].name)) {
                extensions[i].fn(c);
                return;
            }
        }
        reply_errorf(c,
                     "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                     "DEBUG HELP.",
                     sub);
    }
}
