/* Shared between libnefele's transport (conn.c) and its calls (api.c). Not installed. */
#ifndef NEFELE_INTERNAL_H
#define NEFELE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nefele.h"

#include <protobuf-c/protobuf-c.h>
#include "nefele/v1/process_api.pb-c.h"
#include "frame.h"

/* Records the thread's error message and returns code (negative errno). */
int nf_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies src into dst[cap], truncating; NULL becomes "". */
void nf_copy_str(char *dst, size_t cap, const char *src);

/* NPIDs must fit npid_t whole: a truncated one would name another process (-EPROTO). */
int nf_copy_npid(npid_t *dst, const char *src);

/* -EINVAL unless npid holds a non-empty NUL-terminated string. */
int nf_check_npid(const npid_t *npid);

/* Opens a new connection to hostd. Returns the fd or a negative code. */
int nf_connect(void);

/* Writes req as one frame / reads one response frame. 0 or a negative code. */
int nf_write_request(int fd, const Nefele__V1__ProcRequest *req);
int nf_read_response(int fd, Nefele__V1__ProcResponse **out);

/* The NEFELE_E* value of a server error code (errors.c); -EIO for one it never sends here. */
int nf_error_code(const char *code);

/* Maps a response carrying Error to a negative code (and records the message). */
int nf_error_response(const Nefele__V1__ProcResponse *resp);

/* One request/response on the shared connection. req->id is assigned here. On success
 * *out is a response of kind `expect` owned by the caller (free with
 * nefele__v1__proc_response__free_unpacked); a response carrying Error is mapped. */
int nf_call(Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
            Nefele__V1__ProcResponse **out);

/* The same on a connection of the caller's own (fd from nf_connect), for calls that wait. */
int nf_call_on(int fd, Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
               Nefele__V1__ProcResponse **out);

/* One request/response on a pooled connection of its own (the messaging calls): calls of other
 * threads are not held up while this one waits. A kept connection found broken is retried once
 * on a new one; when the request was already written, only if retry_after_sent (a call that may
 * be repeated without effect: not a send). */
int nf_call_pooled(Nefele__V1__ProcRequest *req, Nefele__V1__ProcResponse__BodyCase expect,
                   Nefele__V1__ProcResponse **out, int retry_after_sent);

/* A pooled connection to hostd: its socket and the bytes read past the last whole frame, so
 * that several answers (pipelined requests) come in one read and a small one in one recv. */
#define NF_CONN_BUF (64 * 1024)
struct nf_conn {
    int fd;
    size_t start, end;
    uint8_t buf[NF_CONN_BUF];
};

/* Takes an idle pooled connection (*fresh = 0) or opens one (*fresh = 1): 0 or a negative code. */
int nf_pool_take(struct nf_conn **out, int *fresh);

/* Puts a connection whose exchanges are all answered back in the pool (or closes it). */
void nf_pool_give(struct nf_conn *c);

/* Closes a connection (a broken one, or one the pool has no room for); NULL is fine. */
void nf_conn_close(struct nf_conn *c);

/* n consecutive request ids for pooled connections; returns the first. */
uint64_t nf_pool_ids(size_t n);

/* Reads the next answer on c (through its buffer). 0 or a negative code (recorded). */
int nf_conn_read_response(struct nf_conn *c, Nefele__V1__ProcResponse **out);

/* A response carrying Error is mapped (and freed); one of another kind than expected is -EPROTO
 * (and freed); else *out = resp. */
int nf_checked(Nefele__V1__ProcResponse *resp, Nefele__V1__ProcResponse__BodyCase expect,
               Nefele__V1__ProcResponse **out);

#endif
