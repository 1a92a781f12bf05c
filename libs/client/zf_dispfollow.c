/*  zf_dispfollow.c - a dispatcher's events: decoded, numbers watched. */
#include "zf_dispfollow.h"
#include "zf_common.h"
#include "zf_seqtrack.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

struct _zf_dispfollow_t {
    zf_evsub_t *sub;         //  the subscription
    zf_dispfollow_fns_t fns; //  the owner's callbacks
    void *arg;               //  their argument
    zf_seqtrack_t seq;       //  the numbers of the dispatcher seen last
    zf_proto_decoder_t *dec; //  DISP_EVENTS bodies
    uint64_t bad;            //  bodies that did not decode
};

zf_dispfollow_t *
zf_dispfollow_new (const char *endpoint, const zf_dispfollow_fns_t *fns, void *arg)
{
    assert (fns && fns->event);
    zf_dispfollow_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->fns = *fns;
    self->arg = arg;
    self->sub = zf_evsub_new (endpoint);
    self->dec = zf_proto_decoder_new ();
    if (!self->sub || !self->dec) zf_dispfollow_destroy (&self);
    return self;
}

void
zf_dispfollow_destroy (zf_dispfollow_t **self_p)
{
    assert (self_p);
    zf_dispfollow_t *self = *self_p;
    if (!self) return;
    zf_evsub_destroy (&self->sub);
    zf_proto_decoder_destroy (&self->dec);
    free (self);
    *self_p = NULL;
}

void
zf_dispfollow_subscribe (zf_dispfollow_t *self, const char *prefix)
{
    assert (self);
    zf_evsub_subscribe (self->sub, prefix);
}

zf_evsub_t *
zf_dispfollow_source (zf_dispfollow_t *self)
{
    assert (self);
    return self->sub;
}

int
zf_dispfollow_on_monitor (zf_dispfollow_t *self)
{
    assert (self);
    return zf_evsub_on_monitor (self->sub);
}

uint64_t
zf_dispfollow_bad_messages (zf_dispfollow_t *self)
{
    assert (self);
    return self->bad;
}

//  Watches the number of one event, then hands it over.
static void
s_event (zf_dispfollow_t *self, const zf_dispevent_t *event)
{
    uint64_t from = 0, to = 0, last = self->seq.last;
    switch (zf_seqtrack_check (&self->seq, event->seq, &from, &to)) {
    case ZF_SEQ_OLD:
        //  Numbers go back: a new dispatcher, counting from 1 again.
        zf_seqtrack_reset (&self->seq, event->seq);
        if (self->fns.restart) self->fns.restart (event, last, self->arg);
        break;
    case ZF_SEQ_GAP:
        if (self->fns.gap) self->fns.gap (from, to, self->arg);
        break;
    default:
        break;
    }
    self->fns.event (event, self->arg);
}

void
zf_dispfollow_on_message (zf_dispfollow_t *self)
{
    assert (self);
    char *topic = NULL;
    zframe_t *body = NULL;
    int rc = zf_evsub_recv (self->sub, &topic, &body);
    if (rc < 0) return;
    const zf_dispevent_t *events = NULL;
    size_t count = 0;
    zf_proto_error_t err = {""};
    if (rc != 0 || zf_dispevent_decode (self->dec, zframe_data (body), zframe_size (body), &events,
                                        &count, &err) != 0) {
        self->bad++;
        zf_log_warn ("dispatcher events did not decode topic=%s reason=%s count=%" PRIu64,
                     topic ? topic : "-", rc != 0 ? "not [topic][body]" : err.text, self->bad);
    } else
        for (size_t i = 0; i < count; i++)
            s_event (self, &events[i]);
    zstr_free (&topic);
    zframe_destroy (&body);
}
