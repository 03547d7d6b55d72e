/* commands: every command procedure, by the file that implements it. The
 * table that maps names to these lives in commands.c. */
#ifndef RM_COMMANDS_H
#define RM_COMMANDS_H

#include "core/server.h"

/* t_string.c */
void cmd_get(client *c);
void cmd_set(client *c);
void cmd_setnx(client *c);
void cmd_setex(client *c);
void cmd_psetex(client *c);
void cmd_getset(client *c);
void cmd_getdel(client *c);
void cmd_getex(client *c);
void cmd_mget(client *c);
void cmd_mset(client *c);
void cmd_msetnx(client *c);
void cmd_append(client *c);
void cmd_strlen(client *c);
void cmd_incr(client *c);
void cmd_decr(client *c);
void cmd_incrby(client *c);
void cmd_decrby(client *c);
void cmd_incrbyfloat(client *c);
void cmd_getrange(client *c);
void cmd_setrange(client *c);
/* Make the string value `o` of `key` a raw dstr that may be modified in
 * place (Redis's dbUnshareStringValue); returns the value now stored. */
obj *string_unshare_raw(client *c, obj *o, const dstr key);

/* t_bitmap.c */
void cmd_setbit(client *c);
void cmd_getbit(client *c);
void cmd_bitcount(client *c);
void cmd_bitpos(client *c);
void cmd_bitop(client *c);
void cmd_bitfield(client *c);
void cmd_bitfield_ro(client *c);

/* t_hll.c */
void cmd_pfadd(client *c);
void cmd_pfcount(client *c);
void cmd_pfmerge(client *c);
void cmd_pfdebug(client *c);
void cmd_pfselftest(client *c);

/* t_geo.c */
void cmd_geoadd(client *c);
void cmd_geodist(client *c);
void cmd_geohash(client *c);
void cmd_geopos(client *c);
void cmd_georadius(client *c);
void cmd_georadius_ro(client *c);
void cmd_georadiusbymember(client *c);
void cmd_georadiusbymember_ro(client *c);
void cmd_geosearch(client *c);
void cmd_geosearchstore(client *c);

/* cmd_keys.c */
void cmd_del(client *c);
void cmd_unlink(client *c);
void cmd_exists(client *c);
void cmd_touch(client *c);
void cmd_type(client *c);
void cmd_keys(client *c);
void cmd_scan(client *c);
void cmd_randomkey(client *c);
void cmd_rename(client *c);
void cmd_renamenx(client *c);
void cmd_move(client *c);
void cmd_copy(client *c);
void cmd_expire(client *c);
void cmd_pexpire(client *c);
void cmd_expireat(client *c);
void cmd_pexpireat(client *c);
void cmd_ttl(client *c);
void cmd_pttl(client *c);
void cmd_expiretime(client *c);
void cmd_pexpiretime(client *c);
void cmd_persist(client *c);
void cmd_object_encoding(client *c);
void cmd_object_refcount(client *c);
void cmd_object_idletime(client *c);
void cmd_object_freq(client *c);
void cmd_object_help(client *c);
void cmd_dbsize(client *c);
void cmd_flushdb(client *c);
void cmd_flushall(client *c);
void cmd_select(client *c);
void cmd_swapdb(client *c);

/* cmd_dump.c */
void cmd_dump(client *c);
void cmd_restore(client *c);
/* cmd_nocluster.c: CLUSTER, MODULE, READONLY, READWRITE, ASKING and
 * RESTORE-ASKING as a non-cluster Redis without modules answers them. */
void nocluster_register(void);

/* cmd_sort.c */
void cmd_sort(client *c);
void cmd_sort_ro(client *c);

/* cmd_lcs.c */
void cmd_lcs(client *c);

/* cmd_memory.c */
/* Where the memory goes, as MEMORY STATS and INFO memory report it: the
 * overhead is Redis's (startup, clients, the keyspace tables), the dataset
 * what remains of used memory. */
