/* janus.plugin.calls - the SFU, worker side.
 *
 * A room per call holds the peers (publisher and subscriber handles) of its
 * joined participants. Whatever changes in a room - somebody publishes,
 * re-publishes from a new handle, subscribes, leaves - ends in room_sync(),
 * which reconciles every subscriber's m-lines with the streams it should
 * receive (everybody's but its own user's), then rebuilds the relay tables:
 *
 *   - an m-line whose stream is gone goes inactive;
 *   - a new stream takes an inactive m-line of its kind (first one that last
 *     carried the same user, so a re-publish lands where it was), or a new one;
 *   - a subscriber whose m-lines changed gets a new offer; offers to one
 *     subscriber never overlap: while one waits for its answer, changes wait.
 *
 * Relay tables are immutable snapshots (media.h): the worker builds new ones
 * and swaps them in; the ICE threads never wait for it.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include <debug.h>
#include <rtp.h>
#include <rtcp.h>
#include <utils.h>

#include "sfu.h"
#include "media.h"
#include "sdp.h"

struct calls_sfu {
	char **videocodecs;
	guint pli_interval_ms;
	guint media_timeout_ms;
	calls_worker *worker;
	calls_registry *reg;
	guint watchdog;           /* timer looking for silent publishers */
};

/* The relay's first-packet notice needs to find us from an ICE thread. */
static calls_sfu *instance = NULL;

#define CAP(substream, temporal) (((substream) & 0xff) | (((temporal) & 0xff) << 8))
#define CAP_SUBSTREAM(c) ((c) & 0xff)
#define CAP_TEMPORAL(c) (((c) >> 8) & 0xff)

/* ---- Streams, slots, tables ------------------------------------------------------ */

static void stream_free(const janus_refcount *ref) {
	calls_stream *s = janus_refcount_containerof(ref, calls_stream, ref);
	for(int i = 0; i < CALLS_LAYERS; i++)
		g_free(s->rids[i]);
	g_free(s->user_id);
	g_free(s);
}

static void stream_unref(calls_stream *s) {
	if(s != NULL)
		janus_refcount_decrease(&s->ref);
}

static void slot_free(const janus_refcount *ref) {
	calls_slot *slot = janus_refcount_containerof(ref, calls_slot, ref);
	stream_unref(slot->source);
	calls_session_unref(slot->sub);
	g_free(slot);
}

static void slot_unref(calls_slot *slot) {
	if(slot != NULL)
		janus_refcount_decrease(&slot->ref);
}

static calls_slot *slot_new(calls_session *sub, calls_stream *source, int mindex, const calls_room *room, int caps) {
	calls_slot *slot = g_new0(calls_slot, 1);
	janus_refcount_init(&slot->ref, slot_free);
	calls_session_ref(sub);
	janus_refcount_increase(&source->ref);
	slot->sub = sub;
	slot->source = source;
	slot->mindex = mindex;
	slot->video = source->video;
	slot->pt = source->video ? calls_sdp_video_pt(room->codecs.vcodec) : CALLS_PT_OPUS;
	slot->max_substream = CAP_SUBSTREAM(caps);
	slot->max_temporal = CAP_TEMPORAL(caps);
	calls_link_init(&slot->link);
	slot->link_cap = slot->link.cap;
	slot->substream = -1;
	janus_rtp_switching_context_reset(&slot->rtp);
	janus_rtp_simulcasting_context_reset(&slot->sim);
	calls_vp8_rewrite_reset(&slot->vp8);
	slot->sim.rid_ext_id = source->rid_ext_id;
	slot->sim.substream_target = slot->max_substream;
	slot->sim.templayer_target = slot->max_temporal;
	return slot;
}

static void table_free(calls_table *t) {
	for(guint i = 0; i < t->n; i++) {
		if(t->streams != NULL)
			stream_unref(t->streams[i]);
		if(t->fanouts != NULL) {
			for(guint j = 0; j < t->fanouts[i].len; j++)
				slot_unref(t->fanouts[i].slots[j]);
			g_free(t->fanouts[i].slots);
		}
		if(t->slots != NULL)
			slot_unref(t->slots[i]);
	}
	g_free(t->streams);
	g_free(t->fanouts);
	g_free(t->slots);
	g_free(t->call_id);
	g_free(t->user_id);
	g_free(t);
}

calls_table *calls_table_take(calls_peer *peer) {
	janus_mutex_lock(&peer->lock);
	calls_table *t = peer->table;
	if(t != NULL)
		g_atomic_int_inc(&t->ref);
	janus_mutex_unlock(&peer->lock);
	return t;
}

void calls_table_release(calls_table *t) {
	if(t != NULL && g_atomic_int_dec_and_test(&t->ref))
		table_free(t);
}

static void peer_set_table(calls_peer *peer, calls_table *t) {
	janus_mutex_lock(&peer->lock);
	calls_table *old = peer->table;
	peer->table = t;
	janus_mutex_unlock(&peer->lock);
	calls_table_release(old);
}

/* ---- Peers ------------------------------------------------------------------------ */

static void mline_free(gpointer data) {
	calls_sub_mline *m = data;
	slot_unref(m->slot);
	g_free(m->last_user);
	g_free(m->user_name);
	g_free(m);
}

