/* multi: MULTI/EXEC/DISCARD and WATCH's optimistic locking. */
#ifndef RM_MULTI_H
#define RM_MULTI_H

#include "core/server.h"

void multi_queue(client *c, const command *cmd);
void multi_discard(client *c);
int multi_has_writes(client *c);

#endif
