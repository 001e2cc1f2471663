/* The floor for a message round trip: two plain processes ping-pong a 100-byte message over a
 * unix socket pair (SOCK_SEQPACKET, one message per read), n times after a warm-up.
 * Prints one line per round trip (nanoseconds), for scripts/bench messaging to summarise.
 *
 *   unix_pingpong [n] [bytes]  */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    size_t bytes = argc > 2 ? (size_t)atoi(argv[2]) : 100;
    int warmup = n / 10 + 10;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }

    char *buf = calloc(1, bytes ? bytes : 1);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }

    if (child == 0) {
        close(sv[0]);
        for (;;) {
            ssize_t got = read(sv[1], buf, bytes ? bytes : 1);
            if (got <= 0)
                _exit(0);
            if (write(sv[1], buf, (size_t)got) != got)
                _exit(1);
        }
    }

    close(sv[1]);
    long long *rtt = calloc((size_t)n, sizeof *rtt);
    for (int i = 0; i < warmup + n; i++) {
        long long start = now_ns();
        if (write(sv[0], buf, bytes) != (ssize_t)bytes || read(sv[0], buf, bytes) != (ssize_t)bytes) {
            perror("ping-pong");
            return 1;
        }

        if (i >= warmup)
            rtt[i - warmup] = now_ns() - start;
    }

    close(sv[0]);
    waitpid(child, NULL, 0);
    for (int i = 0; i < n; i++)
        printf("%lld\n", rtt[i]);
    return 0;
}
