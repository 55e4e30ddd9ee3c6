/*
 * bench/bench_serve.c - `lmmiqa serve` under load, next to the CLI.
 *
 *     bench_serve LMMIQA_BINARY IMAGE_DIR [--requests N] [--per-image K]
 *
 * Starts `lmmiqa serve` (built-in model, 127.0.0.1, a free port) and sends
 * POST /v1/score requests (one JPEG of IMAGE_DIR per request, in turn) from
 * C client threads over keep-alive connections at concurrency 1, 4 and 16,
 * N requests in all (default 10,000: a tenth at concurrency 1, the rest
 * split evenly), checking every answer (status 200 and a score). Prints
 * requests/s and p50/p99 latency per level. The same machine then scores the
 * images with one `lmmiqa score` process per image (K of them, default 40)
 * and with one `lmmiqa score` call over 400 image paths, and the table ends
 * with the goals: the service at concurrency 4 reaches >= 90 % of
 * the batch CLI's images/s, p99 < 3 x p50, zero errors.
 *
 * The load average is printed before and after; figures taken on a machine
 * that was not idle (1-minute load > 0.5 at start) are marked as noise.
 * scripts/bench.sh makes IMAGE_DIR with gen_samples (512x384 scenes).
 */
#include "bench_load.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_IMAGES 4096

typedef struct blob {
    char *path;
    char *data;
    size_t size;
} blob;

static blob images[MAX_IMAGES];
static size_t n_images;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}


static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_images(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_serve: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char *names[MAX_IMAGES];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_IMAGES) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".jpg") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        blob *b = &images[n_images];
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        b->path = malloc(plen);
        snprintf(b->path, plen, "%s/%s", dir, names[i]);
        free(names[i]);
        FILE *f = fopen(b->path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        b->data = malloc((size_t)size);
        if (size > 0 && b->data && fread(b->data, 1, (size_t)size, f) == (size_t)size) {
            b->size = (size_t)size;
            n_images++;
        }
        fclose(f);
    }
    return n_images ? 0 : -1;
}

/* ---- the server ----------------------------------------------------------- */

static pid_t start_server(const char *cli, const char *port_file, int *port)
{
    unlink(port_file);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl(cli, cli, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file, "--queue",
              "64", "-q", (char *)NULL);
        _exit(127);
    }
    for (int k = 0; k < 600; k++) { /* 60 s at most */
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok)
                return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    return -1;
}

/* ---- the client ----------------------------------------------------------- */

typedef struct client {
    int port;
    size_t first, count; /* request numbers first .. first+count-1 */
    double *lat;         /* latency of each, seconds */
    size_t errors;
} client;

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Append what the socket has to buf[got..cap-1), keeping it terminated. */
static int recv_more(int fd, char *buf, size_t cap, size_t *got)
{
    if (*got + 1 >= cap)
        return -1;
    ssize_t r = recv(fd, buf + *got, cap - 1 - *got, 0);
    if (r <= 0)
        return -1;
    *got += (size_t)r;
    buf[*got] = '\0';
    return 0;
}

/* One request on a keep-alive connection: 0 when the answer is 200 with a
 * score, 1 otherwise; -1 when the connection broke. */
static int one_request(int fd, const blob *b, char *buf, size_t cap)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      b->size);
    if (send_all(fd, head, (size_t)hl) || send_all(fd, b->data, b->size))
        return -1;
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        if (recv_more(fd, buf, cap, &got) != 0)
            return -1;
        end = strstr(buf, "\r\n\r\n");
    }
    size_t header_len = (size_t)(end + 4 - buf), clen = 0;
    const char *cl = NULL;
    for (const char *q = buf; q < end && !cl; q = strstr(q, "\r\n") + 2)
        if (strncasecmp(q, "Content-Length:", 15) == 0)
            cl = q;
    if (!cl)
        return -1;
    clen = strtoul(cl + 15, NULL, 10);
    while (got < header_len + clen)
        if (recv_more(fd, buf, cap, &got) != 0)
            return -1;
    return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(end, "\"score\"") ? 0 : 1;
}

