/* lpack_list: the packed run of entries that fills one quicklist node.
 *
 * A run is a plain byte array of entries, each one
 *     [header][payload][backlen]
 * where the header says whether the element is an integer (stored in 1 to
 * 9 bytes) or a string (1, 2 or 5 header bytes, then the bytes), and
 * backlen is the size of header + payload written so that it can be read
 * from its last byte backwards. The first property makes small numbers and
 * short strings cost 2 to 3 bytes of overhead; the second lets a run be
 * walked in both directions without any index. See lpack_list.c for the
 * exact byte layout.
 *
 * A string is stored as an integer only when it is the canonical decimal
 * spelling of a long long (util_str_to_ll), so reading it back always
 * gives the same bytes that were written. */
#ifndef RM_LPACK_LIST_H
#define RM_LPACK_LIST_H

#include <stddef.h>
#include <stdint.h>

/* An element read from a run: bytes, or an integer when str is NULL. */
typedef struct lpl_elem {
    const unsigned char *str;
    size_t len;
    long long ival;
} lpl_elem;

/* An element encoded once, ready to be written into any run and compared
 * against entries without parsing the caller's bytes again. */
typedef struct lpl_entry {
    const unsigned char *str; /* string payload, NULL for an integer */
    size_t len;
    long long ival;
    unsigned char head[9]; /* header, plus the payload for integers */
    uint8_t headlen;
    uint8_t backlen_len;
    size_t total; /* bytes the entry takes in a run */
} lpl_entry;

/* Largest element a run can hold (the string length field is 32 bits). */
#define LPL_MAX_STRING ((size_t)UINT32_MAX - 16)

/* Encode bytes (stored as an integer when they spell one canonically). */
void lpl_prepare(lpl_entry *e, const void *s, size_t len);
/* Encode an element read from another run (LMOVE keeps integers as is). */
void lpl_prepare_elem(lpl_entry *e, const lpl_elem *el);
/* Write a prepared entry at dst; exactly e->total bytes. */
void lpl_write(unsigned char *dst, const lpl_entry *e);

/* Size of the entry that starts at p. */
size_t lpl_size_at(const unsigned char *p);
/* Size of the entry that ends just before `end`. */
size_t lpl_size_before(const unsigned char *end);
/* Decode the entry at p; string bytes point into the run. */
void lpl_read(const unsigned char *p, lpl_elem *out);
/* Whether the entry at p holds the same element as e. */
int lpl_matches(const unsigned char *p, const lpl_entry *e);

/* The element as bytes: integers are rendered into buf (>= 21 bytes). */
const char *lpl_elem_bytes(const lpl_elem *el, char *buf, size_t *len);

#endif
