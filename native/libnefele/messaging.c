/* libnefele messaging calls (NEFELE_1.1): send, receive, names, topics. Each builds one
 * ProcRequest and runs it on a pooled connection (nf_call_pooled), so a receive or a wait
 * that blocks never holds up the calls of other threads. hostd checks every argument (the
 * name grammar, the size and tag bounds are written once, on the server); here only what
 * cannot be sent at all is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nefele.h"
#include "internal.h"

/* The server answers a wait within this bound (Limits.MaxMessagingWait); longer waits are
 * several requests. */
#define WAIT_STEP_MS 10000

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wait to ask the server for now: the time left before deadline, at most one step;
 * forever (timeout_ms < 0) is a step at a time. */
static int wait_step(int timeout_ms, long long deadline)
{
    if (timeout_ms < 0)
        return WAIT_STEP_MS;
    long long left = deadline - monotonic_ms();
    if (left <= 0)
        return 0;
    return left > WAIT_STEP_MS ? WAIT_STEP_MS : (int)left;
}

/* Whether a wait that ended with timed_out goes on. */
static int wait_goes_on(int timeout_ms, long long deadline)
{
    return timeout_ms < 0 || (timeout_ms > 0 && monotonic_ms() < deadline);
}

static int check_text(const char *value, const char *what)
{
    if (!value || !*value)
        return nf_fail(-EINVAL, "%s is NULL or empty", what);
    return 0;
}

/* The npid argument of register & co.: NULL means the caller (sent as ""). */
static int optional_npid(const npid_t *npid, char **out)
{
    *out = (char *)"";
    if (!npid)
        return 0;
    int rc = nf_check_npid(npid);
    if (rc == 0)
        *out = (char *)npid->id;
    return rc;
}

/* Sends of a batch that may be unanswered at once on its connection: enough to keep hostd busy
 * while the answers are read, few enough that hostd holds a bounded number of them for a full
 * mailbox, as a thread per send would. */
#define MANY_WINDOW 256
/* The write buffer of a batch: the frames of this many bytes go in one write. */
#define MANY_WRITE (64 * 1024)

static int check_send(const char *to, const void *data, size_t len, int flags, int wait_ms)
{
    int mode = flags & NEFELE_MODE_MASK;
    int rc = check_text(to, "to");
    if (rc < 0)
        return rc;
    if (mode > NEFELE_MODE_PUBLISH)
        return nf_fail(-EINVAL, "delivery mode %d is not one of NEFELE_MODE_*", mode);
    if (flags & ~(NEFELE_MODE_MASK | NEFELE_MSG_ACK))
        return nf_fail(-EINVAL, "flags 0x%x carry bits other than a mode and NEFELE_MSG_ACK", (unsigned)flags);
    if (!data && len)
        return nf_fail(-EINVAL, "data is NULL but len is %zu", len);
    if (wait_ms < 0)
        return nf_fail(-EINVAL, "wait_ms is negative (%d)", wait_ms);
    return 0;
}

static void build_send(Nefele__V1__SendRequest *send, Nefele__V1__ProcRequest *req, const char *to, const char *tag,
                       const void *data, size_t len, int flags, int wait_ms)
{
    send->to = (char *)to;
    send->tag = (char *)(tag ? tag : "");
    send->data.data = (uint8_t *)data;
    send->data.len = len;
    send->mode = (Nefele__V1__DeliveryMode)(flags & NEFELE_MODE_MASK);
    send->ack = (flags & NEFELE_MSG_ACK) ? 1 : 0;
    send->wait_ms = wait_ms;
    req->body_case = NEFELE__V1__PROC_REQUEST__BODY_SEND;
    req->send = send;
}

int nefele_message(const char *to, const char *tag, const void *data, size_t len, int flags, int wait_ms)
{
    int rc = check_send(to, data, len, flags, wait_ms);
    if (rc < 0)
        return rc;
    Nefele__V1__SendRequest send = NEFELE__V1__SEND_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    build_send(&send, &req, to, tag, data, len, flags, wait_ms);
    Nefele__V1__ProcResponse *resp;
    /* Not repeated once written: a send that reached hostd may have been delivered. */
    rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_SEND, &resp, 0);
    if (rc < 0)
        return rc;
    unsigned delivered = resp->send->delivered;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return delivered > 0x7fffffffu ? 0x7fffffff : (int)delivered;
}

