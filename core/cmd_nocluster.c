/* cmd_nocluster: the commands of Redis 7.0's cluster mode and of its
 * module system, answered as a redis-server without them answers.
 *
 * Ringmaster is never a cluster node and loads no modules. Clients probe
 * for both (CLUSTER INFO, CLUSTER SLOTS, READONLY, MODULE LIST) and tell
 * "not a cluster" from "unknown command", so these commands exist, with
 * Redis's arities, flags and COMMAND INFO/DOCS, and answer what a
 * non-cluster redis-server answers: "This instance has cluster support
 * disabled", an empty module list, and MODULE LOAD refused (by
 * enable-module-command, or, when that allows it, because nothing here can
 * load a module). RESTORE-ASKING is RESTORE under the cluster-only
 * `asking` flag, as in Redis. */
#include <string.h>

#include "core/commands.h"
#include "core/config_absent.h"
#include "core/log.h"
#include "core/reply.h"

#define CLUSTER_DISABLED "ERR This instance has cluster support disabled"

static void cmd_cluster_disabled(client *c) { reply_error(c, CLUSTER_DISABLED); }

static void cmd_module_list(client *c) { reply_array(c, 0); }

/* MODULE LOAD, LOADEX and UNLOAD obey enable-module-command (no, yes,
 * local), as Redis's protected commands do. */
static int module_command_allowed(client *c) {
    const absent_directive *a = absent_find("enable-module-command", 1);
    dstr mode = a ? absent_get(a) : NULL;
    int allowed = mode && (!strcmp(mode, "yes") || (!strcmp(mode, "local") && client_is_local(c)));
    dstr_free(mode);
    if (!allowed)
        reply_error(c, "ERR MODULE command not allowed. If the enable-module-command option is "
                       "set to \"local\", you can run it from a local connection, otherwise you "
                       "need to set this option in the configuration file, and then restart the "
                       "server.");
    return allowed;
}

static void cmd_module_load(client *c) {
    if (!module_command_allowed(c)) return;
    log_msg(LL_WARNING, "Module %s failed to load: Ringmaster cannot load modules", c->argv[2]);
    reply_error(c, "ERR Error loading the extension. Please check the server logs.");
}

static void cmd_module_unload(client *c) {
    if (!module_command_allowed(c)) return;
    reply_error(c, "ERR Error unloading module: no such module with that name");
}

static void cmd_module_help(client *c) {
    static const char *lines[] = {
        "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return a list of loaded modules (none: Ringmaster loads no modules).",
        "LOAD <path> [<arg> ...]",
        "    Refused: Ringmaster cannot load modules.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Refused: Ringmaster cannot load modules.",
        "UNLOAD <name>",
        "    Unload a module (there is none to unload).",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

#define AD CMD_ADMIN
#define STL CMD_STALE
#define NAL CMD_NO_ASYNC_LOADING
#define CL(n, a, f) COMMAND_ROW("cluster|" n, cmd_cluster_disabled, a, f, 0, 0, 0)

static command cluster_subs[] = {
    CL("addslots", -3, AD | STL | NAL),
    CL("addslotsrange", -4, AD | STL | NAL),
    CL("bumpepoch", 2, AD | STL | NAL),
    CL("count-failure-reports", 3, AD | STL),
    CL("countkeysinslot", 3, STL),
    CL("delslots", -3, AD | STL | NAL),
    CL("delslotsrange", -4, AD | STL | NAL),
    CL("failover", -2, AD | STL | NAL),
    CL("flushslots", 2, AD | STL | NAL),
    CL("forget", 3, AD | STL | NAL),
    CL("getkeysinslot", 4, STL),
    CL("help", 2, CMD_LOADING | STL),
    CL("info", 2, STL),
    CL("keyslot", 3, STL),
    CL("links", 2, STL),
    CL("meet", -4, AD | STL | NAL),
    CL("myid", 2, STL),
    CL("nodes", 2, STL),
    CL("replicas", 3, AD | STL),
    CL("replicate", 3, AD | STL | NAL),
    CL("reset", -2, AD | CMD_NOSCRIPT | STL),
    CL("saveconfig", 2, AD | STL | NAL),
    CL("set-config-epoch", 3, AD | STL | NAL),
    CL("setslot", -4, AD | STL | NAL),
    CL("shards", 2, STL),
    CL("slaves", 3, AD | STL),
    CL("slots", 2, STL),
    COMMAND_END,
};

static command module_subs[] = {
    COMMAND_ROW("module|help", cmd_module_help, 2, CMD_LOADING | STL, 0, 0, 0),
    COMMAND_ROW("module|list", cmd_module_list, 2, AD | CMD_NOSCRIPT, 0, 0, 0),
    COMMAND_ROW("module|load", cmd_module_load, -3, AD | CMD_NOSCRIPT | NAL, 0, 0, 0),
    COMMAND_ROW("module|loadex", cmd_module_load, -3, AD | CMD_NOSCRIPT | NAL, 0, 0, 0),
    COMMAND_ROW("module|unload", cmd_module_unload, 3, AD | CMD_NOSCRIPT | NAL, 0, 0, 0),
    COMMAND_END,
};

static command nocluster_commands[] = {
    COMMAND_WITH_SUBS("cluster", -2, 0, cluster_subs),
    COMMAND_WITH_SUBS("module", -2, 0, module_subs),
    COMMAND_ROW("readonly", cmd_cluster_disabled, 1, CMD_LOADING | STL | CMD_FAST, 0, 0, 0),
    COMMAND_ROW("readwrite", cmd_cluster_disabled, 1, CMD_LOADING | STL | CMD_FAST, 0, 0, 0),
    COMMAND_ROW("asking", cmd_cluster_disabled, 1, CMD_FAST, 0, 0, 0),
    COMMAND_ROW("restore-asking", cmd_restore, -4, CMD_WRITE | CMD_DENYOOM | CMD_ASKING, 1, 1, 1),
    COMMAND_END,
};

void nocluster_register(void) { commands_register_table(nocluster_commands); }
