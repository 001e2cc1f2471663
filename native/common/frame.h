/*
 * The framing of every Nefele socket (protos/nefele/v1/): a 4-byte big-endian length, then
 * one protobuf message of that many bytes. A frame over NEFELE_MAX_FRAME is a protocol error.
 * Shared by the shim, libnefele and the native tests; hidden (not exported) in each library.
 */
#ifndef NEFELE_FRAME_H
#define NEFELE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define NEFELE_MAX_FRAME (4u * 1024u * 1024u)

/* nefele_frame_recv: the peer closed the connection before a whole frame arrived. */
#define NEFELE_FRAME_EOF (-10000)

/* Milliseconds of CLOCK_MONOTONIC, for deadlines. */
int64_t nefele_frame_now_ms(void);

/*
 * Packs msg into one frame and sends all of it (MSG_NOSIGNAL: a closed peer is an error code,
 * not SIGPIPE). Returns 0, -EMSGSIZE (the message exceeds NEFELE_MAX_FRAME), -ENOMEM, or the
 * negated errno of send (-EAGAIN when a send timeout set on fd expired).
 */
int nefele_frame_send(int fd, const ProtobufCMessage *msg);

/* Sends a whole frame already encoded (header included), as nefele_frame_send does. 0 or -errno. */
int nefele_frame_send_bytes(int fd, const uint8_t *frame, size_t total);

/*
 * Reads one frame: *body (malloc'd, the caller frees it) and *len. deadline_ms is a
 * nefele_frame_now_ms() value to give up at (-ETIMEDOUT; the fd's receive timeout is set for
 * each read), or -1 to wait as long as it takes. Returns 0, NEFELE_FRAME_EOF, -EMSGSIZE (with
 * *len = the announced length), -ENOMEM, or the negated errno of recv.
 */
int nefele_frame_recv(int fd, uint8_t **body, size_t *len, int64_t deadline_ms);

#endif
