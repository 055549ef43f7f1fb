/* janus.plugin.calls - the simulcast layer policy of one subscriber's link (see layers.h).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "layers.h"

void calls_link_init(calls_link *link) {
	link->cap = CALLS_LAYERS - 1;
	link->changed = 0;
	link->last_share = 0;
}

static gboolean set_cap(calls_link *link, int cap, gint64 now) {
	cap = CLAMP(cap, 0, CALLS_LAYERS - 1);
	if(cap == link->cap)
		return FALSE;
	link->cap = cap;
	link->changed = now;
	return TRUE;
}

gboolean calls_link_remb(calls_link *link, guint64 share, const guint32 need[CALLS_LAYERS], int sending, gint64 now) {
	/* The highest layer that fits the share (a layer not measured yet fits) */
	int fits = CALLS_LAYERS - 1;
	while(fits > 0 && need[fits] != 0 && need[fits] > share)
		fits--;
	gboolean falling = link->last_share > 0 && share * 10 < link->last_share * 9;
	guint32 sending_need = (sending >= 0 && sending < CALLS_LAYERS) ? need[sending] : 0;
	link->last_share = share;
	if(fits < link->cap)
		return falling && share < sending_need ? set_cap(link, fits, now) : FALSE;
	if(fits > link->cap && now - link->changed >= CALLS_LAYER_HOLD_DOWN_US)
		return set_cap(link, link->cap + 1, now);
	return FALSE;
}

gboolean calls_link_slow(calls_link *link, gint64 now) {
	gboolean changed = set_cap(link, link->cap - 1, now);
	link->changed = now;   /* even at the lowest layer: the link is not quiet */
	return changed;
}

gboolean calls_link_quiet(calls_link *link, gint64 now) {
	if(link->cap >= CALLS_LAYERS - 1 || now - link->changed < 2 * CALLS_LAYER_HOLD_DOWN_US)
		return FALSE;
	return set_cap(link, link->cap + 1, now);
}
