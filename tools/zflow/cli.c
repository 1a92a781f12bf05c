/*  cli.c - usage lines, usage errors and argument checks shared by the verbs. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  "usage: zflow VERB ARGS" on out.
static void
s_usage_line (const zf_cli_verb_t *verb, FILE *out)
{
    fprintf (out, "usage: zflow %s %s\n", verb->name, verb->usage);
}

int
zf_cli_help (const zf_cli_verb_t *verb)
{
    s_usage_line (verb, stdout);
    if (verb->help) fputs (verb->help, stdout);
    return 0;
}

int
zf_cli_usage_error (const zf_cli_verb_t *verb, const char *format, ...)
{
    fprintf (stderr, "zflow %s: ", verb->name);
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fputc ('\n', stderr);
    s_usage_line (verb, stderr);
    return 2;
}

int
zf_cli_bad_option (const zf_cli_verb_t *verb, int opt, char **argv)
{
    //  getopt leaves optind past the offending word; a short option in a
    //  cluster ("-xq") is named by optopt rather than by that word.
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':') return zf_cli_usage_error (verb, "option '%s' needs a value", word);
    if (optopt > 0 && optopt < 128 && strncmp (word, "--", 2) != 0)
        return zf_cli_usage_error (verb, "unknown option '-%c'", optopt);
    return zf_cli_usage_error (verb, "unknown option '%s'", word);
}

int
zf_cli_fail (const zf_cli_verb_t *verb, const char *format, ...)
{
    fprintf (stderr, "zflow %s: ", verb->name);
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fputc ('\n', stderr);
    return 1;
}

int
zf_cli_positionals (const zf_cli_verb_t *verb, int argc, char **argv, int min, int max,
                    const char *names)
{
    int count = argc - optind;
    if (count > max)
        return zf_cli_usage_error (verb, "unexpected argument '%s'", argv[optind + max]);
    if (count < min) {
        //  Name the first missing argument: word number `count` of names.
        const char *name = names;
        for (int i = 0; i < count && name; i++) {
            name = strchr (name, ' ');
            if (name) name++;
        }
        size_t length = name ? strcspn (name, " ") : 0;
        return zf_cli_usage_error (verb, "missing %.*s", (int)length, name ? name : "");
    }
    return 0;
}

int
zf_cli_name (const zf_cli_verb_t *verb, const char *what, const char *text)
{
    if (!*text) return zf_cli_usage_error (verb, "%s must not be empty", what);
    if (strlen (text) > ZF_MAX_NAME)
        return zf_cli_usage_error (verb, "%s is longer than ZF_MAX_NAME (%d)", what, ZF_MAX_NAME);
    return 0;
}

int
zf_cli_date (const zf_cli_verb_t *verb, const char *text, zf_date_t *out)
{
    if (zf_date_parse (text, out) != 0)
        return zf_cli_usage_error (verb, "bad date '%s' (want YYYY-MM-DD)", text);
    return 0;
}

int
zf_cli_duration (const zf_cli_verb_t *verb, const char *option, const char *text, int64_t *ms_out)
{
    if (zf_duration_parse (text, ms_out) != 0)
        return zf_cli_usage_error (
            verb, "bad %s '%s' (want a duration such as 500ms, 30s, 10m, 2h)", option, text);
    return 0;
}

int
zf_cli_shard (const zf_cli_verb_t *verb, const char *text, int32_t *index, const char **key)
{
    *index = ZF_SHARD_WHOLE;
    *key = NULL;
    if (!*text) return zf_cli_usage_error (verb, "--shard must not be empty");
    if (strspn (text, "0123456789") == strlen (text)) {
        errno = 0;
        unsigned long long value = strtoull (text, NULL, 10);
        if (errno || value >= ZF_MAX_SHARDS)
            return zf_cli_usage_error (verb, "shard index %s is past ZF_MAX_SHARDS (%d)", text,
                                       ZF_MAX_SHARDS);
        *index = (int32_t)value;
        return 0;
    }
    if (strlen (text) > ZF_MAX_SHARD_KEY)
        return zf_cli_usage_error (verb, "shard key is longer than ZF_MAX_SHARD_KEY (%d)",
                                   ZF_MAX_SHARD_KEY);
    *key = text;
    return 0;
}

int
zf_cli_attempt (const zf_cli_verb_t *verb, const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (!*text || *end || errno || value == 0 || value > UINT32_MAX || *text == '-')
        return zf_cli_usage_error (verb, "bad attempt '%s' (want a number from 1)", text);
    *out = (uint32_t)value;
    return 0;
}
