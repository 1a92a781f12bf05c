/*  The browsers' messages: requests decode to their fields, bad input of
    every kind is refused with a reason (and the id when it could be read),
    and each small server message decodes back to the documented fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "wsmsg.h"

//  Decodes a message built from specs; returns the decoder's result.
static int
s_decode (zf_gw_request_t *req, char *why, size_t why_size, const char *buf, size_t size)
{
    return zf_gw_request_decode (buf, size, req, why, why_size);
}

static void
test_action (void **state)
{
    char buf[1024], why[200];
    zf_gw_request_t req;
    size_t size = mp_build (buf, sizeof buf, "t", "s:action", "id", "i:42", "token", "s:tok",
                            "action", "s:retry", "flow", "s:eod", "date", "s:2026-11-24", "task",
                            "s:accrue", "shard", "s:fx", NULL);
    assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
    assert_int_equal (req.type, ZF_GW_REQ_ACTION);
    assert_int_equal (req.id, 42);
    assert_true (req.has_token);
    assert_string_equal (req.token, "tok");
    assert_int_equal (req.action, 1);
    assert_string_equal (req.flow, "eod");
    zf_date_t date;
    zf_date_parse ("2026-11-24", &date);
    assert_int_equal (req.date, date);
    assert_true (req.has_task);
    assert_string_equal (req.task, "accrue");
    assert_true (req.has_shard_key);
    assert_string_equal (req.shard_key, "fx");
    assert_int_equal (req.shard, ZF_SHARD_WHOLE);

    //  Each action by name, the optional fields left out or nil.
    const char *names[] = {"retry", "skip", "cancel", "pause", "resume", "start"};
    for (int i = 0; i < 6; i++) {
        char action[32];
        snprintf (action, sizeof action, "s:%s", names[i]);
        size = mp_build (buf, sizeof buf, "t", "s:action", "id", "i:7", "action", action, "flow",
                         "s:eod", "date", "n", "task", "n", "shard", "i:3", NULL);
        assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
        assert_int_equal (req.action, i + 1);
        assert_string_equal (zf_gw_action_name (req.action), names[i]);
        assert_false (req.has_task);
        assert_false (req.has_token);
        assert_int_equal (req.date, ZF_DATE_NONE);
        assert_int_equal (req.shard, 3);
    }
}

static void
test_reads (void **state)
{
    char buf[1024], why[200];
    zf_gw_request_t req;
    size_t size = mp_build (buf, sizeof buf, "t", "s:shards", "id", "i:1", "flow", "s:eod", "date",
                            "s:2026-11-24", "task", "s:accrue", NULL);
    assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
    assert_int_equal (req.type, ZF_GW_REQ_SHARDS);
    assert_string_equal (req.task, "accrue");

    size = mp_build (buf, sizeof buf, "id", "i:2", "t", "s:logs", "flow", "s:eod", "date", "n",
                     "task", "s:load", "shard", "i:0", "attempt", "i:2", NULL);
    assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
    assert_int_equal (req.type, ZF_GW_REQ_LOGS);
    assert_int_equal (req.id, 2);
    assert_int_equal (req.shard, 0);
    assert_int_equal (req.attempt, 2);

    size = mp_build (buf, sizeof buf, "t", "s:logs", "flow", "s:eod", "task", "s:load", "shard",
                     "n", "attempt", "n", NULL);
    assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
    assert_int_equal (req.id, 0);
    assert_int_equal (req.shard, ZF_SHARD_WHOLE);
    assert_int_equal (req.attempt, 0);

    //  Keys this gateway does not know are skipped, whatever they hold.
    size = mp_build (buf, sizeof buf, "t", "s:history", "id", "i:3", "flow", "s:eod", "extra",
                     "s:whatever", "more", "i:-5", NULL);
    assert_int_equal (s_decode (&req, why, sizeof why, buf, size), 0);
    assert_int_equal (req.type, ZF_GW_REQ_HISTORY);
    assert_string_equal (req.flow, "eod");

    //  An unknown key's value may nest seven arrays deep: with the message
    //  itself, ZF_WIRE_DEPTH levels.
    uint8_t nested[64];
    size_t n = 0;
    const uint8_t head[] = {0x83, 0xa1, 't', 0xa7, 'h', 'i',  's', 't', 'o', 'r',  'y',
                            0xa4, 'f',  'l', 'o',  'w', 0xa3, 'e', 'o', 'd', 0xa1, 'x'};
    memcpy (nested, head, sizeof head);
    n = sizeof head;
    for (int i = 0; i < ZF_WIRE_DEPTH - 1; i++)
        nested[n++] = 0x91;
    nested[n++] = 0x00;
    assert_int_equal (s_decode (&req, why, sizeof why, (const char *)nested, n), 0);
    assert_int_equal (req.type, ZF_GW_REQ_HISTORY);
}

//  One bad input: its bytes, the reason expected (a substring) and the id.
typedef struct {
    const char *name;    //  what it is
    const uint8_t *data; //  bytes
    size_t size;         //  their count
    const char *why;     //  a part of the reason
    uint64_t id;         //  the id the refusal echoes
} s_bad_t;

//  Checks one bad input.
static void
s_check_bad (const s_bad_t *bad)
{
    zf_gw_request_t req;
    char why[200];
    //  An exact-size copy, so that a read past the end is caught.
    uint8_t *copy = malloc (bad->size ? bad->size : 1);
    assert_non_null (copy);
    if (bad->size) memcpy (copy, bad->data, bad->size);
    int rc = zf_gw_request_decode (copy, bad->size, &req, why, sizeof why);
    free (copy);
    if (rc == 0 || !strstr (why, bad->why) || req.id != bad->id)
        fail_msg ("%s: rc=%d why=\"%s\" (want \"%s\") id=%llu (want %llu)", bad->name, rc, why,
                  bad->why, (unsigned long long)req.id, (unsigned long long)bad->id);
}

static void
test_bad_input (void **state)
{
    char buf[200000];
    //  Hand-made bytes.
    static const uint8_t array[] = {0x92, 0x01, 0x02};
    static const uint8_t number[] = {0x05};
    static const uint8_t truncated_map[] = {0x82, 0xa1, 't'};
    static const uint8_t map_lies[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 't'};
    static const uint8_t key_int[] = {0x81, 0x01, 0x02};
    static const uint8_t str_lies[] = {0x81, 0xa1, 't', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t trailing[] = {0x80, 0x00};
    static const uint8_t bad_byte[] = {0x81, 0xa1, 'x', 0xc1};
    static const uint8_t list_lies[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t bin_lies[] = {0x81, 0xa1, 'x', 0xc6, 0x7f, 0xff, 0xff, 0xff};
    static const uint8_t ext_lies[] = {0x81, 0xa1, 'x', 0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01};
    uint8_t deep[64];
    //  {"x": [[[[...]]]]}: nesting past the limit.
    size_t d = 0;
    deep[d++] = 0x81;
    deep[d++] = 0xa1;
    deep[d++] = 'x';
    for (int i = 0; i < 20; i++)
        deep[d++] = 0x91;
    deep[d++] = 0x00;
    s_bad_t table[] = {
        {"empty", (const uint8_t *)"", 0, "empty", 0},
        {"array", array, sizeof array, "expected a map, got an array", 0},
        {"number", number, sizeof number, "expected a map, got an integer", 0},
        {"truncated map", truncated_map, sizeof truncated_map, "input ends early", 0},
        {"map count lies", map_lies, sizeof map_lies, "more than ZF_GW_MAX_KEYS", 0},
        {"key not a string", key_int, sizeof key_int, "key: expected a string", 0},
        {"string length lies", str_lies, sizeof str_lies, "t: input ends early", 0},
        {"bytes after", trailing, sizeof trailing, "bytes after", 0},
        {"reserved byte", bad_byte, sizeof bad_byte, "invalid msgpack byte 0xc1", 0},
        {"list count lies", list_lies, sizeof list_lies, "input ends early", 0},
        {"bin length lies", bin_lies, sizeof bin_lies, "input ends early", 0},
        {"ext length lies", ext_lies, sizeof ext_lies, "input ends early", 0},
        {"too deep", deep, d, "nest deeper than ZF_WIRE_DEPTH", 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        s_check_bad (&table[i]);

    //  Built maps: wrong types, missing fields, unknown type, big strings.
    char big[300];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char big_spec[320];
    snprintf (big_spec, sizeof big_spec, "s:%s", big);
    struct {
        const char *name;
        size_t size;
        const char *why;
        uint64_t id;
    } built[20];
    size_t count = 0;
    char *at = buf;
#define S_BUILT(label, reason, ident, ...)                                                         \
    do {                                                                                           \
        built[count].name = label;                                                                 \
        built[count].size = mp_build (at, 4096, __VA_ARGS__, NULL);                                \
        built[count].why = reason;                                                                 \
        built[count].id = ident;                                                                   \
        count++;                                                                                   \
        at += 4096;                                                                                \
    } while (0)
    S_BUILT ("no t", "t: missing", 5, "id", "i:5", "flow", "s:eod");
    S_BUILT ("t not a string", "t: expected a string, got an integer", 5, "id", "i:5", "t", "i:1");
    S_BUILT ("unknown t", "unknown message type", 9, "t", "s:explode", "id", "i:9");
    S_BUILT ("negative id", "id: value -1 out of range 0..9007199254740991", 0, "t", "s:history",
             "id", "i:-1", "flow", "s:eod");
    S_BUILT ("id too big", "id: value 9007199254740992 out of range", 0, "t", "s:history", "id",
             "i:9007199254740992", "flow", "s:eod");
    S_BUILT ("id a string", "id: expected an integer, got a string", 0, "t", "s:history", "id",
             "s:1", "flow", "s:eod");
    S_BUILT ("flow missing", "flow: missing", 4, "t", "s:history", "id", "i:4");
    S_BUILT ("flow a number", "flow: expected a string, got an integer", 4, "t", "s:history", "id",
             "i:4", "flow", "i:3");
    S_BUILT ("flow too long", "flow: string longer than ZF_MAX_NAME", 4, "t", "s:history", "id",
             "i:4", "flow", big_spec);
    S_BUILT ("bad date", "date: not a date", 4, "t", "s:shards", "id", "i:4", "flow", "s:eod",
             "task", "s:a", "date", "s:2026-13-01");
    S_BUILT ("task missing", "task: missing", 4, "t", "s:shards", "id", "i:4", "flow", "s:eod");
    S_BUILT ("unknown action", "action: not one of", 4, "t", "s:action", "id", "i:4", "flow",
             "s:eod", "action", "s:explode");
    S_BUILT ("shard negative", "shard: value -2 out of range", 4, "t", "s:action", "id", "i:4",
             "flow", "s:eod", "action", "s:retry", "shard", "i:-2");
    S_BUILT ("token a number", "token: expected a string, got an integer", 4, "t", "s:action", "id",
             "i:4", "flow", "s:eod", "action", "s:pause", "token", "i:1");
    S_BUILT ("attempt a string", "attempt: expected an integer, got a string", 4, "t", "s:logs",
             "id", "i:4", "flow", "s:eod", "task", "s:a", "attempt", "s:1");
    S_BUILT ("key twice", "t: given twice", 0, "t", "s:history", "t", "s:history");
    //  A refusal echoes the id even when the bad value came before it.
    S_BUILT ("flow before id", "flow: expected a string, got an integer", 6, "t", "s:history",
             "flow", "i:3", "id", "i:6");
    S_BUILT ("empty flow", "flow: empty string", 6, "t", "s:history", "flow", "s:", "id", "i:6");
#undef S_BUILT
    for (size_t i = 0; i < count; i++) {
        s_bad_t bad = {built[i].name, (const uint8_t *)buf + i * 4096, built[i].size, built[i].why,
                       built[i].id};
        s_check_bad (&bad);
    }

    //  A message over ZF_GW_MAX_MESSAGE_IN is refused before it is read.
    size_t size = mp_build (buf, sizeof buf, "t", "s:history", "flow", "s:eod", NULL);
    zf_gw_request_t req;
    char why[200];
    assert_int_equal (zf_gw_request_decode (buf, ZF_GW_MAX_MESSAGE_IN + 1, &req, why, sizeof why),
                      -1);
    assert_non_null (strstr (why, "ZF_GW_MAX_MESSAGE_IN"));
    assert_int_equal (zf_gw_request_decode (buf, size, &req, why, sizeof why), 0);
}

//  Random bytes, and every prefix of a good message: never a crash, never
//  an accepted request from a cut-off message.
static void
test_random_input (void **state)
{
    char buf[1024], why[200];
    zf_gw_request_t req;
    size_t size = mp_build (buf, sizeof buf, "t", "s:action", "id", "i:42", "token", "s:tok",
                            "action", "s:retry", "flow", "s:eod", "date", "s:2026-11-24", "task",
                            "s:accrue", "shard", "i:2", NULL);
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *copy = malloc (cut ? cut : 1);
        memcpy (copy, buf, cut);
        assert_int_equal (zf_gw_request_decode (copy, cut, &req, why, sizeof why), -1);
        free (copy);
    }
    unsigned seed = 12345;
    uint8_t noise[256];
    for (int round = 0; round < 20000; round++) {
        size_t length = (size_t)(rand_r (&seed) % sizeof noise);
        for (size_t i = 0; i < length; i++)
            noise[i] = (uint8_t)rand_r (&seed);
        //  Start most of them as a map, so the reader gets past the first byte.
        if (length && round % 2) noise[0] = (uint8_t)(0x80 | (noise[0] & 0x0f));
        zf_gw_request_decode (noise, length, &req, why, sizeof why);
        //  Flipping one byte of a good message.
        memcpy (noise, buf, size);
        noise[rand_r (&seed) % size] ^= (uint8_t)(1u << (rand_r (&seed) % 8));
        zf_gw_request_decode (noise, size, &req, why, sizeof why);
    }
}

//  Decodes a frame; fails the test if it is not one map.
static void
s_frame (zf_gw_frame_t *frame, msgpack_unpacked *out)
{
    assert_non_null (frame);
    assert_true (mp_parse (frame->data, frame->size, out));
    assert_int_equal (out->data.type, MSGPACK_OBJECT_MAP);
}

static void
test_server_messages (void **state)
{
    msgpack_unpacked msg;
    zf_gw_frame_t *frame = zf_gw_msg_hello (812, 3, true);
    s_frame (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "version", "seq", "epoch", "read_only_open",
                              "actions_need_token", NULL));
    assert_true (mp_key_is (&msg.data, "t", "hello"));
    assert_int_equal (mp_int (&msg.data, "version", 0), 1);
    assert_int_equal (mp_int (&msg.data, "seq", 0), 812);
    assert_int_equal (mp_int (&msg.data, "epoch", 0), 3);
    assert_true (mp_bool (&msg.data, "read_only_open", false));
    assert_true (mp_bool (&msg.data, "actions_need_token", false));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    frame = zf_gw_msg_reply (9, false, "token required");
    s_frame (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "id", "ok", "message", NULL));
    assert_true (mp_key_is (&msg.data, "t", "reply"));
    assert_int_equal (mp_int (&msg.data, "id", 0), 9);
    assert_false (mp_bool (&msg.data, "ok", true));
    assert_true (mp_key_is (&msg.data, "message", "token required"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    frame = zf_gw_msg_logs (4, "line 1\nline 2\n", 14, true);
    s_frame (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "id", "text", "truncated", NULL));
    assert_true (mp_key_is (&msg.data, "text", "line 1\nline 2\n"));
    assert_true (mp_bool (&msg.data, "truncated", false));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    //  shards and history are packed piece by piece.
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    zf_date_t date;
    zf_date_parse ("2026-11-24", &date);
    zf_gw_msg_shards_begin (&pk, 5, "eod", date, "accrue", 1, 3);
    zf_engine_shard_info_t shard = {.shard = 1,
                                    .key = "fx",
                                    .state = ZF_TS_FAILED,
                                    .attempt = 2,
                                    .started = 10,
                                    .ended = 20,
                                    .executor = "ex1",
                                    .exit_status = 3,
                                    .detail = "boom"};
    zf_gw_msg_shard (&pk, &shard);
    frame = zf_gw_frame_take (&buffer);
    s_frame (frame, &msg);
    assert_true (
        mp_has_keys (&msg.data, "t", "id", "flow", "date", "task", "shards_total", "shards", NULL));
    assert_true (mp_key_is (&msg.data, "date", "2026-11-24"));
    const msgpack_object *shards = mp_get (&msg.data, "shards");
    assert_int_equal (shards->via.array.size, 1);
    const msgpack_object *one = &shards->via.array.ptr[0];
    assert_true (mp_has_keys (one, "shard", "key", "state", "attempt", "started", "ended",
                              "executor", "exit_status", "detail", NULL));
    assert_true (mp_key_is (one, "key", "fx"));
    assert_true (mp_key_is (one, "state", "failed"));
    assert_int_equal (mp_int (one, "exit_status", 0), 3);
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);

    msgpack_sbuffer_init (&buffer);
    zf_gw_msg_history_begin (&pk, 6, "eod", 2);
    zf_engine_run_info_t runs[2] = {{.date = date, .state = ZF_RS_RUNNING, .started = 5},
                                    {.date = date - 1, .state = ZF_RS_SUCCEEDED, .ended = 9}};
    zf_gw_msg_history_run (&pk, &runs[0]);
    zf_gw_msg_history_run (&pk, &runs[1]);
    frame = zf_gw_frame_take (&buffer);
    msgpack_sbuffer_destroy (&buffer);
    s_frame (frame, &msg);
    assert_true (mp_has_keys (&msg.data, "t", "id", "flow", "runs", NULL));
    const msgpack_object *list = mp_get (&msg.data, "runs");
    assert_int_equal (list->via.array.size, 2);
    assert_true (mp_has_keys (&list->via.array.ptr[1], "date", "state", "started", "ended", NULL));
    assert_true (mp_key_is (&list->via.array.ptr[1], "date", "2026-11-23"));
    assert_true (mp_key_is (&list->via.array.ptr[1], "state", "succeeded"));
    msgpack_unpacked_destroy (&msg);
    zf_gw_frame_unref (&frame);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_action),          cmocka_unit_test (test_reads),
        cmocka_unit_test (test_bad_input),       cmocka_unit_test (test_random_input),
        cmocka_unit_test (test_server_messages),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
