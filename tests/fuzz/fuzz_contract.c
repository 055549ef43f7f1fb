/* janus.plugin.calls - libFuzzer target for the contract codec (plugin/contract.c).
 *
 * Input: a message body as JSON text, optionally followed by a NUL byte and
 * a jsep as JSON text. The body goes through calls_request_parse() as
 * Janus would hand it over; then every answer the plugin could build from
 * the outcome is built (the ERROR event, the route error, and, for accepted
 * requests, a call made of the request's fields run through every builder of
 * §7) and serialised. Checked on the way, besides memory safety:
 *   - a refusal has a code and a non-empty message; an acceptance has none;
 *   - an accepted request holds only values its field tables allow;
 *   - every built object has all of its contract keys (a key silently lost,
 *     e.g. to a string that is not valid UTF-8, is a crash here).
 * Build and run: see tests/fuzz/README.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>
#include "contract.h"
#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	g_log_set_always_fatal(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
	return 0;
}

static void require(gboolean ok, const char *what) {
	if(!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

/* Every comma-separated key is in `obj`. */
static void has_keys(json_t *obj, const char *keys) {
	require(json_is_object(obj), "an object was built");
	gchar **list = g_strsplit(keys, ",", -1);
	for(guint i = 0; list[i] != NULL; i++) {
		if(json_object_get(obj, list[i]) == NULL) {
			fprintf(stderr, "key \"%s\" missing from: ", list[i]);
			json_dumpf(obj, stderr, 0);
			fprintf(stderr, "\n");
			abort();
		}
	}
	g_strfreev(list);
}

/* Serialise, parse back, compare: what we send is valid JSON and says what we built. */
static void roundtrip(json_t *obj) {
	char *text = json_dumps(obj, JSON_COMPACT);
	require(text != NULL, "json_dumps succeeds");
	json_error_t error;
	json_t *back = json_loads(text, JSON_ALLOW_NUL, &error);
	require(back != NULL, "what we send parses");
	require(json_equal(back, obj), "what we send parses back to itself");
	json_decref(back);
	free(text);
}

static void check_event(json_t *ev, const char *data_keys) {
	has_keys(ev, "event,timestamp,data");
	has_keys(json_object_get(ev, "data"), data_keys);
	roundtrip(ev);
	json_decref(ev);
}

static gboolean takes_call_id(calls_op op) {
	switch(op) {
		case CALLS_OP_ANSWER: case CALLS_OP_DECLINE: case CALLS_OP_END: case CALLS_OP_GET:
		case CALLS_OP_ADD_PARTICIPANTS: case CALLS_OP_MEDIA: case CALLS_OP_PARTICIPANTS:
		case CALLS_OP_PUBLISH: case CALLS_OP_SUBSCRIBE: case CALLS_OP_SUBSCRIBER_ANSWER: case CALLS_OP_CONFIGURE:
			return TRUE;
		default:
			return FALSE;
	}
}

