/* config_int: what the parts of the config subsystem share, and nothing
 * outside it includes. config.c owns the directive table and the value
 * rules; config_custom.c parses and prints the directives that are not a
 * plain scalar (bind, save, client-output-buffer-limit, replicaof,
 * unixsocketperm, dir, notify-keyspace-events) and checks dbfilename;
 * config_rewrite.c writes the table back into a file for CONFIG
 * REWRITE. */
#ifndef RM_CONFIG_INT_H
#define RM_CONFIG_INT_H

#include <stddef.h>

#include "core/config.h"
#include "core/dstr.h"

enum cfg_kind { K_BOOL, K_INT, K_LL, K_MEM, K_STR, K_ENUM, K_CUSTOM };
enum {
    F_IMMUTABLE = 1,    /* CONFIG SET refuses it (Redis's IMMUTABLE_CONFIG) */
    F_PROTECTED = 2,    /* CONFIG SET only as enable-protected-configs allows */
    F_HIDDEN = 4,       /* CONFIG GET shows it only when asked by its exact name */
    F_DEFAULT_ONLY = 8, /* another value needs a feature Ringmaster lacks */
    F_CSTR = 16,        /* str used as a C string (path, address): no NUL byte */
    F_QUOTED = 32,      /* CONFIG REWRITE quotes the value (it may be empty) */
    F_NUL_OK = 64,      /* custom: the parser takes a NUL byte as Redis does */
};

/* The one refusal for every value the OS would read only up to a NUL. */
#define ERR_NUL_BYTE "argument can't contain a NUL byte"

typedef struct cfg_enum {
    const char *name;
    int value;
} cfg_enum;

/* A custom directive's parser gets the arguments after the name; for a
 * K_STR entry the same slot holds an optional check of the one value. */
typedef int (*custom_set_fn)(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
typedef dstr (*custom_get_fn)(const config *cfg);

typedef struct cfg_entry {
    const char *name;
    const char *alias;
    enum cfg_kind kind;
    size_t offset;
    const char *def;
    long long min, max;
    const cfg_enum *enums;
    int flags;
    custom_set_fn set;
    custom_get_fn get;
} cfg_entry;

/* config.c: the table (ends with a NULL name), lookups, values. */
extern const cfg_entry config_table[];
const cfg_entry *config_find_entry(const char *name);
/* The value as CONFIG GET shows it (a new dstr). */
dstr config_value_string(const config *cfg, const cfg_entry *e);
/* Whether a dstr holds no NUL byte, so a C-string API sees all of it. */
int config_is_cstr(const dstr s);
void config_fmt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* config_custom.c */
int config_set_bind(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_bind(const config *cfg);
/* `save`: the pairs replace the save points (CONFIG SET, and the first
 * `save` line a file gives); config_add_save() adds them (later lines). */
int config_set_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
int config_add_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_save(const config *cfg);
/* shutdown-on-sigint and -sigterm: "default" or save|nosave, now, force. */
int config_set_shutdown_sigint(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
int config_set_shutdown_sigterm(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_shutdown_sigint(const config *cfg);
dstr config_get_shutdown_sigterm(const config *cfg);
int config_set_percentiles(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_percentiles(const config *cfg);
int config_set_obuf(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_obuf(const config *cfg);
int config_set_replicaof(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_replicaof(const config *cfg);
int config_set_sockperm(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_sockperm(const config *cfg);
int config_set_dir(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_dir(const config *cfg);
int config_check_dbfilename(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
int config_set_notify(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
dstr config_get_notify(const config *cfg);

#endif