static calls_peer *peer_new(calls_session *s, calls_peer_role role) {
	calls_peer *peer = g_new0(calls_peer, 1);
	peer->role = role;
	peer->session = s;
	janus_mutex_init(&peer->lock);
	peer->mlines = g_ptr_array_new_with_free_func(mline_free);
	peer->caps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_atomic_pointer_set(&s->peer, peer);
	return peer;
}

static void peer_clear_streams(calls_peer *peer) {
	for(guint i = 0; i < peer->n_streams; i++) {
		stream_unref(peer->streams[i]);
		peer->streams[i] = NULL;
	}
	peer->n_streams = 0;
}

void calls_sfu_peer_free(calls_peer *peer) {
	peer_set_table(peer, NULL);
	peer_clear_streams(peer);
	g_ptr_array_free(peer->mlines, TRUE);
	g_hash_table_destroy(peer->caps);
	g_free(peer->user_id);
	g_free(peer->user_name);
	g_free(peer->transaction);
	janus_mutex_destroy(&peer->lock);
	g_free(peer);
}

/* ---- Rooms ------------------------------------------------------------------------- */

static calls_room *room_of(calls_call *call) {
	calls_room *room = call->media;
	if(room == NULL) {
		room = g_new0(calls_room, 1);
		room->call = call;
		room->peers = g_ptr_array_new();
		call->media = room;
	}
	return room;
}

static void room_attach(calls_room *room, calls_peer *peer, const calls_user *user) {
	if(peer->room == room)
		return;
	peer->room = room;
	g_free(peer->user_id);
	g_free(peer->user_name);
	peer->user_id = g_strdup(user->user_id);
	peer->user_name = g_strdup(user->user_name);
	calls_session_ref(peer->session);
	g_ptr_array_add(room->peers, peer);
}

/* Take a peer out of its room and forget its media state. The peer itself
 * lives on (it belongs to its session) and may join another call later. */
static void room_detach(calls_peer *peer, gboolean close_pc) {
	calls_room *room = peer->room;
	if(room == NULL)
		return;
	calls_session *s = peer->session;
	g_ptr_array_remove(room->peers, peer);
	peer->room = NULL;
	peer_set_table(peer, NULL);
	peer_clear_streams(peer);
	g_ptr_array_set_size(peer->mlines, 0);
	g_hash_table_remove_all(peer->caps);
	peer->offered = 0;
	peer->offer_pending = peer->offer_dirty = peer->restart_pending = FALSE;
	g_clear_pointer(&peer->transaction, g_free);
	g_atomic_int_set(&peer->media_seen, 0);
	if(close_pc && !g_atomic_int_get(&s->destroyed) && g_atomic_int_get(&s->media_up))
		calls_gateway->close_pc(s->handle);
	calls_session_unref(s);
}

/* The caps a subscriber asked for the streams of `user_id`. */
static int caps_for(const calls_peer *sub, const char *user_id) {
	gpointer v = NULL;
	if(g_hash_table_lookup_extended(sub->caps, user_id, NULL, &v) ||
			g_hash_table_lookup_extended(sub->caps, "", NULL, &v))
		return GPOINTER_TO_INT(v);
	return CAP(CALLS_LAYERS - 1, CALLS_LAYERS - 1);
}

static gboolean stream_in(calls_stream *s, GPtrArray *list) {
	for(guint i = 0; i < list->len; i++) {
		if(g_ptr_array_index(list, i) == s)
			return TRUE;
	}
	return FALSE;
}

/* Find a place for `stream` among the subscriber's inactive m-lines. */
static calls_sub_mline *free_mline(calls_peer *sub, calls_stream *stream) {
	calls_sub_mline *any = NULL;
	for(guint i = 0; i < sub->mlines->len; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		if(m->slot != NULL || m->video != stream->video)
			continue;
		if(g_strcmp0(m->last_user, stream->user_id) == 0)
			return m;
		if(any == NULL)
			any = m;
	}
	return any;
}

/* Make a subscriber's m-lines carry exactly the streams it should receive.
 * Returns whether anything changed. */
static gboolean sync_subscriber(calls_room *room, calls_peer *sub) {
	GPtrArray *wanted = g_ptr_array_new();
	for(guint i = 0; i < room->peers->len; i++) {
		calls_peer *pub = g_ptr_array_index(room->peers, i);
		if(pub->role != CALLS_PEER_PUBLISHER || g_strcmp0(pub->user_id, sub->user_id) == 0)
			continue;
		for(guint j = 0; j < pub->n_streams; j++) {
			if(pub->streams[j] != NULL)
				g_ptr_array_add(wanted, pub->streams[j]);
		}
	}
	gboolean changed = FALSE;
	/* Keep what is still wanted, drop what is not */
	for(guint i = 0; i < sub->mlines->len; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		if(m->slot == NULL)
			continue;
		if(stream_in(m->slot->source, wanted)) {
			g_ptr_array_remove(wanted, m->slot->source);
		} else {
			g_clear_pointer(&m->slot, slot_unref);
			changed = TRUE;
		}
	}
	/* Place the new ones */
	for(guint i = 0; i < wanted->len; i++) {
		calls_stream *stream = g_ptr_array_index(wanted, i);
		calls_sub_mline *m = free_mline(sub, stream);
		if(m == NULL) {
			m = g_new0(calls_sub_mline, 1);
			m->video = stream->video;
			m->index = sub->mlines->len;
			g_snprintf(m->mid, sizeof(m->mid), "%u", m->index);
			g_ptr_array_add(sub->mlines, m);
		}
		m->slot = slot_new(sub->session, stream, (int)m->index, room, caps_for(sub, stream->user_id));
		g_free(m->last_user);
		m->last_user = g_strdup(stream->user_id);
		calls_participant *p = calls_call_participant(room->call, stream->user_id);
		g_free(m->user_name);
		m->user_name = g_strdup(p ? p->user_name : NULL);
		changed = TRUE;
	}
	g_ptr_array_free(wanted, TRUE);
	return changed;
}

