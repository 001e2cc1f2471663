/*
 * libnefele-spawn: starts one child process for hostd.
 *
 * hostd is a large multithreaded .NET process; this helper starts children with
 * clone(CLONE_VM|CLONE_VFORK) (clone3 with CLONE_INTO_CGROUP on cgroup v2) so no page
 * tables are copied, and does in the child
 * exactly what a Nefele process needs before exec (cgroup join, own session, default
 * signal dispositions, fd layout).
 */
#ifndef NEFELE_SPAWN_H
#define NEFELE_SPAWN_H

#ifdef __cplusplus
extern "C" {
#endif

/* Values written to *err_stage when nefele_spawn_process returns -1. */
#define NEFELE_SPAWN_STAGE_FORK   1 /* creating the child failed (clone/fork)            */
#define NEFELE_SPAWN_STAGE_CGROUP 2 /* writing the child to a cgroup.procs file failed   */
#define NEFELE_SPAWN_STAGE_CHDIR  3 /* chdir(cwd) failed                                 */
#define NEFELE_SPAWN_STAGE_EXEC   4 /* execve failed (ENOENT, EACCES, ENOEXEC, ...)      */
#define NEFELE_SPAWN_STAGE_SETUP  5 /* setting up the child's session or stdio failed    */
#define NEFELE_SPAWN_STAGE_RLIMIT 6 /* setrlimit of one of the given limits failed         */
#define NEFELE_SPAWN_STAGE_IDENTITY 7 /* setgroups/setgid/setuid or no_new_privs failed   */
#define NEFELE_SPAWN_STAGE_ROOT   8 /* entering the root (mount namespace, mounts, chroot) */
#define NEFELE_SPAWN_STAGE_NAMESPACE 9 /* entering one of the given namespaces failed       */

/* One resource limit for the child (resource is an RLIMIT_* value of <sys/resource.h>). */
struct nefele_spawn_rlimit {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
};

/*
 * A root filesystem the child runs in (an unpacked image) instead of the caller's. The child
 * gets a mount namespace of its own (every mount private, nothing propagates back), in which:
 * path is bound onto itself and made read-only; each bind (source, then target: an absolute
 * path under path whose file or directory exists already) is bound read-write; tmpfs, when
 * set, is an absolute directory under path that gets an empty tmpfs of its own (mode 1777);
 * then it chroots into path and enters "/". Needs CAP_SYS_ADMIN and CAP_SYS_CHROOT (root).
 */
struct nefele_spawn_root {
    const char *path;
    const char *const *binds; /* NULL-terminated: source, target, source, target, ... */
    const char *tmpfs;
};

/*
 * Who the child runs as and what it may use. set_ids = 0 keeps the caller's identity
 * (hostd's, root); otherwise the child's supplementary groups become exactly { gid }, then
 * its real/effective/saved gid and uid become gid and uid. no_new_privs sets
 * PR_SET_NO_NEW_PRIVS (setuid binaries and file capabilities then grant nothing).
 */
struct nefele_spawn_identity {
    int set_ids;
    unsigned int uid;
    unsigned int gid;
    int no_new_privs;
    const struct nefele_spawn_rlimit *rlimits;
    unsigned int rlimit_count;
    const struct nefele_spawn_root *root; /* NULL: the caller's root */
};

/*
 * Namespaces the child enters (a container's), each an open /proc/<pid>/ns/<kind> descriptor
 * or -1 to stay in hostd's. The pid namespace is entered by the spawning thread for its next
 * child only (setns of pid_for_children, undone right after the clone), so the child is
 * created in it and stays hostd's child, reaped and signalled by hostd, with the pid hostd
 * sees being the host's. The others are entered by the child after it joined its cgroups
 * (whose files are host paths) and before stdio, identity, cwd and exec, the mount namespace
 * last: the child then sees the container's root, and cwd and path are resolved there.
 */
struct nefele_spawn_namespaces {
    int pid_fd;
    int mnt_fd;
    int uts_fd;
    int ipc_fd;
    int net_fd;
    int cgroup_fd;
};

/*
 * Starts path with argv/envp (both NULL-terminated; argv[0] is what the program sees).
 *
 * cwd:                NULL or "" keeps the caller's working directory.
 * cgroup_procs_files: NULL-terminated list of cgroup.procs paths the child joins before
 *                     exec (so limits apply from its first instruction); may be NULL.
 * cgroup_fd:          -1, or a cgroup v2 directory (opened O_PATH or O_RDONLY) the child is
 *                     created in with clone3(CLONE_INTO_CGROUP) (Linux 5.7, x86-64), so it
 *                     never runs outside it; where that is not available the child writes
 *                     itself into the directory's cgroup.procs before exec instead.
 * stdin_fd/stdout_fd/stderr_fd: become the child's 0/1/2; a negative value means
 *                     /dev/null. Every other descriptor is closed in the child. A terminal
 *                     as stdin (a pty slave) becomes the controlling terminal of the
 *                     child's new session (TIOCSCTTY).
 *
 * identity:           NULL keeps the caller's uid, gid, groups and limits; see
 *                     struct nefele_spawn_identity. The limits are set, then the root is
 *                     entered (identity->root), then the ids are dropped, then cwd is
 *                     entered (inside the root), so chdir and exec are checked as the new uid.
 *
 * The child runs in its own session (setsid), with every signal at SIG_DFL and an
 * empty signal mask.
 *
 * pidfd_out:          NULL, or where a pidfd of the child (close-on-exec) is stored: it
 *                     becomes readable when the child exits, so the caller can poll for the
 *                     exit instead of waiting for SIGCHLD. -1 there on kernels without
 *                     pidfds (before 5.3) and on failure; the caller closes it.
 *
 * Returns the child's pid (> 0) once execve has succeeded. The caller owns the child and
 * must reap it (waitpid); this function never waits for a child that started.
 * Returns -1 on failure with *err_stage (NEFELE_SPAWN_STAGE_*) and *err_no (errno value)
 * set; a child that failed before exec has already been reaped.
 */
__attribute__((visibility("default")))
int nefele_spawn_process(const char *path, char *const argv[], char *const envp[],
                         const char *cwd, const char *const cgroup_procs_files[], int cgroup_fd,
                         int stdin_fd, int stdout_fd, int stderr_fd,
                         const struct nefele_spawn_identity *identity,
                         int *pidfd_out, int *err_stage, int *err_no);

/* nefele_spawn_process, with the child in the namespaces ns names (NULL: hostd's own). */
__attribute__((visibility("default")))
int nefele_spawn_process_in(const char *path, char *const argv[], char *const envp[],
                            const char *cwd, const char *const cgroup_procs_files[], int cgroup_fd,
                            int stdin_fd, int stdout_fd, int stderr_fd,
                            const struct nefele_spawn_identity *identity,
                            const struct nefele_spawn_namespaces *ns,
                            int *pidfd_out, int *err_stage, int *err_no);

#ifdef __cplusplus
}
#endif

#endif
