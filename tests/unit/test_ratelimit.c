/* janus.plugin.calls - unit tests of the token bucket per handle (plugin/ratelimit.c),
 * on a clock the test moves by hand.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <glib.h>

#include "ratelimit.h"

#define MS(x) ((gint64)(x) * 1000)
#define S(x) ((gint64)(x) * G_USEC_PER_SEC)
#define T0 S(1000)   /* any start: a monotonic clock does not start at 0 */

/* Take `n` tokens at `now`; returns how many were granted. */
static guint take_n(calls_ratelimit *rl, gint64 now, guint n) {
	guint ok = 0;
	for(guint i = 0; i < n; i++)
		ok += calls_ratelimit_take(rl, now, NULL);
	return ok;
}

/* A full bucket grants exactly `burst` at once, then refuses. */
static void test_burst_then_refused(void) {
	calls_ratelimit *rl = calls_ratelimit_new(20, 40, T0);
	g_assert_cmpuint(calls_ratelimit_available(rl, T0), ==, 40);
	g_assert_cmpuint(take_n(rl, T0, 40), ==, 40);
	calls_error err = { 0 };
	g_assert_false(calls_ratelimit_take(rl, T0, &err));
	g_assert_cmpint(err.code, ==, CALLS_ERR_LIMIT_EXCEEDED);
	g_assert_nonnull(strstr(err.message, "too many requests on this handle: at most 20 per second"));
	g_assert_nonnull(strstr(err.message, "max_events_per_second"));
	g_assert_nonnull(strstr(err.message, "40 in a burst (max_events_burst)"));
	/* the next token comes after 1/20 s = 50 ms */
	g_assert_nonnull(strstr(err.message, "again in 50 ms"));
	/* a refusal takes nothing: still empty, not negative */
	g_assert_cmpuint(calls_ratelimit_available(rl, T0), ==, 0);
	calls_ratelimit_free(rl);
}

/* Tokens come back at `per_second`, one by one. */
static void test_refill_rate(void) {
	calls_ratelimit *rl = calls_ratelimit_new(20, 40, T0);
	g_assert_cmpuint(take_n(rl, T0, 41), ==, 40);
	/* 49 ms: not yet a whole token */
	g_assert_false(calls_ratelimit_take(rl, T0 + MS(49), NULL));
	/* 50 ms: one */
	g_assert_true(calls_ratelimit_take(rl, T0 + MS(50), NULL));
	g_assert_false(calls_ratelimit_take(rl, T0 + MS(50), NULL));
	/* one second later: 20 more, not 21 */
	g_assert_cmpuint(take_n(rl, T0 + MS(1050), 30), ==, 20);
	calls_ratelimit_free(rl);
}

/* A steady sender at the rate is never refused; one above it is, at the rate. */
static void test_steady_senders(void) {
	calls_ratelimit *rl = calls_ratelimit_new(10, 10, T0);
	guint ok = 0;
	for(int i = 0; i < 1000; i++)   /* 10 per second for 100 s */
		ok += calls_ratelimit_take(rl, T0 + MS(100) * i, NULL);
	g_assert_cmpuint(ok, ==, 1000);
	calls_ratelimit_free(rl);

	rl = calls_ratelimit_new(10, 10, T0);
	ok = 0;
	for(int i = 0; i < 1000; i++)   /* 100 per second for 10 s: the burst, then 10 a second */
		ok += calls_ratelimit_take(rl, T0 + MS(10) * i, NULL);
	g_assert_cmpuint(ok, >=, 10 + 99);
	g_assert_cmpuint(ok, <=, 10 + 100);
	calls_ratelimit_free(rl);
}