static void build_subscriber_table(calls_peer *sub) {
	calls_table *t = g_new0(calls_table, 1);
	t->ref = 1;
	t->n = sub->mlines->len;
	t->slots = g_new0(calls_slot *, t->n ? t->n : 1);
	for(guint i = 0; i < t->n; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		if(m->slot != NULL) {
			janus_refcount_increase(&m->slot->ref);
			t->slots[i] = m->slot;
		}
	}
	peer_set_table(sub, t);
}

static void build_publisher_table(calls_room *room, calls_peer *pub) {
	calls_table *t = g_new0(calls_table, 1);
	t->ref = 1;
	t->n = pub->n_streams;
	t->streams = g_new0(calls_stream *, t->n ? t->n : 1);
	t->fanouts = g_new0(calls_fanout, t->n ? t->n : 1);
	t->call_id = g_strdup(room->call->id);
	t->user_id = g_strdup(pub->user_id);
	for(guint i = 0; i < t->n; i++) {
		calls_stream *stream = pub->streams[i];
		if(stream == NULL)
			continue;
		janus_refcount_increase(&stream->ref);
		t->streams[i] = stream;
		GPtrArray *slots = g_ptr_array_new();
		for(guint j = 0; j < room->peers->len; j++) {
			calls_peer *sub = g_ptr_array_index(room->peers, j);
			for(guint k = 0; sub->role == CALLS_PEER_SUBSCRIBER && k < sub->mlines->len; k++) {
				calls_sub_mline *m = g_ptr_array_index(sub->mlines, k);
				if(m->slot != NULL && m->slot->source == stream) {
					janus_refcount_increase(&m->slot->ref);
					g_ptr_array_add(slots, m->slot);
				}
			}
		}
		t->fanouts[i].len = slots->len;
		t->fanouts[i].slots = (calls_slot **)g_ptr_array_free(slots, FALSE);
	}
	peer_set_table(pub, t);
}

static void send_offer(calls_sfu *sfu, calls_peer *sub);

/* Reconcile the whole room after a change. */
static void room_sync(calls_sfu *sfu, calls_room *room) {
	for(guint i = 0; i < room->peers->len; i++) {
		calls_peer *sub = g_ptr_array_index(room->peers, i);
		if(sub->role != CALLS_PEER_SUBSCRIBER)
			continue;
		if(sync_subscriber(room, sub)) {
			build_subscriber_table(sub);
			send_offer(sfu, sub);
		}
	}
	for(guint i = 0; i < room->peers->len; i++) {
		calls_peer *pub = g_ptr_array_index(room->peers, i);
		if(pub->role == CALLS_PEER_PUBLISHER)
			build_publisher_table(room, pub);
	}
}

typedef struct sync_job {
	calls_sfu *sfu;
	char call_id[CALLS_UUID_LEN + 1];
} sync_job;

static void run_sync(gpointer data) {
	sync_job *job = data;
	calls_call *call = job->sfu->reg ? calls_registry_find(job->sfu->reg, job->call_id) : NULL;
	calls_room *room = call ? call->media : NULL;
	if(room == NULL)
		return;   /* the call ended meanwhile: nobody needs a new offer */
	room->sync_scheduled = FALSE;
	room_sync(job->sfu, room);
}

/* Reconcile the room when the current operation is over. Somebody leaving
 * may end the call in the same operation, and the others' re-offers would
 * then be for PeerConnections about to close. */
static void schedule_sync(calls_sfu *sfu, calls_room *room) {
	if(room->sync_scheduled)
		return;
	sync_job *job = g_new0(sync_job, 1);
	job->sfu = sfu;
	g_strlcpy(job->call_id, room->call->id, sizeof(job->call_id));
	room->sync_scheduled = calls_worker_post(sfu->worker, run_sync, job, g_free);
}

/* ---- Offers to subscribers ------------------------------------------------------------ */

