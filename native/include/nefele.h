/*
 * nefele.h: the in-process C API of a Nefele process (link with -lnefele).
 *
 * Every call talks to the node's hostd over the api socket named by NEFELE_SOCKET
 * (set by hostd for every Nefele process). The library opens one connection per process
 * on first use and serialises calls on it with a mutex; calls are blocking
 * request/response. Calls made from a descendant of a Nefele process are allowed and
 * act on behalf of that process (hostd identifies callers by their peer credentials).
 * After fork() the child opens its own connection on its first call.
 *
 * Return values: 0 (or a documented non-negative value) on success, a negative
 * errno-style code on failure. nefele_last_error() then describes the failure, and
 * nefele_strerror(code) says what the code means.
 *
 *   Failures reported by the server, one NEFELE_E* value per code it sends on the process
 *   socket (the catalogue is enum ErrorCode in protos/nefele/v1/common.proto):
 *     npid_not_found             NEFELE_ENPID_NOT_FOUND              -ENOENT
 *     spawn_rejected             NEFELE_ESPAWN_REJECTED              -ENOSPC
 *     bad_request                NEFELE_EBAD_REQUEST                 -EINVAL
 *     not_running                NEFELE_ENOT_RUNNING                 -ESRCH
 *     node_unavailable           NEFELE_ENODE_UNAVAILABLE            -EHOSTUNREACH
 *     request_conflict           NEFELE_EREQUEST_CONFLICT            -EEXIST
 *     tenant_not_found           NEFELE_ETENANT_NOT_FOUND            -ENXIO
 *     quota_exceeded             NEFELE_EQUOTA_EXCEEDED              -EDQUOT
 *     limit_exceeded             NEFELE_ELIMIT_EXCEEDED              -EBUSY
 *     internal_error             NEFELE_EINTERNAL                    -EREMOTEIO
 *     control_plane_unavailable  NEFELE_ECONTROL_PLANE_UNAVAILABLE   -EAGAIN
 *     not_a_nefele_process       NEFELE_ENOT_A_NEFELE_PROCESS        -EPERM
 *     bad_frame                  NEFELE_EBAD_FRAME                   -EBADMSG
 *     a code not in this list                                        -EIO
 *   Local and transport failures:
 *     bad argument to the call                         -EINVAL
 *     NEFELE_SOCKET unset, or connecting failed        -ENOTCONN
 *     hostd closed the connection / write failed       -ECONNRESET
 *     response frame larger than 4 MiB                 -EMSGSIZE
 *     response does not parse, wrong id or kind        -EPROTO
 *     out of memory                                    -ENOMEM
 *
 * A call that finds its long-lived connection broken (hostd restarted) reconnects and
 * retries once; spawns carry a request id, so a retried spawn is not started twice.
 */
#ifndef NEFELE_H
#define NEFELE_H

#include <errno.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEFELE_API __attribute__((visibility("default")))

/* Failures the server reports (see the table above); each is a negative errno value. */
#define NEFELE_ENPID_NOT_FOUND (-ENOENT)
#define NEFELE_ESPAWN_REJECTED (-ENOSPC)
#define NEFELE_EBAD_REQUEST (-EINVAL)
#define NEFELE_ENOT_RUNNING (-ESRCH)
#define NEFELE_ENODE_UNAVAILABLE (-EHOSTUNREACH)
#define NEFELE_EREQUEST_CONFLICT (-EEXIST)
#define NEFELE_ETENANT_NOT_FOUND (-ENXIO)
#define NEFELE_EQUOTA_EXCEEDED (-EDQUOT)
#define NEFELE_ELIMIT_EXCEEDED (-EBUSY)
#define NEFELE_EINTERNAL (-EREMOTEIO)
#define NEFELE_ECONTROL_PLANE_UNAVAILABLE (-EAGAIN)
#define NEFELE_ENOT_A_NEFELE_PROCESS (-EPERM)
#define NEFELE_EBAD_FRAME (-EBADMSG)

/* Process states (nefele_proc.state, nefele_exit.state). */
#define NEFELE_PENDING 1
#define NEFELE_PLACED 2
#define NEFELE_STARTING 3
#define NEFELE_RUNNING 4
#define NEFELE_EXITED 5
#define NEFELE_FAILED_TO_START 6
#define NEFELE_LOST 7

/* A Nefele process id (cluster-wide), as a NUL-terminated string. */
typedef struct {
    char id[64];
} npid_t;

/* Options for nefele_spawn / nefele_nspawn. Zeroed fields mean "default", so a caller
 * that zero-initialises the struct (= { 0 } or designated initialisers) keeps working as
 * fields are added; new fields are only ever appended.
 *
 * Placement selectors (affinity, anti_affinity) are strings of the form
 *   "npid:<NPID>"          the node running that process
 *   "name:<name>"          a node running a process of that name in the tenant
 *   "label:<key>=<value>"  a node carrying that label (e.g. "label:zone=c")
 * Every chosen node must match every affinity selector and no anti_affinity selector;
 * hostd rejects a malformed selector (-EINVAL) and a spawn no node satisfies (-ENOSPC). */
