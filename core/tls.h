/* tls: OpenSSL for client connections on the keyspace thread.
 *
 * The server context (SSL_CTX) is built from the tls-* directives at
 * startup when tls-port is set, and rebuilt when CONFIG SET changes one
 * of them; a context that fails to build leaves the current one in place,
 * so connections keep being accepted with the old certificate, as Redis
 * does. Existing connections keep the context they were created with
 * (OpenSSL counts references).
 *
 * Each connection's SSL runs over the client's non-blocking socket. Every
 * call here returns at once: what OpenSSL wants next (to read or to
 * write) is handed back so that the caller's epoll interest can follow
 * it, and one client stuck in a handshake never stalls another.
 *
 * The replication link is encrypted on the I/O threads (io/tlsio.h): a
 * replica on tls-port hands its session over with its socket, and a
 * replica with tls-replication connects to its master with the client
 * context built here next to the server's. */
#ifndef RM_TLS_H
#define RM_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct server;
struct ssl_st;
struct ssl_ctx_st;

/* Build a context from the server's tls-* directives and make it the one
 * new connections use. 0, or -1 with the reason logged and the previous
 * context (if any) kept. */
int tls_configure(struct server *s);
/* Drop the context (server_free). */
void tls_release(struct server *s);
/* Whether a context exists (tls-port or tls-replication at startup, or
 * tls-replication set since). */
int tls_enabled(const struct server *s);
/* The context a replica connects to its master with, with a reference the
 * caller owns (any thread may drop it with tls_context_unref); NULL when
 * TLS is not configured or no reference could be taken, with *why saying
 * which. */
struct ssl_ctx_st *tls_client_context(struct server *s, const char **why);
void tls_context_unref(struct ssl_ctx_st *ctx);

/* A server-side SSL for accepted socket fd, with the peer verification
 * tls-auth-clients asks for now. NULL on failure (logged). */
struct ssl_st *tls_conn_new(struct server *s, int fd);
/* Free the SSL; a connection whose handshake finished first gets a
 * close_notify (one attempt, never waited for). */
void tls_conn_free(struct ssl_st *ssl, int handshake_done);

/* What a call that could not finish needs before it is retried. */
enum { TLS_WANT_READ = 1, TLS_WANT_WRITE = 2 };

/* Advance the handshake: 1 when done, 0 while it waits (*want says for
 * what), -1 when it failed (err holds OpenSSL's reason). */
int tls_handshake(struct ssl_st *ssl, int *want, char *err, size_t errlen);
/* As read(2)/write(2) on the socket: bytes moved (> 0); for a read, 0 when
 * the peer closed; -1 with errno EAGAIN while OpenSSL waits (*want says
 * for what), or another errno on failure. */
ssize_t tls_read(struct ssl_st *ssl, void *buf, size_t len, int *want);
ssize_t tls_write(struct ssl_st *ssl, const void *buf, size_t len, int *want);
/* Plaintext OpenSSL decrypted and holds, which no epoll event will
 * announce: the reader must take it before waiting again. */
size_t tls_pending(struct ssl_st *ssl);

#endif
