/* cmd_function: FUNCTION LOAD/DELETE/FLUSH/DUMP/RESTORE/LIST/STATS/KILL/HELP
 * and FCALL/FCALL_RO, with Redis 7.0's replies and errors (functions.c
 * holds the store and says what is approximated).
 *
 * The writing subcommands (LOAD, DELETE, FLUSH, RESTORE) mark the server
 * dirty, so their argv is propagated as it came, as Redis 7.0 does; a
 * replica applies them from its master with the lenient checks (the
 * master already accepted the library).
 *
 * FCALL and FCALL_RO: a function that does not exist gets Redis's "ERR
 * Function not found"; one that exists cannot run, and answers
 * "ERR Ringmaster does not support scripting: function '<name>' is stored
 * but cannot be executed". A Redis master never sends FCALL to a replica
 * (it propagates the function's effects), so this never breaks a link. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/commands.h"
#include "core/functions.h"
#include "core/reply.h"
#include "core/util.h"

static int arg_eq(const dstr a, const char *s) { return !strcasecmp(a, s); }

/* A master's stream (or anything not a client) is not refused over what
 * the code scan found, only over what Redis itself would refuse. */
static int check_flags(const client *c) { return (c->flags & CLIENT_MASTER) ? 0 : FN_STRICT; }

static void reply_err_msg(client *c, const char *msg) { reply_errorf(c, "ERR %s", msg); }

void cmd_function_load(client *c) {
    int flags = check_flags(c);
    int pos = 2;
    while (pos < c->argc - 1) {
        const dstr a = c->argv[pos++];
        if (arg_eq(a, "replace")) {
            flags |= FN_REPLACE;
            continue;
        }
        reply_errorf(c, "ERR Unknown option given: %s", a);
        return;
    }
    if (pos >= c->argc) {
        reply_error(c, "ERR Function code is missing");
        return;
    }
    const dstr code = c->argv[pos];
    char err[512];
    fn_lib *lib = fn_lib_parse(code, dstr_len(code), c->srv->functions, flags, err, sizeof(err));
    if (!lib) {
        reply_err_msg(c, err);
        return;
    }
    dstr name = dstr_dup(lib->name);
    if (fn_store_add(c->srv->functions, lib, flags, err, sizeof(err)) < 0) {
        fn_lib_free(lib);
        dstr_free(name);
        reply_err_msg(c, err);
        return;
    }
    reply_bulk_dstr(c, name);
    dstr_free(name);
    server_dirty(c, 1);
}

void cmd_function_delete(client *c) {
    if (fn_store_delete(c->srv->functions, c->argv[2], dstr_len(c->argv[2])) < 0) {
        reply_error(c, "ERR Library not found");
        return;
    }
    reply_ok(c);
    server_dirty(c, 1);
}