static void send_offer(calls_sfu *sfu, calls_peer *sub) {
	if(sub->room == NULL || sub->mlines->len == 0)
		return;
	if(sub->offer_pending) {
		sub->offer_dirty = TRUE;
		return;
	}
	guint n = sub->mlines->len;
	calls_sdp_mline *lines = g_new0(calls_sdp_mline, n);
	char **tracks = g_new0(char *, n);   /* NULL where the m-line is inactive */
	json_t *streams = json_array();
	guint n_active = 0;
	for(guint i = 0; i < n; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		calls_sdp_mline *l = &lines[i];
		l->video = m->video;
		g_strlcpy(l->mid, m->mid, sizeof(l->mid));
		l->active = (m->slot != NULL);
		n_active += l->active;
		if(l->active) {
			l->stream_id = m->slot->source->user_id;
			tracks[i] = g_strdup_printf("%s-%s", m->slot->source->user_id, m->slot->source->mid);
			l->track_id = tracks[i];
		}
		m->offered_slot = m->slot;
		json_array_append_new(streams, calls_json_stream(m->mid, l->active ? m->last_user : NULL,
			l->active ? m->user_name : NULL, m->video ? "video" : "audio", l->active));
	}
	if(sub->sdp_session == 0)
		sub->sdp_session = (guint64)g_get_real_time();
	char *sdp = calls_sdp_offer_subscriber(lines, n, &sub->room->codecs, sub->sdp_session, ++sub->sdp_version);
	g_free(lines);
	for(guint i = 0; i < n; i++)
		g_free(tracks[i]);
	g_free(tracks);
	json_t *jsep = json_pack("{ssss}", "type", "offer", "sdp", sdp);
	g_free(sdp);
	if(sub->restart_pending)
		json_object_set_new(jsep, "restart", json_true());
	JANUS_LOG(LOG_VERB, "[calls] [%s] offer %" G_GUINT64_FORMAT " to the subscriber of %s: %u m-line(s), %u active%s\n",
		sub->room->call->id, sub->sdp_version, sub->user_id, n, n_active, sub->restart_pending ? ", ICE restart" : "");
	json_t *ev = calls_event_offer_received(sub->room->call->id, streams, calls_registry_now(sfu->reg));
	sub->offered = n;
	sub->offer_pending = TRUE;
	sub->offer_dirty = FALSE;
	sub->restart_pending = FALSE;
	calls_registry_deliver(sfu->reg, sub->session, sub->transaction, ev, jsep);
	g_clear_pointer(&sub->transaction, g_free);
	json_decref(ev);
	json_decref(jsep);
}

/* The handle's peer for `role` in `call`, made on first use. One handle carries
 * one PeerConnection: a publisher cannot subscribe, nor a peer serve two calls. */
static calls_peer *peer_of_role(calls_session *s, calls_call *call, calls_peer_role role, calls_error *err) {
	calls_peer *peer = s->peer;
	gboolean publishing = (role == CALLS_PEER_PUBLISHER);
	if(peer != NULL && peer->role != role) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "this handle %s: %s on another handle, a handle carries one PeerConnection",
			publishing ? "subscribes (CALL_SUBSCRIBE)" : "publishes (WEBRTC_OFFER)", publishing ? "publish" : "subscribe");
		return NULL;
	}
	if(peer != NULL && peer->room != NULL && peer->room->call != call) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "this handle %s call %s: use another handle",
			publishing ? "publishes in" : "subscribes to", peer->room->call->id);
		return NULL;
	}
	return peer != NULL ? peer : peer_new(s, role);
}

/* ---- Publishing ------------------------------------------------------------------------ */

/* The simulcast description the core put in the jsep, for one mindex. */
static json_t *simulcast_for(json_t *jsep, int mindex) {
	json_t *list = json_object_get(jsep, "simulcast");
	for(size_t i = 0; i < json_array_size(list); i++) {
		json_t *item = json_array_get(list, i);
		if(json_integer_value(json_object_get(item, "mindex")) == mindex)
			return item;
	}
	return NULL;
}

static calls_stream *stream_new(const calls_sdp_stream *d, const calls_room *room, json_t *sim, const char *user_id) {
	calls_stream *s = g_new0(calls_stream, 1);
	janus_refcount_init(&s->ref, stream_free);
	s->mindex = d->mindex;
	s->video = d->video;
	g_strlcpy(s->mid, d->mid[0] ? d->mid : "?", sizeof(s->mid));
	s->pt = d->pt;
	s->vcodec = d->video ? room->codecs.vcodec : JANUS_VIDEOCODEC_NONE;
	s->user_id = g_strdup(user_id);
	if(d->video && sim != NULL) {
		s->simulcast = TRUE;
		janus_rtp_simulcasting_prepare(sim, &s->rid_ext_id, s->ssrcs, s->rids);
	}
	return s;
}

/* Can the stream built for an earlier offer serve this m-line as it is now? */
static gboolean stream_fits(const calls_stream *s, const calls_sdp_stream *d, json_t *sim) {
	if(s == NULL || s->video != d->video || s->pt != d->pt || s->simulcast != (sim != NULL))
		return FALSE;
	if(sim != NULL) {
		calls_stream probe = { 0 };
		janus_rtp_simulcasting_prepare(sim, &probe.rid_ext_id, probe.ssrcs, probe.rids);
		gboolean same = (probe.rid_ext_id == s->rid_ext_id);
		for(int i = 0; i < CALLS_LAYERS; i++) {
			same = same && g_strcmp0(probe.rids[i], s->rids[i]) == 0 &&
				(probe.ssrcs[i] == 0 || probe.ssrcs[i] == s->ssrcs[i]);
			g_free(probe.rids[i]);
		}
		return same;
	}
	return TRUE;
}

static void apply_mute(calls_peer *pub, const calls_participant *p) {
	for(guint i = 0; i < pub->n_streams; i++) {
		calls_stream *s = pub->streams[i];
		if(s == NULL)
			continue;
		gboolean muted = s->video ? !p->is_video_enabled : p->is_muted;
		gboolean was = g_atomic_int_get(&s->muted);
		g_atomic_int_set(&s->muted, muted);
		if(was && !muted)
			calls_stream_want_keyframe(s);
	}
}