int nefele_publish(const char *topic, const char *tag, const void *data, size_t len, int flags, int wait_ms)
{
    if (flags & ~NEFELE_MSG_ACK)
        return nf_fail(-EINVAL, "flags 0x%x carry bits other than NEFELE_MSG_ACK", (unsigned)flags);
    return nefele_message(topic, tag, data, len, NEFELE_MODE_PUBLISH | flags, wait_ms);
}

/* The outcome of one send's answer, as nefele_message returns it. */
static int send_outcome(Nefele__V1__ProcResponse *resp)
{
    Nefele__V1__ProcResponse *ok;
    int rc = nf_checked(resp, NEFELE__V1__PROC_RESPONSE__BODY_SEND, &ok);
    if (rc < 0)
        return rc;
    unsigned delivered = ok->send->delivered;
    nefele__v1__proc_response__free_unpacked(ok, NULL);
    return delivered > 0x7fffffffu ? 0x7fffffff : (int)delivered;
}

int nefele_message_many(nefele_out *msgs, size_t n, int flags, int wait_ms)
{
    if (!msgs && n)
        return nf_fail(-EINVAL, "msgs is NULL but n is %zu", n);
    if (n > 0x7fffffffu)
        return nf_fail(-EINVAL, "n is %zu, more than a batch may hold (%u)", n, 0x7fffffffu);
    for (size_t i = 0; i < n; i++) {
        int rc = check_send(msgs[i].to, msgs[i].data, msgs[i].len, flags, wait_ms);
        if (rc < 0)
            return nf_fail(rc, "message %zu: %s", i, nefele_last_error());
        if (msgs[i].len > NEFELE_MAX_FRAME - 1024)
            return nf_fail(-EMSGSIZE, "message %zu: %zu bytes exceed the 4 MiB frame limit", i, msgs[i].len);
    }
    for (size_t i = 0; i < n; i++)
        msgs[i].result = -ECONNRESET;
    if (n == 0)
        return 0;

    struct nf_conn *c;
    int fresh;
    int rc = nf_pool_take(&c, &fresh);
    if (rc < 0)
        return rc;
    uint8_t *wbuf = malloc(MANY_WRITE);
    if (!wbuf) {
        nf_pool_give(c);
        return nf_fail(-ENOMEM, "out of memory");
    }
    /* The batch's ids are consecutive: an answer's id says which send it settles (answers may
     * come out of order: a send waiting for room is answered when it got in). */
    uint64_t base = nf_pool_ids(n);
    size_t written = 0, answered = 0, ok = 0, wlen = 0;
    char first_error[256] = "";
    while (answered < n && rc == 0) {
        /* Encode and write while the window has room. */
        while (written < n && written - answered < MANY_WINDOW && rc == 0) {
            Nefele__V1__SendRequest send = NEFELE__V1__SEND_REQUEST__INIT;
            Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
            build_send(&send, &req, msgs[written].to, msgs[written].tag, msgs[written].data, msgs[written].len, flags, wait_ms);
            req.id = base + written;
            size_t size = nefele__v1__proc_request__get_packed_size(&req);
            if (wlen > 0 && wlen + size + 4 > MANY_WRITE) {
                int sent = nefele_frame_send_bytes(c->fd, wbuf, wlen);
                rc = sent < 0 ? nf_fail(-ECONNRESET, "sending to hostd: %s", strerror(-sent)) : 0;
                wlen = 0;
                if (rc < 0)
                    break;
            }
            if (size + 4 > MANY_WRITE) {
                rc = nf_write_request(c->fd, &req);
            } else {
                wbuf[wlen] = (uint8_t)(size >> 24);
                wbuf[wlen + 1] = (uint8_t)(size >> 16);
                wbuf[wlen + 2] = (uint8_t)(size >> 8);
                wbuf[wlen + 3] = (uint8_t)size;
                nefele__v1__proc_request__pack(&req, wbuf + wlen + 4);
                wlen += size + 4;
            }
            if (rc == 0)
                written++;
        }
        if (rc == 0 && wlen > 0) {
            int sent = nefele_frame_send_bytes(c->fd, wbuf, wlen);
            rc = sent < 0 ? nf_fail(-ECONNRESET, "sending to hostd: %s", strerror(-sent)) : 0;
            wlen = 0;
        }
        /* Read answers until half the window is free again (or all are in). */
        while (rc == 0 && answered < written && (written == n || written - answered > MANY_WINDOW / 2)) {
            Nefele__V1__ProcResponse *resp;
            rc = nf_conn_read_response(c, &resp);
            if (rc < 0)
                break;
            uint64_t at = resp->id - base;
            if (resp->id < base || at >= written || msgs[at].result != -ECONNRESET) {
                nefele__v1__proc_response__free_unpacked(resp, NULL);
                rc = nf_fail(-EPROTO, "response id does not match a send of the batch");
                break;
            }
            msgs[at].result = send_outcome(resp);
            if (msgs[at].result >= 0)
                ok++;
            else if (!first_error[0])
                snprintf(first_error, sizeof first_error, "message %zu: %s", (size_t)at, nefele_last_error());
            answered++;
        }
    }
    free(wbuf);
    if (rc < 0) {
        /* The stream is broken: sends not answered may or may not have been delivered. */
        nf_conn_close(c);
        if (!first_error[0])
            snprintf(first_error, sizeof first_error, "%s", nefele_last_error());
    } else {
        nf_pool_give(c);
    }
    if (first_error[0])
        nf_fail(-EIO, "%s", first_error);
    return (int)ok;
}

