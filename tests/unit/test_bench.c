/* test_bench: the parts of ringmaster-bench that do no I/O (the rmbench
 * library): the histogram's bucket arithmetic and percentiles, the
 * open-loop schedule (its rate, its even spacing across threads, and that
 * a stall is caught up with intended times kept), the CSV and SVG writers,
 * and the option (TLS ones included) and INFO parsing. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "opts.h"
#include "report.h"
#include "schedule.h"

START_TEST(test_hist_buckets_contiguous) {
    /* Every value falls in a bucket whose high end is >= it, and bucket
     * indexes never go back: the layout has no holes or overlaps. */
    int last = -1;
    for (uint64_t v = 0; v < 200000; v += 1 + v / 50) {
        int i = rmb_hist_index(v);
        ck_assert_int_ge(i, last);
        ck_assert_uint_ge(rmb_hist_bucket_high(i), v);
        if (i > 0) ck_assert_uint_lt(rmb_hist_bucket_high(i - 1), v);
        last = i;
    }
    ck_assert_int_lt(rmb_hist_index(UINT64_MAX), RMB_HIST_BUCKETS);
}
END_TEST

START_TEST(test_hist_percentiles) {
    rmb_hist h;
    rmb_hist_init(&h);
    ck_assert_uint_eq(rmb_hist_percentile(&h, 50), 0);
    for (uint64_t v = 1; v <= 100000; v++) rmb_hist_record(&h, v * 1000); /* 1 us .. 100 ms */
    ck_assert_uint_eq(h.count, 100000);
    double want[][2] = {{50, 50e6}, {99, 99e6}, {99.9, 99.9e6}};
    for (int k = 0; k < 3; k++) {
        double got = (double)rmb_hist_percentile(&h, want[k][0]);
        ck_assert_msg(fabs(got - want[k][1]) / want[k][1] < 0.01, "p%g = %g, want %g", want[k][0],
                      got, want[k][1]);
    }
    ck_assert_uint_eq(rmb_hist_percentile(&h, 100), 100000000);
    ck_assert_uint_eq(h.min, 1000);
    ck_assert(fabs(rmb_hist_mean(&h) - 50000500.0) < 1);
}
END_TEST

START_TEST(test_hist_exact_small_and_merge) {
    rmb_hist a, b;
    rmb_hist_init(&a);
    rmb_hist_init(&b);
    for (int i = 0; i < 100; i++) rmb_hist_record(&a, 7);
    rmb_hist_record(&b, 1u << 30);
    rmb_hist_merge(&a, &b);
    ck_assert_uint_eq(a.count, 101);
    ck_assert_uint_eq(rmb_hist_percentile(&a, 50), 7);
    ck_assert_uint_eq(rmb_hist_percentile(&a, 99), 7);
    ck_assert_uint_eq(rmb_hist_percentile(&a, 99.9), 1u << 30); /* never above the max */
    ck_assert_uint_eq(a.max, 1u << 30);
}
END_TEST

START_TEST(test_sched_rate_and_spacing) {
    /* 3 threads sharing 1000 ops/s for 2 s: 2000 ops in all, and merged
     * they are evenly 1 ms apart. */
    rmb_sched s[3];
    uint64_t total = 0;
    for (int i = 0; i < 3; i++) {
        rmb_sched_init(&s[i], 1000000000, 1000, 2.0, 3, i);
        total += s[i].limit;
    }
    ck_assert_uint_eq(total, 2000);
    for (uint64_t k = 0; k < 600; k++) {
        int i = (int)(k % 3);
        ck_assert_uint_eq(rmb_sched_next(&s[i]), 1000000000 + k * 1000000);
        rmb_sched_take(&s[i]);
    }
}
END_TEST

START_TEST(test_sched_catches_up_after_stall) {
    rmb_sched s;
    rmb_sched_init(&s, 0, 10000, 1.0, 1, 0); /* one op every 100 us */
    ck_assert_uint_eq(rmb_sched_due(&s, 0), 1);
    ck_assert_uint_eq(rmb_sched_take(&s), 0);
    ck_assert_uint_eq(rmb_sched_due(&s, 99999), 0);
    /* A 50 ms stall: the 500 ops due meanwhile are all due now, each
     * keeping its own intended time (what its latency is measured from). */
    ck_assert_uint_eq(rmb_sched_due(&s, 50000000), 500);
    for (uint64_t k = 1; k <= 500; k++) ck_assert_uint_eq(rmb_sched_take(&s), k * 100000);
    ck_assert_uint_eq(rmb_sched_due(&s, 50000000), 0);
    /* The schedule ends at rate * seconds, however late it is asked. */
    ck_assert_uint_eq(rmb_sched_due(&s, 10000000000ull), 10000 - 501);
    while (!rmb_sched_done(&s)) rmb_sched_take(&s);
    ck_assert_uint_eq(rmb_sched_next(&s), UINT64_MAX);
    ck_assert_uint_eq(rmb_sched_due(&s, 20000000000ull), 0);
}
END_TEST

