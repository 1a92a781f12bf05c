/*  zf_replier.c - answering registry-API requests on a ROUTER. */
#include "zf_replier.h"
#include "zf_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

int
zf_replier_send_body (zsock_t *router, zframe_t *identity, const void *body, size_t size)
{
    assert (router);
    assert (identity);
    void *socket = zsock_resolve (router);
    if (zmq_send (socket, zframe_data (identity), zframe_size (identity),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send (socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send (socket, body, size, ZMQ_DONTWAIT) < 0) {
        zf_log_warn ("reply dropped bytes=%zu reason=\"%s\"", size, zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

int
zf_replier_send (zsock_t *router, zframe_t *identity, zf_proto_encoder_t *enc,
                 const zf_reg_reply_t *reply)
{
    assert (enc);
    assert (reply);
    zf_proto_error_t err;
    if (zf_reg_reply_encode (enc, reply, &err) != 0) {
        zf_log_error ("reply not encoded type=%s req_id=%llu reason=\"%s\"",
                      zf_body_type_name (reply->type), (unsigned long long)reply->req_id, err.text);
        if (reply->type == ZF_BODY_ERROR) return -1;
        zf_reg_reply_t error;
        zf_reg_reply_init (&error, ZF_BODY_ERROR, reply->req_id);
        error.code = ZF_ERR_INTERNAL;
        error.text = err.text;
        return zf_replier_send (router, identity, enc, &error);
    }
    return zf_replier_send_body (router, identity, zf_proto_encoder_data (enc),
                                 zf_proto_encoder_size (enc));
}

int
zf_replier_error (zsock_t *router, zframe_t *identity, zf_proto_encoder_t *enc, uint64_t req_id,
                  int code, const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof text, format, args);
    va_end (args);
    zf_reg_reply_t reply;
    zf_reg_reply_init (&reply, ZF_BODY_ERROR, req_id);
    reply.code = (uint8_t)code;
    reply.text = text;
    return zf_replier_send (router, identity, enc, &reply);
}
