/*  test_pipe.c - named fields on actor pipes: a round trip, reading, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <czmq.h>
#include "zf_pipe.h"

//  A connected pair of inproc sockets, as an actor's pipe is.
typedef struct {
    zsock_t *a; //  one end
    zsock_t *b; //  the other
} s_pair_t;

static int
s_setup (void **state)
{
    s_pair_t *pair = calloc (1, sizeof *pair);
    assert_non_null (pair);
    *state = pair;
    return 0;
}

static int
s_teardown (void **state)
{
    s_pair_t *pair = *state;
    zsock_destroy (&pair->a);
    zsock_destroy (&pair->b);
    free (pair);
    return 0;
}

//  Binds one end and connects the other, on an endpoint of its own.
static void
s_connect (s_pair_t *pair)
{
    static int n;
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://test-pipe-%d", n++);
    pair->a = zsock_new (ZMQ_PAIR);
    pair->b = zsock_new (ZMQ_PAIR);
    assert_non_null (pair->a);
    assert_non_null (pair->b);
    assert_int_equal (zsock_bind (pair->a, "%s", endpoint), 0);
    assert_int_equal (zsock_connect (pair->b, "%s", endpoint), 0);
}

static void
test_round_trip (void **state)
{
    s_pair_t *pair = *state;
    s_connect (pair);
    zf_fields_t *fields = zf_fields_new ();
    zf_fields_add (fields, "requests", 12);
    zf_fields_add (fields, "zero", 0);
    zf_fields_add (fields, "big", UINT64_MAX - 1);
    zf_fields_add_str (fields, "bind", "tcp://127.0.0.1:5570");
    zf_fields_add_str (fields, "none", NULL);
    assert_int_equal (zf_fields_send (&fields, pair->a), 0);
    assert_null (fields);

    zf_fields_t *got = zf_fields_recv (pair->b);
    assert_non_null (got);
    assert_int_equal (zf_fields_count (got), 5);
    assert_string_equal (zf_fields_name (got, 0), "requests");
    assert_string_equal (zf_fields_value (got, 0), "12");
    assert_null (zf_fields_name (got, 5));
    assert_int_equal (zf_fields_get (got, "requests"), 12);
    assert_int_equal (zf_fields_get (got, "zero"), 0);
    assert_true (zf_fields_get (got, "big") == UINT64_MAX - 1);
    assert_string_equal (zf_fields_str (got, "bind"), "tcp://127.0.0.1:5570");
    assert_string_equal (zf_fields_str (got, "none"), "");
    //  A misspelt name, or text where a number is wanted, never reads as zero.
    assert_true (zf_fields_get (got, "request") == ZF_FIELDS_ABSENT);
    assert_true (zf_fields_get (got, "bind") == ZF_FIELDS_ABSENT);
    assert_true (zf_fields_get (got, "none") == ZF_FIELDS_ABSENT);
    assert_null (zf_fields_str (got, "missing"));
    char text[64];
    assert_string_equal (zf_fields_format (got, text, 24), "requests=12 zero=0 big=");
    zf_fields_destroy (&got);
    zf_fields_destroy (&got);
}

static void
test_no_fields (void **state)
{
    s_pair_t *pair = *state;
    s_connect (pair);
    //  An actor out of memory for its answer still answers.
    zf_fields_t *none = NULL;
    assert_int_equal (zf_fields_send (&none, pair->a), 0);
    zf_fields_t *got = zf_fields_recv (pair->b);
    assert_non_null (got);
    assert_int_equal (zf_fields_count (got), 0);
    zf_fields_destroy (&got);

    zf_fields_t *empty = zf_fields_new ();
    assert_int_equal (zf_fields_send (&empty, pair->a), 0);
    got = zf_fields_recv (pair->b);
    assert_non_null (got);
    assert_int_equal (zf_fields_count (got), 0);
    zf_fields_destroy (&got);
}

static void
test_refused (void **state)
{
    s_pair_t *pair = *state;
    s_connect (pair);
    //  Positional answers, an odd frame count, an empty name: not fields.
    zsock_send (pair->a, "888", (uint64_t)1, (uint64_t)2, (uint64_t)3);
    assert_null (zf_fields_recv (pair->b));
    zstr_sendx (pair->a, "", "value", NULL);
    assert_null (zf_fields_recv (pair->b));
    zstr_sendx (pair->a, "a", "1", "b", NULL);
    assert_null (zf_fields_recv (pair->b));
    //  Still in step: the next good answer reads.
    zstr_sendx (pair->a, "a", "1", NULL);
    zf_fields_t *got = zf_fields_recv (pair->b);
    assert_non_null (got);
    assert_int_equal (zf_fields_get (got, "a"), 1);
    zf_fields_destroy (&got);
}

//  zf_fields_ask sends the command and reads the answer.
static void
s_echo_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    char *command;
    while ((command = zstr_recv (pipe))) {
        bool term = streq (command, ZF_PIPE_TERM);
        if (streq (command, ZF_PIPE_STATS)) {
            zf_fields_t *stats = zf_fields_new ();
            zf_fields_add (stats, "asked", 1);
            zf_fields_send (&stats, pipe);
        } else if (!term)
            zf_pipe_unknown ("echo", command);
        zstr_free (&command);
        if (term) break;
    }
}

static void
test_ask (void **state)
{
    zactor_t *actor = zactor_new (s_echo_actor, NULL);
    assert_non_null (actor);
    zf_fields_t *stats = zf_fields_ask (actor, ZF_PIPE_STATS);
    assert_non_null (stats);
    assert_int_equal (zf_fields_get (stats, "asked"), 1);
    zf_fields_destroy (&stats);
    zstr_send (actor, "NOSUCH");
    stats = zf_fields_ask (actor, ZF_PIPE_STATS);
    assert_non_null (stats);
    zf_fields_destroy (&stats);
    zactor_destroy (&actor);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_fields, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused, s_setup, s_teardown),
        cmocka_unit_test (test_ask),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