static void two_replicas(rmb_samples *s) {
    const char *names[] = {"127.0.0.1:7001", "h<&>:7002"};
    rmb_samples_init(s, 2, names);
    for (int i = 0; i < 50; i++) {
        int64_t b[2] = {i * 1000, i == 20 ? RMB_UNKNOWN_BYTES : 5};
        double ms[2] = {i * 0.5, i == 20 ? -1 : 0.25};
        rmb_samples_add(s, 0.1 * (i + 1), b, ms);
    }
}

static char *written(int (*fn)(FILE *, const rmb_samples *, const char *), const rmb_samples *s,
                     const char *title) {
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(fn(f, s, title), 0);
    fclose(f);
    return buf;
}

static int csv_write(FILE *f, const rmb_samples *s, const char *title) {
    (void)title;
    return rmb_csv_write(f, s);
}

START_TEST(test_csv_rows) {
    rmb_samples s;
    two_replicas(&s);
    char *csv = written(csv_write, &s, NULL);
    int lines = 0;
    for (char *p = csv; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 51);
    ck_assert(strncmp(csv, "time_s,127.0.0.1:7001_lag_bytes,127.0.0.1:7001_lag_ms,"
                           "h<&>:7002_lag_bytes,h<&>:7002_lag_ms\n0.100,0,0.000,5,0.250\n", 96) == 0);
    ck_assert_ptr_nonnull(strstr(csv, "\n2.100,20000,10.000,,\n")); /* unknown: empty */
    free(csv);
    rmb_samples_free(&s);
}
END_TEST

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

START_TEST(test_svg_complete) {
    rmb_samples s;
    two_replicas(&s);
    char *svg = written(rmb_svg_write, &s, "lag <test>");
    ck_assert(strncmp(svg, "<svg ", 5) == 0);
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    ck_assert_ptr_nonnull(strstr(svg, "lag &lt;test&gt;"));  /* title, escaped */
    ck_assert_ptr_nonnull(strstr(svg, "h&lt;&amp;&gt;:7002")); /* legend, escaped */
    ck_assert_ptr_nonnull(strstr(svg, "replication lag (ms)"));
    ck_assert_ptr_nonnull(strstr(svg, "replication lag (KB)")); /* 49000 B is KB */
    ck_assert_int_eq(count(svg, "time since start (s)"), 2);
    ck_assert_int_eq(count(svg, "<path "), 4); /* 2 charts x 2 replicas */
    /* The unknown sample breaks the second replica's line: two segments. */
    char *second = strstr(strstr(svg, "<path ") + 1, "<path ");
    ck_assert_int_eq(count(strstr(second, "d=\""), "M") - count(strstr(second, "\"/>"), "M"), 2);
    free(svg);
    rmb_samples_free(&s);
}
END_TEST

START_TEST(test_svg_empty) {
    rmb_samples s;
    const char *names[] = {"r"};
    rmb_samples_init(&s, 1, names);
    char *svg = written(rmb_svg_write, &s, "empty");
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    ck_assert_ptr_null(strstr(svg, "nan"));
    free(svg);
    rmb_samples_free(&s);
}
END_TEST

START_TEST(test_nice_step_and_bytes) {
    ck_assert(rmb_nice_step(10, 10) == 1);
    ck_assert(rmb_nice_step(13, 5) == 5);
    ck_assert(rmb_nice_step(0.9, 5) == 0.2);
    ck_assert(rmb_nice_step(1500, 5) == 500);
    char b[32];
    ck_assert_str_eq(rmb_fmt_bytes(b, sizeof(b), 512), "512 B");
    ck_assert_str_eq(rmb_fmt_bytes(b, sizeof(b), 1536), "1.5 KB");
    ck_assert_str_eq(rmb_fmt_bytes(b, sizeof(b), 3 * 1048576.0), "3.0 MB");
}
END_TEST

static int parse(rmb_opts *o, char *err, ...) {
    char *argv[32] = {"ringmaster-bench"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *));) argv[argc++] = a;
    va_end(ap);
    return rmb_parse_opts(o, argc, argv, err, 256);
}