typedef struct mem_overview {
    size_t peak, total, startup, clients_replicas, clients_normal, overhead, dataset;
    long long keys;
    size_t active, resident, rss;
} mem_overview;
void mem_overview_get(server *s, mem_overview *m);
void cmd_memory_usage(client *c);
void cmd_memory_stats(client *c);
void cmd_memory_doctor(client *c);
void cmd_memory_malloc_stats(client *c);
void cmd_memory_purge(client *c);
void cmd_memory_help(client *c);

/* cmd_function.c */
void cmd_function_load(client *c);
void cmd_function_delete(client *c);
void cmd_function_flush(client *c);
void cmd_function_dump(client *c);
void cmd_function_restore(client *c);
void cmd_function_list(client *c);
void cmd_function_stats(client *c);
void cmd_function_kill(client *c);
void cmd_function_help(client *c);
void cmd_fcall(client *c);

/* cmd_server.c */
void cmd_ping(client *c);
void cmd_echo(client *c);
void cmd_time(client *c);
void cmd_info(client *c);
void cmd_config_get(client *c);
void cmd_config_set(client *c);
void cmd_config_resetstat(client *c);
void cmd_config_rewrite(client *c);
void cmd_config_help(client *c);
void cmd_command(client *c);
void cmd_command_count(client *c);
void cmd_command_info(client *c);
void cmd_command_docs(client *c);
void cmd_command_list(client *c);
void cmd_command_getkeys(client *c);
void cmd_command_getkeysandflags(client *c);
void cmd_command_help(client *c);
void cmd_hello(client *c);
void cmd_auth(client *c);
void cmd_quit(client *c);
void cmd_reset(client *c);
void cmd_shutdown(client *c);
void cmd_lastsave(client *c);
void cmd_script_kill(client *c);
void cmd_script_help(client *c);

/* cmd_client.c */
void cmd_client_id(client *c);
void cmd_client_setname(client *c);
void cmd_client_getname(client *c);
void cmd_client_list(client *c);
void cmd_client_kill(client *c);
void cmd_client_pause(client *c);
void cmd_client_unpause(client *c);
void cmd_client_info(client *c);
void cmd_client_unblock(client *c);
void cmd_client_no_evict(client *c);
void cmd_client_reply(client *c);
void cmd_client_help(client *c);

/* multi.c */
void cmd_multi(client *c);
void cmd_exec(client *c);
void cmd_discard(client *c);
void cmd_watch(client *c);
void cmd_unwatch(client *c);

/* debug.c */
void cmd_debug(client *c);

/* info.c */
dstr info_generate(server *s, const char *section, dstr out);
typedef dstr (*info_section_fn)(server *s, dstr out);
void info_set_replication_section(info_section_fn fn);

/* Shared argument helpers (commands.c). Each replies with Redis's error
 * and returns -1 when the argument is not acceptable. */
int arg_ll(client *c, const dstr arg, long long *out);
int arg_ll_msg(client *c, const dstr arg, long long *out, const char *msg);
int arg_ll_range(client *c, const dstr arg, long long min, long long max, long long *out,
                 const char *msg);
/* The count of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER: at least -LONG_MAX,
 * and within +-LONG_MAX/2 when `paired` (WITHVALUES, WITHSCORES). */
int arg_rand_count(client *c, const dstr arg, int paired, long long *out);
int arg_double(client *c, const dstr arg, double *out);
/* Whether the argument is `word`, ignoring case; the whole argument: an
 * option followed by a NUL byte and more is not that option. */
int arg_is(const dstr arg, const char *word);
/* CLIENT SETNAME and HELLO SETNAME: printable ASCII, no space (cmd_client.c). */
int client_name_is_valid(const dstr name);
int check_string_length(client *c, long long size, long long append);
void server_dirty(client *c, long long n);
void commands_register_table(command *table);
void command_reply_info(client *c, const command *cmd);
/* Whether argument j is a secret (AUTH's, HELLO's AUTH) that SLOWLOG and
 * MONITOR replace with "(redacted)". */
int command_arg_redacted(const command *cmd, dstr *argv, int argc, int j);
const command *command_find(server *s, const char *name);

#endif
