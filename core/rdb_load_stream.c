/* rdb_load_stream: a stream value read from an RDB file.
 *
 * Three layouts are read: RDB_TYPE_STREAM_LISTPACKS (15, Redis 5 and 6),
 * _2 (19, Redis 7.0: adds first ID, max deleted ID, entries added, and
 * each group's entries read) and _3 (21, Redis 7.2: adds each consumer's
 * active time, which Ringmaster does not keep). Layout:
 *   <node count> { <16-byte master ID string> <listpack string> }...
 *   <length> <last ms> <last seq>
 *   [19+] <first ms> <first seq> <max-deleted ms> <max-deleted seq> <added>
 *   <group count> { <name> <last ms> <last seq> [19+] <entries read>
 *     <PEL size> { <16 raw bytes ID> <8-byte LE ms time> <count> }...
 *     <consumer count> { <name> <8-byte seen time> [21] <8-byte active>
 *       <PEL size> { <16 raw bytes ID> }... } }...
 *
 * The whole value is one loader unit: it is built as it is parsed and, if
 * the input stops short (U_MORE), freed and parsed again once the missing
 * bytes are there. Nodes are adopted byte for byte after a structural walk
 * (every element, the counts in the master entry, each lp-count), since a
 * reverse XRANGE trusts those to walk backwards. */
#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/rdb.h"
#include "core/rdb_load_int.h"
#include "core/stream.h"

static void decode_id(const unsigned char *p, stream_id *id) {
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = id->ms << 8 | p[i];
        id->seq = id->seq << 8 | p[8 + i];
    }
}

static int raw_id(rdb_loader *ld, cur *c, stream_id *id) {
    int rc = rdbl_need(ld, c, 16);
    if (rc) return rc;
    decode_id(c->p, id);
    c->p += 16;
    return U_OK;
}

static int ms_time(rdb_loader *ld, cur *c, long long *out) {
    int rc = rdbl_need(ld, c, 8);
    if (rc) return rc;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | c->p[i];
    c->p += 8;
    *out = (long long)v;
    return U_OK;
}

static int id_pair(rdb_loader *ld, cur *c, stream_id *id) {
    int rc;
    if ((rc = rdbl_len(ld, c, &id->ms)) || (rc = rdbl_len(ld, c, &id->seq))) return rc;
    return U_OK;
}

#define CORRUPT(msg)                                                                           \
    do {                                                                                       \
        snprintf(why, whylen, "%s", msg);                                                      \
        rc = U_ERR;                                                                            \
        goto out;                                                                              \
    } while (0)

static int load_nodes(rdb_loader *ld, cur *c, stream *s, uint64_t *live_total, char *why,
                      size_t whylen) {
    uint64_t n;
    int rc = rdbl_len(ld, c, &n);
    if (rc) return rc;
    for (uint64_t i = 0; i < n; i++) {
        sview key, lp;
        if ((rc = rdbl_string(ld, c, &key, 0))) return rc;
        if (key.len != 16) CORRUPT("Stream node key entry is not the size of a stream ID");
        stream_id master;
        decode_id((const unsigned char *)key.p, &master);
        if ((rc = rdbl_string(ld, c, &lp, 1))) return rc;
        uint64_t live;
        if (lp.len < 7 || lp.len > UINT32_MAX)
            CORRUPT("Stream listpack integrity check failed.");
        if ((unsigned char)lp.p[6] == 0xFF) CORRUPT("Empty listpack inside stream");
        if (!stream_node_validate((const unsigned char *)lp.p, lp.len, &live))
            CORRUPT("Stream listpack integrity check failed.");
        if (s->nnodes && stream_id_cmp(&s->nodes[s->nnodes - 1].master, &master) >= 0)
            CORRUPT("Stream nodes are not in ID order");
        if (s->nnodes == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->nodes = mem_realloc(s->nodes, s->cap * sizeof(stream_node));
        }
        stream_node *nd = &s->nodes[s->nnodes++];
        nd->master = master;
        nd->lp = mem_alloc(lp.len);
        memcpy(nd->lp, lp.p, lp.len);
        *live_total += live;
    }
out:
    return rc;
}

