/* main: `ringmaster [config-file] [--directive value ...]`, as
 * redis-server is invoked. Command-line directives are applied after the
 * file, so they win. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/dstr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/server.h"

static void usage(void) {
    fprintf(stderr,
            "Usage: ringmaster [/path/to/ringmaster.conf] [options]\n"
            "       ringmaster -v or --version\n"
            "       ringmaster -h or --help\n\n"
            "Examples:\n"
            "       ringmaster (run with the default configuration)\n"
            "       ringmaster /etc/ringmaster/6379.conf\n"
            "       ringmaster --port 7777\n"
            "       ringmaster /etc/myring.conf --loglevel verbose\n");
}

/* Turn "--port 7000 --save '' --bind a b" into config text, one directive
 * per line, quoting each argument so the config reader splits it back. */
static dstr options_to_text(int argc, char **argv, int start) {
    dstr text = dstr_empty();
    int first = 1;
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            if (!first) text = dstr_cats(text, "\n");
            text = dstr_cats(text, a + 2);
            first = 0;
            continue;
        }
        text = dstr_cats(text, " \"");
        for (const char *p = a; *p; p++) {
            if (*p == '"' || *p == '\\')
                text = dstr_catfmt(text, "\\%c", *p);
            else if ((unsigned char)*p < ' ')
                text = dstr_catfmt(text, "\\x%02x", (unsigned char)*p);
            else
                text = dstr_cat(text, p, 1);
        }
        text = dstr_cats(text, "\"");
    }
    return dstr_cats(text, "\n");
}

/* Where a daemon writes its pid when no pidfile is configured, as Redis
 * writes /var/run/redis.pid. */
#define DEFAULT_PID_FILE "/var/run/ringmaster.pid"

/* `daemonize yes`, as Redis's daemonize(): the parent exits at once (so an
 * init script sees success), the child leaves the terminal's session and
 * points its standard streams at /dev/null. Logging to stdout then goes
 * nowhere, as with Redis: set `logfile` to keep the log. */
static void daemonize(void) {
    fflush(NULL); /* or buffered output would be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LL_WARNING, "Can't daemonize: fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0) exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR, 0);
    if (fd != -1) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
}

static void write_pid_file(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        log_msg(LL_WARNING, "Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv) {
    static server srv;
    server *s = &srv;
    config_defaults(&s->cfg);
    /* SORT ... ALPHA collates with strcoll() in the environment's locale,
     * as Redis does (setlocale(LC_COLLATE, "") in its main). */
    setlocale(LC_COLLATE, "");
    /* INFO's `executable`: the absolute path, as Redis reports it. */
    char exe[PATH_MAX];
    ssize_t exelen = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (exelen > 0) {
        exe[exelen] = '\0';
        s->executable = mem_strdup(exe);
    }

    int optstart = 1;
    if (argc >= 2) {
        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
            printf("Ringmaster server v=%s (Redis-compatible 7.0) bits=%d\n", RM_VERSION,
                   (int)(sizeof(long) * 8));
            return 0;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            usage();
            return 0;
        }
        if (argv[1][0] != '-') {
            char err[4096];
            char abspath[PATH_MAX];
            if (!realpath(argv[1], abspath)) snprintf(abspath, sizeof(abspath), "%s", argv[1]);
            s->configfile = mem_strdup(abspath);
            if (config_load_file(&s->cfg, argv[1], err, sizeof(err)) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            optstart = 2;
        }
    }
    if (optstart < argc) {
        char err[4096];
        dstr text = options_to_text(argc, argv, optstart);
        if (config_load_string(&s->cfg, text, "(command line)", err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            dstr_free(text);
            return 1;
        }
        dstr_free(text);
    }

    log_setup(s->cfg.loglevel, s->cfg.logfile);
    log_msg(LL_NOTICE, "oO0OoO0OoO0Oo Ringmaster is starting oO0OoO0OoO0Oo");
    log_msg(LL_NOTICE, "Ringmaster version=%s, bits=%d, commit=00000000, modified=0, pid=%d, just started",
            RM_VERSION, (int)(sizeof(long) * 8), (int)getpid());
    if (s->configfile)
        log_msg(LL_NOTICE, "Configuration loaded");
    else
        log_msg(LL_WARNING, "Warning: no config file specified, using the default config. In order to specify a config file use %s /path/to/ringmaster.conf", argv[0]);

    if (s->cfg.daemonize) {
        daemonize();
        if (!s->cfg.pidfile) s->cfg.pidfile = dstr_from(DEFAULT_PID_FILE);
    }

    server_init(s);
    if (server_listen(s) < 0) {
        log_msg(LL_WARNING, "Failed listening on port %d (tcp), aborting.", s->cfg.port);
        return 1;
    }
    if (s->cfg.pidfile) write_pid_file(s->cfg.pidfile);
    log_msg(LL_NOTICE, "Running mode=standalone, port=%d.", s->cfg.port);
    log_msg(LL_NOTICE, "Server initialized");
    if (persist_load_at_startup(s) < 0) return 1;
    log_msg(LL_NOTICE, "Ringmaster PID: %d", (int)getpid());
    log_msg(LL_NOTICE, "Ready to accept connections");
    server_main_loop(s);
    s->exiting = 1;
    server_free(s);
    mem_free(s->configfile);
    mem_free(s->executable);
    return 0;
}
