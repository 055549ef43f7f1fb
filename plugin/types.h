/* janus.plugin.calls - the call domain model.
 *
 * The plain data of users, devices, calls and participants, shared by the
 * pure modules (contract, registry, router, store). These structs are owned
 * and mutated by the worker thread only: nothing here is locked.
 *
 * Times are wall-clock microseconds since the Unix epoch (g_get_real_time()
 * or a test clock); 0 means "not set" and is written as JSON null.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_TYPES_H
#define CALLS_TYPES_H

#include <glib.h>

#define CALLS_UUID_LEN 36

typedef enum {
	CALLS_TYPE_AUDIO = 0,
	CALLS_TYPE_VIDEO,
} calls_call_type;

/* Call statuses, in the order of docs/api.md §4. */
typedef enum {
	CALLS_STATUS_RINGING = 0,
	CALLS_STATUS_CONNECTING,
	CALLS_STATUS_CONNECTED,
	CALLS_STATUS_ENDED,
	CALLS_STATUS_MISSED,
	CALLS_STATUS_DECLINED,
	CALLS_STATUS_FAILED,
	CALLS_STATUS_BUSY,
	CALLS_STATUS_COUNT
} calls_call_status;

typedef enum {
	CALLS_PSTATUS_RINGING = 0,
	CALLS_PSTATUS_JOINED,
	CALLS_PSTATUS_DECLINED,
	CALLS_PSTATUS_MISSED,
	CALLS_PSTATUS_BUSY,
	CALLS_PSTATUS_LEFT,
	CALLS_PSTATUS_FAILED,
	CALLS_PSTATUS_COUNT
} calls_participant_status;

typedef enum {
	CALLS_ROLE_INITIATOR = 0,
	CALLS_ROLE_PARTICIPANT,
} calls_role;

/* The `reason` of CALL_PARTICIPANT_LEFT. */
typedef enum {
	CALLS_LEFT_LEFT = 0,
	CALLS_LEFT_DECLINED,
	CALLS_LEFT_MISSED,
	CALLS_LEFT_BUSY,
	CALLS_LEFT_FAILED,
	CALLS_LEFT_DISCONNECTED,
} calls_left_reason;

/* The `endReason` of a call and the `reason` of CALL_ENDED (docs/api.md). */
typedef enum {
	CALLS_END_NONE = 0,
	CALLS_END_HANGUP,             /* fewer than two participants remain */
	CALLS_END_ENDED_FOR_EVERYONE, /* the initiator ended it for everyone */
	CALLS_END_CANCELLED,          /* the initiator hung up while it rang */
	CALLS_END_RING_TIMEOUT,       /* nobody answered in time */
	CALLS_END_DECLINED,           /* every invitee declined */
	CALLS_END_BUSY,               /* every invitee was busy */
	CALLS_END_CONNECT_TIMEOUT,    /* media never flowed between two people */
	CALLS_END_DISCONNECTED,       /* the last peer went away and did not come back */
	CALLS_END_ADMIN,              /* ended through the Admin API */
	CALLS_END_SERVER_RESTART,     /* live when Janus stopped; closed on start */
} calls_end_reason;

typedef struct calls_registry calls_registry;
typedef struct calls_user calls_user;
typedef struct calls_device calls_device;
typedef struct calls_call calls_call;
typedef struct calls_participant calls_participant;

/* A registered Janus handle. `conn` is the plugin's session, opaque here. */
struct calls_device {
	guint64 id;          /* unique per process, for logs and query_session */
	calls_user *user;
	void *conn;
	gint64 registered_at;
	gboolean events;     /* receives call events (FALSE for a subscriber-only handle) */
	gint64 token_expires; /* `exp` of the token it registered with (s since the epoch), 0 = none */
};

struct calls_user {
	char *user_id;
	char *user_name;     /* NULL when only known as an invitee */
	char *avatar;
	GPtrArray *devices;  /* calls_device*, not owned */
	GPtrArray *calls;    /* live calls_call* this user takes part in, not owned */
	GQueue initiations;  /* start times (gint64 in a pointer) for the rate limit */
};

struct calls_participant {
	calls_call *call;
	char *user_id;
	char *user_name;
	char *avatar;
	calls_role role;
	calls_participant_status status;
	calls_left_reason left_reason; /* valid when status is final */
	gint64 invited_at;
	gint64 joined_at;
	gint64 left_at;
	gboolean is_muted;
	gboolean is_video_enabled;
	gboolean is_sharing_screen;

	/* Runtime state, not part of the contract */
	gboolean media_flowing;   /* the SFU has received its media */
	gboolean ever_joined;
	calls_device *device;     /* the device that answered (publishes), or NULL */
	guint ring_timer;
	guint connect_timer;
	guint grace_timer;
};

struct calls_call {
	char id[CALLS_UUID_LEN + 1];
	char room_id[CALLS_UUID_LEN + 1];
	char *chat_id;            /* NULL = null */
	calls_call_type type;
	calls_call_status status;
	char *initiator_id;
	GPtrArray *participants;  /* calls_participant*, owned, in invitation order */
	gint64 started_at;
	gint64 connected_at;
	gint64 ended_at;
	char *ended_by;           /* user id, or NULL */
	calls_end_reason end_reason;

	/* Runtime state */
	calls_registry *registry;
	void *media;              /* the SFU room, owned by the media layer */
	gboolean dirty;           /* changed since it was last persisted */
};

static inline gboolean calls_status_is_final(calls_call_status s) {
	return s >= CALLS_STATUS_ENDED;
}

/* Whole seconds from connectedAt to endedAt (or `now` while live), 0 if never connected. */
static inline gint64 calls_call_duration(const calls_call *call, gint64 now) {
	if(call->connected_at == 0)
		return 0;
	gint64 end = call->ended_at ? call->ended_at : now;
	return end > call->connected_at ? (end - call->connected_at) / G_USEC_PER_SEC : 0;
}

#endif
