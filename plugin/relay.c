/* janus.plugin.calls - the relay: what runs on Janus's ICE threads.
 *
 * Per incoming packet of a publisher: take the publisher's current table
 * (one reference, see media.h), account the packet, send a PLI if somebody
 * asked for a key frame (at most one per stream per pli_interval), then for
 * each slot of the stream's fan-out: copy the packet onto the stack, let the
 * simulcast context decide whether this layer goes to that subscriber,
 * rewrite sequence number, timestamp and payload type so the subscriber sees
 * one continuous stream, and hand the copy to the core. No allocation, no
 * JSON, no lock held while relaying, no logging above debug level.
 *
 * What comes from the network is read by our own checked parsers (rtpwire.c:
 * the RTP header and its extensions, the rid, RTCP compounds, the VP8
 * descriptor and its rewriting across layer switches); a packet they refuse
 * is dropped. Janus's simulcasting context still picks the layer and spots key
 * frames, and Janus's switching context rewrites sequence numbers and
 * timestamps: the simulcasting context updates that same context when it
 * drops packets.
 *
 * Subscriber RTCP: PLI/FIR become key-frame requests to the source stream;
 * REMB, slow_link and the quiet periods between them drive the layer cap of
 * each simulcast video slot (the policy is layers.c), the REMB's budget shared
 * equally between the subscriber's video slots. All of that runs on the
 * subscriber's own ICE thread; the publisher's thread only reads the cap.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <arpa/inet.h>

#include <debug.h>
#include <rtp.h>
#include <utils.h>

#include "sfu.h"
#include "media.h"
#include "rtpwire.h"

#define RELAY_BUFSIZE 1600                    /* larger packets are not relayed */
#define STARVED_US G_USEC_PER_SEC             /* no packet relayed for so long: ask for a key frame */

static void count(calls_counters *c, guint len, gint64 now) {
	__atomic_store_n(&c->packets, c->packets + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes, c->bytes + len, __ATOMIC_RELAXED);
	c->window_bytes += len;
	if(c->window_start == 0) {
		c->window_start = (guint64)now;
	} else if((guint64)now - c->window_start >= G_USEC_PER_SEC) {
		guint64 elapsed = (guint64)now - c->window_start;
		__atomic_store_n(&c->bitrate, (guint32)(c->window_bytes * 8 * G_USEC_PER_SEC / elapsed), __ATOMIC_RELAXED);
		c->window_start = (guint64)now;
		c->window_bytes = 0;
	}
}

/* Which simulcast layer a packet belongs to, learning SSRCs from rids; 0 without simulcast. */
static int layer_of(calls_stream *s, const uint8_t *buf, const calls_rtp_view *v) {
	if(!s->simulcast)
		return 0;
	for(int i = 0; i < CALLS_LAYERS; i++) {
		if(s->ssrcs[i] == v->ssrc)
			return i;
	}
	if(s->rid_ext_id <= 0)
		return -1;
	char rid[CALLS_RID_MAX + 1];
	if(!calls_rtp_rid(buf, v, s->rid_ext_id, rid, sizeof(rid)))
		return -1;
	for(int i = 0; i < CALLS_LAYERS; i++) {
		if(s->rids[i] != NULL && strcmp(s->rids[i], rid) == 0 && s->ssrcs[i] == 0) {
			s->ssrcs[i] = v->ssrc;
			return i;
		}
	}
	return -1;
}

/* RFC 3550 style loss estimate on the main (lowest) layer. */
static void track_loss(calls_stream *s, guint16 seq) {
	if(!s->seq_started) {
		s->seq_started = TRUE;
		s->base_seq = seq;
		s->max_seq = seq;
		s->received = 1;
		return;
	}
	s->received++;
	gint16 delta = (gint16)(seq - s->max_seq);
	if(delta > 0) {
		if(seq < s->max_seq)
			s->seq_cycles += 65536;
		s->max_seq = seq;
	}
	guint64 expected = (guint64)s->seq_cycles + s->max_seq - s->base_seq + 1;
	guint64 lost = expected > s->received ? expected - s->received : 0;
	__atomic_store_n(&s->lost, lost, __ATOMIC_RELAXED);
}

