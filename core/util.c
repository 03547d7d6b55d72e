/* util: the small parsers and printers whose behaviour a client can see.
 *
 * Clients, client libraries and the Redis test suite probe these edges, so
 * each one follows Redis 7.0 (as built for Linux x86_64) rather than what
 * would look tidier:
 *
 * - Integers (string2ll): "-0", "01", "+1", " 1" are all rejected. Only
 *   the canonical decimal spelling of a long long is an integer, which is
 *   also what lets a string value be stored int-encoded and printed back
 *   unchanged.
 *
 * - Floats come in two widths. Scores and most float arguments are
 *   doubles parsed with strtod; INCRBYFLOAT works in long double (80-bit
 *   on x86), so "1e400" is a valid increment and "1e-400" is accepted too.
 *   Both reject leading whitespace, trailing bytes, NaN, overflow, and an
 *   underflow that rounds to zero; "inf", hex floats and a leading '+' are
 *   accepted because strtod accepts them. The long double parser copies at
 *   most UTIL_LD_STR_SIZE-1 bytes (5119, as Redis); both reject an
 *   embedded NUL.
 *
 * - Doubles go on the wire as "%.17g" (Redis 7.0; 7.2 switched to the
 *   shortest round-trip form), so ZSCORE of 1.1 is "1.1000000000000001".
 *   INCRBYFLOAT results use "%.17Lf" with the zeros trimmed, so
 *   10.5 + 0.1 is "10.6" and 1.5e-18 becomes "0".
 *
 * - Glob matching has Redis's quirks: an unterminated '[' class runs to the
 *   end of the pattern, "[a-]" is the range 'a'..']', an escape inside a
 *   class is compared case-sensitively even with nocase, ranges compare
 *   bytes as signed chars (x86), and at the top level an empty string only
 *   matches an empty pattern ("*" included: KEYS special-cases "*" before
 *   it gets here). Redis recurses once per '*' group and gives up (no
 *   match) past 1000 levels; since every other token consumes exactly one
 *   byte, the same answers come from the classic iterative matcher that
 *   keeps only the last star as a backtrack point, so we use that (bounded
 *   time, constant stack) and apply the same 1000-group cap.
 *
 * - Memory sizes (memtoull) saturate the digits at ULLONG_MAX and wrap on
 *   the unit multiplication ("17179869184gb" is 0) and accept "" and "gb"
 *   as 0: CONFIG SET maxmemory behaves that way in Redis 7.0. */
#include "core/util.h"

#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Integers
 * ------------------------------------------------------------------------- */

int util_str_to_ll(const char *s, size_t len, long long *out) {
    /* Longer than any long long can be spelled: reject before scanning. */
    if (len == 0 || len >= UTIL_LONG_STR_SIZE) return 0;
    if (len == 1 && s[0] == '0') {
        if (out) *out = 0;
        return 1;
    }

    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        i = 1;
        if (len == 1) return 0;
    }
    /* A leading zero is only valid as the whole string "0" (handled above),
     * so "-0" and "007" are strings, not integers. */
    if (s[i] < '1' || s[i] > '9') return 0;

    unsigned long long acc = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned digit = (unsigned)(s[i] - '0');
        if (acc > (ULLONG_MAX - digit) / 10) return 0;
        acc = acc * 10 + digit;
    }

    if (negative) {
        /* |LLONG_MIN| is one more than LLONG_MAX. */
        if (acc > (unsigned long long)LLONG_MAX + 1) return 0;
        if (out) *out = (long long)(0 - acc);
    } else {
        if (acc > (unsigned long long)LLONG_MAX) return 0;
        if (out) *out = (long long)acc;
    }
    return 1;
}

int util_str_to_l(const char *s, size_t len, long *out) {
    long long v;
    if (!util_str_to_ll(s, len, &v)) return 0;
    if (v < LONG_MIN || v > LONG_MAX) return 0;
    if (out) *out = (long)v;
    return 1;
}

