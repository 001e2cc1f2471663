/*
 * nefele.h: the in-process C API of a Nefele process.
 * Build with: cc prog.c $(pkg-config --cflags --libs nefele)
 *
 * Every call talks to the node's hostd over the api socket named by NEFELE_SOCKET
 * (set by hostd for every Nefele process). The library opens one connection per process
 * on first use and serialises calls on it with a mutex; calls are blocking
 * request/response. The messaging calls (NEFELE_1.1, at the end) use connections of their
 * own from a small pool, so a receive that waits holds up no other call. Calls made from a descendant of a Nefele process are allowed and
 * act on behalf of that process (hostd identifies callers by their peer credentials).
 * After fork() the child opens its own connection on its first call.
 *
 * Return values: 0 (or a documented non-negative value) on success, a negative
 * errno-style code on failure. nefele_last_error() then describes the failure, and
 * nefele_strerror(code) says what the code means.
 *
 *   Failures reported by the server: one row per code of the catalogue (enum ErrorCode in
 *   protos/nefele/v1/common.proto; the native tests are generated from this table and fail
 *   when a code has no row). Several codes share an errno; nefele_last_error() names the code.
 *   Codes the process socket can send:
 *     npid_not_found             NEFELE_ENPID_NOT_FOUND              -ESRCH
 *     not_running                NEFELE_ENOT_RUNNING                 -ESRCH
 *     program_not_found          NEFELE_EPROGRAM_NOT_FOUND           -ENOENT
 *     spawn_rejected             NEFELE_ESPAWN_REJECTED              -ENOSPC
 *     bad_request                NEFELE_EBAD_REQUEST                 -EINVAL
 *     node_unavailable           NEFELE_ENODE_UNAVAILABLE            -EAGAIN
 *     control_plane_unavailable  NEFELE_ECONTROL_PLANE_UNAVAILABLE   -EAGAIN
 *     request_conflict           NEFELE_EREQUEST_CONFLICT            -EEXIST
 *     tenant_not_found           NEFELE_ETENANT_NOT_FOUND            -ENXIO
 *     quota_exceeded             NEFELE_EQUOTA_EXCEEDED              -EDQUOT
 *     limit_exceeded             NEFELE_ELIMIT_EXCEEDED              -EBUSY
 *     internal_error             NEFELE_EINTERNAL                    -EREMOTEIO
 *     not_a_nefele_process       NEFELE_ENOT_A_NEFELE_PROCESS        -EPERM
 *     bad_frame                  NEFELE_EBAD_FRAME                   -EBADMSG
 *     mailbox_full               NEFELE_EMAILBOX_FULL                -ENOBUFS
 *     name_not_found             NEFELE_ENAME_NOT_FOUND              -EADDRNOTAVAIL
 *     timed_out                  NEFELE_ETIMED_OUT                   -ETIMEDOUT
 *     message_too_large          NEFELE_EMESSAGE_TOO_LARGE           -EMSGSIZE
 *     image_not_found            NEFELE_EIMAGE_NOT_FOUND             -ENOENT
 *   Codes only the REST API sends (a program calling it, see native/README.md):
 *     unauthenticated            NEFELE_EUNAUTHENTICATED             -ENOKEY
 *     forbidden                  NEFELE_EFORBIDDEN                   -EACCES
 *     tenant_exists              NEFELE_ETENANT_EXISTS               -EEXIST
 *     key_not_found              NEFELE_EKEY_NOT_FOUND               -ENOENT
 *     key_exists                 NEFELE_EKEY_EXISTS                  -EEXIST
 *     rate_limited               NEFELE_ERATE_LIMITED                -EAGAIN
 *     method_not_allowed         NEFELE_EMETHOD_NOT_ALLOWED          -EOPNOTSUPP
 *     payload_too_large          NEFELE_EPAYLOAD_TOO_LARGE           -E2BIG
 *     uri_too_long               NEFELE_EURI_TOO_LONG                -ENAMETOOLONG
 *     unsupported_media_type     NEFELE_EUNSUPPORTED_MEDIA_TYPE      -EPROTONOSUPPORT
 *     invalid_json               NEFELE_EINVALID_JSON                -EBADMSG
 *     route_not_found            NEFELE_EROUTE_NOT_FOUND             -ENOSYS
 *     supervisor_not_found       NEFELE_ESUPERVISOR_NOT_FOUND        -ENOENT
 *     supervisor_exists          NEFELE_ESUPERVISOR_EXISTS           -EEXIST
 *     digest_mismatch            NEFELE_EDIGEST_MISMATCH             -EILSEQ
 *     overlay_not_found          NEFELE_EOVERLAY_NOT_FOUND           -ENOENT
 *     not_development_mode       NEFELE_ENOT_DEVELOPMENT_MODE        -EROFS
 *   Codes only the C# SDK gives (no server sends them; a process that never became a Nefele
 *   process is an NPID whose monitor reports NEFELE_FAILED_TO_START):
 *     failed_to_start            NEFELE_EFAILED_TO_START             -ENOEXEC
 *   Codes only hostd's control socket sends (to the silo; listed for completeness):
 *     wrong_node                 NEFELE_EWRONG_NODE                  -EXDEV
 *     already_attached           NEFELE_EALREADY_ATTACHED            -EALREADY
 *   A code not in this list (a newer server)                         -EIO
 *   Local and transport failures:
 *     bad argument to the call                         -EINVAL
 *     a timeout given to the call passed               -ETIMEDOUT
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
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEFELE_API __attribute__((visibility("default")))

/* The version of this header. The library's soname carries the major (libnefele.so.1): it
 * changes only when a call or a struct layout changes incompatibly. The structs' sizes are
 * part of the ABI (nefele_ps fills an array of them), so within a major they never grow: a
 * minor release adds calls (bound to a new version node NEFELE_1.<minor> of the library) and
 * gives meaning to `reserved` words, where zero keeps the old behaviour. A program built
 * against an older minor keeps working with a newer library. */
