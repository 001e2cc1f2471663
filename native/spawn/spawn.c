/*
 * nefele_spawn_process: start one child for hostd.
 *
 * The child is created with clone(CLONE_VM | CLONE_VFORK) on a private stack: it
 * shares the parent's memory until execve, so nothing is copied however large the
 * parent is, and the calling thread is suspended until the child has exec'd or exited.
 * Because memory is shared, the child only reads the argument block, writes its own
 * stack, and reports failures through a close-on-exec pipe. All signals are blocked in
 * the calling thread around the clone so no parent handler can ever run in the child.
 */
#include "nefele_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#if defined(__x86_64__)
/*
 * clone3 with CLONE_VM: the child starts on the stack clone_args names, so it cannot return
 * into C; this runs fn(arg) there and exits with its value (as the C library's clone() does,
 * which has no clone3 form that takes a function). Returns the pid or -errno in the parent.
 */
#define HAVE_CLONE3_VM 1
struct clone3_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};
long nefele_clone3_run(struct clone3_args *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl nefele_clone3_run\n"
        ".hidden nefele_clone3_run\n"
        ".type nefele_clone3_run,@function\n"
        "nefele_clone3_run:\n"
        "    mov %rdx, %r8\n"        /* fn and arg survive the syscall in r8, r9 */
        "    mov %rcx, %r9\n"
        "    mov $435, %eax\n"       /* SYS_clone3 */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    xor %ebp, %ebp\n"       /* child: its own stack, no frame to return to */
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov %eax, %edi\n"
        "    mov $60, %eax\n"        /* SYS_exit */
        "    syscall\n"
        "    hlt\n"
        "1:  ret\n"
        ".size nefele_clone3_run, .-nefele_clone3_run\n");
#endif

/* The child makes a handful of shallow libc calls; this is ample. */
#define CHILD_STACK_SIZE (128 * 1024)

/*
 * Each thread that spawns keeps its child stack for the next spawn (a thread runs one clone at
 * a time: it is suspended until the child has exec'd or exited), and unmaps it when the thread
 * ends. A fresh mapping per spawn cost an mmap, page faults on first touch and an munmap that
 * flushes the TLB of every CPU running one of hostd's threads.
 */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static int stack_key_ok;

static void stack_release(void *stack)
{
    munmap(stack, CHILD_STACK_SIZE);
}

static void stack_key_init(void)
{
    stack_key_ok = pthread_key_create(&stack_key, stack_release) == 0;
}

/* This thread's child stack (made at its first spawn), or MAP_FAILED. *kept: it stays mapped. */
static void *child_stack(int *kept)
{
    pthread_once(&stack_once, stack_key_init);
    void *stack = stack_key_ok ? pthread_getspecific(stack_key) : NULL;
    *kept = 0;
    if (stack) {
        *kept = 1;
        return stack;
    }
    stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack != MAP_FAILED && stack_key_ok && pthread_setspecific(stack_key, stack) == 0)
        *kept = 1;
    return stack;
}

struct child_args {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    const char *const *cgroups;
    int cgroup_fd;
    int in_cgroup; /* created in cgroup_fd by CLONE_INTO_CGROUP */
    const struct nefele_spawn_identity *identity;
    const struct nefele_spawn_namespaces *ns;
    int fds[3];
    int errfd;
};

struct child_failure {
    int stage;
    int err;
};

