/* janus.plugin.calls - helpers shared by the unit tests.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include "testutil.h"

json_t *test_json(const char *text) {
	json_error_t error;
	json_t *root = json_loads(text, JSON_DECODE_ANY, &error);
	if(root == NULL)
		g_error("bad JSON in test (line %d: %s): %s", error.line, error.text, text);
	return root;
}

static GPtrArray *tmpdirs = NULL;

static void remove_tree(const char *path) {
	GDir *dir = g_dir_open(path, 0, NULL);
	if(dir != NULL) {
		const char *name;
		while((name = g_dir_read_name(dir)) != NULL) {
			char *child = g_build_filename(path, name, NULL);
			if(g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
			g_free(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

static void remove_tmpdirs(void) {
	for(guint i = 0; tmpdirs != NULL && i < tmpdirs->len; i++)
		remove_tree(g_ptr_array_index(tmpdirs, i));
	if(tmpdirs != NULL)
		g_ptr_array_free(tmpdirs, TRUE);
	tmpdirs = NULL;
}

char *test_tmpdir(void) {
	GError *error = NULL;
	char *dir = g_dir_make_tmp("calls-unit-XXXXXX", &error);
	g_assert_no_error(error);
	if(tmpdirs == NULL) {
		tmpdirs = g_ptr_array_new_with_free_func(g_free);
		atexit(remove_tmpdirs);
	}
	g_ptr_array_add(tmpdirs, g_strdup(dir));
	return dir;
}

json_t *test_json_at(json_t *root, const char *path) {
	gchar **parts = g_strsplit(path, ".", -1);
	json_t *node = root;
	for(int i = 0; parts[i] != NULL && node != NULL; i++) {
		if(json_is_array(node)) {
			char *end = NULL;
			long idx = strtol(parts[i], &end, 10);
			node = (end && *end == '\0') ? json_array_get(node, (size_t)idx) : NULL;
		} else {
			node = json_object_get(node, parts[i]);
		}
	}
	g_strfreev(parts);
	return node;
}

const char *test_json_str(json_t *root, const char *path) {
	return json_string_value(test_json_at(root, path));
}
