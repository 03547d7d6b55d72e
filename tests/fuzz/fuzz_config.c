/* libFuzzer harness for the configuration file parser (core/config.c).
 *
 * The input is the text of a configuration file, loaded with
 * config_load_string into a config set to the defaults: the same
 * load_text path config_load_file takes for a file, line splitting,
 * quoting, every directive's value parser, the absent Redis directives,
 * `save`, aliases. The loader returns errors rather than exiting (main.c
 * prints them and exits), so any input must end in 0 or -1 with a message,
 * without a sanitizer report. After a load the whole configuration is read
 * back through CONFIG GET * (the values it kept, possibly half-applied on
 * an error) and the config is freed, so LeakSanitizer checks both paths.
 *
 * `include` reads a file named by the input: inputs naming it are skipped,
 * since "include /dev/zero" is a way to hang any loader and not a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "tests/fuzz/fuzz_util.h"

static void sink(void *priv, const char *name, const char *value, size_t vlen) {
    size_t *total = priv;
    CHECK(name && name[0]);
    if (vlen) CHECK(value != NULL);
    *total += strlen(name) + vlen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        log_setup(LL_NOTHING, NULL);
        ready = 1;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    /* "include", also spelt with escapes inside quotes ("\x69nclude"). */
    if (strcasestr(text, "include") || strstr(text, "\\x")) {
        free(text);
        return 0;
    }
    config cfg;
    config_defaults(&cfg);
    char err[1024];
    memset(err, 'x', sizeof(err));
    int rc = config_load_string(&cfg, text, "(fuzz)", err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
    size_t total = 0;
    config_get(&cfg, "*", 1, sink, &total);
    CHECK(total > 0);
    config_free(&cfg);
    free(text);
    return 0;
}
