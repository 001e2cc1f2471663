/* libnefele error mapping: the server's error codes to NEFELE_E* values, and nefele_strerror.
 *
 * The codes are not spelt here: a wire code ("npid_not_found") is looked up in the generated
 * descriptor of enum ErrorCode (protos/nefele/v1/common.proto), so the catalogue stays the one
 * list. Every code of the catalogue has its value (the table in nefele.h, which the native tests
 * read at build time); a code this build does not know (a newer server) gives -EIO. */
#include <errno.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "nefele.h"
#include "internal.h"
#include "nefele/v1/common.pb-c.h"

#define PREFIX "ERROR_CODE_"
#define C(name) NEFELE__V1__ERROR_CODE__ERROR_CODE_##name

/* The catalogue entry a wire code names, or UNSPECIFIED: lower-case letters, digits and '_'
 * only, upper-cased behind the enum's prefix. */
static Nefele__V1__ErrorCode catalogue_entry(const char *code)
{
    char name[96] = PREFIX;
    size_t n = sizeof PREFIX - 1;
    if (!code || !*code)
        return C(UNSPECIFIED);
    for (; *code; code++) {
        char c = *code;
        if (n + 1 >= sizeof name || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return C(UNSPECIFIED);
        name[n++] = c == '_' || (c >= '0' && c <= '9') ? c : (char)(c - 'a' + 'A');
    }
    name[n] = '\0';
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value_by_name(&nefele__v1__error_code__descriptor, name);
    return v ? (Nefele__V1__ErrorCode)v->value : C(UNSPECIFIED);
}

int nf_error_code(const char *code)
{
    switch (catalogue_entry(code)) {
    case C(NPID_NOT_FOUND): return NEFELE_ENPID_NOT_FOUND;
    case C(SPAWN_REJECTED): return NEFELE_ESPAWN_REJECTED;
    case C(PROGRAM_NOT_FOUND): return NEFELE_EPROGRAM_NOT_FOUND;
    case C(MAILBOX_FULL): return NEFELE_EMAILBOX_FULL;
    case C(NAME_NOT_FOUND): return NEFELE_ENAME_NOT_FOUND;
    case C(TIMED_OUT): return NEFELE_ETIMED_OUT;
    case C(MESSAGE_TOO_LARGE): return NEFELE_EMESSAGE_TOO_LARGE;
    case C(BAD_REQUEST): return NEFELE_EBAD_REQUEST;
    case C(NOT_RUNNING): return NEFELE_ENOT_RUNNING;
    case C(NODE_UNAVAILABLE): return NEFELE_ENODE_UNAVAILABLE;
    case C(REQUEST_CONFLICT): return NEFELE_EREQUEST_CONFLICT;
    case C(UNAUTHENTICATED): return NEFELE_EUNAUTHENTICATED;
    case C(FORBIDDEN): return NEFELE_EFORBIDDEN;
    case C(TENANT_NOT_FOUND): return NEFELE_ETENANT_NOT_FOUND;
    case C(TENANT_EXISTS): return NEFELE_ETENANT_EXISTS;
    case C(KEY_NOT_FOUND): return NEFELE_EKEY_NOT_FOUND;
    case C(KEY_EXISTS): return NEFELE_EKEY_EXISTS;
    case C(QUOTA_EXCEEDED): return NEFELE_EQUOTA_EXCEEDED;
    case C(RATE_LIMITED): return NEFELE_ERATE_LIMITED;
    case C(LIMIT_EXCEEDED): return NEFELE_ELIMIT_EXCEEDED;
    case C(INTERNAL_ERROR): return NEFELE_EINTERNAL;
    case C(METHOD_NOT_ALLOWED): return NEFELE_EMETHOD_NOT_ALLOWED;
    case C(PAYLOAD_TOO_LARGE): return NEFELE_EPAYLOAD_TOO_LARGE;
    case C(URI_TOO_LONG): return NEFELE_EURI_TOO_LONG;
    case C(UNSUPPORTED_MEDIA_TYPE): return NEFELE_EUNSUPPORTED_MEDIA_TYPE;
    case C(INVALID_JSON): return NEFELE_EINVALID_JSON;
    case C(CONTROL_PLANE_UNAVAILABLE): return NEFELE_ECONTROL_PLANE_UNAVAILABLE;
    case C(NOT_A_NEFELE_PROCESS): return NEFELE_ENOT_A_NEFELE_PROCESS;
    case C(BAD_FRAME): return NEFELE_EBAD_FRAME;
    case C(WRONG_NODE): return NEFELE_EWRONG_NODE;
    case C(ROUTE_NOT_FOUND): return NEFELE_EROUTE_NOT_FOUND;
    case C(ALREADY_ATTACHED): return NEFELE_EALREADY_ATTACHED;
    case C(FAILED_TO_START): return NEFELE_EFAILED_TO_START;
    case C(SUPERVISOR_NOT_FOUND): return NEFELE_ESUPERVISOR_NOT_FOUND;
    case C(SUPERVISOR_EXISTS): return NEFELE_ESUPERVISOR_EXISTS;
    case C(IMAGE_NOT_FOUND): return NEFELE_EIMAGE_NOT_FOUND;
    case C(DIGEST_MISMATCH): return NEFELE_EDIGEST_MISMATCH;
    case C(OVERLAY_NOT_FOUND): return NEFELE_EOVERLAY_NOT_FOUND;
    case C(NOT_DEVELOPMENT_MODE): return NEFELE_ENOT_DEVELOPMENT_MODE;
    case C(UNSPECIFIED):
    case _NEFELE__V1__ERROR_CODE_IS_INT_SIZE:
        break;
    }
    return -EIO; /* not a code of this catalogue */
}

int nefele_error_code(const char *code)
{
    return nf_error_code(code);
}

const char *nefele_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case -ESRCH: return "no such process, or it is not running";
    case -ENOSPC: return "spawn rejected: no node has room or matches, or the program cannot be started";
    case -ENOENT: return "no such program (or no such key, supervisor, image or development overlay)";
    case -EINVAL: return "invalid argument: a field is missing, out of range or malformed";
    case -EAGAIN: return "temporarily unavailable (a node, hostd's silo, or the rate limit); retry";
    case -EEXIST: return "already exists (a request id used for another request, a tenant, a key or a supervisor)";
    case -ENOKEY: return "no credential, or it is malformed, unknown, expired or revoked";
    case -EACCES: return "the credential does not grant this action";
    case -ENXIO: return "the tenant does not exist";
    case -EDQUOT: return "the request would go over one of the tenant's quotas";
    case -EBUSY: return "a per-process limit is reached (monitors or log followers at once)";
    case -EREMOTEIO: return "a fault of the server (its log has the details)";
    case -EOPNOTSUPP: return "the operation does not take this method";
    case -E2BIG: return "the request is larger than the server takes";
    case -ENAMETOOLONG: return "the request URI is too long";
    case -EPROTONOSUPPORT: return "the request body is not of a type the server takes";
    case -EBADMSG: return "the server could not read the request";
    case -EPERM: return "the caller is neither a Nefele process nor a descendant of one";
    case -EXDEV: return "the silo attached to the hostd of another node";
    case -ENOSYS: return "no such operation on the server";
    case -EALREADY: return "another silo is attached to this hostd";
    case -ENOEXEC: return "the program ran but never became a Nefele process (a static binary without no_handshake?)";
    case -EIO: return "the server reported an error this library does not know";
    case -ENOTCONN: return "cannot reach hostd (NEFELE_SOCKET unset, or connecting failed)";
    case -ECONNRESET: return "hostd closed the connection";
    case -EMSGSIZE: return "a message larger than 1 MiB, or a response larger than 4 MiB";
    case -ENOBUFS: return "the receiver's mailbox is full; the message was not queued";
    case -EADDRNOTAVAIL: return "no process holds that name, service id or topic";
    case -EPROTO: return "the response from hostd does not parse or does not match the request";
    case -ENOMEM: return "out of memory";
    case -EILSEQ: return "the uploaded bytes do not have the digest given";
    case -EROFS: return "the node runs containers read-only (production mode): there is no overlay to commit";
    case -ETIMEDOUT: return "the timeout passed first (nothing received, or the name was not registered)";
    default: return "unknown error code";
    }
}
