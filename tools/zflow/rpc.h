/*  rpc.h - one registry request from a verb: where the registry is, the call,
    the reply, and the one line a failure prints.

    Endpoints come from --registry EP[,EP], else ZFLOW_REGISTRY, else
    tcp://127.0.0.1:5570. A request waits ZF_RPC_TIMEOUT_MS in all (or
    ZFLOW_REQUEST_TIMEOUT, a duration), shared between the endpoints of a pair.
*/
#ifndef ZF_RPC_H_INCLUDED
#define ZF_RPC_H_INCLUDED

#include "cli.h"
#include "zf_regclient.h"

typedef struct _zf_rpc_t zf_rpc_t;

#define ZF_RPC_TIMEOUT_MS 5000

//  Resolves the endpoints and the timeout. Returns NULL when either is
//  malformed, after a usage error (exit status 2), or when out of memory,
//  after saying so.
zf_rpc_t *zf_rpc_new (const zf_cli_verb_t *verb, const char *registry_flag);

void zf_rpc_destroy (zf_rpc_t **self_p);

//  Sends req and waits for a reply of the type expected. Returns 0 with
//  *reply (held until the next call), or 1 after printing why not: no
//  registry answered, an ERROR reply (its lines, or its message), a reply
//  that did not decode or was of another type.
int zf_rpc_call (zf_rpc_t *self, zf_reg_request_t *req, int expected, zf_reg_reply_t *reply);

//  Sends req and waits up to timeout_ms, printing nothing. Returns 0 with
//  *reply of any type (ERROR too), or ZF_REGCLIENT_UNREACHABLE/BAD.
int zf_rpc_send (zf_rpc_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply, int timeout_ms);

//  Prints the line for a failed zf_rpc_send (rc < 0); returns 1.
int zf_rpc_report (zf_rpc_t *self, int rc);

//  Prints an ERROR reply: the lines it lists (a flow's file:line:col
//  errors), else one line with its message and code. Returns 1.
int zf_rpc_error (zf_rpc_t *self, const zf_reg_reply_t *reply);

//  The endpoints in use, as given.
const char *zf_rpc_endpoints (zf_rpc_t *self);

//  The request timeout in milliseconds.
int zf_rpc_timeout (zf_rpc_t *self);

//  The client underneath (for the events endpoints).
zf_regclient_t *zf_rpc_client (zf_rpc_t *self);

#endif
