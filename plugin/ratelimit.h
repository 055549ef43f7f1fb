/* janus.plugin.calls - a token bucket per handle: how many requests a handle
 * may send per second.
 *
 * A bucket holds at most `burst` tokens and gains `per_second` tokens a
 * second; every request a handle sends (register, routes, events) takes one,
 * and a request that finds the bucket empty is refused with LIMIT_EXCEEDED
 * before it reaches the worker (docs/api.md, "Limits"). The clock is given by
 * the caller (monotonic microseconds), so unit tests drive it by hand.
 *
 * Pure: no Janus. A bucket may be used from several threads (Janus may hand
 * two requests of one handle to two transport threads): it has its own lock.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_RATELIMIT_H
#define CALLS_RATELIMIT_H

#include <glib.h>
#include "contract.h"

typedef struct calls_ratelimit calls_ratelimit;

/* A full bucket (`burst` tokens, `per_second` more each second), or NULL when
 * `per_second` is 0: no limit (every function takes NULL as "no limit").
 * A `burst` of 0 is taken as 1. */
calls_ratelimit *calls_ratelimit_new(guint per_second, guint burst, gint64 now_us);
void calls_ratelimit_free(calls_ratelimit *rl);

/* Take one token at `now_us`. TRUE: the request may go on. FALSE: the bucket
 * is empty, `err` (if not NULL) is LIMIT_EXCEEDED naming the limit and when
 * the next token comes; nothing was taken. A clock going backwards refills nothing. */
gboolean calls_ratelimit_take(calls_ratelimit *rl, gint64 now_us, calls_error *err);

/* Whole tokens left at `now_us` (for tests and logs); G_MAXUINT without limit. */
guint calls_ratelimit_available(calls_ratelimit *rl, gint64 now_us);

#endif
