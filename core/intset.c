/* intset: see intset.h for the layout.
 *
 * Lookups are a binary search; an insert or a removal moves the tail of the
 * array with memmove and resizes the allocation to the exact new size, as
 * Redis does, so an intset never holds slack (the allocator's size classes
 * absorb most of the realloc cost). Intsets stay small in practice: a set
 * leaves this encoding past set-max-intset-entries (512 by default).
 *
 * Width upgrades: a value that does not fit the current width is, by
 * construction, either smaller or larger than every member, so it goes at
 * one end while the existing elements are widened in place, back to front
 * so that no element is overwritten before it is read. */
#include "core/intset.h"

#include <string.h>

#include "core/mem.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "intset blobs are little-endian and stored natively");

struct intset {
    uint32_t width;  /* bytes per element: 2, 4 or 8 */
    uint32_t length; /* number of elements */
    uint8_t contents[];
};

#define INTSET_HDR sizeof(struct intset)

static uint32_t width_for(int64_t v) {
    if (v < INT32_MIN || v > INT32_MAX) return 8;
    if (v < INT16_MIN || v > INT16_MAX) return 4;
    return 2;
}

static int64_t load_at(const uint8_t *contents, uint32_t pos, uint32_t width) {
    if (width == 8) {
        int64_t v;
        memcpy(&v, contents + (size_t)pos * 8, 8);
        return v;
    }
    if (width == 4) {
        int32_t v;
        memcpy(&v, contents + (size_t)pos * 4, 4);
        return v;
    }
    int16_t v;
    memcpy(&v, contents + (size_t)pos * 2, 2);
    return v;
}

static void store_at(uint8_t *contents, uint32_t pos, uint32_t width, int64_t v) {
    if (width == 8) {
        memcpy(contents + (size_t)pos * 8, &v, 8);
    } else if (width == 4) {
        int32_t x = (int32_t)v;
        memcpy(contents + (size_t)pos * 4, &x, 4);
    } else {
        int16_t x = (int16_t)v;
        memcpy(contents + (size_t)pos * 2, &x, 2);
    }
}

static intset *resize(intset *is, uint32_t len) {
    return mem_realloc(is, INTSET_HDR + (size_t)len * is->width);
}

/* Binary search. Returns 1 and the position when v is present, else 0 and
 * the position where it would be inserted. */
static int search(const intset *is, int64_t v, uint32_t *pos) {
    uint32_t n = is->length;
    if (n == 0) {
        *pos = 0;
        return 0;
    }
    /* Appends and prepends are common (ascending ids): answer them without
     * a search. */
    if (v > load_at(is->contents, n - 1, is->width)) {
        *pos = n;
        return 0;
    }
    if (v < load_at(is->contents, 0, is->width)) {
        *pos = 0;
        return 0;
    }
    uint32_t lo = 0, hi = n; /* answer in [lo, hi) */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = load_at(is->contents, mid, is->width);
        if (cur == v) {
            *pos = mid;
            return 1;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

intset *intset_new(void) {
    intset *is = mem_alloc(INTSET_HDR);
    is->width = 2;
    is->length = 0;
    return is;
}

void intset_free(intset *is) { mem_free(is); }

intset *intset_dup(const intset *is) {
    size_t n = intset_blob_len(is);
    intset *copy = mem_alloc(n);
    memcpy(copy, is, n);
    return copy;
}

static intset *upgrade_and_add(intset *is, int64_t v) {
    uint32_t old_width = is->width;
    uint32_t n = is->length;
    int at_front = v < 0; /* too wide for the old width: below or above all */
    is->width = width_for(v);
    is = resize(is, n + 1);
    for (uint32_t i = n; i-- > 0;)
        store_at(is->contents, i + (uint32_t)at_front, is->width,
                 load_at(is->contents, i, old_width));
    store_at(is->contents, at_front ? 0 : n, is->width, v);
    is->length = n + 1;
    return is;
}

intset *intset_add(intset *is, int64_t v, int *added) {
    if (added) *added = 1;
    if (width_for(v) > is->width) return upgrade_and_add(is, v);
    uint32_t pos;
    if (search(is, v, &pos)) {
        if (added) *added = 0;
        return is;
    }
    uint32_t n = is->length;
    is = resize(is, n + 1);
    if (pos < n)
        memmove(is->contents + (size_t)(pos + 1) * is->width,
                is->contents + (size_t)pos * is->width, (size_t)(n - pos) * is->width);
    store_at(is->contents, pos, is->width, v);
    is->length = n + 1;
    return is;
}

intset *intset_remove(intset *is, int64_t v, int *removed) {
    uint32_t pos;
    if (removed) *removed = 0;
    if (width_for(v) > is->width || !search(is, v, &pos)) return is;
    if (removed) *removed = 1;
    uint32_t n = is->length;
    if (pos < n - 1)
        memmove(is->contents + (size_t)pos * is->width,
                is->contents + (size_t)(pos + 1) * is->width, (size_t)(n - pos - 1) * is->width);
    is->length = n - 1;
    return resize(is, n - 1);
}

int intset_find(const intset *is, int64_t v) {
    uint32_t pos;
    return width_for(v) <= is->width && search(is, v, &pos);
}

uint32_t intset_len(const intset *is) { return is->length; }

uint32_t intset_width(const intset *is) { return is->width; }

int intset_get(const intset *is, uint32_t pos, int64_t *v) {
    if (pos >= is->length) return 0;
    *v = load_at(is->contents, pos, is->width);
    return 1;
}

int64_t intset_random(const intset *is, uint64_t r) {
    return load_at(is->contents, (uint32_t)(r % is->length), is->width);
}

const void *intset_blob(const intset *is) { return is; }

size_t intset_blob_len(const intset *is) { return INTSET_HDR + (size_t)is->length * is->width; }

int intset_validate(const void *p, size_t size, int deep) {
    if (size < INTSET_HDR) return 0;
    uint32_t width, length;
    memcpy(&width, p, 4);
    memcpy(&length, (const uint8_t *)p + 4, 4);
    if (width != 2 && width != 4 && width != 8) return 0;
    if (INTSET_HDR + (size_t)length * width != size) return 0;
    if (length == 0) return 0;
    if (!deep) return 1;
    const uint8_t *contents = (const uint8_t *)p + INTSET_HDR;
    int64_t prev = load_at(contents, 0, width);
    for (uint32_t i = 1; i < length; i++) {
        int64_t cur = load_at(contents, i, width);
        if (cur <= prev) return 0;
        prev = cur;
    }
    return 1;
}

intset *intset_from_blob(const void *p, size_t size) {
    if (!intset_validate(p, size, 1)) return NULL;
    intset *is = mem_alloc(size);
    memcpy(is, p, size);
    return is;
}