int util_ull_to_str(char *buf, size_t size, unsigned long long v) {
    char tmp[UTIL_LONG_STR_SIZE];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (n + 1 > size) {
        if (size) buf[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return (int)n;
}

int util_ll_to_str(char *buf, size_t size, long long v) {
    if (v >= 0) return util_ull_to_str(buf, size, (unsigned long long)v);
    if (size < 2) {
        if (size) buf[0] = '\0';
        return 0;
    }
    /* Negate in unsigned arithmetic so LLONG_MIN does not overflow. */
    unsigned long long mag = 0 - (unsigned long long)v;
    buf[0] = '-';
    int n = util_ull_to_str(buf + 1, size - 1, mag);
    if (n == 0) {
        buf[0] = '\0';
        return 0;
    }
    return n + 1;
}

/* ---------------------------------------------------------------------------
 * Floating point
 * ------------------------------------------------------------------------- */

/* isspace() in the "C" locale, which is the one the server runs in. */
static int util_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int util_str_to_ld(const char *s, size_t len, long double *out) {
    char buf[UTIL_LD_STR_SIZE];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';

    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    /* Every byte must be consumed, so an embedded NUL is garbage too. */
    if (util_is_space(buf[0]) || (size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (isinf(v) || v == 0)) return 0;
    if (out) *out = v;
    return 1;
}

int util_ld_to_str(char *buf, size_t size, long double v) {
    size_t n;
    if (isinf(v)) {
        /* Spelled out rather than left to libc so it never varies. */
        const char *word = v > 0 ? "inf" : "-inf";
        n = strlen(word);
        if (size < n + 1) return 0;
        memcpy(buf, word, n + 1);
        return (int)n;
    }

    /* 17 digits after the point: with 64-bit mantissas this rounds most
     * short decimal inputs back to what the user typed (10.5 + 0.1 prints
     * "10.6" rather than an 18th noisy digit). */
    int w = snprintf(buf, size, "%.17Lf", v);
    if (w < 0 || (size_t)w + 1 > size) return 0;
    n = (size_t)w;
    if (memchr(buf, '.', n)) {
        while (n > 0 && buf[n - 1] == '0') n--;
        if (n > 0 && buf[n - 1] == '.') n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }
    buf[n] = '\0';
    return (int)n;
}

int util_str_to_d(const char *s, size_t len, double *out) {
    if (len == 0 || util_is_space(s[0])) return 0;

    /* strtod needs a terminated string; arguments are not. */
    char small[128];
    char *buf = len < sizeof(small) ? small : mem_alloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';

    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    int ok = (size_t)(end - buf) == len && !isnan(v) && !(errno == ERANGE && (isinf(v) || v == 0));
    if (buf != small) mem_free(buf);
    if (!ok) return 0;
    if (out) *out = v;
    return 1;
}

int util_d_to_str(char *buf, size_t size, double v) {
    const char *word = NULL;
    if (isnan(v))
        word = "nan";
    else if (isinf(v))
        word = v > 0 ? "inf" : "-inf";
    if (word) {
        size_t n = strlen(word);
        if (size < n + 1) return 0;
        memcpy(buf, word, n + 1);
        return (int)n;
    }
    /* "%.17g" prints integral values below 1e17 without a point or an
     * exponent, which is how ZSCORE returns "5000" for 5.0e3. */
    int w = snprintf(buf, size, "%.17g", v);
    if (w < 0 || (size_t)w + 1 > size) return 0;
    return w;
}

/* ---------------------------------------------------------------------------
 * Glob matching
 * ------------------------------------------------------------------------- */

static int util_ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static int util_char_eq(char a, char b, int nocase) {
    if (!nocase) return a == b;
    return util_ascii_lower((unsigned char)a) == util_ascii_lower((unsigned char)b);
}

/* Match the "[...]" class starting at pat[i] == '[' against byte c. Sets
 * *next to the index just past the class. An unterminated class extends
 * to the end of the pattern. */
static int glob_class(const char *pat, size_t plen, size_t i, char c, int nocase, size_t *next) {
    size_t j = i + 1;
    int negate = j < plen && pat[j] == '^';
    if (negate) j++;

    int hit = 0;
    for (;;) {
        if (j >= plen) {
            j = plen - 1; /* the caller's step past the token lands on plen */
            break;
        }
        if (pat[j] == '\\' && plen - j >= 2) {
            /* Escaped member: exact byte, even when matching nocase. */
            j++;
            if (pat[j] == c) hit = 1;
        } else if (pat[j] == ']') {
            break;
        } else if (plen - j >= 3 && pat[j + 1] == '-') {
            /* Bytes compare as signed chars, as in Redis on x86; the ends
             * are swapped before folding case, also as in Redis. */
            int lo = (signed char)pat[j];
            int hi = (signed char)pat[j + 2];
            int ch = (signed char)c;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = util_ascii_lower(lo);
                hi = util_ascii_lower(hi);
                ch = util_ascii_lower(ch);
            }
            if (ch >= lo && ch <= hi) hit = 1;
            j += 2;
        } else if (util_char_eq(pat[j], c, nocase)) {
            hit = 1;
        }
        j++;
    }
    *next = j + 1;
    return negate ? !hit : hit;
}

/* Match the single-byte token at pat[i] (anything but '*') against c. */
static int glob_token(const char *pat, size_t plen, size_t i, char c, int nocase, size_t *next) {
    switch (pat[i]) {
    case '?':
        *next = i + 1;
        return 1;
    case '[':
        return glob_class(pat, plen, i, c, nocase, next);
    case '\\':
        /* A lone trailing backslash is a literal backslash. */
        if (plen - i >= 2) {
            *next = i + 2;
            return util_char_eq(pat[i + 1], c, nocase);
        }
        /* fall through */
    default:
        *next = i + 1;
        return util_char_eq(pat[i], c, nocase);
    }
}

int util_glob_match(const char *pat, size_t patlen, const char *str, size_t len, int nocase) {
    /* Redis only enters its matching loop with bytes left on both sides. */
    if (len == 0) return patlen == 0;

    size_t pi = 0, si = 0;
    /* The last star seen: where the pattern resumes after it, the string
     * position it is currently trying, and its ordinal among star groups. */
    size_t resume_pi = 0, resume_si = 0;
    int have_star = 0;
    unsigned stars = 0, resume_stars = 0;

    while (si < len) {
        if (pi < patlen && pat[pi] == '*') {
            while (pi < patlen && pat[pi] == '*') pi++;
            if (pi == patlen) return 1; /* trailing star eats the rest */
            if (++stars > UTIL_GLOB_MAX_STARS) return 0;
            have_star = 1;
            resume_pi = pi;
            resume_si = si;
            resume_stars = stars;
            continue;
        }
        size_t next;
        if (pi < patlen && glob_token(pat, patlen, pi, str[si], nocase, &next)) {
            pi = next;
            si++;
            continue;
        }
        /* Mismatch: let the last star swallow one more byte and retry.
         * Earlier stars never need revisiting because every other token
         * consumes exactly one byte. */
        if (!have_star) return 0;
        pi = resume_pi;
        si = ++resume_si;
        stars = resume_stars;
    }
    while (pi < patlen && pat[pi] == '*') pi++;
    return pi == patlen;
}

/* ---------------------------------------------------------------------------
 * Hex, clocks, randomness
 * ------------------------------------------------------------------------- */

static const char util_hexdigits[] = "0123456789abcdef";

void util_hex(char *out, const unsigned char *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = util_hexdigits[in[i] >> 4];
        out[2 * i + 1] = util_hexdigits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* The clock a command sees is frozen while it runs (util_clock_freeze),
 * like Redis's cached command time: every expiry decision inside one
 * command uses the same "now", and the clock is read once per command
 * instead of once per lookup. The freeze is per thread. */
static _Thread_local long long frozen_us;
static _Thread_local int frozen_depth;

long long util_us_time_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long util_clock_freeze(void) {
    if (frozen_depth++ == 0) frozen_us = util_us_time_real();
    return frozen_us;
}

void util_clock_thaw(void) {
    if (frozen_depth > 0) frozen_depth--;
}

long long util_us_time(void) { return frozen_depth ? frozen_us : util_us_time_real(); }

/* A cheap elapsed-time source for per-command statistics: the CPU's time
 * stamp counter, scaled by a ratio measured against CLOCK_MONOTONIC over
 * the first 100 ms of use (before that, and on CPUs without an invariant
 * TSC, the clock itself). clock_gettime costs far more than rdtsc on
 * virtual machines whose clock source is not the TSC. */
#if defined(__x86_64__)
#include <x86intrin.h>
static _Thread_local unsigned long long tsc0;
static _Thread_local long long mono0;
static _Thread_local double tsc_per_us;

long long util_elapsed_us(void) {
    if (tsc_per_us > 0) return (long long)((double)(__rdtsc() - tsc0) / tsc_per_us) + mono0;
    long long now = util_mono_us();
    unsigned long long t = __rdtsc();
    if (!tsc0) {
        tsc0 = t;
        mono0 = now;
    } else if (now - mono0 >= 100000) {
        double ratio = (double)(t - tsc0) / (double)(now - mono0);
        if (ratio > 10) tsc_per_us = ratio; /* >= 10 MHz: a usable counter */
    }
    return now;
}
#else
long long util_elapsed_us(void) { return util_mono_us(); }
#endif

long long util_ms_time(void) { return util_us_time() / 1000; }

long long util_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Fill buf from the kernel CSPRNG. getrandom() only fails on kernels older
 * than 3.17 or under odd seccomp policies; then try /dev/urandom, and as a
 * last resort mix clocks and the pid so ids still differ between runs. */
static void util_random_bytes(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    if (got == n) return;

    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r > 0)
                got += (size_t)r;
            else if (!(r < 0 && errno == EINTR))
                break;
        }
        close(fd);
    }
    if (got == n) return;

    unsigned long long x = (unsigned long long)util_us_time() ^
                           ((unsigned long long)util_mono_us() << 17) ^
                           ((unsigned long long)getpid() << 32);
    for (; got < n; got++) {
        /* splitmix64 step */
        x += 0x9e3779b97f4a7c15ULL;
        unsigned long long z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[got] = (unsigned char)(z ^ (z >> 31));
    }
}

