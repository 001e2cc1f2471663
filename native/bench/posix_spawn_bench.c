/*
 * nefele-bench-spawn N: the baseline for the spawn benchmark. Starts /bin/true with
 * posix_spawn and reaps it, N times, printing each run's wall time in milliseconds.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 2 || !end || *end || n < 0) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }

    char *child_argv[] = { (char *)"/bin/true", NULL };
    for (long i = 0; i < n; i++) {
        double t0 = now_ms();
        pid_t pid;
        int rc = posix_spawn(&pid, "/bin/true", NULL, NULL, child_argv, environ);
        if (rc != 0) {
            fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
            return 1;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                perror("waitpid");
                return 1;
            }
        }
        double t1 = now_ms();
        printf("%.3f\n", t1 - t0);
    }
    return 0;
}