void nefele_msg_free(nefele_msg *msg)
{
    if (!msg)
        return;
    free(msg->data);
    memset(msg, 0, sizeof *msg);
}

/* Fills *out from one received message; data is a copy the caller frees. */
static int fill_one(nefele_msg *out, const Nefele__V1__Message *m, unsigned remaining)
{
    if (!m)
        return nf_fail(-EPROTO, "hostd answered a receive without a message");
    char *data = malloc(m->data.len + 1);
    if (!data)
        return nf_fail(-ENOMEM, "out of memory for a message of %zu bytes", m->data.len);
    if (m->data.len)
        memcpy(data, m->data.data, m->data.len);
    data[m->data.len] = '\0';
    nf_copy_str(out->from, sizeof out->from, m->from);
    nf_copy_str(out->to, sizeof out->to, m->to);
    nf_copy_str(out->tag, sizeof out->tag, m->tag);
    out->data = data;
    out->len = m->data.len;
    out->seq = m->seq;
    out->sent_unix_ms = m->sent_unix_ms;
    out->remaining = remaining;
    return 0;
}

/* Fills *out from a ReceiveReply's first message. */
static int fill_msg(nefele_msg *out, const Nefele__V1__ReceiveReply *r)
{
    return fill_one(out, r->message, r->remaining);
}

static void build_receive(Nefele__V1__ReceiveRequest *rcv, Nefele__V1__ProcRequest *req, const char *tag)
{
    rcv->tag = (char *)(tag ? tag : "");
    req->body_case = NEFELE__V1__PROC_REQUEST__BODY_RECEIVE;
    req->receive = rcv;
}

int nefele_recv(nefele_msg *out, int timeout_ms, const char *tag)
{
    if (!out)
        return nf_fail(-EINVAL, "out is NULL");
    memset(out, 0, sizeof *out);
    Nefele__V1__ReceiveRequest rcv = NEFELE__V1__RECEIVE_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    build_receive(&rcv, &req, tag);
    long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    for (;;) {
        rcv.timeout_ms = wait_step(timeout_ms, deadline);
        Nefele__V1__ProcResponse *resp;
        /* A receive that never reached hostd took nothing: it may be repeated. */
        int rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_RECEIVE, &resp, 1);
        if (rc == NEFELE_ETIMED_OUT && wait_goes_on(timeout_ms, deadline))
            continue;
        if (rc < 0)
            return rc;
        rc = fill_msg(out, resp->receive);
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        return rc;
    }
}

