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

#endif
