/* libnefele error mapping: the server's error codes to NEFELE_E* values, and nefele_strerror.
 *
 * The codes are not spelt here: a wire code ("npid_not_found") is looked up in the generated
 * descriptor of enum ErrorCode (protos/nefele/v1/common.proto), so the catalogue stays the one
 * list. Only the codes the server sends on the process socket are mapped; any other gives -EIO. */
#include <errno.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "nefele.h"
#include "internal.h"
#include "nefele/v1/common.pb-c.h"

#define PREFIX "ERROR_CODE_"

/* The catalogue entry a wire code names, or UNSPECIFIED: lower-case letters, digits and '_'
 * only, upper-cased behind the enum's prefix. */
static Nefele__V1__ErrorCode catalogue_entry(const char *code)
{
    char name[96] = PREFIX;
    size_t n = sizeof PREFIX - 1;
    if (!code || !*code)
        return NEFELE__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
    for (; *code; code++) {
        char c = *code;
        if (n + 1 >= sizeof name || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return NEFELE__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
        name[n++] = c == '_' || (c >= '0' && c <= '9') ? c : (char)(c - 'a' + 'A');
    }
    name[n] = '\0';
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value_by_name(&nefele__v1__error_code__descriptor, name);
    return v ? (Nefele__V1__ErrorCode)v->value : NEFELE__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
}

int nf_error_code(const char *code)
{
    switch (catalogue_entry(code)) {
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_NPID_NOT_FOUND: return NEFELE_ENPID_NOT_FOUND;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_SPAWN_REJECTED: return NEFELE_ESPAWN_REJECTED;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_BAD_REQUEST: return NEFELE_EBAD_REQUEST;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_NOT_RUNNING: return NEFELE_ENOT_RUNNING;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_NODE_UNAVAILABLE: return NEFELE_ENODE_UNAVAILABLE;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_REQUEST_CONFLICT: return NEFELE_EREQUEST_CONFLICT;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_TENANT_NOT_FOUND: return NEFELE_ETENANT_NOT_FOUND;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_QUOTA_EXCEEDED: return NEFELE_EQUOTA_EXCEEDED;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED: return NEFELE_ELIMIT_EXCEEDED;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_INTERNAL_ERROR: return NEFELE_EINTERNAL;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_CONTROL_PLANE_UNAVAILABLE: return NEFELE_ECONTROL_PLANE_UNAVAILABLE;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_NOT_A_NEFELE_PROCESS: return NEFELE_ENOT_A_NEFELE_PROCESS;
    case NEFELE__V1__ERROR_CODE__ERROR_CODE_BAD_FRAME: return NEFELE_EBAD_FRAME;
    default: return -EIO; /* REST-only, control-socket-only, or unknown */
    }
}

const char *nefele_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case NEFELE_ENPID_NOT_FOUND: return "no process with that NPID in this tenant";
    case NEFELE_ESPAWN_REJECTED: return "spawn rejected: no node has room or matches, or the program cannot be started";
    case NEFELE_EBAD_REQUEST: return "invalid argument: a field is missing, out of range or malformed";
    case NEFELE_ENOT_RUNNING: return "the process is not running";
    case NEFELE_ENODE_UNAVAILABLE: return "the process's node cannot be reached now";
    case NEFELE_EREQUEST_CONFLICT: return "the request id was already used for a different request";
    case NEFELE_ETENANT_NOT_FOUND: return "the tenant does not exist";
    case NEFELE_EQUOTA_EXCEEDED: return "the request would go over one of the tenant's quotas";
    case NEFELE_ELIMIT_EXCEEDED: return "a per-process limit is reached (monitors or log followers at once)";
    case NEFELE_EINTERNAL: return "a fault of the server (its log has the details)";
    case NEFELE_ECONTROL_PLANE_UNAVAILABLE: return "hostd has no silo attached; retry";
    case NEFELE_ENOT_A_NEFELE_PROCESS: return "the caller is neither a Nefele process nor a descendant of one";
    case NEFELE_EBAD_FRAME: return "hostd could not read the request";
    case -EIO: return "the server reported an error this library does not know";
    case -ENOTCONN: return "cannot reach hostd (NEFELE_SOCKET unset, or connecting failed)";
    case -ECONNRESET: return "hostd closed the connection";
    case -EMSGSIZE: return "the response is larger than 4 MiB";
    case -EPROTO: return "the response from hostd does not parse or does not match the request";
    case -ENOMEM: return "out of memory";
    default: return "unknown error code";
    }
}
