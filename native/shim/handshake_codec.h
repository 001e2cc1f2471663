/*
 * The two messages of the shim's handshake, encoded by hand: ProcRequest{id, hello{token, pid}}
 * out and the ProcResponse's welcome, refused or error in (protos/nefele/v1/process_api.proto,
 * common.proto). The shim is loaded into every process hostd launches, before main(), on the
 * path of every spawn: without protobuf-c it maps a fraction of the pages and has almost no
 * relocations to write (each a copy-on-write fault), which is what its start costs. The native
 * tests check both directions against protobuf-c's own packing of the same messages.
 */
#ifndef NEFELE_HANDSHAKE_CODEC_H
#define NEFELE_HANDSHAKE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* A string field of a decoded response: a slice of the frame body, not NUL-terminated. */
struct nefele_hs_str {
    const char *s;
    size_t len;
};

enum nefele_hs_kind {
    NEFELE_HS_OTHER = 0, /* no body, or a body the handshake does not expect */
    NEFELE_HS_WELCOME,   /* a = npid, b = tenant, c = node */
    NEFELE_HS_REFUSED,   /* a = reason */
    NEFELE_HS_ERROR,     /* a = code, b = message */
};

struct nefele_hs_reply {
    enum nefele_hs_kind kind;
    uint64_t id;
    struct nefele_hs_str a, b, c;
};

/*
 * Writes the whole frame (4-byte length, then ProcRequest{id, hello{token, pid}}) into buf.
 * Returns its length, or 0 if it does not fit in cap.
 */
size_t nefele_hs_encode_hello(uint8_t *buf, size_t cap, uint64_t id, const char *token, int32_t pid);

/* Decodes a ProcResponse body (fields it does not know are skipped). 0, or -1 if it does not parse. */
int nefele_hs_decode_reply(const uint8_t *body, size_t len, struct nefele_hs_reply *out);

#endif