static void relay_to(calls_slot *slot, calls_stream *stream, const janus_plugin_rtp *in, const calls_rtp_view *v,
		janus_plugin_rtp *out, gint64 now) {
	calls_session *sub = slot->sub;
	if(!g_atomic_int_get(&slot->ready) || g_atomic_int_get(&sub->destroyed) || !g_atomic_int_get(&sub->media_up))
		return;
	if(in->length > RELAY_BUFSIZE)
		return;
	char buf[RELAY_BUFSIZE];
	int len = in->length;
	memcpy(buf, in->buffer, len);
	janus_rtp_header *header = (janus_rtp_header *)buf;
	if(stream->simulcast) {
		int cap = MIN(g_atomic_int_get(&slot->max_substream), g_atomic_int_get(&slot->link_cap));
		slot->sim.substream_target = MAX(cap, 0);
		slot->sim.templayer_target = g_atomic_int_get(&slot->max_temporal);
		gboolean relay = janus_rtp_simulcasting_context_process_rtp(&slot->sim, buf, len, stream->ssrcs, NULL,
			stream->vcodec, &slot->rtp, NULL);
		if(slot->sim.need_pli || (!relay && now - slot->sim.last_relayed >= STARVED_US))
			calls_stream_want_keyframe(stream);
		if(!relay)
			return;
		janus_rtp_header_update(header, &slot->rtp, TRUE, 0);
		/* The header keeps its length: the payload is where the parser found it */
		if(stream->vcodec == JANUS_VIDEOCODEC_VP8 && v->payload_len > 0)
			calls_vp8_rewrite_apply(&slot->vp8, (uint8_t *)buf + v->payload_offset, v->payload_len,
				slot->sim.changed_substream);
		__atomic_store_n(&slot->substream, slot->sim.substream, __ATOMIC_RELAXED);
	} else {
		janus_rtp_header_update(header, &slot->rtp, stream->video, 0);
	}
	header->type = slot->pt;
	out->mindex = slot->mindex;
	out->buffer = buf;
	out->length = len;
	calls_gateway->relay_rtp(sub->handle, out);
	count(&slot->out, len, now);
}

void calls_sfu_incoming_rtp(calls_sfu *sfu, calls_session *s, janus_plugin_rtp *packet) {
	calls_peer *peer = g_atomic_pointer_get(&s->peer);
	if(peer == NULL || peer->role != CALLS_PEER_PUBLISHER || packet->buffer == NULL || packet->length < 12)
		return;
	calls_rtp_view v;
	if(!calls_rtp_parse((const uint8_t *)packet->buffer, (size_t)packet->length, &v))
		return;
	calls_table *t = calls_table_take(peer);
	if(t == NULL)
		return;
	int mindex = packet->mindex;
	calls_stream *stream = (mindex >= 0 && (guint)mindex < t->n) ? t->streams[mindex] : NULL;
	if(stream == NULL)
		goto done;
	if(!g_atomic_int_get(&peer->media_seen) && g_atomic_int_compare_and_exchange(&peer->media_seen, 0, 1))
		calls_sfu_report_media(s, t);
	gint64 now = janus_get_monotonic_time();
	__atomic_store_n(&peer->last_rtp, now, __ATOMIC_RELAXED);
	int layer = layer_of(stream, (const uint8_t *)packet->buffer, &v);
	count(&stream->in, packet->length, now);
	if(layer >= 0)
		count(&stream->layer[layer], packet->length, now);
	if(layer == 0)
		track_loss(stream, v.seq);
	if(g_atomic_int_get(&stream->keyframe_wanted) &&
			now - stream->last_pli >= (gint64)calls_sfu_pli_interval_ms() * 1000) {
		g_atomic_int_set(&stream->keyframe_wanted, 0);
		stream->last_pli = now;
		calls_gateway->send_pli_stream(s->handle, mindex);
	}
	if(g_atomic_int_get(&stream->muted) || layer < 0)
		goto done;
	calls_fanout *fanout = &t->fanouts[mindex];
	janus_plugin_rtp out = { .mindex = -1, .video = stream->video, .extensions = packet->extensions };
	for(guint i = 0; i < fanout->len; i++)
		relay_to(fanout->slots[i], stream, packet, &v, &out, now);
done:
	calls_table_release(t);
}

