/* janus.plugin.calls - SDP for the SFU.
 *
 * Publisher answers: every m-line of the offer is answered. Audio takes Opus
 * or is refused; video takes the call's codec, or - for the first video
 * publisher of the call - the first codec of the configured preference list
 * that the offer carries; an AUDIO call refuses video; data channels are
 * refused. Accepted m-lines are recvonly: a publisher only sends.
 *
 * Subscriber offers use fixed payload types (Opus 111, VP8 96, VP9 98, H.264
 * 102, AV1 45); the relay rewrites the publisher's payload type into them, so
 * an m-line can be handed to another publisher without changing its codec
 * mapping. Video m-lines carry abs-send-time but not transport-cc, so that the
 * receiver estimates its bandwidth itself and reports it with REMB, which the
 * relay uses to pick simulcast layers.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <sdp-utils.h>
#include <rtp.h>

#include "sdp.h"
#include "sdpcheck.h"

int calls_sdp_video_pt(janus_videocodec vcodec) {
	switch(vcodec) {
		case JANUS_VIDEOCODEC_VP8: return 96;
		case JANUS_VIDEOCODEC_VP9: return 98;
		case JANUS_VIDEOCODEC_H264: return 102;
		case JANUS_VIDEOCODEC_AV1: return 45;
		default: return -1;
	}
}

void calls_sdp_codecs_clear(calls_sdp_codecs *codecs) {
	g_free(codecs->vprofile);
	codecs->vprofile = NULL;
	codecs->vcodec = JANUS_VIDEOCODEC_NONE;
}

static gboolean has_profile(janus_videocodec vcodec) {
	return vcodec == JANUS_VIDEOCODEC_H264 || vcodec == JANUS_VIDEOCODEC_VP9;
}

/* The payload type of `vcodec` in m-line `index` of the offer, respecting the call's profile. */
static int offered_video_pt(janus_sdp *offer, int index, janus_videocodec vcodec, const char *profile) {
	const char *name = janus_videocodec_name(vcodec);
	if(has_profile(vcodec) && profile != NULL)
		return janus_sdp_get_codec_pt_full(offer, index, name, profile);
	return janus_sdp_get_codec_pt(offer, index, name);
}

/* Pick the video codec of the call from the first video offer. */
static void choose_video_codec(janus_sdp *offer, int index, char *const *prefs, calls_sdp_codecs *codecs) {
	for(guint i = 0; prefs != NULL && prefs[i] != NULL; i++) {
		janus_videocodec vc = janus_videocodec_from_name(prefs[i]);
		int pt = vc != JANUS_VIDEOCODEC_NONE ? janus_sdp_get_codec_pt(offer, index, prefs[i]) : -1;
		if(pt < 0)
			continue;
		codecs->vcodec = vc;
		if(has_profile(vc)) {
			/* The profile goes into every subscriber's offer: only a well-formed one
			 * (the offer was checked already; this is what Janus made of it) */
			const char *fmtp = janus_sdp_get_fmtp(offer, index, pt);
			char *profile = fmtp ? janus_sdp_get_video_profile(vc, fmtp) : NULL;
			if(profile != NULL && !calls_sdp_profile_ok(vc == JANUS_VIDEOCODEC_H264 ? "profile-level-id" : "profile-id",
					profile, strlen(profile)))
				g_clear_pointer(&profile, g_free);
			codecs->vprofile = profile;
		}
		return;
	}
}

static void refuse(janus_sdp *offer, janus_sdp *answer, janus_sdp_mline *m, calls_sdp_stream *s, const char *why) {
	janus_sdp_generate_answer_mline(offer, answer, m,
		JANUS_SDP_OA_MLINE, m->type,
		JANUS_SDP_OA_ENABLED, FALSE,
		JANUS_SDP_OA_DONE);
	s->active = FALSE;
	g_strlcpy(s->why, why, sizeof(s->why));
}

gboolean calls_sdp_check_simulcast(json_t *jsep, calls_error *err) {
	json_t *list = json_object_get(jsep, "simulcast");
	for(size_t i = 0; i < json_array_size(list); i++) {
		json_t *item = json_array_get(list, i);
		json_t *rids = json_object_get(item, "rids");
		json_int_t mindex = json_integer_value(json_object_get(item, "mindex"));
		if(json_array_size(rids) > CALLS_RIDS_MAX) {
			calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
				"m-line %" JSON_INTEGER_FORMAT " has %zu a=rid: a publisher sends at most %d simulcast layers",
				mindex, json_array_size(rids), CALLS_RIDS_MAX);
			return FALSE;
		}
		for(size_t j = 0; j < json_array_size(rids); j++) {
			const char *rid = json_string_value(json_array_get(rids, j));
			if(rid == NULL || !calls_sdp_is_rid(rid, strlen(rid))) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"m-line %" JSON_INTEGER_FORMAT ": an a=rid is not 1 to %d letters, digits, '-' or '_'", mindex, CALLS_RID_MAX);
				return FALSE;
			}
		}
	}
	return TRUE;
}

