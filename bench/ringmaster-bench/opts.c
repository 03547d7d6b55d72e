/* opts: see opts.h. */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rmb_usage(void) {
    fputs(
        "usage: ringmaster-bench --master HOST:PORT --replica HOST:PORT [--replica ...]\n"
        "                        [--rate OPS] [--duration SEC] [--clients N] [--pipeline P]\n"
        "                        [--threads T] [--value-size B] [--keyspace N]\n"
        "                        [--workload set|mixed] [--out DIR] [--password PW]\n"
        "                        [--full-sync] [--probe-interval MS] [--timeout SEC] [--quiet]\n"
        "                        [--tls [--cacert FILE] [--cacertdir DIR] [--cert FILE --key FILE]\n"
        "                         [--sni NAME] [--insecure] [--tls-ciphers L] [--tls-ciphersuites L]]\n"
        "\n"
        "Loads the master and measures each replica's lag every 100 ms: in bytes\n"
        "(master_repl_offset minus the replica's applied offset) and in ms (a PUBLISH\n"
        "probe on the master, received by a SUBSCRIBE on each replica).\n"
        "  --rate OPS        open loop at OPS requests/s (latency from the intended send\n"
        "                    time); 0 or absent: closed loop, --pipeline per connection\n"
        "  --duration SEC    length of the load (default 10)\n"
        "  --clients N       connections to the master (default 8)\n"
        "  --pipeline P      closed loop: requests in flight per connection (default 16)\n"
        "  --threads T       load threads (default: 1, more above 150000 ops/s)\n"
        "  --value-size B    SET value size (default 64); --keyspace N keys (default 100000)\n"
        "  --workload W      set (default) or mixed (half GET, half SET)\n"
        "  --out DIR         where samples.csv, lag.svg and summary.json go\n"
        "                    (default ringmaster-bench-out)\n"
        "  --full-sync       one second in, make the first replica full-sync again (drop\n"
        "                    and re-attach it, or attach it if it is no replica yet) and\n"
        "                    report the sync time, the master's peak memory and the stream\n"
        "  --probe-interval  ms between probe PUBLISHes (10..100, default 10)\n"
        "  --timeout SEC     a server silent this long is unreachable (default 5)\n"
        "  --tls             every connection over TLS (the servers' tls-port), with:\n"
        "  --cacert FILE     CA certificate file to verify with\n"
        "  --cacertdir DIR   directory where trusted CA certificates are stored; with\n"
        "                    neither, the system-wide trusted roots apply\n"
        "  --cert FILE       client certificate to authenticate with (needs --key)\n"
        "  --key FILE        private key file to authenticate with\n"
        "  --sni NAME        server name indication\n"
        "  --insecure        skip the verification of the servers' certificates\n"
        "  --tls-ciphers L / --tls-ciphersuites L  ciphers (TLSv1.2) / suites (TLSv1.3)\n"
        "                    in order of preference, separated by ':'\n"
        "Exit status: 0 on success, 2 when the master cannot be reached, 3 when a\n"
        "replica could not be reached (at the start or during the run), 1 on usage errors\n"
        "(a TLS file OpenSSL cannot use among them).\n",
        stdout);
}

int rmb_parse_addr(rmb_addr *a, const char *s) {
    const char *colon = strrchr(s, ':');
    const char *port = colon ? colon + 1 : s;
    size_t hlen = colon ? (size_t)(colon - s) : 0;
    if (hlen >= sizeof(a->host)) return -1;
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (errno || *end || end == port || p <= 0 || p > 65535) return -1;
    if (hlen) {
        memcpy(a->host, s, hlen);
        a->host[hlen] = '\0';
    } else {
        strcpy(a->host, "127.0.0.1");
    }
    a->port = (int)p;
    snprintf(a->name, sizeof(a->name), "%s:%d", a->host, a->port);
    return 0;
}

static int number(const char *s, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < min || v > max) return -1;
    *out = v;
    return 0;
}

