/*
 * nefele-example: what a C program running as a Nefele process can do with libnefele.
 *
 * It starts a child that prints a line every 200 ms, sees with a timed monitor that the child
 * is still running, follows the child's output until the third line, finds the child in ps with
 * the CPU time and memory it uses, stops it with SIGTERM and reports how it ended. Last, it
 * shows what a failed call looks like.
 *
 * Build against the installed library:   make            (see Makefile: pkg-config nefele)
 * Run it as a Nefele process:            nef spawn --wait -- "$PWD/nefele-example"
 */
#include <nefele.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s failed: %d (%s): %s\n", what, rc, nefele_strerror(rc), nefele_last_error());
    return 1;
}

int main(void)
{
    npid_t self, child;
    int rc = nefele_self(&self);
    if (rc < 0)
        return fail("nefele_self", rc);
    printf("self %s (libnefele %s)\n", self.id, nefele_version());

    const char *argv[] = { "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done", NULL };
    nefele_spawn_opts opts = { .name = "ticker", .memory_bytes = 64 << 20 };
    rc = nefele_spawn("/bin/sh", argv, &opts, &child);
    if (rc < 0)
        return fail("nefele_spawn", rc);
    printf("spawned %s\n", child.id);

    nefele_exit ended;
    rc = nefele_monitor_timeout(&child, &ended, 300);
    if (rc != -ETIMEDOUT)
        return fail("nefele_monitor_timeout (expected a timeout)", rc);
    printf("monitor: still running after 300 ms\n");

    /* Follow the output until "tick 3" (each read waits up to 5 s for more). */
    char text[4096];
    size_t used = 0;
    long long offset = 0;
    int complete = 0;
    while (!strstr(text, "tick 3\n") && !complete && used + 1 < sizeof text) {
        text[used] = '\0';
        ssize_t n = nefele_logs(&child, &offset, text + used, sizeof text - used - 1, 5000, &complete);
        if (n < 0)
            return fail("nefele_logs", (int)n);
        if (n == 0 && !complete)
            return fail("nefele_logs (no output within 5 s)", -ETIMEDOUT);
        used += (size_t)n;
        text[used] = '\0';
    }
    printf("logs: read %lld bytes, through \"tick 3\"\n", offset);

    nefele_proc procs[256];
    size_t count = 0;
    rc = nefele_ps(procs, 256, &count);
    if (rc < 0)
        return fail("nefele_ps", rc);
    for (size_t i = 0; i < count && i < 256; i++) {
        if (strcmp(procs[i].npid, child.id) == 0)
            printf("ps: %s name=%s state=%d cpu_used_ns=%lld memory_used=%lld memory_limit=%lld\n",
                   procs[i].npid, procs[i].name, procs[i].state, procs[i].cpu_usage_ns,
                   procs[i].memory_usage_bytes, procs[i].memory_bytes);
    }

    rc = nefele_kill(SIGTERM, &child);
    if (rc < 0)
        return fail("nefele_kill", rc);
    rc = nefele_monitor_timeout(&child, &ended, 10000);
    if (rc < 0)
        return fail("nefele_monitor_timeout", rc);
    printf("exit: %s state=%d signal=%d exit_code=%d\n", ended.npid, ended.state, ended.signal, ended.exit_code);

    /* A failed call: a negative errno, and a sentence naming the server's code. */
    npid_t none;
    rc = nefele_spawn("/nonexistent/program", NULL, NULL, &none);
    printf("spawn of a missing program: %d (%s): %s\n", rc, nefele_strerror(rc), nefele_last_error());
    return rc == -ENOENT ? 0 : 1;
}