#define NEFELE_VERSION_MAJOR 1
#define NEFELE_VERSION_MINOR 3
#define NEFELE_VERSION_PATCH 0

/* Failures the server reports (see the table above); each is a negative errno value. */
#define NEFELE_ENPID_NOT_FOUND (-ESRCH)
#define NEFELE_ENOT_RUNNING (-ESRCH)
#define NEFELE_EPROGRAM_NOT_FOUND (-ENOENT)
#define NEFELE_ESPAWN_REJECTED (-ENOSPC)
#define NEFELE_EBAD_REQUEST (-EINVAL)
#define NEFELE_ENODE_UNAVAILABLE (-EAGAIN)
#define NEFELE_ECONTROL_PLANE_UNAVAILABLE (-EAGAIN)
#define NEFELE_EREQUEST_CONFLICT (-EEXIST)
#define NEFELE_ETENANT_NOT_FOUND (-ENXIO)
#define NEFELE_EQUOTA_EXCEEDED (-EDQUOT)
#define NEFELE_ELIMIT_EXCEEDED (-EBUSY)
#define NEFELE_EINTERNAL (-EREMOTEIO)
#define NEFELE_ENOT_A_NEFELE_PROCESS (-EPERM)
#define NEFELE_EBAD_FRAME (-EBADMSG)
#define NEFELE_EUNAUTHENTICATED (-ENOKEY)
#define NEFELE_EFORBIDDEN (-EACCES)
#define NEFELE_ETENANT_EXISTS (-EEXIST)
#define NEFELE_EKEY_NOT_FOUND (-ENOENT)
#define NEFELE_EKEY_EXISTS (-EEXIST)
#define NEFELE_ERATE_LIMITED (-EAGAIN)
#define NEFELE_EMETHOD_NOT_ALLOWED (-EOPNOTSUPP)
#define NEFELE_EPAYLOAD_TOO_LARGE (-E2BIG)
#define NEFELE_EURI_TOO_LONG (-ENAMETOOLONG)
#define NEFELE_EUNSUPPORTED_MEDIA_TYPE (-EPROTONOSUPPORT)
#define NEFELE_EINVALID_JSON (-EBADMSG)
#define NEFELE_EROUTE_NOT_FOUND (-ENOSYS)
#define NEFELE_EWRONG_NODE (-EXDEV)
#define NEFELE_EALREADY_ATTACHED (-EALREADY)
#define NEFELE_EFAILED_TO_START (-ENOEXEC)
#define NEFELE_EMAILBOX_FULL (-ENOBUFS)
#define NEFELE_ENAME_NOT_FOUND (-EADDRNOTAVAIL)
#define NEFELE_ETIMED_OUT (-ETIMEDOUT)
#define NEFELE_EMESSAGE_TOO_LARGE (-EMSGSIZE)
#define NEFELE_ESUPERVISOR_NOT_FOUND (-ENOENT)
#define NEFELE_ESUPERVISOR_EXISTS (-EEXIST)
#define NEFELE_EIMAGE_NOT_FOUND (-ENOENT)
#define NEFELE_EDIGEST_MISMATCH (-EILSEQ)
#define NEFELE_EOVERLAY_NOT_FOUND (-ENOENT)
#define NEFELE_ENOT_DEVELOPMENT_MODE (-EROFS)

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