enum { O_MASTER = 256, O_REPLICA, O_RATE, O_DURATION, O_CLIENTS, O_PIPELINE, O_THREADS,
       O_VALUE, O_KEYSPACE, O_WORKLOAD, O_OUT, O_PASSWORD, O_TLS, O_FULLSYNC, O_PROBE,
       O_TIMEOUT, O_QUIET, O_HELP, O_CACERT, O_CACERTDIR, O_CERT, O_KEY, O_SNI, O_INSECURE,
       O_CIPHERS, O_CIPHERSUITES };

static const struct option long_opts[] = {
    {"master", required_argument, 0, O_MASTER},     {"replica", required_argument, 0, O_REPLICA},
    {"rate", required_argument, 0, O_RATE},         {"duration", required_argument, 0, O_DURATION},
    {"clients", required_argument, 0, O_CLIENTS},   {"pipeline", required_argument, 0, O_PIPELINE},
    {"threads", required_argument, 0, O_THREADS},   {"value-size", required_argument, 0, O_VALUE},
    {"keyspace", required_argument, 0, O_KEYSPACE}, {"workload", required_argument, 0, O_WORKLOAD},
    {"out", required_argument, 0, O_OUT},           {"password", required_argument, 0, O_PASSWORD},
    {"tls", no_argument, 0, O_TLS},                 {"full-sync", no_argument, 0, O_FULLSYNC},
    {"probe-interval", required_argument, 0, O_PROBE},
    {"timeout", required_argument, 0, O_TIMEOUT},   {"quiet", no_argument, 0, O_QUIET},
    {"help", no_argument, 0, O_HELP},               {"cacert", required_argument, 0, O_CACERT},
    {"cacertdir", required_argument, 0, O_CACERTDIR}, {"cert", required_argument, 0, O_CERT},
    {"key", required_argument, 0, O_KEY},           {"sni", required_argument, 0, O_SNI},
    {"insecure", no_argument, 0, O_INSECURE},       {"tls-ciphers", required_argument, 0, O_CIPHERS},
    {"tls-ciphersuites", required_argument, 0, O_CIPHERSUITES},
    {0, 0, 0, 0}};

/* The numeric options: where each goes and its bounds. */
typedef struct numopt {
    int id;
    double min, max;
    double *d;
    int *i;
    long *l;
} numopt;

static int set_number(rmb_opts *o, int id, const char *arg) {
    double d;
    numopt table[] = {
        {O_RATE, 0, 1e8, &o->rate, NULL, NULL},
        {O_DURATION, 0.1, 86400, &o->duration, NULL, NULL},
        {O_TIMEOUT, 0.1, 3600, &o->timeout, NULL, NULL},
        {O_CLIENTS, 1, 10000, NULL, &o->clients, NULL},
        {O_PIPELINE, 1, 100000, NULL, &o->pipeline, NULL},
        {O_THREADS, 1, 256, NULL, &o->threads, NULL},
        {O_VALUE, 0, 512 << 20, NULL, &o->value_size, NULL},
        {O_PROBE, 10, 100, NULL, &o->probe_ms, NULL},
        {O_KEYSPACE, 1, 1e12, NULL, NULL, &o->keyspace},
    };
    for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
        if (table[k].id != id) continue;
        if (number(arg, table[k].min, table[k].max, &d) < 0) return -1;
        if (table[k].d) *table[k].d = d;
        if (table[k].i) *table[k].i = (int)d;
        if (table[k].l) *table[k].l = (long)d;
        return 0;
    }
    return -1;
}

static void defaults(rmb_opts *o) {
    memset(o, 0, sizeof(*o));
    o->duration = 10;
    o->clients = 8;
    o->pipeline = 16;
    o->value_size = 64;
    o->keyspace = 100000;
    o->out = "ringmaster-bench-out";
    o->timeout = 5;
    o->probe_ms = 10;
}

