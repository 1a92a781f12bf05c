/*  zf_wire.h - the body format every zflow message shares, and the bounded
    msgpack reader and writer that all codecs use.

    A body is one msgpack array: [version, type, field, field, ...]. Fields are
    positional. A decoder accepts and skips fields after the ones it knows
    (later versions of zflow add fields only at the end) and rejects a body
    that lacks one it needs, has a wrong type in any position, a string or
    array over its named limit, an enum value out of range, another version or
    an unknown type. docs/PROTOCOL.md lists every body.

    Encoding goes through msgpack-c's packer into a zf_proto_encoder_t, whose
    buffer is kept between messages. Decoding does not use msgpack-c's
    unpacker: that one trusts the lengths it reads and allocates for an array
    header before it has seen the elements, so five hostile bytes can ask for
    gigabytes. The reader here walks the bytes with a cursor and checks every
    length against the bytes that are left and against the field's limit
    before it touches or allocates anything.

    Decoded strings are copied, nul-terminated, into the zf_proto_decoder_t
    the caller passes, together with the arrays of decoded items. They stay
    valid until the next decode with the same decoder, or its destruction;
    nothing points into the input buffer, which the caller may free at once.
    A decoder reuses its memory, so a steady stream of messages costs no
    allocation per message once it has seen the largest one.

    The reader and writer functions further down are for the codec files of
    this library, and for the one other msgpack format zflow reads: the
    browser's WebSocket messages, a map of named fields (services/gateway/
    wsmsg.c), read with zf_wire_begin_map. Services otherwise use the
    encode and decode functions of each codec.
*/
#ifndef ZF_WIRE_H_INCLUDED
#define ZF_WIRE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include <czmq.h>
#include "zf_limits.h"
#include "zf_time.h"

//  The version in every body; a decoder refuses any other.
#define ZF_PROTO_VERSION 1

//  A date field that is absent ("today", "the latest run"). Real dates are
//  0 (1970-01-01) to ZF_PROTO_LAST_DATE (9999-12-31).
#define ZF_DATE_NONE       (-1)
#define ZF_PROTO_LAST_DATE 2932896

//  How deep a body nests (body, list, item, list, item, list), and a map
//  with the values zf_wire_skip passes over.
#define ZF_WIRE_DEPTH 8

//  Every body type of every protocol, one number space.
typedef enum {
    ZF_BODY_EVENTS = 1, //  registry events (PUB)
    //  Registry requests (client -> registry)
    ZF_BODY_SUBMIT = 10,
    ZF_BODY_VALIDATE = 11,
    ZF_BODY_START = 12,
    ZF_BODY_STATUS = 13,
    ZF_BODY_ACTION = 14,
    ZF_BODY_SNAPSHOT = 15,
    ZF_BODY_EVENTS_SINCE = 16,
    ZF_BODY_LOGS = 17,
    ZF_BODY_ARCHIVED = 18,
    ZF_BODY_PING = 19,
    //  Registry replies (registry -> client)
    ZF_BODY_OK = 30,
    ZF_BODY_ERROR = 31,
    ZF_BODY_STATUS_REPLY = 32,
    ZF_BODY_EVENTS_REPLY = 33,
    ZF_BODY_LOGS_REPLY = 34,
    //  Dispatch (registry <-> dispatcher <-> executors)
    ZF_BODY_DISPATCH = 50,
    ZF_BODY_JOBS = 51,
    ZF_BODY_RESULTS = 52,
    ZF_BODY_ACK = 53,
    ZF_BODY_CANCEL = 54,
    ZF_BODY_WORKER_READY = 55,
    ZF_BODY_HELLO = 56,
    ZF_BODY_HELLO_REPLY = 57,
    ZF_BODY_REFUSED = 58,
    //  Monitoring and failover
    ZF_BODY_DISP_EVENTS = 70,
    ZF_BODY_BSTAR = 80
} zf_body_type_t;

//  Why a decoder refused its input (or an encoder its struct).
typedef struct {
    char text[160]; //  "result[3].task: string longer than ZF_MAX_NAME (128)"
} zf_proto_error_t;

