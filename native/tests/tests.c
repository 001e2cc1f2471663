/*
 * Tests for libnefele-spawn, the handshake shim and libnefele.
 * Run with `make -C native test`; NEFELE_BUILD_DIR points at native/build.
 * Every child is reaped, every wait is bounded, temp files live in one mkdtemp dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>
#include "nefele/v1/process_api.pb-c.h"
#include "nefele.h"
#include "nefele_spawn.h"
#include "frame.h"
#include "handshake_codec.h"

#define TIMEOUT_MS 5000

static int passed, failed;
static char tmpdir[256];
static char shim_path[512];
static char spawnlib_path[512];

static void check(int ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        passed++;
        printf("ok   %s\n", name);
        return;
    }
    failed++;
    printf("FAIL %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* A test whose set-up failed has tested nothing: that is a failure, not a silent return. */
static void setup_failed(const char *name, const char *what)
{
    check(0, name, "set-up failed: %s: %s", what, strerror(errno));
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid up to timeout_ms (pidfd + poll); kills and reaps it on timeout. */
static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int timed_out = 0;
    if (pfd >= 0) {
        struct pollfd p = { pfd, POLLIN, 0 };
        int r;
        do {
            r = poll(&p, 1, timeout_ms);
        } while (r < 0 && errno == EINTR);
        close(pfd);
        if (r == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
        }
    }
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    return timed_out ? -1 : 0;
}

/* Reads fds until both hit EOF or the deadline. Buffers are NUL-terminated. */
static void read_outputs(int out_fd, char *out, size_t out_cap, int err_fd, char *err, size_t err_cap,
                         int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t olen = 0, elen = 0;
    out[0] = err[0] = '\0';
    int fds[2] = { out_fd, err_fd };
    while (fds[0] >= 0 || fds[1] >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
        int r = poll(p, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char *buf = i ? err : out;
            size_t *len = i ? &elen : &olen;
            size_t cap = i ? err_cap : out_cap;
            char sink[256];
            ssize_t n = *len + 1 < cap ? read(fds[i], buf + *len, cap - 1 - *len) : read(fds[i], sink, sizeof sink);
            if (n <= 0) {
                fds[i] = -1;
                continue;
            }
            if (*len + 1 < cap) {
                *len += (size_t)n;
                buf[*len] = '\0';
            }
        }
    }
}

struct run {
    pid_t pid;
    int out_fd, err_fd;
    char out[4096], err[4096];
    int status;
    int timed_out;
};

static int start_as(struct run *r, const char *path, char *const argv[], char *const envp[],
                    const char *cwd, const struct nefele_spawn_identity *id)
{
    int o[2], e[2];
    if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
        return -1;
    int stage = 0, err = 0;
    r->pid = nefele_spawn_process(path, argv, envp, cwd, NULL, -1, -1, o[1], e[1], id, NULL, &stage, &err);
    close(o[1]);
    close(e[1]);
    r->out_fd = o[0];
    r->err_fd = e[0];
    if (r->pid < 0) {
        close(o[0]);
        close(e[0]);
        fprintf(stderr, "spawn %s failed: stage %d: %s\n", path, stage, strerror(err));
        r->status = stage;
        return -1;
    }
    return 0;
}

static int start(struct run *r, const char *path, char *const argv[], char *const envp[])
{
    return start_as(r, path, argv, envp, NULL, NULL);
}

static void finish(struct run *r)
{
    read_outputs(r->out_fd, r->out, sizeof r->out, r->err_fd, r->err, sizeof r->err, TIMEOUT_MS);
    close(r->out_fd);
    close(r->err_fd);
    r->timed_out = wait_exit(r->pid, TIMEOUT_MS, &r->status) < 0;
}

static int exited_with(const struct run *r, int code)
{
    return !r->timed_out && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
}

/* ---- libnefele-spawn -------------------------------------------------------------- */

static char *const no_env[] = { (char *)"PATH=/usr/bin:/bin", NULL };

static void test_spawn_true(void)
{
    char *argv[] = { (char *)"/bin/true", NULL };
    int stage = -1, err = -1, status = 0;
    pid_t pid = nefele_spawn_process("/bin/true", argv, no_env, NULL, NULL, -1, -1, -1, -1, NULL, NULL, &stage, &err);
    if (pid <= 0) {
        check(0, "spawn /bin/true", "stage %d errno %d", stage, err);
        return;
    }
    int to = wait_exit(pid, TIMEOUT_MS, &status);
    check(to == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && stage == 0 && err == 0,
          "spawn /bin/true exits 0", "status %#x", status);
}

/* The pidfd the spawn hands back becomes readable when the child exits, before it is reaped. */
static void test_spawn_pidfd_reports_exit(void)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"exit 7", NULL };
    int stage = -1, err = -1, pidfd = -2, status = 0;
    pid_t pid = nefele_spawn_process("/bin/sh", argv, no_env, NULL, NULL, -1, -1, -1, -1, NULL, &pidfd, &stage, &err);
    if (pid <= 0) {
        check(0, "spawn with a pidfd", "stage %d errno %d", stage, err);
        return;
    }
    check(pidfd >= 0 && (fcntl(pidfd, F_GETFD) & FD_CLOEXEC), "spawn gives a close-on-exec pidfd", "pidfd %d", pidfd);
    if (pidfd < 0) {
        wait_exit(pid, TIMEOUT_MS, &status);
        return;
    }
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    int ready = poll(&p, 1, TIMEOUT_MS);
    check(ready == 1 && (p.revents & POLLIN), "pidfd is readable once the child exited", "poll %d revents %#x", ready, p.revents);
    /* Readable means exited: the status is there without blocking. */
    pid_t reaped = waitpid(pid, &status, WNOHANG);
    check(reaped == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7, "exit status after the pidfd said so",
          "waitpid %d status %#x", (int)reaped, status);
    if (reaped != pid)
        wait_exit(pid, TIMEOUT_MS, &status);
    close(pidfd);
}

/* On cgroup v2 the child is created in its cgroup (CLONE_INTO_CGROUP): /proc/<pid>/cgroup
 * names it from the start. Uses the unified hierarchy (pure v2, or a hybrid's
 * /sys/fs/cgroup/unified, which needs no controller for membership); skipped without one. */
