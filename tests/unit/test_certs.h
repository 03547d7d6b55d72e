/* test_certs: a self-signed certificate made in memory, for the unit
 * tests that run TLS (test_tlsio, test_bench_conn). Header-only. */
#ifndef RM_TEST_CERTS_H
#define RM_TEST_CERTS_H

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A fresh RSA key and a certificate for CN=cn signed by it, valid from a
 * minute ago for a day. */
static inline void test_self_signed(const char *cn, EVP_PKEY **key, X509 **cert) {
    *key = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(*key);
    X509 *c = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -60);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, *key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, name);
    ck_assert_int_gt(X509_sign(c, *key, EVP_sha256()), 0);
    *cert = c;
}

#endif
