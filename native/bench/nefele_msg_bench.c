/* The Nefele processes of scripts/bench messaging, on libnefele's messaging calls.
 *
 *   nefele_msg_bench echo                 answers every message to its sender (same tag, data),
 *                                         until one tagged "stop"
 *   nefele_msg_bench rtt TARGET N BYTES   N round trips (after a warm-up) of BYTES to TARGET (an
 *                                         echo), each timed send to reply; prints "rtt_ns <ns>" lines
 *   nefele_msg_bench sink N               receives N messages, then answers the last sender "done"
 *   nefele_msg_bench flood TARGET N BYTES sends N unacknowledged messages of BYTES to TARGET (a
 *                                         sink) as fast as it can and waits for its "done";
 *                                         prints "flood_ns <ns>" (first send to "done")
 *   nefele_msg_bench sink-many N          the same, taking them with nefele_recv_many (up to 1024 a call)
 *   nefele_msg_bench flood-many TARGET N BYTES
 *                                         the same as flood with nefele_message_many, 1,000 messages a call
 *   nefele_msg_bench waiter PREFIX N      registers PREFIX-ready, then for i < N waits for the
 *                                         name PREFIX-i; prints "visible <i> <realtime ns>"
 *   nefele_msg_bench registrar PREFIX N   waits for PREFIX-ready, then for i < N registers PREFIX-i;
 *                                         prints "registered <i> <realtime ns>" just before each
 *
 * Every failure prints the call, its code and nefele_last_error() and exits 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <nefele.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %d %s\n", what, rc, nefele_last_error());
        exit(2);
    }
}

static int echo(void)
{
    for (;;) {
        nefele_msg m;
        check(nefele_recv(&m, -1, NULL), "recv");
        if (strcmp(m.tag, "stop") == 0) {
            nefele_msg_free(&m);
            return 0;
        }
        check(nefele_message(m.from, m.tag, m.data, m.len, 0, 10000), "send");
        nefele_msg_free(&m);
    }
}

static int rtt(const char *target, int n, size_t bytes)
{
    char *data = calloc(1, bytes ? bytes : 1);
    int warmup = n / 10 + 10;
    for (int i = 0; i < warmup + n; i++) {
        long long start = clock_ns(CLOCK_MONOTONIC);
        check(nefele_message(target, "ping", data, bytes, 0, 10000), "send");
        nefele_msg m;
        check(nefele_recv(&m, 10000, "ping"), "recv");
        long long took = clock_ns(CLOCK_MONOTONIC) - start;
        nefele_msg_free(&m);
        if (i >= warmup)
            printf("rtt_ns %lld\n", took);
    }
    check(nefele_message(target, "stop", NULL, 0, NEFELE_MSG_ACK, 10000), "stop");
    return 0;
}

static int sink(int n)
{
    char from[64] = "";
    for (int i = 0; i < n; i++) {
        nefele_msg m;
        check(nefele_recv(&m, -1, NULL), "recv");
        memcpy(from, m.from, sizeof from);
        nefele_msg_free(&m);
    }
    check(nefele_message(from, "done", NULL, 0, NEFELE_MSG_ACK, 10000), "done");
    return 0;
}

#define SINK_BATCH 1024
#define FLOOD_BATCH 1000

static int sink_many(int n)
{
    static nefele_msg got[SINK_BATCH];
    char from[64] = "";
    for (int i = 0; i < n;) {
        int k = nefele_recv_many(got, SINK_BATCH, -1, NULL);
        check(k, "recv_many");
        memcpy(from, got[k - 1].from, sizeof from);
        for (int j = 0; j < k; j++)
            nefele_msg_free(&got[j]);
        i += k;
    }
    check(nefele_message(from, "done", NULL, 0, NEFELE_MSG_ACK, 10000), "done");
    return 0;
}

static int flood_many(const char *target, int n, size_t bytes)
{
    char *data = calloc(1, bytes ? bytes : 1);
    static nefele_out batch[FLOOD_BATCH];
    long long start = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < n;) {
        int k = n - i < FLOOD_BATCH ? n - i : FLOOD_BATCH;
        for (int j = 0; j < k; j++)
            batch[j] = (nefele_out){ .to = target, .data = data, .len = bytes };
        /* As flood: a full mailbox waits for room, none dropped. */
        int rc = nefele_message_many(batch, (size_t)k, 0, 10000);
        check(rc < 0 ? rc : rc == k ? 0 : -EIO, "send_many");
        i += k;
    }
    nefele_msg m;
    check(nefele_recv(&m, 60000, "done"), "recv done");
    nefele_msg_free(&m);
    printf("flood_ns %lld\n", clock_ns(CLOCK_MONOTONIC) - start);
    return 0;
}