/* Options for nefele_spawn / nefele_nspawn. Zeroed fields mean "default": zero-initialise
 * the struct (= { 0 } or designated initialisers), so that `reserved` is zero and a caller
 * keeps its meaning when a later minor release gives those words one.
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
    int tty; /* non-zero: run on a pseudo-terminal (its stdin, stdout, stderr and controlling
              * terminal); its node keeps the master, `nef attach NPID` types into it. Nodes
              * on the systemd engine refuse it (-EINVAL). Was the first reserved word. */
    int reserved_int;      /* zero */
    long long reserved[7]; /* zero */
} nefele_spawn_opts;

/* How a process ended. */
typedef struct nefele_exit {
    int state;       /* NEFELE_EXITED, NEFELE_FAILED_TO_START or NEFELE_LOST */
    int exit_code;   /* exit status when it exited normally, else -1 */
    int signal;      /* terminating signal, else 0 */
    int core_dumped; /* non-zero if it dumped core */
    int oom_killed;  /* non-zero if the OOM killer ended it (over its memory limit) */
    char reason[256]; /* why, for FAILED_TO_START and LOST (truncated); else "" */
    char npid[64];    /* the process that ended */
    long long reserved[4]; /* zeroed by the library */
} nefele_exit;

/* One row of nefele_ps. Strings are NUL-terminated and truncated to fit. */
typedef struct nefele_proc {
    char npid[64];
    char node[64];
    int pid;   /* OS pid on its node */
    int state; /* NEFELE_* state */
    long long cpu_millis;      /* reserved CPU in millicores (0 = best effort) */
    long long memory_bytes;    /* memory limit (0 = none) */
    long long started_unix_ms;
    char command[256];
    char name[64];                /* the name it was given ("" if none) */
    long long cpu_usage_ns;       /* CPU time used so far (its cgroup's usage; 0 when unknown) */
    long long memory_usage_bytes; /* memory in use now (its cgroup's current; 0 when unknown) */
    long long reserved[4];        /* zeroed by the library */
} nefele_proc;

/* The version of the library loaded at run time, e.g. "1.0.0". */
NEFELE_API const char *nefele_version(void);

/* Message describing the last failed call on this thread ("" if none yet): the server's code
 * once, then its sentence, e.g. "npid_not_found: no process 01J... in this tenant". */
NEFELE_API const char *nefele_last_error(void);

/* What a negative code returned by this library means (a NEFELE_E* value or a transport
 * failure from the table above), as one static sentence; never NULL. */
NEFELE_API const char *nefele_strerror(int code);

/* The errno of a code of the catalogue, as the table above gives it: for a program that calls
 * the REST API itself (its problem details carry "code": "program_not_found" -> -ENOENT).
 * -EIO for NULL or what is not a code. */
NEFELE_API int nefele_error_code(const char *code);

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