static int load_group(rdb_loader *ld, cur *c, stream *s, int type, char *why, size_t whylen) {
    sview name;
    stream_id last;
    uint64_t u, npel, ncons;
    int rc;
    if ((rc = rdbl_string(ld, c, &name, 0)) || (rc = id_pair(ld, c, &last))) return rc;
    long long entries_read;
    if (type >= RDB_TYPE_STREAM_LISTPACKS_2) {
        if ((rc = rdbl_len(ld, c, &u))) return rc;
        entries_read = (long long)u;
    } else {
        entries_read = stream_estimate_distance(s, &last);
    }
    stream_group *g = stream_group_create(s, name.p, name.len, &last, entries_read);
    if (!g) CORRUPT("Duplicated consumer group name");
    if ((rc = rdbl_len(ld, c, &npel))) return rc;
    for (uint64_t i = 0; i < npel; i++) {
        stream_id id;
        long long when;
        if ((rc = raw_id(ld, c, &id)) || (rc = ms_time(ld, c, &when)) ||
            (rc = rdbl_len(ld, c, &u)))
            return rc;
        if (!stream_nack_load(g, &id, when, u))
            CORRUPT("Duplicated global PEL entry loading stream consumer group");
    }
    if ((rc = rdbl_len(ld, c, &ncons))) return rc;
    for (uint64_t i = 0; i < ncons; i++) {
        sview cname;
        long long seen, active;
        if ((rc = rdbl_string(ld, c, &cname, 0)) || (rc = ms_time(ld, c, &seen))) return rc;
        if (type >= RDB_TYPE_STREAM_LISTPACKS_3 && (rc = ms_time(ld, c, &active))) return rc;
        stream_consumer *cons = stream_consumer_create(g, cname.p, cname.len, seen);
        if (!cons) CORRUPT("Duplicated consumer name in a stream consumer group");
        if ((rc = rdbl_len(ld, c, &u))) return rc;
        for (uint64_t j = 0; j < u; j++) {
            stream_id id;
            if ((rc = raw_id(ld, c, &id))) return rc;
            if (stream_nack_claim_loaded(g, cons, &id) < 0)
                CORRUPT("Consumer PEL NACK not found in group PEL");
        }
    }
    if (!stream_group_pel_owned(g)) CORRUPT("Stream CG PEL entry without consumer");
out:
    return rc;
}

int rdb_load_stream(rdb_loader *ld, cur *c, int type, obj **out, char *why, size_t whylen) {
    stream *s = stream_new();
    uint64_t live = 0, ngroups;
    int rc;
    if ((rc = load_nodes(ld, c, s, &live, why, whylen))) goto out;
    if ((rc = rdbl_len(ld, c, &s->length)) || (rc = id_pair(ld, c, &s->last_id))) goto out;
    if (s->length != live) CORRUPT("Stream length does not match its nodes");
    if (type >= RDB_TYPE_STREAM_LISTPACKS_2) {
        if ((rc = id_pair(ld, c, &s->first_id)) || (rc = id_pair(ld, c, &s->max_deleted_id)) ||
            (rc = rdbl_len(ld, c, &s->entries_added)))
            goto out;
    } else {
        s->entries_added = s->length;
        if (!stream_edge_id(s, 1, &s->first_id)) s->first_id.ms = s->first_id.seq = 0;
    }
    if ((rc = rdbl_len(ld, c, &ngroups))) goto out;
    for (uint64_t i = 0; i < ngroups; i++)
        if ((rc = load_group(ld, c, s, type, why, whylen))) goto out;
    *out = obj_new(OBJ_STREAM, ENC_STREAM, s);
    return U_OK;
out:
    stream_free(s);
    return rc;
}