/* A long silence refills to the burst, no more (and no overflow whatever the gap). */
static void test_refill_capped(void) {
	calls_ratelimit *rl = calls_ratelimit_new(5, 8, T0);
	g_assert_cmpuint(take_n(rl, T0, 8), ==, 8);
	g_assert_cmpuint(calls_ratelimit_available(rl, T0 + S(3600)), ==, 8);
	g_assert_cmpuint(calls_ratelimit_available(rl, G_MAXINT64 / 2), ==, 8);
	g_assert_cmpuint(take_n(rl, G_MAXINT64 / 2, 9), ==, 8);
	calls_ratelimit_free(rl);

	/* the largest settings the configuration takes */
	rl = calls_ratelimit_new(100000, 1000000, T0);
	g_assert_cmpuint(take_n(rl, T0, 1000), ==, 1000);
	g_assert_cmpuint(calls_ratelimit_available(rl, G_MAXINT64 / 2), ==, 1000000);
	calls_ratelimit_free(rl);
}

/* A clock that goes back adds nothing and takes nothing away. */
static void test_clock_backwards(void) {
	calls_ratelimit *rl = calls_ratelimit_new(1, 2, T0);
	g_assert_cmpuint(take_n(rl, T0, 2), ==, 2);
	g_assert_false(calls_ratelimit_take(rl, T0 - S(10), NULL));
	g_assert_false(calls_ratelimit_take(rl, T0 + MS(999), NULL));
	g_assert_true(calls_ratelimit_take(rl, T0 + S(1), NULL));
	calls_ratelimit_free(rl);
}

/* Slow rates: a token every 2 s at 1 per second and burst 1; the wait is named. */
static void test_slow_rate_wait(void) {
	calls_ratelimit *rl = calls_ratelimit_new(1, 0, T0);   /* burst 0 is taken as 1 */
	g_assert_true(calls_ratelimit_take(rl, T0, NULL));
	calls_error err = { 0 };
	g_assert_false(calls_ratelimit_take(rl, T0 + MS(250), &err));
	g_assert_nonnull(strstr(err.message, "again in 750 ms"));
	g_assert_nonnull(strstr(err.message, "1 in a burst"));
	g_assert_true(calls_ratelimit_take(rl, T0 + S(1) + MS(1), NULL));
	calls_ratelimit_free(rl);
}

/* 0 per second: no bucket, nothing is ever refused. */
static void test_no_limit(void) {
	calls_ratelimit *rl = calls_ratelimit_new(0, 40, T0);
	g_assert_null(rl);
	g_assert_cmpuint(take_n(rl, T0, 100000), ==, 100000);
	g_assert_cmpuint(calls_ratelimit_available(rl, T0), ==, G_MAXUINT);
	calls_ratelimit_free(NULL);
}

/* Two threads share one bucket: exactly `burst` tokens are granted between them. */
typedef struct { calls_ratelimit *rl; guint granted; } racer;

static gpointer race(gpointer data) {
	racer *r = data;
	r->granted = take_n(r->rl, T0, 5000);
	return NULL;
}

static void test_threads(void) {
	calls_ratelimit *rl = calls_ratelimit_new(1, 3000, T0);
	racer a = { rl, 0 }, b = { rl, 0 };
	GThread *ta = g_thread_new("a", race, &a), *tb = g_thread_new("b", race, &b);
	g_thread_join(ta);
	g_thread_join(tb);
	g_assert_cmpuint(a.granted + b.granted, ==, 3000);
	calls_ratelimit_free(rl);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ratelimit/burst_then_refused", test_burst_then_refused);
	g_test_add_func("/ratelimit/refill_rate", test_refill_rate);
	g_test_add_func("/ratelimit/steady_senders", test_steady_senders);
	g_test_add_func("/ratelimit/refill_capped", test_refill_capped);
	g_test_add_func("/ratelimit/clock_backwards", test_clock_backwards);
	g_test_add_func("/ratelimit/slow_rate_wait", test_slow_rate_wait);
	g_test_add_func("/ratelimit/no_limit", test_no_limit);
	g_test_add_func("/ratelimit/threads", test_threads);
	return g_test_run();
}
