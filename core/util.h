/* util: number parsing/formatting, glob matching, clocks and random ids.
 *
 * Everything here whose output or acceptance is visible to a client must
 * behave byte for byte like Redis 7.0 on Linux x86_64: which integers and
 * floats a command accepts, how a score or INCRBYFLOAT result is printed,
 * which keys KEYS/SCAN MATCH select, how INFO prints a byte count. The
 * quirks (for instance "-0" is not an integer, "*" does not match the empty
 * string, memory sizes wrap on overflow) are deliberate: clients and test
 * suites written against Redis depend on them. See util.c for the details. */
#ifndef RM_UTIL_H
#define RM_UTIL_H

#include <stddef.h>

/* Room for any long long in decimal plus the NUL ("-9223372036854775808"). */
#define UTIL_LONG_STR_SIZE 21
/* Room for any double as util_d_to_str prints it, plus the NUL. */
#define UTIL_DOUBLE_STR_SIZE 32
/* Longest accepted long double input is one less than this; also enough
 * room for any long double util_ld_to_str prints (Redis's
 * MAX_LONG_DOUBLE_CHARS). */
#define UTIL_LD_STR_SIZE 5120
/* KEYS/SCAN patterns with more '*' groups than this (not counting a
 * trailing one) never match, as in Redis. */
#define UTIL_GLOB_MAX_STARS 1000

/* Strict integer parse (Redis string2ll): optional '-', no '+', no spaces,
 * no leading zeros ("0" ok; "01", "-0", "-" and "" are not), must fit.
 * Returns 1 and sets *out (if not NULL) on success, 0 otherwise. */
int util_str_to_ll(const char *s, size_t len, long long *out);
int util_str_to_l(const char *s, size_t len, long *out);

/* Decimal formatting. Returns the length written (NUL added), or 0 and an
 * empty string if `size` is too small (UTIL_LONG_STR_SIZE always fits). */
int util_ll_to_str(char *buf, size_t size, long long v);
int util_ull_to_str(char *buf, size_t size, unsigned long long v);

/* Long double parse for INCRBYFLOAT (Redis string2ld): strtold syntax
 * (sign, hex, "inf" allowed), but no leading space, no trailing bytes, no
 * NaN, no overflow, no underflow to zero, len in [1, UTIL_LD_STR_SIZE). */
int util_str_to_ld(const char *s, size_t len, long double *out);

/* INCRBYFLOAT's reply/propagation format (Redis ld2string, human mode):
 * "%.17Lf" with trailing zeros and '.' dropped, "-0" as "0", "inf"/"-inf".
 * Returns the length, 0 if `size` is too small. */
int util_ld_to_str(char *buf, size_t size, long double v);

/* Double parse for scores and float arguments (Redis string2d): strtod
 * syntax, but no leading space, no trailing bytes, no NaN, no overflow, no
 * underflow to zero. Returns 1 on success. */
int util_str_to_d(const char *s, size_t len, double *out);

/* Double as Redis 7.0 replies it: "%.17g" ("1.1000000000000001", "5000",
 * "1e+17", "-0"), "inf"/"-inf", "nan". Returns the length, 0 if no room. */
int util_d_to_str(char *buf, size_t size, double v);

/* Glob match (Redis stringmatchlen): '*', '?', "[abc]", "[^abc]", "[a-z]"
 * (reversed ranges ok), "\x" escapes; `nocase` folds ASCII letters. Runs in
 * O(patlen * len) time and constant stack. Returns 1 on match. */
int util_glob_match(const char *pat, size_t patlen, const char *str, size_t len, int nocase);

/* Lowercase hex of n bytes; `out` has room for 2n+1. */
void util_hex(char *out, const unsigned char *in, size_t n);

/* Wall clock since the epoch, and a monotonic clock for durations. */
long long util_ms_time(void);
/* Freeze the calling thread's clock for the duration of a command (nests);
 * returns the frozen time in us. util_us_time_real ignores the freeze. */
long long util_clock_freeze(void);
void util_clock_thaw(void);
long long util_us_time_real(void);
/* Microseconds on a monotonic scale, cheap enough to call twice per
 * command (for commandstats); only differences are meaningful. */
long long util_elapsed_us(void);
long long util_us_time(void);
long long util_mono_us(void);

/* n random lowercase hex chars plus a NUL (`out` has n+1 bytes): run ids
 * and replication ids use n = 40. Thread-safe, from the kernel's CSPRNG. */
void util_random_hex(char *out, size_t n);

/* Config memory sizes (Redis memtoull): digits then an optional unit, case
 * insensitive: b, k=1000, kb=1024, m, mb, g, gb. Returns 1 on success. */
int util_mem_to_ull(const char *s, unsigned long long *out);

/* Whether the secret (a password: requirepass, masterauth) equals what a
 * peer gave, over their whole lengths: NUL bytes count like any other.
 * The time taken depends only on `givenlen`, which the peer chose, never
 * on where the two differ nor on the secret's length. Returns 1 if equal. */
int util_secret_equal(const void *secret, size_t secretlen, const void *given, size_t givenlen);

/* Whether an "ip:port" peer address is a loopback one, as Redis 7.0's
 * connIsLocal() decides: an IPv4 address in 127.0.0.0/8, or exactly ::1
 * ("::1234:5" is another host). */
int util_addr_is_loopback(const char *addr);

/* INFO's *_human fields (Redis bytesToHuman): "123B", "1.00K", "4.77M",
 * ..., "P"; 1024^6 and up printed as plain bytes. */
void util_bytes_to_human(char *buf, size_t size, unsigned long long n);

#endif
