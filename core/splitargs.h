/* splitargs: split a text line into arguments the way Redis's
 * sdssplitargs() does, for inline requests and redis.conf lines.
 *
 * Arguments are separated by blanks. "Double quoted" arguments understand
 * \n \r \t \b \a \\ \" and \xHH; 'single quoted' ones only \'. A closing
 * quote must be followed by a blank or the end of the line. */
#ifndef RM_SPLITARGS_H
#define RM_SPLITARGS_H

#include <stddef.h>

#include "core/dstr.h"

/* Split line[0..len). Returns a mem_alloc'd array of *argc dstrs (never
 * NULL on success, even when *argc is 0 for a blank line), or NULL with
 * *argc set to 0 when a quote is unbalanced or a closing quote is followed
 * by something other than a blank. */
dstr *split_args(const char *line, size_t len, int *argc);

/* Free the dstrs and the array returned by split_args(). */
void split_args_free(dstr *argv, int argc);

#endif