/* Share a subscriber's REMB between its simulcast video slots. */
static void apply_remb(calls_table *t, guint32 bitrate, gint64 now) {
	guint videos = 0;
	guint64 audio = 0;
	for(guint i = 0; i < t->n; i++) {
		calls_slot *slot = t->slots[i];
		if(slot == NULL || !g_atomic_int_get(&slot->ready))
			continue;
		if(slot->video)
			videos++;
		else
			audio += __atomic_load_n(&slot->source->in.bitrate, __ATOMIC_RELAXED);
	}
	if(videos == 0)
		return;
	guint64 share = (bitrate > audio ? bitrate - audio : 0) / videos;
	for(guint i = 0; i < t->n; i++) {
		calls_slot *slot = t->slots[i];
		if(slot == NULL || !slot->video || !slot->source->simulcast || !g_atomic_int_get(&slot->ready))
			continue;
		guint32 need[CALLS_LAYERS];
		for(int l = 0; l < CALLS_LAYERS; l++)
			need[l] = __atomic_load_n(&slot->source->layer[l].bitrate, __ATOMIC_RELAXED);
		int sending = __atomic_load_n(&slot->substream, __ATOMIC_RELAXED);
		if(calls_link_remb(&slot->link, share, need, sending, now))
			g_atomic_int_set(&slot->link_cap, slot->link.cap);
	}
}

void calls_sfu_incoming_rtcp(calls_sfu *sfu, calls_session *s, janus_plugin_rtcp *packet) {
	calls_peer *peer = g_atomic_pointer_get(&s->peer);
	if(peer == NULL || peer->role != CALLS_PEER_SUBSCRIBER || packet->buffer == NULL || packet->length <= 0)
		return;
	calls_rtcp_summary rtcp;
	calls_rtcp_scan((const uint8_t *)packet->buffer, (size_t)packet->length, &rtcp);
	calls_table *t = calls_table_take(peer);
	if(t == NULL)
		return;
	int mindex = packet->mindex;
	calls_slot *slot = (mindex >= 0 && (guint)mindex < t->n) ? t->slots[mindex] : NULL;
	if(slot != NULL && slot->video && (rtcp.pli || rtcp.fir))
		calls_stream_want_keyframe(slot->source);
	gint64 now = janus_get_monotonic_time();
	if(rtcp.remb > 0)
		apply_remb(t, rtcp.remb, now);
	/* Quiet for long enough (no REMB or slow link said otherwise): one layer up */
	if(slot != NULL && slot->source->simulcast && calls_link_quiet(&slot->link, now))
		g_atomic_int_set(&slot->link_cap, slot->link.cap);
	calls_table_release(t);
}

void calls_sfu_slow_link(calls_sfu *sfu, calls_session *s, int mindex, gboolean video, gboolean uplink) {
	calls_peer *peer = g_atomic_pointer_get(&s->peer);
	if(peer == NULL || peer->role != CALLS_PEER_SUBSCRIBER || !video || !uplink)
		return;
	calls_table *t = calls_table_take(peer);
	if(t == NULL)
		return;
	calls_slot *slot = (mindex >= 0 && (guint)mindex < t->n) ? t->slots[mindex] : NULL;
	if(slot != NULL && slot->source->simulcast) {
		calls_link_slow(&slot->link, janus_get_monotonic_time());
		g_atomic_int_set(&slot->link_cap, slot->link.cap);
		JANUS_LOG(LOG_VERB, "[calls] slow link towards a subscriber: layer cap %d\n", slot->link.cap);
	}
	calls_table_release(t);
}