/* nefele_monitor that gives up after timeout_ms milliseconds with -ETIMEDOUT (the process
 * keeps running; *out is untouched). 0 only looks; a negative timeout_ms waits as long as
 * the process lives, as nefele_monitor. */
NEFELE_API int nefele_monitor_timeout(const npid_t *npid, nefele_exit *out, int timeout_ms);

/* Reads the process's captured output (stdout and stderr, interleaved as written) from byte
 * *offset (0: the start) into buf, at most cap bytes (at most 1 MiB a call).
 *   timeout_ms == 0: answers at once with what is there;
 *   timeout_ms  > 0: when there is nothing past *offset yet, waits up to that long for it;
 *   timeout_ms  < 0: waits until there is output past *offset or the process has ended.
 * Returns the number of bytes stored (>= 0) and advances *offset past them. A return of 0
 * means: with *complete non-zero, the process has ended and everything it wrote was read;
 * otherwise nothing came within timeout_ms. Output is kept up to a bound per process: when
 * the bytes at *offset were dropped, the read starts at the oldest byte kept (the new
 * *offset minus the return value). complete may be NULL. A call that waits uses a
 * connection of its own, so other threads' calls are not held up. */
NEFELE_API ssize_t nefele_logs(const npid_t *npid, long long *offset, void *buf, size_t cap,
                               int timeout_ms, int *complete);

/* Sends signal to the process (wherever it runs). */
NEFELE_API int nefele_kill(int signal, const npid_t *npid);

/* Lists the tenant's processes: fills up to max rows of out (out may be NULL when max
 * is 0) and sets *count to the total number (which may exceed max). */
NEFELE_API int nefele_ps(nefele_proc *out, size_t max, size_t *count);

/* ---- Messaging (NEFELE_1.1): the single IPC space of the tenant ------------------------
 *
 * Every Nefele process has a mailbox, addressed by its NPID, from the moment it is placed
 * until it ends; a program outside the cluster (the C# SDK, a REST caller) has one addressed
 * by an NPID-shaped mailbox address. A destination is an NPID or mailbox address, a name
 * (1-64 of letters, digits, '.', '_', '-', starting with a letter or digit, never of the
 * shape of an NPID), a numeric service id "#80", or (NEFELE_MODE_PUBLISH) a topic. Several
 * holders of one name form a group. Names and messages never cross a tenant.
 *
 * Guarantees: order is FIFO per sender -> receiver pair. Delivery is at-most-once: a message
 * in flight when its receiver's node dies, or still queued when its receiver ends, is dropped
 * (and counted). A send with NEFELE_MSG_ACK returns once the message is in every target
 * mailbox; without it, once hostd has accepted it for routing. A full mailbox never drops a
 * message: the send waits up to wait_ms for room, then fails with -ENOBUFS (mailbox_full).
 * A message is at most 1 MiB of data with an optional tag of at most 64 printable ASCII
 * characters; a larger one fails with -EMSGSIZE (message_too_large). A mailbox holds 10,000
 * messages or 64 MiB unless the spawn said otherwise.
 *
 * Threads: the messaging calls take a connection of their own from a small per-process pool
 * (a second one is opened when another thread holds the first), so a receive or a wait that
 * blocks never holds up the calls of other threads. One wait on the server lasts at most 10 s;
 * longer timeouts are several requests, made here. */

/* Delivery modes: the low byte of nefele_message's flags. */
#define NEFELE_MODE_DEFAULT 0   /* to an NPID: that mailbox; to a name or "#id": NEFELE_MODE_ANY */
#define NEFELE_MODE_ANY 1       /* one holder of the name, round-robin */
#define NEFELE_MODE_FAILOVER 2  /* the first live holder in registration order */
#define NEFELE_MODE_ALL 3       /* every holder of the name (the group) */
#define NEFELE_MODE_BROADCAST 4 /* every process of the tenant but the sender (to is ignored) */
#define NEFELE_MODE_PUBLISH 5   /* every subscriber of the topic named by to */
#define NEFELE_MODE_MASK 0xff
/* Flag: return once the message is in every target mailbox (an acknowledged send). */
#define NEFELE_MSG_ACK 0x100

