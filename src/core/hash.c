/*
 * src/core/hash.c - SHA-256 through OpenSSL's libcrypto (EVP interface), for
 * image content hashes in the feature store and weight checksums (also on a
 * helper thread, so that a model's file is hashed while its weights load,
 * with a cache of weight-file digests keyed by the file's identity).
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- the hash cache of weight files.
 * Hashing a 1.2 GB ViT-L/14 checkpoint takes about a second, more than the
 * rest of loading it in place. Digests (of the whole file, "file", or the
 * verified tensor data of a safetensors file lmmiqa wrote, "data") are kept in
 * $XDG_CACHE_HOME/lmmiqa/sha256/ (else ~/.cache/lmmiqa/sha256/) under the
 * file's identity: device, inode, size, and modification and status-change
 * times in nanoseconds. Any write to the file changes its ctime, which no
 * program can set back, so a changed file never meets its old digest. The
 * entry holds the identity it was made for and is checked against it; a
 * torn or foreign entry is a miss. LMMIQA_HASH_CACHE=0 turns the cache off.
 * Failures to write an entry are ignored: the cache only saves time. */

typedef struct hash_key {
    char text[256];    /* the identity and kind, as stored in the entry */
    char entry[4096];  /* the entry's path */
} hash_key;

static int hash_key_make(const struct stat *sb, const char *kind, hash_key *k)
{
    const char *off = getenv("LMMIQA_HASH_CACHE");
    if ((off && strcmp(off, "0") == 0) || !S_ISREG(sb->st_mode))
        return 0;
    snprintf(k->text, sizeof k->text, "%s %llu:%llu:%lld:%lld.%09ld:%lld.%09ld", kind,
             (unsigned long long)sb->st_dev, (unsigned long long)sb->st_ino,
             (long long)sb->st_size, (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec,
             (long long)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[3000];
    if (xdg && *xdg == '/')
        snprintf(dir, sizeof dir, "%s/lmmiqa/sha256", xdg);
    else if (home && *home == '/')
        snprintf(dir, sizeof dir, "%s/.cache/lmmiqa/sha256", home);
    else
        return 0;
    char name[65];
    lmmiqa__sha256_hex(k->text, strlen(k->text), name);
    snprintf(k->entry, sizeof k->entry, "%s/%.32s", dir, name);
    return 1;
}

int lmmiqa__hash_cache_get(const struct stat *sb, const char *kind, char hex[65])
{
    hash_key k;
    if (!hash_key_make(sb, kind, &k))
        return 0;
    FILE *f = fopen(k.entry, "r");
    if (!f)
        return 0;
    char line[512], digest[65] = "";
    int ok = fgets(line, sizeof line, f) && sscanf(line, "sha256 %64[0-9a-f]", digest) == 1 &&
             strlen(digest) == 64 && fgets(line, sizeof line, f) &&
             strncmp(line, "file ", 5) == 0 && strcmp(line + 5, k.text) == 0;
    fclose(f);
    if (ok)
        memcpy(hex, digest, 65);
    return ok;
}

/* mkdir -p of the entry's directory, then write to a temporary name and
 * rename: readers see a whole entry or none. A file changed less than two
 * seconds ago is not recorded: file times tick with the kernel's coarse
 * clock (milliseconds), so a second write in the same tick would keep the
 * identity (git's "racily clean" entries); two seconds on, any write gets a
 * later ctime. */
void lmmiqa__hash_cache_put(const struct stat *sb, const char *kind, const char hex[65])
{
    hash_key k;
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec - sb->st_ctim.tv_sec < 2 ||
        now.tv_sec - sb->st_mtim.tv_sec < 2 || !hash_key_make(sb, kind, &k))
        return;
    if (lmmiqa__file_mkdirs(k.entry, 1) != LMMIQA_OK)
        return; /* the cache is an optimisation: no folder, no entry */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", k.entry, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    int ok = fprintf(f, "sha256 %s\nfile %s", hex, k.text) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, k.entry) != 0)
        unlink(tmp);
}

/* The file's identity now, compared with sb's. */
static int same_identity(const char *path, const struct stat *sb)
{
    struct stat now;
    return stat(path, &now) == 0 && now.st_dev == sb->st_dev && now.st_ino == sb->st_ino &&
           now.st_size == sb->st_size && now.st_mtim.tv_sec == sb->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == sb->st_mtim.tv_nsec &&
           now.st_ctim.tv_sec == sb->st_ctim.tv_sec && now.st_ctim.tv_nsec == sb->st_ctim.tv_nsec;
}

struct lmmiqa__sha256_job {
    pthread_t thread;
    int started, status, cached, have_stat;
    char *path;
    struct stat sb;
    char hex[65];
    char message[512];
};

static void *sha256_job_main(void *arg)
{
    lmmiqa__sha256_job *job = arg;
    job->status = lmmiqa__sha256_file(job->path, job->hex);
    if (job->status != LMMIQA_OK)
        snprintf(job->message, sizeof job->message, "%s", lmmiqa_error_message());
    else if (job->have_stat && same_identity(job->path, &job->sb))
        lmmiqa__hash_cache_put(&job->sb, "file", job->hex);
    return NULL;
}

lmmiqa__sha256_job *lmmiqa__sha256_file_start(const char *path)
{
    lmmiqa__sha256_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->have_stat = stat(path, &job->sb) == 0;
    if (job->have_stat && lmmiqa__hash_cache_get(&job->sb, "file", job->hex)) {
        job->cached = 1;
        return job;
    }
    job->path = strdup(path);
    if (job->path)
        job->started = pthread_create(&job->thread, NULL, sha256_job_main, job) == 0;
    return job;
}

void lmmiqa__sha256_file_cancel(lmmiqa__sha256_job *job)
{
    if (!job)
        return;
    if (!job->cached && job->path && job->started)
        pthread_join(job->thread, NULL);
    free(job->path);
    free(job);
}

int lmmiqa__sha256_file_finish(lmmiqa__sha256_job *job, char hex[65])
{
    if (job && job->cached) {
        memcpy(hex, job->hex, 65);
        free(job);
        return LMMIQA_OK;
    }
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
