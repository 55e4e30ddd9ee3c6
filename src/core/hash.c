/*
 * src/core/hash.c - SHA-256 through OpenSSL's libcrypto (EVP interface), for
 * image content hashes in the feature store and weight checksums.
 */
#include "internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *md, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void lmmiqa__sha256_hex(const void *data, size_t size, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data, size, md, &len, EVP_sha256(), NULL);
    to_hex(md, hex);
}

int lmmiqa__sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        fclose(f);
        return lmmiqa__fail(LMMIQA_ERR_NOMEM, "%s: cannot allocate a hash context", path);
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    int err = ferror(f);
    fclose(f);
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    if (err)
        return lmmiqa__fail(LMMIQA_ERR_IO, "%s: read error", path);
    to_hex(md, hex);
    return LMMIQA_OK;
}
