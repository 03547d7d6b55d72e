/* config_custom: the directives that are not one scalar value (see
 * config_int.h), and the check of dbfilename. Each parser gets the
 * arguments after the directive's name, already free of NUL bytes
 * (config.c refuses those first), and either stores the whole value or
 * leaves the config as it was and says why in `err`. */
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config_int.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/util.h"

int config_set_bind(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc < 1 || argc > CONFIG_MAX_BIND) {
        config_fmt_err(err, errlen, "Too many bind addresses specified.");
        return -1;
    }
    for (int i = 0; i < cfg->nbind; i++) mem_free(cfg->bind[i]);
    cfg->nbind = 0;
    for (int i = 0; i < argc; i++) cfg->bind[cfg->nbind++] = mem_strdup(argv[i]);
    return 0;
}

dstr config_get_bind(const config *cfg) {
    dstr s = dstr_empty();
    for (int i = 0; i < cfg->nbind; i++) {
        if (i) s = dstr_cats(s, " ");
        s = dstr_cats(s, cfg->bind[i]);
    }
    return s;
}

/* Parse the pairs of `seconds changes` in argv into out[*n...], after the
 * *n points already there. */
static int parse_save_pairs(dstr *argv, int argc, save_param *out, int *n, char *err,
                            size_t errlen) {
    if (argc == 0 || argc % 2) {
        config_fmt_err(err, errlen, "Invalid save parameters");
        return -1;
    }
    for (int i = 0; i < argc; i += 2) {
        long long secs, changes;
        if (!util_str_to_ll(argv[i], dstr_len(argv[i]), &secs) ||
            !util_str_to_ll(argv[i + 1], dstr_len(argv[i + 1]), &changes) || secs < 1 ||
            changes < 0 || *n == CONFIG_MAX_SAVEPARAMS) {
            config_fmt_err(err, errlen, "Invalid save parameters");
            return -1;
        }
        out[*n].seconds = secs;
        out[*n].changes = changes;
        (*n)++;
    }
    return 0;
}

/* Into a copy, so that a bad pair leaves the save points as they were. */
static int store_save(config *cfg, dstr *argv, int argc, int keep, char *err, size_t errlen) {
    save_param tmp[CONFIG_MAX_SAVEPARAMS];
    int n = keep ? cfg->nsave : 0;
    memcpy(tmp, cfg->save, sizeof(tmp[0]) * (size_t)n);
    if (parse_save_pairs(argv, argc, tmp, &n, err, errlen) < 0) return -1;
    memcpy(cfg->save, tmp, sizeof(tmp[0]) * (size_t)n);
    cfg->nsave = n;
    return 0;
}

int config_set_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    /* `save ""` clears every save point; otherwise pairs of numbers. */
    if (argc == 1 && dstr_len(argv[0]) == 0) {
        cfg->nsave = 0;
        return 0;
    }
    return store_save(cfg, argv, argc, 0, err, errlen);
}

int config_add_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    return store_save(cfg, argv, argc, 1, err, errlen);
}

dstr config_get_save(const config *cfg) {
    dstr s = dstr_empty();
    for (int i = 0; i < cfg->nsave; i++)
        s = dstr_catfmt(s, "%s%lld %lld", i ? " " : "", cfg->save[i].seconds,
                        cfg->save[i].changes);
    return s;
}

static const struct {
    const char *word;
    int flag;
} shutdown_words[] = {{"default", 0},
                      {"save", SHUTDOWN_SAVE},
                      {"nosave", SHUTDOWN_NOSAVE},
                      {"now", SHUTDOWN_NOW},
                      {"force", SHUTDOWN_FORCE}};
#define N_SHUTDOWN_WORDS (int)(sizeof(shutdown_words) / sizeof(shutdown_words[0]))