static void check_accepted(const calls_request *req) {
	require(req->op > CALLS_OP_NONE && req->op < CALLS_OP_COUNT && req->op != CALLS_OP_ICE, "a known operation");
	require(req->name[0] != '\0' && g_utf8_validate(req->name, -1, NULL), "a readable name");
	if(takes_call_id(req->op))
		require(strlen(req->call_id) == CALLS_UUID_LEN && g_uuid_string_is_valid(req->call_id), "a call id");
	require(req->page >= 1 && req->page <= 1000000 && req->limit >= 1 && req->limit <= 100, "page bounds");
	require(req->is_muted >= CALLS_UNSET && req->is_muted <= 1, "isMuted");
	require(req->is_video_enabled >= CALLS_UNSET && req->is_video_enabled <= 1, "isVideoEnabled");
	require(req->is_sharing_screen >= CALLS_UNSET && req->is_sharing_screen <= 1, "isSharingScreen");
	require(req->max_layer >= CALLS_UNSET && req->max_layer <= 2, "substream");
	require(req->max_temporal >= CALLS_UNSET && req->max_temporal <= 2, "temporal");
	require(req->filter_status == CALLS_UNSET || calls_status_is_final(req->filter_status), "status filter is final");
	require(req->filter_type == CALLS_UNSET || req->filter_type == CALLS_TYPE_AUDIO || req->filter_type == CALLS_TYPE_VIDEO,
		"type filter");
	gboolean needs_sdp = (req->op == CALLS_OP_PUBLISH || req->op == CALLS_OP_SUBSCRIBER_ANSWER);
	require(needs_sdp == (req->sdp != NULL), "SDP exactly where it belongs");
	if(req->op == CALLS_OP_CREATE || req->op == CALLS_OP_ADD_PARTICIPANTS) {
		require(req->n_participant_ids >= 1 && req->n_participant_ids <= CALLS_MAX_LIST, "participantIds size");
		for(guint i = 0; i < req->n_participant_ids; i++) {
			require(calls_user_id_valid(req->participant_ids[i]), "participantIds are user ids");
			for(guint k = 0; k < i; k++)
				require(strcmp(req->participant_ids[i], req->participant_ids[k]) != 0, "participantIds unique");
		}
	}
	if(req->op == CALLS_OP_REGISTER)
		require(req->token != NULL || (req->user_id != NULL && calls_user_id_valid(req->user_id)), "register names someone");
	if(req->chat_id != NULL)
		require(*req->chat_id != '\0' && strlen(req->chat_id) <= 128, "chatId");
}

