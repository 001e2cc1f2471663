/* libnefele transport: the per-process connection to hostd, framing; errors.c maps the codes. */
#include <errno.h>
#include <pthread.h>
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

static int checked(Nefele__V1__ProcResponse *resp, Nefele__V1__ProcResponse__BodyCase expect,
                   Nefele__V1__ProcResponse **out);

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
    return checked(resp, expect, out);
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
    return checked(resp, expect, out);
}

/* A response carrying Error is mapped; one of another kind than expected is -EPROTO. */
static int checked(Nefele__V1__ProcResponse *resp, Nefele__V1__ProcResponse__BodyCase expect,
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
