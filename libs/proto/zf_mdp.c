/*  zf_mdp.c - building and checking Majordomo messages.

    One table per protocol says, for each command, which frames follow the
    command byte and in which direction it may travel; the builders and the
    parser both read it, so they cannot disagree.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "zf_proto.h"

//  Frames after the command byte.
#define S_SERVICE 1 //  [service]
#define S_ADDRESS 2 //  [client][""]
#define S_BODY    4 //  [body]

//  Directions.
#define S_TO_BROKER   1 //  client or worker -> broker
#define S_FROM_BROKER 2 //  broker -> client or worker

typedef struct {
    uint8_t command;    //  the command byte
    const char *name;   //  its name
    uint8_t frames;     //  S_SERVICE | S_ADDRESS | S_BODY
    uint8_t directions; //  S_TO_BROKER | S_FROM_BROKER
} s_command_t;

static const s_command_t s_client[] = {
    {ZF_MDPC_REQUEST, "REQUEST", S_SERVICE | S_BODY, S_TO_BROKER},
    {ZF_MDPC_PARTIAL, "PARTIAL", S_SERVICE | S_BODY, S_FROM_BROKER},
    {ZF_MDPC_FINAL, "FINAL", S_SERVICE | S_BODY, S_FROM_BROKER},
    {ZF_MDPC_ACK, "ACK", S_BODY, S_TO_BROKER},
    {ZF_MDPC_CANCEL, "CANCEL", S_BODY, S_TO_BROKER},
    {ZF_MDPC_HELLO, "HELLO", S_BODY, S_TO_BROKER | S_FROM_BROKER},
    {ZF_MDPC_HEARTBEAT, "HEARTBEAT", 0, S_TO_BROKER | S_FROM_BROKER},
    {ZF_MDPC_ERROR, "ERROR", S_SERVICE | S_BODY, S_FROM_BROKER},
    {0, NULL, 0, 0}};

static const s_command_t s_worker[] = {
    {ZF_MDPW_READY, "READY", S_SERVICE | S_BODY, S_TO_BROKER},
    {ZF_MDPW_REQUEST, "REQUEST", S_ADDRESS | S_BODY, S_FROM_BROKER},
    {ZF_MDPW_PARTIAL, "PARTIAL", S_ADDRESS | S_BODY, S_TO_BROKER},
    {ZF_MDPW_FINAL, "FINAL", S_ADDRESS | S_BODY, S_TO_BROKER},
    {ZF_MDPW_HEARTBEAT, "HEARTBEAT", 0, S_TO_BROKER | S_FROM_BROKER},
    {ZF_MDPW_DISCONNECT, "DISCONNECT", 0, S_TO_BROKER | S_FROM_BROKER},
    {ZF_MDPW_CANCEL, "CANCEL", S_BODY, S_FROM_BROKER},
    {ZF_MDPW_ACK, "ACK", S_BODY, S_FROM_BROKER},
    {0, NULL, 0, 0}};

//  The table entry of a command, or NULL.
static const s_command_t *
s_lookup (int protocol, int command)
{
    const s_command_t *entry = protocol == ZF_MDP_CLIENT ? s_client : s_worker;
    for (; entry->name; entry++)
        if (entry->command == command) return entry;
    return NULL;
}

//  Names a command.
const char *
zf_mdp_command_name (zf_mdp_protocol_t protocol, int command)
{
    const s_command_t *entry = s_lookup (protocol, command);
    return entry ? entry->name : "?";
}

//  Builds a message from the table's layout.
static zmsg_t *
s_build (int protocol, uint8_t command, const char *service, zframe_t **address_p,
         zframe_t **body_p)
{
    const s_command_t *entry = s_lookup (protocol, command);
    assert (entry);
    assert (!(entry->frames & S_SERVICE) || service);
    assert (!(entry->frames & S_ADDRESS) || (address_p && *address_p));
    assert (!(entry->frames & S_BODY) || (body_p && *body_p));
    assert ((entry->frames & S_ADDRESS) || !address_p || !*address_p);
    assert ((entry->frames & S_BODY) || !body_p || !*body_p);
    zmsg_t *msg = zmsg_new ();
    if (msg) {
        int rc = zmsg_addmem (msg, "", 0);
        if (rc == 0) rc = zmsg_addstr (msg, protocol == ZF_MDP_CLIENT ? ZF_MDPC : ZF_MDPW);
        if (rc == 0) rc = zmsg_addmem (msg, &command, 1);
        if (rc == 0 && (entry->frames & S_SERVICE)) rc = zmsg_addstr (msg, service);
        if (rc == 0 && (entry->frames & S_ADDRESS)) {
            rc = zmsg_append (msg, address_p);
            if (rc == 0) rc = zmsg_addmem (msg, "", 0);
        }
        if (rc == 0 && (entry->frames & S_BODY)) rc = zmsg_append (msg, body_p);
        if (rc) zmsg_destroy (&msg);
    }
    //  On failure the frames are gone with the message, or still to free.
    if (address_p) zframe_destroy (address_p);
    if (body_p) zframe_destroy (body_p);
    return msg;
}

//  Builds a client-protocol message.
zmsg_t *
zf_mdp_client_new (uint8_t command, const char *service, zframe_t **body_p)
{
    return s_build (ZF_MDP_CLIENT, command, service, NULL, body_p);
}

//  Builds a worker-protocol message.
zmsg_t *
zf_mdp_worker_new (uint8_t command, const char *service, zframe_t **address_p, zframe_t **body_p)
{
    return s_build (ZF_MDP_WORKER, command, service, address_p, body_p);
}

//  Formats a parse failure.
static int s_fail (zf_proto_error_t *err, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_fail (zf_proto_error_t *err, const char *format, ...)
{
    if (err) {
        va_list args;
        va_start (args, format);
        vsnprintf (err->text, sizeof (err->text), format, args);
        va_end (args);
    }
    return -1;
}

//  True if a frame is size bytes long and holds those bytes.
static bool
s_frame_is (zframe_t *frame, const char *bytes, size_t size)
{
    return zframe_size (frame) == size && memcmp (zframe_data (frame), bytes, size) == 0;
}

//  Checks a message frame by frame, filling out as it goes.
static int
s_parse (zmsg_t *msg, zf_mdp_role_t role, zf_mdp_msg_t *out, zf_proto_error_t *err)
{
    size_t count = zmsg_size (msg);
    if (count < 3) return s_fail (err, "%zu frames, too few for a Majordomo message", count);

    zframe_t *frame = zmsg_first (msg);
    if (zframe_size (frame) != 0)
        return s_fail (err, "frame 1: not an empty delimiter (%zu bytes)", zframe_size (frame));
    frame = zmsg_next (msg);
    int protocol;
    if (s_frame_is (frame, ZF_MDPC, strlen (ZF_MDPC)))
        protocol = ZF_MDP_CLIENT;
    else if (s_frame_is (frame, ZF_MDPW, strlen (ZF_MDPW)))
        protocol = ZF_MDP_WORKER;
    else
        return s_fail (err, "frame 2: not a Majordomo header (MDPC02 or MDPW02)");
    if (role == ZF_MDP_AT_CLIENT && protocol != ZF_MDP_CLIENT)
        return s_fail (err, "frame 2: worker protocol sent to a client");
    if (role == ZF_MDP_AT_WORKER && protocol != ZF_MDP_WORKER)
        return s_fail (err, "frame 2: client protocol sent to a worker");
    const char *side = protocol == ZF_MDP_CLIENT ? "client" : "worker";

    frame = zmsg_next (msg);
    if (zframe_size (frame) != 1)
        return s_fail (err, "frame 3: command is %zu bytes, not 1", zframe_size (frame));
    uint8_t command = zframe_data (frame)[0];
    const s_command_t *entry = s_lookup (protocol, command);
    if (!entry) return s_fail (err, "frame 3: unknown %s command 0x%02x", side, command);
    int direction = role == ZF_MDP_AT_BROKER ? S_TO_BROKER : S_FROM_BROKER;
    if (!(entry->directions & direction))
        return s_fail (err, "frame 3: %s %s is not sent %s", side, entry->name,
                       role == ZF_MDP_AT_BROKER ? "to a broker" : "by a broker");

    size_t expected = 3 + ((entry->frames & S_SERVICE) ? 1 : 0) +
                      ((entry->frames & S_ADDRESS) ? 2 : 0) + ((entry->frames & S_BODY) ? 1 : 0);
    if (count != expected)
        return s_fail (err, "%s %s has %zu frames, expected %zu", side, entry->name, count,
                       expected);
    size_t index = 4;
    if (entry->frames & S_SERVICE) {
        frame = zmsg_next (msg);
        size_t size = zframe_size (frame);
        if (size == 0 || size > ZF_MAX_NAME)
            return s_fail (err, "frame %zu: service name of %zu bytes (1..ZF_MAX_NAME (%d))", index,
                           size, ZF_MAX_NAME);
        if (memchr (zframe_data (frame), 0, size))
            return s_fail (err, "frame %zu: service name contains a nul byte", index);
        memcpy (out->service, zframe_data (frame), size);
        out->service[size] = 0;
        index++;
    }
    if (entry->frames & S_ADDRESS) {
        frame = zmsg_next (msg);
        size_t size = zframe_size (frame);
        if (size == 0 || size > ZF_MDP_MAX_ADDRESS)
            return s_fail (err, "frame %zu: client address of %zu bytes (1..%d)", index, size,
                           ZF_MDP_MAX_ADDRESS);
        out->address = frame;
        frame = zmsg_next (msg);
        if (zframe_size (frame) != 0)
            return s_fail (err, "frame %zu: not an empty delimiter", index + 1);
        index += 2;
    }
    if (entry->frames & S_BODY) {
        frame = zmsg_next (msg);
        if (zframe_size (frame) > ZF_MAX_FRAME_SIZE)
            return s_fail (err, "frame %zu: body of %zu bytes exceeds ZF_MAX_FRAME_SIZE (%d)",
                           index, zframe_size (frame), ZF_MAX_FRAME_SIZE);
        out->body = frame;
    }
    out->protocol = (uint8_t)protocol;
    out->command = command;
    return 0;
}

//  Parses a received message; on failure *out is left empty.
int
zf_mdp_parse (zmsg_t *msg, zf_mdp_role_t role, zf_mdp_msg_t *out, zf_proto_error_t *err)
{
    assert (msg);
    assert (out);
    memset (out, 0, sizeof (*out));
    if (err) err->text[0] = 0;
    if (s_parse (msg, role, out, err)) {
        memset (out, 0, sizeof (*out));
        return -1;
    }
    return 0;
}