/* Flag of nefele_names: list topics (with their subscribers) instead of names. */
#define NEFELE_NAMES_TOPICS 1

/* A received message. Strings are NUL-terminated; data is allocated by the library (with a
 * NUL byte after its len bytes, for convenience) and released by nefele_msg_free. */
typedef struct nefele_msg {
    char from[64];       /* the sender's NPID or mailbox address */
    char to[80];         /* the destination as the sender wrote it: NPID, name, "#80", topic, "*" */
    char tag[80];        /* "" when the sender gave none */
    void *data;          /* len bytes */
    size_t len;
    unsigned long long seq;  /* per (sender, this mailbox), from 1: a gap shows dropped messages */
    long long sent_unix_ms;  /* when it was sent (the sender's node's clock) */
    unsigned remaining;      /* messages still queued in the mailbox after this one */
    long long reserved[4];   /* zeroed by the library */
} nefele_msg;

/* A holder of a name (or a subscriber of a topic). */
typedef struct nefele_holder {
    char npid[64]; /* a process or an external mailbox address */
    char node[64]; /* the node it runs on; "" for an external mailbox */
} nefele_holder;

/* One entry of nefele_names. */
typedef struct nefele_name {
    char name[80];            /* a name, "#80", or a topic */
    size_t n_holders;
    nefele_holder *holders;   /* n_holders entries, in registration order */
    long long reserved[2];    /* zeroed by the library */
} nefele_name;

/* Sends len bytes of data (data may be NULL when len is 0) to `to` (see above) with an
 * optional tag (NULL or "" for none). flags: a NEFELE_MODE_* value, | NEFELE_MSG_ACK for an
 * acknowledged send. wait_ms: when a target mailbox is full, 0 fails at once with -ENOBUFS,
 * > 0 waits up to that long for room (at most 10000), then -ENOBUFS.
 * Returns the number of mailboxes the message was put in (ack) or routed to (>= 0; 0 for a
 * broadcast or publish that reached nobody). Errors: -EADDRNOTAVAIL a name nobody holds,
 * -ESRCH an NPID that is not running (acknowledged sends; without ack such a message is
 * dropped and counted), -ENOBUFS mailbox_full, -EMSGSIZE message_too_large, -EINVAL a
 * malformed destination or tag, -EAGAIN the node has no silo and the target is elsewhere. */
NEFELE_API int nefele_message(const char *to, const char *tag, const void *data, size_t len, int flags,
                              int wait_ms);

/* One message of nefele_message_many. The caller fills to, tag (NULL or "" for none), data and
 * len; the library sets result. */
typedef struct nefele_out {
    const char *to;
    const char *tag;
    const void *data;
    size_t len;
    int result;             /* what nefele_message would have returned for this message */
    long long reserved[2];  /* set to zero */
} nefele_out;

/* Sends n messages as n nefele_message calls with the same flags and wait_ms would, in order,
 * but pipelined on one connection to hostd: the requests go out together and their answers
 * come back together, so a batch costs a few round trips where a loop of nefele_message costs
 * one per message (NEFELE_1.2). Each message keeps every guarantee of its own send (order per
 * pair, bounds, ack); one that fails does not stop those after it, as in a loop that goes on
 * after an error. Returns how many succeeded (msgs[i].result >= 0; n when all did), with
 * nefele_last_error() naming the first that failed; a negative code when nothing was sent (a
 * malformed message, named by its index, or hostd unreachable). When the connection breaks
 * midway, the messages not answered have result -ECONNRESET: they may or may not have been
 * delivered. */
NEFELE_API int nefele_message_many(nefele_out *msgs, size_t n, int flags, int wait_ms);

/* nefele_message(topic, tag, data, len, NEFELE_MODE_PUBLISH | (flags & NEFELE_MSG_ACK), wait_ms):
 * every subscriber of topic gets the message. Returns how many did (0 when none). */
NEFELE_API int nefele_publish(const char *topic, const char *tag, const void *data, size_t len, int flags,
                              int wait_ms);

