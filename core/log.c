/* log: see log.h. Each line is formatted fully, then written with one
 * write(2) so lines from the keyspace thread and replication threads never
 * interleave mid-line. The file is opened for each line as Redis does, so
 * logrotate's move-and-recreate works without a signal.
 *
 * The level is a C11 atomic: CONFIG SET loglevel stores it on the keyspace
 * thread while the replication I/O threads read it for every line they may
 * log. Relaxed order is enough, a thread seeing the new level a little late
 * only logs (or skips) a line by the old one. */
#include "core/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"

static atomic_int log_level = LL_NOTICE;
static char log_path[4096];
static _Atomic char log_role = 'M'; /* set by the keyspace thread, read by any */

static int current_level(void) { return atomic_load_explicit(&log_level, memory_order_relaxed); }

void log_setup(int level, const char *logfile) {
    log_set_level(level);
    if (logfile && logfile[0])
        snprintf(log_path, sizeof(log_path), "%s", logfile);
    else
        log_path[0] = '\0';
}

void log_set_level(int level) { atomic_store_explicit(&log_level, level, memory_order_relaxed); }
void log_set_role(char role) { atomic_store_explicit(&log_role, role, memory_order_relaxed); }

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
    if (level < current_level()) return;
    log_write(msg, strlen(msg));
}

/* Two strengths of escaping: log_repr() makes any string printable ASCII
 * (backslashes doubled so the form reads back unambiguously); the net in
 * log_msg() only defuses control bytes, leaving paths and UTF-8 alone. */
enum { ESC_CONTROL, ESC_ALL };

/* The escape for one byte (without the backslash): "n", "x0b"... or NULL
 * when the byte stands for itself. `esc` has room for 4 bytes. */
static const char *byte_escape(unsigned char ch, int mode, char esc[4]) {
    switch (ch) {
    case '\n': return "n";
    case '\r': return "r";
    case '\t': return "t";
    case '\\': return mode == ESC_ALL ? "\\" : NULL;
    default: break;
    }
    int plain = mode == ESC_ALL ? (ch >= ' ' && ch <= '~') : (ch >= ' ' && ch != 0x7f);
    if (plain) return NULL;
    snprintf(esc, 4, "x%02x", ch);
    return esc;
}

/* Write the escaped form of p[0..len) into buf (size > 3), NUL-terminated;
 * when it does not fit, as much as fits followed by "...". */
static void escape_into(char *buf, size_t size, const unsigned char *p, size_t len, int mode) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char tmp[4];
        const char *esc = byte_escape(p[i], mode, tmp);
        size_t need = esc ? 1 + strlen(esc) : 1;
        if (o + need + 4 > size) { /* the rest would not leave room for "..." */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (esc) {
            buf[o++] = '\\';
            memcpy(buf + o, esc, need - 1);
            o += need - 1;
        } else {
            buf[o++] = (char)p[i];
        }
    }
    buf[o] = '\0';
}

const char *log_repr(char *buf, size_t size, const void *p, size_t len) {
    if (size < 4) {
        if (size) buf[0] = '\0';
        return buf;
    }
    escape_into(buf, size, p, len, ESC_ALL);
    return buf;
}

/* Whether the formatted message holds a control byte. */
static int has_control_bytes(const char *msg) {
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < ' ' || *p == 0x7f) return 1;
    return 0;
}

void log_msg(int level, const char *fmt, ...) {
    static const char marks[] = ".-*#";
    if (level < current_level() || level > LL_WARNING) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A caller that forgot log_repr() still cannot split the line. */
    char safe[2048];
    const char *text = msg;
    if (has_control_bytes(msg)) {
        escape_into(safe, sizeof(safe), (const unsigned char *)msg, strlen(msg), ESC_CONTROL);
        text = safe;
    }

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));

    char line[2300];
    int n = snprintf(line, sizeof(line), "%d:%c %s %c %s\n", (int)getpid(),
                     atomic_load_explicit(&log_role, memory_order_relaxed), when,
                     marks[level], text);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    log_write(line, (size_t)n);
}
