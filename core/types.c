/* types: see types.h. */
#include "core/types.h"

void types_register(void) {
    static int done;
    if (done) return;
    done = 1;
    t_list_register();
    t_hash_register();
    t_set_register();
    t_zset_register();
    t_stream_register();
}
