/*
 * libnefele-shim.so: preloaded by hostd into every program it launches as a Nefele
 * process. Before main() runs it proves the launch to hostd (Hello with the one-time
 * token from NEFELE_TOKEN), learns the process's NPID, and then gets out of the way.
 *
 * Exit statuses when the handshake does not succeed (main() never runs):
 *   121  the handshake was refused (no token, or hostd said no)
 *   122  hostd could not be reached, or the handshake failed (timeout, EOF, garbage)
 *
 * It runs inside arbitrary programs, so it writes diagnostics with write(2) only,
 * starts no threads, and keeps all symbols local.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "handshake_codec.h"

#define EXIT_REFUSED 121
#define EXIT_UNREACHABLE 122
#define DEFAULT_TIMEOUT_MS 10000
#define SELF_NAME "libnefele-shim.so"

static void say(const char *a, const char *b, const char *c)
{
    struct iovec iov[5] = {
        { (void *)"nefele-shim: ", 13 },
        { (void *)a, strlen(a) },
        { (void *)(b ? b : ""), b ? strlen(b) : 0 },
        { (void *)(c ? c : ""), c ? strlen(c) : 0 },
        { (void *)"\n", 1 },
    };
    ssize_t n;
    do {
        n = writev(2, iov, 5);
    } while (n < 0 && errno == EINTR);
}

static void __attribute__((noreturn)) die(int status, const char *a, const char *b, const char *c)
{
    say(a, b, c);
    _exit(status);
}

static void set_timeouts(int fd, int64_t ms)
{
    if (ms < 1)
        ms = 1;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Returns a connected socket, or -1 with errno set. The timeouts are set first: a unix
 * connect blocks while hostd's accept backlog is full, bounded by SO_SNDTIMEO. */
static int connect_hostd(const char *path, int64_t timeout_ms)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    if (len >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, len);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    set_timeouts(fd, timeout_ms);
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EISCONN) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Sends ProcRequest{id=1, hello{token, pid}} as one frame. 0 or a negative errno. */
static int send_hello(int fd, const char *token)
{
    uint8_t frame[1024];
    size_t n = nefele_hs_encode_hello(frame, sizeof frame, 1, token, (int32_t)getpid());
    if (n == 0)
        return -EMSGSIZE;
    return nefele_frame_send_bytes(fd, frame, n);
}

/* A response's string field as a C string (malloc'd; the process exits if memory is out). */
static char *dup_str(struct nefele_hs_str v)
{
    char *s = strndup(v.s ? v.s : "", v.len);
    if (!s)
        die(EXIT_UNREACHABLE, "handshake failed: ", "out of memory", NULL);
    return s;
}

static void __attribute__((noreturn)) read_failed(int rc, size_t len, long timeout_ms)
{
    char what[96];
    switch (rc) {
    case -ETIMEDOUT:
        snprintf(what, sizeof what, "no answer from hostd within %ld ms", timeout_ms);
        die(EXIT_UNREACHABLE, "handshake failed: ", what, NULL);
    case NEFELE_FRAME_EOF:
        die(EXIT_UNREACHABLE, "handshake failed: ", "hostd closed the connection", NULL);
    case -EMSGSIZE:
        snprintf(what, sizeof what, "response frame of %zu bytes exceeds the 4 MiB limit", len);
        die(EXIT_UNREACHABLE, "handshake failed: ", what, NULL);
    default:
        die(EXIT_UNREACHABLE, "handshake failed: reading from hostd: ", strerror(-rc), NULL);
    }
}

static long handshake_timeout_ms(void)
{
    const char *s = getenv("NEFELE_HANDSHAKE_TIMEOUT_MS");
    if (!s || !*s)
        return DEFAULT_TIMEOUT_MS;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v <= 0)
        return DEFAULT_TIMEOUT_MS;
    return v;
}

/* Programs this process execs are ordinary processes: take the shim out of
 * LD_PRELOAD, keeping anything else the user preloads. */
