/* janus.plugin.calls - replays a fuzz target's corpus without libFuzzer (make check).
 *
 * Linked with one fuzz_*.c, it feeds every file of the target's corpus folder
 * (FUZZ_CORPUS, or the folders given as arguments) to LLVMFuzzerTestOneInput,
 * in name order, and prints one TAP test point per file. A broken invariant
 * aborts, which the TAP driver reports as an error; so does a sanitizer in
 * the asan build. No clang needed: gcc builds it like the unit tests.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* fuzz_contract and fuzz_router have one; the others do not */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static gint by_name(gconstpointer a, gconstpointer b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
	if(LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	const char *dirs_default[] = { FUZZ_CORPUS, NULL };
	const char *const *dirs = argc > 1 ? (const char *const *)(argv + 1) : dirs_default;
	for(guint d = 0; dirs[d] != NULL; d++) {
		GError *error = NULL;
		GDir *dir = g_dir_open(dirs[d], 0, &error);
		if(dir == NULL) {
			printf("Bail out! %s\n", error->message);
			return 1;
		}
		const char *name;
		while((name = g_dir_read_name(dir)) != NULL)
			g_ptr_array_add(files, g_build_filename(dirs[d], name, NULL));
		g_dir_close(dir);
	}
	g_ptr_array_sort(files, by_name);
	if(files->len == 0) {
		printf("Bail out! the corpus is empty\n");
		return 1;
	}
	printf("1..%u\n", files->len);
	fflush(stdout);
	for(guint i = 0; i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		char *data = NULL;
		gsize len = 0;
		GError *error = NULL;
		if(!g_file_get_contents(path, &data, &len, &error)) {
			printf("not ok %u - %s: %s\n", i + 1, path, error->message);
			g_error_free(error);
			continue;
		}
		/* exactly `len` bytes, as libFuzzer gives them (a sanitizer sees any read past the end) */
		uint8_t *input = g_malloc(len ? len : 1);
		memcpy(input, data, len);
		g_free(data);
		LLVMFuzzerTestOneInput(input, len);
		g_free(input);
		char *base = g_path_get_basename(path);
		printf("ok %u - %s\n", i + 1, base);
		fflush(stdout);
		g_free(base);
	}
	g_ptr_array_free(files, TRUE);
	return 0;
}