static gboolean sfu_publish(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		json_t *jsep, char **answer_sdp, calls_error *err) {
	calls_sfu *sfu = ctx;
	calls_session *s = dev->conn;
	calls_peer *peer = peer_of_role(s, call, CALLS_PEER_PUBLISHER, err);
	if(peer == NULL)
		return FALSE;
	calls_room *room = room_of(call);
	calls_sdp_stream descs[CALLS_SDP_MAX_MLINES];
	guint n = 0;
	const char *offer = json_string_value(json_object_get(jsep, "sdp"));
	if(!calls_sdp_check_simulcast(jsep, err))
		return FALSE;
	char *answer = calls_sdp_answer_publisher(offer, call->type == CALLS_TYPE_VIDEO, sfu->videocodecs,
		&room->codecs, &peer->sdp_session, &peer->sdp_version, descs, &n, err);
	if(answer == NULL)
		return FALSE;
	/* Streams by mindex: keep those that did not change (their subscribers keep going) */
	calls_stream *streams[CALLS_SDP_MAX_MLINES] = { NULL };
	for(guint i = 0; i < n; i++) {
		json_t *sim = simulcast_for(jsep, descs[i].mindex);
		if(!descs[i].active) {
			if(descs[i].why[0] != '\0')
				JANUS_LOG(LOG_INFO, "[calls] [%s] m-line %d of %s refused: %s\n", call->id, descs[i].mindex,
					p->user_id, descs[i].why);
			continue;
		}
		calls_stream *old = i < peer->n_streams ? peer->streams[i] : NULL;
		if(stream_fits(old, &descs[i], sim)) {
			janus_refcount_increase(&old->ref);
			streams[i] = old;
		} else {
			streams[i] = stream_new(&descs[i], room, sim, p->user_id);
		}
	}
	peer_clear_streams(peer);
	memcpy(peer->streams, streams, sizeof(streams));
	peer->n_streams = n;
	/* A participant publishes from one handle: a new one takes over */
	for(guint i = 0; i < room->peers->len; i++) {
		calls_peer *other = g_ptr_array_index(room->peers, i);
		if(other != peer && other->role == CALLS_PEER_PUBLISHER && g_strcmp0(other->user_id, p->user_id) == 0) {
			JANUS_LOG(LOG_INFO, "[calls] [%s] %s publishes from a new handle\n", call->id, p->user_id);
			room_detach(other, TRUE);
			break;
		}
	}
	room_attach(room, peer, dev->user);
	calls_registry_rebind(sfu->reg, p, dev);
	apply_mute(peer, p);
	guint n_audio = 0, n_video = 0;
	for(guint i = 0; i < n; i++) {
		n_audio += (streams[i] != NULL && !descs[i].video);
		n_video += (streams[i] != NULL && descs[i].video);
	}
	JANUS_LOG(LOG_VERB, "[calls] [%s] %s publishes from device %" G_GUINT64_FORMAT " (handle %" G_GUINT64_FORMAT
		"): %u audio, %u video stream(s)\n", call->id, p->user_id, dev->id, s->handle_id, n_audio, n_video);
	room_sync(sfu, room);
	*answer_sdp = answer;
	return TRUE;
}

/* ---- Subscribing ------------------------------------------------------------------------ */

static calls_peer *subscriber_of(calls_session *s, calls_call *call, calls_error *err) {
	calls_peer *peer = s->peer;
	if(peer == NULL || peer->role != CALLS_PEER_SUBSCRIBER || peer->room == NULL || peer->room->call != call) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE,
			"this handle does not subscribe to call %s: send CALL_SUBSCRIBE on it first", call->id);
		return NULL;
	}
	return peer;
}

static gboolean sfu_subscribe(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		const char *transaction, gboolean restart, calls_error *err) {
	calls_sfu *sfu = ctx;
	calls_session *s = dev->conn;
	calls_peer *peer = peer_of_role(s, call, CALLS_PEER_SUBSCRIBER, err);
	if(peer == NULL)
		return FALSE;
	calls_room *room = room_of(call);
	/* A subscribing handle leaves the call events to its publishing sibling */
	calls_registry_device_set_events(sfu->reg, dev, FALSE);
	g_free(peer->transaction);
	peer->transaction = g_strdup(transaction);
	if(peer->room == room) {
		/* Again on a subscribed handle: a fresh offer (after a lost PeerConnection, or to
		 * restart ICE). If an offer still waits for its answer, the new one follows that
		 * answer: an answer in flight must not be taken for the answer to the new offer. */
		peer->restart_pending = peer->restart_pending || restart;
		if(peer->offer_pending)
			peer->offer_dirty = TRUE;
		else
			send_offer(sfu, peer);
		return TRUE;
	}
	JANUS_LOG(LOG_VERB, "[calls] [%s] %s subscribes from device %" G_GUINT64_FORMAT " (handle %" G_GUINT64_FORMAT ")\n",
		call->id, p->user_id, dev->id, s->handle_id);
	room_attach(room, peer, dev->user);
	room_sync(sfu, room);
	return TRUE;
}

