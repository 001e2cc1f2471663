/* nefele_logs_open / _next / _close: a cursor over the silo's query of many processes' output
 * (LogsQueryRequest in process_api.proto). The records come in batches on the cursor's own
 * connection; nefele_logs_next hands them out one by one and asks for the next batch when they
 * are used up, so a follower that waits holds up no other thread's call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nefele.h"
#include "internal.h"

/* The silo answers a wait within this bound; longer waits are several requests. */
#define LOGS_WAIT_STEP_MS 10000
/* What one batch asks for: records and bytes of data (the silo's defaults, well under its bounds). */
#define LOGS_BATCH_RECORDS 256
#define LOGS_BATCH_BYTES (256 * 1024)

struct nefele_logs_cursor {
    int fd;                          /* the cursor's own connection to hostd */
    char *server;                    /* the silo's cursor to continue with; NULL once complete */
    int complete;                    /* nothing more will come */
    int failed;                      /* a call failed: the cursor can only be closed */
    Nefele__V1__ProcResponse *batch; /* the last reply; its records are handed out in order */
    size_t next;                     /* the next record of batch to hand out */
};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends q on the cursor's connection and takes the reply in as the current batch. */
static int fetch(struct nefele_logs_cursor *c, Nefele__V1__LogsQueryRequest *q)
{
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_LOGS_QUERY;
    req.logs_query = q;
    Nefele__V1__ProcResponse *resp;
    int rc = nf_call_on(c->fd, &req, NEFELE__V1__PROC_RESPONSE__BODY_LOGS_QUERY, &resp);
    if (rc < 0)
        return rc;
    const Nefele__V1__LogsQueryReply *r = resp->logs_query;
    for (size_t i = 0; i < r->n_records; i++) {
        const Nefele__V1__LogRecord *record = r->records[i];
        if ((record->stream != NEFELE__V1__LOG_STREAM__LOG_STREAM_STDOUT &&
             record->stream != NEFELE__V1__LOG_STREAM__LOG_STREAM_STDERR) || !record->npid || !record->npid[0]) {
            nefele__v1__proc_response__free_unpacked(resp, NULL);
            return nf_fail(-EPROTO, "the silo sent a log record without a stream or an npid");
        }
    }
    if (!r->complete && (!r->cursor || !r->cursor[0])) {
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        return nf_fail(-EPROTO, "the silo's answer to a log query is not complete and has no cursor");
    }
    char *server = NULL;
    if (!r->complete && !(server = strdup(r->cursor))) {
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        return nf_fail(-ENOMEM, "out of memory");
    }
    if (c->batch)
        nefele__v1__proc_response__free_unpacked(c->batch, NULL);
    free(c->server);
    c->batch = resp;
    c->next = 0;
    c->server = server;
    c->complete = r->complete ? 1 : 0;
    return 0;
}

static void free_cursor(struct nefele_logs_cursor *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->batch)
        nefele__v1__proc_response__free_unpacked(c->batch, NULL);
    free(c->server);
    free(c);
}

int nefele_logs_open(const nefele_logs_filter *filter, nefele_logs_cursor **out)
{
    static const nefele_logs_filter all;
    if (!out)
        return nf_fail(-EINVAL, "out is NULL");
    *out = NULL;
    if (!filter)
        filter = &all;
    if (filter->n_npids && !filter->npids)
        return nf_fail(-EINVAL, "npids is NULL but n_npids is %zu", filter->n_npids);
    for (size_t i = 0; i < filter->n_npids; i++) {
        int rc = nf_check_npid(&filter->npids[i]);
        if (rc < 0)
            return rc;
    }
    if (filter->stream != 0 && filter->stream != NEFELE_STDOUT && filter->stream != NEFELE_STDERR)
        return nf_fail(-EINVAL, "stream %d is not NEFELE_STDOUT (1), NEFELE_STDERR (2) or 0 (both)", filter->stream);
    if (filter->since_unix_nano < 0 || filter->until_unix_nano < 0)
        return nf_fail(-EINVAL, "since_unix_nano and until_unix_nano must not be negative (0: no bound)");
    if (filter->since_unix_nano && filter->until_unix_nano && filter->until_unix_nano <= filter->since_unix_nano)
        return nf_fail(-EINVAL, "until_unix_nano %lld is not after since_unix_nano %lld", filter->until_unix_nano,
                       filter->since_unix_nano);

    Nefele__V1__LogsQueryRequest q = NEFELE__V1__LOGS_QUERY_REQUEST__INIT;
    char **npids = NULL;
    if (filter->n_npids) {
        npids = calloc(filter->n_npids, sizeof *npids);
        if (!npids)
            return nf_fail(-ENOMEM, "out of memory");
        for (size_t i = 0; i < filter->n_npids; i++)
            npids[i] = (char *)filter->npids[i].id;
    }
    q.n_npids = filter->n_npids;
    q.npids = npids;
    q.name = (char *)(filter->name ? filter->name : "");
    q.node = (char *)(filter->node ? filter->node : "");
    q.stream = (Nefele__V1__LogStream)filter->stream;
    q.since_unix_nano = filter->since_unix_nano;
    q.until_unix_nano = filter->until_unix_nano;
    q.follow = filter->follow ? 1 : 0;
    q.max_records = LOGS_BATCH_RECORDS;
    q.max_bytes = LOGS_BATCH_BYTES;

    struct nefele_logs_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        free(npids);
        return nf_fail(-ENOMEM, "out of memory");
    }
    /* A follower's reads wait: the cursor has a connection of its own. */
    c->fd = nf_connect();
    int rc = c->fd < 0 ? c->fd : fetch(c, &q);
    free(npids);
    if (rc < 0) {
        free_cursor(c);
        return rc;
    }
    *out = c;
    return 0;
}

