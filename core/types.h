/* types: registration of the collection types. Each type module (lists,
 * hashes, sets, sorted sets, streams) registers its value operations with object.c
 * and its command table with commands.c; types_register() calls them all
 * once, before the command table is built. */
#ifndef RM_TYPES_H
#define RM_TYPES_H

void types_register(void);

void t_list_register(void);
void t_hash_register(void);
void t_set_register(void);
void t_zset_register(void);
void t_stream_register(void);

#endif