static gboolean sfu_subscriber_answer(gpointer ctx, calls_call *call, calls_device *dev,
		const char *answer_sdp, calls_error *err) {
	calls_sfu *sfu = ctx;
	calls_peer *sub = subscriber_of(dev->conn, call, err);
	if(sub == NULL)
		return FALSE;
	if(!sub->offer_pending) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE,
			"no offer waits for an answer on this handle: answer each WEBRTC_OFFER_RECEIVED once");
		return FALSE;
	}
	gboolean *accepted = g_new0(gboolean, sub->offered ? sub->offered : 1);
	if(!calls_sdp_read_subscriber_answer(answer_sdp, sub->offered, accepted, err)) {
		g_free(accepted);
		return FALSE;
	}
	for(guint i = 0; i < sub->offered && i < sub->mlines->len; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		if(m->slot != NULL && m->slot == m->offered_slot) {
			gboolean was_ready = g_atomic_int_get(&m->slot->ready);
			g_atomic_int_set(&m->slot->ready, accepted[i]);
			/* Only an m-line that starts receiving needs a key frame: asking for the
			 * ones already flowing would spend the publisher's PLI budget
			 * (pli_interval) and delay the next newcomer's picture. And a
			 * PeerConnection still coming up gets its key frames at setup_media:
			 * one asked now would arrive before it can be decrypted. */
			if(accepted[i] && !was_ready && g_atomic_int_get(&sub->session->media_up))
				calls_stream_want_keyframe(m->slot->source);
		}
	}
	g_free(accepted);
	sub->offer_pending = FALSE;
	if(sub->offer_dirty)
		send_offer(sfu, sub);
	return TRUE;
}

static void set_caps(calls_peer *sub, const char *user_id, int caps) {
	for(guint i = 0; i < sub->mlines->len; i++) {
		calls_sub_mline *m = g_ptr_array_index(sub->mlines, i);
		if(m->slot == NULL || !m->slot->video || (user_id != NULL && g_strcmp0(m->slot->source->user_id, user_id) != 0))
			continue;
		g_atomic_int_set(&m->slot->max_substream, CAP_SUBSTREAM(caps));
		g_atomic_int_set(&m->slot->max_temporal, CAP_TEMPORAL(caps));
		calls_stream_want_keyframe(m->slot->source);
	}
}

static gboolean sfu_configure(gpointer ctx, calls_call *call, calls_device *dev, const char *user_id,
		int substream, int temporal, calls_error *err) {
	calls_peer *sub = subscriber_of(dev->conn, call, err);
	if(sub == NULL)
		return FALSE;
	int current = caps_for(sub, user_id ? user_id : "");
	int caps = CAP(substream != CALLS_UNSET ? substream : CAP_SUBSTREAM(current),
		temporal != CALLS_UNSET ? temporal : CAP_TEMPORAL(current));
	if(user_id == NULL)
		g_hash_table_remove_all(sub->caps);
	g_hash_table_insert(sub->caps, g_strdup(user_id ? user_id : ""), GINT_TO_POINTER(caps));
	set_caps(sub, user_id, caps);
	return TRUE;
}

/* ---- Stats ---------------------------------------------------------------------------- */

static json_t *counters_json(const calls_counters *c) {
	json_t *j = json_object();
	json_object_set_new(j, "packets", json_integer((json_int_t)__atomic_load_n(&c->packets, __ATOMIC_RELAXED)));
	json_object_set_new(j, "bytes", json_integer((json_int_t)__atomic_load_n(&c->bytes, __ATOMIC_RELAXED)));
	json_object_set_new(j, "bitrate", json_integer(__atomic_load_n(&c->bitrate, __ATOMIC_RELAXED)));
	return j;
}

static json_t *sfu_stats(gpointer ctx, calls_call *call, calls_participant *p) {
	calls_room *room = call->media;
	if(room == NULL)
		return NULL;
	json_t *published = json_array(), *received = json_array();
	for(guint i = 0; i < room->peers->len; i++) {
		calls_peer *peer = g_ptr_array_index(room->peers, i);
		if(g_strcmp0(peer->user_id, p->user_id) != 0)
			continue;
		for(guint j = 0; peer->role == CALLS_PEER_PUBLISHER && j < peer->n_streams; j++) {
			calls_stream *s = peer->streams[j];
			if(s == NULL)
				continue;
			json_t *sj = counters_json(&s->in);
			json_object_set_new(sj, "mid", json_string(s->mid));
			json_object_set_new(sj, "kind", json_string(s->video ? "video" : "audio"));
			json_object_set_new(sj, "lost", json_integer((json_int_t)__atomic_load_n(&s->lost, __ATOMIC_RELAXED)));
			json_object_set_new(sj, "muted", json_boolean(g_atomic_int_get(&s->muted)));
			if(s->simulcast) {
				json_t *layers = json_array();
				for(int k = 0; k < CALLS_LAYERS; k++)
					json_array_append_new(layers, counters_json(&s->layer[k]));
				json_object_set_new(sj, "layers", layers);
			}
			json_array_append_new(published, sj);
		}
		for(guint j = 0; peer->role == CALLS_PEER_SUBSCRIBER && j < peer->mlines->len; j++) {
			calls_sub_mline *m = g_ptr_array_index(peer->mlines, j);
			if(m->slot == NULL)
				continue;
			json_t *sj = counters_json(&m->slot->out);
			json_object_set_new(sj, "mid", json_string(m->mid));
			json_object_set_new(sj, "kind", json_string(m->video ? "video" : "audio"));
			json_object_set_new(sj, "fromUserId", json_string(m->slot->source->user_id));
			json_object_set_new(sj, "ready", json_boolean(g_atomic_int_get(&m->slot->ready)));
			if(m->slot->source->simulcast)
				json_object_set_new(sj, "substream", json_integer(__atomic_load_n(&m->slot->substream, __ATOMIC_RELAXED)));
			json_array_append_new(received, sj);
		}
	}
	json_t *j = json_object();
	json_object_set_new(j, "published", published);
	json_object_set_new(j, "received", received);
	return j;
}