static int flood(const char *target, int n, size_t bytes)
{
    char *data = calloc(1, bytes ? bytes : 1);
    long long start = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
        /* A full mailbox waits for room: the figure is what the receiver takes, none dropped. */
        check(nefele_message(target, NULL, data, bytes, 0, 10000), "send");
    }
    nefele_msg m;
    check(nefele_recv(&m, 60000, "done"), "recv done");
    nefele_msg_free(&m);
    printf("flood_ns %lld\n", clock_ns(CLOCK_MONOTONIC) - start);
    return 0;
}

static int waiter(const char *prefix, int n)
{
    char name[80];
    snprintf(name, sizeof name, "%s-ready", prefix);
    check(nefele_register(name, NULL), "register ready");
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        check(nefele_wait(name, 30000, NULL, 0, NULL), "wait");
        printf("visible %d %lld\n", i, clock_ns(CLOCK_REALTIME));
        fflush(stdout);
    }
    return 0;
}

static int registrar(const char *prefix, int n)
{
    char name[80];
    snprintf(name, sizeof name, "%s-ready", prefix);
    /* One wait is capped at 10 s (MaxMessagingWait); the waiter may start later than that on a busy machine. */
    long long give_up = clock_ns(CLOCK_MONOTONIC) + 60 * 1000000000LL;
    int rc;
    while ((rc = nefele_wait(name, 10000, NULL, 0, NULL)) == -ETIMEDOUT && clock_ns(CLOCK_MONOTONIC) < give_up)
        ;
    check(rc, "wait ready");
    for (int i = 0; i < n; i++) {
        /* Apart, so each is timed on its own, not queued behind the previous push. */
        struct timespec gap = {0, 20 * 1000 * 1000};
        nanosleep(&gap, NULL);
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        printf("registered %d %lld\n", i, clock_ns(CLOCK_REALTIME));
        fflush(stdout);
        check(nefele_register(name, NULL), "register");
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    const char *mode = argc > 1 ? argv[1] : "";
    int rc;
    if (strcmp(mode, "echo") == 0)
        rc = echo();
    else if (strcmp(mode, "rtt") == 0 && argc == 5)
        rc = rtt(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]));
    else if (strcmp(mode, "sink") == 0 && argc == 3)
        rc = sink(atoi(argv[2]));
    else if (strcmp(mode, "flood") == 0 && argc == 5)
        rc = flood(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]));
    else if (strcmp(mode, "sink-many") == 0 && argc == 3)
        rc = sink_many(atoi(argv[2]));
    else if (strcmp(mode, "flood-many") == 0 && argc == 5)
        rc = flood_many(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]));
    else if (strcmp(mode, "waiter") == 0 && argc == 4)
        rc = waiter(argv[2], atoi(argv[3]));
    else if (strcmp(mode, "registrar") == 0 && argc == 4)
        rc = registrar(argv[2], atoi(argv[3]));
    else {
        fprintf(stderr, "usage: nefele_msg_bench echo | rtt TARGET N BYTES | sink N | flood TARGET N BYTES | sink-many N | flood-many TARGET N BYTES | waiter PREFIX N | registrar PREFIX N\n");
        return 64;
    }
    fflush(stdout);
    return rc;
}
