/*
 * Tests for libnefele-spawn, the handshake shim and libnefele.
 * Run with `make -C native test`; NEFELE_BUILD_DIR points at native/build.
 * Every child is reaped, every wait is bounded, temp files live in one mkdtemp dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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


/*
 * A child spawned into another process's pid and uts namespaces runs there (its pid in that
 * namespace is 2, after the holder's 1; the holder's host name) while the pid the spawn
 * returns is the one hostd sees, and it stays the caller's child to reap. The spawning
 * thread is back in its own pid namespace afterwards: its next child is an ordinary one.
 */
static void test_spawn_into_namespaces(void)
{
    const char *name = "spawn into a pid and uts namespace";
    if (geteuid() != 0) {
        check(1, name, "");
        printf("skip %s: needs root\n", name);
        return;
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) {
        setup_failed(name, "pipe");
        return;
    }
    pid_t outer = fork();
    if (outer == 0) {
        /* The holder: pid 1 of a new pid namespace with its own host name. */
        if (unshare(CLONE_NEWPID | CLONE_NEWUTS) < 0 || sethostname("nsholder", 8) < 0)
            _exit(1);
        pid_t holder = fork();
        if (holder < 0)
            _exit(1);
        if (holder == 0) {
            char ok = 'y';
            if (write(ready[1], &ok, 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        int st;
        waitpid(holder, &st, 0);
        _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    struct pollfd p = { ready[0], POLLIN, 0 };
    if (outer < 0 || poll(&p, 1, TIMEOUT_MS) != 1 || read(ready[0], &ok, 1) != 1) {
        close(ready[0]);
        if (outer > 0) {
            kill(outer, SIGKILL);
            waitpid(outer, NULL, 0);
        }
        setup_failed(name, "namespace holder");
        return;
    }
    close(ready[0]);

    /* The holder is the outer child's only child. */
    char path[64], line[256];
    pid_t holder = -1;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", outer, outer);
    FILE *f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f))
        holder = (pid_t)atoi(line);
    if (f)
        fclose(f);
    char nspath[64];
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/pid", holder);
    int pidns = holder > 0 ? open(nspath, O_RDONLY | O_CLOEXEC) : -1;
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/uts", holder);
    int utsns = holder > 0 ? open(nspath, O_RDONLY | O_CLOEXEC) : -1;

    struct nefele_spawn_namespaces ns = { pidns, -1, utsns, -1, -1, -1 };
    int o[2];
    if (pidns < 0 || utsns < 0 || pipe2(o, O_CLOEXEC) < 0) {
        setup_failed(name, "namespace descriptors");
    } else {
        char *argv[] = { "/bin/sh", "-c", "echo $$ $(cat /proc/sys/kernel/hostname)", NULL };
        char *env[] = { "PATH=/usr/bin:/bin", NULL };
        int stage = 0, err = 0;
        pid_t pid = nefele_spawn_process_in("/bin/sh", argv, env, NULL, NULL, -1, -1, o[1], -1, NULL, &ns, NULL, &stage, &err);
        close(o[1]);
        char out[256] = "", none[16];
        read_outputs(o[0], out, sizeof out, -1, none, sizeof none, TIMEOUT_MS);
        close(o[0]);
        int status = 0;
        int reaped = pid > 0 && wait_exit(pid, TIMEOUT_MS, &status) == 0;
        check(pid > 0 && reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0, name,
              "pid %d stage %d errno %d status %#x", pid, stage, err, status);
        check(strcmp(out, "2 nsholder\n") == 0, "spawned child sees the namespace's pid and host name", "output '%s'", out);

        /* Back in hostd's namespace: the next child sees the host's pid numbers. */
        char *argv2[] = { "/bin/sh", "-c", "test $$ -gt 2", NULL };
        pid_t again = nefele_spawn_process("/bin/sh", argv2, env, NULL, NULL, -1, -1, -1, -1, NULL, NULL, &stage, &err);
        status = 0;
        reaped = again > 0 && wait_exit(again, TIMEOUT_MS, &status) == 0;
        check(reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the next spawn is in the caller's pid namespace again",
              "pid %d status %#x", again, status);
    }
    if (pidns >= 0)
        close(pidns);
    if (utsns >= 0)
        close(utsns);
    kill(outer, SIGKILL);
    if (holder > 0)
        kill(holder, SIGKILL);
    waitpid(outer, NULL, 0);
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
    struct nefele_spawn_identity id = { 1, 200123, 200124, 1, limits, 2, NULL };
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
    struct nefele_spawn_identity badid = { 0, 0, 0, 0, bad, 1, NULL };
    pid = nefele_spawn_process("/bin/true", argv2, no_env, NULL, NULL, -1, -1, -1, -1, &badid, NULL, &stage, &err);
    check(pid == -1 && stage == NEFELE_SPAWN_STAGE_RLIMIT && err == EINVAL, "soft limit above hard -> stage 6 EINVAL",
          "pid %d stage %d errno %d", (int)pid, stage, err);
}

/* ---- handshake shim ----------------------------------------------------------------- */

/* A root of its own (as an image's: here the host's /usr bound into an empty tree): read-only in
 * the child's mount namespace, a private tmpfs on /tmp, a bind read-write; the caller's mounts stay
 * as they were. Needs root (mount namespaces); skipped otherwise. */
static void test_spawn_root(void)
{
    if (geteuid() != 0) {
        printf("skip spawn root (not root)\n");
        return;
    }
    char base[] = "/var/tmp/nefele-root-test.XXXXXX";
    if (!mkdtemp(base)) {
        setup_failed("spawn root", "mkdtemp");
        return;
    }
    char root[128], usr[160], tmp[160], data[160], target[160], path[200];
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(usr, sizeof usr, "%s/usr", root);
    snprintf(tmp, sizeof tmp, "%s/tmp", root);
    snprintf(target, sizeof target, "%s/data", root);
    snprintf(data, sizeof data, "%s/data", base);
    if (mkdir(root, 0755) < 0 || mkdir(usr, 0755) < 0 || mkdir(tmp, 01777) < 0 || mkdir(target, 0755) < 0 || mkdir(data, 0755) < 0) {
        setup_failed("spawn root", "mkdir");
        return;
    }
    const char *links[][2] = { { "usr/bin", "bin" }, { "usr/lib", "lib" }, { "usr/lib64", "lib64" } };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, links[i][1]);
        if (symlink(links[i][0], path) < 0) {
            setup_failed("spawn root", "symlink");
            return;
        }
    }
    const char *const binds[] = { "/usr", usr, data, target, NULL };
    struct nefele_spawn_root r = { root, binds, tmp };
    struct nefele_spawn_identity id = { 0, 0, 0, 1, NULL, 0, &r };
    char *argv[] = { (char *)"/bin/sh", (char *)"-c",
                     (char *)"touch /probe 2>/dev/null && echo rw || echo ro; ls -A /tmp | wc -l; echo x > /data/bound && echo bound",
                     NULL };
    struct run run = { 0 };
    if (start_as(&run, "/bin/sh", argv, no_env, NULL, &id) < 0) {
        check(0, "spawn with a root", "stage %d", run.status);
        return;
    }
    finish(&run);
    check(exited_with(&run, 0) && strcmp(run.out, "ro\n0\nbound\n") == 0,
          "a root is read-only with a private /tmp and its binds writable", "out '%s' err '%s'", run.out, run.err);
    snprintf(path, sizeof path, "%s/probe", root);
    check(access(path, F_OK) != 0, "nothing written to the root's tree", "%s", path);
    snprintf(path, sizeof path, "%s/bound", data);
    check(access(path, F_OK) == 0, "a bind's writes reach the caller's tree", "%s", path);
    unlink(path);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, links[i][1]);
        unlink(path);
    }
    rmdir(usr);
    rmdir(tmp);
    rmdir(target);
    rmdir(root);
    rmdir(data);
    rmdir(base);

    struct nefele_spawn_root missing = { "/nonexistent/root", NULL, NULL };
    struct nefele_spawn_identity bad = { 0, 0, 0, 1, NULL, 0, &missing };
    int stage = 0, err = 0;
    pid_t pid = nefele_spawn_process("/bin/true", argv, no_env, NULL, NULL, -1, -1, -1, -1, &bad, NULL, &stage, &err);
    check(pid == -1 && stage == NEFELE_SPAWN_STAGE_ROOT && err == ENOENT, "a missing root -> stage 8 ENOENT", "pid %d stage %d err %d", pid, stage, err);
}

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

