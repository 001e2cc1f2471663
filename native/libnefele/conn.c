/* libnefele transport: the per-process connection to hostd, framing; errors.c maps the codes. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nefele.h"
#include "internal.h"

static __thread char last_error[256];

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static int conn_fd = -1;
static uint64_t next_id = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Idle connections of the messaging calls (nf_call_pooled): a call takes one or opens one, and
 * puts it back when its exchange is done, so a receive that waits never holds up another
 * thread's call, and a thread that sends and receives in turn reuses its connection. */
#define POOL_MAX 4
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nf_conn *pool_conns[POOL_MAX];
static int pool_n;
static _Atomic uint64_t pool_next_id = 1;

const char *nefele_last_error(void)
{
    return last_error;
}

int nf_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

/* A forked child must not share the parent's connection (responses would interleave),
 * and the lock may have been held by a thread that does not exist in the child. */
static void after_fork_in_child(void)
{
    if (conn_fd >= 0)
        close(conn_fd);
    conn_fd = -1;
    pthread_mutex_init(&conn_lock, NULL);
    for (int i = 0; i < pool_n; i++)
        nf_conn_close(pool_conns[i]);
    pool_n = 0;
    pthread_mutex_init(&pool_lock, NULL);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

int nf_connect(void)
{
    const char *path = getenv("NEFELE_SOCKET");
    if (!path || !*path)
        return nf_fail(-ENOTCONN, "cannot reach hostd: NEFELE_SOCKET is not set");
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path)
        return nf_fail(-ENOTCONN, "cannot reach hostd at %s: %s", path, strerror(ENAMETOOLONG));
    memcpy(addr.sun_path, path, len);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nf_fail(-ENOTCONN, "cannot reach hostd at %s: %s", path, strerror(errno));
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EISCONN) {
        int err = errno;
        close(fd);
        return nf_fail(-ENOTCONN, "cannot reach hostd at %s: %s", path, strerror(err));
    }
    return fd;
}

int nf_write_request(int fd, const Nefele__V1__ProcRequest *req)
{
    int rc = nefele_frame_send(fd, &req->base);
    if (rc == -EMSGSIZE)
        return nf_fail(-EMSGSIZE, "request of %zu bytes exceeds the 4 MiB frame limit",
                       nefele__v1__proc_request__get_packed_size(req));
    if (rc == -ENOMEM)
        return nf_fail(-ENOMEM, "out of memory");
    if (rc < 0)
        return nf_fail(-ECONNRESET, "sending to hostd: %s", strerror(-rc));
    return 0;
}

int nf_read_response(int fd, Nefele__V1__ProcResponse **out)
{
    uint8_t *body;
    size_t len;
    int rc = nefele_frame_recv(fd, &body, &len, -1);
    if (rc == NEFELE_FRAME_EOF)
        return nf_fail(-ECONNRESET, "hostd closed the connection");
    if (rc == -EMSGSIZE)
        return nf_fail(-EMSGSIZE, "response frame of %zu bytes exceeds the 4 MiB limit", len);
    if (rc == -ENOMEM)
        return nf_fail(-ENOMEM, "out of memory");
    if (rc < 0)
        return nf_fail(-ECONNRESET, "reading from hostd: %s", strerror(-rc));
    *out = nefele__v1__proc_response__unpack(NULL, len, body);
    free(body);
    if (!*out)
        return nf_fail(-EPROTO, "response from hostd does not parse");
    return 0;
}

/* The server's sentences open with the code's words ("spawn rejected: /x: no such file"); behind
 * the code itself they would say it twice, so such an opening is dropped. */
static const char *past_code_words(const char *msg, const char *code)
{
    size_t i = 0;
    for (; code[i]; i++) {
        char want = code[i] == '_' ? ' ' : code[i];
        char got = msg[i] >= 'A' && msg[i] <= 'Z' ? (char)(msg[i] - 'A' + 'a') : msg[i];
        if (got != want)
            return msg;
    }
    if (msg[i] == '\0')
        return msg + i;
    if (msg[i] != ':')
        return msg;
    for (i++; msg[i] == ' '; i++)
        ;
    return msg + i;
}

