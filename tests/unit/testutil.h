/* janus.plugin.calls - helpers shared by the unit tests (GLib gtest).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_TESTUTIL_H
#define CALLS_TESTUTIL_H

#include <glib.h>
#include <jansson.h>

/* Parse JSON text, aborting the test on a syntax error. New reference. */
json_t *test_json(const char *text);

/* A fresh temporary directory, removed (with its files) at exit. g_free() it. */
char *test_tmpdir(void);

/* The string at a dotted path ("data.callId", "participants.0.userId"), or NULL. */
const char *test_json_str(json_t *root, const char *path);
/* The node at a dotted path, or NULL. Borrowed. */
json_t *test_json_at(json_t *root, const char *path);

#define test_assert_json_str(root, path, expected) \
	g_assert_cmpstr(test_json_str((root), (path)), ==, (expected))

#endif
