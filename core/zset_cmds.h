/* zset_cmds: the sorted set commands, in three files:
 *   zset_cmds.c        single-member commands, pops (blocking too), ZSCAN,
 *                      ZRANDMEMBER;
 *   zset_cmds_range.c  the ZRANGE family, ZRANGESTORE, ZCOUNT, ZLEXCOUNT,
 *                      ZREMRANGEBY*;
 *   zset_cmds_setop.c  ZUNION, ZINTER, ZDIFF (and *STORE), ZINTERCARD.
 * t_zset.c registers them. This header is shared by those files only. */
#ifndef RM_ZSET_CMDS_H
#define RM_ZSET_CMDS_H

#include "core/server.h"
#include "core/t_zset.h"

void cmd_zadd(client *c);
void cmd_zincrby(client *c);
void cmd_zrem(client *c);
void cmd_zcard(client *c);
void cmd_zscore(client *c);
void cmd_zmscore(client *c);
void cmd_zrank(client *c);
void cmd_zrevrank(client *c);
void cmd_zpopmin(client *c);
void cmd_zpopmax(client *c);
void cmd_bzpopmin(client *c);
void cmd_bzpopmax(client *c);
void cmd_zmpop(client *c);
void cmd_bzmpop(client *c);
void cmd_zrandmember(client *c);
void cmd_zscan(client *c);

void cmd_zrange(client *c);
void cmd_zrangestore(client *c);
void cmd_zrevrange(client *c);
void cmd_zrangebyscore(client *c);
void cmd_zrevrangebyscore(client *c);
void cmd_zrangebylex(client *c);
void cmd_zrevrangebylex(client *c);
void cmd_zcount(client *c);
void cmd_zlexcount(client *c);
void cmd_zremrangebyrank(client *c);
void cmd_zremrangebyscore(client *c);
void cmd_zremrangebylex(client *c);

void cmd_zunionstore(client *c);
void cmd_zinterstore(client *c);
void cmd_zdiffstore(client *c);
void cmd_zunion(client *c);
void cmd_zinter(client *c);
void cmd_zdiff(client *c);
void cmd_zintercard(client *c);

/* Reply WRONGTYPE and return 1 when `o` exists and is not a sorted set. */
int zset_wrong_type(client *c, const obj *o);
/* "(1.5" / "-inf" / "3" pairs, with strtod's leniency as in Redis;
 * -1 when either is not a float. */
int zset_parse_score_range(const dstr min, const dstr max, zscore_range *r);
/* "[a" / "(a" / "-" / "+" pairs; the range points into the arguments.
 * -1 when either is not a valid item. */
int zset_parse_lex_range(const dstr min, const dstr max, zlex_range *r);
/* Replace the key's value with `dst` (a sorted set with elements) and
 * notify `event`, or, when `dst` is NULL or empty, delete the key (a "del"
 * event); the reply is the new cardinality. The common end of ZRANGESTORE
 * and Z*STORE. */
void zset_store_result(client *c, const dstr key, obj *dst, const char *event);

#endif