//  Memory that decoded messages live in; see the lifetime rule above.
typedef struct _zf_proto_decoder_t zf_proto_decoder_t;

//  A reusable output buffer for encoders.
typedef struct _zf_proto_encoder_t zf_proto_encoder_t;

//  Creates a decoder; NULL if out of memory.
zf_proto_decoder_t *zf_proto_decoder_new (void);

//  Destroys a decoder and everything decoded into it; idempotent.
void zf_proto_decoder_destroy (zf_proto_decoder_t **self_p);

//  Bytes the decoder holds now (for memory accounting and tests).
size_t zf_proto_decoder_capacity (zf_proto_decoder_t *self);

//  Creates an encoder; NULL if out of memory.
zf_proto_encoder_t *zf_proto_encoder_new (void);

//  Destroys an encoder; idempotent.
void zf_proto_encoder_destroy (zf_proto_encoder_t **self_p);

//  The last body encoded (valid until the next encode).
const void *zf_proto_encoder_data (zf_proto_encoder_t *self);
size_t zf_proto_encoder_size (zf_proto_encoder_t *self);

//  A new frame holding a copy of the last body encoded; NULL if out of memory.
zframe_t *zf_proto_encoder_frame (zf_proto_encoder_t *self);

//  Reads only the version and type of a body, so a receiver can route it to
//  the right decoder. Returns 0 and sets *type, or -1 with the reason.
int zf_proto_peek (const void *data, size_t size, int *type, zf_proto_error_t *err);

//  "EVENTS", "SUBMIT"...; "?" for an unknown type.
const char *zf_body_type_name (int type);

//  ---------------------------------------------------------------------------
//  For codecs: limits, the reader and the writer.

//  A named bound on a string field. A decoder refuses a longer string; an
//  encoder refuses it too, or for free text (ZF_WIRE_TRUNCATE) cuts it at
//  the limit on a UTF-8 character boundary, since a peer would drop a whole
//  batch for one over-long log tail.
typedef struct {
    size_t max;       //  bytes, without the terminating nul
    const char *name; //  "ZF_MAX_NAME", for messages
    int flags;        //  ZF_WIRE_* below
} zf_wire_limit_t;

#define ZF_WIRE_NO_NUL   1 //  an identifier: no nul bytes inside
#define ZF_WIRE_NONEMPTY 2 //  not ""
#define ZF_WIRE_TRUNCATE 4 //  free text: encoders cut it to the limit

extern const zf_wire_limit_t zf_wire_name;      //  flow, task, service, executor
extern const zf_wire_limit_t zf_wire_shard_key; //  a shard key
extern const zf_wire_limit_t zf_wire_command;   //  a run: or rollback: command, a cwd
extern const zf_wire_limit_t zf_wire_text;      //  free text: errors, log tails, details
extern const zf_wire_limit_t zf_wire_env;       //  one KEY=VALUE environment entry
extern const zf_wire_limit_t zf_wire_path;      //  a file path
extern const zf_wire_limit_t zf_wire_flow_text; //  a flow file's text
extern const zf_wire_limit_t zf_wire_log_text;  //  a LOGS reply's text

//  One open array while reading or writing, for error paths like
//  "order[2].shard_keys[5]".
typedef struct {
    const char *name; //  the field holding this array, or NULL
    int64_t index;    //  element being read in a list, or -1
    uint32_t left;    //  values of this array not yet read
    bool record;      //  fields by position (else a list of elements)
} zf_wire_level_t;

//  A cursor over one body being decoded. After the first failure every call
//  fails and leaves its output untouched, so a codec may read a run of fields
//  and check once. A reader is a plain value: a copy taken before a value
//  reads that value again later, so the fields of a map can be read in the
//  order the receiver needs rather than the order they came in.
typedef struct {
    const uint8_t *pos;                   //  next byte to read
    const uint8_t *end;                   //  one past the last byte
    zf_proto_decoder_t *dec;              //  where strings and arrays go
    zf_proto_error_t *err;                //  where the first failure is described
    bool failed;                          //  a read has failed
    int type;                             //  the body's type, once read
    int depth;                            //  open arrays in level
    zf_wire_level_t level[ZF_WIRE_DEPTH]; //  open arrays, outermost first
} zf_wire_reader_t;