int nefele_recv_many(nefele_msg *out, size_t max, int timeout_ms, const char *tag)
{
    if (!out || max == 0)
        return nf_fail(-EINVAL, "out is NULL or max is 0");
    memset(out, 0, max * sizeof *out);
    Nefele__V1__ReceiveRequest rcv = NEFELE__V1__RECEIVE_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    build_receive(&rcv, &req, tag);
    /* hostd takes at most its own bound (Limits.MaxReceiveBatch) and says how many remain. */
    rcv.max_messages = max > 0x7fffffffu ? 0x7fffffffu : (uint32_t)max;
    long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    Nefele__V1__ProcResponse *resp;
    for (;;) {
        rcv.timeout_ms = wait_step(timeout_ms, deadline);
        int rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_RECEIVE, &resp, 1);
        if (rc == NEFELE_ETIMED_OUT && wait_goes_on(timeout_ms, deadline))
            continue;
        if (rc < 0)
            return rc;
        break;
    }
    const Nefele__V1__ReceiveReply *r = resp->receive;
    size_t n = 1 + r->n_more;
    int rc = n > max ? nf_fail(-EPROTO, "hostd answered %zu messages to a receive of at most %zu", n, max) : 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fill_one(&out[i], i == 0 ? r->message : r->more[i - 1], r->remaining + (unsigned)(n - 1 - i));
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    if (rc < 0) {
        for (size_t i = 0; i < n && i < max; i++)
            nefele_msg_free(&out[i]);
        return rc;
    }
    return (int)n;
}

int nefele_recv_fd(const char *tag, int timeout_ms)
{
    /* Its own connection: the answer may take as long as the wait. */
    int fd = nf_connect();
    if (fd < 0)
        return fd;
    Nefele__V1__ReceiveRequest rcv = NEFELE__V1__RECEIVE_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    build_receive(&rcv, &req, tag);
    rcv.timeout_ms = timeout_ms < 0 || timeout_ms > WAIT_STEP_MS ? WAIT_STEP_MS : timeout_ms;
    req.id = 1;
    int rc = nf_write_request(fd, &req);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int nefele_recv_result(int fd, nefele_msg *out)
{
    if (fd < 0)
        return nf_fail(-EINVAL, "fd is not a receive descriptor");
    if (out)
        memset(out, 0, sizeof *out);
    Nefele__V1__ProcResponse *resp = NULL;
    int rc = nf_read_response(fd, &resp);
    close(fd);
    if (rc < 0)
        return rc;
    if (resp->body_case == NEFELE__V1__PROC_RESPONSE__BODY_ERROR)
        rc = nf_error_response(resp);
    else if (resp->body_case != NEFELE__V1__PROC_RESPONSE__BODY_RECEIVE || resp->id != 1)
        rc = nf_fail(-EPROTO, "unexpected response to receive from hostd");
    else if (!out)
        rc = nf_fail(-EINVAL, "out is NULL: the message is dropped");
    else
        rc = fill_msg(out, resp->receive);
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return rc;
}

int nefele_register(const char *name, const npid_t *npid)
{
    Nefele__V1__RegisterRequest reg = NEFELE__V1__REGISTER_REQUEST__INIT;
    int rc = check_text(name, "name");
    if (rc == 0)
        rc = optional_npid(npid, &reg.npid);
    if (rc < 0)
        return rc;
    reg.name = (char *)name;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_REGISTER;
    req.register_ = &reg;
    Nefele__V1__ProcResponse *resp;
    rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_REGISTER, &resp, 1);
    if (rc < 0)
        return rc;
    size_t holders = resp->register_->n_npids;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return holders > 0x7fffffff ? 0x7fffffff : (int)holders;
}

int nefele_unregister(const char *name, const npid_t *npid)
{
    Nefele__V1__UnregisterRequest unreg = NEFELE__V1__UNREGISTER_REQUEST__INIT;
    int rc = check_text(name, "name");
    if (rc == 0)
        rc = optional_npid(npid, &unreg.npid);
    if (rc < 0)
        return rc;
    unreg.name = (char *)name;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_UNREGISTER;
    req.unregister = &unreg;
    Nefele__V1__ProcResponse *resp;
    rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_UNREGISTER, &resp, 1);
    if (rc < 0)
        return rc;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return 0;
}

