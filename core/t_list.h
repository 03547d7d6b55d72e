/* t_list: the list type, its commands and the API loaders and serializers
 * use to build and walk list values.
 *
 * A list value is an obj of type OBJ_LIST, encoding ENC_QUICKLIST (what
 * Redis 7.0 reports for every list), whose ptr is a quicklist. */
#ifndef RM_T_LIST_H
#define RM_T_LIST_H

#include "core/quicklist.h"
#include "core/server.h"

/* An empty list value with the node limits currently configured
 * (list-max-listpack-size, list-compress-depth); the caller adds it to the
 * keyspace once it holds at least one element (empty lists never exist). */
obj *list_obj_new(const server *s);
/* Append (QL_TAIL) or prepend (QL_HEAD) one element. */
void list_obj_push(obj *o, const void *p, size_t len, int where);
unsigned long list_obj_length(const obj *o);

/* Walk a list from head to tail:
 *     list_iter li; lpl_elem e;
 *     list_iter_init(&li, o);
 *     while (list_iter_next(&li, &e)) ... e.str/e.len, or e.ival if !e.str
 * String bytes point into the list: valid until the list changes. */
typedef struct list_iter {
    ql_iter it;
} list_iter;
void list_iter_init(list_iter *li, const obj *o);
int list_iter_next(list_iter *li, lpl_elem *out);

#endif
