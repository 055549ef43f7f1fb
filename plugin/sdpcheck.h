/* janus.plugin.calls - the publisher offer checker.
 *
 * What one publisher sends must not break what the others receive: strings
 * of a publisher's SDP end up in every subscriber's offer and in events (its
 * mid in the msid track id, its H.264 / VP9 profile in the fmtp line, its
 * rids in the relay's simulcast matching). This module reads the SDP text of
 * a publisher offer before Janus's parser sees it, checks every such string
 * against its grammar, and counts the m-lines:
 *
 *   mid              1-16 token characters (RFC 8843 / 5888 identification-tag,
 *                    RFC 4566 token), unique in the offer; 16 because the MID
 *                    RTP header extension (one-byte form) carries 16 bytes
 *   rid              1-16 characters of letters, digits, '-' and '_' (RFC 8851),
 *                    at most 3 per m-line (the simulcast layers relayed)
 *   a=simulcast      its rid ids likewise
 *   rtpmap encoding  1-32 token characters, payload type 0-127
 *   profile-level-id exactly 6 hex digits (H.264, RFC 6184)
 *   profile-id       1-2 digits (VP9)
 *   msid             1-64 token characters per part, at most two parts (RFC 8830)
 *
 * and no control characters anywhere but the line ends. m-lines: at most one
 * audio and two video (camera and screen) that are in use (port other than
 * 0), and at most CALLS_OFFER_MAX_MLINES in all.
 *
 * Pure: no Janus, no allocation; bounded work (one pass over the text).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_SDPCHECK_H
#define CALLS_SDPCHECK_H

#include <stddef.h>
#include <glib.h>

#include "contract.h"

#define CALLS_OFFER_MAX_MLINES 16     /* every m-line, in use or not */
#define CALLS_OFFER_MAX_AUDIO 1       /* audio m-lines in use */
#define CALLS_OFFER_MAX_VIDEO 2       /* video m-lines in use: camera and screen */
#define CALLS_MID_MAX 16
#define CALLS_RID_MAX 16
#define CALLS_RIDS_MAX 3
#define CALLS_CODEC_NAME_MAX 32
#define CALLS_MSID_PART_MAX 64

typedef enum {
	CALLS_MKIND_AUDIO = 0,
	CALLS_MKIND_VIDEO,
	CALLS_MKIND_APPLICATION,
	CALLS_MKIND_OTHER,
} calls_mkind;

typedef struct calls_offer_mline {
	calls_mkind kind;
	guint port;
	gboolean in_use;                          /* port != 0 */
	char mid[CALLS_MID_MAX + 1];              /* "" when the m-line has none */
	guint n_rids;
	char rids[CALLS_RIDS_MAX][CALLS_RID_MAX + 1];
	guint n_codecs;                           /* a=rtpmap lines */
} calls_offer_mline;

typedef struct calls_offer_scan {
	guint n_mlines;
	guint audio, video;                       /* in use */
	calls_offer_mline mlines[CALLS_OFFER_MAX_MLINES];
} calls_offer_scan;

/* Check a publisher offer (`len` bytes; a NUL byte inside is refused) and
 * describe its m-lines into `out`. FALSE with `err`: INVALID_REQUEST naming the
 * bad field, or LIMIT_EXCEEDED naming the limit. */
gboolean calls_offer_check(const char *sdp, size_t len, calls_offer_scan *out, calls_error *err);

/* The grammars, for the plugin's second look at what Janus parsed. */
gboolean calls_sdp_is_token(const char *s, size_t len);          /* RFC 4566 token, len >= 1 */
gboolean calls_sdp_is_mid(const char *s, size_t len);
gboolean calls_sdp_is_rid(const char *s, size_t len);
/* `name` is "profile-level-id" (6 hex digits) or "profile-id" (1-2 digits); other names: TRUE. */
gboolean calls_sdp_profile_ok(const char *name, const char *value, size_t len);

#endif
