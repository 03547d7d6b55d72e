/* config_rewrite: CONFIG REWRITE. The file is rewritten in place of the
 * old one: every line that is not a directive of the table (comments,
 * blank lines, include, Redis directives Ringmaster lacks) is kept as it
 * is, the first line of each directive gets the current value and repeats
 * are dropped, and the directives that differ from their default and were
 * not in the file are appended. Values are written so the loader reads
 * back the same bytes. A temporary file, fsynced, renamed over the old
 * one, then the directory fsynced, means a crash never leaves half a
 * config behind; a failed fsync fails the rewrite with its errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config_int.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/splitargs.h"

/* The line for directive `e`, or NULL when it has none: a master has no
 * `replicaof` line, as Redis removes it (an empty one would not load). */
static dstr directive_line(const config *cfg, const cfg_entry *e) {
    if (!strcmp(e->name, "replicaof") && !cfg->replicaof_host) return NULL;
    dstr line = dstr_from(e->name);
    dstr v = config_value_string(cfg, e);
    line = dstr_cats(line, " ");
    if (e->kind == K_STR || (e->flags & F_QUOTED) || !strcmp(e->name, "dir"))
        line = dstr_catrepr(line, v, dstr_len(v));
    else if (!strcmp(e->name, "save") && dstr_len(v) == 0)
        line = dstr_cats(line, "\"\"");
    else /* numbers, words, and lists of them: nothing to quote */
        line = dstr_catd(line, v);
    dstr_free(v);
    return line;
}

static dstr append_directive(dstr out, const config *cfg, const cfg_entry *e) {
    dstr dl = directive_line(cfg, e);
    if (!dl) return out;
    out = dstr_catd(out, dl);
    dstr_free(dl);
    return dstr_cats(out, "\n");
}

/* Write `text` to a temp file beside `path`, fsync it, rename it over
 * `path`, fsync the directory: a crash leaves the old file or the new one,
 * never half of one. A failed step is logged by name, as Redis 7.0 logs
 * it, and leaves the old file as it was (the directory's fsync comes after
 * the rename: then the new file is in place but may not be durable, and
 * the rewrite fails all the same, as in Redis). */
static int config_write_file(const char *path, const dstr text, char *err, size_t errlen) {
    dstr tmp = dstr_catfmt(dstr_empty(), "%s.tmp-%d", path, (int)getpid());
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        log_msg(LL_WARNING, "Could not create tmp config file (%s)", strerror(e));
        goto done;
    }
    size_t off = 0, total = dstr_len(text);
    while (off < total) {
        ssize_t w = write(fd, text + off, total - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            e = w < 0 ? errno : ENOSPC;
            log_msg(LL_WARNING, "Failed after writing (%zu) bytes to tmp config file (%s)", off,
                    strerror(e));
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        e = errno;
        log_msg(LL_WARNING, "Could not sync tmp config file to disk (%s)", strerror(e));
        goto done;
    }
    int rc = close(fd);
    fd = -1;
    if (rc < 0 || rename(tmp, path) < 0) {
        e = errno;
        log_msg(LL_WARNING, "Could not rename tmp config file (%s)", strerror(e));
        goto done;
    }
    rc = durable_fsync_dir_of(path);
    if (rc < 0) {
        e = -rc;
        log_msg(LL_WARNING, "Could not sync config file dir (%s)", strerror(e));
    }
    /* Renamed: nothing left to remove, whatever the directory said. */
    dstr_free(tmp);
    tmp = NULL;
done:
    if (fd >= 0) close(fd);
    if (tmp) {
        unlink(tmp);
        dstr_free(tmp);
    }
    if (e) config_fmt_err(err, errlen, "Rewriting config file: %s", strerror(e));
    return e ? -1 : 0;
}

int config_rewrite(const config *cfg, const char *path, char *err, size_t errlen) {
    /* Keep every line that is not a directive we own (comments, unknown
     * lines, include); replace the first occurrence of each owned directive
     * with its current value and drop repeats; append the ones that differ
     * from their default and were not in the file. */
    dstr old = dstr_empty();
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) old = dstr_cat(old, buf, n);
        fclose(f);
    }
    size_t nent = 0;
    while (config_table[nent].name) nent++;
    char *written = mem_calloc(nent);
    dstr out = dstr_empty();
    size_t pos = 0, len = dstr_len(old);
    while (pos < len) {
        size_t end = pos;
        while (end < len && old[end] != '\n') end++;
        const char *line = old + pos;
        size_t llen = end - pos;
        pos = end + 1;
        int argc = 0;
        dstr *argv = NULL;
        const char *p = line;
        size_t plen = llen;
        while (plen && (*p == ' ' || *p == '\t')) {
            p++;
            plen--;
        }
        if (plen && *p != '#') argv = split_args(p, plen, &argc);
        const cfg_entry *e =
            (argv && argc && config_is_cstr(argv[0])) ? config_find_entry(argv[0]) : NULL;
        if (e) {
            size_t idx = (size_t)(e - config_table);
            if (!written[idx]) out = append_directive(out, cfg, e);
            written[idx] = 1;
        } else {
            out = dstr_cat(out, line, llen);
            out = dstr_cats(out, "\n");
        }
        if (argv) split_args_free(argv, argc);
    }
    config defaults;
    config_defaults(&defaults);
    int header = 0;
    for (size_t i = 0; i < nent; i++) {
        if (written[i]) continue;
        dstr cur = config_value_string(cfg, &config_table[i]);
        dstr def = config_value_string(&defaults, &config_table[i]);
        int differs = dstr_cmp(cur, def) != 0 && strcmp(config_table[i].name, "dir") != 0;
        dstr_free(cur);
        dstr_free(def);
        if (!differs) continue;
        if (!header) {
            out = dstr_cats(out, "# Generated by CONFIG REWRITE\n");
            header = 1;
        }
        out = append_directive(out, cfg, &config_table[i]);
    }
    config_free(&defaults);
    mem_free(written);
    dstr_free(old);

    int rc = config_write_file(path, out, err, errlen);
    dstr_free(out);
    return rc;
}
