/*  zf_pipe.h - what every actor answers on its pipe, and named fields.

    Every zflow actor (the services, the gateway's inner actors, the worker)
    answers the same commands, spelt the same way:

        $TERM       stops the actor (CZMQ's convention); no answer
        ENDPOINTS   the endpoints it bound, as named fields ("bind",
                    "events"); none for an actor that binds nothing
        STATS       its counters, as named fields

    Actors may answer more commands of their own; a command an actor does
    not know is logged (zf_pipe_unknown) and gets no answer.

    Named fields are one message of alternating name and value frames:
    names are short lower-case words, values decimal numbers or text. A
    message that is one empty frame holds no fields. The reader below serves
    tests, benchmarks and tools; docs/ARCHITECTURE.md lists every name.
*/
#ifndef ZF_PIPE_H_INCLUDED
#define ZF_PIPE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZF_PIPE_TERM      "$TERM"
#define ZF_PIPE_ENDPOINTS "ENDPOINTS"
#define ZF_PIPE_STATS     "STATS"

//  What zf_fields_get returns for a field that is absent or not a number.
#define ZF_FIELDS_ABSENT UINT64_MAX

typedef struct _zf_fields_t zf_fields_t;

//  A new, empty set of fields; NULL if out of memory.
zf_fields_t *zf_fields_new (void);

//  Frees the fields; NULLs the pointer. Idempotent.
void zf_fields_destroy (zf_fields_t **self_p);

//  Adds a number, or a text (NULL adds an empty text). A NULL self does
//  nothing, so an actor out of memory still answers (with fewer fields).
void zf_fields_add (zf_fields_t *self, const char *name, uint64_t value);
void zf_fields_add_str (zf_fields_t *self, const char *name, const char *value);

//  Sends the fields as one message and destroys them; a NULL *self_p sends
//  a message without fields, so whoever asked is never left waiting.
//  0, or -1 if the message could not be sent (the pipe closed).
int zf_fields_send (zf_fields_t **self_p, void *dest);

//  Receives one message of named fields. NULL if interrupted, or if the
//  message is not name and value pairs.
zf_fields_t *zf_fields_recv (void *source);

//  Sends command to an actor and receives its fields; NULL as zf_fields_recv.
zf_fields_t *zf_fields_ask (void *actor, const char *command);

//  How many fields, and the name and value (as text) of the i-th.
size_t zf_fields_count (zf_fields_t *self);
const char *zf_fields_name (zf_fields_t *self, size_t index);
const char *zf_fields_value (zf_fields_t *self, size_t index);

//  The value of a field as a number: ZF_FIELDS_ABSENT if there is no such
//  field or it is not a number, so a misspelt name never reads as zero.
uint64_t zf_fields_get (zf_fields_t *self, const char *name);

//  The value of a field as text, or NULL if there is no such field.
const char *zf_fields_str (zf_fields_t *self, const char *name);

//  Writes "name=value name=value ..." into buf (truncated to size); returns buf.
char *zf_fields_format (zf_fields_t *self, char *buf, size_t size);

//  Logs a pipe command that an actor does not answer.
//  Answers ENDPOINTS on pipe: "bind" and "events", each left out when NULL
//  (an actor that binds nothing passes two NULLs). Returns 0 or -1.
int zf_pipe_endpoints (void *pipe, const char *bind, const char *events);

void zf_pipe_unknown (const char *actor, const char *command);

#endif
