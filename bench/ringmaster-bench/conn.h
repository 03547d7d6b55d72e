/* conn: one RESP connection of ringmaster-bench, over TCP or TLS.
 *
 * Debian 12's hiredis (0.14) has no TLS and no pluggable I/O, so the bench
 * keeps its own connection and borrows only hiredis's protocol halves:
 * redisvFormatCommand encodes a command into the output buffer, and a
 * redisReader parses what comes back. The socket is always non-blocking;
 * the poll loops (load.c, probe.c) drive it with rmb_conn_events /
 * rmb_conn_ready / rmb_conn_flush / rmb_conn_read, and rmb_conn_command
 * is the blocking request-reply the other threads use, each wait bounded
 * by the connection's timeout.
 *
 * Over plain TCP every call maps to the syscalls hiredis made (one write
 * of the whole output buffer per flush, one 16 KB read per read, TCP_NODELAY
 * on connect), so numbers match the hiredis-based tool. Over TLS:
 *   - the handshake runs inside rmb_conn_open, polling for what
 *     SSL_get_error asks, and a certificate that does not verify fails it
 *     with OpenSSL's reason ("certificate verify failed: unable to get
 *     local issuer certificate");
 *   - SSL_write may want the socket readable and SSL_read writable (a
 *     key update, a TLS 1.2 renegotiation): each remembers what it waits
 *     for, rmb_conn_events polls for that, and rmb_conn_ready says which
 *     of the two to retry;
 *   - a read goes on until OpenSSL has nothing left (SSL_ERROR_WANT_READ),
 *     so no plaintext stays in OpenSSL where poll cannot see it, and
 *     rmb_conn_ready reports a connection with SSL_pending bytes readable
 *     whatever poll said;
 *   - SSL_MODE_ENABLE_PARTIAL_WRITE and ACCEPT_MOVING_WRITE_BUFFER let a
 *     write that blocked be retried on an output buffer that has grown
 *     (appends only add at the end, so the bytes OpenSSL saw stay first);
 *     as SSL_write then returns after each record, a flush calls it until
 *     the socket is full, which is what one plain write() does;
 *   - a server that refuses the client after the handshake (TLS 1.3 and a
 *     missing client certificate) sends an alert and closes: the write
 *     that meets the reset reads once more, so the error is the alert's
 *     ("tlsv13 alert certificate required"), not "Connection reset".
 *
 * As redis-cli does, the server's certificate chain is verified against
 * --cacert/--cacertdir (or the system's roots); the host name is not
 * matched against it. A connection belongs to one thread at a time. */
#ifndef RMB_CONN_H
#define RMB_CONN_H

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>
#include <stddef.h>

#include "opts.h"

typedef struct rmb_conn rmb_conn;

/* rmb_conn_ready's answer: what to call now. */
#define RMB_CONN_READ 1
#define RMB_CONN_WRITE 2

/* The client TLS context of a run (--cacert, --cert, --insecure ...);
 * NULL with err filled, naming the file and OpenSSL's reason. */
SSL_CTX *rmb_tls_context(const rmb_opts *o, char *err, size_t len);

/* Connect to a (TLS when tls is not NULL, sending sni when set), each
 * wait bounded by timeout seconds; NULL with err filled. */
rmb_conn *rmb_conn_open(const rmb_addr *a, SSL_CTX *tls, const char *sni, double timeout,
                        char *err, size_t len);
void rmb_conn_close(rmb_conn *c);
int rmb_conn_fd(const rmb_conn *c);
/* Why the last call failed. */
const char *rmb_conn_error(const rmb_conn *c);

/* Queue one command (hiredis's format: %s, %b with a length, %d ...);
 * its length in bytes, or -1. */
int rmb_conn_append(rmb_conn *c, const char *fmt, ...);
/* Bytes queued and not yet written. */
size_t rmb_conn_unsent(const rmb_conn *c);
/* Write what the socket takes now: 1 when nothing is left, 0 when some
 * is, -1 on an error. */
int rmb_conn_flush(rmb_conn *c);
/* Read what has arrived into the reply parser: 0, or -1 on an error or
 * when the server closed the connection. */
int rmb_conn_read(rmb_conn *c);
/* The next parsed reply (freeReplyObject it), *reply NULL when none is
 * complete yet; -1 on a protocol error. */
int rmb_conn_reply(rmb_conn *c, redisReply **reply);

/* The poll events to wait for, given whether replies are expected. */
short rmb_conn_events(const rmb_conn *c, int want_read);
/* After poll: RMB_CONN_READ and/or RMB_CONN_WRITE for what can progress. */
int rmb_conn_ready(const rmb_conn *c, short revents);
/* OpenSSL holds plaintext already: poll must not sleep. */
int rmb_conn_buffered(const rmb_conn *c);

/* Send one command and wait for its reply; NULL on an error or a timeout
 * (rmb_conn_error says which). */
redisReply *rmb_conn_command(rmb_conn *c, const char *fmt, ...);

#endif