void util_random_hex(char *out, size_t n) {
    unsigned char bytes[64];
    size_t done = 0;
    while (done < n) {
        size_t want = (n - done + 1) / 2;
        if (want > sizeof(bytes)) want = sizeof(bytes);
        util_random_bytes(bytes, want);
        for (size_t i = 0; i < want * 2 && done < n; i++, done++) {
            unsigned nibble = (i & 1) ? bytes[i / 2] & 0x0f : bytes[i / 2] >> 4;
            out[done] = util_hexdigits[nibble];
        }
    }
    out[n] = '\0';
}

/* ---------------------------------------------------------------------------
 * Memory sizes
 * ------------------------------------------------------------------------- */

int util_mem_to_ull(const char *s, unsigned long long *out) {
    if (s[0] == '-') return 0;

    size_t digits = 0;
    while (s[digits] >= '0' && s[digits] <= '9') digits++;
    const char *unit = s + digits;

    unsigned long long mul;
    if (!*unit || !strcasecmp(unit, "b"))
        mul = 1;
    else if (!strcasecmp(unit, "k"))
        mul = 1000ULL;
    else if (!strcasecmp(unit, "kb"))
        mul = 1024ULL;
    else if (!strcasecmp(unit, "m"))
        mul = 1000ULL * 1000;
    else if (!strcasecmp(unit, "mb"))
        mul = 1024ULL * 1024;
    else if (!strcasecmp(unit, "g"))
        mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(unit, "gb"))
        mul = 1024ULL * 1024 * 1024;
    else
        return 0;

    /* Redis copies the digits into a 128-byte buffer and refuses more. */
    if (digits >= 128) return 0;

    /* strtoull semantics: no digits is 0, too many saturate at ULLONG_MAX. */
    unsigned long long v = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) {
            v = ULLONG_MAX;
            break;
        }
        v = v * 10 + d;
    }
    if (out) *out = v * mul; /* wraps, as in Redis */
    return 1;
}

