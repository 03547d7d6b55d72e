/* types: see types.h. */
#include "core/types.h"

/* Modules not written yet provide a weak empty registration, so the server
 * builds at every step of their arrival. */
__attribute__((weak)) void t_list_register(void) {}
__attribute__((weak)) void t_hash_register(void) {}
__attribute__((weak)) void t_set_register(void) {}
__attribute__((weak)) void t_zset_register(void) {}

void types_register(void) {
    static int done;
    if (done) return;
    done = 1;
    t_list_register();
    t_hash_register();
    t_set_register();
    t_zset_register();
}