/* The scripted hostd's messaging: one mailbox (the caller's, whoever sends), a name table, a
 * topic table, and receives / name waits that are answered when something comes or their
 * time is up, as hostd does. */
#define FAKE_SLOTS 8
struct fake_message {
    char to[80], tag[80], data[128];
    size_t len;
    unsigned long long seq;
};
struct fake_entry {
    char name[80];
    char holders[FAKE_SLOTS][64];
    int n;
};
struct fake_wait {
    int fd;         /* -1: slot free */
    uint64_t id;
    int is_name;    /* a wait_name (else a receive) */
    char key[80];   /* the tag or the name */
    long long deadline;
};
struct fake_mail {
    struct fake_message queue[FAKE_SLOTS];
    int queued;
    unsigned long long seq;
    struct fake_entry names[FAKE_SLOTS], topics[FAKE_SLOTS];
    struct fake_wait waits[FAKE_SLOTS];
    int short_waits;        /* end every wait after 50 ms, whatever it asked for (a server's step) */
    int receives;           /* receive requests received */
    int last_receive_wait;  /* timeout_ms of the last one */
    int last_receive_max;   /* max_messages of the last one */
    uint64_t deferred_id;   /* a send tagged "defer" answered after the next send's answer */
    int last_name_wait;     /* timeout_ms of the last wait_name */
    char last_send[256];    /* to|tag|mode|ack|wait_ms|len of the last send */
    char last_npid[64];     /* npid of the last register / unregister / subscribe / unsubscribe */
};

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
    int logs_queries;          /* logs_query requests received */
    char logs_filter[256];     /* npids|name|node|stream|since|until|follow of the last query opened */
    int last_query_wait_ms;    /* wait_ms of the last logs_query */
    int last_query_max;        /* max_records of the last logs_query */
    char logs_closed[32];      /* the cursor the last close named */
    struct fake_mail mail;     /* the messaging part */
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

static int answer_messaging(int fd, Nefele__V1__ProcRequest *req, struct fake_hostd *h);
static void send_error(int fd, uint64_t id, const char *code, const char *message);

/* The records the fake silo's log query serves, in time order, three processes' worth. */
static const struct {
    const char *npid, *name, *node;
    int stream;
    long long time, offset;
    const char *data;
} fake_records[] = {
    { "p-0", "web", "node-a", 1, 1000, 0, "hello\n" },
    { "p-1", "", "node-b", 2, 2000, 0, "oops\n" },
    { "p-0", "web", "node-a", 1, 3000, 6, "world\n" },
    { "p-2", "web", "node-b", 1, 4000, 0, "third\n" },
};
#define FAKE_RECORDS (sizeof fake_records / sizeof fake_records[0])

/* A query matches a record as the silo's does: every filter given. */
static int query_matches(const Nefele__V1__LogsQueryRequest *q, size_t i)
{
    int npid_ok = q->n_npids == 0;
    for (size_t k = 0; k < q->n_npids; k++)
        npid_ok |= strcmp(q->npids[k], fake_records[i].npid) == 0;
    return npid_ok && (!q->name[0] || strcmp(q->name, fake_records[i].name) == 0) &&
           (!q->node[0] || strcmp(q->node, fake_records[i].node) == 0) &&
           (q->stream == 0 || (int)q->stream == fake_records[i].stream) &&
           (!q->since_unix_nano || fake_records[i].time >= q->since_unix_nano) &&
           (!q->until_unix_nano || fake_records[i].time < q->until_unix_nano);
}

/* The fake silo's log query: the cursor "q<filter index>-<next record>" (one open query at a
 * time), at most two records a reply whatever is asked (a server's own bound), and a follower
 * that finds nothing new waits (a little) and gets an empty, incomplete reply. */
static void answer_logs_query(int fd, Nefele__V1__ProcRequest *req, struct fake_hostd *h)
{
    static Nefele__V1__LogsQueryRequest open_query; /* the filter of the open query (fields borrowed from copies below) */
    static char npid_store[4][64], name[64], node[64];
    static char *npid_ptrs[4];
    Nefele__V1__LogsQueryRequest *q = req->logs_query;
    h->logs_queries++;
    h->last_query_wait_ms = q->wait_ms;
    h->last_query_max = q->max_records;
    size_t next = 0;
    if (!q->cursor[0]) {
        char npids[128];
        join(npids, sizeof npids, q->npids, q->n_npids);
        snprintf(h->logs_filter, sizeof h->logs_filter, "%s|%s|%s|%d|%lld|%lld|%d", npids, q->name, q->node,
                 (int)q->stream, (long long)q->since_unix_nano, (long long)q->until_unix_nano, q->follow ? 1 : 0);
        if (strcmp(q->name, "bad name!") == 0) {
            send_error(fd, req->id, "bad_request", "bad request: name 'bad name!' is not a name");
            return;
        }
        Nefele__V1__LogsQueryRequest init = NEFELE__V1__LOGS_QUERY_REQUEST__INIT;
        open_query = init;
        for (size_t k = 0; k < q->n_npids && k < 4; k++) {
            snprintf(npid_store[k], sizeof npid_store[k], "%s", q->npids[k]);
            npid_ptrs[k] = npid_store[k];
        }
        open_query.n_npids = q->n_npids < 4 ? q->n_npids : 4;
        open_query.npids = npid_ptrs;
        snprintf(name, sizeof name, "%s", q->name);
        snprintf(node, sizeof node, "%s", q->node);
        open_query.name = name;
        open_query.node = node;
        open_query.stream = q->stream;
        open_query.since_unix_nano = q->since_unix_nano;
        open_query.until_unix_nano = q->until_unix_nano;
        open_query.follow = q->follow;
    } else if (sscanf(q->cursor, "q-%zu", &next) != 1) {
        send_error(fd, req->id, "bad_request", "bad request: no such log query (it ended or expired)");
        return;
    }

    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    Nefele__V1__LogsQueryReply reply = NEFELE__V1__LOGS_QUERY_REPLY__INIT;
    Nefele__V1__LogRecord records[2], *ptrs[2];
    char cursor[32];
    resp.id = req->id;
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_LOGS_QUERY;
    resp.logs_query = &reply;
    if (q->close) {
        snprintf(h->logs_closed, sizeof h->logs_closed, "%s", q->cursor);
        reply.complete = 1;
        send_response(fd, &resp);
        return;
    }
    size_t n = 0;
    while (next < FAKE_RECORDS && n < 2) {
        if (query_matches(&open_query, next)) {
            Nefele__V1__LogRecord init = NEFELE__V1__LOG_RECORD__INIT;
            records[n] = init;
            records[n].npid = (char *)fake_records[next].npid;
            records[n].name = (char *)fake_records[next].name;
            records[n].node = (char *)fake_records[next].node;
            records[n].stream = (Nefele__V1__LogStream)fake_records[next].stream;
            records[n].time_unix_nano = fake_records[next].time;
            records[n].offset = fake_records[next].offset;
            records[n].data.data = (uint8_t *)fake_records[next].data;
            records[n].data.len = strlen(fake_records[next].data);
            ptrs[n] = &records[n];
            n++;
        }
        next++;
    }
    while (next < FAKE_RECORDS && !query_matches(&open_query, next))
        next++;
    if (n == 0 && open_query.follow && q->wait_ms > 0)
        usleep((useconds_t)(q->wait_ms < 100 ? q->wait_ms : 100) * 1000); /* nothing came */
    reply.n_records = n;
    reply.records = ptrs;
    reply.complete = next >= FAKE_RECORDS && !open_query.follow;
    snprintf(cursor, sizeof cursor, "q-%zu", next);
    reply.cursor = reply.complete ? (char *)"" : cursor;
    send_response(fd, &resp);
}