//  Starts reading a body of the given type (0: any known type, then see
//  r->type): resets the decoder, checks the size against ZF_MAX_FRAME_SIZE,
//  opens the top array, checks version and type. Returns 0 or -1.
int zf_wire_begin (zf_wire_reader_t *r, zf_proto_decoder_t *dec, const void *data, size_t size,
                   int type, zf_proto_error_t *err);

//  Starts reading input that is one msgpack map of at most max entries
//  (use ZF_WIRE_MAX), not a body: resets the decoder, checks the size
//  against ZF_MAX_FRAME_SIZE, opens the map and sets *count. Read each entry
//  as two values, its key then its value, and end with zf_wire_finish.
//  Returns 0 or -1.
int zf_wire_begin_map (zf_wire_reader_t *r, zf_proto_decoder_t *dec, const void *data, size_t size,
                       uint32_t max, const char *max_name, uint32_t *count, zf_proto_error_t *err);

//  Ends the body: skips trailing fields, refuses bytes after the body.
//  Returns 0 if every read succeeded, else -1.
int zf_wire_finish (zf_wire_reader_t *r);

//  True once a read has failed.
bool zf_wire_failed (zf_wire_reader_t *r);

//  Records the first failure, with the current path and the field's name.
void zf_wire_fail (zf_wire_reader_t *r, const char *field, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Reads the next value as a field (of a record) or element (of a list).
//  Ranges are inclusive; field is the name used in errors (NULL in lists).
int zf_wire_uint (zf_wire_reader_t *r, const char *field, uint64_t max, uint64_t *out);
int zf_wire_int (zf_wire_reader_t *r, const char *field, int64_t min, int64_t max, int64_t *out);
int zf_wire_u64 (zf_wire_reader_t *r, const char *field, uint64_t *out);
int zf_wire_u32 (zf_wire_reader_t *r, const char *field, uint32_t max, uint32_t *out);
int zf_wire_i32 (zf_wire_reader_t *r, const char *field, int32_t min, int32_t max, int32_t *out);
int zf_wire_i64 (zf_wire_reader_t *r, const char *field, int64_t *out);
int zf_wire_enum (zf_wire_reader_t *r, const char *field, unsigned min, unsigned max, uint8_t *out);
int zf_wire_bool (zf_wire_reader_t *r, const char *field, bool *out);

//  A date, 0..ZF_PROTO_LAST_DATE; with allow_none, nil reads as ZF_DATE_NONE.
int zf_wire_date (zf_wire_reader_t *r, const char *field, bool allow_none, zf_date_t *out);

//  A string within the limit, copied into the decoder with a nul. With
//  nullable, nil reads as NULL. size_out, if not NULL, gets the length.
int zf_wire_str (zf_wire_reader_t *r, const char *field, const zf_wire_limit_t *limit,
                 bool nullable, const char **out, size_t *size_out);

//  A string within the limit copied with a nul into buf, which has room
//  for more than limit->max bytes (for a receiver that keeps its own copy).
int zf_wire_str_into (zf_wire_reader_t *r, const char *field, const zf_wire_limit_t *limit,
                      char *buf, size_t buf_size);

//  A string of any length that is one of count names: *index is its place
//  among them, or -1 if it is none of them (the caller says whether that
//  is an error). Nothing is copied.
int zf_wire_choice (zf_wire_reader_t *r, const char *field, const char *const *names, int count,
                    int *index);

//  An environment entry: a string "KEY=VALUE" with a non-empty KEY.
int zf_wire_env_entry (zf_wire_reader_t *r, const char *field, const char **out);

//  True if the next value is nil (without consuming it).
bool zf_wire_peek_nil (zf_wire_reader_t *r);

//  True if the array open now has values not yet read (an optional field
//  a newer sender added at the end).
bool zf_wire_more (zf_wire_reader_t *r);

//  True if the next value is a string (without consuming it).
bool zf_wire_peek_str (zf_wire_reader_t *r);

//  Skips the next value whole (a map's value the receiver does not read).
//  Arrays and maps inside it count against ZF_WIRE_DEPTH with the ones
//  already open: a value nested deeper is refused. (Fields after a body's
//  known ones are skipped whatever their nesting: a later version may add
//  any.)
int zf_wire_skip (zf_wire_reader_t *r, const char *field);

//  Consumes a nil.
int zf_wire_nil (zf_wire_reader_t *r, const char *field);

//  A list limit and its name for messages: ZF_WIRE_MAX (ZF_MAX_BATCH).
#define ZF_WIRE_MAX(limit) (limit), #limit

//  Opens a list field of at most max elements, each taking at least
//  min_bytes of input (so a short input cannot claim a huge count).
//  Sets *count. Read each element after zf_wire_next, then zf_wire_close.
int zf_wire_list (zf_wire_reader_t *r, const char *field, uint32_t max, const char *max_name,
                  uint32_t min_bytes, uint32_t *count);

//  Like zf_wire_list, but nil reads as no list: *count = 0, *present = false,
//  and nothing to close. Otherwise *present = true.
int zf_wire_list_opt (zf_wire_reader_t *r, const char *field, uint32_t max, const char *max_name,
                      uint32_t min_bytes, uint32_t *count, bool *present);

//  Moves to element index of the open list (for error paths).
void zf_wire_next (zf_wire_reader_t *r, uint32_t index);

//  Opens the next value as a record (an array of positional fields).
int zf_wire_record (zf_wire_reader_t *r, const char *field);

//  Closes the innermost record or list, skipping the values left in it.
int zf_wire_close (zf_wire_reader_t *r);

//  Space for n items of size bytes in the decoder, zeroed; NULL (and the
//  reader failed) if out of memory. n * size must not overflow: callers pass
//  counts already bounded by a limit.
void *zf_wire_alloc (zf_wire_reader_t *r, size_t n, size_t size);

//  A writer into an encoder's buffer. Errors are sticky like the reader's.
typedef struct {
    zf_proto_encoder_t *enc; //  the buffer
    msgpack_packer pk;       //  msgpack-c's packer over it
    zf_proto_error_t *err;   //  where the first failure is described
    bool failed;             //  a write has failed
    const char *list;        //  list being written, for error paths, or NULL
    int64_t index;           //  its element being written, or -1
} zf_wire_writer_t;

//  Starts a body: clears the buffer, writes the array header for the
//  version, the type and fields more values.
void zf_wire_wbegin (zf_wire_writer_t *w, zf_proto_encoder_t *enc, int type, uint32_t fields,
                     zf_proto_error_t *err);

//  Ends the body: refuses one over ZF_MAX_FRAME_SIZE. Returns 0 or -1.
int zf_wire_wfinish (zf_wire_writer_t *w);

//  Names the list element being written (NULL list: back at body level).
void zf_wire_witem (zf_wire_writer_t *w, const char *list, int64_t index);

//  Records the first failure.
void zf_wire_wfail (zf_wire_writer_t *w, const char *field, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

void zf_wire_put_uint (zf_wire_writer_t *w, uint64_t value);
void zf_wire_put_int (zf_wire_writer_t *w, int64_t value);
void zf_wire_put_bool (zf_wire_writer_t *w, bool value);
void zf_wire_put_nil (zf_wire_writer_t *w);
void zf_wire_put_array (zf_wire_writer_t *w, uint32_t count);

//  A date in 0..ZF_PROTO_LAST_DATE, or with allow_none nil for ZF_DATE_NONE.
void zf_wire_put_date (zf_wire_writer_t *w, const char *field, zf_date_t date, bool allow_none);

//  A string (size bytes, or strlen if size is SIZE_MAX) checked against the
//  limit; NULL writes nil if nullable, else fails.
void zf_wire_put_str (zf_wire_writer_t *w, const char *field, const zf_wire_limit_t *limit,
                      bool nullable, const char *str, size_t size);

//  A list header, failing if count exceeds max (use ZF_WIRE_MAX).
void zf_wire_put_list (zf_wire_writer_t *w, const char *field, size_t count, size_t max,
                       const char *max_name);

//  A value must lie in min..max (enums, ranges), else the writer fails.
bool zf_wire_check (zf_wire_writer_t *w, const char *field, int64_t value, int64_t min,
                    int64_t max);

#endif