static void test_spawn_into_cgroup_v2(void)
{
    const char *roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
    const char *root = NULL;
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        char probe[256];
        snprintf(probe, sizeof probe, "%s/cgroup.controllers", roots[i]);
        if (access(probe, F_OK) == 0 && access(roots[i], W_OK) == 0) {
            root = roots[i];
            break;
        }
    }
    if (!root) {
        printf("skip: no writable cgroup v2 hierarchy for the CLONE_INTO_CGROUP test\n");
        return;
    }
    char dir[256], want[128];
    snprintf(want, sizeof want, "/nefele-native-test-%d", (int)getpid());
    snprintf(dir, sizeof dir, "%s%s", root, want);
    if (mkdir(dir, 0755) != 0) {
        check(0, "make a cgroup v2 directory", "%s: %s", dir, strerror(errno));
        return;
    }
    int cg = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    check(cg >= 0, "open the cgroup v2 directory", "%s: %s", dir, strerror(errno));
    char *argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
    int stage = -1, err = -1, status = 0;
    pid_t pid = cg < 0 ? -1 : nefele_spawn_process("/bin/sleep", argv, no_env, NULL, NULL, cg, -1, -1, -1, NULL, NULL, &stage, &err);
    check(pid > 0, "spawn into a cgroup v2 directory", "stage %d errno %d (%s)", stage, err, strerror(err));
    if (pid > 0) {
        char path[64], line[512] = "";
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
        FILE *f = fopen(path, "r");
        int found = 0;
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "0::", 3) == 0) {
                line[strcspn(line, "\n")] = 0;
                found = strcmp(line + 3, want) == 0;
                break;
            }
        }
        if (f)
            fclose(f);
        check(found, "the child lives in its cgroup v2 directory", "0:: line is '%s', want '%s'", line, want);
        kill(pid, SIGKILL);
        wait_exit(pid, TIMEOUT_MS, &status);
    }
    if (cg >= 0)
        close(cg);
    check(rmdir(dir) == 0, "the cgroup v2 directory is removed after the child", "%s: %s", dir, strerror(errno));
}

static void expect_failure(const char *name, const char *path, const char *cwd, const char *const *cgroups,
                           int want_stage, int want_errno)
{
    char *argv[] = { (char *)path, NULL };
    int stage = 0, err = 0;
    pid_t pid = nefele_spawn_process(path, argv, no_env, cwd, cgroups, -1, -1, -1, -1, NULL, NULL, &stage, &err);
    if (pid > 0) {
        int st;
        wait_exit(pid, TIMEOUT_MS, &st);
    }
    check(pid == -1 && stage == want_stage && err == want_errno, name, "pid %d stage %d errno %d (%s)",
          (int)pid, stage, err, strerror(err));
    /* The failed child must already be reaped: nothing is left to wait for. */
    int st;
    check(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "failed spawn leaves no child", "a child remains");
}

static void test_spawn_failures(void)
{
    expect_failure("nonexistent path -> stage 4 ENOENT", "/nonexistent/program", NULL, NULL, 4, ENOENT);

    char plain[512];
    snprintf(plain, sizeof plain, "%s/not-executable", tmpdir);
    int fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, "#!/bin/sh\n", 10);
        close(fd);
    }
    expect_failure("non-executable file -> stage 4 EACCES", plain, NULL, NULL, 4, EACCES);
    expect_failure("bad cwd -> stage 3 ENOENT", "/bin/true", "/nonexistent/dir", NULL, 3, ENOENT);
    const char *cgroups[] = { "/nonexistent/cgroup/cgroup.procs", NULL };
    expect_failure("bad cgroup -> stage 2 ENOENT", "/bin/true", NULL, cgroups, 2, ENOENT);
}

static void test_spawn_stdout(void)
{
    char *argv[] = { (char *)"/bin/echo", (char *)"hi", NULL };
    struct run r;
    if (start(&r, "/bin/echo", argv, no_env) < 0) {
        check(0, "stdout redirected to a pipe", "spawn failed");
        return;
    }
    finish(&r);
    check(exited_with(&r, 0) && strcmp(r.out, "hi\n") == 0, "stdout redirected to a pipe", "out \"%s\"", r.out);
}

static void test_spawn_signals(void)
{
    struct sigaction ign = { 0 }, old_pipe;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old_mask);

    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)"kill -PIPE $$; exit 3", NULL };
    struct run r;
    if (start(&r, "/bin/sh", argv, no_env) == 0) {
        finish(&r);
        check(!r.timed_out && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGPIPE,
              "SIGPIPE disposition reset to default", "status %#x", r.status);
    }
    char *argv2[] = { (char *)"/bin/sh", (char *)"-c", (char *)"kill -TERM $$; exit 3", NULL };
    if (start(&r, "/bin/sh", argv2, no_env) == 0) {
        finish(&r);
        check(!r.timed_out && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM,
              "signal mask cleared in the child", "status %#x", r.status);
    }

    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
}

static void test_spawn_session_and_fds(void)
{
    /* A descriptor without CLOEXEC must still not reach the child. */
    int leak[2];
    if (pipe(leak) < 0) {
        setup_failed("child in its own session", "pipe");
        return;
    }
    char script[256];
    snprintf(script, sizeof script, "test -e /proc/$$/fd/%d && echo leaked || echo closed; read x", leak[1]);
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", script, NULL };

    int in[2], o[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        setup_failed("child in its own session", "pipe2 stdin");
        close(leak[0]);
        close(leak[1]);
        return;
    }
    if (pipe2(o, O_CLOEXEC) < 0) {
        setup_failed("child in its own session", "pipe2 stdout");
        close(in[0]);
        close(in[1]);
        close(leak[0]);
        close(leak[1]);
        return;
    }
    int stage = 0, err = 0;
    pid_t pid = nefele_spawn_process("/bin/sh", argv, no_env, "/", NULL, -1, in[0], o[1], -1, NULL, NULL, &stage, &err);
    close(in[0]);
    close(o[1]);
    close(leak[0]);
    close(leak[1]);
    if (pid <= 0) {
        check(0, "child in its own session", "spawn failed stage %d errno %d", stage, err);
        close(in[1]);
        close(o[0]);
        return;
    }
    /* The child blocks on `read` until stdin closes, so it is alive here. */
    pid_t sid = getsid(pid);
    check(sid == pid, "child in its own session", "sid %d pid %d", (int)sid, (int)pid);
    close(in[1]);
    char out[256], errbuf[8];
    read_outputs(o[0], out, sizeof out, -1, errbuf, sizeof errbuf, TIMEOUT_MS);
    close(o[0]);
    int status;
    int to = wait_exit(pid, TIMEOUT_MS, &status);
    check(to == 0 && strcmp(out, "closed\n") == 0, "other descriptors closed in the child", "out \"%s\"", out);
}

/* The child drops to the given uid/gid with exactly one group, no new privileges and the
 * given limits, and cwd is entered as that uid. Needs root (skipped otherwise). */
