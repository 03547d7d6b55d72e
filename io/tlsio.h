/* tlsio: a TLS connection whose socket I/O is io_uring's.
 *
 * OpenSSL never touches the socket here. Its BIO is a pair of memory
 * buffers this module owns: ciphertext the ring received waits in `in`
 * for SSL_read, and every byte SSL_write (or the handshake, or an alert)
 * produces lands in `out`, from which a SEND takes it. So an I/O thread
 * keeps one ring for everything, a TLS link is driven by the same
 * completions as a plain one, and nothing blocks.
 *
 * The verbs mirror ring_prep_send / ring_prep_recv, so a state machine
 * swaps one for the other where it has a TLS link:
 *
 *   tlsio_send      encrypts plaintext (one or several buffers, read in
 *                   place: the cipher reads the caller's bytes and writes
 *                   its output straight into `out`) and completes once the
 *                   ciphertext has gone to the socket, with the number of
 *                   plaintext bytes taken (possibly fewer than offered: at
 *                   most TLSIO_SEND_MAX per call, so `out` stays small), or
 *                   -errno.
 *   tlsio_recv      completes with plaintext bytes (> 0), 0 when the peer
 *                   closed, or -errno: a failed recv (-ECONNRESET) stays
 *                   an error even though OpenSSL, told to ignore an
 *                   unexpected EOF, sees it as an end. Plaintext already
 *                   decrypted or
 *                   ciphertext already received is delivered without a
 *                   recv, through a NOP, so the completion always comes
 *                   from the ring and never re-enters the caller.
 *   tlsio_handshake completes with 0 once the handshake is done, or
 *                   -EPROTO (tlsio_error says why: certificate verify
 *                   failed, wrong version number...), or -ECONNRESET when
 *                   the peer hung up first, or the recv's -errno (both
 *                   with a tlsio_error line too).
 *
 * The caller's ring_req never reaches the kernel: it is marked busy from
 * the verb to its completion, and its done callback runs from the
 * completion of one of this module's own requests. Those own requests
 * (one send, one recv) address the caller's socket, so ring_prep_cancel_fd
 * on it cancels them too and the caller's request completes with the
 * error. One send and one recv (or handshake) may be pending at a time.
 *
 * Closing, and why there is no tlsio_abort: a caller ends a session with
 * shutdown(fd, SHUT_RDWR) and then ring_prep_cancel_fd(fd), in that order
 * (replica_link.c link_close, replica_conn.c rconn_close). The cancel
 * misses two things: the input NOP, which addresses no fd, and any
 * request this module arms after the cancel ran (the NOP's step, or a
 * SEND flushing what that step wrote). Neither can hang: the NOP completes
 * on the ring's next pass by itself, and every request armed after it
 * addresses a socket already shut down both ways, so its RECV completes
 * at once (with bytes already queued, then 0) and its SEND with -EPIPE.
 * The caller's request then completes (an end, or the error), and
 * tlsio_busy falls within a pass or two. A caller that skipped the
 * shutdown could wait on such a RECV for as long as the peer stays
 * silent: the shutdown is what makes the cancel complete, not an option.
 *
 * Ciphertext goes out with plain SENDs: the bytes are the cipher's fresh
 * output, not pages that could be lent to the kernel, so zero-copy would
 * only add a notification to wait for. Where the kernel offers kernel TLS
 * the socket could encrypt instead and SPLICE/SEND_ZC would work again;
 * these machines' kernels do not (`tls` is missing from
 * /proc/sys/net/ipv4/tcp_available_ulp), and a session driven through
 * memory buffers cannot hand its keys to the kernel anyway: kernel TLS is
 * not used, and tlsio_ktls_available() only lets the startup log say
 * whether the kernel would have offered it.
 *
 * A tlsio and its SSL live on one thread at a time: the one whose ring
 * drives it. */
#ifndef RM_IO_TLSIO_H
#define RM_IO_TLSIO_H

#include <stddef.h>
#include <sys/uio.h>

#include "io/ring.h"

struct ssl_st;

#define TLSIO_SEND_MAX (256 * 1024) /* plaintext one tlsio_send takes at most */

typedef struct tlsio tlsio;

/* Wrap ssl (its handshake done or not), which the tlsio now owns: its
 * BIOs are replaced by the tlsio's buffers. Plaintext the SSL already
 * holds (SSL_pending) is the first thing tlsio_recv delivers. NULL on
 * allocation failure (ssl is then freed). */
tlsio *tlsio_new(struct ssl_st *ssl);
/* Free it and its SSL. Only once tlsio_busy() is 0. */
void tlsio_free(tlsio *t);
/* One of its own requests is in flight. */
int tlsio_busy(const tlsio *t);

int tlsio_send(ring *r, tlsio *t, ring_req *req, int fd, const struct iovec *iov, int niov);
int tlsio_recv(ring *r, tlsio *t, ring_req *req, int fd, void *buf, size_t len);
int tlsio_handshake(ring *r, tlsio *t, ring_req *req, int fd);

/* cb(arg) runs when one of its own requests completes without completing
 * a caller's (a flush nobody waits for): a caller that waits for
 * tlsio_busy() to fall before freeing it checks again there. */
void tlsio_set_idle_cb(tlsio *t, void (*cb)(void *), void *arg);

/* Why the last failure happened (OpenSSL's reason), "" if none. */
const char *tlsio_error(const tlsio *t);

/* Whether this kernel offers kernel TLS (the `tls` ULP). */
int tlsio_ktls_available(void);

#endif