int nefele_wait(const char *name, int timeout_ms, npid_t *out, size_t max, size_t *count)
{
    int rc = check_text(name, "name");
    if (rc < 0)
        return rc;
    if (max && !out)
        return nf_fail(-EINVAL, "out is NULL but max is not 0");
    if (count)
        *count = 0;
    Nefele__V1__WaitNameRequest wait = NEFELE__V1__WAIT_NAME_REQUEST__INIT;
    wait.name = (char *)name;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_WAIT_NAME;
    req.wait_name = &wait;
    long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    Nefele__V1__ProcResponse *resp;
    for (;;) {
        wait.timeout_ms = wait_step(timeout_ms, deadline);
        rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_WAIT_NAME, &resp, 1);
        if (rc == NEFELE_ETIMED_OUT && wait_goes_on(timeout_ms, deadline))
            continue;
        if (rc < 0)
            return rc;
        break;
    }
    const Nefele__V1__WaitNameReply *r = resp->wait_name;
    for (size_t i = 0; i < r->n_npids && i < max && rc == 0; i++)
        rc = nf_copy_npid(&out[i], r->npids[i]);
    if (rc == 0 && count)
        *count = r->n_npids;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return rc;
}

void nefele_names_free(nefele_name *names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i].holders);
    free(names);
}

int nefele_names(const char *prefix, int flags, nefele_name **out, size_t *count)
{
    if (!out || !count)
        return nf_fail(-EINVAL, "out or count is NULL");
    *out = NULL;
    *count = 0;
    if (flags & ~NEFELE_NAMES_TOPICS)
        return nf_fail(-EINVAL, "flags 0x%x carry bits other than NEFELE_NAMES_TOPICS", (unsigned)flags);
    Nefele__V1__NamesRequest names = NEFELE__V1__NAMES_REQUEST__INIT;
    names.prefix = (char *)(prefix ? prefix : "");
    names.topics = (flags & NEFELE_NAMES_TOPICS) ? 1 : 0;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_NAMES;
    req.names = &names;
    Nefele__V1__ProcResponse *resp;
    int rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_NAMES, &resp, 1);
    if (rc < 0)
        return rc;
    const Nefele__V1__NamesReply *r = resp->names;
    size_t n = r->n_names;
    nefele_name *list = n ? calloc(n, sizeof *list) : NULL;
    if (n && !list)
        rc = nf_fail(-ENOMEM, "out of memory for %zu names", n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Nefele__V1__NameEntry *e = r->names[i];
        nf_copy_str(list[i].name, sizeof list[i].name, e->name);
        if (e->n_holders == 0)
            continue;
        list[i].holders = calloc(e->n_holders, sizeof *list[i].holders);
        if (!list[i].holders) {
            rc = nf_fail(-ENOMEM, "out of memory for %zu holders", e->n_holders);
            break;
        }
        list[i].n_holders = e->n_holders;
        for (size_t j = 0; j < e->n_holders; j++) {
            nf_copy_str(list[i].holders[j].npid, sizeof list[i].holders[j].npid, e->holders[j]->npid);
            nf_copy_str(list[i].holders[j].node, sizeof list[i].holders[j].node, e->holders[j]->node);
        }
    }
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    if (rc < 0) {
        nefele_names_free(list, n);
        return rc;
    }
    *out = list;
    *count = n;
    return 0;
}

int nefele_subscribe(const char *topic, const npid_t *npid)
{
    Nefele__V1__SubscribeRequest sub = NEFELE__V1__SUBSCRIBE_REQUEST__INIT;
    int rc = check_text(topic, "topic");
    if (rc == 0)
        rc = optional_npid(npid, &sub.npid);
    if (rc < 0)
        return rc;
    sub.topic = (char *)topic;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_SUBSCRIBE;
    req.subscribe = &sub;
    Nefele__V1__ProcResponse *resp;
    rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_SUBSCRIBE, &resp, 1);
    if (rc < 0)
        return rc;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return 0;
}

int nefele_unsubscribe(const char *topic, const npid_t *npid)
{
    Nefele__V1__UnsubscribeRequest unsub = NEFELE__V1__UNSUBSCRIBE_REQUEST__INIT;
    int rc = check_text(topic, "topic");
    if (rc == 0)
        rc = optional_npid(npid, &unsub.npid);
    if (rc < 0)
        return rc;
    unsub.topic = (char *)topic;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_UNSUBSCRIBE;
    req.unsubscribe = &unsub;
    Nefele__V1__ProcResponse *resp;
    rc = nf_call_pooled(&req, NEFELE__V1__PROC_RESPONSE__BODY_UNSUBSCRIBE, &resp, 1);
    if (rc < 0)
        return rc;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return 0;
}
