/* janus.plugin.calls - unit tests of the simulcast layer policy of a link (plugin/layers.c).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>

#include "layers.h"

#define S(x) ((gint64)(x) * G_USEC_PER_SEC)
#define HOLD CALLS_LAYER_HOLD_DOWN_US

/* Three layers as a browser sends them at 1280x720: 150, 500 and 1500 kbit/s. */
static const guint32 need[CALLS_LAYERS] = { 150000, 500000, 1500000 };

static void test_starts_at_the_top(void) {
	calls_link l;
	calls_link_init(&l);
	g_assert_cmpint(l.cap, ==, CALLS_LAYERS - 1);
}

/* Congestion: the estimate falls below what the layer forwarded now costs. */
static void test_falling_estimate_goes_down(void) {
	calls_link l;
	calls_link_init(&l);
	g_assert_false(calls_link_remb(&l, 2000000, need, 2, S(1)));
	g_assert_cmpint(l.cap, ==, 2);
	/* falls to 600 kbit/s: the top layer no longer fits, layer 1 does */
	g_assert_true(calls_link_remb(&l, 600000, need, 2, S(2)));
	g_assert_cmpint(l.cap, ==, 1);
	g_assert_cmpint(l.changed, ==, S(2));
	/* falls again under layer 1's need: down to 0 */
	g_assert_true(calls_link_remb(&l, 300000, need, 1, S(3)));
	g_assert_cmpint(l.cap, ==, 0);
	/* nothing lower than 0 */
	g_assert_false(calls_link_remb(&l, 100000, need, 0, S(4)));
	g_assert_cmpint(l.cap, ==, 0);
}

/* The bug the media tests found: a subscriber capped itself to layer 0, so its
 * estimate stays around what layer 0 costs. That is no reason to lower the link
 * cap: when it asks for layer 2 again, it must get it. */
static void test_low_but_steady_estimate_keeps_the_cap(void) {
	calls_link l;
	calls_link_init(&l);
	for(int i = 1; i <= 20; i++) {
		g_assert_false(calls_link_remb(&l, 220000 + (i % 2) * 5000, need, 0, S(i)));
		g_assert_cmpint(l.cap, ==, 2);
	}
}

/* A falling estimate that still carries the layer forwarded now changes nothing. */
static void test_falling_but_enough_for_the_current_layer(void) {
	calls_link l;
	calls_link_init(&l);
	calls_link_remb(&l, 900000, need, 1, S(1));
	/* falls by a third, the top layer does not fit, but layer 1 (forwarded) still does */
	g_assert_false(calls_link_remb(&l, 600000, need, 1, S(2)));
	g_assert_cmpint(l.cap, ==, 2);
}

/* Going up: one layer at a time, at most once per hold-down. */
static void test_up_after_the_hold_down(void) {
	calls_link l;
	calls_link_init(&l);
	calls_link_remb(&l, 2000000, need, 2, S(0) + 1);
	calls_link_remb(&l, 200000, need, 2, S(1));
	g_assert_cmpint(l.cap, ==, 0);
	/* plenty again, but inside the hold-down: stays */
	g_assert_false(calls_link_remb(&l, 3000000, need, 0, S(1) + HOLD - 1));
	g_assert_cmpint(l.cap, ==, 0);
	/* after it: one layer up, not two */
	g_assert_true(calls_link_remb(&l, 3000000, need, 0, S(1) + HOLD));
	g_assert_cmpint(l.cap, ==, 1);
	g_assert_false(calls_link_remb(&l, 3000000, need, 1, S(1) + HOLD + 1));
	g_assert_true(calls_link_remb(&l, 3000000, need, 1, S(1) + 2 * HOLD));
	g_assert_cmpint(l.cap, ==, 2);
}

/* Layers not measured yet (no packet of them so far) count as fitting. */
static void test_unknown_layers_fit(void) {
	calls_link l;
	calls_link_init(&l);
	const guint32 unknown[CALLS_LAYERS] = { 150000, 0, 0 };
	calls_link_remb(&l, 1000000, unknown, 0, S(1));
	g_assert_false(calls_link_remb(&l, 100000, unknown, 0, S(2)));
	g_assert_cmpint(l.cap, ==, 2);
}

static void test_slow_link_and_quiet(void) {
	calls_link l;
	calls_link_init(&l);
	g_assert_true(calls_link_slow(&l, S(10)));
	g_assert_cmpint(l.cap, ==, 1);
	g_assert_true(calls_link_slow(&l, S(11)));
	g_assert_false(calls_link_slow(&l, S(12)));   /* at 0 already */
	g_assert_cmpint(l.cap, ==, 0);
	/* quiet: nothing for two hold-downs after the last slow link */
	g_assert_false(calls_link_quiet(&l, S(12) + 2 * HOLD - 1));
	g_assert_true(calls_link_quiet(&l, S(12) + 2 * HOLD));
	g_assert_cmpint(l.cap, ==, 1);
	g_assert_false(calls_link_quiet(&l, S(12) + 3 * HOLD));
	g_assert_true(calls_link_quiet(&l, S(12) + 4 * HOLD));
	g_assert_cmpint(l.cap, ==, 2);
	g_assert_false(calls_link_quiet(&l, S(12) + 10 * HOLD));   /* at the top already */
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/layers/starts-at-the-top", test_starts_at_the_top);
	g_test_add_func("/layers/remb/falling-goes-down", test_falling_estimate_goes_down);
	g_test_add_func("/layers/remb/low-but-steady-keeps-the-cap", test_low_but_steady_estimate_keeps_the_cap);
	g_test_add_func("/layers/remb/falling-but-enough", test_falling_but_enough_for_the_current_layer);
	g_test_add_func("/layers/remb/up-after-hold-down", test_up_after_the_hold_down);
	g_test_add_func("/layers/remb/unknown-layers-fit", test_unknown_layers_fit);
	g_test_add_func("/layers/slow-link-and-quiet", test_slow_link_and_quiet);
	return g_test_run();
}