/* Redis's multi-word enum: the flags of every word given, ORed. */
static int parse_shutdown_flags(dstr *argv, int argc, int *out, char *err, size_t errlen) {
    int flags = 0;
    if (argc == 0) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        int j;
        for (j = 0; j < N_SHUTDOWN_WORDS; j++)
            if (config_is_cstr(argv[i]) && !strcasecmp(argv[i], shutdown_words[j].word)) break;
        if (j == N_SHUTDOWN_WORDS) {
            config_fmt_err(err, errlen,
                           "argument(s) must be one of the following: default, save, nosave, "
                           "now, force");
            return -1;
        }
        flags |= shutdown_words[j].flag;
    }
    if ((flags & SHUTDOWN_SAVE) && (flags & SHUTDOWN_NOSAVE)) {
        config_fmt_err(err, errlen, "shutdown options SAVE and NOSAVE can't be used simultaneously");
        return -1;
    }
    *out = flags;
    return 0;
}

int config_set_shutdown_sigint(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    return parse_shutdown_flags(argv, argc, &cfg->shutdown_on_sigint, err, errlen);
}

int config_set_shutdown_sigterm(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    return parse_shutdown_flags(argv, argc, &cfg->shutdown_on_sigterm, err, errlen);
}

/* The words of the flags in the enum's order, or "default". */
static dstr shutdown_flags_string(int flags) {
    if (!flags) return dstr_from("default");
    dstr s = dstr_empty();
    for (int j = 1; j < N_SHUTDOWN_WORDS; j++) {
        if (!(flags & shutdown_words[j].flag)) continue;
        if (dstr_len(s)) s = dstr_cats(s, " ");
        s = dstr_cats(s, shutdown_words[j].word);
    }
    return s;
}

dstr config_get_shutdown_sigint(const config *cfg) {
    return shutdown_flags_string(cfg->shutdown_on_sigint);
}

dstr config_get_shutdown_sigterm(const config *cfg) {
    return shutdown_flags_string(cfg->shutdown_on_sigterm);
}

/* latency-tracking-info-percentiles: up to CONFIG_MAX_PERCENTILES numbers
 * in [0, 100]; "" for none. */
int config_set_percentiles(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    double v[CONFIG_MAX_PERCENTILES];
    if (argc == 1 && dstr_len(argv[0]) == 0) argc = 0;
    if (argc > CONFIG_MAX_PERCENTILES) {
        config_fmt_err(err, errlen, "Too many latency-tracking-info-percentiles parameters");
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        if (!util_str_to_d(argv[i], dstr_len(argv[i]), &v[i])) {
            config_fmt_err(err, errlen, "Invalid latency-tracking-info-percentiles parameters");
            return -1;
        }
        if (v[i] > 100.0 || v[i] < 0.0) {
            config_fmt_err(err, errlen,
                           "latency-tracking-info-percentiles parameters should sit between "
                           "[0.0,100.0]");
            return -1;
        }
    }
    memcpy(cfg->latency_percentiles, v, sizeof(double) * (size_t)argc);
    cfg->nlatency_percentiles = argc;
    return 0;
}

/* A percentile as Redis prints it: %f with the trailing zeros (and a
 * trailing dot) cut, so 99.9 is "99.9" and 50 is "50". */
dstr config_cat_percentile(dstr out, double p) {
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%f", p);
    if (memchr(buf, '.', (size_t)n)) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
    }
    return dstr_cat(out, buf, (size_t)n);
}

dstr config_get_percentiles(const config *cfg) {
    dstr s = dstr_empty();
    for (int i = 0; i < cfg->nlatency_percentiles; i++) {
        if (i) s = dstr_cats(s, " ");
        s = config_cat_percentile(s, cfg->latency_percentiles[i]);
    }
    return s;
}

