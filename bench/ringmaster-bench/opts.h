/* opts: ringmaster-bench's command line, and the INFO text parsing the
 * tool does (library code without hiredis, so the unit test reaches it). */
#ifndef RMB_OPTS_H
#define RMB_OPTS_H

#include <stddef.h>

#define RMB_MAX_REPLICAS 16

typedef struct rmb_addr {
    char host[256];
    int port;
    char name[272]; /* "host:port", the replica's name in every output */
} rmb_addr;

typedef struct rmb_opts {
    rmb_addr master;
    rmb_addr replicas[RMB_MAX_REPLICAS];
    int nrep;
    double rate;     /* ops/s; 0 = closed loop */
    double duration; /* seconds */
    int clients, pipeline, threads, value_size;
    long keyspace;
    int mixed; /* workload: 0 = SET only, 1 = half GET, half SET */
    const char *out;
    const char *password;
    /* TLS, as redis-cli names it: --tls, --cacert, --cacertdir, --cert,
     * --key, --sni, --insecure, --tls-ciphers, --tls-ciphersuites */
    int tls;
    int insecure; /* no verification of the server's certificate */
    const char *cacert, *cacertdir, *cert, *key, *sni, *ciphers, *ciphersuites;
    int full_sync;
    double timeout;   /* seconds a server may take to answer before it counts as unreachable */
    int probe_ms;     /* probe PUBLISH interval */
    int quiet;        /* no progress line */
} rmb_opts;

/* Parse argv into o (defaults first). Returns 0, 1 when --help was asked
 * (usage already printed), or -1 with a message in err. */
int rmb_parse_opts(rmb_opts *o, int argc, char **argv, char *err, size_t errlen);
void rmb_usage(void);
/* "host:port" (a bare "port" means 127.0.0.1) into a; 0 or -1. */
int rmb_parse_addr(rmb_addr *a, const char *s);

/* The value of `field` in an INFO reply, as a long long; `def` when the
 * field is absent or not a number. */
long long rmb_info_ll(const char *info, const char *field, long long def);
/* The value of `field` copied into out (empty when absent); returns out. */
char *rmb_info_str(const char *info, const char *field, char *out, size_t len);

#endif