/* Child side: report and leave. The pipe write is atomic (< PIPE_BUF). */
static void __attribute__((noreturn)) child_fail(int errfd, int stage, int err)
{
    struct child_failure f = { stage, err };
    ssize_t n;
    do {
        n = write(errfd, &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

static void child_close_from(int first, int last)
{
    if (first > last)
        return;
    if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0u) == 0)
        return;
    /* Kernels before 5.9: close one by one up to the descriptor limit. */
    struct rlimit rl;
    long max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max = (long)rl.rlim_cur;
    if ((long)last < max)
        max = (long)last + 1;
    for (long fd = first; fd < max; fd++)
        close((int)fd);
}

/* Moves the calling process into the cgroup whose cgroup.procs is open on fd (or fails). */
static void join_cgroup(int errfd, int fd)
{
    if (fd < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_CGROUP, errno);
    ssize_t n;
    do {
        n = write(fd, "0", 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
        int err = n < 0 ? errno : EIO;
        close(fd);
        child_fail(errfd, NEFELE_SPAWN_STAGE_CGROUP, err);
    }
    close(fd);
}

/* Child side: a mount namespace of its own with the image's root read-only, the binds and a
 * private tmpfs in it, then chroot (see struct nefele_spawn_root). Only system calls: the
 * child shares hostd's memory. */
static void enter_root(int errfd, const struct nefele_spawn_root *r)
{
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(r->path, r->path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, r->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_ROOT, errno);
    if (r->binds) {
        for (const char *const *b = r->binds; b[0] && b[1]; b += 2) {
            if (mount(b[0], b[1], NULL, MS_BIND, NULL) < 0)
                child_fail(errfd, NEFELE_SPAWN_STAGE_ROOT, errno);
        }
    }
    if (r->tmpfs && r->tmpfs[0] &&
        mount("tmpfs", r->tmpfs, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_ROOT, errno);
    if (chroot(r->path) < 0 || chdir("/") < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_ROOT, errno);
}

static int child_main(void *p)
{
    const struct child_args *a = p;
    int errfd = a->errfd;

    /* Join the cgroups first so the limits cover everything the program does (a child
     * created in its cgroup v2 directory is there already). */
    if (a->cgroup_fd >= 0 && !a->in_cgroup)
        join_cgroup(errfd, openat(a->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (a->cgroups) {
        for (const char *const *cg = a->cgroups; *cg; cg++)
            join_cgroup(errfd, open(*cg, O_WRONLY | O_CLOEXEC));
    }

    /* A container's namespaces, after the cgroup files (host paths) and before anything that
     * opens a path; the mount namespace last, which also moves root and cwd to its root. */
    if (a->ns) {
        const struct { int fd; int type; } enter[] = {
            { a->ns->net_fd, CLONE_NEWNET },   { a->ns->uts_fd, CLONE_NEWUTS },
            { a->ns->ipc_fd, CLONE_NEWIPC },   { a->ns->cgroup_fd, CLONE_NEWCGROUP },
            { a->ns->mnt_fd, CLONE_NEWNS },
        };
        for (size_t i = 0; i < sizeof enter / sizeof enter[0]; i++) {
            if (enter[i].fd >= 0 && setns(enter[i].fd, enter[i].type) < 0)
                child_fail(errfd, NEFELE_SPAWN_STAGE_NAMESPACE, errno);
        }
    }

    /* Own session: terminal-generated signals aimed at hostd must not reach it. */
    if (setsid() < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);

    /* The parent runtime ignores SIGPIPE and others; the program must start with the
     * defaults. Signals stay blocked until just before execve. Failures here are only
     * the C library's reserved signals, whose handlers execve resets anyway. */
    struct sigaction dfl = { 0 };
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        sigaction(sig, &dfl, NULL);
    }

    /* Keep the report pipe clear of 0..2 so the stdio setup cannot clobber it. */
    if (errfd < 3) {
        int moved = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0)
            child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);
        errfd = moved;
    }

    /* Copy every source above 2 first, then dup2 onto 0..2: a source may itself be one
     * of 0..2 (e.g. stdout given as stderr), so order-independent. */
    int tmp[3];
    for (int i = 0; i < 3; i++) {
        int src = a->fds[i];
        if (src < 0) {
            src = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
            if (src < 0)
                child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);
        }
        tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, 3);
        if (tmp[i] < 0)
            child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(tmp[i], i) < 0)
            child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);
    }

    /* A terminal as stdin (spawn --tty: hostd holds its master) becomes the controlling
     * terminal of the new session, so ^C, job control and SIGWINCH reach the program. */
    if (isatty(0) && ioctl(0, TIOCSCTTY, 0) < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_SETUP, errno);

    /* Nothing of hostd's (sockets, logs, other children's pipes) may leak into it. */
    child_close_from(3, errfd - 1);
    child_close_from(errfd + 1, (int)(~0U >> 1));

    /* Limits first (lowering them needs no privilege, raising a hard limit needs root), then
     * the identity. Raw system calls: the glibc wrappers of set*id would broadcast the change
     * to every thread of hostd, whose memory this child shares. */
    const struct nefele_spawn_identity *id = a->identity;
    if (id) {
        for (unsigned int i = 0; i < id->rlimit_count; i++) {
            struct rlimit rl = { (rlim_t)id->rlimits[i].soft, (rlim_t)id->rlimits[i].hard };
            if (syscall(SYS_prlimit64, 0, id->rlimits[i].resource, &rl, NULL) < 0)
                child_fail(errfd, NEFELE_SPAWN_STAGE_RLIMIT, errno);
        }
        if (id->root && id->root->path && id->root->path[0])
            enter_root(errfd, id->root);
        if (id->set_ids) {
            gid_t groups[1] = { (gid_t)id->gid };
            if (syscall(SYS_setgroups, 1, groups) < 0 ||
                syscall(SYS_setresgid, (gid_t)id->gid, (gid_t)id->gid, (gid_t)id->gid) < 0 ||
                syscall(SYS_setresuid, (uid_t)id->uid, (uid_t)id->uid, (uid_t)id->uid) < 0)
                child_fail(errfd, NEFELE_SPAWN_STAGE_IDENTITY, errno);
        }
        if (id->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            child_fail(errfd, NEFELE_SPAWN_STAGE_IDENTITY, errno);
    }

    if (a->cwd && a->cwd[0] && chdir(a->cwd) < 0)
        child_fail(errfd, NEFELE_SPAWN_STAGE_CHDIR, errno);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    execve(a->path, a->argv, a->envp);
    child_fail(errfd, NEFELE_SPAWN_STAGE_EXEC, errno);
}

