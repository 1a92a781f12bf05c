/*  Tests of zf_wire: the bounded reader and the writer every codec uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zf_proto.h"

//  What each test works with.
typedef struct {
    msgpack_sbuffer raw;     //  bodies built by hand with msgpack-c
    msgpack_packer pk;       //  packer over raw
    zf_proto_decoder_t *dec; //  decoder under test
    zf_proto_encoder_t *enc; //  encoder under test
    zf_proto_error_t err;    //  last error
} fixture_t;

static int
setup (void **state)
{
    fixture_t *self = calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    msgpack_sbuffer_init (&self->raw);
    msgpack_packer_init (&self->pk, &self->raw, msgpack_sbuffer_write);
    self->dec = zf_proto_decoder_new ();
    self->enc = zf_proto_encoder_new ();
    assert_non_null (self->dec);
    assert_non_null (self->enc);
    *state = self;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *self = *state;
    msgpack_sbuffer_destroy (&self->raw);
    zf_proto_decoder_destroy (&self->dec);
    zf_proto_decoder_destroy (&self->dec);
    assert_null (self->dec);
    zf_proto_encoder_destroy (&self->enc);
    zf_proto_encoder_destroy (&self->enc);
    assert_null (self->enc);
    free (self);
    return 0;
}

//  Starts a hand-built PING body with fields more values after req_id.
static void
s_start (fixture_t *self, uint32_t fields)
{
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_array (&self->pk, 2 + fields);
    msgpack_pack_uint64 (&self->pk, ZF_PROTO_VERSION);
    msgpack_pack_uint64 (&self->pk, ZF_BODY_PING);
}

//  Opens the hand-built body for reading.
static void
s_open (fixture_t *self, zf_wire_reader_t *r)
{
    assert_int_equal (
        zf_wire_begin (r, self->dec, self->raw.data, self->raw.size, ZF_BODY_PING, &self->err), 0);
}

//  Appends raw bytes to the hand-built body.
static void
s_bytes (fixture_t *self, const void *bytes, size_t size)
{
    msgpack_sbuffer_write (&self->raw, bytes, size);
}

static void
test_integers (void **state)
{
    fixture_t *self = *state;
    const int64_t values[] = {
        0,         1,  127, 128, 255,  256,  65535,  65536,  4294967295LL, 4294967296LL,
        INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,    (int64_t)INT32_MIN - 1,
        INT64_MIN};
    size_t count = sizeof (values) / sizeof (values[0]);
    s_start (self, (uint32_t)count + 1);
    for (size_t i = 0; i < count; i++)
        msgpack_pack_int64 (&self->pk, values[i]);
    msgpack_pack_uint64 (&self->pk, UINT64_MAX);
    zf_wire_reader_t r;
    s_open (self, &r);
    for (size_t i = 0; i < count; i++) {
        int64_t value = 12345;
        assert_int_equal (zf_wire_i64 (&r, "n", &value), 0);
        assert_true (value == values[i]);
    }
    uint64_t big;
    assert_int_equal (zf_wire_u64 (&r, "n", &big), 0);
    assert_true (big == UINT64_MAX);
    assert_int_equal (zf_wire_finish (&r), 0);

    //  Signed formats holding non-negative values, and wide formats holding
    //  small ones, read as the numbers they hold.
    s_start (self, 3);
    const uint8_t odd[] = {0xd0, 0x05, 0xd3, 0, 0, 0, 0, 0, 0, 0,
                           0x07, 0xcf, 0,    0, 0, 0, 0, 0, 0, 9};
    s_bytes (self, odd, sizeof (odd));
    s_open (self, &r);
    uint32_t a, b, c;
    assert_int_equal (zf_wire_u32 (&r, "a", 10, &a), 0);
    assert_int_equal (zf_wire_u32 (&r, "b", 10, &b), 0);
    assert_int_equal (zf_wire_u32 (&r, "c", 10, &c), 0);
    assert_int_equal (a, 5);
    assert_int_equal (b, 7);
    assert_int_equal (c, 9);
    assert_int_equal (zf_wire_finish (&r), 0);
}

static void
test_integer_errors (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    s_start (self, 1);
    msgpack_pack_int64 (&self->pk, 300);
    s_open (self, &r);
    uint8_t small;
    assert_int_equal (zf_wire_enum (&r, "kind", 1, 7, &small), -1);
    assert_string_equal (self->err.text, "kind: unknown value 300 (known: 1..7)");

    s_start (self, 1);
    msgpack_pack_int64 (&self->pk, -5);
    s_open (self, &r);
    uint64_t u;
    assert_int_equal (zf_wire_uint (&r, "seq", 100, &u), -1);
    assert_string_equal (self->err.text, "seq: value -5 out of range 0..100");

    s_start (self, 1);
    msgpack_pack_uint64 (&self->pk, UINT64_MAX);
    s_open (self, &r);
    int64_t i;
    assert_int_equal (zf_wire_i64 (&r, "time", &i), -1);
    assert_string_equal (
        self->err.text,
        "time: value 18446744073709551615 out of range -9223372036854775808..9223372036854775807");

    s_start (self, 1);
    msgpack_pack_double (&self->pk, 1.5);
    s_open (self, &r);
    assert_int_equal (zf_wire_i64 (&r, "time", &i), -1);
    assert_string_equal (self->err.text, "time: expected an integer, got a float");

    //  After a failure every read fails and leaves its output alone.
    i = 77;
    assert_int_equal (zf_wire_i64 (&r, "next", &i), -1);
    assert_int_equal (i, 77);
    assert_true (zf_wire_failed (&r));
    assert_string_equal (self->err.text, "time: expected an integer, got a float");
    assert_int_equal (zf_wire_finish (&r), -1);

    //  A field the body does not have.
    s_start (self, 0);
    s_open (self, &r);
    assert_int_equal (zf_wire_i64 (&r, "req_id", &i), -1);
    assert_string_equal (self->err.text, "req_id: missing");
}

static void
test_strings (void **state)
{
    fixture_t *self = *state;
    char name[ZF_MAX_NAME + 2];
    memset (name, 'n', sizeof (name));
    size_t lengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    size_t count = sizeof (lengths) / sizeof (lengths[0]);
    char *text = malloc (65536);
    assert_non_null (text);
    memset (text, 't', 65536);
    text[3] = 0; //  free text may hold nul bytes
    s_start (self, (uint32_t)count);
    for (size_t i = 0; i < count; i++)
        msgpack_pack_str_with_body (&self->pk, text, lengths[i]);
    zf_wire_reader_t r;
    s_open (self, &r);
    for (size_t i = 0; i < count; i++) {
        const char *out;
        size_t size;
        zf_wire_limit_t limit = {65536, "LIMIT", 0};
        assert_int_equal (zf_wire_str (&r, "text", &limit, false, &out, &size), 0);
        assert_int_equal (size, lengths[i]);
        assert_memory_equal (out, text, size);
        assert_int_equal (out[size], 0);
        assert_true (out < (const char *)self->raw.data ||
                     out >= (const char *)self->raw.data + self->raw.size);
    }
    assert_int_equal (zf_wire_finish (&r), 0);
    free (text);

    //  The limit is inclusive.
    s_start (self, 2);
    msgpack_pack_str_with_body (&self->pk, name, ZF_MAX_NAME);
    msgpack_pack_str_with_body (&self->pk, name, ZF_MAX_NAME + 1);
    s_open (self, &r);
    const char *out;
    assert_int_equal (zf_wire_str (&r, "flow", &zf_wire_name, false, &out, NULL), 0);
    assert_int_equal (strlen (out), ZF_MAX_NAME);
    assert_int_equal (zf_wire_str (&r, "task", &zf_wire_name, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "task: string longer than ZF_MAX_NAME (128)");
}

static void
test_string_errors (void **state)
{
    fixture_t *self = *state;
    const char *out = "unchanged";
    zf_wire_reader_t r;

    s_start (self, 1);
    msgpack_pack_str_with_body (&self->pk, "a\0b", 3);
    s_open (self, &r);
    assert_int_equal (zf_wire_str (&r, "flow", &zf_wire_name, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "flow: string contains a nul byte");
    assert_string_equal (out, "unchanged");

    s_start (self, 1);
    msgpack_pack_str_with_body (&self->pk, "", 0);
    s_open (self, &r);
    assert_int_equal (zf_wire_str (&r, "flow", &zf_wire_name, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "flow: empty string");

    s_start (self, 2);
    msgpack_pack_nil (&self->pk);
    msgpack_pack_nil (&self->pk);
    s_open (self, &r);
    assert_int_equal (zf_wire_str (&r, "task", &zf_wire_name, true, &out, NULL), 0);
    assert_null (out);
    assert_int_equal (zf_wire_str (&r, "flow", &zf_wire_name, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "flow: expected a string, got nil");

    s_start (self, 1);
    msgpack_pack_bin_with_body (&self->pk, "ab", 2);
    s_open (self, &r);
    assert_int_equal (zf_wire_str (&r, "flow", &zf_wire_name, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "flow: expected a string, got binary data");

    //  A string header that claims more bytes than there are.
    s_start (self, 1);
    const uint8_t lie[] = {0xdb, 0x00, 0x00, 0x10, 0x00, 'a', 'b'};
    s_bytes (self, lie, sizeof (lie));
    s_open (self, &r);
    assert_int_equal (zf_wire_str (&r, "detail", &zf_wire_text, false, &out, NULL), -1);
    assert_string_equal (self->err.text, "detail: input ends early");

    s_start (self, 2);
    msgpack_pack_str_with_body (&self->pk, "PATH=/bin", 9);
    msgpack_pack_str_with_body (&self->pk, "=x", 2);
    s_open (self, &r);
    assert_int_equal (zf_wire_env_entry (&r, "env", &out), 0);
    assert_string_equal (out, "PATH=/bin");
    assert_int_equal (zf_wire_env_entry (&r, "env", &out), -1);
    assert_string_equal (self->err.text, "env: not KEY=VALUE");
}

static void
test_dates_and_bools (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    s_start (self, 5);
    msgpack_pack_nil (&self->pk);
    msgpack_pack_int64 (&self->pk, ZF_PROTO_LAST_DATE);
    msgpack_pack_true (&self->pk);
    msgpack_pack_int64 (&self->pk, 1);
    msgpack_pack_int64 (&self->pk, ZF_PROTO_LAST_DATE + 1);
    s_open (self, &r);
    zf_date_t date;
    bool flag;
    assert_int_equal (zf_wire_date (&r, "date", true, &date), 0);
    assert_int_equal (date, ZF_DATE_NONE);
    assert_int_equal (zf_wire_date (&r, "date", false, &date), 0);
    assert_int_equal (date, ZF_PROTO_LAST_DATE);
    assert_int_equal (zf_wire_bool (&r, "paused", &flag), 0);
    assert_true (flag);
    assert_int_equal (zf_wire_bool (&r, "paused", &flag), -1);
    assert_string_equal (self->err.text, "paused: expected a boolean, got an integer");

    s_start (self, 1);
    msgpack_pack_int64 (&self->pk, ZF_PROTO_LAST_DATE + 1);
    s_open (self, &r);
    assert_int_equal (zf_wire_date (&r, "date", true, &date), -1);
    assert_string_equal (self->err.text, "date: value 2932897 out of range 0..2932896");

    s_start (self, 1);
    msgpack_pack_nil (&self->pk);
    s_open (self, &r);
    assert_int_equal (zf_wire_date (&r, "date", false, &date), -1);
    assert_string_equal (self->err.text, "date: expected an integer, got nil");
}

static void
test_lists (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    uint32_t count;

    //  Elements are named by index in errors.
    s_start (self, 1);
    msgpack_pack_array (&self->pk, 3);
    msgpack_pack_str_with_body (&self->pk, "a", 1);
    msgpack_pack_str_with_body (&self->pk, "b", 1);
    msgpack_pack_int64 (&self->pk, 3);
    s_open (self, &r);
    assert_int_equal (zf_wire_list (&r, "services", ZF_WIRE_MAX (ZF_MAX_BATCH), 1, &count), 0);
    assert_int_equal (count, 3);
    const char *names[3] = {NULL, NULL, NULL};
    for (uint32_t i = 0; i < count; i++) {
        zf_wire_next (&r, i);
        zf_wire_str (&r, NULL, &zf_wire_name, false, &names[i], NULL);
    }
    assert_string_equal (names[1], "b");
    assert_null (names[2]);
    assert_string_equal (self->err.text, "services[2]: expected a string, got an integer");

    //  Over the named limit.
    s_start (self, 1);
    msgpack_pack_array (&self->pk, ZF_MAX_ENV + 1);
    for (int i = 0; i <= ZF_MAX_ENV; i++)
        msgpack_pack_str_with_body (&self->pk, "A=1", 3);
    s_open (self, &r);
    assert_int_equal (zf_wire_list (&r, "env", ZF_WIRE_MAX (ZF_MAX_ENV), 3, &count), -1);
    assert_string_equal (self->err.text, "env: 65 elements, more than ZF_MAX_ENV (64)");

    //  Five bytes that announce four billion elements allocate nothing.
    s_start (self, 1);
    const uint8_t bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    s_bytes (self, bomb, sizeof (bomb));
    s_open (self, &r);
    assert_int_equal (zf_wire_list (&r, "event", UINT32_MAX, "UINT32_MAX", 1, &count), -1);
    assert_string_equal (self->err.text, "event: input ends early (4294967295 elements announced)");
    assert_true (zf_proto_decoder_capacity (self->dec) <= 64 * 1024);

    //  The minimum size of an element is enforced too.
    s_start (self, 1);
    msgpack_pack_array (&self->pk, 4);
    for (int i = 0; i < 4; i++)
        msgpack_pack_nil (&self->pk);
    s_open (self, &r);
    assert_int_equal (zf_wire_list (&r, "result", ZF_WIRE_MAX (ZF_MAX_BATCH), 2, &count), -1);
    assert_string_equal (self->err.text, "result: input ends early (4 elements announced)");

    //  nil for an optional list.
    s_start (self, 1);
    msgpack_pack_nil (&self->pk);
    s_open (self, &r);
    bool present = true;
    assert_int_equal (
        zf_wire_list_opt (&r, "keys", ZF_WIRE_MAX (ZF_MAX_BATCH), 1, &count, &present), 0);
    assert_false (present);
    assert_int_equal (count, 0);
    assert_int_equal (zf_wire_finish (&r), 0);
}

static void
test_records_skip_extra_fields (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    //  A record of two known fields followed by every kind of value a later
    //  version could add, nested.
    s_start (self, 2);
    msgpack_pack_array (&self->pk, 8);
    msgpack_pack_int64 (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "x", 1);
    msgpack_pack_map (&self->pk, 2);
    msgpack_pack_str_with_body (&self->pk, "k", 1);
    msgpack_pack_array (&self->pk, 2);
    msgpack_pack_double (&self->pk, 2.5);
    msgpack_pack_float (&self->pk, 1.5f);
    msgpack_pack_int64 (&self->pk, -100000);
    msgpack_pack_bin_with_body (&self->pk, "\x01\x02", 2);
    msgpack_pack_ext_with_body (&self->pk, "\x01\x02\x03\x04", 4, 7);
    msgpack_pack_ext_with_body (&self->pk, "\x01\x02\x03", 3, 9);
    msgpack_pack_false (&self->pk);
    msgpack_pack_nil (&self->pk);
    msgpack_pack_map (&self->pk, 0);
    msgpack_pack_int64 (&self->pk, 42);
    s_open (self, &r);
    assert_int_equal (zf_wire_record (&r, "head"), 0);
    int64_t one;
    const char *x;
    assert_int_equal (zf_wire_i64 (&r, "one", &one), 0);
    assert_int_equal (zf_wire_str (&r, "x", &zf_wire_name, false, &x, NULL), 0);
    assert_int_equal (zf_wire_close (&r), 0);
    int64_t last;
    assert_int_equal (zf_wire_i64 (&r, "last", &last), 0);
    assert_int_equal (last, 42);
    assert_int_equal (zf_wire_finish (&r), 0);

    //  Deep nesting in an extra field is skipped without recursion.
    s_start (self, 1);
    for (int i = 0; i < 100000; i++)
        msgpack_pack_array (&self->pk, 1);
    msgpack_pack_nil (&self->pk);
    s_open (self, &r);
    assert_int_equal (zf_wire_finish (&r), 0);

    //  An extra field that lies about its size.
    s_start (self, 1);
    const uint8_t lie[] = {0xdf, 0x10, 0x00, 0x00, 0x00, 0x01};
    s_bytes (self, lie, sizeof (lie));
    s_open (self, &r);
    assert_int_equal (zf_wire_finish (&r), -1);
    assert_string_equal (self->err.text, "input ends early");

    s_start (self, 1);
    const uint8_t invalid[] = {0xc1};
    s_bytes (self, invalid, sizeof (invalid));
    s_open (self, &r);
    assert_int_equal (zf_wire_finish (&r), -1);
    assert_string_equal (self->err.text, "invalid msgpack byte 0xc1");
}

static void
test_body_checks (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    int type = 0;

    s_start (self, 1);
    msgpack_pack_int64 (&self->pk, 7);
    assert_int_equal (zf_proto_peek (self->raw.data, self->raw.size, &type, &self->err), 0);
    assert_int_equal (type, ZF_BODY_PING);
    assert_int_equal (
        zf_wire_begin (&r, self->dec, self->raw.data, self->raw.size, ZF_BODY_RESULTS, &self->err),
        -1);
    assert_string_equal (self->err.text, "type: body is PING, expected RESULTS");

    assert_int_equal (zf_proto_peek ("", 0, &type, &self->err), -1);
    assert_string_equal (self->err.text, "input ends early");
    assert_int_equal (zf_proto_peek ("\x91\x01", 2, &type, &self->err), -1);
    assert_string_equal (self->err.text, "type: missing");
    assert_int_equal (zf_proto_peek ("\x92\x01\x00", 3, &type, &self->err), -1);
    assert_string_equal (self->err.text, "type: unknown body type 0");
    assert_int_equal (zf_proto_peek ("\x92\x00\x01", 3, &type, &self->err), -1);
    assert_string_equal (self->err.text, "version: version 0 not supported (this is 1)");

    //  Bodies over the frame limit are refused before a byte is read.
    size_t huge = (size_t)ZF_MAX_FRAME_SIZE + 1;
    uint8_t *big = calloc (1, huge);
    assert_non_null (big);
    big[0] = 0x92;
    assert_int_equal (zf_proto_peek (big, huge, &type, &self->err), -1);
    assert_string_equal (self->err.text,
                         "body of 16777217 bytes exceeds ZF_MAX_FRAME_SIZE (16777216)");
    free (big);

    assert_string_equal (zf_body_type_name (ZF_BODY_HELLO_REPLY), "HELLO_REPLY");
    assert_string_equal (zf_body_type_name (2), "?");
}

static void
test_writer (void **state)
{
    fixture_t *self = *state;
    zf_wire_writer_t w;
    char name[ZF_MAX_NAME + 1];
    memset (name, 'n', sizeof (name));

    //  An identifier over its limit fails, with the element named.
    zf_wire_wbegin (&w, self->enc, ZF_BODY_PING, 1, &self->err);
    zf_wire_witem (&w, "result", 3);
    zf_wire_put_str (&w, "task", &zf_wire_name, false, name, sizeof (name));
    assert_int_equal (zf_wire_wfinish (&w), -1);
    assert_string_equal (self->err.text, "result[3].task: string longer than ZF_MAX_NAME (128)");
    assert_int_equal (zf_proto_encoder_size (self->enc), 0);

    zf_wire_wbegin (&w, self->enc, ZF_BODY_PING, 1, &self->err);
    zf_wire_put_str (&w, "flow", &zf_wire_name, false, NULL, 0);
    assert_int_equal (zf_wire_wfinish (&w), -1);
    assert_string_equal (self->err.text, "flow: missing");

    zf_wire_wbegin (&w, self->enc, ZF_BODY_PING, 1, &self->err);
    assert_false (zf_wire_check (&w, "state", 11, 0, 10));
    assert_int_equal (zf_wire_wfinish (&w), -1);
    assert_string_equal (self->err.text, "state: value 11 out of range 0..10");

    //  Free text is cut at the limit, before a character that crosses it.
    size_t size = ZF_MAX_TEXT + 10;
    char *text = malloc (size);
    assert_non_null (text);
    memset (text, 'a', size);
    text[ZF_MAX_TEXT - 1] = (char)0xc3; //  "é" as its two bytes, split by the limit
    text[ZF_MAX_TEXT] = (char)0xa9;
    zf_wire_wbegin (&w, self->enc, ZF_BODY_PING, 1, &self->err);
    zf_wire_put_str (&w, "log_tail", &zf_wire_text, false, text, size);
    assert_int_equal (zf_wire_wfinish (&w), 0);
    zf_wire_reader_t r;
    assert_int_equal (zf_wire_begin (&r, self->dec, zf_proto_encoder_data (self->enc),
                                     zf_proto_encoder_size (self->enc), ZF_BODY_PING, &self->err),
                      0);
    const char *out;
    size_t out_size;
    assert_int_equal (zf_wire_str (&r, "log_tail", &zf_wire_text, false, &out, &out_size), 0);
    assert_int_equal (out_size, ZF_MAX_TEXT - 1);
    assert_memory_equal (out, text, out_size);
    assert_int_equal (zf_wire_finish (&r), 0);
    free (text);

    zf_wire_wbegin (&w, self->enc, ZF_BODY_PING, 1, &self->err);
    zf_wire_put_list (&w, "event", ZF_MAX_BATCH + 1, ZF_WIRE_MAX (ZF_MAX_BATCH));
    assert_int_equal (zf_wire_wfinish (&w), -1);
    assert_string_equal (self->err.text, "event: 4097 elements, more than ZF_MAX_BATCH (4096)");
}

static void
test_memory_reuse (void **state)
{
    fixture_t *self = *state;
    zf_event_t events[200];
    memset (events, 0, sizeof (events));
    for (int i = 0; i < 200; i++) {
        events[i].seq = (uint64_t)i + 1;
        events[i].kind = ZF_EV_TASK;
        events[i].flow = "eod";
        events[i].task = "load_prices";
        events[i].detail = "a detail long enough to need some room in the arena";
        events[i].shard = ZF_SHARD_WHOLE;
    }
    assert_int_equal (zf_event_encode (self->enc, events, 200, &self->err), 0);
    const void *data = zf_proto_encoder_data (self->enc);
    size_t capacity = 0;
    for (int round = 0; round < 50; round++) {
        assert_int_equal (zf_event_encode (self->enc, events, 200, &self->err), 0);
        //  The encoder writes into the same buffer every time.
        assert_ptr_equal (zf_proto_encoder_data (self->enc), data);
        const zf_event_t *out;
        size_t count;
        assert_int_equal (zf_event_decode (self->dec, data, zf_proto_encoder_size (self->enc), &out,
                                           &count, &self->err),
                          0);
        assert_int_equal (count, 200);
        //  After the second decode the decoder has settled on one chunk.
        if (round == 1) capacity = zf_proto_decoder_capacity (self->dec);
        if (round > 1) assert_int_equal (zf_proto_decoder_capacity (self->dec), capacity);
    }
    assert_true (capacity > 0);
}

//  Opens the hand-built bytes as a map.
static int
s_open_map (fixture_t *self, zf_wire_reader_t *r, uint32_t *count)
{
    return zf_wire_begin_map (r, self->dec, self->raw.data, self->raw.size, 4, "FOUR", count,
                              &self->err);
}

static void
test_maps (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    uint32_t count;
    //  {"name": "eod", "skip": [1, {"a": nil}], "kind": "b", "n": 7}, read
    //  out of order through copies of the reader.
    static const char *const kinds[] = {"a", "b", "c"};
    static const char *const keys[] = {"name", "kind", "n"};
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 4);
    msgpack_pack_str_with_body (&self->pk, "name", 4);
    msgpack_pack_str_with_body (&self->pk, "eod", 3);
    msgpack_pack_str_with_body (&self->pk, "skip", 4);
    msgpack_pack_array (&self->pk, 2);
    msgpack_pack_int64 (&self->pk, 1);
    msgpack_pack_map (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "a", 1);
    msgpack_pack_nil (&self->pk);
    msgpack_pack_str_with_body (&self->pk, "kind", 4);
    msgpack_pack_str_with_body (&self->pk, "b", 1);
    msgpack_pack_str_with_body (&self->pk, "n", 1);
    msgpack_pack_int64 (&self->pk, 7);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (count, 4);
    zf_wire_reader_t at[3];
    for (uint32_t i = 0; i < count; i++) {
        int key;
        assert_int_equal (zf_wire_choice (&r, "key", keys, 3, &key), 0);
        if (key >= 0) at[key] = r;
        assert_int_equal (zf_wire_skip (&r, NULL), 0);
    }
    assert_int_equal (zf_wire_finish (&r), 0);
    uint64_t n;
    assert_int_equal (zf_wire_uint (&at[2], "n", 10, &n), 0);
    assert_int_equal (n, 7);
    int kind;
    assert_true (zf_wire_peek_str (&at[1]));
    assert_int_equal (zf_wire_choice (&at[1], "kind", kinds, 3, &kind), 0);
    assert_int_equal (kind, 1);
    char name[ZF_MAX_NAME + 1];
    assert_false (zf_wire_peek_nil (&at[0]));
    assert_int_equal (zf_wire_str_into (&at[0], "name", &zf_wire_name, name, sizeof name), 0);
    assert_string_equal (name, "eod");
    //  A copy reads on from where it stood, with the same checks: after
    //  the value of "kind" comes the key "n".
    assert_int_equal (zf_wire_uint (&at[1], "n", 10, &n), -1);
    assert_string_equal (self->err.text, "n: expected an integer, got a string");

    //  A string that is none of the names, and one that is not a string.
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 2);
    msgpack_pack_str_with_body (&self->pk, "kinds", 5);
    msgpack_pack_int64 (&self->pk, 1);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    int key;
    assert_int_equal (zf_wire_choice (&r, "key", keys, 3, &key), 0);
    assert_int_equal (key, -1);
    assert_false (zf_wire_peek_str (&r));
    assert_int_equal (zf_wire_choice (&r, "kind", kinds, 3, &key), -1);
    assert_string_equal (self->err.text, "kind: expected a string, got an integer");

    //  Not a map; too many entries; fewer bytes than the entries need.
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_array (&self->pk, 0);
    assert_int_equal (s_open_map (self, &r, &count), -1);
    assert_string_equal (self->err.text, "expected a map, got an array");
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 5);
    assert_int_equal (s_open_map (self, &r, &count), -1);
    assert_string_equal (self->err.text, "5 entries, more than FOUR (4)");
    msgpack_sbuffer_clear (&self->raw);
    const uint8_t short_map[] = {0x83, 0xa1, 'a', 0x01, 0xa1};
    s_bytes (self, short_map, sizeof short_map);
    assert_int_equal (s_open_map (self, &r, &count), -1);
    assert_string_equal (self->err.text, "input ends early (3 entries announced)");

    //  A string too long for its limit is refused, not cut.
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "name", 4);
    char long_name[ZF_MAX_NAME + 1];
    memset (long_name, 'x', sizeof long_name);
    msgpack_pack_str_with_body (&self->pk, long_name, sizeof long_name);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (zf_wire_choice (&r, "key", keys, 3, &key), 0);
    assert_int_equal (zf_wire_str_into (&r, "name", &zf_wire_name, name, sizeof name), -1);
    assert_string_equal (self->err.text, "name: string longer than ZF_MAX_NAME (128)");
}

//  Builds {"x": value} where value is depth arrays nested around nil.
static void
s_nested (fixture_t *self, int depth)
{
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "x", 1);
    for (int i = 0; i < depth; i++)
        msgpack_pack_array (&self->pk, 1);
    msgpack_pack_nil (&self->pk);
}

static void
test_skip_depth (void **state)
{
    fixture_t *self = *state;
    zf_wire_reader_t r;
    uint32_t count;
    int key;
    static const char *const keys[] = {"x"};
    //  The map is one level: seven more fit in ZF_WIRE_DEPTH, eight do not.
    s_nested (self, ZF_WIRE_DEPTH - 1);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (zf_wire_choice (&r, "key", keys, 1, &key), 0);
    assert_int_equal (zf_wire_skip (&r, "x"), 0);
    assert_int_equal (zf_wire_finish (&r), 0);
    s_nested (self, ZF_WIRE_DEPTH);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (zf_wire_choice (&r, "key", keys, 1, &key), 0);
    assert_int_equal (zf_wire_skip (&r, "x"), -1);
    assert_string_equal (self->err.text, "x: values nest deeper than ZF_WIRE_DEPTH (8)");

    //  Siblings after a nested value are skipped too: {"x": [[1], {"a": 2}, 3]}.
    msgpack_sbuffer_clear (&self->raw);
    msgpack_pack_map (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "x", 1);
    msgpack_pack_array (&self->pk, 3);
    msgpack_pack_array (&self->pk, 1);
    msgpack_pack_int64 (&self->pk, 1);
    msgpack_pack_map (&self->pk, 1);
    msgpack_pack_str_with_body (&self->pk, "a", 1);
    msgpack_pack_int64 (&self->pk, 2);
    msgpack_pack_int64 (&self->pk, 3);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (zf_wire_choice (&r, "key", keys, 1, &key), 0);
    assert_int_equal (zf_wire_skip (&r, "x"), 0);
    assert_int_equal (zf_wire_finish (&r), 0);

    //  A skipped value that claims more than the input holds.
    msgpack_sbuffer_clear (&self->raw);
    const uint8_t lie[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff};
    s_bytes (self, lie, sizeof lie);
    assert_int_equal (s_open_map (self, &r, &count), 0);
    assert_int_equal (zf_wire_choice (&r, "key", keys, 1, &key), 0);
    assert_int_equal (zf_wire_skip (&r, "x"), -1);
    assert_string_equal (self->err.text, "x: input ends early");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_integers, setup, teardown),
        cmocka_unit_test_setup_teardown (test_integer_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown (test_string_errors, setup, teardown),
        cmocka_unit_test_setup_teardown (test_dates_and_bools, setup, teardown),
        cmocka_unit_test_setup_teardown (test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown (test_records_skip_extra_fields, setup, teardown),
        cmocka_unit_test_setup_teardown (test_body_checks, setup, teardown),
        cmocka_unit_test_setup_teardown (test_writer, setup, teardown),
        cmocka_unit_test_setup_teardown (test_memory_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown (test_maps, setup, teardown),
        cmocka_unit_test_setup_teardown (test_skip_depth, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
