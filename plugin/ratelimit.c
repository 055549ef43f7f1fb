/* janus.plugin.calls - a token bucket per handle.
 *
 * Tokens are counted in millionths, so that a refill of `per_second` tokens a
 * second is a whole number per microsecond elapsed: tokens += elapsed_us *
 * per_second, capped at burst * 1e6. The elapsed time is capped first (at the
 * time a full refill takes), so the product cannot overflow whatever the gap.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "ratelimit.h"

#define UNIT G_GINT64_CONSTANT(1000000)   /* one token, in millionths */

struct calls_ratelimit {
	GMutex lock;
	guint per_second;
	guint burst;
	gint64 tokens;   /* millionths of a token, 0..burst*UNIT */
	gint64 last;     /* µs: when tokens was last brought up to date */
};

calls_ratelimit *calls_ratelimit_new(guint per_second, guint burst, gint64 now_us) {
	if(per_second == 0)
		return NULL;
	calls_ratelimit *rl = g_new0(calls_ratelimit, 1);
	g_mutex_init(&rl->lock);
	rl->per_second = per_second;
	rl->burst = burst > 0 ? burst : 1;
	rl->tokens = (gint64)rl->burst * UNIT;
	rl->last = now_us;
	return rl;
}

void calls_ratelimit_free(calls_ratelimit *rl) {
	if(rl == NULL)
		return;
	g_mutex_clear(&rl->lock);
	g_free(rl);
}

/* Bring the tokens up to `now_us` (with the lock held). */
static void refill(calls_ratelimit *rl, gint64 now_us) {
	gint64 elapsed = now_us - rl->last;
	if(elapsed <= 0)
		return;   /* the same instant, or a clock that went back: nothing to add */
	gint64 cap = (gint64)rl->burst * UNIT;
	gint64 full_after = cap / rl->per_second + 1;   /* µs after which the bucket is full anyway */
	if(elapsed > full_after)
		elapsed = full_after;
	rl->tokens += elapsed * (gint64)rl->per_second;
	if(rl->tokens > cap)
		rl->tokens = cap;
	rl->last = now_us;
}

gboolean calls_ratelimit_take(calls_ratelimit *rl, gint64 now_us, calls_error *err) {
	if(rl == NULL)
		return TRUE;
	g_mutex_lock(&rl->lock);
	refill(rl, now_us);
	gboolean ok = rl->tokens >= UNIT;
	gint64 wait_us = 0;
	if(ok)
		rl->tokens -= UNIT;
	else
		wait_us = (UNIT - rl->tokens + rl->per_second - 1) / rl->per_second;
	guint per_second = rl->per_second, burst = rl->burst;
	g_mutex_unlock(&rl->lock);
	if(!ok && err != NULL) {
		gint64 wait_ms = (wait_us + 999) / 1000;
		calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
			"too many requests on this handle: at most %u per second (max_events_per_second), "
			"%u in a burst (max_events_burst); this one was not processed, send it again in %"
			G_GINT64_FORMAT " ms", per_second, burst, wait_ms > 0 ? wait_ms : 1);
	}
	return ok;
}

guint calls_ratelimit_available(calls_ratelimit *rl, gint64 now_us) {
	if(rl == NULL)
		return G_MAXUINT;
	g_mutex_lock(&rl->lock);
	refill(rl, now_us);
	guint n = (guint)(rl->tokens / UNIT);
	g_mutex_unlock(&rl->lock);
	return n;
}
