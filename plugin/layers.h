/* janus.plugin.calls - the simulcast layer policy of one subscriber's link.
 *
 * Each video slot of a subscriber forwards one simulcast layer: the lower of
 * what the subscriber asked for (CALL_SUBSCRIBER_CONFIGURE) and what its link
 * carries. This module decides the second, from what the link says:
 *
 *   - REMB (the receiver's bandwidth estimate, shared between its video slots):
 *     down to the highest layer whose measured bitrate fits the slot's share,
 *     but only when the estimate falls (by more than 10 %) and no longer
 *     carries the layer forwarded now. A receiver estimates at most about 1.5
 *     times what it receives, so a low estimate alone says nothing: after a
 *     subscriber capped itself to a low layer, its estimate stays low.
 *     Up by one layer when a higher one fits, at most once per hold-down.
 *   - slow_link (Janus saw losses towards the subscriber): down one layer.
 *   - quiet (neither for two hold-downs): try one layer up.
 *
 * Pure: no Janus, no threads. relay.c calls it on the subscriber's ICE thread.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_LAYERS_H
#define CALLS_LAYERS_H

#include <glib.h>

#define CALLS_LAYERS 3
#define CALLS_LAYER_HOLD_DOWN_US (8 * G_USEC_PER_SEC)

typedef struct calls_link {
	int cap;              /* the highest layer the link may carry, 0..CALLS_LAYERS-1 */
	gint64 changed;       /* when `cap` last changed (monotonic µs; 0 = never) */
	guint64 last_share;   /* the slot's share of the previous REMB (bits/s) */
} calls_link;

void calls_link_init(calls_link *link);

/* A REMB gave this slot `share` bits/s. `need[i]` is the measured bitrate of
 * layer i (0: not known yet, taken as fitting), `sending` the layer forwarded
 * now (-1: none yet). Returns whether the cap changed. */
gboolean calls_link_remb(calls_link *link, guint64 share, const guint32 need[CALLS_LAYERS], int sending, gint64 now);
/* Janus reported a slow link towards the subscriber: one layer down. */
gboolean calls_link_slow(calls_link *link, gint64 now);
/* Called regularly: after two hold-downs without a change, one layer up. */
gboolean calls_link_quiet(calls_link *link, gint64 now);

#endif