/* ---- Registry hooks ---------------------------------------------------------------------- */

void calls_sfu_participant_joined(calls_sfu *sfu, calls_call *call, calls_participant *p) {
	/* Nothing to do: a participant's media arrives with WEBRTC_OFFER and CALL_SUBSCRIBE */
}

void calls_sfu_participant_gone(calls_sfu *sfu, calls_call *call, calls_participant *p) {
	calls_room *room = call->media;
	if(room == NULL)
		return;
	for(guint i = room->peers->len; i > 0; i--) {
		calls_peer *peer = g_ptr_array_index(room->peers, i - 1);
		if(g_strcmp0(peer->user_id, p->user_id) == 0)
			room_detach(peer, TRUE);
	}
	schedule_sync(sfu, room);
}

void calls_sfu_media_flags(calls_sfu *sfu, calls_call *call, calls_participant *p) {
	calls_room *room = call->media;
	for(guint i = 0; room != NULL && i < room->peers->len; i++) {
		calls_peer *peer = g_ptr_array_index(room->peers, i);
		if(peer->role == CALLS_PEER_PUBLISHER && g_strcmp0(peer->user_id, p->user_id) == 0)
			apply_mute(peer, p);
	}
}

void calls_sfu_call_ended(calls_sfu *sfu, calls_call *call) {
	calls_room *room = call->media;
	if(room == NULL)
		return;
	while(room->peers->len > 0)
		room_detach(g_ptr_array_index(room->peers, room->peers->len - 1), TRUE);
	g_ptr_array_free(room->peers, TRUE);
	calls_sdp_codecs_clear(&room->codecs);
	g_free(room);
	call->media = NULL;
}

/* ---- Janus callbacks (worker) --------------------------------------------------------------- */

void calls_sfu_setup_media(calls_sfu *sfu, calls_session *s) {
	calls_peer *peer = s->peer;
	if(peer == NULL || peer->room == NULL)
		return;
	JANUS_LOG(LOG_VERB, "[calls] [%s] %s PeerConnection of %s is up\n", peer->room->call->id,
		peer->role == CALLS_PEER_PUBLISHER ? "publisher" : "subscriber", peer->user_id);
	for(guint i = 0; peer->role == CALLS_PEER_SUBSCRIBER && i < peer->mlines->len; i++) {
		calls_sub_mline *m = g_ptr_array_index(peer->mlines, i);
		if(m->slot != NULL)
			calls_stream_want_keyframe(m->slot->source);
	}
}

void calls_sfu_hangup_media(calls_sfu *sfu, calls_session *s) {
	calls_peer *peer = s->peer;
	if(peer == NULL || peer->room == NULL)
		return;
	calls_call *call = peer->room->call;
	JANUS_LOG(LOG_INFO, "[calls] [%s] %s PeerConnection of %s went down\n", call->id,
		peer->role == CALLS_PEER_PUBLISHER ? "publisher" : "subscriber", peer->user_id);
	if(peer->role == CALLS_PEER_PUBLISHER) {
		g_atomic_int_set(&peer->media_seen, 0);
		calls_participant *p = calls_call_participant(call, peer->user_id);
		if(p != NULL && p->device != NULL && p->device->conn == s)
			calls_registry_media_down(sfu->reg, p);
		calls_registry_flush(sfu->reg);
	} else {
		/* Its PeerConnection is gone: nothing is ready until it subscribes again */
		for(guint i = 0; i < peer->mlines->len; i++) {
			calls_sub_mline *m = g_ptr_array_index(peer->mlines, i);
			if(m->slot != NULL)
				g_atomic_int_set(&m->slot->ready, 0);
		}
		peer->offer_pending = FALSE;
	}
}

void calls_sfu_session_gone(calls_sfu *sfu, calls_session *s) {
	calls_peer *peer = s->peer;
	if(peer == NULL || peer->room == NULL)
		return;
	calls_room *room = peer->room;
	room_detach(peer, FALSE);
	room_sync(sfu, room);
}

json_t *calls_sfu_describe(calls_sfu *sfu, calls_session *s) {
	calls_peer *peer = s->peer;
	if(peer == NULL)
		return NULL;
	json_t *j = json_object();
	json_object_set_new(j, "role", json_string(peer->role == CALLS_PEER_PUBLISHER ? "publisher" : "subscriber"));
	json_object_set_new(j, "callId", peer->room ? json_string(peer->room->call->id) : json_null());
	json_object_set_new(j, "mediaUp", json_boolean(g_atomic_int_get(&s->media_up)));
	if(peer->room != NULL) {
		calls_participant *p = calls_call_participant(peer->room->call, peer->user_id);
		json_t *stats = p ? sfu_stats(sfu, peer->room->call, p) : NULL;
		if(stats != NULL)
			json_object_set_new(j, "stats", stats);
	}
	if(peer->role == CALLS_PEER_SUBSCRIBER) {
		json_object_set_new(j, "offerPending", json_boolean(peer->offer_pending));
		json_object_set_new(j, "mlines", json_integer(peer->mlines->len));
	}
	return j;
}