/* The framing: round trip, the size limit both ways, end of file and a deadline. */
static void test_frame(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        setup_failed("frame round trip", "socketpair");
        return;
    }
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    resp.id = 77;
    uint8_t *body = NULL;
    size_t len = 0;
    int rc = nefele_frame_send(sv[0], &resp.base);
    int rc2 = rc == 0 ? nefele_frame_recv(sv[1], &body, &len, nefele_frame_now_ms() + TIMEOUT_MS) : rc;
    Nefele__V1__ProcResponse *back = rc2 == 0 ? nefele__v1__proc_response__unpack(NULL, len, body) : NULL;
    check(back && back->id == 77, "frame round trip", "rc %d/%d", rc, rc2);
    if (back)
        nefele__v1__proc_response__free_unpacked(back, NULL);
    free(body);

    uint8_t huge[4] = { 0x00, 0x40, 0x00, 0x01 }; /* 4 MiB + 1 */
    (void)!write(sv[0], huge, 4);
    rc = nefele_frame_recv(sv[1], &body, &len, -1);
    check(rc == -EMSGSIZE && len == (4u << 20) + 1 && body == NULL, "frame over 4 MiB -> -EMSGSIZE", "rc %d len %zu", rc, len);

    rc = nefele_frame_recv(sv[1], &body, &len, nefele_frame_now_ms() + 50);
    check(rc == -ETIMEDOUT, "no frame before the deadline -> -ETIMEDOUT", "rc %d", rc);

    uint8_t half[2] = { 0, 0 };
    (void)!write(sv[0], half, 2);
    close(sv[0]);
    rc = nefele_frame_recv(sv[1], &body, &len, -1);
    check(rc == NEFELE_FRAME_EOF, "connection closed mid-frame -> NEFELE_FRAME_EOF", "rc %d", rc);
    close(sv[1]);
}

/* The shim's hand-written handshake codec agrees with protobuf-c both ways. */
static int slice_is(struct nefele_hs_str v, const char *want)
{
    return v.len == strlen(want) && memcmp(v.s, want, v.len) == 0;
}