static int one_opt(rmb_opts *o, int c, const char *arg, char *err, size_t errlen) {
    switch (c) {
    case O_MASTER:
        if (rmb_parse_addr(&o->master, arg) == 0) return 0;
        snprintf(err, errlen, "--master wants HOST:PORT, not '%s'", arg);
        return -1;
    case O_REPLICA:
        if (o->nrep == RMB_MAX_REPLICAS) {
            snprintf(err, errlen, "at most %d replicas", RMB_MAX_REPLICAS);
            return -1;
        }
        if (rmb_parse_addr(&o->replicas[o->nrep], arg) == 0) {
            o->nrep++;
            return 0;
        }
        snprintf(err, errlen, "--replica wants HOST:PORT, not '%s'", arg);
        return -1;
    case O_WORKLOAD:
        if (strcmp(arg, "set") && strcmp(arg, "mixed")) {
            snprintf(err, errlen, "--workload is set or mixed, not '%s'", arg);
            return -1;
        }
        o->mixed = strcmp(arg, "mixed") == 0;
        return 0;
    case O_OUT: o->out = arg; return 0;
    case O_PASSWORD: o->password = arg; return 0;
    case O_TLS: o->tls = 1; return 0;
    case O_INSECURE: o->insecure = 1; return 0;
    case O_CACERT: o->cacert = arg; return 0;
    case O_CACERTDIR: o->cacertdir = arg; return 0;
    case O_CERT: o->cert = arg; return 0;
    case O_KEY: o->key = arg; return 0;
    case O_SNI: o->sni = arg; return 0;
    case O_CIPHERS: o->ciphers = arg; return 0;
    case O_CIPHERSUITES: o->ciphersuites = arg; return 0;
    case O_FULLSYNC: o->full_sync = 1; return 0;
    case O_QUIET: o->quiet = 1; return 0;
    default:
        if (set_number(o, c, arg) == 0) return 0;
        snprintf(err, errlen, "bad value '%s' for an option (see --help for the ranges)", arg);
        return -1;
    }
}

/* The TLS options make sense only together with --tls, and a client
 * certificate only with its key. The files themselves are checked when
 * OpenSSL loads them (conn.c), with its reason. */
static int check_tls(const rmb_opts *o, char *err, size_t errlen) {
    const char *names[] = {"--cacert", "--cacertdir", "--cert", "--key", "--sni",
                           "--tls-ciphers", "--tls-ciphersuites"};
    const char *values[] = {o->cacert, o->cacertdir, o->cert, o->key, o->sni,
                            o->ciphers, o->ciphersuites};
    for (size_t k = 0; !o->tls && k < sizeof(names) / sizeof(names[0]); k++) {
        if (values[k]) {
            snprintf(err, errlen, "%s needs --tls", names[k]);
            return -1;
        }
    }
    if (!o->tls && o->insecure) {
        snprintf(err, errlen, "--insecure needs --tls");
        return -1;
    }
    if (!o->cert != !o->key) {
        snprintf(err, errlen, "--cert and --key go together (%s is missing)",
                 o->cert ? "--key" : "--cert");
        return -1;
    }
    return 0;
}

int rmb_parse_opts(rmb_opts *o, int argc, char **argv, char *err, size_t errlen) {
    defaults(o);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            rmb_usage();
            return 1;
        }
        if (c == '?') {
            snprintf(err, errlen, "unknown option or missing value: %s", argv[optind - 1]);
            return -1;
        }
        if (one_opt(o, c, optarg, err, errlen) < 0) return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (check_tls(o, err, errlen) < 0) return -1;
    if (!o->master.port || !o->nrep) {
        snprintf(err, errlen, "--master and at least one --replica are required");
        return -1;
    }
    if (!o->threads) o->threads = o->rate > 150000 ? (int)(o->rate / 150000) + 1 : 1;
    if (o->threads > o->clients) o->threads = o->clients;
    return 0;
}

static const char *info_find(const char *info, const char *field) {
    size_t flen = strlen(field);
    for (const char *p = info; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, field, flen) == 0 && p[flen] == ':') return p + flen + 1;
    }
    return NULL;
}

long long rmb_info_ll(const char *info, const char *field, long long def) {
    const char *v = info_find(info, field);
    if (!v) return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    return end == v ? def : n;
}

char *rmb_info_str(const char *info, const char *field, char *out, size_t len) {
    const char *v = info_find(info, field);
    size_t n = 0;
    while (v && v[n] && v[n] != '\r' && v[n] != '\n' && n + 1 < len) n++;
    if (v) memcpy(out, v, n);
    out[n] = '\0';
    return out;
}
