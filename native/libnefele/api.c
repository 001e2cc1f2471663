/* libnefele calls: each builds one ProcRequest and turns the reply into C structs. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nefele.h"
#include "internal.h"

#define copy_str nf_copy_str
#define copy_npid nf_copy_npid
#define check_npid nf_check_npid

int nefele_self(npid_t *out)
{
    if (!out)
        return nf_fail(-EINVAL, "out is NULL");
    Nefele__V1__SelfRequest self = NEFELE__V1__SELF_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_SELF;
    req.self = &self;
    Nefele__V1__ProcResponse *resp;
    int rc = nf_call(&req, NEFELE__V1__PROC_RESPONSE__BODY_SELF, &resp);
    if (rc < 0)
        return rc;
    rc = copy_npid(out, resp->self->npid);
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return rc;
}

/* The process's W3C trace context (TRACEPARENT / TRACESTATE: hostd set them at launch, or the
 * program did since), sent with a spawn or a kill so that it continues the trace. "" when unset. */
static char *trace_env(const char *name)
{
    char *value = getenv(name);
    return value ? value : (char *)"";
}

/* Unique per process and call; lets hostd answer a retried spawn with the first result. */
static void make_request_id(char *buf, size_t cap)
{
    static atomic_ulong counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, cap, "c-%ld-%lld%09ld-%lu", (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec,
             atomic_fetch_add(&counter, 1) + 1);
}

static size_t count_list(const char *const *list)
{
    size_t n = 0;
    if (list)
        while (list[n])
            n++;
    return n;
}

/* Parses one "name=count" device entry into name[cap] and *count (at least 1). */
static int parse_device(const char *entry, char *name, size_t cap, int64_t *count)
{
    const char *eq = strchr(entry, '=');
    if (!eq || eq == entry)
        return nf_fail(-EINVAL, "device entry \"%s\" is not of the form name=count", entry);
    if ((size_t)(eq - entry) >= cap)
        return nf_fail(-EINVAL, "device name in \"%s\" is longer than %zu bytes", entry, cap - 1);
    const char *digits = eq + 1;
    if (*digits < '0' || *digits > '9')
        return nf_fail(-EINVAL, "device entry \"%s\": count is not a decimal number", entry);
    errno = 0;
    char *end;
    long long n = strtoll(digits, &end, 10);
    if (*end != '\0')
        return nf_fail(-EINVAL, "device entry \"%s\": count is not a decimal number", entry);
    if (errno == ERANGE)
        return nf_fail(-EINVAL, "device entry \"%s\": count is too large", entry);
    if (n < 1)
        return nf_fail(-EINVAL, "device entry \"%s\": count must be at least 1", entry);
    memcpy(name, entry, (size_t)(eq - entry));
    name[eq - entry] = '\0';
    *count = n;
    return 0;
}

#define DEVICE_NAME_CAP 64

