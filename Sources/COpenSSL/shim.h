#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Macros Swift cannot call: the contents of a memory BIO (BIO_get_mem_data is a BIO_ctrl macro).
static inline long erx_bio_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

// The subject or issuer as RFC 2253 text (XN_FLAG_RFC2253 is an OR of macros).
static inline int erx_x509_name_print_rfc2253(BIO *bio, const X509_NAME *name) {
    return X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
}

// Adds a UTF-8 name entry (MBSTRING_UTF8 is a macro of a macro).
static inline int erx_x509_name_add_utf8(X509_NAME *name, const char *field, const unsigned char *bytes, int length) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, length, -1, 0);
}
