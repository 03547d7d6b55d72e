/* log: see log.h. Each line is formatted fully, then written with one
 * write(2) so lines from the keyspace thread and replication threads never
 * interleave mid-line. The file is opened for each line as Redis does, so
 * logrotate's move-and-recreate works without a signal. */
#include "core/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"

static int log_level = LL_NOTICE;
static char log_path[4096];
static volatile char log_role = 'M';

void log_setup(int level, const char *logfile) {
    log_level = level;
    if (logfile && logfile[0])
        snprintf(log_path, sizeof(log_path), "%s", logfile);
    else
        log_path[0] = '\0';
}

void log_set_level(int level) { log_level = level; }
void log_set_role(char role) { log_role = role; }

static void log_write(const char *line, size_t len) {
    if (log_path[0]) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return;
        ssize_t w = write(fd, line, len);
        (void)w;
        close(fd);
    } else {
        ssize_t w = write(STDOUT_FILENO, line, len);
        (void)w;
    }
}

void log_raw(int level, const char *msg) {
    if (level < log_level) return;
    log_write(msg, strlen(msg));
}

void log_msg(int level, const char *fmt, ...) {
    static const char marks[] = ".-*#";
    if (level < log_level || level > LL_WARNING) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));

    char line[2300];
    int n = snprintf(line, sizeof(line), "%d:%c %s %c %s\n", (int)getpid(), log_role, when,
                     marks[level], msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    log_write(line, (size_t)n);
}
