/*  zf_service.c - the life of a service process around its actor. */
#include "zf_service.h"
#include "zf_log.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

void
zf_service_getopt_init (zf_service_getopt_t *parser, const zf_service_def_t *def, bool quiet)
{
    assert (parser);
    assert (def);
    memset (parser, 0, sizeof *parser);
    size_t count = 0, letters = 0;
    if (quiet) parser->shorts[letters++] = ':';
    for (const zf_option_t *option = def->options; option->name; option++) {
        assert (count < ZF_SERVICE_MAX_OPTIONS);
        parser->longs[count++] = (struct option){
            option->name, option->value ? required_argument : no_argument, NULL, (int)option->id};
        if (option->id < 256) {
            parser->shorts[letters++] = (char)option->id;
            if (option->value) parser->shorts[letters++] = ':';
        }
    }
}

//  Prints "usage: zflow-NAME SYNOPSIS".
static void
s_usage_line (const zf_service_def_t *def, FILE *out)
{
    fprintf (out, "usage: zflow-%s %s\n", def->name, def->synopsis ? def->synopsis : "[options]");
}

//  Prints one line per option, "  -v, --verbose  text", its text from the
//  column on (two spaces after a longer head), its further lines indented
//  to the column.
static void
s_options (const zf_service_def_t *def, FILE *out)
{
    for (const zf_option_t *option = def->options; option->name; option++) {
        char letter[8] = "";
        if (option->id < 256) snprintf (letter, sizeof letter, "-%c, ", (char)option->id);
        char head[128];
        int length = snprintf (head, sizeof head, "  %s--%s%s%s", letter, option->name,
                               option->value ? " " : "", option->value ? option->value : "");
        fprintf (out, "%s%*s", head, length < def->column ? def->column - length : 2, "");
        const char *text = option->help;
        const char *newline;
        while ((newline = strchr (text, '\n'))) {
            fprintf (out, "%.*s\n%*s", (int)(newline - text), text, def->column, "");
            text = newline + 1;
        }
        fprintf (out, "%s\n", text);
    }
}

void
zf_service_usage (const zf_service_def_t *def, FILE *out)
{
    assert (def);
    s_usage_line (def, out);
    if (def->about) fprintf (out, "\n%s\n", def->about);
    s_options (def, out);
}

int
zf_service_bad_usage (const zf_service_def_t *def, const char *format, ...)
{
    assert (def);
    if (format) {
        fprintf (stderr, "zflow-%s: ", def->name);
        va_list args;
        va_start (args, format);
        vfprintf (stderr, format, args);
        va_end (args);
        fputc ('\n', stderr);
    }
    s_usage_line (def, stderr);
    if (!def->synopsis) s_options (def, stderr);
    return 2;
}

bool
zf_service_is_loopback (const char *endpoint)
{
    assert (endpoint);
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    const char *host = strncmp (endpoint, "tcp://", 6) == 0 ? endpoint + 6 : endpoint;
    const char *colon = strrchr (host, ':');
    size_t length = colon ? (size_t)(colon - host) : strlen (host);
    char name[256];
    if (length >= sizeof name) return false;
    memcpy (name, host, length);
    name[length] = 0;
    char *start = name;
    if (length >= 2 && name[0] == '[' && name[length - 1] == ']') {
        name[length - 1] = 0;
        start++;
    }
    if (streq (start, "localhost") || streq (start, "lo") || streq (start, "::1")) return true;
    struct in_addr address;
    return inet_pton (AF_INET, start, &address) == 1 && ntohl (address.s_addr) >> 24 == 127;
}

void
zf_service_warn_exposed (const char *const *binds, size_t count)
{
    char list[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (!binds[i] || zf_service_is_loopback (binds[i])) continue;
        int wrote = snprintf (list + used, sizeof list - used, "%s%s", used ? "," : "", binds[i]);
        if (wrote < 0 || (size_t)wrote >= sizeof list - used) break;
        used += (size_t)wrote;
    }
    if (used)
        zf_log_warn ("reachable from other machines: the link is neither authenticated nor "
                     "encrypted endpoints=%s",
                     list);
}

int
zf_service_run (const zf_service_def_t *def, int verbose, const char *const *binds, size_t count,
                zactor_fn *actor_fn, void *args, const char *error)
{
    assert (def);
    assert (actor_fn);
    zf_log_init (def->name, verbose > 2 ? 2 : verbose);
    zf_service_warn_exposed (binds, count);
    zsys_init ();
    zactor_t *actor = zactor_new (actor_fn, args);
    if (!actor || (error && error[0])) {
        fprintf (stderr, "zflow-%s: %s\n", def->name, error && error[0] ? error : "cannot start");
        zactor_destroy (&actor);
        return 1;
    }
    //  The pipe speaks only if the actor ends by itself; SIGINT and SIGTERM
    //  end the wait too.
    zpoller_t *poller = zpoller_new (actor, NULL);
    zpoller_wait (poller, -1);
    bool signalled = zpoller_terminated (poller);
    zpoller_destroy (&poller);
    zactor_destroy (&actor);
    if (!signalled)
        fprintf (stderr, "zflow-%s: stopped by itself: %s\n", def->name,
                 error && error[0] ? error : "see the errors logged above");
    return signalled ? 0 : 1;
}
