/* wake: eventfd wake-ups. See wake.h for who waits how. */
#include "io/wake.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int wake_open(void) {
    /* Non-blocking so that an epoll thread's drain never blocks; an io_uring
     * read on it still waits (the kernel polls the eventfd for it). */
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int wake_signal(int fd) {
    const uint64_t one = 1;
    for (;;) {
        ssize_t n = write(fd, &one, sizeof(one));
        if (n == (ssize_t)sizeof(one)) return 0;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0; /* saturated: already awake */
        return n < 0 ? -errno : -EIO;
    }
}

int wake_drain(int fd) {
    uint64_t count;
    for (;;) {
        ssize_t n = read(fd, &count, sizeof(count));
        if (n == (ssize_t)sizeof(count)) return 1;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        return n < 0 ? -errno : -EIO;
    }
}

int wake_wait(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return 0;
        int rc = wake_drain(fd);
        /* Another drainer may have won the race (it should not: one waiter
         * per fd), in which case the poll result was stale: wait again. */
        if (rc != 0) return rc;
    }
}

void wake_close(int fd) {
    if (fd >= 0) close(fd);
}