int nefele_logs_next(nefele_logs_cursor *c, nefele_log_record *record, int timeout_ms)
{
    if (!c || !record)
        return nf_fail(-EINVAL, "cursor or record is NULL");
    if (c->failed)
        return nf_fail(-EINVAL, "the cursor failed before: close it");
    long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    for (;;) {
        const Nefele__V1__LogsQueryReply *r = c->batch ? c->batch->logs_query : NULL;
        if (r && c->next < r->n_records) {
            const Nefele__V1__LogRecord *from = r->records[c->next++];
            memset(record, 0, sizeof *record);
            nf_copy_str(record->npid, sizeof record->npid, from->npid);
            nf_copy_str(record->name, sizeof record->name, from->name);
            nf_copy_str(record->node, sizeof record->node, from->node);
            record->stream = (int)from->stream;
            record->time_unix_nano = from->time_unix_nano;
            record->offset = from->offset;
            record->data = from->data.data;
            record->len = from->data.len;
            return 1;
        }
        if (c->complete)
            return 0;

        long long wait = 0;
        if (timeout_ms < 0)
            wait = LOGS_WAIT_STEP_MS;
        else if (timeout_ms > 0) {
            wait = deadline - monotonic_ms();
            if (wait < 0)
                wait = 0;
            if (wait > LOGS_WAIT_STEP_MS)
                wait = LOGS_WAIT_STEP_MS;
        }
        Nefele__V1__LogsQueryRequest q = NEFELE__V1__LOGS_QUERY_REQUEST__INIT;
        q.cursor = c->server;
        q.max_records = LOGS_BATCH_RECORDS;
        q.max_bytes = LOGS_BATCH_BYTES;
        q.wait_ms = (int32_t)wait;
        int rc = fetch(c, &q);
        if (rc < 0) {
            c->failed = 1;
            return rc;
        }
        if (c->batch->logs_query->n_records || c->complete)
            continue;
        if (timeout_ms == 0 || (timeout_ms > 0 && monotonic_ms() >= deadline))
            return nf_fail(-ETIMEDOUT, "no log record within %d ms", timeout_ms);
    }
}

void nefele_logs_close(nefele_logs_cursor *c)
{
    if (!c)
        return;
    if (c->server && c->fd >= 0 && !c->failed) {
        /* The silo would forget it after a minute; this frees it now. Its answer says nothing
         * the caller needs, and a failure here changes nothing for it. */
        Nefele__V1__LogsQueryRequest q = NEFELE__V1__LOGS_QUERY_REQUEST__INIT;
        q.cursor = c->server;
        q.close = 1;
        Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
        req.body_case = NEFELE__V1__PROC_REQUEST__BODY_LOGS_QUERY;
        req.logs_query = &q;
        Nefele__V1__ProcResponse *resp;
        if (nf_call_on(c->fd, &req, NEFELE__V1__PROC_RESPONSE__BODY_LOGS_QUERY, &resp) == 0)
            nefele__v1__proc_response__free_unpacked(resp, NULL);
    }
    free_cursor(c);
}
