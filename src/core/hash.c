/*
 * src/core/hash.c - SHA-256 through OpenSSL's libcrypto (EVP interface), for
 * image content hashes in the feature store and weight checksums (also on a
 * helper thread, so that a model's file is hashed while its weights load).
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
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

struct lmmiqa__sha256_job {
    pthread_t thread;
    int started, status;
    char *path;
    char hex[65];
    char message[512];
};

static void *sha256_job_main(void *arg)
{
    lmmiqa__sha256_job *job = arg;
    job->status = lmmiqa__sha256_file(job->path, job->hex);
    if (job->status != LMMIQA_OK)
        snprintf(job->message, sizeof job->message, "%s", lmmiqa_error_message());
    return NULL;
}

lmmiqa__sha256_job *lmmiqa__sha256_file_start(const char *path)
{
    lmmiqa__sha256_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->path = strdup(path);
    if (job->path)
        job->started = pthread_create(&job->thread, NULL, sha256_job_main, job) == 0;
    return job;
}

int lmmiqa__sha256_file_finish(lmmiqa__sha256_job *job, char hex[65])
{
    if (!job || !job->path || !job->started) {
        int rc = job && job->path ? lmmiqa__sha256_file(job->path, hex)
                                  : lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory hashing weights");
        if (job)
            free(job->path);
        free(job);
        return rc;
    }
    pthread_join(job->thread, NULL);
    int rc = job->status;
    if (rc == LMMIQA_OK)
        memcpy(hex, job->hex, 65);
    else
        lmmiqa__fail(rc, "%s", job->message);
    free(job->path);
    free(job);
    return rc;
}
