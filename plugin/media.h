/* janus.plugin.calls - the SFU's objects, shared by sfu.c (worker) and relay.c (media threads).
 *
 * Ownership and threads:
 *
 *   calls_stream  one m-line a publisher sends. Its description (kind, payload
 *                 type, codec, simulcast ids) never changes once built; its
 *                 relay state (counters, learned SSRCs, last PLI) is written by
 *                 the publisher's ICE thread only. Referenced (tables, slots).
 *   calls_slot    one m-line of one subscriber, fed by exactly one stream. Its
 *                 rewrite contexts are written by the source publisher's ICE
 *                 thread only; its caps and `ready` are atomics the worker and
 *                 the subscriber's ICE thread set. Referenced (tables).
 *   calls_table   an immutable snapshot. A publisher's table maps each mindex
 *                 to its stream and fan-out (the slots it feeds); a
 *                 subscriber's maps each mindex to its slot. The worker builds
 *                 a new table and swaps it in whole; a media thread takes a
 *                 reference under the peer's lock (two atomic operations, never
 *                 contended for long) and reads it without any lock.
 *   calls_peer    the media role of one handle, owned by its calls_session;
 *                 the fields marked "worker" are touched by the worker only.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_MEDIA_H
#define CALLS_MEDIA_H

#include <glib.h>
#include <mutex.h>
#include <refcount.h>
#include <rtp.h>
#include <utils.h>

#include "plugin.h"
#include "sdp.h"
#include "layers.h"
#include "rtpwire.h"

typedef struct calls_room calls_room;

/* Counters written by one thread and read (approximately) by the worker. */
typedef struct calls_counters {
	guint64 packets;
	guint64 bytes;
	guint32 bitrate;       /* bits per second over the last full second */
	guint64 window_start;  /* monotonic µs */
	guint64 window_bytes;
} calls_counters;

typedef struct calls_stream {
	janus_refcount ref;
	/* Description (immutable) */
	int mindex;
	gboolean video;
	char mid[32];
	int pt;                         /* the publisher's payload type */
	janus_videocodec vcodec;
	gboolean simulcast;
	int rid_ext_id;
	char *rids[CALLS_LAYERS];       /* 0 = lowest quality */
	char *user_id;                  /* whose stream */
	/* Set by the worker, read by the relay */
	volatile gint muted;            /* isMuted (audio) or !isVideoEnabled (video) */
	volatile gint keyframe_wanted;  /* anybody may ask; the publisher's thread sends the PLI */
	/* Relay state: the publisher's ICE thread only */
	uint32_t ssrcs[CALLS_LAYERS];   /* from the SDP, or learned from rids */
	gint64 last_pli;
	calls_counters in;
	calls_counters layer[CALLS_LAYERS];
	guint16 max_seq;
	guint32 seq_cycles;
	guint32 base_seq;
	guint64 received;               /* for the loss estimate */
	gboolean seq_started;
	guint64 lost;
} calls_stream;

typedef struct calls_slot {
	janus_refcount ref;
	calls_session *sub;             /* referenced */
	calls_stream *source;           /* referenced */
	int mindex;
	gboolean video;
	int pt;                         /* the subscriber's payload type */
	volatile gint ready;            /* the subscriber accepted this m-line */
	volatile gint max_substream;    /* caps asked by the subscriber (0..2) */
	volatile gint max_temporal;
	volatile gint link_cap;         /* what its link carries (link.cap), published for the relay */
	calls_link link;                /* the link policy's state: the subscriber's ICE thread only */
	/* Relay state: the source publisher's ICE thread only */
	janus_rtp_switching_context rtp;
	janus_rtp_simulcasting_context sim;
	calls_vp8_rewrite vp8;           /* picture ids across layer switches (rtpwire.c) */
	calls_counters out;
	int substream;                  /* layer being forwarded, for stats (__atomic access) */
} calls_slot;

typedef struct calls_fanout {
	guint len;
	calls_slot **slots;
} calls_fanout;

typedef struct calls_table {
	volatile gint ref;
	guint n;                        /* indexed by mindex */
	calls_stream **streams;         /* publisher tables: the stream of each mindex, or NULL */
	calls_fanout *fanouts;          /* publisher tables: who receives it */
	calls_slot **slots;             /* subscriber tables: the slot of each mindex, or NULL */
	char *call_id;                  /* whose media this is, for the first-packet notice */
	char *user_id;
} calls_table;

typedef enum {
	CALLS_PEER_PUBLISHER = 1,
	CALLS_PEER_SUBSCRIBER,
} calls_peer_role;

/* One m-line of a subscriber, as the worker sees it. */
typedef struct calls_sub_mline {
	guint index;                    /* its mindex */
	char mid[16];
	gboolean video;
	calls_slot *slot;               /* referenced, or NULL when inactive */
	calls_slot *offered_slot;       /* what the pending offer carried here (not referenced) */
	char *last_user;                /* who it carried last (reused for them first) */
	char *user_name;
} calls_sub_mline;

struct calls_peer {
	calls_peer_role role;
	calls_session *session;         /* the owner (not referenced) */
	janus_mutex lock;               /* guards `table` swaps and takes */
	calls_table *table;
	volatile gint media_seen;       /* publisher: first packet since setup (or silence) reported */
	gint64 last_rtp;                /* publisher: monotonic µs of its last packet (__atomic access) */
	/* worker */
	calls_room *room;
	char *user_id;
	char *user_name;
	guint64 sdp_session, sdp_version;
	calls_stream *streams[CALLS_SDP_MAX_MLINES]; /* publisher: referenced, by mindex */
	guint n_streams;
	GPtrArray *mlines;              /* subscriber: calls_sub_mline* */
	guint offered;                  /* subscriber: m-lines in the offer awaiting an answer */
	gboolean offer_pending;         /* subscriber: an offer awaits its answer */
	gboolean offer_dirty;           /* subscriber: changes wait for the next offer */
	gboolean restart_pending;       /* subscriber: the next offer restarts ICE */
	char *transaction;              /* subscriber: the CALL_SUBSCRIBE to answer with the first offer */
	GHashTable *caps;               /* subscriber: user id ("" = everybody) -> layer caps (see sfu.c) */
};

struct calls_room {
	calls_call *call;               /* borrowed: the room dies with the call */
	GPtrArray *peers;               /* calls_peer*; their sessions referenced */
	calls_sdp_codecs codecs;
	gboolean sync_scheduled;        /* a room_sync waits on the worker */
};

/* Tables (sfu.c builds them, relay.c reads them). */
calls_table *calls_table_take(calls_peer *peer);
void calls_table_release(calls_table *t);

/* Ask the publisher of `stream` for a key frame (any thread, throttled by the publisher's thread). */
static inline void calls_stream_want_keyframe(calls_stream *s) {
	if(s != NULL && s->video)
		g_atomic_int_set(&s->keyframe_wanted, 1);
}

/* Least time between two PLIs to one publisher stream (config pli_interval). */
guint calls_sfu_pli_interval_ms(void);

/* A publisher's first packet after set-up: tell the worker (relay.c -> sfu.c). */
void calls_sfu_report_media(calls_session *s, const calls_table *t);

#endif
