/* The webserver example's worker: a Nefele process that serves requests sent to the name
 * "webserver" (and the service id "#80"). Each request is a message whose tag is the request's
 * id; the answer goes back to the sender's address (message.from) with the same tag, so the
 * client can match it, and says who answered: "hello <body> from <npid> on <node>".
 *
 * The worker keeps no state between requests, so answering a request twice (the client resends
 * one whose answer did not come in time) does no harm: it is idempotent, as the at-most-once
 * delivery asks of a service whose clients retry.
 *
 * It ends when its supervisor stops it (SIGTERM); its names die with it. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nefele.h>

/* The node this process runs on, as the name table records it beside each holder. */
static void own_node(const npid_t *self, char *node, size_t cap)
{
    nefele_name *names = NULL;
    size_t count = 0;
    snprintf(node, cap, "?");
    if (nefele_names("webserver", 0, &names, &count) < 0) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(names[i].name, "webserver") != 0) {
            continue;
        }
        for (size_t h = 0; h < names[i].n_holders; h++) {
            if (strcmp(names[i].holders[h].npid, self->id) == 0) {
                snprintf(node, cap, "%s", names[i].holders[h].node);
            }
        }
    }
    nefele_names_free(names, count);
}

int main(void)
{
    npid_t self;
    int rc = nefele_self(&self);
    if (rc < 0) {
        fprintf(stderr, "worker: nefele_self: %s\n", nefele_last_error());
        return 1;
    }

    /* A name and a numeric service id: several workers holding them form a group. */
    const char *names[] = { "webserver", "#80" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        rc = nefele_register(names[i], NULL);
        if (rc < 0) {
            fprintf(stderr, "worker: nefele_register %s: %s\n", names[i], nefele_last_error());
            return 1;
        }
    }

    char node[64];
    own_node(&self, node, sizeof node);
    printf("worker %s on %s serves webserver and #80\n", self.id, node);
    fflush(stdout);

    int failures = 0;
    for (;;) {
        nefele_msg request;
        rc = nefele_recv(&request, -1, NULL);
        if (rc == -ETIMEDOUT || rc == -EINTR) {
            continue;
        }
        if (rc < 0) {
            /* A passing failure (the node's silo restarting, hostd reconnecting) is waited out;
             * one that lasts 5 s ends the worker, and the supervisor starts another. */
            fprintf(stderr, "worker: nefele_recv: %d: %s\n", rc, nefele_last_error());
            if (++failures >= 50) {
                return 1;
            }
            nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
            continue;
        }
        failures = 0;

        char reply[512];
        int len = snprintf(reply, sizeof reply, "hello %.*s from %s on %s",
                           (int)(request.len < 256 ? request.len : 256), (const char *)request.data, self.id, node);
        if (len >= (int)sizeof reply) {
            len = (int)sizeof reply - 1;
        }

        /* Not acknowledged: a lost answer is the client's to notice (it resends after a timeout). */
        rc = nefele_message(request.from, request.tag, reply, (size_t)len, NEFELE_MODE_DEFAULT, 1000);
        if (rc < 0) {
            fprintf(stderr, "worker: answer to %s (%s): %d: %s\n", request.from, request.tag, rc, nefele_last_error());
        }
        nefele_msg_free(&request);
    }
}
