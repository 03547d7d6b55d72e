/* wake: eventfd wake-ups between threads.
 *
 * A wake fd is an eventfd (non-blocking, close-on-exec) that one thread
 * signals and another waits on. The waiter can be:
 *   - an io_uring thread: it arms a read of 8 bytes on the fd in its ring
 *     (ring_prep_read); the read completes, draining the counter, when the fd
 *     is signalled, and the thread re-arms it from the completion callback;
 *   - an epoll thread (the keyspace thread): it registers the fd for EPOLLIN
 *     and calls wake_drain when it fires;
 *   - a plain thread (tests, start-up handshakes): wake_wait.
 *
 * The counter is sticky: a signal sent before the waiter blocks is not lost,
 * and several signals before a drain collapse into one wake-up. A wake-up
 * carries no data; the data travels through an spsc ring, and the waiter must
 * drain the fd before looking at the ring, never after (draining after could
 * swallow a signal that belongs to a message it has not seen).
 *
 * Errors are returned as negative errno values. */
#ifndef RM_IO_WAKE_H
#define RM_IO_WAKE_H

/* A new wake fd, or -errno. */
int wake_open(void);
/* Add one to the counter. Returns 0 or -errno. A saturated counter (EAGAIN)
 * already means "wake up" and counts as success. */
int wake_signal(int fd);
/* Reset the counter. Returns 1 if it was signalled, 0 if not, or -errno. */
int wake_drain(int fd);
/* Block until signalled or timeout_ms elapses (-1: forever), then drain.
 * Returns 1 if woken by a signal, 0 on timeout, or -errno. */
int wake_wait(int fd, int timeout_ms);
void wake_close(int fd);

#endif