static void test_handshake_codec(void)
{
    static const struct {
        uint64_t id;
        const char *token;
        int32_t pid;
    } hellos[] = {
        { 1, "0123456789abcdef0123456789abcdef", 4242 },
        { 1, "", 0 },
        { 300, "t", 1 },
        { 1, "x", -5 },
        { 1, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!", 2147483647 },
    };
    for (size_t i = 0; i < sizeof hellos / sizeof hellos[0]; i++) {
        Nefele__V1__Hello hello = NEFELE__V1__HELLO__INIT;
        hello.token = (char *)hellos[i].token;
        hello.pid = hellos[i].pid;
        Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
        req.id = hellos[i].id;
        req.body_case = NEFELE__V1__PROC_REQUEST__BODY_HELLO;
        req.hello = &hello;
        uint8_t want[512], got[512];
        size_t wlen = protobuf_c_message_pack(&req.base, want);
        size_t glen = nefele_hs_encode_hello(got, sizeof got, hellos[i].id, hellos[i].token, hellos[i].pid);
        check(glen == wlen + 4 && memcmp(got + 4, want, wlen) == 0 &&
                  (size_t)(got[0] << 24 | got[1] << 16 | got[2] << 8 | got[3]) == wlen,
              "hand-encoded hello equals protobuf-c's", "case %zu: %zu vs %zu bytes", i, glen, wlen + 4);
    }
    uint8_t tiny[8];
    check(nefele_hs_encode_hello(tiny, sizeof tiny, 1, "0123456789", 1) == 0, "hello that does not fit -> 0", "wrote past cap");

    Nefele__V1__Welcome welcome = NEFELE__V1__WELCOME__INIT;
    welcome.npid = "<0.42.7>";
    welcome.tenant = "acme";
    welcome.node = "n1";
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    resp.id = 1;
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_WELCOME;
    resp.welcome = &welcome;
    uint8_t buf[512];
    size_t n = protobuf_c_message_pack(&resp.base, buf);
    /* An unknown field after the body (a newer hostd) is skipped. */
    buf[n++] = 15 << 3 | 0;
    buf[n++] = 7;
    struct nefele_hs_reply r;
    check(nefele_hs_decode_reply(buf, n, &r) == 0 && r.kind == NEFELE_HS_WELCOME && r.id == 1 &&
              slice_is(r.a, "<0.42.7>") && slice_is(r.b, "acme") && slice_is(r.c, "n1"),
          "welcome decodes (unknown field skipped)", "kind %d", r.kind);

    Nefele__V1__Refused refused = NEFELE__V1__REFUSED__INIT;
    refused.reason = "launch token already used";
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_REFUSED;
    resp.refused = &refused;
    n = protobuf_c_message_pack(&resp.base, buf);
    check(nefele_hs_decode_reply(buf, n, &r) == 0 && r.kind == NEFELE_HS_REFUSED && slice_is(r.a, "launch token already used"),
          "refused decodes with its reason", "kind %d", r.kind);

    Nefele__V1__Error error = NEFELE__V1__ERROR__INIT;
    error.code = "INTERNAL_ERROR";
    error.message = "boom";
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_ERROR;
    resp.error = &error;
    n = protobuf_c_message_pack(&resp.base, buf);
    check(nefele_hs_decode_reply(buf, n, &r) == 0 && r.kind == NEFELE_HS_ERROR && slice_is(r.a, "INTERNAL_ERROR") && slice_is(r.b, "boom"),
          "error decodes with its code and message", "kind %d", r.kind);

    Nefele__V1__SelfReply self = NEFELE__V1__SELF_REPLY__INIT;
    self.npid = "<0.1.1>";
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_SELF;
    resp.self = &self;
    n = protobuf_c_message_pack(&resp.base, buf);
    check(nefele_hs_decode_reply(buf, n, &r) == 0 && r.kind == NEFELE_HS_OTHER, "another body is neither welcome, refused nor error", "kind %d", r.kind);

    static const uint8_t truncated[] = { 0x12, 0x09, 0x0a, 0x02, 'a' };
    static const uint8_t overlong[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    check(nefele_hs_decode_reply(truncated, sizeof truncated, &r) < 0 && nefele_hs_decode_reply(overlong, sizeof overlong, &r) < 0,
          "truncated or malformed response -> -1", "parsed");
}

static void test_spawn_identity(void)
{
    if (geteuid() != 0) {
        printf("skip: identity tests need root\n");
        return;
    }
    struct nefele_spawn_rlimit limits[] = {
        { RLIMIT_NOFILE, 100, 200 },
        { RLIMIT_CORE, 0, 0 },
    };
    struct nefele_spawn_identity id = { 1, 200123, 200124, 1, limits, 2 };
    char *argv[] = { (char *)"/bin/sh", (char *)"-c",
                     (char *)"echo $(id -u) $(id -g) $(id -G) $(ulimit -n) $(ulimit -Hn) $(ulimit -c) "
                             "$(grep NoNewPrivs /proc/self/status | tr -d ' \t') $(pwd)",
                     NULL };
    struct run r;
    if (start_as(&r, "/bin/sh", argv, no_env, "/", &id) < 0) {
        check(0, "child runs as the given uid, gid and only group", "spawn failed");
        return;
    }
    finish(&r);
    check(exited_with(&r, 0) && strcmp(r.out, "200123 200124 200124 100 200 0 NoNewPrivs:1 /\n") == 0,
          "child runs as the given uid, gid and only group, with its limits and no_new_privs",
          "out \"%s\" err \"%s\"", r.out, r.err);

    /* A directory only root may enter: chdir is checked as the new uid. */
    char locked[512];
    snprintf(locked, sizeof locked, "%s/root-only", tmpdir);
    mkdir(locked, 0700);
    char *argv2[] = { (char *)"/bin/true", NULL };
    int stage = 0, err = 0;
    pid_t pid = nefele_spawn_process("/bin/true", argv2, no_env, locked, NULL, -1, -1, -1, -1, &id, NULL, &stage, &err);
    if (pid > 0) {
        int st;
        wait_exit(pid, TIMEOUT_MS, &st);
    }
    check(pid == -1 && stage == NEFELE_SPAWN_STAGE_CHDIR && err == EACCES,
          "cwd the uid may not enter -> stage 3 EACCES", "pid %d stage %d errno %d", (int)pid, stage, err);
    rmdir(locked);

    /* The parent keeps its own identity: the ids changed in the child only. */
    check(getuid() == 0 && geteuid() == 0 && getgid() == 0, "the caller keeps its identity", "uid %d euid %d",
          (int)getuid(), (int)geteuid());

    struct nefele_spawn_rlimit bad[] = { { RLIMIT_NOFILE, 300, 200 } };
    struct nefele_spawn_identity badid = { 0, 0, 0, 0, bad, 1 };
    pid = nefele_spawn_process("/bin/true", argv2, no_env, NULL, NULL, -1, -1, -1, -1, &badid, NULL, &stage, &err);
    check(pid == -1 && stage == NEFELE_SPAWN_STAGE_RLIMIT && err == EINVAL, "soft limit above hard -> stage 6 EINVAL",
          "pid %d stage %d errno %d", (int)pid, stage, err);
}

/* ---- handshake shim ----------------------------------------------------------------- */

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = { 0 };
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 8) < 0) {
        perror("listen_unix");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
    struct pollfd p = { lfd, POLLIN, 0 };
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        struct timeval tv = { TIMEOUT_MS / 1000, 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    return fd;
}

/* The test's fake hostd frames with the same code as the shim and libnefele. */
static Nefele__V1__ProcRequest *recv_request(int fd)
{
    uint8_t *body;
    size_t len;
    if (nefele_frame_recv(fd, &body, &len, -1) < 0)
        return NULL;
    Nefele__V1__ProcRequest *req = nefele__v1__proc_request__unpack(NULL, len, body);
    free(body);
    return req;
}

static int send_response(int fd, const Nefele__V1__ProcResponse *resp)
{
    return nefele_frame_send(fd, &resp->base);
}

static void build_env(char **env, char *storage, size_t cap, const char *sock, const char *token,
                      const char *preload, const char *extra)
{
    size_t off = 0;
    int n = 0;
#define ADD(...)                                                            \
    do {                                                                    \
        int w = snprintf(storage + off, cap - off, __VA_ARGS__);           \
        env[n++] = storage + off;                                           \
        off += (size_t)w + 1;                                               \
    } while (0)
    ADD("PATH=/usr/bin:/bin");
    ADD("LD_PRELOAD=%s", preload ? preload : shim_path);
    if (sock)
        ADD("NEFELE_SOCKET=%s", sock);
    if (token)
        ADD("NEFELE_TOKEN=%s", token);
    if (extra)
        ADD("%s", extra);
#undef ADD
    env[n] = NULL;
}

static char *const echo_argv[] = {
    (char *)"/bin/sh", (char *)"-c", (char *)"echo $NEFELE_NPID:${NEFELE_TOKEN-unset}:${LD_PRELOAD-unset}", NULL
};

static void test_shim_no_token(void)
{
    char sock[512];
    snprintf(sock, sizeof sock, "%s/notoken.sock", tmpdir);
    int lfd = listen_unix(sock);
    char storage[2048], *env[8];
    build_env(env, storage, sizeof storage, sock, NULL, NULL, NULL);
    struct run r;
    if (lfd < 0 || start(&r, "/bin/sh", echo_argv, env) < 0) {
        check(0, "shim without NEFELE_TOKEN", "setup failed");
        if (lfd >= 0)
            close(lfd);
        return;
    }
    /* hostd still hears about it: a Hello with an empty token and the pid. */
    int cfd = accept_within(lfd, TIMEOUT_MS);
    Nefele__V1__ProcRequest *req = cfd >= 0 ? recv_request(cfd) : NULL;
    check(req && req->body_case == NEFELE__V1__PROC_REQUEST__BODY_HELLO && req->hello->token[0] == '\0' &&
              req->hello->pid == r.pid,
          "shim without token still sends Hello{token=\"\"}", "no matching hello");
    if (req)
        nefele__v1__proc_request__free_unpacked(req, NULL);
    if (cfd >= 0)
        close(cfd);
    finish(&r);
    close(lfd);
    unlink(sock);
    check(exited_with(&r, 121) &&
              strstr(r.err, "nefele-shim: handshake refused: no launch token (NEFELE_TOKEN is not set)") &&
              r.out[0] == '\0',
          "shim without NEFELE_TOKEN exits 121", "status %#x err \"%s\"", r.status, r.err);
}

static void test_shim_unreachable(void)
{
    char storage[2048], *env[8];
    char sock[512];
    snprintf(sock, sizeof sock, "%s/nobody-listens.sock", tmpdir);
    build_env(env, storage, sizeof storage, sock, "tok", NULL, NULL);
    struct run r;
    if (start(&r, "/bin/sh", echo_argv, env) < 0) {
        setup_failed("shim with unreachable NEFELE_SOCKET exits 122", "spawn /bin/sh");
        return;
    }
    finish(&r);
    check(exited_with(&r, 122) && strstr(r.err, "nefele-shim: cannot reach hostd at ") && strstr(r.err, sock),
          "shim with unreachable NEFELE_SOCKET exits 122", "status %#x err \"%s\"", r.status, r.err);
}

enum reply { REPLY_WELCOME, REPLY_REFUSED, REPLY_NOTHING };

/* Runs echo_argv under the shim against a one-shot server giving `reply`. */
static void shim_against_server(const char *name, enum reply reply, const char *preload, const char *extra_env,
                                struct run *r, int *hello_ok)
{
    char sock[512];
    snprintf(sock, sizeof sock, "%s/hostd-%d.sock", tmpdir, (int)reply);
    int lfd = listen_unix(sock);
    char storage[4096], *env[8];
    build_env(env, storage, sizeof storage, sock, "tok123", preload, extra_env);
    *hello_ok = 0;
    if (lfd < 0 || start(r, "/bin/sh", echo_argv, env) < 0) {
        check(0, name, "setup failed");
        if (lfd >= 0)
            close(lfd);
        r->pid = -1;
        return;
    }
    int cfd = accept_within(lfd, TIMEOUT_MS);
    Nefele__V1__ProcRequest *req = cfd >= 0 ? recv_request(cfd) : NULL;
    *hello_ok = req && req->id == 1 && req->body_case == NEFELE__V1__PROC_REQUEST__BODY_HELLO &&
                strcmp(req->hello->token, "tok123") == 0 && req->hello->pid == r->pid;
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    resp.id = req ? req->id : 1;
    Nefele__V1__Welcome w = NEFELE__V1__WELCOME__INIT;
    Nefele__V1__Refused ref = NEFELE__V1__REFUSED__INIT;
    if (reply == REPLY_WELCOME) {
        w.npid = (char *)"t1";
        w.tenant = (char *)"acme";
        w.node = (char *)"node-a";
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_WELCOME;
        resp.welcome = &w;
    } else if (reply == REPLY_REFUSED) {
        ref.reason = (char *)"bad token";
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_REFUSED;
        resp.refused = &ref;
    }
    if (cfd >= 0 && reply != REPLY_NOTHING)
        send_response(cfd, &resp);
    if (req)
        nefele__v1__proc_request__free_unpacked(req, NULL);
    /* For REPLY_NOTHING the connection stays open until the shim gives up. */
    finish(r);
    if (cfd >= 0)
        close(cfd);
    close(lfd);
    unlink(sock);
}

static void test_shim_handshakes(void)
{
    struct run r;
    int hello_ok;

    shim_against_server("shim welcome", REPLY_WELCOME, NULL, NULL, &r, &hello_ok);
    if (r.pid > 0) {
        check(hello_ok, "shim sends Hello{id=1, token, pid}", "hello did not match");
        check(exited_with(&r, 0) && strcmp(r.out, "t1:unset:unset\n") == 0,
              "welcome: NEFELE_NPID set, token and shim gone", "status %#x out \"%s\" err \"%s\"", r.status,
              r.out, r.err);
    }

    char preload[1100];
    snprintf(preload, sizeof preload, "%s:%s", shim_path, spawnlib_path);
    shim_against_server("shim welcome, other preloads kept", REPLY_WELCOME, preload, NULL, &r, &hello_ok);
    if (r.pid > 0) {
        char want[700];
        snprintf(want, sizeof want, "t1:unset:%s\n", spawnlib_path);
        check(exited_with(&r, 0) && strcmp(r.out, want) == 0, "welcome keeps other LD_PRELOAD entries",
              "out \"%s\"", r.out);
    }

    shim_against_server("shim refused", REPLY_REFUSED, NULL, NULL, &r, &hello_ok);
    if (r.pid > 0)
        check(exited_with(&r, 121) && strstr(r.err, "nefele-shim: handshake refused: bad token") && !r.out[0],
              "refused: exits 121 with the reason", "status %#x err \"%s\"", r.status, r.err);

    shim_against_server("shim timeout", REPLY_NOTHING, NULL, "NEFELE_HANDSHAKE_TIMEOUT_MS=200", &r, &hello_ok);
    if (r.pid > 0)
        check(exited_with(&r, 122) && strstr(r.err, "nefele-shim: handshake failed: ") && !r.out[0],
              "no answer: exits 122 after the timeout", "status %#x err \"%s\"", r.status, r.err);
}

/* ---- libnefele against a scripted hostd --------------------------------------------- */

struct fake_hostd {
    int lfd;
    int stop_fd;
    int served;
    char spawn_env[256];
    unsigned spawn_count;
    int spawns;                /* spawn requests received */
    char spawn_placement[512]; /* affinity|anti_affinity|devices|spread of the last spawn */
    const char *kill_code;     /* the error code kill answers with (NULL: npid_not_found) */
    const char *kill_message;  /* and its message (NULL: "no such process") */
    int accepted;              /* connections accepted */
    int log_reads;             /* logs requests received */
    int last_log_wait_ms;      /* wait_ms of the last one */
    int logs_complete;         /* answer logs reads at the end with complete */
};

/* The output the fake hostd serves for every process. */
static const char fake_output[] = "hello\nworld\n";

/* "a,b" from a list of strings. */
static void join(char *dst, size_t cap, char **items, size_t n)
{
    size_t used = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(dst + used, cap - used, "%s%s", i ? "," : "", items[i]);
}

static void answer(int fd, Nefele__V1__ProcRequest *req, struct fake_hostd *h)
{
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    resp.id = req->id;
    Nefele__V1__SelfReply self = NEFELE__V1__SELF_REPLY__INIT;
    Nefele__V1__Error err = NEFELE__V1__ERROR__INIT;
    Nefele__V1__SpawnReply spawn = NEFELE__V1__SPAWN_REPLY__INIT;
    Nefele__V1__MonitorReply mon = NEFELE__V1__MONITOR_REPLY__INIT;
    Nefele__V1__ProcessEnd end = NEFELE__V1__PROCESS_END__INIT;
    Nefele__V1__PsReply ps = NEFELE__V1__PS_REPLY__INIT;
    Nefele__V1__LogsReply logs = NEFELE__V1__LOGS_REPLY__INIT;
    Nefele__V1__ProcessInfo info[3];
    Nefele__V1__ProcessInfo *infos[3];
    char *npids[8];
    char npid_store[8][16];

    switch (req->body_case) {
    case NEFELE__V1__PROC_REQUEST__BODY_SELF:
        self.npid = (char *)"n-self";
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_SELF;
        resp.self = &self;
        break;
    case NEFELE__V1__PROC_REQUEST__BODY_KILL:
        err.code = (char *)(h->kill_code ? h->kill_code : "npid_not_found");
        err.message = (char *)(h->kill_message ? h->kill_message : "no such process");
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_ERROR;
        resp.error = &err;
        break;
    case NEFELE__V1__PROC_REQUEST__BODY_SPAWN: {
        Nefele__V1__SpawnRequest *s = req->spawn;
        h->spawn_count = s->count;
        if (s->n_tasks == 1 && s->tasks[0]->n_env == 1)
            snprintf(h->spawn_env, sizeof h->spawn_env, "%s=%s|%s|%zu", s->tasks[0]->env[0]->key,
                     s->tasks[0]->env[0]->value, s->tasks[0]->path, s->tasks[0]->n_args);
        h->spawns++;
        if (s->n_tasks == 1) {
            const Nefele__V1__ProcessSpec *t = s->tasks[0];
            char aff[128], anti[128], dev[128];
            join(aff, sizeof aff, t->affinity, t->n_affinity);
            join(anti, sizeof anti, t->anti_affinity, t->n_anti_affinity);
            size_t used = 0;
            dev[0] = '\0';
            for (size_t i = 0; i < t->n_devices && used < sizeof dev; i++)
                used += (size_t)snprintf(dev + used, sizeof dev - used, "%s%s:%lld", i ? "," : "",
                                         t->devices[i]->key, (long long)t->devices[i]->value);
            snprintf(h->spawn_placement, sizeof h->spawn_placement, "%s|%s|%s|%d", aff, anti, dev,
                     s->spread ? 1 : 0);
        }
        for (unsigned i = 0; i < s->count && i < 8; i++) {
            snprintf(npid_store[i], sizeof npid_store[i], "n-%u", i);
            npids[i] = npid_store[i];
        }
        spawn.n_npids = s->count < 8 ? s->count : 8;
        spawn.npids = npids;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_SPAWN;
        resp.spawn = &spawn;
        break;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_LOGS: {
        const Nefele__V1__LogsRequest *l = req->logs;
        h->log_reads++;
        h->last_log_wait_ms = l->wait_ms;
        long long len = (long long)sizeof fake_output - 1;
        long long from = l->offset < len ? l->offset : len;
        long long n = len - from < l->max_bytes ? len - from : l->max_bytes;
        if (n == 0 && !h->logs_complete && l->wait_ms > 0)
            usleep((useconds_t)(l->wait_ms < 100 ? l->wait_ms : 100) * 1000); /* nothing came */
        logs.data.data = (uint8_t *)fake_output + from;
        logs.data.len = (size_t)n;
        logs.next_offset = from + n;
        logs.complete = h->logs_complete && from + n == len;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_LOGS;
        resp.logs = &logs;
        break;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_MONITOR:
        if (strcmp(req->monitor->npid, "n-forever") == 0)
            return; /* a process that never ends: no answer */
        end.state = NEFELE__V1__PROCESS_STATE__PROCESS_STATE_EXITED;
        end.exit_code = -1;
        end.signal = 9;
        end.oom_killed = 1;
        end.reason = (char *)"memory limit";
        mon.npid = req->monitor->npid;
        mon.end = &end;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_MONITOR;
        resp.monitor = &mon;
        break;
    case NEFELE__V1__PROC_REQUEST__BODY_PS:
        for (int i = 0; i < 3; i++) {
            Nefele__V1__ProcessInfo init = NEFELE__V1__PROCESS_INFO__INIT;
            info[i] = init;
            info[i].npid = (char *)(i == 0 ? "p-0" : i == 1 ? "p-1" : "p-2");
            info[i].node = (char *)"node-a";
            info[i].pid = 100 + i;
            info[i].state = NEFELE__V1__PROCESS_STATE__PROCESS_STATE_RUNNING;
            info[i].command = (char *)"/bin/app";
            info[i].cpu_millis = 250;
            info[i].memory_bytes = 64 << 20;
            info[i].cpu_usage_ns = 1500000000LL + i;
            info[i].memory_usage_bytes = (3 << 20) + i;
            info[i].name = (char *)(i == 1 ? "web" : "");
            infos[i] = &info[i];
        }
        ps.n_processes = 3;
        ps.processes = infos;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_PS;
        resp.ps = &ps;
        break;
    default:
        err.code = (char *)"bad_request";
        err.message = (char *)"unsupported";
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_ERROR;
        resp.error = &err;
        break;
    }
    send_response(fd, &resp);
    h->served++;
}

/* Serves every connection (libnefele's shared one and monitor ones) from one poll loop
 * until the stop pipe is written. */
static void *fake_hostd_main(void *arg)
{
    struct fake_hostd *h = arg;
    struct pollfd p[10];
    int n = 2;
    p[0] = (struct pollfd){ h->stop_fd, POLLIN, 0 };
    p[1] = (struct pollfd){ h->lfd, POLLIN, 0 };
    for (;;) {
        if (poll(p, (nfds_t)n, TIMEOUT_MS) <= 0 || p[0].revents)
            break;
        if ((p[1].revents & POLLIN) && n < 10) {
            int cfd = accept_within(h->lfd, 0);
            if (cfd >= 0) {
                p[n++] = (struct pollfd){ cfd, POLLIN, 0 };
                h->accepted++;
            }
        }
        for (int i = 2; i < n; i++) {
            if (!p[i].revents)
                continue;
            Nefele__V1__ProcRequest *req = recv_request(p[i].fd);
            if (req) {
                answer(p[i].fd, req, h);
                nefele__v1__proc_request__free_unpacked(req, NULL);
                continue;
            }
            close(p[i].fd);
            p[i--] = p[--n];
        }
    }
    for (int i = 2; i < n; i++)
        close(p[i].fd);
    return NULL;
}

/* nefele.h's errno table as rows, generated from the header at build time. */
static const struct {
    const char *code;
    int value;      /* its NEFELE_E* macro */
    int documented; /* the errno the row names */
    const char *errno_name;
} error_table[] = {
#include "nefele_error_table.h"
};
#define ERROR_ROWS (sizeof error_table / sizeof error_table[0])

/* "npid_not_found" for ERROR_CODE_NPID_NOT_FOUND. */
static void wire_code(const char *enum_name, char *out, size_t cap)
{
    const char *p = enum_name + strlen("ERROR_CODE_");
    size_t i = 0;
    for (; p[i] && i + 1 < cap; i++)
        out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    out[i] = '\0';
}

/* One test per code of the catalogue (enum ErrorCode, read from the generated descriptor, so a
 * new code is tested as soon as it is in the proto): nefele.h documents an errno for it, and a
 * server answering with it makes the call return exactly that, with the code named once in
 * nefele_last_error(). Then what is not a code is -EIO. */
static void test_error_codes(struct fake_hostd *h)
{
    npid_t target = { "n-0" };
    const ProtobufCEnumDescriptor *cat = &nefele__v1__error_code__descriptor;
    size_t tested = 0;
    for (unsigned v = 0; v < cat->n_values; v++) {
        if (cat->values[v].value == 0)
            continue; /* ERROR_CODE_UNSPECIFIED */
        char code[96];
        wire_code(cat->values[v].name, code, sizeof code);
        size_t row = 0;
        while (row < ERROR_ROWS && strcmp(error_table[row].code, code) != 0)
            row++;
        char name[160];
        snprintf(name, sizeof name, "error code %s: documented in nefele.h and returned", code);
        if (row == ERROR_ROWS) {
            check(0, name, "nefele.h's errno table has no row for \"%s\"", code);
            continue;
        }
        char message[128];
        snprintf(message, sizeof message, "%s: the process did something", code);
        for (char *c = message; *c != ':'; c++)
            if (*c == '_')
                *c = ' '; /* as the server writes it: the code's words open the sentence */
        h->kill_code = code;
        h->kill_message = message;
        int rc = nefele_kill(15, &target);
        char want_error[160];
        snprintf(want_error, sizeof want_error, "%s: the process did something", code);
        const char *what = nefele_strerror(rc);
        check(rc == error_table[row].documented && error_table[row].value == error_table[row].documented &&
                  nefele_error_code(code) == rc &&
                  strcmp(nefele_last_error(), want_error) == 0 && strcmp(what, "unknown error code") != 0,
              name, "rc %d, documented %s = %d, macro %d, last error \"%s\", strerror \"%s\"", rc,
              error_table[row].errno_name, error_table[row].documented, error_table[row].value,
              nefele_last_error(), what);
        tested++;
    }
    check(tested == ERROR_ROWS && tested > 0, "nefele.h's errno table has no row the catalogue lacks",
          "%zu rows, %zu catalogue codes", ERROR_ROWS, tested);

    static const char *const not_codes[] = {
        "NPID_NOT_FOUND", "error_code_npid_not_found", "npid_not_found ", "unspecified", "no_such_code", "",
    };
    for (size_t i = 0; i < sizeof not_codes / sizeof not_codes[0]; i++) {
        h->kill_code = not_codes[i];
        h->kill_message = NULL;
        int rc = nefele_kill(15, &target);
        char name[96];
        snprintf(name, sizeof name, "server code \"%s\" is not a code: -EIO", not_codes[i]);
        check(rc == -EIO && nefele_error_code(not_codes[i]) == -EIO && strstr(nefele_last_error(), "no such process"), name, "rc %d \"%s\"", rc,
              nefele_last_error());
    }

    /* A message that does not open with the code's words is kept whole, behind the code. */
    h->kill_code = "spawn_rejected";
    h->kill_message = "Spawn rejected: no node has room";
    int rc = nefele_kill(15, &target);
    check(rc == -ENOSPC && strcmp(nefele_last_error(), "spawn_rejected: no node has room") == 0,
          "last error names the code once (\"spawn_rejected: spawn rejected: ...\" is not doubled)", "\"%s\"",
          nefele_last_error());
    h->kill_message = "spawn rejectedness is not a prefix";
    rc = nefele_kill(15, &target);
    check(strcmp(nefele_last_error(), "spawn_rejected: spawn rejectedness is not a prefix") == 0,
          "last error keeps a message that only starts like the code", "\"%s\"", nefele_last_error());
    h->kill_code = NULL;
    h->kill_message = NULL;
}

static void test_logs_and_timeouts(struct fake_hostd *h)
{
    npid_t target = { "n-0" };
    char buf[64];
    long long offset = 0;
    int complete = -1;
    int accepted = h->accepted;
    ssize_t n = nefele_logs(&target, &offset, buf, 5, 0, &complete);
    check(n == 5 && memcmp(buf, "hello", 5) == 0 && offset == 5 && complete == 0 && h->last_log_wait_ms == 0 &&
              h->accepted == accepted,
          "nefele_logs reads from an offset on the shared connection", "n %zd offset %lld complete %d \"%s\"", n,
          offset, complete, nefele_last_error());
    n = nefele_logs(&target, &offset, buf, sizeof buf, 0, &complete);
    check(n == 7 && memcmp(buf, "\nworld\n", 7) == 0 && offset == 12, "nefele_logs continues at the offset",
          "n %zd offset %lld", n, offset);

    /* Following: nothing more comes within the timeout. */
    int reads = h->log_reads;
    n = nefele_logs(&target, &offset, buf, sizeof buf, 250, &complete);
    check(n == 0 && complete == 0 && offset == 12 && h->log_reads > reads && h->last_log_wait_ms > 0 &&
              h->last_log_wait_ms <= 250 && h->accepted == accepted + 1,
          "nefele_logs with a timeout waits on its own connection and returns 0 when nothing came",
          "n %zd complete %d waits %d last wait %d accepted %d", n, complete, h->log_reads - reads,
          h->last_log_wait_ms, h->accepted - accepted);

    h->logs_complete = 1;
    offset = 6;
    n = nefele_logs(&target, &offset, buf, sizeof buf, -1, &complete);
    check(n == 6 && memcmp(buf, "world\n", 6) == 0 && complete == 1 && h->last_log_wait_ms == 10000,
          "nefele_logs following reads the rest and says complete", "n %zd complete %d wait %d", n, complete,
          h->last_log_wait_ms);
    n = nefele_logs(&target, &offset, buf, sizeof buf, -1, &complete);
    check(n == 0 && complete == 1, "nefele_logs at the end of an ended process: 0 and complete", "n %zd complete %d",
          n, complete);
    h->logs_complete = 0;

    offset = -1;
    n = nefele_logs(&target, &offset, buf, sizeof buf, 0, NULL);
    check(n == -EINVAL && strstr(nefele_last_error(), "offset"), "nefele_logs rejects a negative offset", "n %zd", n);

    nefele_exit ex;
    memset(&ex, 0x5a, sizeof ex);
    npid_t forever = { "n-forever" };
    int rc = nefele_monitor_timeout(&forever, &ex, 150);
    check(rc == -ETIMEDOUT && strstr(nefele_last_error(), "n-forever") && ex.state == 0x5a5a5a5a,
          "nefele_monitor_timeout gives up with -ETIMEDOUT", "rc %d \"%s\"", rc, nefele_last_error());
    rc = nefele_monitor_timeout(&target, &ex, 5000);
    check(rc == 0 && ex.state == NEFELE_EXITED && strcmp(ex.npid, "n-0") == 0,
          "nefele_monitor_timeout returns the exit, with its npid", "rc %d npid \"%s\"", rc, ex.npid);
    check(strcmp(nefele_version(), "1.0.0") >= 0 && nefele_version()[0] == '0' + NEFELE_VERSION_MAJOR,
          "nefele_version matches the header's major", "\"%s\"", nefele_version());
}

static void test_libnefele(void)
{
    unsetenv("NEFELE_SOCKET");
    npid_t me;
    int rc = nefele_self(&me);
    check(rc == -ENOTCONN && strstr(nefele_last_error(), "NEFELE_SOCKET"), "libnefele without NEFELE_SOCKET",
          "rc %d \"%s\"", rc, nefele_last_error());

    char sock[512];
    snprintf(sock, sizeof sock, "%s/api.sock", tmpdir);
    struct fake_hostd h = { 0 };
    h.lfd = listen_unix(sock);
    if (h.lfd < 0) {
        setup_failed("nefele_self", "listen on the test's api socket");
        return;
    }
    setenv("NEFELE_SOCKET", sock, 1);
    int stop[2];
    if (pipe2(stop, O_CLOEXEC) < 0) {
        setup_failed("nefele_self", "pipe2");
        close(h.lfd);
        return;
    }
    h.stop_fd = stop[0];
    pthread_t th;
    int th_err = pthread_create(&th, NULL, fake_hostd_main, &h);
    if (th_err != 0) {
        errno = th_err;
        setup_failed("nefele_self", "pthread_create");
        close(stop[0]);
        close(stop[1]);
        close(h.lfd);
        return;
    }

    rc = nefele_self(&me);
    check(rc == 0 && strcmp(me.id, "n-self") == 0, "nefele_self", "rc %d \"%s\"", rc, nefele_last_error());

    npid_t other = { "n-gone" };
    rc = nefele_kill(15, &other);
    check(rc == -ESRCH && strstr(nefele_last_error(), "npid_not_found"), "nefele_kill of an unknown npid is -ESRCH",
          "rc %d \"%s\"", rc, nefele_last_error());

    const char *args[] = { "a", "b", NULL };
    const char *env[] = { "GREETING=hello=world", NULL };
    nefele_spawn_opts opts = { .env = env, .cpu_millis = 500 };
    npid_t kids[3];
    rc = nefele_nspawn(3, "/bin/app", args, &opts, kids);
    check(rc == 0 && h.spawn_count == 3 && strcmp(kids[2].id, "n-2") == 0 &&
              strcmp(h.spawn_env, "GREETING=hello=world|/bin/app|2") == 0,
          "nefele_nspawn sends spec and returns npids", "rc %d \"%s\" env \"%s\"", rc, nefele_last_error(),
          h.spawn_env);

    const char *bad_env[] = { "NOEQUALS", NULL };
    nefele_spawn_opts bad = { .env = bad_env };
    rc = nefele_spawn("/bin/app", NULL, &bad, kids);
    check(rc == -EINVAL, "nefele_spawn rejects env without '='", "rc %d", rc);

    /* Placement fields: an old-style zeroed opts sends none of them. */
    check(strcmp(h.spawn_placement, "|||0") == 0, "nefele_nspawn without placement sends none",
          "got \"%s\"", h.spawn_placement);

    const char *aff[] = { "label:zone=c", "name:db", NULL };
    const char *anti[] = { "npid:n-7", NULL };
    const char *devs[] = { "gpu=2", "fpga=1", NULL };
    nefele_spawn_opts placed = { .affinity = aff, .anti_affinity = anti, .devices = devs, .spread = 1 };
    rc = nefele_nspawn(2, "/bin/app", NULL, &placed, kids);
    check(rc == 0 && strcmp(h.spawn_placement, "label:zone=c,name:db|npid:n-7|gpu:2,fpga:1|1") == 0,
          "nefele_nspawn sends affinity, anti-affinity, devices and spread", "rc %d \"%s\" got \"%s\"", rc,
          nefele_last_error(), h.spawn_placement);

    nefele_spawn_opts pinned = { .affinity = aff };
    rc = nefele_spawn("/bin/app", NULL, &pinned, kids);
    check(rc == 0 && strcmp(h.spawn_placement, "label:zone=c,name:db|||0") == 0,
          "nefele_spawn sends affinity alone", "rc %d \"%s\" got \"%s\"", rc, nefele_last_error(),
          h.spawn_placement);

    static const struct {
        const char *entry, *error;
    } bad_devices[] = {
        { "gpu", "not of the form name=count" },
        { "=1", "not of the form name=count" },
        { "gpu=", "not a decimal number" },
        { "gpu=x", "not a decimal number" },
        { "gpu=1x", "not a decimal number" },
        { "gpu=-1", "not a decimal number" },
        { "gpu=0", "at least 1" },
        { "gpu=99999999999999999999", "too large" },
    };
    for (size_t i = 0; i < sizeof bad_devices / sizeof bad_devices[0]; i++) {
        const char *one[] = { "fpga=1", bad_devices[i].entry, NULL };
        nefele_spawn_opts o = { .devices = one };
        int before = h.spawns;
        rc = nefele_spawn("/bin/app", NULL, &o, kids);
        char name[96];
        snprintf(name, sizeof name, "nefele_spawn rejects device \"%s\"", bad_devices[i].entry);
        check(rc == -EINVAL && strstr(nefele_last_error(), bad_devices[i].entry) &&
                  strstr(nefele_last_error(), bad_devices[i].error) && h.spawns == before,
              name, "rc %d \"%s\" spawns sent %d", rc, nefele_last_error(), h.spawns - before);
    }
    nefele_spawn_opts dirty = { .cpu_millis = 1 };
    dirty.reserved[7] = 1;
    int before = h.spawns;
    rc = nefele_spawn("/bin/app", NULL, &dirty, kids);
    check(rc == -EINVAL && strstr(nefele_last_error(), "reserved[7]") && h.spawns == before,
          "nefele_spawn rejects opts whose reserved words are not zero", "rc %d \"%s\"", rc, nefele_last_error());

    const char *twice[] = { "gpu=1", "gpu=2", NULL };
    nefele_spawn_opts dup = { .devices = twice };
    before = h.spawns;
    rc = nefele_spawn("/bin/app", NULL, &dup, kids);
    check(rc == -EINVAL && strstr(nefele_last_error(), "more than once") && h.spawns == before,
          "nefele_spawn rejects a device given twice", "rc %d \"%s\"", rc, nefele_last_error());

    nefele_proc rows[2];
    size_t total = 0;
    rc = nefele_ps(rows, 2, &total);
    check(rc == 0 && total == 3 && strcmp(rows[1].npid, "p-1") == 0 && rows[1].pid == 101 &&
              rows[1].state == NEFELE_RUNNING,
          "nefele_ps fills up to max and reports the total", "rc %d total %zu", rc, total);
    check(rc == 0 && rows[1].cpu_usage_ns == 1500000001LL && rows[1].memory_usage_bytes == (3 << 20) + 1 &&
              rows[1].cpu_millis == 250 && rows[1].memory_bytes == 64 << 20 && strcmp(rows[1].name, "web") == 0 &&
              rows[0].name[0] == '\0',
          "nefele_ps gives usage beside the reservation, and the name", "cpu %lld ns mem %lld name \"%s\"",
          rows[1].cpu_usage_ns, rows[1].memory_usage_bytes, rows[1].name);

    int fd = nefele_monitor_fd(&kids[0]);
    struct pollfd p = { fd, POLLIN, 0 };
    int ready = fd >= 0 ? poll(&p, 1, TIMEOUT_MS) : -1;
    nefele_exit ex;
    rc = fd >= 0 ? nefele_monitor_result(fd, &ex) : fd;
    check(ready == 1 && rc == 0 && ex.state == NEFELE_EXITED && ex.signal == 9 && ex.oom_killed &&
              strcmp(ex.reason, "memory limit") == 0 && strcmp(ex.npid, kids[0].id) == 0,
          "nefele_monitor_fd + nefele_monitor_result", "rc %d \"%s\"", rc, nefele_last_error());

    rc = nefele_monitor(&kids[1], &ex);
    check(rc == 0 && ex.exit_code == -1, "nefele_monitor", "rc %d \"%s\"", rc, nefele_last_error());

    test_error_codes(&h);
    test_logs_and_timeouts(&h);

    (void)!write(stop[1], "x", 1);
    pthread_join(th, NULL);
    close(stop[0]);
    close(stop[1]);
    close(h.lfd);
    unlink(sock);
    unsetenv("NEFELE_SOCKET");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *build = getenv("NEFELE_BUILD_DIR");
    if (!build)
        build = "build";
    snprintf(shim_path, sizeof shim_path, "%s/libnefele-shim.so", build);
    snprintf(spawnlib_path, sizeof spawnlib_path, "%s/libnefele-spawn.so", build);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nefele-native-tests-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        setup_failed("temporary directory", "mkdtemp");
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }

    test_spawn_true();
    test_spawn_pidfd_reports_exit();
    test_spawn_into_cgroup_v2();
    test_spawn_failures();
    test_spawn_stdout();
    test_spawn_signals();
    test_spawn_session_and_fds();
    test_spawn_identity();
    test_frame();
    test_handshake_codec();
    test_shim_no_token();
    test_shim_unreachable();
    test_shim_handshakes();
    test_libnefele();

    char plain[512];
    snprintf(plain, sizeof plain, "%s/not-executable", tmpdir);
    unlink(plain);
    rmdir(tmpdir);

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