static int fail(int *err_stage, int *err_no, int stage, int err)
{
    *err_stage = stage;
    *err_no = err;
    return -1;
}

/* hostd's own pid namespace, to return the spawning thread's pid_for_children to. */
static int own_pid_ns = -1;
static pthread_once_t own_pid_ns_once = PTHREAD_ONCE_INIT;

static void own_pid_ns_init(void)
{
    own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
}

int nefele_spawn_process(const char *path, char *const argv[], char *const envp[],
                         const char *cwd, const char *const cgroup_procs_files[], int cgroup_fd,
                         int stdin_fd, int stdout_fd, int stderr_fd,
                         const struct nefele_spawn_identity *identity,
                         int *pidfd_out, int *err_stage, int *err_no)
{
    return nefele_spawn_process_in(path, argv, envp, cwd, cgroup_procs_files, cgroup_fd, stdin_fd,
                                   stdout_fd, stderr_fd, identity, NULL, pidfd_out, err_stage, err_no);
}

int nefele_spawn_process_in(const char *path, char *const argv[], char *const envp[],
                            const char *cwd, const char *const cgroup_procs_files[], int cgroup_fd,
                            int stdin_fd, int stdout_fd, int stderr_fd,
                            const struct nefele_spawn_identity *identity,
                            const struct nefele_spawn_namespaces *ns,
                            int *pidfd_out, int *err_stage, int *err_no)
{
    int stage_sink, errno_sink;
    if (pidfd_out)
        *pidfd_out = -1;
    if (!err_stage)
        err_stage = &stage_sink;
    if (!err_no)
        err_no = &errno_sink;
    *err_stage = 0;
    *err_no = 0;

    if (!path || !argv || !envp)
        return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_EXEC, EINVAL);

    int saved_errno = errno;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_FORK, errno);

    struct child_args args = {
        .path = path,
        .argv = argv,
        .envp = envp,
        .cwd = cwd,
        .cgroups = cgroup_procs_files,
        .cgroup_fd = cgroup_fd,
        .in_cgroup = 0,
        .identity = identity,
        .ns = ns,
        .fds = { stdin_fd, stdout_fd, stderr_fd },
        .errfd = pipefd[1],
    };

    int stack_kept;
    void *stack = child_stack(&stack_kept);
    if (stack == MAP_FAILED) {
        int err = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_FORK, err);
    }

    /* The pid namespace is the one a process is created in: this thread's next child goes
     * there (pid_for_children), and the thread returns to hostd's right after the clone. */
    int in_pid_ns = 0;
    if (ns && ns->pid_fd >= 0) {
        pthread_once(&own_pid_ns_once, own_pid_ns_init);
        int err = own_pid_ns < 0 ? errno : 0;
        if (!err && setns(ns->pid_fd, CLONE_NEWPID) < 0)
            err = errno;
        if (err) {
            if (!stack_kept)
                munmap(stack, CHILD_STACK_SIZE);
            close(pipefd[0]);
            close(pipefd[1]);
            return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_NAMESPACE, err);
        }
        in_pid_ns = 1;
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    /* The pidfd comes with the clone itself (the kernel writes it to pidfd), so the exit
     * can be awaited by polling it instead of scanning on SIGCHLD. */
    int pidfd = -1;
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    pid_t pid = -1;
    int clone_err = ENOSYS;