int nf_error_response(const Nefele__V1__ProcResponse *resp)
{
    const Nefele__V1__Error *e = resp->error;
    const char *code = e && e->code ? e->code : "";
    const char *msg = e && e->message ? e->message : "";
    int rc = nf_error_code(code);
    if (*code)
        msg = past_code_words(msg, code);
    return nf_fail(rc, "%s: %s", *code ? code : "error", *msg ? msg : nefele_strerror(rc));
}


/* One exchange on fd. */
static int exchange_on(int fd, Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse **out)
{
    int rc = nf_write_request(fd, req);
    if (rc < 0)
        return rc;
    rc = nf_read_response(fd, out);
    if (rc < 0)
        return rc;
    if ((*out)->id != req->id) {
        nefele__v1__proc_response__free_unpacked(*out, NULL);
        *out = NULL;
        return nf_fail(-EPROTO, "response id does not match the request");
    }
    return 0;
}

int nf_call(Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
            Nefele__V1__ProcResponse **out)
{
    pthread_once(&atfork_once, register_atfork);
    *out = NULL;
    Nefele__V1__ProcResponse *resp = NULL;

    pthread_mutex_lock(&conn_lock);
    int rc;
    for (int attempt = 0;; attempt++) {
        int fresh = 0;
        if (conn_fd < 0) {
            rc = nf_connect();
            if (rc < 0)
                break;
            conn_fd = rc;
            fresh = 1;
        }
        req->id = next_id++;
        rc = exchange_on(conn_fd, req, &resp);
        if (rc == 0)
            break;
        /* Any transport or protocol failure leaves the stream unusable. */
        close(conn_fd);
        conn_fd = -1;
        /* A kept connection may simply be stale (hostd restarted): retry once. */
        if (rc != -ECONNRESET || fresh || attempt > 0)
            break;
    }
    pthread_mutex_unlock(&conn_lock);
    if (rc < 0)
        return rc;
    return nf_checked(resp, expect, out);
}

void nf_copy_str(char *dst, size_t cap, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int nf_copy_npid(npid_t *dst, const char *src)
{
    if (!src || !*src)
        return nf_fail(-EPROTO, "hostd returned an empty npid");
    size_t n = strlen(src);
    if (n >= sizeof dst->id)
        return nf_fail(-EPROTO, "npid from hostd is longer than %zu bytes", sizeof dst->id - 1);
    memcpy(dst->id, src, n + 1);
    return 0;
}

int nf_check_npid(const npid_t *npid)
{
    if (!npid || !memchr(npid->id, '\0', sizeof npid->id) || !npid->id[0])
        return nf_fail(-EINVAL, "npid is missing or not a NUL-terminated string");
    return 0;
}

void nf_conn_close(struct nf_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c);
}

/* Gets at least want bytes in hand (want <= NF_CONN_BUF): 0, or a negative code as nf_read_response's. */
static int conn_fill(struct nf_conn *c, size_t want)
{
    if (c->end - c->start >= want)
        return 0;
    if (c->start > 0 && c->start + want > NF_CONN_BUF) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    while (c->end - c->start < want) {
        ssize_t r = recv(c->fd, c->buf + c->end, NF_CONN_BUF - c->end, 0);
        if (r == 0)
            return nf_fail(-ECONNRESET, "hostd closed the connection");
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return nf_fail(-ECONNRESET, "reading from hostd: %s", strerror(errno));
        }
        c->end += (size_t)r;
    }
    return 0;
}

int nf_conn_read_response(struct nf_conn *c, Nefele__V1__ProcResponse **out)
{
    *out = NULL;
    int rc = conn_fill(c, 4);
    if (rc < 0)
        return rc;
    const uint8_t *h = c->buf + c->start;
    size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (len > NEFELE_MAX_FRAME)
        return nf_fail(-EMSGSIZE, "response frame of %zu bytes exceeds the 4 MiB limit", len);
    if (len + 4 <= NF_CONN_BUF) {
        /* The usual case: the frame is (or will be) whole in the buffer, often with others. */
        rc = conn_fill(c, len + 4);
        if (rc < 0)
            return rc;
        *out = nefele__v1__proc_response__unpack(NULL, len, c->buf + c->start + 4);
        c->start += len + 4;
        if (c->start == c->end)
            c->start = c->end = 0;
    } else {
        /* A large answer (a received message near 1 MiB): the rest straight into its own buffer. */
        uint8_t *body = malloc(len);
        if (!body)
            return nf_fail(-ENOMEM, "out of memory");
        size_t got = c->end - c->start - 4;
        memcpy(body, c->buf + c->start + 4, got);
        c->start = c->end = 0;
        while (got < len) {
            ssize_t r = recv(c->fd, body + got, len - got, 0);
            if (r <= 0 && !(r < 0 && errno == EINTR)) {
                int err = r == 0 ? 0 : errno;
                free(body);
                return err ? nf_fail(-ECONNRESET, "reading from hostd: %s", strerror(err))
                           : nf_fail(-ECONNRESET, "hostd closed the connection");
            }
            if (r > 0)
                got += (size_t)r;
        }
        *out = nefele__v1__proc_response__unpack(NULL, len, body);
        free(body);
    }
    if (!*out)
        return nf_fail(-EPROTO, "response from hostd does not parse");
    return 0;
}

