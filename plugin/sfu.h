/* janus.plugin.calls - the SFU: rooms, publishers, subscribers and the RTP relay.
 *
 * Every call has a room (call->media). A participant device publishes on one
 * handle (WEBRTC_OFFER) and subscribes on another (CALL_SUBSCRIBE): a
 * publisher's streams are fanned out to one m-line of every subscriber of the
 * call but the publisher's own user.
 *
 * Threads: everything but the three media callbacks at the bottom runs on
 * the worker. The media callbacks run on Janus's ICE threads and only read
 * immutable snapshots that the worker swaps (see sfu.c).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_SFU_H
#define CALLS_SFU_H

#include <glib.h>
#include <jansson.h>
#include <plugins/plugin.h>

#include "plugin.h"
#include "registry.h"
#include "router.h"
#include "worker.h"

typedef struct calls_sfu calls_sfu;

typedef struct calls_sfu_settings {
	char **videocodecs;        /* by preference: "vp8", "vp9", "h264", "av1" */
	guint pli_interval_ms;     /* least time between two PLIs to one publisher stream */
	guint media_timeout_ms;    /* a publisher silent for so long counts as disconnected */
} calls_sfu_settings;

calls_sfu *calls_sfu_new(const calls_sfu_settings *settings, calls_worker *worker);
/* Bind to the registry (worker thread; NULL unbinds before the registry goes). */
void calls_sfu_set_registry(calls_sfu *sfu, calls_registry *reg);
void calls_sfu_free(calls_sfu *sfu);

/* The operations the router calls (publish, subscribe, answer, configure, stats). */
calls_media_ops calls_sfu_media_ops(calls_sfu *sfu);

/* Registry hooks (worker thread). */
void calls_sfu_participant_joined(calls_sfu *sfu, calls_call *call, calls_participant *p);
void calls_sfu_participant_gone(calls_sfu *sfu, calls_call *call, calls_participant *p);
void calls_sfu_media_flags(calls_sfu *sfu, calls_call *call, calls_participant *p);
void calls_sfu_call_ended(calls_sfu *sfu, calls_call *call);

/* Janus callbacks, posted to the worker. */
void calls_sfu_setup_media(calls_sfu *sfu, calls_session *s);
void calls_sfu_hangup_media(calls_sfu *sfu, calls_session *s);
void calls_sfu_session_gone(calls_sfu *sfu, calls_session *s);
/* What query_session shows of the handle's media (new reference, or NULL). */
json_t *calls_sfu_describe(calls_sfu *sfu, calls_session *s);
/* Free the media state of a session whose last reference is gone (any thread). */
void calls_sfu_peer_free(calls_peer *peer);

/* Media threads. */
void calls_sfu_incoming_rtp(calls_sfu *sfu, calls_session *s, janus_plugin_rtp *packet);
void calls_sfu_incoming_rtcp(calls_sfu *sfu, calls_session *s, janus_plugin_rtcp *packet);
void calls_sfu_slow_link(calls_sfu *sfu, calls_session *s, int mindex, gboolean video, gboolean uplink);

#endif