int nefele_nspawn(unsigned count, const char *path, const char *const *argv,
                  const nefele_spawn_opts *opts, npid_t *out)
{
    if (count == 0)
        return nf_fail(-EINVAL, "count must be at least 1");
    if (!path || !*path)
        return nf_fail(-EINVAL, "path is empty");
    if (!out)
        return nf_fail(-EINVAL, "out is NULL");
    if (opts && opts->reserved_int != 0)
        return nf_fail(-EINVAL, "opts->reserved_int is not zero (zero-initialise nefele_spawn_opts)");
    for (size_t i = 0; opts && i < sizeof opts->reserved / sizeof opts->reserved[0]; i++)
        if (opts->reserved[i] != 0)
            return nf_fail(-EINVAL, "opts->reserved[%zu] is not zero (zero-initialise nefele_spawn_opts)", i);

    Nefele__V1__ProcessSpec spec = NEFELE__V1__PROCESS_SPEC__INIT;
    spec.path = (char *)path;

    size_t nargs = 0;
    if (argv)
        while (argv[nargs])
            nargs++;
    spec.n_args = nargs;
    spec.args = (char **)argv;

    size_t nenv = 0;
    if (opts && opts->env)
        while (opts->env[nenv])
            nenv++;
    Nefele__V1__ProcessSpec__EnvEntry *entries = NULL;
    Nefele__V1__ProcessSpec__EnvEntry **entry_ptrs = NULL;
    char *env_copy = NULL;
    Nefele__V1__ProcessSpec__DevicesEntry *devices = NULL;
    Nefele__V1__ProcessSpec__DevicesEntry **device_ptrs = NULL;
    char (*device_names)[DEVICE_NAME_CAP] = NULL;
    int rc = 0;
    if (nenv) {
        /* One block for all "K=V" splits: keys and values are NUL-separated copies. */
        size_t bytes = 0;
        for (size_t i = 0; i < nenv; i++)
            bytes += strlen(opts->env[i]) + 1;
        entries = calloc(nenv, sizeof *entries);
        entry_ptrs = calloc(nenv, sizeof *entry_ptrs);
        env_copy = malloc(bytes);
        if (!entries || !entry_ptrs || !env_copy) {
            rc = nf_fail(-ENOMEM, "out of memory");
            goto done;
        }
        char *p = env_copy;
        for (size_t i = 0; i < nenv; i++) {
            const char *kv = opts->env[i];
            const char *eq = strchr(kv, '=');
            if (!eq || eq == kv) {
                rc = nf_fail(-EINVAL, "env entry \"%s\" is not of the form K=V", kv);
                goto done;
            }
            size_t len = strlen(kv);
            memcpy(p, kv, len + 1);
            p[eq - kv] = '\0';
            Nefele__V1__ProcessSpec__EnvEntry init = NEFELE__V1__PROCESS_SPEC__ENV_ENTRY__INIT;
            entries[i] = init;
            entries[i].key = p;
            entries[i].value = p + (eq - kv) + 1;
            entry_ptrs[i] = &entries[i];
            p += len + 1;
        }
        spec.n_env = nenv;
        spec.env = entry_ptrs;
    }
    if (opts) {
        if (opts->cwd)
            spec.cwd = (char *)opts->cwd;
        if (opts->name)
            spec.name = (char *)opts->name;
        spec.cpu_millis = opts->cpu_millis;
        spec.memory_bytes = opts->memory_bytes;
        spec.no_handshake = opts->no_handshake ? 1 : 0;
        spec.tty = opts->tty ? 1 : 0;
        spec.n_affinity = count_list(opts->affinity);
        spec.affinity = (char **)opts->affinity;
        spec.n_anti_affinity = count_list(opts->anti_affinity);
        spec.anti_affinity = (char **)opts->anti_affinity;
    }

    size_t ndev = opts ? count_list(opts->devices) : 0;
    if (ndev) {
        devices = calloc(ndev, sizeof *devices);
        device_ptrs = calloc(ndev, sizeof *device_ptrs);
        device_names = calloc(ndev, sizeof *device_names);
        if (!devices || !device_ptrs || !device_names) {
            rc = nf_fail(-ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ndev; i++) {
            int64_t n = 0;
            rc = parse_device(opts->devices[i], device_names[i], sizeof device_names[i], &n);
            if (rc < 0)
                goto done;
            for (size_t j = 0; j < i; j++) {
                if (strcmp(device_names[j], device_names[i]) == 0) {
                    rc = nf_fail(-EINVAL, "device \"%s\" is given more than once", device_names[i]);
                    goto done;
                }
            }
            Nefele__V1__ProcessSpec__DevicesEntry init = NEFELE__V1__PROCESS_SPEC__DEVICES_ENTRY__INIT;
            devices[i] = init;
            devices[i].key = device_names[i];
            devices[i].value = n;
            device_ptrs[i] = &devices[i];
        }
        spec.n_devices = ndev;
        spec.devices = device_ptrs;
    }

    char request_id[96];
    make_request_id(request_id, sizeof request_id);
    Nefele__V1__ProcessSpec *tasks[1] = { &spec };
    Nefele__V1__SpawnRequest spawn = NEFELE__V1__SPAWN_REQUEST__INIT;
    spawn.n_tasks = 1;
    spawn.tasks = tasks;
    spawn.count = count;
    spawn.request_id = request_id;
    spawn.spread = opts && opts->spread ? 1 : 0;
    spawn.traceparent = trace_env("TRACEPARENT");
    spawn.tracestate = trace_env("TRACESTATE");
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_SPAWN;
    req.spawn = &spawn;

    Nefele__V1__ProcResponse *resp;
    rc = nf_call(&req, NEFELE__V1__PROC_RESPONSE__BODY_SPAWN, &resp);
    if (rc < 0)
        goto done;
    if (resp->spawn->n_npids != count) {
        rc = nf_fail(-EPROTO, "hostd returned %zu npids for %u processes", resp->spawn->n_npids, count);
    } else {
        for (unsigned i = 0; i < count && rc == 0; i++)
            rc = copy_npid(&out[i], resp->spawn->npids[i]);
    }
    nefele__v1__proc_response__free_unpacked(resp, NULL);
done:
    free(entries);
    free(entry_ptrs);
    free(env_copy);
    free(devices);
    free(device_ptrs);
    free(device_names);
    return rc;
}

int nefele_spawn(const char *path, const char *const *argv, const nefele_spawn_opts *opts, npid_t *out)
{
    return nefele_nspawn(1, path, argv, opts, out);
}

int nefele_monitor_fd(const npid_t *npid)
{
    int rc = check_npid(npid);
    if (rc < 0)
        return rc;
    /* Its own connection: the answer may take as long as the process lives. */
    int fd = nf_connect();
    if (fd < 0)
        return fd;
    Nefele__V1__MonitorRequest mon = NEFELE__V1__MONITOR_REQUEST__INIT;
    mon.npid = (char *)npid->id;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.id = 1;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_MONITOR;
    req.monitor = &mon;
    rc = nf_write_request(fd, &req);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int nefele_monitor_result(int fd, nefele_exit *out)
{
    if (fd < 0)
        return nf_fail(-EINVAL, "fd is not a monitor descriptor");
    Nefele__V1__ProcResponse *resp = NULL;
    int rc = nf_read_response(fd, &resp);
    close(fd);
    if (rc < 0)
        return rc;
    if (resp->body_case == NEFELE__V1__PROC_RESPONSE__BODY_ERROR) {
        rc = nf_error_response(resp);
    } else if (resp->body_case != NEFELE__V1__PROC_RESPONSE__BODY_MONITOR || !resp->monitor->end) {
        rc = nf_fail(-EPROTO, "unexpected response to monitor from hostd");
    } else if (out) {
        const Nefele__V1__ProcessEnd *end = resp->monitor->end;
        memset(out, 0, sizeof *out);
        out->state = (int)end->state;
        out->exit_code = end->exit_code;
        out->signal = end->signal;
        out->core_dumped = end->core_dumped ? 1 : 0;
        out->oom_killed = end->oom_killed ? 1 : 0;
        copy_str(out->reason, sizeof out->reason, end->reason);
        copy_str(out->npid, sizeof out->npid, resp->monitor->npid);
    }
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return rc;
}

int nefele_monitor(const npid_t *npid, nefele_exit *out)
{
    int fd = nefele_monitor_fd(npid);
    if (fd < 0)
        return fd;
    return nefele_monitor_result(fd, out);
}

int nefele_kill(int signal, const npid_t *npid)
{
    int rc = check_npid(npid);
    if (rc < 0)
        return rc;
    char *npids[1] = { (char *)npid->id };
    Nefele__V1__KillRequest kill = NEFELE__V1__KILL_REQUEST__INIT;
    kill.n_npids = 1;
    kill.npids = npids;
    kill.signal = signal;
    kill.traceparent = trace_env("TRACEPARENT");
    kill.tracestate = trace_env("TRACESTATE");
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_KILL;
    req.kill = &kill;
    Nefele__V1__ProcResponse *resp;
    rc = nf_call(&req, NEFELE__V1__PROC_RESPONSE__BODY_KILL, &resp);
    if (rc < 0)
        return rc;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return 0;
}

int nefele_ps(nefele_proc *out, size_t max, size_t *count)
{
    if (max && !out)
        return nf_fail(-EINVAL, "out is NULL but max is not 0");
    Nefele__V1__PsRequest ps = NEFELE__V1__PS_REQUEST__INIT;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_PS;
    req.ps = &ps;
    Nefele__V1__ProcResponse *resp;
    int rc = nf_call(&req, NEFELE__V1__PROC_RESPONSE__BODY_PS, &resp);
    if (rc < 0)
        return rc;
    size_t total = resp->ps->n_processes;
    for (size_t i = 0; i < total && i < max; i++) {
        const Nefele__V1__ProcessInfo *p = resp->ps->processes[i];
        nefele_proc *o = &out[i];
        memset(o, 0, sizeof *o);
        copy_str(o->npid, sizeof o->npid, p->npid);
        copy_str(o->node, sizeof o->node, p->node);
        o->pid = p->pid;
        o->state = (int)p->state;
        o->cpu_millis = p->cpu_millis;
        o->memory_bytes = p->memory_bytes;
        o->started_unix_ms = p->started_unix_ms;
        copy_str(o->command, sizeof o->command, p->command);
        copy_str(o->name, sizeof o->name, p->name);
        o->cpu_usage_ns = p->cpu_usage_ns;
        o->memory_usage_bytes = p->memory_usage_bytes;
    }
    if (count)
        *count = total;
    nefele__v1__proc_response__free_unpacked(resp, NULL);
    return 0;
}

const char *nefele_version(void)
{
#define NF_STR2(x) #x
#define NF_STR(x) NF_STR2(x)
    return NF_STR(NEFELE_VERSION_MAJOR) "." NF_STR(NEFELE_VERSION_MINOR) "." NF_STR(NEFELE_VERSION_PATCH);
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nefele_monitor_timeout(const npid_t *npid, nefele_exit *out, int timeout_ms)
{
    int fd = nefele_monitor_fd(npid);
    if (fd < 0)
        return fd;
    if (timeout_ms >= 0) {
        long long deadline = monotonic_ms() + timeout_ms;
        struct pollfd p = { fd, POLLIN, 0 };
        int ready;
        for (;;) {
            long long left = deadline - monotonic_ms();
            ready = poll(&p, 1, left > 0 ? (int)left : 0);
            if (ready >= 0 || errno != EINTR)
                break;
        }
        if (ready == 0) {
            /* Closing the connection ends the watch on the server. */
            close(fd);
            return nf_fail(-ETIMEDOUT, "%s has not ended within %d ms", npid->id, timeout_ms);
        }
        if (ready < 0) {
            int err = errno;
            close(fd);
            return nf_fail(-err, "waiting for the monitor's answer: %s", strerror(err));
        }
    }
    return nefele_monitor_result(fd, out);
}

/* The server answers a read that waits within this bound; longer waits are several reads. */
#define LOG_WAIT_STEP_MS 10000
/* The most one read returns (the server's bound too). */
#define LOG_MAX_BYTES (1 << 20)

ssize_t nefele_logs(const npid_t *npid, long long *offset, void *buf, size_t cap, int timeout_ms, int *complete)
{
    int rc = check_npid(npid);
    if (rc < 0)
        return rc;
    if (!offset || *offset < 0)
        return nf_fail(-EINVAL, "offset is NULL or negative");
    if (!buf || cap == 0)
        return nf_fail(-EINVAL, "buf is NULL or cap is 0");
    if (complete)
        *complete = 0;
    if (cap > LOG_MAX_BYTES)
        cap = LOG_MAX_BYTES;

    Nefele__V1__LogsRequest logs = NEFELE__V1__LOGS_REQUEST__INIT;
    logs.npid = (char *)npid->id;
    logs.max_bytes = (int32_t)cap;
    Nefele__V1__ProcRequest req = NEFELE__V1__PROC_REQUEST__INIT;
    req.body_case = NEFELE__V1__PROC_REQUEST__BODY_LOGS;
    req.logs = &logs;

    /* A read that waits holds its connection: it gets one of its own. */
    int fd = -1;
    if (timeout_ms != 0) {
        fd = nf_connect();
        if (fd < 0)
            return fd;
    }
    long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    ssize_t got = 0;
    for (;;) {
        long long wait = 0;
        if (timeout_ms < 0)
            wait = LOG_WAIT_STEP_MS;
        else if (timeout_ms > 0) {
            wait = deadline - monotonic_ms();
            if (wait < 0)
                wait = 0;
            if (wait > LOG_WAIT_STEP_MS)
                wait = LOG_WAIT_STEP_MS;
        }
        logs.offset = *offset;
        logs.wait_ms = (int32_t)wait;
        Nefele__V1__ProcResponse *resp;
        rc = fd >= 0 ? nf_call_on(fd, &req, NEFELE__V1__PROC_RESPONSE__BODY_LOGS, &resp)
                     : nf_call(&req, NEFELE__V1__PROC_RESPONSE__BODY_LOGS, &resp);
        if (rc < 0) {
            got = rc;
            break;
        }
        const Nefele__V1__LogsReply *r = resp->logs;
        if (r->data.len > cap || r->next_offset < (long long)r->data.len) {
            nefele__v1__proc_response__free_unpacked(resp, NULL);
            got = nf_fail(-EPROTO, "hostd answered a read of %zu bytes with %zu", cap, r->data.len);
            break;
        }
        int done = r->complete ? 1 : 0;
        got = (ssize_t)r->data.len;
        if (got > 0)
            memcpy(buf, r->data.data, r->data.len);
        if (got > 0 || r->next_offset > *offset)
            *offset = r->next_offset;
        nefele__v1__proc_response__free_unpacked(resp, NULL);
        if (done && complete)
            *complete = 1;
        if (got > 0 || done || timeout_ms == 0 || (timeout_ms > 0 && monotonic_ms() >= deadline))
            break;
    }
    if (fd >= 0)
        close(fd);
    return got;
}