int nf_pool_take(struct nf_conn **out, int *fresh)
{
    pthread_once(&atfork_once, register_atfork);
    struct nf_conn *c = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_n > 0)
        c = pool_conns[--pool_n];
    pthread_mutex_unlock(&pool_lock);
    *fresh = c == NULL;
    if (!c) {
        c = malloc(sizeof *c);
        if (!c)
            return nf_fail(-ENOMEM, "out of memory");
        int fd = nf_connect();
        if (fd < 0) {
            free(c);
            return fd;
        }
        c->fd = fd;
        c->start = c->end = 0;
    }
    *out = c;
    return 0;
}

void nf_pool_give(struct nf_conn *c)
{
    /* Bytes left over would be an answer to no one: such a stream is not reused. */
    if (c->end != c->start) {
        nf_conn_close(c);
        return;
    }
    pthread_mutex_lock(&pool_lock);
    if (pool_n < POOL_MAX) {
        pool_conns[pool_n++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    nf_conn_close(c);
}

uint64_t nf_pool_ids(size_t n)
{
    return atomic_fetch_add(&pool_next_id, (uint64_t)n);
}

int nf_call_pooled(Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
                   Nefele__V1__ProcResponse **out, int retry_after_sent)
{
    *out = NULL;
    Nefele__V1__ProcResponse *resp = NULL;
    int rc;
    for (int attempt = 0;; attempt++) {
        int fresh;
        struct nf_conn *c;
        rc = nf_pool_take(&c, &fresh);
        if (rc < 0)
            return rc;
        req->id = nf_pool_ids(1);
        rc = nf_write_request(c->fd, req);
        int sent = rc == 0;
        if (sent)
            rc = nf_conn_read_response(c, &resp);
        if (rc == 0 && resp->id != req->id) {
            nefele__v1__proc_response__free_unpacked(resp, NULL);
            resp = NULL;
            rc = nf_fail(-EPROTO, "response id does not match the request");
        }
        if (rc == 0) {
            nf_pool_give(c);
            break;
        }
        /* Any transport or protocol failure leaves the stream unusable. */
        nf_conn_close(c);
        /* A kept connection may be stale (hostd restarted): retry once on a new one, unless the
         * request may have been acted on and doing it twice would matter (a send). */
        if (rc != -ECONNRESET || fresh || attempt > 0 || (sent && !retry_after_sent))
            return rc;
    }
    return nf_checked(resp, expect, out);
}

int nf_call_on(int fd, Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
               Nefele__V1__ProcResponse **out)
{
    *out = NULL;
    Nefele__V1__ProcResponse *resp = NULL;
    req->id = 1;
    int rc = exchange_on(fd, req, &resp);
    if (rc < 0)
        return rc;
    return nf_checked(resp, expect, out);
}

/* A response carrying Error is mapped; one of another kind than expected is -EPROTO. */
int nf_checked(Nefele__V1__ProcResponse *resp, Nefele__V1__ProcResponse__BodyCase expect,
               Nefele__V1__ProcResponse **out)
{
    int rc;
    if (resp->body_case == NEFELE__V1__PROC_RESPONSE__BODY_ERROR) {
        rc = nf_error_response(resp);
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        return rc;
    }
    if (resp->body_case != expect) {
        int kind = (int)resp->body_case;
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        return nf_fail(-EPROTO, "unexpected response kind %d from hostd", kind);
    }
    *out = resp;
    return 0;
}