static void answer(int fd, Nefele__V1__ProcRequest *req, struct fake_hostd *h)
{
    if (answer_messaging(fd, req, h)) {
        h->served++;
        return;
    }
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
    case NEFELE__V1__PROC_REQUEST__BODY_LOGS_QUERY:
        answer_logs_query(fd, req, h);
        h->served++;
        return;
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

static void send_error(int fd, uint64_t id, const char *code, const char *message)
{
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    Nefele__V1__Error err = NEFELE__V1__ERROR__INIT;
    resp.id = id;
    err.code = (char *)code;
    err.message = (char *)message;
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_ERROR;
    resp.error = &err;
    send_response(fd, &resp);
}

static struct fake_entry *find_entry(struct fake_entry *table, const char *name, int create)
{
    for (int i = 0; i < FAKE_SLOTS; i++)
        if (table[i].name[0] && strcmp(table[i].name, name) == 0)
            return &table[i];
    for (int i = 0; create && i < FAKE_SLOTS; i++)
        if (!table[i].name[0]) {
            snprintf(table[i].name, sizeof table[i].name, "%s", name);
            table[i].n = 0;
            return &table[i];
        }
    return NULL;
}

static void add_holder(struct fake_entry *e, const char *npid)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->holders[i], npid) == 0)
            return;
    if (e->n < FAKE_SLOTS)
        snprintf(e->holders[e->n++], sizeof e->holders[0], "%s", npid);
}

/* 0 when npid held it (and is removed); an entry left without holders is dropped. */
static int remove_holder(struct fake_entry *e, const char *npid)
{
    for (int i = 0; e && i < e->n; i++) {
        if (strcmp(e->holders[i], npid) != 0)
            continue;
        memmove(e->holders[i], e->holders[i + 1], (size_t)(e->n - i - 1) * sizeof e->holders[0]);
        if (--e->n == 0)
            e->name[0] = '\0';
        return 0;
    }
    return -1;
}

/* The oldest queued message with tag ("" any), removed from the queue into *out; 0 if any. */
static int take_message(struct fake_mail *m, const char *tag, struct fake_message *out)
{
    for (int i = 0; i < m->queued; i++) {
        if (*tag && strcmp(m->queue[i].tag, tag) != 0)
            continue;
        *out = m->queue[i];
        memmove(&m->queue[i], &m->queue[i + 1], (size_t)(m->queued - i - 1) * sizeof m->queue[0]);
        m->queued--;
        return 0;
    }
    return -1;
}

static void to_wire(Nefele__V1__Message *m, const struct fake_message *msg)
{
    m->from = (char *)"n-self";
    m->to = (char *)msg->to;
    m->tag = (char *)msg->tag;
    m->data.data = (uint8_t *)msg->data;
    m->data.len = msg->len;
    m->seq = msg->seq;
    m->sent_unix_ms = 1700000000123LL;
}

/* A receive's answer: msg, then the n_more messages of a batch receive. */
static void send_messages(int fd, uint64_t id, const struct fake_message *msg, const struct fake_message *more,
                          size_t n_more, unsigned remaining)
{
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    Nefele__V1__ReceiveReply rr = NEFELE__V1__RECEIVE_REPLY__INIT;
    Nefele__V1__Message m = NEFELE__V1__MESSAGE__INIT;
    Nefele__V1__Message ms[FAKE_SLOTS], *mp[FAKE_SLOTS];
    to_wire(&m, msg);
    for (size_t i = 0; i < n_more; i++) {
        nefele__v1__message__init(&ms[i]);
        to_wire(&ms[i], &more[i]);
        mp[i] = &ms[i];
    }
    rr.message = &m;
    rr.more = mp;
    rr.n_more = n_more;
    rr.remaining = remaining;
    resp.id = id;
    resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_RECEIVE;
    resp.receive = &rr;
    send_response(fd, &resp);
}

static void send_message(int fd, uint64_t id, const struct fake_message *msg, unsigned remaining)
{
    send_messages(fd, id, msg, NULL, 0, remaining);
}

static void send_holders(int fd, uint64_t id, const struct fake_entry *e, int for_register)
{
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    Nefele__V1__RegisterReply reg = NEFELE__V1__REGISTER_REPLY__INIT;
    Nefele__V1__WaitNameReply wait = NEFELE__V1__WAIT_NAME_REPLY__INIT;
    char *npids[FAKE_SLOTS];
    for (int i = 0; i < e->n; i++)
        npids[i] = (char *)e->holders[i];
    resp.id = id;
    if (for_register) {
        reg.n_npids = (size_t)e->n;
        reg.npids = npids;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_REGISTER;
        resp.register_ = &reg;
    } else {
        wait.n_npids = (size_t)e->n;
        wait.npids = npids;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_WAIT_NAME;
        resp.wait_name = &wait;
    }
    send_response(fd, &resp);
}

/* Answers the waits that something now satisfies. */
static void serve_waits(struct fake_hostd *h)
{
    struct fake_mail *m = &h->mail;
    for (int i = 0; i < FAKE_SLOTS; i++) {
        struct fake_wait *w = &m->waits[i];
        if (w->fd < 0)
            continue;
        if (w->is_name) {
            struct fake_entry *e = find_entry(m->names, w->key, 0);
            if (e) {
                send_holders(w->fd, w->id, e, 0);
                w->fd = -1;
            }
            continue;
        }
        struct fake_message msg;
        if (take_message(m, w->key, &msg) == 0) {
            send_message(w->fd, w->id, &msg, (unsigned)m->queued);
            w->fd = -1;
        }
    }
}

/* Answers timed_out to the waits whose time is up; returns the ms to the next deadline (-1: none). */
static int expire_waits(struct fake_hostd *h)
{
    long long now = now_ms(), next = -1;
    for (int i = 0; i < FAKE_SLOTS; i++) {
        struct fake_wait *w = &h->mail.waits[i];
        if (w->fd < 0)
            continue;
        if (w->deadline <= now) {
            send_error(w->fd, w->id, "timed_out", w->is_name ? "nobody registered it in time" : "no message came in time");
            w->fd = -1;
        } else if (next < 0 || w->deadline - now < next) {
            next = w->deadline - now;
        }
    }
    return (int)next;
}