char *calls_sdp_answer_publisher(const char *offer_sdp, gboolean video_allowed, char *const *video_prefs,
		calls_sdp_codecs *codecs, guint64 *session, guint64 *version,
		calls_sdp_stream *streams, guint *n_streams, calls_error *err) {
	/* What the others will receive of this offer is checked before Janus reads it
	 * (sdpcheck.c): mids, rids, codec names and profiles, m-line counts */
	calls_offer_scan scan;
	if(!calls_offer_check(offer_sdp, offer_sdp ? strlen(offer_sdp) : 0, &scan, err))
		return NULL;
	char error[512] = "";
	janus_sdp *offer = janus_sdp_parse(offer_sdp, error, sizeof(error));
	if(offer == NULL) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the offer's SDP could not be read: %s", error);
		return NULL;
	}
	if(g_list_length(offer->m_lines) != scan.n_mlines) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the offer's SDP could not be read: %u m-lines, of which Janus read %u",
			scan.n_mlines, g_list_length(offer->m_lines));
		janus_sdp_destroy(offer);
		return NULL;
	}
	janus_sdp *answer = janus_sdp_generate_answer(offer);
	guint n = 0;
	for(GList *l = offer->m_lines; l != NULL; l = l->next, n++) {
		janus_sdp_mline *m = l->data;
		calls_sdp_stream *s = &streams[n];
		memset(s, 0, sizeof(*s));
		s->mindex = m->index;
		s->video = (m->type == JANUS_SDP_VIDEO);
		s->pt = -1;
		/* The checked mid, as the checker read it (a token of at most CALLS_MID_MAX) */
		g_strlcpy(s->mid, scan.mlines[n].mid, sizeof(s->mid));
		gboolean sends = (m->direction == JANUS_SDP_SENDRECV || m->direction == JANUS_SDP_SENDONLY) && m->port > 0;
		janus_sdp_mdirection dir = sends ? JANUS_SDP_RECVONLY : JANUS_SDP_INACTIVE;
		if(m->type == JANUS_SDP_AUDIO) {
			s->pt = janus_sdp_get_codec_pt(offer, m->index, "opus");
			if(s->pt < 0) {
				refuse(offer, answer, m, s, "audio needs Opus");
				continue;
			}
			janus_sdp_generate_answer_mline(offer, answer, m,
				JANUS_SDP_OA_MLINE, JANUS_SDP_AUDIO,
				JANUS_SDP_OA_DIRECTION, dir,
				JANUS_SDP_OA_CODEC, "opus",
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_AUDIO_LEVEL,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC,
				JANUS_SDP_OA_DONE);
			s->active = sends;
		} else if(m->type == JANUS_SDP_VIDEO) {
			if(!video_allowed) {
				refuse(offer, answer, m, s, "this is an AUDIO call: video is refused");
				continue;
			}
			if(codecs->vcodec == JANUS_VIDEOCODEC_NONE)
				choose_video_codec(offer, m->index, video_prefs, codecs);
			s->pt = codecs->vcodec != JANUS_VIDEOCODEC_NONE ?
				offered_video_pt(offer, m->index, codecs->vcodec, codecs->vprofile) : -1;
			if(s->pt < 0) {
				refuse(offer, answer, m, s, codecs->vcodec == JANUS_VIDEOCODEC_NONE ?
					"none of the configured video codecs was offered" :
					"the call's video codec was not offered");
				continue;
			}
			janus_sdp_generate_answer_mline(offer, answer, m,
				JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO,
				JANUS_SDP_OA_DIRECTION, dir,
				JANUS_SDP_OA_CODEC, janus_videocodec_name(codecs->vcodec),
				JANUS_SDP_OA_VP9_PROFILE, codecs->vcodec == JANUS_VIDEOCODEC_VP9 ? codecs->vprofile : NULL,
				JANUS_SDP_OA_H264_PROFILE, codecs->vcodec == JANUS_VIDEOCODEC_H264 ? codecs->vprofile : NULL,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_RID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_REPAIRED_RID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_ABS_SEND_TIME,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_VIDEO_ORIENTATION,
				JANUS_SDP_OA_DONE);
			/* The payload type the answer settled on */
			int answered = janus_sdp_get_codec_pt(answer, m->index, janus_videocodec_name(codecs->vcodec));
			if(answered > 0)
				s->pt = answered;
			s->active = sends;
		} else {
			refuse(offer, answer, m, s, "data channels are not used");
		}
	}
	*n_streams = n;
	if(*session == 0)
		*session = answer->o_sessid;
	answer->o_sessid = *session;
	answer->o_version = ++(*version);
	char *text = janus_sdp_write(answer);
	janus_sdp_destroy(answer);
	janus_sdp_destroy(offer);
	if(text == NULL)
		calls_error_set(err, CALLS_ERR_INTERNAL, "the answer could not be written");
	return text;
}

