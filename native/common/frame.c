/* The 4-byte length framing, written once (see frame.h). */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

int64_t nefele_frame_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nefele_frame_send_bytes(int fd, const uint8_t *frame, size_t total)
{
    size_t off = 0;
    while (off < total) {
        ssize_t n = send(fd, frame + off, total - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)n;
    }
    return 0;
}

static int read_full(int fd, uint8_t *buf, size_t n, int64_t deadline_ms)
{
    size_t off = 0;
    while (off < n) {
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - nefele_frame_now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            struct timeval tv = { (time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000) };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
        ssize_t r = recv(fd, buf + off, n - off, 0);
        if (r == 0)
            return NEFELE_FRAME_EOF;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (deadline_ms >= 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return -ETIMEDOUT;
            return -errno;
        }
        off += (size_t)r;
    }
    return 0;
}

int nefele_frame_recv(int fd, uint8_t **body, size_t *len, int64_t deadline_ms)
{
    *body = NULL;
    *len = 0;
    uint8_t hdr[4];
    int rc = read_full(fd, hdr, 4, deadline_ms);
    if (rc < 0)
        return rc;
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    *len = n;
    if (n > NEFELE_MAX_FRAME)
        return -EMSGSIZE;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -ENOMEM;
    rc = read_full(fd, buf, n, deadline_ms);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *body = buf;
    return 0;
}
