/*
 * nefele-rest: the same calls from an ordinary program that Nefele did not start, through the
 * REST API with a key (libcurl), with libnefele's table for the errors.
 *
 *   NEFELE_API=http://127.0.0.1:7400 NEFELE_TOKEN=<key> ./nefele-rest <tenant>
 *
 * It spawns a shell that prints a line and exits 3, follows the process's events until it has
 * ended (a server-sent event stream, bounded by a timeout), reads its output, then spawns a
 * program that does not exist to show an error: the problem details' "code" turned into the
 * errno libnefele gives the same code (nefele_error_code).
 *
 * Build: make nefele-rest   (pkg-config nefele libcurl; Debian: apt-get install libcurl4-openssl-dev)
 */
#include <nefele.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buffer {
    char data[65536];
    size_t len;
    int ended; /* events: a terminal state was seen */
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
    struct buffer *b = arg;
    size_t len = size * n;
    size_t room = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, ptr, len < room ? len : room);
    b->len += len < room ? len : room;
    b->data[b->len] = '\0';
    return len;
}

/* The event stream never ends by itself while the process lives: stop reading at its end. */
static size_t until_ended(char *ptr, size_t size, size_t n, void *arg)
{
    struct buffer *b = arg;
    collect(ptr, size, n, arg);
    if (strstr(b->data, "\"state\":\"Exited\"") || strstr(b->data, "\"state\":\"FailedToStart\"") ||
        strstr(b->data, "\"state\":\"Lost\"")) {
        b->ended = 1;
        return 0; /* ends the transfer */
    }
    return size * n;
}

/* The string value of "key" in a JSON text (no escapes in the values read here). */
static int json_string(const char *json, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    if (!p)
        return -1;
    p += strlen(pattern);
    while (*p == ' ' || *p == '[')
        p++;
    if (*p++ != '"')
        return -1;
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < cap)
        out[i++] = *p++;
    out[i] = '\0';
    return 0;
}

/* One request. Returns 0, or the errno of the problem the API answered (and prints it). */
static int call(const char *method, const char *url, const char *body, struct buffer *b,
                curl_write_callback write, long timeout_ms)
{
    static char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", getenv("NEFELE_TOKEN"));
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    CURL *curl = curl_easy_init();
    if (!curl)
        return -ENOMEM;
    memset(b, 0, sizeof *b);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    CURLcode res = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);

    if (res == CURLE_WRITE_ERROR && b->ended)
        return 0;
    if (res == CURLE_OPERATION_TIMEDOUT)
        return -ETIMEDOUT;
    if (res != CURLE_OK) {
        fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(res));
        return -ENOTCONN;
    }
    if (status >= 400) {
        char code[64] = "", detail[512] = "";
        json_string(b->data, "code", code, sizeof code);
        json_string(b->data, "detail", detail, sizeof detail);
        int rc = nefele_error_code(code);
        printf("error: HTTP %ld, code %s -> %d (%s): %s\n", status, code, rc, nefele_strerror(rc), detail);
        return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *api = getenv("NEFELE_API");
    if (argc != 2 || !api || !getenv("NEFELE_TOKEN")) {
        fprintf(stderr, "usage: NEFELE_API=<url> NEFELE_TOKEN=<key> %s <tenant>\n", argv[0]);
        return 2;
    }
    const char *tenant = argv[1];
    static struct buffer b;
    char url[1024], npid[64];
    curl_global_init(CURL_GLOBAL_DEFAULT);

    snprintf(url, sizeof url, "%s/v1/tenants/%s/spawn", api, tenant);
    int rc = call("POST", url, "{\"tasks\":[{\"path\":\"/bin/sh\",\"args\":[\"-c\",\"echo hello over REST; exit 3\"]}]}",
                  &b, collect, 30000);
    if (rc < 0 || json_string(b.data, "npids", npid, sizeof npid) < 0)
        return 1;
    printf("spawned %s\n", npid);

    snprintf(url, sizeof url, "%s/v1/tenants/%s/processes/%s/events", api, tenant, npid);
    rc = call("GET", url, NULL, &b, until_ended, 30000);
    if (rc < 0)
        return 1;
    const char *end = strstr(b.data, "\"end\":{"); /* only the terminal event has one */
    char state[32] = "";
    json_string(b.data + (end ? end - b.data : 0), "state", state, sizeof state);
    const char *exit_code = end ? strstr(end, "\"exitCode\":") : NULL;
    printf("ended: state=%s exit_code=%d\n", state, exit_code ? atoi(exit_code + strlen("\"exitCode\":")) : -1);

    snprintf(url, sizeof url, "%s/v1/tenants/%s/processes/%s/logs", api, tenant, npid);
    if (call("GET", url, NULL, &b, collect, 30000) < 0)
        return 1;
    printf("output: %s", b.data);

    snprintf(url, sizeof url, "%s/v1/tenants/%s/spawn", api, tenant);
    rc = call("POST", url, "{\"tasks\":[{\"path\":\"/nonexistent/program\"}]}", &b, collect, 30000);
    curl_global_cleanup();
    return rc == -ENOENT ? 0 : 1;
}
