/* janus.plugin.calls - SDP for the SFU, on top of Janus's sdp-utils.
 *
 * Three jobs: answer a publisher's offer (Opus audio; video only in VIDEO
 * calls, with the one codec of the call), write the offer of a subscriber
 * (one m-line per remote track, msid = the remote user id), and read a
 * subscriber's answer (which m-lines it accepted).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_SDP_H
#define CALLS_SDP_H

#include <glib.h>
#include <rtp.h>

#include "contract.h"
#include "sdpcheck.h"

#define CALLS_SDP_MAX_MLINES CALLS_OFFER_MAX_MLINES

/* The codecs of a call: one per kind, since an SFU does not transcode. The
 * video codec is chosen by the first video publisher (from the configured
 * preference list) and held for the whole call. */
typedef struct calls_sdp_codecs {
	janus_videocodec vcodec;   /* JANUS_VIDEOCODEC_NONE until chosen */
	char *vprofile;            /* H.264 profile-level-id or VP9 profile-id, or NULL */
} calls_sdp_codecs;

/* One m-line of a publisher's answered offer. */
typedef struct calls_sdp_stream {
	int mindex;
	gboolean video;
	gboolean active;           /* accepted, and the publisher sends on it */
	char mid[32];
	int pt;                    /* the publisher's payload type for the codec */
	char why[128];             /* why it was refused, if not active */
} calls_sdp_stream;

/* Answer a publisher's offer. `session` keeps the o= line stable across
 * renegotiations (pass 0 the first time; it is filled in). Returns the answer
 * SDP (g_free) and fills `streams` (n_streams entries), or NULL and `err`. */
char *calls_sdp_answer_publisher(const char *offer_sdp, gboolean video_allowed, char *const *video_prefs,
	calls_sdp_codecs *codecs, guint64 *session, guint64 *version,
	calls_sdp_stream *streams, guint *n_streams, calls_error *err);

/* Check the simulcast description Janus's core made of the offer (the jsep's
 * "simulcast": the rids are taken out of the SDP before the plugin sees it):
 * each rid a token of CALLS_RID_MAX letters, digits, '-', '_', at most
 * CALLS_RIDS_MAX per m-line. FALSE and `err` (INVALID_REQUEST, LIMIT_EXCEEDED). */
gboolean calls_sdp_check_simulcast(json_t *jsep, calls_error *err);

/* One m-line of a subscriber's offer. */
typedef struct calls_sdp_mline {
	gboolean video;
	char mid[16];
	const char *stream_id;     /* msid stream id (the remote user id), or NULL when inactive */
	const char *track_id;
	gboolean active;           /* sendonly, else inactive */
} calls_sdp_mline;

/* Payload types the subscriber side always uses. */
#define CALLS_PT_OPUS 111
int calls_sdp_video_pt(janus_videocodec vcodec);

/* Write a subscriber offer (g_free). */
char *calls_sdp_offer_subscriber(const calls_sdp_mline *mlines, guint n, const calls_sdp_codecs *codecs,
	guint64 session, guint64 version);

/* Read a subscriber's answer: accepted[i] tells whether m-line i will receive.
 * Returns FALSE and `err` when the SDP cannot be read or does not match. */
gboolean calls_sdp_read_subscriber_answer(const char *answer_sdp, guint n, gboolean *accepted, calls_error *err);

void calls_sdp_codecs_clear(calls_sdp_codecs *codecs);

#endif