/* ASYNC and SYNC both free at once: libraries are small. */
void cmd_function_flush(client *c) {
    if (c->argc > 3 ||
        (c->argc == 3 && !arg_eq(c->argv[2], "sync") && !arg_eq(c->argv[2], "async"))) {
        reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    fn_store_clear(c->srv->functions);
    reply_ok(c);
    server_dirty(c, 1);
}

void cmd_function_dump(client *c) {
    dstr payload = fn_dump_payload(c->srv->functions, c->srv->cfg.rdbcompression);
    reply_bulk_dstr(c, payload);
    dstr_free(payload);
}

enum { RESTORE_FLUSH, RESTORE_APPEND, RESTORE_REPLACE };

void cmd_function_restore(client *c) {
    int policy = RESTORE_APPEND;
    if (c->argc > 4) {
        reply_error(c, "ERR syntax error");
        return;
    }
    if (c->argc == 4) {
        const dstr p = c->argv[3];
        if (arg_eq(p, "flush"))
            policy = RESTORE_FLUSH;
        else if (arg_eq(p, "append"))
            policy = RESTORE_APPEND;
        else if (arg_eq(p, "replace"))
            policy = RESTORE_REPLACE;
        else {
            reply_error(c, "ERR Wrong restore policy given, value should be either FLUSH, "
                           "APPEND or REPLACE.");
            return;
        }
    }
    char err[512];
    fn_store *in = fn_restore_payload((const unsigned char *)c->argv[2], dstr_len(c->argv[2]),
                                      check_flags(c), err, sizeof(err));
    if (!in) {
        reply_err_msg(c, err);
        return;
    }
    fn_store *fs = c->srv->functions;
    if (policy == RESTORE_FLUSH) {
        c->srv->functions = in;
        fn_store_free(fs);
        reply_ok(c);
        server_dirty(c, 1);
        return;
    }
    /* APPEND and REPLACE are all or nothing: check every library first. */
    for (int i = 0; i < in->n; i++) {
        const fn_lib *lib = in->libs[i];
        const fn_lib *old = fn_store_find(fs, lib->name, dstr_len(lib->name));
        if (old && policy == RESTORE_APPEND) {
            reply_errorf(c, "ERR Library %s already exists", lib->name);
            fn_store_free(in);
            return;
        }
        for (int j = 0; j < lib->nfuncs; j++) {
            const dstr fname = lib->funcs[j].name;
            int taken = fn_store_has_function(fs, fname, dstr_len(fname));
            if (taken && old) { /* replaced along with its library? */
                taken = 0;
                for (int k = 0; k < old->nfuncs; k++)
                    if (!strcmp(old->funcs[k].name, fname)) taken = 1;
                taken = !taken;
            }
            if (taken) {
                reply_errorf(c, "ERR Function %s already exists", fname);
                fn_store_free(in);
                return;
            }
        }
    }
    for (int i = 0; i < in->n; i++) {
        fn_store_add(fs, in->libs[i], FN_REPLACE, err, sizeof(err));
        in->libs[i] = NULL;
    }
    in->n = 0;
    fn_store_free(in);
    reply_ok(c);
    server_dirty(c, 1);
}

static void reply_library(client *c, const fn_lib *lib, int with_code) {
    reply_map(c, with_code ? 4 : 3);
    reply_bulk_cstr(c, "library_name");
    reply_bulk_dstr(c, lib->name);
    reply_bulk_cstr(c, "engine");
    reply_bulk_cstr(c, "LUA");
    reply_bulk_cstr(c, "functions");
    reply_array(c, lib->nfuncs);
    for (int i = 0; i < lib->nfuncs; i++) {
        const fn_func *f = &lib->funcs[i];
        reply_map(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk_dstr(c, f->name);
        reply_bulk_cstr(c, "description");
        if (f->desc)
            reply_bulk_dstr(c, f->desc);
        else
            reply_null(c);
        reply_bulk_cstr(c, "flags");
        reply_set(c, __builtin_popcount(f->flags));
        for (int b = 0; b < FN_FLAG_COUNT; b++)
            if (f->flags & (1u << b)) reply_status(c, fn_flag_name(b));
    }
    if (with_code) {
        reply_bulk_cstr(c, "library_code");
        reply_bulk_dstr(c, lib->code);
    }
}

void cmd_function_list(client *c) {
    int with_code = 0;
    const char *pattern = NULL;
    size_t patlen = 0;
    for (int i = 2; i < c->argc; i++) {
        const dstr a = c->argv[i];
        if (!with_code && arg_eq(a, "withcode")) {
            with_code = 1;
            continue;
        }
        if (!pattern && arg_eq(a, "libraryname")) {
            if (i >= c->argc - 1) {
                reply_error(c, "ERR library name argument was not given");
                return;
            }
            pattern = c->argv[++i];
            patlen = dstr_len(c->argv[i]);
            continue;
        }
        reply_errorf(c, "ERR Unknown argument %s", a);
        return;
    }
    const fn_store *fs = c->srv->functions;
    size_t handle = reply_defer_len(c);
    long long n = 0;
    for (int i = 0; i < fs->n; i++) {
        const fn_lib *lib = fs->libs[i];
        if (pattern && !util_glob_match(pattern, patlen, lib->name, dstr_len(lib->name), 1))
            continue;
        reply_library(c, lib, with_code);
        n++;
    }
    reply_set_deferred_len(c, handle, n);
}

void cmd_function_stats(client *c) {
    const fn_store *fs = c->srv->functions;
    reply_map(c, 2);
    reply_bulk_cstr(c, "running_script");
    reply_null(c);
    reply_bulk_cstr(c, "engines");
    reply_map(c, 1);
    reply_bulk_cstr(c, "LUA");
    reply_map(c, 2);
    reply_bulk_cstr(c, "libraries_count");
    reply_int(c, fs->n);
    reply_bulk_cstr(c, "functions_count");
    reply_int(c, fs->nfuncs);
}

/* Nothing ever runs, so there is never a function to kill. */
void cmd_function_kill(client *c) { reply_error(c, "NOTBUSY No scripts in execution right now."); }

void cmd_function_help(client *c) {
    static const char *lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using "
        "LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is "
        "determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can "
        "be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is "
        "possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. "
        "On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing "
        "libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option "
        "there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

void cmd_fcall(client *c) {
    const dstr name = c->argv[1];
    if (!fn_store_has_function(c->srv->functions, name, dstr_len(name))) {
        reply_error(c, "ERR Function not found");
        return;
    }
    reply_errorf(c,
                 "ERR Ringmaster does not support scripting: function '%s' is stored but "
                 "cannot be executed",
                 name);
}
