/*  Tests of Majordomo framing: builders, the parser, and both over sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto_check.h"

//  A body frame with recognisable bytes.
static zframe_t *
s_body (const char *text)
{
    zframe_t *frame = zframe_new (text, strlen (text));
    assert_non_null (frame);
    return frame;
}

//  True if a frame holds exactly text.
static bool
s_frame_is (zframe_t *frame, const char *text)
{
    return frame && zframe_streq (frame, text);
}

//  Builds a message from strings ("" for empty frames).
static zmsg_t *
s_frames (int count, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, count);
    for (int i = 0; i < count; i++)
        zmsg_addstr (msg, va_arg (args, const char *));
    va_end (args);
    return msg;
}

//  Expects a parse failure with text containing expect; the message is kept.
static void
s_expect (zmsg_t *msg, zf_mdp_role_t role, const char *expect)
{
    zf_mdp_msg_t out;
    zf_proto_error_t err;
    size_t before = zmsg_size (msg);
    assert_int_equal (zf_mdp_parse (msg, role, &out, &err), -1);
    if (!strstr (err.text, expect)) fail_msg ("error \"%s\" lacks \"%s\"", err.text, expect);
    assert_int_equal (zmsg_size (msg), before);
    assert_int_equal (out.command, 0);
    assert_int_equal (out.service[0], 0);
    assert_null (out.address);
    assert_null (out.body);
}

static void
test_client_commands (void **state)
{
    const struct {
        uint8_t command;     //  the command
        const char *service; //  its service frame, or NULL
        bool body;           //  has a body
        zf_mdp_role_t role;  //  who receives it
    } cases[] = {
        {ZF_MDPC_REQUEST, "shell", true, ZF_MDP_AT_BROKER},
        {ZF_MDPC_PARTIAL, "shell", true, ZF_MDP_AT_CLIENT},
        {ZF_MDPC_FINAL, "settle", true, ZF_MDP_AT_CLIENT},
        {ZF_MDPC_ACK, NULL, true, ZF_MDP_AT_BROKER},
        {ZF_MDPC_CANCEL, NULL, true, ZF_MDP_AT_BROKER},
        {ZF_MDPC_HELLO, NULL, true, ZF_MDP_AT_BROKER},
        {ZF_MDPC_HELLO, NULL, true, ZF_MDP_AT_CLIENT},
        {ZF_MDPC_HEARTBEAT, NULL, false, ZF_MDP_AT_BROKER},
        {ZF_MDPC_HEARTBEAT, NULL, false, ZF_MDP_AT_CLIENT},
        {ZF_MDPC_ERROR, "shell", true, ZF_MDP_AT_CLIENT},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zframe_t *body = cases[i].body ? s_body ("body") : NULL;
        zmsg_t *msg = zf_mdp_client_new (cases[i].command, cases[i].service, &body);
        assert_non_null (msg);
        assert_null (body);
        assert_int_equal (zmsg_size (msg),
                          3 + (cases[i].service ? 1 : 0) + (cases[i].body ? 1 : 0));
        zf_mdp_msg_t out;
        zf_proto_error_t err;
        assert_int_equal (zf_mdp_parse (msg, cases[i].role, &out, &err), 0);
        assert_int_equal (out.protocol, ZF_MDP_CLIENT);
        assert_int_equal (out.command, cases[i].command);
        assert_string_equal (out.service, cases[i].service ? cases[i].service : "");
        assert_null (out.address);
        if (cases[i].body)
            assert_true (s_frame_is (out.body, "body"));
        else
            assert_null (out.body);
        zmsg_destroy (&msg);
    }
    assert_string_equal (zf_mdp_command_name (ZF_MDP_CLIENT, ZF_MDPC_ERROR), "ERROR");
    assert_string_equal (zf_mdp_command_name (ZF_MDP_WORKER, ZF_MDPW_DISCONNECT), "DISCONNECT");
    assert_string_equal (zf_mdp_command_name (ZF_MDP_WORKER, 0x07), "?");
}

static void
test_worker_commands (void **state)
{
    const struct {
        uint8_t command;    //  the command
        bool service;       //  has a service frame
        bool address;       //  has [client][""]
        bool body;          //  has a body
        zf_mdp_role_t role; //  who receives it
    } cases[] = {
        {ZF_MDPW_READY, true, false, true, ZF_MDP_AT_BROKER},
        {ZF_MDPW_REQUEST, false, true, true, ZF_MDP_AT_WORKER},
        {ZF_MDPW_PARTIAL, false, true, true, ZF_MDP_AT_BROKER},
        {ZF_MDPW_FINAL, false, true, true, ZF_MDP_AT_BROKER},
        {ZF_MDPW_HEARTBEAT, false, false, false, ZF_MDP_AT_BROKER},
        {ZF_MDPW_HEARTBEAT, false, false, false, ZF_MDP_AT_WORKER},
        {ZF_MDPW_DISCONNECT, false, false, false, ZF_MDP_AT_BROKER},
        {ZF_MDPW_DISCONNECT, false, false, false, ZF_MDP_AT_WORKER},
        {ZF_MDPW_CANCEL, false, false, true, ZF_MDP_AT_WORKER},
        {ZF_MDPW_ACK, false, false, true, ZF_MDP_AT_WORKER},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zframe_t *body = cases[i].body ? s_body ("jobs") : NULL;
        //  A ROUTER identity is binary: a zero byte, then four.
        zframe_t *address = cases[i].address ? zframe_new ("\x00\x6b\x8b\x45\x67", 5) : NULL;
        zmsg_t *msg = zf_mdp_worker_new (cases[i].command, cases[i].service ? "shell" : NULL,
                                         &address, &body);
        assert_non_null (msg);
        assert_null (body);
        assert_null (address);
        zf_mdp_msg_t out;
        zf_proto_error_t err;
        assert_int_equal (zf_mdp_parse (msg, cases[i].role, &out, &err), 0);
        assert_int_equal (out.protocol, ZF_MDP_WORKER);
        assert_int_equal (out.command, cases[i].command);
        assert_string_equal (out.service, cases[i].service ? "shell" : "");
        if (cases[i].address) {
            assert_int_equal (zframe_size (out.address), 5);
            assert_memory_equal (zframe_data (out.address), "\x00\x6b\x8b\x45\x67", 5);
        } else
            assert_null (out.address);
        if (cases[i].body)
            assert_true (s_frame_is (out.body, "jobs"));
        else
            assert_null (out.body);
        zmsg_destroy (&msg);
    }
}

static void
test_parse_errors (void **state)
{
    zmsg_t *msg = s_frames (2, "", ZF_MDPC);
    s_expect (msg, ZF_MDP_AT_BROKER, "2 frames, too few for a Majordomo message");
    zmsg_destroy (&msg);

    msg = s_frames (3, "x", ZF_MDPC, "\x13");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 1: not an empty delimiter (1 bytes)");
    zmsg_destroy (&msg);

    msg = s_frames (3, "", "MDPC01", "\x13");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 2: not a Majordomo header");
    zmsg_destroy (&msg);

    msg = s_frames (3, "", ZF_MDPW, "\x05");
    s_expect (msg, ZF_MDP_AT_CLIENT, "frame 2: worker protocol sent to a client");
    zmsg_destroy (&msg);
    msg = s_frames (3, "", ZF_MDPC, "\x13");
    s_expect (msg, ZF_MDP_AT_WORKER, "frame 2: client protocol sent to a worker");
    zmsg_destroy (&msg);

    msg = s_frames (3, "", ZF_MDPC, "\x13\x13");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 3: command is 2 bytes, not 1");
    zmsg_destroy (&msg);
    msg = s_frames (3, "", ZF_MDPC, "\x04");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 3: unknown client command 0x04");
    zmsg_destroy (&msg);
    msg = s_frames (3, "", ZF_MDPW, "\x07");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 3: unknown worker command 0x07");
    zmsg_destroy (&msg);
    //  PARTIAL and FINAL keep their own bytes, unlike the 0.2 reference code.
    msg = s_frames (5, "", ZF_MDPC, "\x02", "shell", "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 3: client PARTIAL is not sent to a broker");
    zmsg_destroy (&msg);
    msg = s_frames (5, "", ZF_MDPC, "\x01", "shell", "b");
    s_expect (msg, ZF_MDP_AT_CLIENT, "frame 3: client REQUEST is not sent by a broker");
    zmsg_destroy (&msg);
    msg = s_frames (5, "", ZF_MDPW, "\x01", "shell", "b");
    s_expect (msg, ZF_MDP_AT_WORKER, "frame 3: worker READY is not sent by a broker");
    zmsg_destroy (&msg);

    msg = s_frames (4, "", ZF_MDPC, "\x01", "shell");
    s_expect (msg, ZF_MDP_AT_BROKER, "client REQUEST has 4 frames, expected 5");
    zmsg_destroy (&msg);
    msg = s_frames (4, "", ZF_MDPC, "\x13", "extra");
    s_expect (msg, ZF_MDP_AT_BROKER, "client HEARTBEAT has 4 frames, expected 3");
    zmsg_destroy (&msg);

    msg = s_frames (5, "", ZF_MDPC, "\x01", "", "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: service name of 0 bytes (1..ZF_MAX_NAME (128))");
    zmsg_destroy (&msg);
    char name[ZF_MAX_NAME + 2];
    memset (name, 's', ZF_MAX_NAME + 1);
    name[ZF_MAX_NAME + 1] = 0;
    msg = s_frames (5, "", ZF_MDPC, "\x01", name, "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: service name of 129 bytes");
    zmsg_destroy (&msg);
    name[ZF_MAX_NAME] = 0;
    msg = s_frames (5, "", ZF_MDPC, "\x01", name, "b");
    zf_mdp_msg_t out;
    zf_proto_error_t err;
    assert_int_equal (zf_mdp_parse (msg, ZF_MDP_AT_BROKER, &out, &err), 0);
    assert_string_equal (out.service, name);
    zmsg_destroy (&msg);
    msg = zmsg_new ();
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, ZF_MDPC);
    zmsg_addstr (msg, "\x01");
    zmsg_addmem (msg, "sh\0ell", 6);
    zmsg_addstr (msg, "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: service name contains a nul byte");
    zmsg_destroy (&msg);

    //  The client address of worker REQUEST/PARTIAL/FINAL.
    msg = s_frames (6, "", ZF_MDPW, "\x03", "", "", "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: client address of 0 bytes (1..255)");
    zmsg_destroy (&msg);
    char address[ZF_MDP_MAX_ADDRESS + 2];
    memset (address, 'a', ZF_MDP_MAX_ADDRESS + 1);
    address[ZF_MDP_MAX_ADDRESS + 1] = 0;
    msg = s_frames (6, "", ZF_MDPW, "\x03", address, "", "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: client address of 256 bytes (1..255)");
    zmsg_destroy (&msg);
    msg = s_frames (6, "", ZF_MDPW, "\x03", "client", "x", "b");
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 5: not an empty delimiter");
    zmsg_destroy (&msg);

    //  A body over the frame limit.
    msg = s_frames (3, "", ZF_MDPC, "\x10");
    zframe_t *huge = zframe_new (NULL, (size_t)ZF_MAX_FRAME_SIZE + 1);
    zmsg_append (msg, &huge);
    s_expect (msg, ZF_MDP_AT_BROKER, "frame 4: body of 16777217 bytes exceeds ZF_MAX_FRAME_SIZE");
    zmsg_destroy (&msg);
}

//  Rebuilds a parsed message with the builders and compares frame by frame.
static void
s_rebuild_same (zmsg_t *msg, const zf_mdp_msg_t *parsed)
{
    zframe_t *body = parsed->body ? zframe_dup (parsed->body) : NULL;
    zframe_t *address = parsed->address ? zframe_dup (parsed->address) : NULL;
    zmsg_t *again = parsed->protocol == ZF_MDP_CLIENT
                        ? zf_mdp_client_new (parsed->command, parsed->service, &body)
                        : zf_mdp_worker_new (parsed->command, parsed->service, &address, &body);
    assert_non_null (again);
    assert_int_equal (zmsg_size (again), zmsg_size (msg));
    zframe_t *a = zmsg_first (msg), *b = zmsg_first (again);
    while (a && b) {
        assert_true (zframe_eq (a, b));
        a = zmsg_next (msg);
        b = zmsg_next (again);
    }
    zmsg_destroy (&again);
}

static void
test_random_frames (void **state)
{
    //  Messages made of plausible and random frames: each is refused with a
    //  reason or parses to exactly what the builders would make.
    const char *pieces[] = {"",     ZF_MDPC, ZF_MDPW, "\x01", "\x02", "\x03",  "\x05",
                            "\x10", "\x11",  "\x12",  "\x13", "\x14", "shell", "body"};
    size_t piece_count = sizeof (pieces) / sizeof (pieces[0]);
    uint64_t seed = 42;
    int parsed = 0;
    for (int i = 0; i < 10000; i++) {
        zmsg_t *msg = zmsg_new ();
        int frames = (int)(pc_random (&seed) % 8);
        for (int f = 0; f < frames; f++) {
            if (pc_random (&seed) % 8 == 0) {
                uint8_t bytes[8];
                size_t size = pc_random (&seed) % sizeof (bytes);
                for (size_t j = 0; j < size; j++)
                    bytes[j] = (uint8_t)pc_random (&seed);
                zmsg_addmem (msg, bytes, size);
            } else if (f == 0)
                zmsg_addstr (msg, "");
            else
                zmsg_addstr (msg, pieces[pc_random (&seed) % piece_count]);
        }
        zf_mdp_role_t role = (zf_mdp_role_t)(1 + pc_random (&seed) % 3);
        zf_mdp_msg_t out;
        zf_proto_error_t err;
        if (zf_mdp_parse (msg, role, &out, &err) == 0) {
            s_rebuild_same (msg, &out);
            parsed++;
        } else
            assert_true (strlen (err.text) > 0);
        zmsg_destroy (&msg);
    }
    //  The generator reaches both outcomes.
    assert_true (parsed > 10);
    assert_true (parsed < 9000);
}

static void
test_over_sockets (void **state)
{
    //  The broker's ROUTER sees [identity] before the frames: it pops it,
    //  parses, and pushes it back on what it sends.
    zsock_t *router = zsock_new_router ("inproc://zf-test-mdp");
    zsock_t *client = zsock_new_dealer ("inproc://zf-test-mdp");
    assert_non_null (router);
    assert_non_null (client);

    zframe_t *body = s_body ("dispatch");
    zmsg_t *msg = zf_mdp_client_new (ZF_MDPC_REQUEST, "shell", &body);
    assert_int_equal (zmsg_send (&msg, client), 0);
    msg = zmsg_recv (router);
    assert_non_null (msg);
    zframe_t *identity = zmsg_pop (msg);
    zf_mdp_msg_t out;
    zf_proto_error_t err;
    assert_int_equal (zf_mdp_parse (msg, ZF_MDP_AT_BROKER, &out, &err), 0);
    assert_int_equal (out.command, ZF_MDPC_REQUEST);
    assert_string_equal (out.service, "shell");
    assert_true (s_frame_is (out.body, "dispatch"));
    zmsg_destroy (&msg);

    body = s_body ("results");
    msg = zf_mdp_client_new (ZF_MDPC_FINAL, "shell", &body);
    zmsg_prepend (msg, &identity);
    assert_int_equal (zmsg_send (&msg, router), 0);
    msg = zmsg_recv (client);
    assert_non_null (msg);
    assert_int_equal (zf_mdp_parse (msg, ZF_MDP_AT_CLIENT, &out, &err), 0);
    assert_int_equal (out.command, ZF_MDPC_FINAL);
    assert_true (s_frame_is (out.body, "results"));
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    zsock_destroy (&router);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_client_commands), cmocka_unit_test (test_worker_commands),
        cmocka_unit_test (test_parse_errors),    cmocka_unit_test (test_random_frames),
        cmocka_unit_test (test_over_sockets),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
