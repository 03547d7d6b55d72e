/* tls: see tls.h.
 *
 * The context follows Redis 7.0's tlsConfigure, so the same redis.conf
 * gives the same server: TLSv1.2 and TLSv1.3 unless tls-protocols says
 * otherwise, partial writes and a moving write buffer (a client's reply
 * buffer may grow, and move, between two tries of one SSL_write), no
 * renegotiation, a CA required whenever client certificates are asked
 * for, and the session cache tuned by the tls-session-* directives.
 * Failures are logged with OpenSSL's reason, in Redis's words. */
#include "core/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "core/server.h"
#include "io/tlsio.h"

#define TLS_PROTO_1_0 1
#define TLS_PROTO_1_1 2
#define TLS_PROTO_1_2 4
#define TLS_PROTO_1_3 8
#define TLS_PROTO_DEFAULT (TLS_PROTO_1_2 | TLS_PROTO_1_3)

/* OpenSSL's first queued error as text, the queue then emptied: a stale
 * error must not be blamed on the next connection. */
static void last_error(char *buf, size_t len) {
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
}

/* tls-protocols: a space-separated subset of TLSv1 TLSv1.1 TLSv1.2
 * TLSv1.3; -1 for a word outside it. */
static int parse_protocols(const char *spec) {
    if (!spec || !*spec) return TLS_PROTO_DEFAULT;
    int protos = 0;
    char word[16];
    const char *p = spec;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == 0) break;
        if (n >= sizeof(word)) return -1;
        memcpy(word, p, n);
        word[n] = '\0';
        p += n;
        if (!strcasecmp(word, "tlsv1")) protos |= TLS_PROTO_1_0;
        else if (!strcasecmp(word, "tlsv1.1")) protos |= TLS_PROTO_1_1;
        else if (!strcasecmp(word, "tlsv1.2")) protos |= TLS_PROTO_1_2;
        else if (!strcasecmp(word, "tlsv1.3")) protos |= TLS_PROTO_1_3;
        else return -1;
    }
    return protos ? protos : -1;
}

static long protocol_options(int protos) {
    long opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3;
    if (!(protos & TLS_PROTO_1_0)) opts |= SSL_OP_NO_TLSv1;
    if (!(protos & TLS_PROTO_1_1)) opts |= SSL_OP_NO_TLSv1_1;
    if (!(protos & TLS_PROTO_1_2)) opts |= SSL_OP_NO_TLSv1_2;
    if (!(protos & TLS_PROTO_1_3)) opts |= SSL_OP_NO_TLSv1_3;
    return opts;
}

/* The key file's passphrase, handed to OpenSSL as it decrypts the key. */
static int key_pass_cb(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    const dstr pass = u;
    size_t n = pass ? dstr_len(pass) : 0;
    if (n > (size_t)size) n = (size_t)size;
    if (n) memcpy(buf, pass, n);
    return (int)n;
}

static int load_dh_params(SSL_CTX *ctx, const char *path) {
    if (!path || !*path) {
        SSL_CTX_set_dh_auto(ctx, 1);
        return 0;
    }
    BIO *bio = BIO_new_file(path, "r");
    EVP_PKEY *dh = bio ? PEM_read_bio_Parameters(bio, NULL) : NULL;
    BIO_free(bio);
    if (!dh || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
        char e[256];
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Failed to load %s: %s", path, e);
        EVP_PKEY_free(dh);
        return -1;
    }
    return 0;
}

static void set_session_cache(SSL_CTX *ctx, const config *cfg) {
    if (cfg->tls_session_caching) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, cfg->tls_session_cache_size);
        SSL_CTX_set_timeout(ctx, cfg->tls_session_cache_timeout);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"redis", 5);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
}

/* The certificate a context presents: tls-cert-file's, or for the client
 * context tls-client-cert-file's when that is set, as Redis. */
typedef struct tls_identity {
    const char *cert, *key;
    dstr pass;
} tls_identity;