char *calls_sdp_offer_subscriber(const calls_sdp_mline *mlines, guint n, const calls_sdp_codecs *codecs,
		guint64 session, guint64 version) {
	janus_sdp *offer = janus_sdp_generate_offer("janus.plugin.calls", "0.0.0.0", JANUS_SDP_OA_DONE);
	const char *vname = janus_videocodec_name(codecs->vcodec != JANUS_VIDEOCODEC_NONE ? codecs->vcodec : JANUS_VIDEOCODEC_VP8);
	janus_videocodec vcodec = codecs->vcodec != JANUS_VIDEOCODEC_NONE ? codecs->vcodec : JANUS_VIDEOCODEC_VP8;
	for(guint i = 0; i < n; i++) {
		const calls_sdp_mline *m = &mlines[i];
		gboolean with_msid = m->active && m->stream_id != NULL;
		if(m->video) {
			janus_sdp_generate_offer_mline(offer,
				JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO,
				JANUS_SDP_OA_MID, m->mid,
				JANUS_SDP_OA_MSID, with_msid ? m->stream_id : NULL, with_msid ? m->track_id : NULL,
				JANUS_SDP_OA_PT, calls_sdp_video_pt(vcodec),
				JANUS_SDP_OA_CODEC, vname,
				JANUS_SDP_OA_VP9_PROFILE, vcodec == JANUS_VIDEOCODEC_VP9 ? codecs->vprofile : NULL,
				JANUS_SDP_OA_H264_PROFILE, vcodec == JANUS_VIDEOCODEC_H264 ? codecs->vprofile : NULL,
				JANUS_SDP_OA_DIRECTION, m->active ? JANUS_SDP_SENDONLY : JANUS_SDP_INACTIVE,
				JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_MID, janus_rtp_extension_id(JANUS_RTP_EXTMAP_MID),
				JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_ABS_SEND_TIME, janus_rtp_extension_id(JANUS_RTP_EXTMAP_ABS_SEND_TIME),
				JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_VIDEO_ORIENTATION,
					janus_rtp_extension_id(JANUS_RTP_EXTMAP_VIDEO_ORIENTATION),
				JANUS_SDP_OA_DONE);
		} else {
			janus_sdp_generate_offer_mline(offer,
				JANUS_SDP_OA_MLINE, JANUS_SDP_AUDIO,
				JANUS_SDP_OA_MID, m->mid,
				JANUS_SDP_OA_MSID, with_msid ? m->stream_id : NULL, with_msid ? m->track_id : NULL,
				JANUS_SDP_OA_PT, CALLS_PT_OPUS,
				JANUS_SDP_OA_CODEC, "opus",
				JANUS_SDP_OA_FMTP, "minptime=10;useinbandfec=1",
				JANUS_SDP_OA_AUDIO_DTMF, FALSE,
				JANUS_SDP_OA_DIRECTION, m->active ? JANUS_SDP_SENDONLY : JANUS_SDP_INACTIVE,
				JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_MID, janus_rtp_extension_id(JANUS_RTP_EXTMAP_MID),
				JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_AUDIO_LEVEL, janus_rtp_extension_id(JANUS_RTP_EXTMAP_AUDIO_LEVEL),
				JANUS_SDP_OA_DONE);
		}
	}
	offer->o_sessid = session;
	offer->o_version = version;
	char *text = janus_sdp_write(offer);
	janus_sdp_destroy(offer);
	return text;
}

gboolean calls_sdp_read_subscriber_answer(const char *answer_sdp, guint n, gboolean *accepted, calls_error *err) {
	char error[512] = "";
	janus_sdp *answer = janus_sdp_parse(answer_sdp, error, sizeof(error));
	if(answer == NULL) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the answer's SDP could not be read: %s", error);
		return FALSE;
	}
	guint count = g_list_length(answer->m_lines);
	if(count != n) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"the answer has %u m-lines but the offer had %u: answer the last WEBRTC_OFFER_RECEIVED", count, n);
		janus_sdp_destroy(answer);
		return FALSE;
	}
	guint i = 0;
	for(GList *l = answer->m_lines; l != NULL; l = l->next, i++) {
		janus_sdp_mline *m = l->data;
		accepted[i] = m->port > 0 && (m->direction == JANUS_SDP_RECVONLY || m->direction == JANUS_SDP_SENDRECV);
	}
	janus_sdp_destroy(answer);
	return TRUE;
}
