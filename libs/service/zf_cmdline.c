/*  zf_cmdline.c - the command line of a program, built from its table. */
#include "zf_cmdline.h"
#include "zf_service.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _zf_cmdline_t {
    const zf_service_def_t *def;         //  the program's table
    char program[64];                    //  "zflow-NAME"
    char *argv[ZF_CMDLINE_MAX_ARGS + 1]; //  the program, then owned copies; NULL-ended
    int argc;                            //  entries of argv
    char error[256];                     //  why it is broken, or ""
};

zf_cmdline_t *
zf_cmdline_new (const zf_service_def_t *def)
{
    assert (def);
    zf_cmdline_t *self = calloc (1, sizeof *self);
    if (!self) return NULL;
    self->def = def;
    snprintf (self->program, sizeof self->program, "zflow-%s", def->name);
    self->argv[self->argc++] = self->program;
    return self;
}

void
zf_cmdline_destroy (zf_cmdline_t **self_p)
{
    assert (self_p);
    zf_cmdline_t *self = *self_p;
    if (!self) return;
    for (int i = 1; i < self->argc; i++)
        free (self->argv[i]);
    free (self);
    *self_p = NULL;
}

//  Breaks the command line with a reason (the first one stays).
static void __attribute__ ((format (printf, 2, 3)))
s_broken (zf_cmdline_t *self, const char *format, ...)
{
    if (!self->error[0]) {
        int length = snprintf (self->error, sizeof self->error, "%s: ", self->program);
        va_list args;
        va_start (args, format);
        vsnprintf (self->error + length, sizeof self->error - (size_t)length, format, args);
        va_end (args);
    }
}

//  Appends a copy of text.
static void
s_push (zf_cmdline_t *self, const char *text)
{
    char *copy = self->argc < ZF_CMDLINE_MAX_ARGS ? strdup (text) : NULL;
    if (copy)
        self->argv[self->argc++] = copy;
    else if (self->argc < ZF_CMDLINE_MAX_ARGS)
        s_broken (self, "out of memory");
    else
        s_broken (self, "more than %d arguments", ZF_CMDLINE_MAX_ARGS);
}

void
zf_cmdline_add (zf_cmdline_t *self, zf_opt_t option, const char *value)
{
    assert (self);
    const zf_option_t *entry = zf_service_option (self->def, option);
    if (!entry)
        s_broken (self, "has no option number %d", (int)option);
    else if (!entry->value != !value)
        s_broken (self, "--%s %s", entry->name, value ? "takes no value" : "needs a value");
    else {
        char flag[64];
        snprintf (flag, sizeof flag, "--%s", entry->name);
        s_push (self, flag);
        if (value) s_push (self, value);
    }
}

void
zf_cmdline_verbose (zf_cmdline_t *self, int count)
{
    assert (self);
    if (count <= 0) return;
    if (!zf_service_option (self->def, ZF_OPT_VERBOSE)) {
        s_broken (self, "has no -v");
        return;
    }
    char flag[16] = "-";
    for (int i = 0; i < count && i < (int)sizeof flag - 2; i++)
        strcat (flag, "v");
    s_push (self, flag);
}

const zf_service_def_t *
zf_cmdline_def (zf_cmdline_t *self)
{
    assert (self);
    return self->def;
}

const char *
zf_cmdline_program (zf_cmdline_t *self)
{
    assert (self);
    return self->program;
}

char *const *
zf_cmdline_argv (zf_cmdline_t *self)
{
    assert (self);
    return self->error[0] ? NULL : self->argv;
}

const char *
zf_cmdline_error (zf_cmdline_t *self)
{
    assert (self);
    return self->error;
}

int
zf_cmdline_check (const zf_service_def_t *def, char *const *argv, char *why, size_t size)
{
    assert (def);
    assert (argv);
    //  getopt_long may reorder what it reads: it reads a copy.
    char *copy[ZF_CMDLINE_MAX_ARGS + 1];
    int argc = 0;
    while (argv[argc] && argc < ZF_CMDLINE_MAX_ARGS) {
        copy[argc] = argv[argc];
        argc++;
    }
    copy[argc] = NULL;
    zf_service_getopt_t parser;
    zf_service_getopt_init (&parser, def, true);
    int rc = 0, opt;
    optind = 0;
    while (rc == 0 && (opt = getopt_long (argc, copy, parser.shorts, parser.longs, NULL)) != -1)
        if (opt == ':' || opt == '?') {
            snprintf (why, size, "%s: %s '%s'", copy[0], opt == ':' ? "no value for" : "no option",
                      copy[optind - 1]);
            rc = -1;
        }
    if (rc == 0 && optind < argc) {
        snprintf (why, size, "%s: unexpected argument '%s'", copy[0], copy[optind]);
        rc = -1;
    }
    optind = 0;
    return rc;
}