static void *client_main(void *arg)
{
    client *c = arg;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    int fd = -1;
    for (size_t k = 0; k < c->count && buf; k++) {
        const blob *b = &images[(c->first + k) % n_images];
        double t0 = now_s();
        int rc = -1;
        for (int attempt = 0; attempt < 2 && rc < 0; attempt++) {
            if (fd < 0)
                fd = connect_to(c->port);
            if (fd < 0)
                break;
            rc = one_request(fd, b, buf, cap);
            if (rc < 0) {
                close(fd);
                fd = -1;
            }
        }
        c->lat[k] = now_s() - t0;
        if (rc != 0)
            c->errors++;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct level_result {
    int conc;
    size_t n, errors;
    double wall, rps, p50, p99;
} level_result;

static level_result run_level(int port, int conc, size_t n, size_t first)
{
    level_result r = {conc, n, 0, 0, 0, 0, 0};
    client cl[64];
    pthread_t th[64];
    double *lat = calloc(n, sizeof *lat);
    size_t per = n / (size_t)conc, off = 0;
    double t0 = now_s();
    for (int i = 0; i < conc; i++) {
        cl[i] = (client){port, first + off, per + ((size_t)i < n % (size_t)conc), lat + off, 0};
        off += cl[i].count;
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    for (int i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        r.errors += cl[i].errors;
    }
    r.wall = now_s() - t0;
    r.rps = (double)n / r.wall;
    qsort(lat, n, sizeof *lat, cmp_double);
    r.p50 = lat[n / 2];
    r.p99 = lat[(size_t)((double)n * 0.99)];
    free(lat);
    return r;
}

/* ---- the CLI side ----------------------------------------------------------- */

static int run_cli(const char *cli, const char *arg)
{
    fflush(stdout); /* the child's freopen would write our buffer again */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(cli, cli, "score", arg, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_serve LMMIQA_BINARY IMAGE_DIR [--requests N] "
                        "[--per-image K]\n");
        return 2;
    }
    const char *cli = argv[1];
    size_t total = 10000, per_image = 40, batch = 400;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--requests") == 0)
            total = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--per-image") == 0)
            per_image = strtoul(argv[i + 1], NULL, 10);
    }
    if (total < 30)
        total = 30;
    if (load_images(argv[2]) != 0) {
        fprintf(stderr, "bench_serve: no .jpg images in %s\n", argv[2]);
        return 1;
    }
    double load_start = bench_start_load();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_serve: %zu JPEGs from %s (%zu bytes first), %ld cores, load average %.2f "
           "at start\n",
           n_images, argv[2], images[0].size, cores, load_start);
    int idle = load_start >= 0 && load_start <= 0.5;
    if (!idle)
        printf("  the machine is not idle (load > 0.5): the figures below are noise, not "
               "quoted\n");

    char port_file[] = "/tmp/bench_serve_port.XXXXXX";
    int pfd = mkstemp(port_file);
    if (pfd >= 0)
        close(pfd);
    int port = 0;
    pid_t srv = start_server(cli, port_file, &port);
    unlink(port_file);
    if (srv < 0) {
        fprintf(stderr, "bench_serve: the server did not start\n");
        return 1;
    }
    /* warm-up: a few requests so that the first level is not start-up */
    run_level(port, 2, 8, 0);
    static const int levels[] = {1, 4, 16};
    level_result res[3];
    size_t first = 0, at1 = total / 10, rest = (total - at1) / 2;
    size_t counts[3] = {at1, rest, total - at1 - rest};
    size_t errors = 0;
    printf("\n%-28s %10s %10s %10s %10s %8s\n", "", "requests", "images/s", "p50 ms", "p99 ms",
           "errors");
    for (int l = 0; l < 3; l++) {
        res[l] = run_level(port, levels[l], counts[l], first);
        first += counts[l];
        errors += res[l].errors;
        char label[64];
        snprintf(label, sizeof label, "serve, concurrency %d", levels[l]);
        printf("%-28s %10zu %10.1f %10.2f %10.2f %8zu\n", label, res[l].n, res[l].rps,
               1e3 * res[l].p50, 1e3 * res[l].p99, res[l].errors);
        fflush(stdout);
    }
    kill(srv, SIGTERM);
    int st = 0;
    waitpid(srv, &st, 0);

    /* one process per image */
    size_t k = per_image < n_images * 8 ? per_image : n_images * 8;
    double t0 = now_s();
    size_t cli_fail = 0;
    for (size_t i = 0; i < k; i++)
        cli_fail += run_cli(cli, images[i % n_images].path) != 0;
    double t_per = now_s() - t0;
    printf("%-28s %10zu %10.1f %10.2f %10s %8zu\n", "lmmiqa score, one per image", k,
           (double)k / t_per, 1e3 * t_per / (double)k, "-", cli_fail);

    /* one call over `batch` paths (an @list file) */
    char list[] = "/tmp/bench_serve_list.XXXXXX";
    int lfd = mkstemp(list);
    FILE *lf = lfd >= 0 ? fdopen(lfd, "w") : NULL;
    if (!lf) {
        fprintf(stderr, "bench_serve: cannot write the list file\n");
        return 1;
    }
    for (size_t i = 0; i < batch; i++)
        fprintf(lf, "%s\n", images[i % n_images].path);
    fclose(lf);
    char arg[64];
    snprintf(arg, sizeof arg, "@%s", list);
    t0 = now_s();
    int brc = run_cli(cli, arg);
    double t_batch = now_s() - t0;
    unlink(list);
    double batch_rate = (double)batch / t_batch;
    printf("%-28s %10zu %10.1f %10s %10s %8d\n", "lmmiqa score, one batch", batch, batch_rate,
           "-", "-", brc != 0);

    double load_end = bench_load_now();
    printf("\nload average %.2f at start, %.2f at the end\n", load_start, load_end);
    if (!idle) {
        printf("goals: not judged (the machine was not idle at start)\n");
        return 0;
    }
    double ratio = res[1].rps / batch_rate;
    int g1 = ratio >= 0.9, g2 = res[1].p99 < 3 * res[1].p50 && res[2].p99 < 3 * res[2].p50,
        g3 = errors == 0;
    printf("goal: concurrency 4 at >= 90%% of the batch CLI: %.0f%% %s\n", 100 * ratio,
           g1 ? "met" : "NOT met");
    printf("goal: p99 < 3 x p50 (concurrency 4: %.1fx, 16: %.1fx) %s\n", res[1].p99 / res[1].p50,
           res[2].p99 / res[2].p50, g2 ? "met" : "NOT met");
    printf("goal: zero errors over %zu requests: %zu %s\n", total, errors,
           g3 ? "met" : "NOT met");
    return 0;
}