/* Takes the oldest message of the caller's mailbox (only those with this tag when tag is not
 * NULL or "": a selective receive, the others stay queued in order) and fills *out; release it
 * with nefele_msg_free. timeout_ms == 0 only looks, > 0 waits up to that long, < 0 waits until
 * a message comes. Nothing came in time: -ETIMEDOUT (timed_out), *out is zeroed. */
NEFELE_API int nefele_recv(nefele_msg *out, int timeout_ms, const char *tag);

/* A batch receive (NEFELE_1.2): as nefele_recv, but takes up to max messages at once into
 * out[0..max): it waits (as nefele_recv does) for the first, then also takes those queued behind
 * it (with the tag, when given), oldest first, in one round trip to hostd; hostd gives at most
 * 1,024 and about 2 MiB of data beyond the first per call. Returns how many it took (>= 1),
 * each to be released with nefele_msg_free; out[i].remaining counts what is still queued
 * after out[i]. Nothing came in time: -ETIMEDOUT, out[0..max) zeroed. */
NEFELE_API int nefele_recv_many(nefele_msg *out, size_t max, int timeout_ms, const char *tag);

/* Frees what nefele_recv / nefele_recv_result put in *msg (data) and zeroes it; NULL is fine. */
NEFELE_API void nefele_msg_free(nefele_msg *msg);

/* Starts a receive without blocking, as nefele_monitor_fd does: returns a file descriptor
 * (>= 0; its own connection, request already sent) that becomes readable when a message (with
 * this tag, when tag is not NULL or "") is there or when timeout_ms has passed (at most 10000;
 * a negative timeout_ms is 10000), for use with poll/epoll. Then call nefele_recv_result.
 * Closing the fd instead may lose a message hostd was already handing over on it. */
NEFELE_API int nefele_recv_fd(const char *tag, int timeout_ms);

/* Reads the answer to nefele_recv_fd (blocking if it is not there yet), fills *out as
 * nefele_recv does (-ETIMEDOUT when the wait ended empty), and closes fd in every case. */
NEFELE_API int nefele_recv_result(int fd, nefele_msg *out);

/* Registers npid (NULL: the caller) under name (a name or "#80"). Several processes may hold
 * one name (a group); a name dies with its holder, also when its node is lost. Returns the
 * number of holders after the registration (>= 1). -EINVAL a malformed name (e.g. one of the
 * shape of an NPID), -EBUSY (limit_exceeded) too many names, -EAGAIN no silo. */
NEFELE_API int nefele_register(const char *name, const npid_t *npid);

/* Removes npid (NULL: the caller) from name's holders. -EADDRNOTAVAIL when it does not hold it. */
NEFELE_API int nefele_unregister(const char *name, const npid_t *npid);

/* Blocks until name has at least one holder (at once if it has) and stores up to max of them
 * in out (out may be NULL when max is 0); *count (may be NULL) gets how many there are.
 * timeout_ms as nefele_recv; nobody registered it in time: -ETIMEDOUT. Served from the node's
 * copy of the tenant's table: no cluster round trip. */
NEFELE_API int nefele_wait(const char *name, int timeout_ms, npid_t *out, size_t max, size_t *count);

/* Lists the tenant's names (flags & NEFELE_NAMES_TOPICS: its topics) that start with prefix
 * (NULL or "": all), in *out as an array of *count entries allocated by the library (NULL
 * when there are none); release it with nefele_names_free. */
NEFELE_API int nefele_names(const char *prefix, int flags, nefele_name **out, size_t *count);

/* Frees what nefele_names returned; NULL is fine. */
NEFELE_API void nefele_names_free(nefele_name *names, size_t count);

/* Subscribes npid (NULL: the caller) to topic; a subscription dies with its process. */
NEFELE_API int nefele_subscribe(const char *topic, const npid_t *npid);

/* Ends npid's (NULL: the caller's) subscription to topic. */
NEFELE_API int nefele_unsubscribe(const char *topic, const npid_t *npid);

