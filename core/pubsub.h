/* pubsub: Pub/Sub as a non-cluster Redis 7.0 does it: channels
 * (SUBSCRIBE, PUBLISH), patterns (PSUBSCRIBE) and shard channels
 * (SSUBSCRIBE, SPUBLISH: without cluster mode, a namespace of channels of
 * its own that patterns never match), and PUBSUB introspection.
 *
 * The state is the keyspace thread's, like everything in `server`. Other
 * parts of core reach it only through the calls below: the dispatcher asks
 * pubsub_refusal before running a command, RESET and client_free leave
 * every subscription, INFO and CLIENT LIST read the counts, and
 * pubsub_publish is the one way to send a message from inside the server
 * (keyspace notifications, notify.c, use it). */
#ifndef RM_PUBSUB_H
#define RM_PUBSUB_H

#include "core/server.h"

/* The three kinds of subscription. */
enum pubsub_kind { PUBSUB_CHANNEL, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KINDS };

void pubsub_init(server *s);
void pubsub_free(server *s);
/* Add the Pub/Sub commands to the command table (once per process). */
void pubsub_register(void);

/* Send `message` on `channel` to its subscribers, then to the clients
 * whose patterns match it, as PUBLISH does. Returns how many received it.
 * Nothing is propagated: PUBLISH itself is. */
long long pubsub_publish(server *s, const dstr channel, const dstr message);

/* Leave every subscription without a reply (RESET, a closed client). */
void pubsub_client_reset(client *c);
/* How many subscriptions of a kind the client holds (CLIENT LIST sub=,
 * psub=, ssub=), and how many channels or patterns of a kind have at
 * least one subscriber (INFO, PUBSUB NUMPAT). */
long long pubsub_client_count(const client *c, enum pubsub_kind kind);
long long pubsub_server_count(const server *s, enum pubsub_kind kind);

/* A RESP2 client with a subscription may only run (P|S)SUBSCRIBE,
 * (P|S)UNSUBSCRIBE, PING, QUIT and RESET: the error for any other command,
 * formatted into buf, or NULL when cmd may run. */
const char *pubsub_refusal(const client *c, const command *cmd, char *buf, size_t len);

#endif