static void drop_self_from_preload(void)
{
    const char *cur = getenv("LD_PRELOAD");
    if (!cur)
        return;
    size_t len = strlen(cur);
    char *out = malloc(len + 1);
    if (!out) {
        unsetenv("LD_PRELOAD");
        return;
    }
    char sep = strchr(cur, ':') ? ':' : ' ';
    size_t o = 0;
    const char *p = cur;
    while (*p) {
        while (*p == ' ' || *p == ':' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != ':' && *p != '\t')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0)
            continue;
        const char *base = memrchr(start, '/', n);
        base = base ? base + 1 : start;
        size_t bn = (size_t)(p - base);
        if (bn == sizeof SELF_NAME - 1 && memcmp(base, SELF_NAME, bn) == 0)
            continue;
        if (o)
            out[o++] = sep;
        memcpy(out + o, start, n);
        o += n;
    }
    out[o] = '\0';
    if (o)
        setenv("LD_PRELOAD", out, 1);
    else
        unsetenv("LD_PRELOAD");
    free(out);
}

__attribute__((constructor)) static void nefele_shim_handshake(void)
{
    const char *token = getenv("NEFELE_TOKEN");
    const char *sock = getenv("NEFELE_SOCKET");
    long timeout_ms = handshake_timeout_ms();

    if (!token || !*token) {
        /* Still tell hostd, so it can record why this pid never became a process. */
        if (sock && *sock) {
            int fd = connect_hostd(sock, timeout_ms);
            if (fd >= 0) {
                send_hello(fd, "");
                close(fd);
            }
        }
        die(EXIT_REFUSED, "handshake refused: no launch token (NEFELE_TOKEN is not set)", NULL, NULL);
    }

    if (!sock || !*sock)
        die(EXIT_UNREACHABLE, "cannot reach hostd at (unset): NEFELE_SOCKET is not set", NULL, NULL);

    int64_t deadline = nefele_frame_now_ms() + timeout_ms;
    int fd = connect_hostd(sock, timeout_ms);
    if (fd < 0) {
        char detail[128];
        snprintf(detail, sizeof detail, ": %s", strerror(errno));
        die(EXIT_UNREACHABLE, "cannot reach hostd at ", sock, detail);
    }

    /* The hello follows the connect at once (the send timeout set before the connect bounds it):
     * hostd reads it on the thread that accepted the connection if it is there by then. */
    int rc = send_hello(fd, token);
    if (rc < 0) {
        if (rc == -EAGAIN || rc == -EWOULDBLOCK)
            read_failed(-ETIMEDOUT, 0, timeout_ms);
        die(EXIT_UNREACHABLE, "handshake failed: sending hello: ", strerror(-rc), NULL);
    }
    set_timeouts(fd, deadline - nefele_frame_now_ms());

    uint8_t *body;
    size_t len;
    rc = nefele_frame_recv(fd, &body, &len, deadline);
    if (rc < 0)
        read_failed(rc, len, timeout_ms);
    close(fd);

    struct nefele_hs_reply reply;
    if (nefele_hs_decode_reply(body, len, &reply) < 0) {
        free(body);
        die(EXIT_UNREACHABLE, "handshake failed: ", "response from hostd does not parse", NULL);
    }

    switch (reply.kind) {
    case NEFELE_HS_WELCOME: {
        if (reply.a.len == 0)
            die(EXIT_UNREACHABLE, "handshake failed: ", "welcome carries no npid", NULL);
        char *npid = dup_str(reply.a), *tenant = dup_str(reply.b), *node = dup_str(reply.c);
        free(body);
        setenv("NEFELE_NPID", npid, 1);
        setenv("NEFELE_TENANT", tenant, 1);
        setenv("NEFELE_NODE", node, 1);
        free(npid);
        free(tenant);
        free(node);
        unsetenv("NEFELE_TOKEN");
        drop_self_from_preload();
        break;
    }
    case NEFELE_HS_REFUSED:
        die(EXIT_REFUSED, "handshake refused: ", reply.a.len ? dup_str(reply.a) : "(no reason given)", NULL);
    case NEFELE_HS_ERROR:
        die(EXIT_UNREACHABLE, "handshake failed: hostd error: ", dup_str(reply.b.len ? reply.b : reply.a), NULL);
    default:
        die(EXIT_UNREACHABLE, "handshake failed: ", "unexpected response from hostd", NULL);
    }
}