/* ---- Logs of many processes (NEFELE_1.3) ------------------------------------------------
 *
 * The output of many of the tenant's processes at once, across nodes, merged in time order,
 * as records: what hostd read from one stream of one process at one time (stdout and stderr
 * kept apart). A read is a cursor: nefele_logs_open gives the filter, nefele_logs_next hands
 * out one record at a time (fetching them from the silo in batches, on a connection of the
 * cursor's own, so other threads' calls are not held up), nefele_logs_close ends it. A cursor
 * is used by one thread at a time. For one process by offset, nefele_logs above is simpler. */

/* Output streams, as in nefele_log_record.stream and nefele_logs_filter.stream. */
#define NEFELE_STDOUT 1
#define NEFELE_STDERR 2

/* Which processes' output a cursor reads. Zero-initialise it: every field left zero is no
 * filter, so { 0 } reads every process of the tenant. Every filter given must match. */
typedef struct nefele_logs_filter {
    const npid_t *npids;  /* only these processes (n_npids of them); may be NULL when n_npids is 0 */
    size_t n_npids;
    const char *name;     /* only processes spawned with this name; NULL or "": any */
    const char *node;     /* only processes placed on this node; NULL or "": any */
    int stream;           /* NEFELE_STDOUT or NEFELE_STDERR; 0: both */
    int follow;           /* non-zero: keep reading new records, and processes that start later
                           * and match, until closed (or until_unix_nano has passed; or, with only
                           * npids, until they have all ended) */
    long long since_unix_nano; /* only records read at or after this time (ns since the Unix epoch, UTC); 0: no bound */
    long long until_unix_nano; /* only records read before this time; 0: no bound */
    long long reserved[4];     /* zero */
} nefele_logs_filter;

/* One record, as nefele_logs_next fills it. data points into the cursor's buffer: valid until
 * the next nefele_logs_next or nefele_logs_close on that cursor (copy what you keep). */
typedef struct nefele_log_record {
    char npid[64];            /* the process that wrote it */
    char name[64];            /* its name given at spawn ("" if none) */
    char node[64];            /* the node it ran on */
    int stream;               /* NEFELE_STDOUT or NEFELE_STDERR */
    int reserved_int;
    long long time_unix_nano; /* when hostd read it (ns since the Unix epoch, UTC); never decreases within a process */
    long long offset;         /* where its first byte is among all the process wrote (as nefele_logs counts) */
    const void *data;         /* the bytes, as the process wrote them (not NUL-terminated) */
    size_t len;
} nefele_log_record;

typedef struct nefele_logs_cursor nefele_logs_cursor;

/* Opens a read of the tenant's output that filter selects (NULL: all of it) and stores the
 * cursor in *out (NULL on failure). The silo checks the filter now: -EINVAL for a malformed
 * NPID or name, a stream other than the two, a negative time or until before since (the message
 * says which), -EBUSY (limit_exceeded) when the tenant already holds 64 open cursors in its
 * silo, -EAGAIN when the silo cannot be reached. The records are not read yet: call
 * nefele_logs_next. Release the cursor with nefele_logs_close (the silo forgets a cursor left
 * unused for 60 s; nefele_logs_next then fails with -EINVAL, bad_request). */
NEFELE_API int nefele_logs_open(const nefele_logs_filter *filter, nefele_logs_cursor **out);

/* Fills *record with the next record. Returns 1 when it did; 0 when nothing more will come
 * (without follow: every matching record was read; with follow: the read ended); -ETIMEDOUT
 * when nothing came within timeout_ms (a follower: the cursor stays usable, call again).
 *   timeout_ms == 0: answers at once with what is there;
 *   timeout_ms  > 0: when no record is there yet, waits up to that long for one;
 *   timeout_ms  < 0: waits until there is one or the read ends.
 * Other failures are negative codes as above; after one, the cursor can only be closed. */
NEFELE_API int nefele_logs_next(nefele_logs_cursor *cursor, nefele_log_record *record, int timeout_ms);

/* Ends the read (the silo forgets it at once rather than after a minute) and frees the cursor;
 * NULL is fine. */
NEFELE_API void nefele_logs_close(nefele_logs_cursor *cursor);

#ifdef __cplusplus
}
#endif

#endif