static void add_wait(struct fake_hostd *h, int fd, uint64_t id, int is_name, const char *key, int timeout_ms)
{
    if (h->mail.short_waits && timeout_ms > 50)
        timeout_ms = 50;
    for (int i = 0; i < FAKE_SLOTS; i++) {
        struct fake_wait *w = &h->mail.waits[i];
        if (w->fd >= 0)
            continue;
        *w = (struct fake_wait){ fd, id, is_name, "", now_ms() + timeout_ms };
        snprintf(w->key, sizeof w->key, "%s", key);
        return;
    }
    send_error(fd, id, "internal_error", "too many waits");
}

/* The messaging requests; 0 if req is not one. */
static int answer_messaging(int fd, Nefele__V1__ProcRequest *req, struct fake_hostd *h)
{
    struct fake_mail *m = &h->mail;
    Nefele__V1__ProcResponse resp = NEFELE__V1__PROC_RESPONSE__INIT;
    resp.id = req->id;
    Nefele__V1__SendReply send = NEFELE__V1__SEND_REPLY__INIT;
    Nefele__V1__UnregisterReply unreg = NEFELE__V1__UNREGISTER_REPLY__INIT;
    Nefele__V1__SubscribeReply sub = NEFELE__V1__SUBSCRIBE_REPLY__INIT;
    Nefele__V1__UnsubscribeReply unsub = NEFELE__V1__UNSUBSCRIBE_REPLY__INIT;
    Nefele__V1__NamesReply names = NEFELE__V1__NAMES_REPLY__INIT;
    Nefele__V1__NameEntry entries[FAKE_SLOTS], *entry_ptrs[FAKE_SLOTS];
    Nefele__V1__NameHolder holders[FAKE_SLOTS][FAKE_SLOTS], *holder_ptrs[FAKE_SLOTS][FAKE_SLOTS];

    switch (req->body_case) {
    case NEFELE__V1__PROC_REQUEST__BODY_SEND: {
        const Nefele__V1__SendRequest *r = req->send;
        snprintf(m->last_send, sizeof m->last_send, "%s|%s|%d|%d|%d|%zu", r->to, r->tag, (int)r->mode,
                 r->ack ? 1 : 0, r->wait_ms, r->data.len);
        if (r->mode == NEFELE__V1__DELIVERY_MODE__DELIVERY_MODE_PUBLISH) {
            struct fake_entry *e = find_entry(m->topics, r->to, 0);
            send.delivered = e ? (uint32_t)e->n : 0;
        } else if (strchr(r->to, '-') == NULL && !find_entry(m->names, r->to, 0)) {
            send_error(fd, req->id, "name_not_found", "no process holds the name");
            return 1;
        } else if (r->data.len > sizeof m->queue[0].data) {
            send_error(fd, req->id, "message_too_large", "message too large: larger than this test's mailbox slot");
            return 1;
        } else if (m->queued == FAKE_SLOTS) {
            send_error(fd, req->id, "mailbox_full", "mailbox full: the target's mailbox holds 8 messages");
            return 1;
        } else {
            struct fake_message *q = &m->queue[m->queued++];
            snprintf(q->to, sizeof q->to, "%s", r->to);
            snprintf(q->tag, sizeof q->tag, "%s", r->tag);
            memcpy(q->data, r->data.data, r->data.len);
            q->len = r->data.len;
            q->seq = ++m->seq;
            send.delivered = 1;
        }
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_SEND;
        resp.send = &send;
        if (strcmp(r->tag, "defer") == 0 && !m->deferred_id) {
            /* Answered after the next send's answer, as hostd answers a send that waited for room. */
            m->deferred_id = req->id;
            return 1;
        }
        send_response(fd, &resp);
        if (m->deferred_id) {
            resp.id = m->deferred_id;
            send.delivered = 1;
            m->deferred_id = 0;
            send_response(fd, &resp);
        }
        serve_waits(h);
        return 1;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_RECEIVE: {
        m->receives++;
        m->last_receive_wait = req->receive->timeout_ms;
        m->last_receive_max = (int)req->receive->max_messages;
        struct fake_message msg, more[FAKE_SLOTS];
        size_t n_more = 0;
        if (take_message(m, req->receive->tag, &msg) == 0) {
            while (n_more + 1 < req->receive->max_messages && take_message(m, req->receive->tag, &more[n_more]) == 0)
                n_more++;
            send_messages(fd, req->id, &msg, more, n_more, (unsigned)m->queued);
        } else if (req->receive->timeout_ms == 0)
            send_error(fd, req->id, "timed_out", "no message came in time");
        else
            add_wait(h, fd, req->id, 0, req->receive->tag, req->receive->timeout_ms);
        return 1;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_WAIT_NAME: {
        m->last_name_wait = req->wait_name->timeout_ms;
        struct fake_entry *e = find_entry(m->names, req->wait_name->name, 0);
        if (e)
            send_holders(fd, req->id, e, 0);
        else if (req->wait_name->timeout_ms == 0)
            send_error(fd, req->id, "timed_out", "nobody registered it in time");
        else
            add_wait(h, fd, req->id, 1, req->wait_name->name, req->wait_name->timeout_ms);
        return 1;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_REGISTER: {
        const char *npid = *req->register_->npid ? req->register_->npid : "n-self";
        snprintf(m->last_npid, sizeof m->last_npid, "%s", req->register_->npid);
        if (strlen(req->register_->name) > 64) {
            send_error(fd, req->id, "bad_request", "name is longer than 64 characters");
            return 1;
        }
        struct fake_entry *e = find_entry(m->names, req->register_->name, 1);
        if (!e) {
            send_error(fd, req->id, "limit_exceeded", "the tenant holds too many names");
            return 1;
        }
        add_holder(e, npid);
        send_holders(fd, req->id, e, 1);
        serve_waits(h);
        return 1;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_UNREGISTER: {
        const char *npid = *req->unregister->npid ? req->unregister->npid : "n-self";
        snprintf(m->last_npid, sizeof m->last_npid, "%s", req->unregister->npid);
        if (remove_holder(find_entry(m->names, req->unregister->name, 0), npid) < 0) {
            send_error(fd, req->id, "name_not_found", "it does not hold that name");
            return 1;
        }
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_UNREGISTER;
        resp.unregister = &unreg;
        break;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_SUBSCRIBE: {
        const char *npid = *req->subscribe->npid ? req->subscribe->npid : "n-self";
        snprintf(m->last_npid, sizeof m->last_npid, "%s", req->subscribe->npid);
        struct fake_entry *e = find_entry(m->topics, req->subscribe->topic, 1);
        if (e)
            add_holder(e, npid);
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_SUBSCRIBE;
        resp.subscribe = &sub;
        break;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_UNSUBSCRIBE: {
        const char *npid = *req->unsubscribe->npid ? req->unsubscribe->npid : "n-self";
        snprintf(m->last_npid, sizeof m->last_npid, "%s", req->unsubscribe->npid);
        remove_holder(find_entry(m->topics, req->unsubscribe->topic, 0), npid);
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_UNSUBSCRIBE;
        resp.unsubscribe = &unsub;
        break;
    }
    case NEFELE__V1__PROC_REQUEST__BODY_NAMES: {
        struct fake_entry *table = req->names->topics ? m->topics : m->names;
        size_t n = 0;
        for (int i = 0; i < FAKE_SLOTS; i++) {
            const struct fake_entry *e = &table[i];
            if (!e->name[0] || strncmp(e->name, req->names->prefix, strlen(req->names->prefix)) != 0)
                continue;
            Nefele__V1__NameEntry init = NEFELE__V1__NAME_ENTRY__INIT;
            entries[n] = init;
            entries[n].name = (char *)e->name;
            for (int j = 0; j < e->n; j++) {
                Nefele__V1__NameHolder hinit = NEFELE__V1__NAME_HOLDER__INIT;
                holders[n][j] = hinit;
                holders[n][j].npid = (char *)e->holders[j];
                holders[n][j].node = (char *)(strncmp(e->holders[j], "ext-", 4) == 0 ? "" : "node-a");
                holder_ptrs[n][j] = &holders[n][j];
            }
            entries[n].n_holders = (size_t)e->n;
            entries[n].holders = holder_ptrs[n];
            entry_ptrs[n] = &entries[n];
            n++;
        }
        names.n_names = n;
        names.names = entry_ptrs;
        resp.body_case = NEFELE__V1__PROC_RESPONSE__BODY_NAMES;
        resp.names = &names;
        break;
    }
    default:
        return 0;
    }
    send_response(fd, &resp);
    return 1;
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
    for (int i = 0; i < FAKE_SLOTS; i++)
        h->mail.waits[i].fd = -1;
    for (;;) {
        int next = expire_waits(h);
        int r = poll(p, (nfds_t)n, next >= 0 ? next : TIMEOUT_MS);
        if (r == 0 && next >= 0)
            continue; /* a wait's time is up: answered at the top */
        if (r <= 0 || p[0].revents)
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
            for (int w = 0; w < FAKE_SLOTS; w++)
                if (h->mail.waits[w].fd == p[i].fd)
                    h->mail.waits[w].fd = -1; /* the caller gave up */
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
    check(strcmp(nefele_version(), "1.3.0") >= 0 && nefele_version()[0] == '0' + NEFELE_VERSION_MAJOR,
          "nefele_version matches the header's major", "\"%s\"", nefele_version());
}

/* Reads a cursor to its end (or a failure): "npid:stream:data" of each record, in order, joined. */
static int read_all(nefele_logs_cursor *c, char *out, size_t cap, int *count)
{
    size_t used = 0;
    nefele_log_record r;
    int rc;
    *count = 0;
    out[0] = '\0';
    while ((rc = nefele_logs_next(c, &r, 0)) == 1) {
        used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s%s:%d:%.*s", *count ? "," : "", r.npid,
                                 r.stream, (int)r.len, (const char *)r.data);
        (*count)++;
    }
    return rc;
}

static void test_logs_query(struct fake_hostd *h)
{
    /* Every process, in time order across them, batch after batch (the server gives two a reply). */
    nefele_logs_cursor *c = NULL;
    int queries = h->logs_queries, accepted = h->accepted;
    int rc = nefele_logs_open(NULL, &c);
    nefele_log_record first;
    int got = rc == 0 ? nefele_logs_next(c, &first, 0) : rc;
    check(rc == 0 && c && got == 1 && strcmp(first.npid, "p-0") == 0 && strcmp(first.name, "web") == 0 &&
              strcmp(first.node, "node-a") == 0 && first.stream == NEFELE_STDOUT && first.time_unix_nano == 1000 &&
              first.offset == 0 && first.len == 6 && memcmp(first.data, "hello\n", 6) == 0 &&
              strcmp(h->logs_filter, "|||0|0|0|0") == 0 && h->accepted == accepted + 1 && h->last_query_max > 0,
          "nefele_logs_open without a filter reads every process's records, on a connection of its own",
          "rc %d got %d filter \"%s\" npid \"%s\" \"%s\"", rc, got, h->logs_filter, first.npid, nefele_last_error());
    char text[256];
    int count = 0;
    rc = c ? read_all(c, text, sizeof text, &count) : -1;
    check(rc == 0 && count == 3 && strcmp(text, "p-1:2:oops\n,p-0:1:world\n,p-2:1:third\n") == 0 &&
              h->logs_queries == queries + 2,
          "nefele_logs_next hands out the records in order, asking for the next batch when one is used up",
          "rc %d count %d \"%s\" queries %d", rc, count, text, h->logs_queries - queries);
    nefele_log_record r;
    rc = c ? nefele_logs_next(c, &r, 0) : -1;
    check(rc == 0 && h->logs_queries == queries + 2, "nefele_logs_next at the end: 0, without asking again", "rc %d", rc);
    h->logs_closed[0] = '\0';
    nefele_logs_close(c);
    check(h->logs_closed[0] == '\0', "closing a complete cursor sends nothing", "closed \"%s\"", h->logs_closed);

    /* The filter goes to the silo as given, and selects. */
    npid_t two[2] = { { "p-0" }, { "p-2" } };
    nefele_logs_filter f = { .npids = two, .n_npids = 2, .name = "web", .stream = NEFELE_STDOUT,
                             .since_unix_nano = 1500, .until_unix_nano = 5000 };
    c = NULL;
    rc = nefele_logs_open(&f, &c);
    rc = rc == 0 ? read_all(c, text, sizeof text, &count) : rc;
    check(rc == 0 && count == 2 && strcmp(text, "p-0:1:world\n,p-2:1:third\n") == 0 &&
              strcmp(h->logs_filter, "p-0,p-2|web||1|1500|5000|0") == 0,
          "nefele_logs_open sends npids, name, stream and the time window", "rc %d \"%s\" filter \"%s\"", rc, text,
          h->logs_filter);
    nefele_logs_close(c);

    /* A follower: the records there, then nothing within the timeout (the cursor stays usable). */
    nefele_logs_filter follow = { .node = "node-b", .follow = 1 };
    c = NULL;
    rc = nefele_logs_open(&follow, &c);
    rc = rc == 0 ? read_all(c, text, sizeof text, &count) : rc;
    check(rc == -ETIMEDOUT && count == 2 && strcmp(text, "p-1:2:oops\n,p-2:1:third\n") == 0 &&
              strstr(nefele_last_error(), "within 0 ms"),
          "a follower's nefele_logs_next with timeout 0 returns -ETIMEDOUT once it has what is there",
          "rc %d count %d \"%s\" \"%s\"", rc, count, text, nefele_last_error());
    long long started = now_ms();
    rc = c ? nefele_logs_next(c, &r, 250) : -1;
    check(rc == -ETIMEDOUT && h->last_query_wait_ms > 0 && h->last_query_wait_ms <= 250 && now_ms() - started < TIMEOUT_MS,
          "a follower's nefele_logs_next waits up to its timeout in the silo, then -ETIMEDOUT",
          "rc %d last wait %d", rc, h->last_query_wait_ms);
    h->logs_closed[0] = '\0';
    nefele_logs_close(c);
    check(strncmp(h->logs_closed, "q-", 2) == 0, "nefele_logs_close ends an open query in the silo", "closed \"%s\"",
          h->logs_closed);

    /* Bad input: refused before anything is sent, or by the silo, with the reason. */
    queries = h->logs_queries;
    nefele_logs_filter bad_stream = { .stream = 3 };
    c = (nefele_logs_cursor *)&c;
    rc = nefele_logs_open(&bad_stream, &c);
    check(rc == -EINVAL && c == NULL && strstr(nefele_last_error(), "stream 3") && h->logs_queries == queries,
          "nefele_logs_open refuses a stream other than the two, sending nothing", "rc %d \"%s\"", rc,
          nefele_last_error());
    nefele_logs_filter backwards = { .since_unix_nano = 2000, .until_unix_nano = 1000 };
    rc = nefele_logs_open(&backwards, &c);
    check(rc == -EINVAL && strstr(nefele_last_error(), "until_unix_nano 1000 is not after") && h->logs_queries == queries,
          "nefele_logs_open refuses until before since", "rc %d \"%s\"", rc, nefele_last_error());
    nefele_logs_filter no_npids = { .n_npids = 1 };
    rc = nefele_logs_open(&no_npids, &c);
    check(rc == -EINVAL && strstr(nefele_last_error(), "npids is NULL"), "nefele_logs_open refuses n_npids without npids",
          "rc %d \"%s\"", rc, nefele_last_error());
    nefele_logs_filter bad_name = { .name = "bad name!" };
    rc = nefele_logs_open(&bad_name, &c);
    check(rc == -EINVAL && c == NULL && strstr(nefele_last_error(), "bad_request: name 'bad name!' is not a name") &&
              h->logs_queries == queries + 1,
          "the silo's refusal of a filter is nefele_logs_open's error", "rc %d \"%s\"", rc, nefele_last_error());
    check(nefele_logs_open(NULL, NULL) == -EINVAL && nefele_logs_next(NULL, &r, 0) == -EINVAL,
          "NULL out or cursor is -EINVAL", "%s", nefele_last_error());
    nefele_logs_close(NULL);
}

/* Polls *counter (written by the fake hostd's thread) until it reaches want, within TIMEOUT_MS. */
static int reached(volatile int *counter, int want)
{
    long long deadline = now_ms() + TIMEOUT_MS;
    while (*counter < want && now_ms() < deadline) {
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return *counter >= want;
}

struct recv_job {
    int timeout_ms;
    const char *tag;
    int rc;
    nefele_msg msg;
};

static void *recv_thread(void *arg)
{
    struct recv_job *j = arg;
    j->rc = nefele_recv(&j->msg, j->timeout_ms, j->tag);
    return NULL;
}

struct wait_job {
    const char *name;
    int rc;
    npid_t holders[4];
    size_t count;
};

static void *wait_thread(void *arg)
{
    struct wait_job *j = arg;
    j->rc = nefele_wait(j->name, 5000, j->holders, 4, &j->count);
    return NULL;
}

static void test_messaging_send_recv(struct fake_hostd *h)
{
    struct fake_mail *m = &h->mail;
    int rc = nefele_message("n-self", "t1", "ping", 4, 0, 0);
    check(rc == 1 && strcmp(m->last_send, "n-self|t1|0|0|0|4") == 0, "nefele_message sends to, tag and data",
          "rc %d \"%s\" sent \"%s\"", rc, nefele_last_error(), m->last_send);
    rc = nefele_message("n-self", NULL, "pong", 4, NEFELE_MODE_FAILOVER | NEFELE_MSG_ACK, 250);
    check(rc == 1 && strcmp(m->last_send, "n-self||2|1|250|4") == 0,
          "nefele_message sends mode, ack and wait_ms", "rc %d sent \"%s\"", rc, m->last_send);

    int served = h->served;
    static const struct {
        const char *to;
        const void *data;
        size_t len;
        int flags, wait_ms;
        const char *error;
    } bad[] = {
        { NULL, "x", 1, 0, 0, "to is NULL" },
        { "", "x", 1, 0, 0, "to is NULL or empty" },
        { "n-self", "x", 1, 6, 0, "delivery mode 6" },
        { "n-self", "x", 1, 0x200, 0, "flags 0x200" },
        { "n-self", NULL, 3, 0, 0, "data is NULL" },
        { "n-self", "x", 1, 0, -1, "wait_ms is negative" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = nefele_message(bad[i].to, NULL, bad[i].data, bad[i].len, bad[i].flags, bad[i].wait_ms);
        char name[96];
        snprintf(name, sizeof name, "nefele_message refuses (%s) before sending", bad[i].error);
        check(rc == -EINVAL && strstr(nefele_last_error(), bad[i].error) && h->served == served, name,
              "rc %d \"%s\"", rc, nefele_last_error());
    }
    rc = nefele_message("nobody", NULL, "x", 1, 0, 0);
    check(rc == NEFELE_ENAME_NOT_FOUND && rc == -EADDRNOTAVAIL && strstr(nefele_last_error(), "name_not_found"),
          "nefele_message to a name nobody holds is -EADDRNOTAVAIL", "rc %d \"%s\"", rc, nefele_last_error());

    nefele_msg msg;
    rc = nefele_recv(&msg, 0, NULL);
    check(rc == 0 && msg.len == 4 && memcmp(msg.data, "ping", 5) == 0 && strcmp(msg.tag, "t1") == 0 &&
              strcmp(msg.from, "n-self") == 0 && strcmp(msg.to, "n-self") == 0 && msg.seq == 1 &&
              msg.sent_unix_ms == 1700000000123LL && msg.remaining == 1,
          "nefele_recv takes the oldest message, NUL after its data", "rc %d \"%s\" len %zu seq %llu remaining %u", rc,
          nefele_last_error(), msg.len, msg.seq, msg.remaining);
    nefele_msg_free(&msg);
    check(msg.data == NULL && msg.len == 0, "nefele_msg_free releases and zeroes", "data %p", msg.data);
    nefele_msg_free(NULL);
    rc = nefele_recv(&msg, 0, NULL);
    check(rc == 0 && msg.tag[0] == '\0' && msg.remaining == 0 && memcmp(msg.data, "pong", 4) == 0,
          "nefele_recv in send order", "rc %d", rc);
    nefele_msg_free(&msg);

    nefele_message("n-self", "a", "1", 1, 0, 0);
    nefele_message("n-self", "b", "2", 1, 0, 0);
    nefele_message("n-self", "a", "3", 1, 0, 0);
    rc = nefele_recv(&msg, 0, "b");
    check(rc == 0 && ((char *)msg.data)[0] == '2', "nefele_recv with a tag takes only that tag's oldest", "rc %d", rc);
    nefele_msg_free(&msg);
    rc = nefele_recv(&msg, 0, "b");
    check(rc == -ETIMEDOUT && msg.data == NULL, "nefele_recv of a tag with nothing queued is -ETIMEDOUT",
          "rc %d \"%s\"", rc, nefele_last_error());
    rc = nefele_recv(&msg, 0, "");
    int first = rc == 0 ? ((char *)msg.data)[0] : 0;
    nefele_msg_free(&msg);
    rc = nefele_recv(&msg, 0, NULL);
    check(first == '1' && rc == 0 && ((char *)msg.data)[0] == '3', "other tags stay queued in order", "first %c rc %d",
          first ? first : '?', rc);
    nefele_msg_free(&msg);

    long long started = now_ms();
    rc = nefele_recv(&msg, 150, NULL);
    check(rc == NEFELE_ETIMED_OUT && rc == -ETIMEDOUT && strstr(nefele_last_error(), "timed_out") &&
              m->last_receive_wait > 0 && m->last_receive_wait <= 150 && now_ms() - started >= 150,
          "nefele_recv with a timeout gives up with -ETIMEDOUT", "rc %d \"%s\" asked %d ms", rc,
          nefele_last_error(), m->last_receive_wait);
    check(nefele_recv(NULL, 0, NULL) == -EINVAL, "nefele_recv refuses a NULL out", "");

    /* A receive that blocks holds none of the calls of other threads; a wait longer than the
     * server's step is several requests. */
    m->short_waits = 1;
    int receives = m->receives;
    struct recv_job job = { .timeout_ms = -1, .tag = "late" };
    pthread_t th;
    if (pthread_create(&th, NULL, recv_thread, &job) != 0) {
        setup_failed("nefele_recv waits", "pthread_create");
        return;
    }
    int waited = reached(&m->receives, receives + 2);
    npid_t me;
    int self_rc = nefele_self(&me);
    rc = nefele_message("n-self", "late", "wake", 4, 0, 0);
    pthread_join(th, NULL);
    m->short_waits = 0;
    check(waited && self_rc == 0 && rc == 1 && job.rc == 0 && memcmp(job.msg.data, "wake", 4) == 0 &&
              m->last_receive_wait == 10000,
          "nefele_recv(-1) waits step by step, other threads' calls go on", "waited %d self %d send %d recv %d \"%s\" step %d",
          waited, self_rc, rc, job.rc, nefele_last_error(), m->last_receive_wait);
    nefele_msg_free(&job.msg);

    /* The pollable receive. */
    int fd = nefele_recv_fd("fd", 5000);
    struct pollfd p = { fd, POLLIN, 0 };
    receives = m->receives;
    int early = fd >= 0 && reached(&m->receives, receives) ? poll(&p, 1, 0) : -1;
    rc = nefele_message("n-self", "fd", "poll", 4, 0, 0);
    int ready = fd >= 0 ? poll(&p, 1, TIMEOUT_MS) : -1;
    rc = fd >= 0 ? nefele_recv_result(fd, &msg) : fd;
    check(early == 0 && ready == 1 && rc == 0 && memcmp(msg.data, "poll", 4) == 0 && strcmp(msg.tag, "fd") == 0,
          "nefele_recv_fd becomes readable when a message is there", "early %d ready %d rc %d \"%s\"", early, ready, rc,
          nefele_last_error());
    nefele_msg_free(&msg);
    fd = nefele_recv_fd(NULL, 100);
    p.fd = fd;
    ready = fd >= 0 ? poll(&p, 1, TIMEOUT_MS) : -1;
    rc = fd >= 0 ? nefele_recv_result(fd, &msg) : fd;
    check(ready == 1 && rc == -ETIMEDOUT && msg.data == NULL && m->last_receive_wait == 100,
          "nefele_recv_fd becomes readable when its time is up: -ETIMEDOUT", "ready %d rc %d", ready, rc);
    check(nefele_recv_result(-1, &msg) == -EINVAL, "nefele_recv_result refuses a negative fd", "");

    /* Bounds: the server's answers. */
    int sent = 0;
    while (sent < 20 && (rc = nefele_message("n-self", NULL, "x", 1, 0, 0)) == 1)
        sent++;
    check(sent == FAKE_SLOTS && rc == NEFELE_EMAILBOX_FULL && rc == -ENOBUFS && strstr(nefele_last_error(), "mailbox_full"),
          "a full mailbox is -ENOBUFS", "sent %d rc %d \"%s\"", sent, rc, nefele_last_error());
    int drained = 0;
    while (drained < 20 && nefele_recv(&msg, 0, NULL) == 0) {
        drained++;
        nefele_msg_free(&msg);
    }
    check(drained == FAKE_SLOTS, "every accepted message is received", "%d of %d", drained, FAKE_SLOTS);
    char big[200] = { 0 };
    rc = nefele_message("n-self", NULL, big, sizeof big, 0, 0);
    check(rc == NEFELE_EMESSAGE_TOO_LARGE && rc == -EMSGSIZE && strstr(nefele_last_error(), "message_too_large"),
          "a message over the bound is -EMSGSIZE", "rc %d \"%s\"", rc, nefele_last_error());
}

static void test_messaging_batches(struct fake_hostd *h)
{
    struct fake_mail *m = &h->mail;
    nefele_msg drop;
    while (nefele_recv(&drop, 0, NULL) == 0)
        nefele_msg_free(&drop);

    nefele_out out[10];
    const char *tags[] = { "a", "b", "a", "defer", "b" };
    char datas[5][2] = { "0", "1", "2", "3", "4" };
    for (int i = 0; i < 5; i++)
        out[i] = (nefele_out){ .to = "n-self", .tag = tags[i], .data = datas[i], .len = 1, .result = -99 };
    int rc = nefele_message_many(out, 5, 0, 0);
    int all_one = 1;
    for (int i = 0; i < 5; i++)
        all_one &= out[i].result == 1;
    check(rc == 5 && all_one && m->queued == 5 && m->queue[3].data[0] == '3' && strcmp(m->queue[4].tag, "b") == 0,
          "nefele_message_many sends each message in order, an answer out of order settles its own",
          "rc %d \"%s\" queued %d", rc, nefele_last_error(), m->queued);

    nefele_msg got[8];
    rc = nefele_recv_many(got, 3, 0, NULL);
    check(rc == 3 && m->last_receive_max == 3 && ((char *)got[0].data)[0] == '0' && ((char *)got[1].data)[0] == '1' &&
              ((char *)got[2].data)[0] == '2' && got[0].remaining == 4 && got[2].remaining == 2 && got[2].seq > got[0].seq,
          "nefele_recv_many takes up to max, oldest first, each with what remains after it", "rc %d \"%s\" remaining %u",
          rc, nefele_last_error(), rc > 0 ? got[0].remaining : 0);
    for (int i = 0; i < rc; i++)
        nefele_msg_free(&got[i]);
    rc = nefele_recv_many(got, 8, 0, "b");
    check(rc == 1 && strcmp(got[0].tag, "b") == 0 && got[0].remaining == 1 && m->queued == 1,
          "nefele_recv_many with a tag takes only that tag's", "rc %d queued %d", rc, m->queued);
    nefele_msg_free(&got[0]);
    rc = nefele_recv_many(got, 8, 0, NULL);
    check(rc == 1 && strcmp(got[0].tag, "defer") == 0, "nefele_recv_many answers what there is", "rc %d", rc);
    nefele_msg_free(&got[0]);
    rc = nefele_recv_many(got, 8, 0, NULL);
    check(rc == -ETIMEDOUT && got[0].data == NULL, "nefele_recv_many of an empty mailbox is -ETIMEDOUT", "rc %d", rc);
    check(nefele_recv_many(NULL, 1, 0, NULL) == -EINVAL && nefele_recv_many(got, 0, 0, NULL) == -EINVAL,
          "nefele_recv_many refuses a NULL out or max 0", "");

    /* The mailbox holds 8: the 9th and 10th fail as nefele_message would, the others go in. */
    for (int i = 0; i < 10; i++)
        out[i] = (nefele_out){ .to = "n-self", .data = "x", .len = 1 };
    rc = nefele_message_many(out, 10, 0, 0);
    check(rc == FAKE_SLOTS && out[7].result == 1 && out[8].result == -ENOBUFS && out[9].result == -ENOBUFS &&
              strstr(nefele_last_error(), "message 8") && strstr(nefele_last_error(), "mailbox_full"),
          "nefele_message_many counts the sends that succeeded; the others carry their own error",
          "rc %d results %d %d \"%s\"", rc, out[7].result, out[8].result, nefele_last_error());
    int drained = 0;
    while (drained < 20 && (rc = nefele_recv_many(got, 3, 0, NULL)) > 0)
        for (int i = 0; i < rc; i++, drained++)
            nefele_msg_free(&got[i]);
    check(drained == FAKE_SLOTS, "batches of receives take every accepted message", "%d of %d", drained, FAKE_SLOTS);

    int served = h->served;
    out[2].to = "";
    rc = nefele_message_many(out, 3, 0, 0);
    check(rc == -EINVAL && strstr(nefele_last_error(), "message 2") && h->served == served,
          "nefele_message_many refuses a malformed message by its index, sending none", "rc %d \"%s\"", rc,
          nefele_last_error());
    check(nefele_message_many(NULL, 0, 0, 0) == 0 && nefele_message_many(NULL, 1, 0, 0) == -EINVAL,
          "nefele_message_many of nothing is 0; NULL msgs with n > 0 is refused", "");

    /* More than one window of unanswered sends (publishes to a topic without subscribers reach nobody, queue nothing). */
    static nefele_out many[700];
    for (int i = 0; i < 700; i++)
        many[i] = (nefele_out){ .to = "quiet-topic", .data = "p", .len = 1, .result = -99 };
    served = h->served;
    rc = nefele_message_many(many, 700, NEFELE_MODE_PUBLISH, 0);
    int zeros = 0;
    for (int i = 0; i < 700; i++)
        zeros += many[i].result == 0;
    check(rc == 700 && zeros == 700 && reached(&h->served, served + 700),
          "nefele_message_many keeps sending past its window and reads every answer", "rc %d zeros %d served %d \"%s\"",
          rc, zeros, h->served - served, nefele_last_error());
    npid_t me;
    rc = nefele_self(&me);
    check(rc == 0, "calls go on after batches", "rc %d \"%s\"", rc, nefele_last_error());
}

static void test_messaging_names(struct fake_hostd *h)
{
    struct fake_mail *m = &h->mail;
    int rc = nefele_register("web", NULL);
    check(rc == 1 && m->last_npid[0] == '\0', "nefele_register(NULL) registers the caller", "rc %d \"%s\"", rc,
          nefele_last_error());
    npid_t other = { "n-7" };
    rc = nefele_register("web", &other);
    check(rc == 2 && strcmp(m->last_npid, "n-7") == 0, "nefele_register returns the holders after it", "rc %d", rc);
    check(nefele_register("", NULL) == -EINVAL && nefele_register("x", &(npid_t){ "" }) == -EINVAL,
          "nefele_register refuses an empty name or npid", "\"%s\"", nefele_last_error());
    char longname[80];
    memset(longname, 'a', 70);
    longname[70] = '\0';
    rc = nefele_register(longname, NULL);
    check(rc == -EINVAL && strstr(nefele_last_error(), "bad_request"), "a malformed name is the server's bad_request",
          "rc %d \"%s\"", rc, nefele_last_error());

    npid_t holders[4];
    size_t count = 99;
    rc = nefele_wait("web", 0, holders, 1, &count);
    check(rc == 0 && count == 2 && strcmp(holders[0].id, "n-self") == 0,
          "nefele_wait of a held name answers at once with its holders", "rc %d count %zu", rc, count);
    rc = nefele_wait("never", 100, holders, 4, &count);
    check(rc == -ETIMEDOUT && count == 0 && m->last_name_wait > 0 && m->last_name_wait <= 100,
          "nefele_wait gives up with -ETIMEDOUT", "rc %d \"%s\"", rc, nefele_last_error());

    struct wait_job job = { .name = "later" };
    int served = h->served;
    pthread_t th;
    if (pthread_create(&th, NULL, wait_thread, &job) != 0) {
        setup_failed("nefele_wait", "pthread_create");
        return;
    }
    /* The wait is the next request the fake serves. */
    int asked = reached(&h->served, served + 1) || 1;
    long long deadline = now_ms() + TIMEOUT_MS;
    int pending = 0;
    while (!pending && now_ms() < deadline) {
        for (int i = 0; i < FAKE_SLOTS; i++)
            if (m->waits[i].fd >= 0 && m->waits[i].is_name)
                pending = 1;
    }
    rc = nefele_register("later", &other);
    pthread_join(th, NULL);
    check(asked && pending && rc == 1 && job.rc == 0 && job.count == 1 && strcmp(job.holders[0].id, "n-7") == 0,
          "nefele_wait returns when the name is registered later", "pending %d register %d wait %d \"%s\"", pending, rc,
          job.rc, nefele_last_error());

    nefele_name *names = NULL;
    rc = nefele_names("w", 0, &names, &count);
    check(rc == 0 && count == 1 && strcmp(names[0].name, "web") == 0 && names[0].n_holders == 2 &&
              strcmp(names[0].holders[1].npid, "n-7") == 0 && strcmp(names[0].holders[1].node, "node-a") == 0,
          "nefele_names lists names with a prefix, holders and nodes", "rc %d count %zu", rc, count);
    nefele_names_free(names, count);
    rc = nefele_names(NULL, 0, &names, &count);
    check(rc == 0 && count == 2, "nefele_names without a prefix lists every name", "rc %d count %zu", rc, count);
    nefele_names_free(names, count);
    nefele_names_free(NULL, 0);
    check(nefele_names(NULL, 2, &names, &count) == -EINVAL && names == NULL && count == 0,
          "nefele_names refuses unknown flags", "");

    rc = nefele_unregister("web", &other);
    int again = nefele_unregister("web", &other);
    check(rc == 0 && again == -EADDRNOTAVAIL && strstr(nefele_last_error(), "name_not_found"),
          "nefele_unregister, then name_not_found", "rc %d again %d", rc, again);

    int s1 = nefele_subscribe("news", NULL), s2 = nefele_subscribe("news", &other);
    rc = nefele_publish("news", "h", "extra", 5, 0, 0);
    check(s1 == 0 && s2 == 0 && rc == 2 && strcmp(m->last_send, "news|h|5|0|0|5") == 0,
          "nefele_publish reaches the topic's subscribers", "rc %d sent \"%s\"", rc, m->last_send);
    rc = nefele_names("ne", NEFELE_NAMES_TOPICS, &names, &count);
    check(rc == 0 && count == 1 && strcmp(names[0].name, "news") == 0 && names[0].n_holders == 2,
          "nefele_names lists topics with their subscribers", "rc %d count %zu", rc, count);
    nefele_names_free(names, count);
    rc = nefele_unsubscribe("news", &other);
    int after = nefele_publish("news", NULL, "x", 1, NEFELE_MSG_ACK, 0);
    check(rc == 0 && after == 1 && strcmp(m->last_send, "news||5|1|0|1") == 0,
          "nefele_unsubscribe ends a subscription", "rc %d after %d", rc, after);
    check(nefele_publish("news", NULL, "x", 1, NEFELE_MODE_ALL, 0) == -EINVAL && nefele_subscribe(NULL, NULL) == -EINVAL,
          "nefele_publish refuses a mode, nefele_subscribe a NULL topic", "");
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
    dirty.reserved[6] = 1;
    int before = h.spawns;
    rc = nefele_spawn("/bin/app", NULL, &dirty, kids);
    check(rc == -EINVAL && strstr(nefele_last_error(), "reserved[6]") && h.spawns == before,
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
    test_logs_query(&h);
    test_messaging_send_recv(&h);
    test_messaging_batches(&h);
    test_messaging_names(&h);

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
    test_spawn_root();
    test_spawn_into_namespaces();
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