int util_secret_equal(const void *secret, size_t secretlen, const void *given, size_t givenlen) {
    const unsigned char *s = secret, *g = given;
    static const unsigned char nothing = 0;
    /* Every byte given is compared, against the secret's byte at the same
     * place (the secret wraps around when shorter), and a length mismatch
     * goes into the same accumulator. The accumulator is volatile: once it
     * is non-zero the answer is known, and the compiler would be free to
     * stop the loop there. */
    volatile size_t diff = secretlen ^ givenlen;
    for (size_t i = 0; i < givenlen; i++) {
        unsigned char sb = secretlen ? s[i % secretlen] : nothing;
        diff |= (size_t)(sb ^ g[i]);
    }
    return diff == 0;
}

int util_addr_is_loopback(const char *addr) {
    const char *colon = strrchr(addr, ':');
    size_t iplen = colon ? (size_t)(colon - addr) : strlen(addr);
    return !strncmp(addr, "127.", 4) || (iplen == 3 && !memcmp(addr, "::1", 3));
}

void util_bytes_to_human(char *buf, size_t size, unsigned long long n) {
    static const char units[] = "KMGTP";
    if (n < 1024) {
        snprintf(buf, size, "%lluB", n);
        return;
    }
    unsigned long long scale = 1024;
    for (int u = 0; u < 5; u++) {
        if (n < scale * 1024) {
            snprintf(buf, size, "%.2f%c", (double)n / (double)scale, units[u]);
            return;
        }
        scale *= 1024;
    }
    /* 1024^6 and beyond: Redis falls back to plain bytes. */
    snprintf(buf, size, "%lluB", n);
}
