/*  cli.h - what the verbs share: usage and help texts, usage errors, checks of
    option values and arguments, failure lines.

    The exit status is a contract (DESIGN.md): 0 ok, 1 failure with one clear
    line on stderr, 2 bad usage with a usage line. The functions here print
    those lines and return the status, so a verb can `return zf_cli_...`.
*/
#ifndef ZF_CLI_H_INCLUDED
#define ZF_CLI_H_INCLUDED

#include <stdint.h>
#include "zf_common.h"
#include "zf_event.h"

//  What a verb says about itself.
typedef struct {
    const char *name;  //  "status", as typed after zflow
    const char *usage; //  the arguments after the name, for the usage line
    const char *help;  //  what -h prints after the usage line
} zf_cli_verb_t;

//  Long-option values that have no short letter.
#define ZF_CLI_OPT_REGISTRY 256
#define ZF_CLI_OPT_JSON     257
#define ZF_CLI_OPT_TIMEOUT  258
#define ZF_CLI_OPT_SHARD    259
#define ZF_CLI_OPT_ATTEMPT  260
#define ZF_CLI_OPT_DATE     261

//  The getopt_long table entries every registry verb accepts.
#define ZF_CLI_COMMON_OPTIONS                                                                      \
    {"help", no_argument, NULL, 'h'},                                                              \
    {                                                                                              \
        "registry", required_argument, NULL, ZF_CLI_OPT_REGISTRY                                   \
    }

//  Prints the usage line and the help text on stdout; returns 0.
int zf_cli_help (const zf_cli_verb_t *verb);

//  Prints "zflow VERB: <message>" and the usage line on stderr; returns 2.
int zf_cli_usage_error (const zf_cli_verb_t *verb, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Reports what getopt_long refused (opt is '?' or ':'); returns 2.
int zf_cli_bad_option (const zf_cli_verb_t *verb, int opt, char **argv);

//  Prints "zflow VERB: <message>" on stderr; returns 1.
int zf_cli_fail (const zf_cli_verb_t *verb, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Checks the count of positional arguments left after options (from argv[optind]):
//  at least min, at most max; names the missing one from names (space-separated,
//  in order). Returns 0, or 2 after a usage error.
int zf_cli_positionals (const zf_cli_verb_t *verb, int argc, char **argv, int min, int max,
                        const char *names);

//  A flow or task name: not empty, at most ZF_MAX_NAME bytes. Returns 0 or 2.
int zf_cli_name (const zf_cli_verb_t *verb, const char *what, const char *text);

//  --date D: YYYY-MM-DD. Returns 0 or 2.
int zf_cli_date (const zf_cli_verb_t *verb, const char *text, zf_date_t *out);

//  --timeout DUR: 500ms, 30s, 10m, 2h. Returns 0 or 2.
int zf_cli_duration (const zf_cli_verb_t *verb, const char *option, const char *text,
                     int64_t *ms_out);

//  --shard K: all digits is a shard index, anything else a shard key.
//  Sets *index (or ZF_SHARD_WHOLE) and *key (or NULL). Returns 0 or 2.
int zf_cli_shard (const zf_cli_verb_t *verb, const char *text, int32_t *index, const char **key);

//  --attempt N: a positive number. Returns 0 or 2.
int zf_cli_attempt (const zf_cli_verb_t *verb, const char *text, uint32_t *out);

#endif