#ifdef HAVE_CLONE3_VM
    if (cgroup_fd >= 0) {
        /* cgroup v2: created in its cgroup (Linux 5.7), so it never runs outside it and no
         * cgroup.procs write (and its migration) is needed. */
        struct clone3_args ca = {
            .flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP | (pidfd_out ? CLONE_PIDFD : 0),
            .pidfd = (uint64_t)(uintptr_t)&pidfd,
            .exit_signal = SIGCHLD,
            .stack = (uint64_t)(uintptr_t)stack,
            .stack_size = CHILD_STACK_SIZE,
            .cgroup = (uint64_t)cgroup_fd,
        };
        args.in_cgroup = 1;
        long r = nefele_clone3_run(&ca, sizeof ca, child_main, &args);
        if (r < 0) {
            clone_err = (int)-r;
            args.in_cgroup = 0;
            pidfd = -1;
            if (clone_err != ENOSYS && clone_err != E2BIG && clone_err != EINVAL && clone_err != EPERM) {
                /* The kernel refused the cgroup itself (e.g. EBUSY, EOPNOTSUPP). */
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                if (in_pid_ns)
                    (void)setns(own_pid_ns, CLONE_NEWPID);
                if (!stack_kept)
                    munmap(stack, CHILD_STACK_SIZE);
                close(pipefd[0]);
                close(pipefd[1]);
                return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_CGROUP, clone_err);
            }
        } else {
            pid = (pid_t)r;
        }
    }
#endif
    if (pid < 0) {
        /* Kernels before 5.7 (or without clone3) join the cgroup from the child. */
        pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE,
                    flags | (pidfd_out ? CLONE_PIDFD : 0), &args, &pidfd);
        clone_err = errno;
    }
    if (pid < 0 && pidfd_out && clone_err == EINVAL) {
        /* Kernels before 5.2 know no CLONE_PIDFD. */
        pidfd = -1;
        pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, flags, &args);
        clone_err = errno;
    }
    if (pid < 0 && (clone_err == ENOSYS || clone_err == EINVAL || clone_err == EPERM)) {
        /* Sandboxes that refuse the vfork-style clone: a plain fork still works. */
        pidfd = -1;
        pid = fork();
        if (pid == 0)
            child_main(&args);
        clone_err = errno;
    }
    if (pid > 0 && pidfd_out && pidfd < 0) {
        /* Still unreaped, so the pid is still this child's. -1 where pidfds do not exist. */
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0)
            fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Cannot fail: hostd's own namespace is this thread's active one. */
    if (in_pid_ns)
        (void)setns(own_pid_ns, CLONE_NEWPID);
    if (!stack_kept)
        munmap(stack, CHILD_STACK_SIZE);
    close(pipefd[1]);

    if (pid < 0) {
        close(pipefd[0]);
        return fail(err_stage, err_no, NEFELE_SPAWN_STAGE_FORK, clone_err);
    }

    /* EOF means execve closed the write end: the program is running. */
    struct child_failure f;
    ssize_t n;
    do {
        n = read(pipefd[0], &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    close(pipefd[0]);

    if (n == (ssize_t)sizeof f) {
        if (pidfd >= 0)
            close(pidfd);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        errno = saved_errno;
        return fail(err_stage, err_no, f.stage, f.err);
    }

    if (pidfd_out)
        *pidfd_out = pidfd;
    errno = saved_errno;
    return pid;
}