/* ---- The first packet of a publisher (posted from its ICE thread) ---------------------------- */

typedef struct media_notice {
	calls_session *session;
	char *call_id;
	char *user_id;
} media_notice;

static void media_notice_free(gpointer data) {
	media_notice *n = data;
	calls_session_unref(n->session);
	g_free(n->call_id);
	g_free(n->user_id);
	g_free(n);
}

static void run_media_notice(gpointer data) {
	media_notice *n = data;
	calls_sfu *sfu = instance;
	if(sfu == NULL || sfu->reg == NULL)
		return;
	calls_call *call = calls_registry_find(sfu->reg, n->call_id);
	calls_participant *p = call ? calls_call_participant(call, n->user_id) : NULL;
	if(p == NULL || n->session->device == NULL || g_atomic_int_get(&n->session->destroyed))
		return;
	JANUS_LOG(LOG_INFO, "[calls] [%s] media of %s flows\n", n->call_id, n->user_id);
	calls_registry_rebind(sfu->reg, p, n->session->device);
	calls_registry_media_up(sfu->reg, p);
	calls_registry_flush(sfu->reg);
}

void calls_sfu_report_media(calls_session *s, const calls_table *t) {
	calls_sfu *sfu = instance;
	if(sfu == NULL || t->call_id == NULL)
		return;
	media_notice *n = g_new0(media_notice, 1);
	calls_session_ref(s);
	n->session = s;
	n->call_id = g_strdup(t->call_id);
	n->user_id = g_strdup(t->user_id);
	calls_worker_post(sfu->worker, run_media_notice, n, media_notice_free);
}

/* ---- Silent publishers ------------------------------------------------------------------------ */

/* Janus does not hang up a PeerConnection whose network silently went away,
 * so a publisher that sends nothing for media_timeout is treated as if its
 * PeerConnection went down: the participant's reconnect grace starts. Its next
 * packet reports its media again (media_seen), which ends the grace. */
static gboolean watch_publishers(gpointer data) {
	calls_sfu *sfu = data;
	if(sfu->reg == NULL)
		return G_SOURCE_CONTINUE;
	gint64 now = janus_get_monotonic_time();
	GPtrArray *calls = calls_registry_all_calls(sfu->reg);
	for(guint i = 0; i < calls->len; i++) {
		calls_call *call = g_ptr_array_index(calls, i);
		calls_room *room = call->media;
		for(guint j = 0; room != NULL && j < room->peers->len; j++) {
			calls_peer *peer = g_ptr_array_index(room->peers, j);
			if(peer->role != CALLS_PEER_PUBLISHER || !g_atomic_int_get(&peer->session->media_up) ||
					now - __atomic_load_n(&peer->last_rtp, __ATOMIC_RELAXED) < (gint64)sfu->media_timeout_ms * 1000 ||
					!g_atomic_int_compare_and_exchange(&peer->media_seen, 1, 0))
				continue;
			calls_participant *p = calls_call_participant(call, peer->user_id);
			JANUS_LOG(LOG_INFO, "[calls] [%s] no media from %s for %u ms: reconnect grace\n", call->id,
				peer->user_id, sfu->media_timeout_ms);
			if(p != NULL && p->device != NULL && p->device->conn == peer->session)
				calls_registry_media_down(sfu->reg, p);
		}
	}
	g_ptr_array_unref(calls);
	calls_registry_flush(sfu->reg);
	return G_SOURCE_CONTINUE;
}

/* ---- Lifecycle ------------------------------------------------------------------------------- */

calls_sfu *calls_sfu_new(const calls_sfu_settings *settings, calls_worker *worker) {
	calls_sfu *sfu = g_new0(calls_sfu, 1);
	sfu->videocodecs = g_strdupv(settings->videocodecs);
	sfu->pli_interval_ms = settings->pli_interval_ms;
	sfu->media_timeout_ms = settings->media_timeout_ms;
	sfu->worker = worker;
	instance = sfu;
	return sfu;
}

void calls_sfu_set_registry(calls_sfu *sfu, calls_registry *reg) {
	sfu->reg = reg;
	if(reg != NULL && sfu->watchdog == 0 && sfu->media_timeout_ms > 0)
		sfu->watchdog = calls_worker_timer_add(sfu->worker, MIN(sfu->media_timeout_ms / 2, 1000), watch_publishers, sfu);
	if(reg == NULL && sfu->watchdog != 0) {
		calls_worker_timer_remove(sfu->worker, sfu->watchdog);
		sfu->watchdog = 0;
	}
}

void calls_sfu_free(calls_sfu *sfu) {
	if(sfu == NULL)
		return;
	if(instance == sfu)
		instance = NULL;
	g_strfreev(sfu->videocodecs);
	g_free(sfu);
}

guint calls_sfu_pli_interval_ms(void) {
	return instance ? instance->pli_interval_ms : 500;
}

calls_media_ops calls_sfu_media_ops(calls_sfu *sfu) {
	calls_media_ops ops = {
		.ctx = sfu,
		.publish = sfu_publish,
		.subscribe = sfu_subscribe,
		.subscriber_answer = sfu_subscriber_answer,
		.configure = sfu_configure,
		.stats = sfu_stats,
	};
	return ops;
}
