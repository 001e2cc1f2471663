/*
 * nefele-pause: pid 1 of a tenant container whose image has no init (a busybox or distroless
 * root). It holds the container's namespaces open while hostd starts processes inside them,
 * reaps the orphans those processes leave (they are reparented to it), and exits on SIGTERM
 * or SIGINT. Static, so it runs in any root filesystem it is bind-mounted into.
 *
 * pid 1 of a pid namespace drops signals whose disposition is the default, even while they
 * are blocked: each awaited signal gets a handler that is never run (they stay blocked and
 * are taken with sigwaitinfo).
 *
 * Once its handlers are in place it tells systemd-nspawn it is ready (READY=1 on
 * $NOTIFY_SOCKET, with --notify-ready=yes), which nspawn passes on to whoever started it.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void never_run(int sig)
{
    (void)sig;
}

static void notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    static const char ready[] = "READY=1";
    (void)sendto(fd, ready, sizeof ready - 1, MSG_NOSIGNAL, (struct sockaddr *)&addr,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

int main(void)
{
    sigset_t awaited;
    sigemptyset(&awaited);
    sigaddset(&awaited, SIGTERM);
    sigaddset(&awaited, SIGINT);
    sigaddset(&awaited, SIGCHLD);
    sigaddset(&awaited, SIGRTMIN + 3); /* what systemd-nspawn and machinectl send for poweroff */
    sigprocmask(SIG_BLOCK, &awaited, NULL);

    struct sigaction sa = { 0 };
    sa.sa_handler = never_run;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGRTMIN + 3, &sa, NULL);
    notify_ready();

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&awaited, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (sig != SIGCHLD)
            return 0;
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
    }
}
