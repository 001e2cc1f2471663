/* The shim's handshake messages in protobuf's wire format, by hand (see handshake_codec.h). */
#include "handshake_codec.h"

#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Field numbers (process_api.proto, common.proto). */
enum {
    REQ_ID = 1, REQ_HELLO = 2,
    HELLO_TOKEN = 1, HELLO_PID = 2,
    RESP_ID = 1, RESP_WELCOME = 2, RESP_REFUSED = 3, RESP_ERROR = 4,
};

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

size_t nefele_hs_encode_hello(uint8_t *buf, size_t cap, uint64_t id, const char *token, int32_t pid)
{
    size_t tlen = token ? strlen(token) : 0;
    /* int32 is sign-extended to 64 bits on the wire, as protobuf does; proto3 omits zero values. */
    uint64_t wpid = (uint64_t)(int64_t)pid;
    size_t hello = (tlen ? 1 + varint_size(tlen) + tlen : 0) + (pid ? 1 + varint_size(wpid) : 0);
    size_t body = (id ? 1 + varint_size(id) : 0) + 1 + varint_size(hello) + hello;
    if (body + 4 > cap || body > 0xffffffffu)
        return 0;
    buf[0] = (uint8_t)(body >> 24);
    buf[1] = (uint8_t)(body >> 16);
    buf[2] = (uint8_t)(body >> 8);
    buf[3] = (uint8_t)body;
    uint8_t *p = buf + 4;
    if (id) {
        *p++ = REQ_ID << 3 | WT_VARINT;
        p = put_varint(p, id);
    }
    *p++ = REQ_HELLO << 3 | WT_LEN;
    p = put_varint(p, hello);
    if (tlen) {
        *p++ = HELLO_TOKEN << 3 | WT_LEN;
        p = put_varint(p, tlen);
        memcpy(p, token, tlen);
        p += tlen;
    }
    if (pid) {
        *p++ = HELLO_PID << 3 | WT_VARINT;
        p = put_varint(p, wpid);
    }
    return (size_t)(p - buf);
}

struct cursor {
    const uint8_t *p, *end;
};

static int get_varint(struct cursor *c, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return -1;
        uint8_t b = *c->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Reads one field's key; for a length-delimited field, its bytes in *value. */
static int next_field(struct cursor *c, uint32_t *field, int *wt, struct nefele_hs_str *value, uint64_t *number)
{
    uint64_t key;
    if (get_varint(c, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    *field = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case WT_VARINT:
        return get_varint(c, number);
    case WT_I64:
        if (c->end - c->p < 8)
            return -1;
        c->p += 8;
        return 0;
    case WT_I32:
        if (c->end - c->p < 4)
            return -1;
        c->p += 4;
        return 0;
    case WT_LEN: {
        uint64_t n;
        if (get_varint(c, &n) < 0 || n > (uint64_t)(c->end - c->p))
            return -1;
        value->s = (const char *)c->p;
        value->len = (size_t)n;
        c->p += n;
        return 0;
    }
    default:
        return -1; /* groups are not used by proto3 */
    }
}

/* The string fields 1..3 of a Welcome, Refused or Error. */
static int decode_strings(struct nefele_hs_str msg, struct nefele_hs_reply *out)
{
    struct cursor c = { (const uint8_t *)msg.s, (const uint8_t *)msg.s + msg.len };
    while (c.p < c.end) {
        uint32_t field;
        int wt;
        struct nefele_hs_str v = { 0 };
        uint64_t number;
        if (next_field(&c, &field, &wt, &v, &number) < 0)
            return -1;
        if (wt != WT_LEN)
            continue;
        if (field == 1)
            out->a = v;
        else if (field == 2)
            out->b = v;
        else if (field == 3)
            out->c = v;
    }
    return 0;
}

int nefele_hs_decode_reply(const uint8_t *body, size_t len, struct nefele_hs_reply *out)
{
    memset(out, 0, sizeof *out);
    struct cursor c = { body, body + len };
    struct nefele_hs_str chosen = { 0 };
    while (c.p < c.end) {
        uint32_t field;
        int wt;
        struct nefele_hs_str v = { 0 };
        uint64_t number = 0;
        if (next_field(&c, &field, &wt, &v, &number) < 0)
            return -1;
        if (field == RESP_ID && wt == WT_VARINT) {
            out->id = number;
        } else if (wt == WT_LEN && field >= RESP_WELCOME) {
            /* The body is a oneof: the last one on the wire wins, as in every protobuf parser. */
            out->kind = field == RESP_WELCOME ? NEFELE_HS_WELCOME
                : field == RESP_REFUSED ? NEFELE_HS_REFUSED
                : field == RESP_ERROR ? NEFELE_HS_ERROR
                : NEFELE_HS_OTHER;
            chosen = v;
        }
    }
    if (out->kind == NEFELE_HS_OTHER)
        return 0;
    return decode_strings(chosen, out);
}