START_TEST(test_options) {
    rmb_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, err, "--master", "10.0.0.1:7000", "--replica", "7001", "--replica",
                           "h:7002", "--rate", "250000", "--workload", "mixed", NULL), 0);
    ck_assert_str_eq(o.master.name, "10.0.0.1:7000");
    ck_assert_int_eq(o.nrep, 2);
    ck_assert_str_eq(o.replicas[0].name, "127.0.0.1:7001");
    ck_assert_int_eq(o.threads, 2); /* more than one thread's rate */
    ck_assert_int_eq(o.mixed, 1);
    ck_assert_int_eq(o.probe_ms, 10);
    ck_assert_int_eq(parse(&o, err, "--master", "h:0", "--replica", "7001", NULL), -1);
    ck_assert_int_eq(parse(&o, err, "--master", "7000", NULL), -1);
    ck_assert_int_eq(o.tls, 0);
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--probe-interval",
                           "5", NULL), -1);
}
END_TEST

START_TEST(test_tls_options) {
    /* redis-cli's names; every file reaches OpenSSL as given. */
    rmb_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--tls", "--cacert",
                           "ca.crt", "--cacertdir", "/etc/ssl/certs", "--cert", "c.crt", "--key",
                           "c.key", "--sni", "db.example", "--insecure", "--tls-ciphers",
                           "HIGH", "--tls-ciphersuites", "TLS_AES_128_GCM_SHA256", NULL), 0);
    ck_assert_int_eq(o.tls, 1);
    ck_assert_int_eq(o.insecure, 1);
    ck_assert_str_eq(o.cacert, "ca.crt");
    ck_assert_str_eq(o.cacertdir, "/etc/ssl/certs");
    ck_assert_str_eq(o.cert, "c.crt");
    ck_assert_str_eq(o.key, "c.key");
    ck_assert_str_eq(o.sni, "db.example");
    ck_assert_str_eq(o.ciphers, "HIGH");
    ck_assert_str_eq(o.ciphersuites, "TLS_AES_128_GCM_SHA256");
    ck_assert_int_eq(o.keyspace, 100000); /* --key is not --keyspace */
    /* --tls alone: verification on, the system's roots. */
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--tls", NULL), 0);
    ck_assert_int_eq(o.insecure, 0);
    ck_assert_ptr_null(o.cacert);
    ck_assert_ptr_null(o.cert);
    /* A TLS option without --tls is a mistake, not silently plaintext. */
    const char *alone[][2] = {{"--cacert", "x"}, {"--cacertdir", "x"}, {"--cert", "x"},
                              {"--key", "x"}, {"--sni", "x"}, {"--tls-ciphers", "x"},
                              {"--tls-ciphersuites", "x"}, {"--insecure", NULL}};
    for (size_t k = 0; k < sizeof(alone) / sizeof(alone[0]); k++) {
        ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", alone[k][0],
                               alone[k][1], NULL), -1);
        char want[64];
        snprintf(want, sizeof(want), "%s needs --tls", alone[k][0]);
        ck_assert_str_eq(err, want);
    }
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--tls", "--cert",
                           "c.crt", NULL), -1);
    ck_assert_str_eq(err, "--cert and --key go together (--key is missing)");
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--tls", "--key",
                           "c.key", NULL), -1);
    ck_assert_str_eq(err, "--cert and --key go together (--cert is missing)");
    ck_assert_int_eq(parse(&o, err, "--master", "7000", "--replica", "7001", "--tls", "--cacert",
                           NULL), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing value: --cacert"));
}
END_TEST

START_TEST(test_info_fields) {
    const char *info = "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n"
                       "slave_read_repl_offset:99\r\nslave_repl_offset:42\r\n";
    ck_assert_int_eq(rmb_info_ll(info, "slave_repl_offset", -1), 42);
    ck_assert_int_eq(rmb_info_ll(info, "master_repl_offset", -1), -1);
    char v[16];
    ck_assert_str_eq(rmb_info_str(info, "master_link_status", v, sizeof(v)), "up");
    ck_assert_str_eq(rmb_info_str(info, "role", v, sizeof(v)), "slave");
    ck_assert_str_eq(rmb_info_str(info, "nothing", v, sizeof(v)), "");
}
END_TEST

static Suite *bench_suite(void) {
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("bench");
    tcase_add_test(tc, test_hist_buckets_contiguous);
    tcase_add_test(tc, test_hist_percentiles);
    tcase_add_test(tc, test_hist_exact_small_and_merge);
    tcase_add_test(tc, test_sched_rate_and_spacing);
    tcase_add_test(tc, test_sched_catches_up_after_stall);
    tcase_add_test(tc, test_csv_rows);
    tcase_add_test(tc, test_svg_complete);
    tcase_add_test(tc, test_svg_empty);
    tcase_add_test(tc, test_nice_step_and_bytes);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_tls_options);
    tcase_add_test(tc, test_info_fields);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(bench_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