typedef struct nefele_spawn_opts {
    const char *const *env; /* "K=V" strings, NULL-terminated; may be NULL */
    const char *cwd;        /* working directory; NULL = hostd's default */
    long long cpu_millis;   /* CPU in millicores (1000 = one core); 0 = best effort */
    long long memory_bytes; /* memory limit; 0 = none */
    const char *name;       /* optional name shown by ps; may be NULL */
    int no_handshake;       /* non-zero: run without the shim (static binaries) */
    const char *const *affinity;      /* selectors the node must match, NULL-terminated; may be NULL */
    const char *const *anti_affinity; /* selectors the node must not match, NULL-terminated; may be NULL */
    const char *const *devices; /* "name=count" strings (count >= 1, decimal), e.g. "gpu=1",
                                 * reserved on the chosen node; NULL-terminated; may be NULL.
                                 * A malformed or repeated entry fails the call with -EINVAL
                                 * before anything is sent. */
    int spread; /* nefele_nspawn: non-zero puts the processes on distinct nodes as far
                 * as possible (no effect on nefele_spawn) */
} nefele_spawn_opts;

/* How a process ended. */
typedef struct nefele_exit {
    int state;       /* NEFELE_EXITED, NEFELE_FAILED_TO_START or NEFELE_LOST */
    int exit_code;   /* exit status when it exited normally, else -1 */
    int signal;      /* terminating signal, else 0 */
    int core_dumped; /* non-zero if it dumped core */
    int oom_killed;  /* non-zero if the OOM killer ended it (over its memory limit) */
    char reason[256]; /* why, for FAILED_TO_START and LOST (truncated); else "" */
} nefele_exit;

/* One row of nefele_ps. Strings are NUL-terminated and truncated to fit. */
typedef struct nefele_proc {
    char npid[64];
    char node[64];
    int pid;   /* OS pid on its node */
    int state; /* NEFELE_* state */
    long long cpu_millis, memory_bytes, started_unix_ms;
    char command[256];
} nefele_proc;

/* Message describing the last failed call on this thread ("" if none yet). */
NEFELE_API const char *nefele_last_error(void);

/* What a negative code returned by this library means (a NEFELE_E* value or a transport
 * failure from the table above), as one static sentence; never NULL. */
NEFELE_API const char *nefele_strerror(int code);

/* The NPID of the calling process (or of the Nefele process it descends from). */
NEFELE_API int nefele_self(npid_t *out);

/* Starts path (absolute) as a new Nefele process in the caller's tenant.
 * argv holds argv[1..] (NULL-terminated, may be NULL); opts may be NULL.
 * Returns 0 once the new process is running (its handshake is done) and stores its
 * NPID in *out; it may run on any node of the cluster that satisfies opts (see
 * nefele_spawn_opts). -ENOSPC when the cluster cannot place it or it cannot be started. */
NEFELE_API int nefele_spawn(const char *path, const char *const *argv,
                            const nefele_spawn_opts *opts, npid_t *out);

/* Starts count identical processes (count >= 1); out must hold count NPIDs.
 * opts->spread puts them on distinct nodes as far as possible. */
NEFELE_API int nefele_nspawn(unsigned count, const char *path, const char *const *argv,
                             const nefele_spawn_opts *opts, npid_t *out);

/* Blocks until the process has ended (returns at once if it already has) and fills
 * *out. Uses a connection of its own, so other threads' calls are not held up. */
NEFELE_API int nefele_monitor(const npid_t *npid, nefele_exit *out);

/* Starts a monitor without blocking: returns a file descriptor (>= 0; its own
 * connection, request already sent) that becomes readable when the process ends, for
 * use with poll/epoll. Then call nefele_monitor_result(fd, out), which reads the
 * answer and closes fd. */
NEFELE_API int nefele_monitor_fd(const npid_t *npid);

/* Reads the answer to nefele_monitor_fd (blocking if it is not there yet), fills *out,
 * and closes fd in every case. */
NEFELE_API int nefele_monitor_result(int fd, nefele_exit *out);

/* Sends signal to the process (wherever it runs). */
NEFELE_API int nefele_kill(int signal, const npid_t *npid);

/* Lists the tenant's processes: fills up to max rows of out (out may be NULL when max
 * is 0) and sets *count to the total number (which may exceed max). */
NEFELE_API int nefele_ps(nefele_proc *out, size_t max, size_t *count);

/* Reserved for messaging, which follows: nefele_message, nefele_register, nefele_wait. */

#ifdef __cplusplus
}
#endif

#endif
