/* test_support: small helpers the Check unit tests share. Header-only:
 * every tests/unit/test_*.c is its own executable. */
#ifndef RM_TEST_SUPPORT_H
#define RM_TEST_SUPPORT_H

#include <check.h>
#include <stdio.h>

#include "core/dstr.h"

/* The whole content of a file, which must exist. */
static inline dstr test_read_file(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    dstr text = dstr_empty();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text = dstr_cat(text, buf, n);
    fclose(f);
    return text;
}

#endif
