/*  rpc.c - registry calls for the verbs, with the contract's failure lines. */
#include "rpc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

struct _zf_rpc_t {
    const zf_cli_verb_t *verb; //  the verb, for messages
    const char *endpoints;     //  the endpoint list, as resolved
    zf_regclient_t *client;    //  requests and replies
    int timeout_ms;            //  per request, over all endpoints
};

zf_rpc_t *
zf_rpc_new (const zf_cli_verb_t *verb, const char *registry_flag)
{
    assert (verb);
    const char *endpoints = zf_client_endpoints_resolve (registry_flag);
    int64_t timeout = ZF_RPC_TIMEOUT_MS;
    const char *env = getenv ("ZFLOW_REQUEST_TIMEOUT");
    if (env && *env &&
        (zf_duration_parse (env, &timeout) != 0 || timeout <= 0 || timeout > 3600000)) {
        zf_cli_usage_error (verb, "bad ZFLOW_REQUEST_TIMEOUT '%s' (want a duration such as 5s)",
                            env);
        return NULL;
    }
    zf_rpc_t *self = calloc (1, sizeof *self);
    if (!self) {
        zf_cli_fail (verb, "out of memory");
        return NULL;
    }
    self->verb = verb;
    self->endpoints = endpoints;
    self->timeout_ms = (int)timeout;
    self->client = zf_regclient_new (endpoints);
    if (!self->client) {
        zf_cli_usage_error (
            verb, "bad registry endpoint '%s' (want tcp://HOST:PORT[,tcp://HOST:PORT])", endpoints);
        free (self);
        return NULL;
    }
    return self;
}

void
zf_rpc_destroy (zf_rpc_t **self_p)
{
    assert (self_p);
    zf_rpc_t *self = *self_p;
    if (!self) return;
    zf_regclient_destroy (&self->client);
    free (self);
    *self_p = NULL;
}

int
zf_rpc_send (zf_rpc_t *self, zf_reg_request_t *req, zf_reg_reply_t *reply, int timeout_ms)
{
    assert (self);
    return zf_regclient_call (self->client, req, reply, timeout_ms);
}

int
zf_rpc_report (zf_rpc_t *self, int rc)
{
    assert (self);
    if (zsys_interrupted) return zf_cli_fail (self->verb, "interrupted");
    if (rc == ZF_REGCLIENT_UNREACHABLE) {
        char took[ZF_TIME_TEXT];
        zf_duration_format (self->timeout_ms, took, sizeof took);
        return zf_cli_fail (self->verb, "cannot reach the registry at %s (no answer within %s)",
                            self->endpoints, took);
    }
    return zf_cli_fail (self->verb, "%s", zf_regclient_error (self->client));
}

int
zf_rpc_error (zf_rpc_t *self, const zf_reg_reply_t *reply)
{
    assert (self);
    assert (reply);
    if (reply->line_count > 0) {
        for (size_t i = 0; i < reply->line_count; i++)
            fprintf (stderr, "%s\n", reply->lines[i]);
        return 1;
    }
    if (reply->text && *reply->text)
        return zf_cli_fail (self->verb, "%s (%s)", reply->text, zf_reg_error_name (reply->code));
    return zf_cli_fail (self->verb, "the registry refused the request (%s)",
                        zf_reg_error_name (reply->code));
}

int
zf_rpc_call (zf_rpc_t *self, zf_reg_request_t *req, int expected, zf_reg_reply_t *reply)
{
    assert (self);
    int rc = zf_rpc_send (self, req, reply, self->timeout_ms);
    if (rc != 0) return zf_rpc_report (self, rc);
    if (reply->type == ZF_BODY_ERROR) return zf_rpc_error (self, reply);
    if (reply->type != expected)
        return zf_cli_fail (self->verb, "the registry answered %s with %s instead of %s",
                            zf_body_type_name (req->type), zf_body_type_name (reply->type),
                            zf_body_type_name (expected));
    return 0;
}

const char *
zf_rpc_endpoints (zf_rpc_t *self)
{
    assert (self);
    return self->endpoints;
}

int
zf_rpc_timeout (zf_rpc_t *self)
{
    assert (self);
    return self->timeout_ms;
}

zf_regclient_t *
zf_rpc_client (zf_rpc_t *self)
{
    assert (self);
    return self->client;
}