static tls_identity identity_of(const config *cfg, int client) {
    if (client && cfg->tls_client_cert_file && cfg->tls_client_key_file)
        return (tls_identity){cfg->tls_client_cert_file, cfg->tls_client_key_file,
                              cfg->tls_client_key_file_pass};
    return (tls_identity){cfg->tls_cert_file, cfg->tls_key_file, cfg->tls_key_file_pass};
}

/* Certificate, key and CA: the parts that read files. */
static int load_files(SSL_CTX *ctx, const config *cfg, int client) {
    char e[256];
    tls_identity id = identity_of(cfg, client);
    SSL_CTX_set_default_passwd_cb(ctx, key_pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, id.pass);
    if (SSL_CTX_use_certificate_chain_file(ctx, id.cert) <= 0) {
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Failed to load certificate: %s: %s", id.cert, e);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, id.key, SSL_FILETYPE_PEM) <= 0) {
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Failed to load private key: %s: %s", id.key, e);
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Private key does not match the certificate: %s", e);
        return -1;
    }
    if ((cfg->tls_ca_cert_file || cfg->tls_ca_cert_dir) &&
        SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_cert_file, cfg->tls_ca_cert_dir) <= 0) {
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Failed to configure CA certificate(s) file/directory: %s", e);
        return -1;
    }
    return 0;
}

static int set_ciphers(SSL_CTX *ctx, const config *cfg) {
    if (cfg->tls_ciphers && SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers) != 1) {
        log_msg(LL_WARNING, "Failed to configure ciphers: %s", cfg->tls_ciphers);
        ERR_clear_error();
        return -1;
    }
    if (cfg->tls_ciphersuites && SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites) != 1) {
        log_msg(LL_WARNING, "Failed to configure ciphersuites: %s", cfg->tls_ciphersuites);
        ERR_clear_error();
        return -1;
    }
    if (cfg->tls_prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return 0;
}