/* A call made of the request's fields, through every builder. */
static void build_everything(const calls_request *req, const uint8_t *data, size_t size) {
	guint64 seed = 1469598103934665603ULL;
	for(size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	calls_call call;
	memset(&call, 0, sizeof(call));
	if(req->call_id[0] != '\0')
		g_strlcpy(call.id, req->call_id, sizeof(call.id));
	else
		calls_uuid_new(call.id);
	calls_uuid_new(call.room_id);
	call.chat_id = (char *)req->chat_id;
	call.type = req->type;
	call.status = (calls_call_status)(seed % CALLS_STATUS_COUNT);
	call.initiator_id = (char *)(req->user_id ? req->user_id : "initiator");
	call.participants = g_ptr_array_new_with_free_func(g_free);
	/* times anywhere from the epoch to far in the future */
	call.started_at = (gint64)((seed >> 8) % G_GINT64_CONSTANT(253402300799000000));
	call.connected_at = (seed & 1) ? call.started_at + (gint64)(seed % 1000000007) : 0;
	call.ended_at = calls_status_is_final(call.status) ? call.started_at + (gint64)(seed % 999999937) : 0;
	call.ended_by = (char *)req->target_user_id;
	call.end_reason = (calls_end_reason)(seed % (CALLS_END_SERVER_RESTART + 1));
	guint n = req->n_participant_ids;
	for(guint i = 0; i <= n && i < 20; i++) {
		calls_participant *p = g_new0(calls_participant, 1);
		p->call = &call;
		p->user_id = (char *)(i == 0 ? call.initiator_id : req->participant_ids[i - 1]);
		p->user_name = (char *)((i & 1) ? req->user_name : NULL);
		p->avatar = (char *)((i & 2) ? req->avatar : NULL);
		p->role = i == 0 ? CALLS_ROLE_INITIATOR : CALLS_ROLE_PARTICIPANT;
		p->status = (calls_participant_status)((seed >> i) % CALLS_PSTATUS_COUNT);
		p->left_reason = (calls_left_reason)((seed >> (i + 3)) % (CALLS_LEFT_DISCONNECTED + 1));
		p->joined_at = (i & 1) ? call.started_at : 0;
		p->left_at = (i & 4) ? call.ended_at : 0;
		p->is_muted = req->is_muted == 1;
		p->is_video_enabled = req->is_video_enabled != 0;
		p->is_sharing_screen = req->is_sharing_screen == 1;
		g_ptr_array_add(call.participants, p);
	}
	gint64 now = call.started_at + 1234;
	json_t *cj = calls_json_call(&call, now);
	has_keys(cj, "id,roomId,chatId,type,status,initiatorId,participants,startedAt,connectedAt,endedAt,duration,endedBy,endReason");
	json_t *parts = json_object_get(cj, "participants");
	require(json_array_size(parts) == call.participants->len, "every participant in the call JSON");
	for(size_t i = 0; i < json_array_size(parts); i++)
		has_keys(json_array_get(parts, i),
			"userId,userName,avatar,role,status,joinedAt,leftAt,isMuted,isVideoEnabled,isSharingScreen");
	roundtrip(cj);
	json_decref(cj);
	calls_participant *p = g_ptr_array_index(call.participants, call.participants->len - 1);
	check_event(calls_event_incoming(&call, now), "callId,type,initiatorId,initiatorName,initiatorAvatar,participants,roomId,chatId");
	check_event(calls_event_started(&call, now), "callId,call");
	check_event(calls_event_status_changed(&call, (calls_call_status)(seed % 3), now), "callId,status,previousStatus");
	check_event(calls_event_participant_joined(p, now), "callId,userId,userName,avatar");
	check_event(calls_event_participant_left(p, req->reason, now), req->reason ? "callId,userId,userName,reason,message" :
		"callId,userId,userName,reason");
	check_event(calls_event_media_changed(p, now), "callId,userId,userName,isMuted,isVideoEnabled,isSharingScreen");
	check_event(calls_event_ended(&call, now), "callId,status,duration,endedBy,reason");
	check_event(calls_event_answer_received(call.id, now), "callId,fromUserId");
	json_t *streams = json_array();
	json_array_append_new(streams, calls_json_stream("0", p->user_id, p->user_name, "audio", TRUE));
	check_event(calls_event_offer_received(call.id, streams, now), "callId,fromUserId,fromUserName,streams");
	g_ptr_array_free(call.participants, TRUE);

	char buf[32];
	calls_time_format((gint64)seed, buf, sizeof(buf));
	require(strlen(buf) >= 24 && buf[strlen(buf) - 1] == 'Z', "an ISO-8601 UTC timestamp");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	const uint8_t *nul = memchr(data, 0, size);
	size_t body_len = nul ? (size_t)(nul - data) : size;
	json_error_t error;
	json_t *body = json_loadb((const char *)data, body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	json_t *jsep = NULL;
	if(nul != NULL)
		jsep = json_loadb((const char *)nul + 1, size - body_len - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);

	calls_request req;
	calls_error err;
	memset(&err, 0, sizeof(err));
	gboolean ok = calls_request_parse(body, jsep, &req, &err);
	if(ok) {
		require(err.code == CALLS_ERR_NONE && err.message[0] == '\0', "an accepted request has no error");
		check_accepted(&req);
		build_everything(&req, data, size);
	} else {
		require(err.code > CALLS_ERR_NONE && err.code <= CALLS_ERR_INTERNAL, "a refusal has a code");
		require(err.message[0] != '\0' && memchr(err.message, 0, sizeof(err.message)) != NULL, "a refusal has a message");
	}
	/* the answers the router would send for a refusal */
	calls_error shown = err;
	if(ok)
		calls_error_set(&shown, CALLS_ERR_INVALID_STATE, "as if refused later: %s", req.name);
	json_t *ev = calls_event_error(&shown, req.name[0] ? req.name : NULL, req.call_id, 1764410400000000);
	check_event(ev, "code,status,message,event");
	json_t *reply = calls_reply_error(&shown);
	has_keys(reply, "status,error");
	has_keys(json_object_get(reply, "error"), "code,message");
	roundtrip(reply);
	json_decref(reply);

	calls_request_clear(&req);
	if(body != NULL)
		json_decref(body);
	if(jsep != NULL)
		json_decref(jsep);
	return 0;
}