int config_set_obuf(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc == 0 || argc % 4) {
        config_fmt_err(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    for (int i = 0; i < argc; i += 4) {
        client_obuf_limit *l;
        if (!strcasecmp(argv[i], "normal"))
            l = &cfg->obuf_normal;
        else if (!strcasecmp(argv[i], "replica") || !strcasecmp(argv[i], "slave"))
            l = &cfg->obuf_replica;
        else if (!strcasecmp(argv[i], "pubsub"))
            l = &cfg->obuf_pubsub;
        else {
            config_fmt_err(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        unsigned long long hard, soft;
        long long secs;
        if (!util_mem_to_ull(argv[i + 1], &hard) || !util_mem_to_ull(argv[i + 2], &soft) ||
            !util_str_to_ll(argv[i + 3], dstr_len(argv[i + 3]), &secs) || secs < 0) {
            config_fmt_err(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit "
                                 "configuration.");
            return -1;
        }
        l->hard = (long long)hard;
        l->soft = (long long)soft;
        l->soft_seconds = secs;
    }
    return 0;
}

dstr config_get_obuf(const config *cfg) {
    return dstr_catfmt(dstr_empty(), "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld",
                       cfg->obuf_normal.hard, cfg->obuf_normal.soft, cfg->obuf_normal.soft_seconds,
                       cfg->obuf_replica.hard, cfg->obuf_replica.soft,
                       cfg->obuf_replica.soft_seconds, cfg->obuf_pubsub.hard,
                       cfg->obuf_pubsub.soft, cfg->obuf_pubsub.soft_seconds);
}

int config_set_replicaof(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc != 2) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    mem_free(cfg->replicaof_host);
    cfg->replicaof_host = NULL;
    cfg->replicaof_port = 0;
    if (!strcasecmp(argv[0], "no") && !strcasecmp(argv[1], "one")) return 0;
    long long port;
    if (!util_str_to_ll(argv[1], dstr_len(argv[1]), &port) || port < 0 || port > 65535) {
        config_fmt_err(err, errlen, "Invalid master port");
        return -1;
    }
    cfg->replicaof_host = mem_strdup(argv[0]);
    cfg->replicaof_port = (int)port;
    return 0;
}

dstr config_get_replicaof(const config *cfg) {
    if (!cfg->replicaof_host) return dstr_empty();
    return dstr_catfmt(dstr_empty(), "%s %d", cfg->replicaof_host, cfg->replicaof_port);
}

int config_set_sockperm(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    char *end;
    if (argc != 1) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    errno = 0;
    long v = strtol(argv[0], &end, 8);
    if (errno || *end || v < 0 || v > 0777) {
        config_fmt_err(err, errlen, "Invalid socket file permissions");
        return -1;
    }
    cfg->unixsocketperm = (int)v;
    return 0;
}

dstr config_get_sockperm(const config *cfg) {
    return dstr_catfmt(dstr_empty(), "%o", cfg->unixsocketperm);
}

int config_set_dir(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc != 1) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    if (chdir(argv[0]) == -1) {
        config_fmt_err(err, errlen, "%s", strerror(errno));
        return -1;
    }
    mem_free(cfg->dir);
    cfg->dir = mem_strdup(argv[0]);
    return 0;
}

dstr config_get_dir(const config *cfg) {
    char buf[PATH_MAX];
    (void)cfg;
    if (!getcwd(buf, sizeof(buf))) return dstr_empty();
    return dstr_from(buf);
}


/* Redis 7.0's rule, in the file and for CONFIG SET: the file lives in
 * `dir`, so a name that names another directory (or climbs out with
 * "../") is refused rather than written wherever it points. */
int config_check_dbfilename(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    (void)cfg;
    if (argc != 1) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    if (memchr(argv[0], '/', dstr_len(argv[0])) || memchr(argv[0], '\\', dstr_len(argv[0]))) {
        config_fmt_err(err, errlen, "dbfilename can't be a path, just a filename");
        return -1;
    }
    return 0;
}

/* Redis keeps the classes as a mask and shows them in its own order:
 * "KEA" reads back as "AKE". */
int config_set_notify(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc != 1) {
        config_fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    int flags = notify_flags_parse(argv[0], dstr_len(argv[0]));
    if (flags < 0) {
        config_fmt_err(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return -1;
    }
    cfg->notify_keyspace_events = flags;
    return 0;
}

dstr config_get_notify(const config *cfg) {
    return notify_flags_string(cfg->notify_keyspace_events);
}
