/* nefele_frame_send: a protobuf-c message as one frame (see frame.h). Apart from frame.c so
 * the shim, which encodes its two messages by hand, links no protobuf-c. */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>

int nefele_frame_send(int fd, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > NEFELE_MAX_FRAME)
        return -EMSGSIZE;
    uint8_t stackbuf[1024];
    uint8_t *buf = len + 4 <= sizeof stackbuf ? stackbuf : malloc(len + 4);
    if (!buf)
        return -ENOMEM;
    buf[0] = (uint8_t)(len >> 24);
    buf[1] = (uint8_t)(len >> 16);
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    protobuf_c_message_pack(msg, buf + 4);
    int rc = nefele_frame_send_bytes(fd, buf, len + 4);
    if (buf != stackbuf)
        free(buf);
    return rc;
}
