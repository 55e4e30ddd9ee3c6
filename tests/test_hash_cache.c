/*
 * tests/test_hash_cache.c - the cache of weight-file digests (core/hash.c):
 * a file older than two seconds is hashed once and then answered from the
 * cache (shown by poisoning the entry), a file rewritten in place with the
 * same size is hashed again (its ctime moved), a file changed less than two
 * seconds ago is never recorded, and LMMIQA_HASH_CACHE=0 bypasses the cache.
 * Takes about 3 s (it waits for the file to age).
 */
#include "core/internal.h"
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256], file[300], cache[300];

static void write_file(const char *text)
{
    FILE *f = fopen(file, "w");
    fputs(text, f);
    fclose(f);
}

static int digest(char hex[65])
{
    return lmmiqa__sha256_file_finish(lmmiqa__sha256_file_start(file), hex);
}

/* The one entry in the cache folder (its path into out), or 0. */
static int entry(char *out, size_t size)
{
    DIR *d = opendir(cache);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(out, size, "%s/%s", cache, e->d_name);
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

static void test_cache(void)
{
    char want[65], got[65], path[600];
    write_file("weights, version one");
    lmmiqa__sha256_hex("weights, version one", 20, want);
    CHECK_OK(digest(got));
    CHECK_MSG(strcmp(got, want) == 0, "digest %s, want %s", got, want);
    CHECK_MSG(entry(path, sizeof path) == 0, "a file changed just now was recorded");

    sleep(3);
    CHECK_OK(digest(got));
    CHECK_MSG(strcmp(got, want) == 0, "digest %s, want %s", got, want);
    CHECK_MSG(entry(path, sizeof path) == 1, "the digest of an aged file was not recorded");

    /* poison the entry's digest: a hit returns it, proving the cache is read */
    FILE *f = fopen(path, "r+");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 7, SEEK_SET);
        fputs("00000000", f);
        fclose(f);
    }
    CHECK_OK(digest(got));
    CHECK_MSG(strncmp(got, "00000000", 8) == 0, "the cache entry was not used: %s", got);
    setenv("LMMIQA_HASH_CACHE", "0", 1);
    CHECK_OK(digest(got));
    CHECK_MSG(strcmp(got, want) == 0, "digest %s, want %s", got, want);
    unsetenv("LMMIQA_HASH_CACHE");

    /* the same size, rewritten in place: a new ctime, a new digest */
    write_file("weights, version two");
    lmmiqa__sha256_hex("weights, version two", 20, want);
    CHECK_OK(digest(got));
    CHECK_MSG(strcmp(got, want) == 0, "digest %s, want %s", got, want);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lmmiqa_hash_cache_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(file, sizeof file, "%s/model.bin", dir);
    snprintf(cache, sizeof cache, "%s/lmmiqa/sha256", dir);
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("LMMIQA_HASH_CACHE");
    RUN(test_cache);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_finish();
}
