/* tracking: client-side caching (CLIENT TRACKING), as a non-cluster Redis
 * 7.0 has it, for RESP2 clients: invalidation messages go to the client
 * named by REDIRECT, as Pub/Sub messages on __redis__:invalidate (RESP2
 * has no push type, so without a redirection nothing can be sent; the
 * client is still tracked, as in Redis).
 *
 * Default mode: the keys a tracking client reads (read-only commands;
 * under OPTIN only after CLIENT CACHING yes, under OPTOUT not after
 * CLIENT CACHING no) are remembered with its id; the first change of such
 * a key sends one invalidation to each client that read it and forgets
 * them (they read it again to be told again). BCAST mode: the client
 * names key prefixes instead ("" for all keys) and is told of every change
 * under them, in one message per event-loop pass with all such keys.
 * NOLOOP leaves out the changes the client made itself. FLUSHALL and
 * FLUSHDB send every tracking client a null invalidation (all keys). */
#ifndef RM_TRACKING_H
#define RM_TRACKING_H

#include "core/server.h"

void tracking_init(server *s);
void tracking_free(server *s);
/* After c ran read-only cmd: remember the keys it read, when it tracks. */
void tracking_remember_keys(client *c, const command *cmd);
/* key changed (by s->current_client, if any). */
void tracking_invalidate_key(server *s, const dstr key);
/* The dataset was flushed. */
void tracking_invalidate_all(server *s);
/* Once per event-loop pass: the BCAST messages gathered in it. */
void tracking_before_sleep(server *s);
/* c goes away or stops tracking. */
void tracking_disable(client *c);
/* The CLIENT CACHING flag lasts one command (or one transaction). */
void tracking_after_command(client *c, const command *cmd);
/* INFO: tracking_clients, and the table's keys, items and prefixes. */
void tracking_info(const server *s, long long *clients, long long *keys, long long *items,
                   long long *prefixes);

void cmd_client_tracking(client *c);
void cmd_client_caching(client *c);
void cmd_client_getredir(client *c);
void cmd_client_trackinginfo(client *c);

#endif