static int check_config(const config *cfg, int *protos) {
    if (!cfg->tls_cert_file) {
        log_msg(LL_WARNING, "No tls-cert-file configured!");
        return -1;
    }
    if (!cfg->tls_key_file) {
        log_msg(LL_WARNING, "No tls-key-file configured!");
        return -1;
    }
    if ((cfg->tls_auth_clients != TLS_AUTH_NO || cfg->tls_replication) &&
        !cfg->tls_ca_cert_file && !cfg->tls_ca_cert_dir) {
        log_msg(LL_WARNING, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                            "tls-cluster, tls-replication or tls-auth-clients are enabled!");
        return -1;
    }
    *protos = parse_protocols(cfg->tls_protocols);
    if (*protos < 0) {
        log_msg(LL_WARNING, "Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                            "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
        return -1;
    }
    return 0;
}

/* The server context (client = 0) or the one a replica connects to its
 * master with (client = 1), which always verifies the master's
 * certificate. */
static SSL_CTX *build_context(const config *cfg, int client) {
    int protos;
    if (check_config(cfg, &protos) < 0) return NULL;
    SSL_CTX *ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
    if (!ctx) return NULL;
    if (client) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_options(ctx, protocol_options(protos) | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_SINGLE_DH_USE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!client) set_session_cache(ctx, cfg);
    if (load_files(ctx, cfg, client) < 0 || load_dh_params(ctx, cfg->tls_dh_params_file) < 0 ||
        set_ciphers(ctx, cfg) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* The passphrase callback must not outlive this configuration's dstr:
     * the key is already decrypted. */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return ctx;
}

int tls_configure(server *s) {
    SSL_CTX *ctx = build_context(&s->cfg, 0);
    if (!ctx) return -1;
    SSL_CTX *cctx = build_context(&s->cfg, 1);
    if (!cctx) {
        SSL_CTX_free(ctx);
        return -1;
    }
    if (!s->tls_ctx)
        log_msg(LL_NOTICE, "TLS replication links are encrypted on the I/O threads in user "
                           "space (kernel TLS %s)",
                tlsio_ktls_available() ? "is offered but not used" : "is not offered here");
    tls_release(s);
    s->tls_ctx = ctx;
    s->tls_client_ctx = cctx;
    return 0;
}

void tls_release(server *s) {
    /* A connection in progress on an I/O thread holds its own reference. */
    SSL_CTX_free(s->tls_ctx);
    SSL_CTX_free(s->tls_client_ctx);
    s->tls_ctx = s->tls_client_ctx = NULL;
}

struct ssl_ctx_st *tls_client_context(server *s, const char **why) {
    if (!s->tls_client_ctx) {
        *why = "TLS is not configured";
        return NULL;
    }
    if (SSL_CTX_up_ref(s->tls_client_ctx) != 1) {
        *why = "no reference to it could be taken";
        return NULL;
    }
    return s->tls_client_ctx;
}

void tls_context_unref(struct ssl_ctx_st *ctx) { SSL_CTX_free(ctx); }

int tls_enabled(const server *s) { return s->tls_ctx != NULL; }

SSL *tls_conn_new(server *s, int fd) {
    if (!s->tls_ctx) return NULL;
    ERR_clear_error();
    SSL *ssl = SSL_new(s->tls_ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        char e[256];
        last_error(e, sizeof(e));
        log_msg(LL_WARNING, "Error creating a TLS connection: %s", e);
        SSL_free(ssl);
        return NULL;
    }
    /* Read now, per connection, so CONFIG SET tls-auth-clients applies to
     * the next client without rebuilding the context. */
    int mode = SSL_VERIFY_NONE;
    if (s->cfg.tls_auth_clients == TLS_AUTH_YES)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (s->cfg.tls_auth_clients == TLS_AUTH_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    SSL_set_verify(ssl, mode, NULL);
    SSL_set_accept_state(ssl);
    return ssl;
}

void tls_conn_free(SSL *ssl, int handshake_done) {
    if (!ssl) return;
    if (handshake_done) SSL_shutdown(ssl); /* close_notify, if the socket takes it */
    SSL_free(ssl);
    ERR_clear_error();
}

/* Sort an SSL call's failure: 0 for a wait (*want set), else -1 with
 * errno set and, when err is given, the reason there. */
static int classify(SSL *ssl, int rc, int *want, char *err, size_t errlen) {
    int saved = errno;
    int code = SSL_get_error(ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        *want = code == SSL_ERROR_WANT_READ ? TLS_WANT_READ : TLS_WANT_WRITE;
        errno = EAGAIN;
        return 0;
    }
    char e[256];
    if (code == SSL_ERROR_SYSCALL && !ERR_peek_error())
        snprintf(e, sizeof(e), "%s", saved ? strerror(saved) : "Connection closed by peer");
    else if (code == SSL_ERROR_ZERO_RETURN)
        snprintf(e, sizeof(e), "Connection closed by peer");
    else
        last_error(e, sizeof(e));
    ERR_clear_error();
    if (err) snprintf(err, errlen, "%s", e);
    errno = code == SSL_ERROR_SYSCALL && saved ? saved : EIO;
    return -1;
}

int tls_handshake(SSL *ssl, int *want, char *err, size_t errlen) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) return 1;
    return classify(ssl, rc, want, err, errlen);
}

ssize_t tls_read(SSL *ssl, void *buf, size_t len, int *want) {
    ERR_clear_error();
    int n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) return n;
    /* close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a peer that just
     * closed the socket, as a plain connection would. */
    if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) return 0;
    classify(ssl, n, want, NULL, 0);
    return -1;
}

ssize_t tls_write(SSL *ssl, const void *buf, size_t len, int *want) {
    ERR_clear_error();
    int n = SSL_write(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) return n;
    classify(ssl, n, want, NULL, 0);
    return -1;
}

size_t tls_pending(SSL *ssl) { return (size_t)SSL_pending(ssl); }
