/* janus.plugin.calls - libFuzzer target for the publisher offer checker (plugin/sdpcheck.c).
 *
 * The input is the SDP text of a publisher offer, as Janus hands it to the
 * plugin. What is checked on every input, besides memory safety:
 *   - a refusal is INVALID_REQUEST or LIMIT_EXCEEDED with a message that is
 *     valid UTF-8 without control characters;
 *   - an accepted offer is within the limits (m-lines in all, sending audio
 *     and video), and each of its mids is a token of at most 16 characters,
 *     unique, and each rid a rid of at most 16 characters, at most 3 per m-line;
 *   - independently of the checker (a naive re-reading of the text): in an
 *     accepted offer, no a=mid line of an m-line carries anything but token
 *     characters, and every profile-level-id is 6 hex digits;
 *   - the checker's result does not depend on a CR before each LF.
 * Build and run: see tests/fuzz/README.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "sdpcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(gboolean ok, const char *what) {
	if(!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static gboolean tokenish(const char *s, size_t n) {
	static const char extra[] = "!#$%&'*+-.^_`{|}~";
	if(n == 0)
		return FALSE;
	for(size_t i = 0; i < n; i++) {
		if(!g_ascii_isalnum(s[i]) && (s[i] == '\0' || memchr(extra, s[i], sizeof(extra) - 1) == NULL))
			return FALSE;
	}
	return TRUE;
}

/* A second reading of an accepted offer, line by line, without the checker's code. */
static void reread(const char *text, size_t size) {
	gboolean in_media = FALSE;
	size_t pos = 0;
	while(pos < size) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - line) : size - pos;
		pos += n + 1;
		if(n > 0 && line[n - 1] == '\r')
			n--;
		if(n >= 2 && line[0] == 'm' && line[1] == '=')
			in_media = TRUE;
		if(in_media && n >= 6 && strncmp(line, "a=mid:", 6) == 0)
			require(tokenish(line + 6, n - 6) && n - 6 <= CALLS_MID_MAX, "an accepted mid is a token of at most 16");
		if(in_media && n >= 7 && strncmp(line, "a=fmtp:", 7) == 0) {
			/* every profile-level-id= value, up to ';' and without spaces around it */
			const char *sp = memchr(line + 7, ' ', n - 7);
			size_t params = sp ? (size_t)(sp - line) + 1 : n;
			for(size_t i = params; i + 17 <= n; i++) {
				if(g_ascii_strncasecmp(line + i, "profile-level-id", 16) != 0 || (i > params && line[i - 1] != ';' && line[i - 1] != ' '))
					continue;
				size_t j = i + 16;
				while(j < n && (line[j] == ' ' || line[j] == '\t'))
					j++;
				if(j >= n || line[j] != '=')
					continue;
				j++;
				while(j < n && (line[j] == ' ' || line[j] == '\t'))
					j++;
				size_t k = j;
				while(k < n && line[k] != ';')
					k++;
				while(k > j && (line[k - 1] == ' ' || line[k - 1] == '\t'))
					k--;
				require(k - j == 6, "an accepted profile-level-id has 6 characters");
				for(size_t x = j; x < k; x++)
					require(g_ascii_isxdigit(line[x]), "an accepted profile-level-id is hex");
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	const char *text = (const char *)data;
	calls_offer_scan scan;
	calls_error err = { 0 };
	gboolean ok = calls_offer_check(text, size, &scan, &err);
	if(!ok) {
		require(err.code == CALLS_ERR_INVALID_REQUEST || err.code == CALLS_ERR_LIMIT_EXCEEDED, "a refusal's code");
		require(err.message[0] != '\0', "a refusal has a message");
		require(g_utf8_validate(err.message, -1, NULL), "the message is UTF-8");
		for(const char *c = err.message; *c; c++)
			require((unsigned char)*c >= 0x20, "no control characters in the message");
	} else {
		require(scan.n_mlines <= CALLS_OFFER_MAX_MLINES, "m-lines in all");
		require(scan.audio <= CALLS_OFFER_MAX_AUDIO && scan.video <= CALLS_OFFER_MAX_VIDEO, "sending m-lines");
		guint audio = 0, video = 0;
		for(guint i = 0; i < scan.n_mlines; i++) {
			const calls_offer_mline *m = &scan.mlines[i];
			require(m->in_use == (m->in_use && m->port != 0), "in use means a port");
			audio += m->in_use && m->kind == CALLS_MKIND_AUDIO;
			video += m->in_use && m->kind == CALLS_MKIND_VIDEO;
			size_t len = strlen(m->mid);
			require(len == 0 || calls_sdp_is_mid(m->mid, len), "a mid is a token");
			for(guint j = 0; len > 0 && j < i; j++)
				require(strcmp(scan.mlines[j].mid, m->mid) != 0, "mids are unique");
			require(m->n_rids <= CALLS_RIDS_MAX, "rids per m-line");
			for(guint j = 0; j < m->n_rids; j++)
				require(calls_sdp_is_rid(m->rids[j], strlen(m->rids[j])), "a rid is a rid");
		}
		require(audio == scan.audio && video == scan.video, "the counts are the m-lines'");
		reread(text, size);
	}
	/* The same text with CRLF line ends (where it had LF) gives the same verdict */
	if(size < 4096 && memchr(data, '\r', size) == NULL) {
		GString *crlf = g_string_sized_new(size * 2);
		for(size_t i = 0; i < size; i++) {
			if(text[i] == '\n')
				g_string_append_c(crlf, '\r');
			g_string_append_c(crlf, text[i]);
		}
		calls_offer_scan scan2;
		calls_error err2 = { 0 };
		gboolean ok2 = calls_offer_check(crlf->str, crlf->len, &scan2, &err2);
		require(ok == ok2 && (ok || err.code == err2.code), "CRLF or LF: the same verdict");
		require(!ok || memcmp(&scan, &scan2, sizeof(scan)) == 0, "CRLF or LF: the same description");
		g_string_free(crlf, TRUE);
	}
	return 0;
}
