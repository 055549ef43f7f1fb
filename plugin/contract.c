/* janus.plugin.calls - the contract codec.
 *
 * Incoming: a message body is one of three kinds (docs/api.md §2): the
 * identity request {"request": "register"}, a route {"request": "METHOD
 * /path", "query", "body"} or an event {"event": "NAME", "data"}. Each
 * operation is described once, in the `specs` table below: its names as a
 * route and as an event, whether SDP must come with it, and a table of the
 * fields it takes. One generic walker validates any body against its spec and
 * writes the typed values into a calls_request, so adding a field is adding a
 * line, and every refusal has the same shape: what was wrong, and how to send
 * it right.
 *
 * Outgoing: builders for every event of §7 and for the route answers, from the
 * structs of types.h.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contract.h"
#include "auth.h"

/* ---- Errors ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int status;
} error_codes[] = {
	[CALLS_ERR_NONE] = { "OK", 200 },
	[CALLS_ERR_INVALID_REQUEST] = { "INVALID_REQUEST", 400 },
	[CALLS_ERR_UNSUPPORTED] = { "UNSUPPORTED", 400 },
	[CALLS_ERR_UNAUTHORIZED] = { "UNAUTHORIZED", 401 },
	[CALLS_ERR_FORBIDDEN] = { "FORBIDDEN", 403 },
	[CALLS_ERR_CALL_NOT_FOUND] = { "CALL_NOT_FOUND", 404 },
	[CALLS_ERR_INVALID_STATE] = { "INVALID_STATE", 409 },
	[CALLS_ERR_USER_BUSY] = { "USER_BUSY", 409 },
	[CALLS_ERR_LIMIT_EXCEEDED] = { "LIMIT_EXCEEDED", 429 },
	[CALLS_ERR_INTERNAL] = { "INTERNAL", 500 },
	[CALLS_ERR_UNAVAILABLE] = { "UNAVAILABLE", 503 },
};

/* Cut `s` where its valid UTF-8 ends: a truncation (%.64s, a full buffer) may have
 * split a character, and jansson refuses such a string (the key would be lost). */
static void utf8_cut(char *s) {
	const char *end = NULL;
	if(!g_utf8_validate(s, -1, &end))
		*(char *)end = '\0';
}

void calls_error_set(calls_error *err, calls_error_code code, const char *fmt, ...) {
	if(err == NULL)
		return;
	err->code = code;
	va_list args;
	va_start(args, fmt);
	g_vsnprintf(err->message, sizeof(err->message), fmt, args);
	va_end(args);
	utf8_cut(err->message);
}

const char *calls_error_code_name(calls_error_code code) {
	return code <= CALLS_ERR_UNAVAILABLE ? error_codes[code].name : "INTERNAL";
}

int calls_error_http_status(calls_error_code code) {
	return code <= CALLS_ERR_UNAVAILABLE ? error_codes[code].status : 500;
}

/* ---- Names ------------------------------------------------------------------- */

static const char *const type_names[] = { "AUDIO", "VIDEO" };
static const char *const status_names[CALLS_STATUS_COUNT] = {
	"RINGING", "CONNECTING", "CONNECTED", "ENDED", "MISSED", "DECLINED", "FAILED", "BUSY",
};
static const char *const pstatus_names[CALLS_PSTATUS_COUNT] = {
	"RINGING", "JOINED", "DECLINED", "MISSED", "BUSY", "LEFT", "FAILED",
};
static const char *const left_names[] = {
	"LEFT", "DECLINED", "MISSED", "BUSY", "FAILED", "DISCONNECTED",
};
static const char *const end_names[] = {
	NULL, "HANGUP", "ENDED_FOR_EVERYONE", "CANCELLED", "RING_TIMEOUT", "DECLINED",
	"BUSY", "CONNECT_TIMEOUT", "DISCONNECTED", "ADMIN", "SERVER_RESTART",
};

const char *calls_call_type_name(calls_call_type t) {
	return type_names[t == CALLS_TYPE_VIDEO];
}
const char *calls_call_status_name(calls_call_status s) {
	return s < CALLS_STATUS_COUNT ? status_names[s] : "ENDED";
}
const char *calls_participant_status_name(calls_participant_status s) {
	return s < CALLS_PSTATUS_COUNT ? pstatus_names[s] : "LEFT";
}
const char *calls_role_name(calls_role r) {
	return r == CALLS_ROLE_INITIATOR ? "INITIATOR" : "PARTICIPANT";
}
const char *calls_left_reason_name(calls_left_reason r) {
	return r <= CALLS_LEFT_DISCONNECTED ? left_names[r] : "LEFT";
}
const char *calls_end_reason_name(calls_end_reason r) {
	return r <= CALLS_END_SERVER_RESTART ? end_names[r] : NULL;
}

gboolean calls_call_type_parse(const char *name, calls_call_type *out) {
	for(guint i = 0; name != NULL && i < G_N_ELEMENTS(type_names); i++) {
		if(strcmp(name, type_names[i]) == 0) {
			*out = (calls_call_type)i;
			return TRUE;
		}
	}
	return FALSE;
}

gboolean calls_call_status_parse(const char *name, calls_call_status *out) {
	for(guint i = 0; name != NULL && i < CALLS_STATUS_COUNT; i++) {
		if(strcmp(name, status_names[i]) == 0) {
			*out = (calls_call_status)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* ---- Time and ids ------------------------------------------------------------ */

void calls_time_format(gint64 usec, char *out, size_t outlen) {
	if(usec < 0)
		usec = 0;
	time_t secs = (time_t)(usec / G_USEC_PER_SEC);
	int ms = (int)((usec / 1000) % 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	g_snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

json_t *calls_json_time(gint64 usec) {
	if(usec == 0)
		return json_null();
	char buf[32];
	calls_time_format(usec, buf, sizeof(buf));
	return json_string(buf);
}

void calls_uuid_new(char out[CALLS_UUID_LEN + 1]) {
	gchar *uuid = g_uuid_string_random();
	g_strlcpy(out, uuid, CALLS_UUID_LEN + 1);
	g_free(uuid);
}

static gboolean is_uuid(const char *s) {
	if(s == NULL || strlen(s) != CALLS_UUID_LEN)
		return FALSE;
	for(int i = 0; i < CALLS_UUID_LEN; i++) {
		gboolean dash = (i == 8 || i == 13 || i == 18 || i == 23);
		if(dash ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
			return FALSE;
	}
	return TRUE;
}

/* ---- Field tables -------------------------------------------------------------- */

typedef enum {
	F_STRING,        /* const char * */
	F_ID,            /* const char *: an identifier (chat id): printable text */
	F_USER_ID,       /* const char *: a user id (calls_user_id_valid) */
	F_CALL_ID,       /* a UUID copied into req->call_id */
	F_BOOL,          /* gboolean */
	F_TRISTATE,      /* int: CALLS_UNSET / 0 / 1 */
	F_COUNT,         /* int >= 1, also as a numeric string (query strings) */
	F_TYPE,          /* calls_call_type, "AUDIO" | "VIDEO" */
	F_TYPE_FILTER,   /* int: CALLS_UNSET or a calls_call_type */
	F_STATUS_FILTER, /* int: CALLS_UNSET or a final calls_call_status */
	F_ID_LIST,       /* participant_ids / n_participant_ids */
	F_LAYER,         /* int 0..2 */
} field_kind;

#define REQUIRED 0x1
#define NULLABLE 0x2

typedef struct field_spec {
	const char *name;
	field_kind kind;
	guint flags;
	size_t offset;
	size_t max_len;   /* strings: bytes; counts: largest value */
	const char *hint; /* how to send it right */
} field_spec;

#define AT(member) offsetof(calls_request, member)

static const field_spec register_fields[] = {
	{ "token", F_STRING, NULLABLE, AT(token), 16384, "a JWT signed with the server's key" },
	{ "userId", F_USER_ID, 0, AT(user_id), CALLS_USER_ID_MAX, "the user's id (open mode)" },
	{ "userName", F_STRING, NULLABLE, AT(user_name), CALLS_USER_NAME_MAX, "a display name" },
	{ "avatar", F_STRING, NULLABLE, AT(avatar), CALLS_AVATAR_MAX, "an image URL" },
	{ NULL }
};
static const field_spec create_fields[] = {
	{ "participantIds", F_ID_LIST, REQUIRED, 0, CALLS_MAX_LIST, "a non-empty array of user ids, e.g. [\"bob\"]" },
	{ "type", F_TYPE, REQUIRED, AT(type), 0, "\"AUDIO\" or \"VIDEO\"" },
	{ "chatId", F_ID, NULLABLE, AT(chat_id), 128, "a chat id string, or null" },
	{ NULL }
};
static const field_spec call_id_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of CALL_INCOMING or CALL_STARTED" },
	{ NULL }
};
static const field_spec subscribe_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of your call" },
	{ "restart", F_BOOL, NULLABLE, AT(restart), 0, "true to restart ICE with the next offer" },
	{ NULL }
};
static const field_spec decline_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of CALL_INCOMING" },
	{ "reason", F_STRING, NULLABLE, AT(reason), 512, "a short text shown to the caller" },
	{ NULL }
};
static const field_spec answer_route_fields[] = {
	{ "accept", F_BOOL, REQUIRED, AT(accept), 0, "true to answer, false to decline" },
	{ "reason", F_STRING, NULLABLE, AT(reason), 512, "a short text shown to the caller when declining" },
	{ NULL }
};
static const field_spec end_event_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of the call to leave" },
	{ "forEveryone", F_BOOL, NULLABLE, AT(for_everyone), 0, "true (initiator only) to end the call for all" },
	{ NULL }
};
static const field_spec end_route_fields[] = {
	{ "forEveryone", F_BOOL, NULLABLE, AT(for_everyone), 0, "true (initiator only) to end the call for all" },
	{ NULL }
};
static const field_spec media_route_fields[] = {
	{ "isMuted", F_TRISTATE, NULLABLE, AT(is_muted), 0, "true or false" },
	{ "isVideoEnabled", F_TRISTATE, NULLABLE, AT(is_video_enabled), 0, "true or false" },
	{ "isSharingScreen", F_TRISTATE, NULLABLE, AT(is_sharing_screen), 0, "true or false" },
	{ NULL }
};
static const field_spec media_event_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of your call" },
	{ "isMuted", F_TRISTATE, NULLABLE, AT(is_muted), 0, "true or false" },
	{ "isVideoEnabled", F_TRISTATE, NULLABLE, AT(is_video_enabled), 0, "true or false" },
	{ "isSharingScreen", F_TRISTATE, NULLABLE, AT(is_sharing_screen), 0, "true or false" },
	{ NULL }
};
static const field_spec add_fields[] = {
	{ "participantIds", F_ID_LIST, REQUIRED, 0, CALLS_MAX_LIST, "a non-empty array of user ids" },
	{ NULL }
};
static const field_spec page_fields[] = {
	{ "page", F_COUNT, NULLABLE, AT(page), 1000000, "a page number from 1" },
	{ "limit", F_COUNT, NULLABLE, AT(limit), 100, "a page size from 1 to 100" },
	{ NULL }
};
static const field_spec history_fields[] = {
	{ "page", F_COUNT, NULLABLE, AT(page), 1000000, "a page number from 1" },
	{ "limit", F_COUNT, NULLABLE, AT(limit), 100, "a page size from 1 to 100" },
	{ "chatId", F_ID, NULLABLE, AT(filter_chat_id), 128, "a chat id string" },
	{ "type", F_TYPE_FILTER, NULLABLE, AT(filter_type), 0, "\"AUDIO\" or \"VIDEO\"" },
	{ "status", F_STATUS_FILTER, NULLABLE, AT(filter_status), 0,
		"one of the final statuses ENDED, MISSED, DECLINED, FAILED, BUSY" },
	{ NULL }
};
static const field_spec signaling_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of your call" },
	{ "targetUserId", F_USER_ID, NULLABLE, AT(target_user_id), CALLS_USER_ID_MAX,
		"a user id (ignored: through the SFU every offer goes to the server)" },
	{ NULL }
};
static const field_spec configure_fields[] = {
	{ "callId", F_CALL_ID, REQUIRED, 0, 0, "the callId of your call" },
	{ "userId", F_USER_ID, NULLABLE, AT(target_user_id), CALLS_USER_ID_MAX, "whose video to cap; leave out for everybody's" },
	{ "substream", F_LAYER, NULLABLE, AT(max_layer), 2, "the highest simulcast layer, 0 (low) to 2 (high)" },
	{ "temporal", F_LAYER, NULLABLE, AT(max_temporal), 2, "the highest temporal layer, 0 to 2" },
	{ NULL }
};

typedef enum { JSEP_NONE = 0, JSEP_OFFER, JSEP_ANSWER } jsep_need;

/* One operation of the contract, as a route and/or as an event. A route path
 * is matched segment by segment; ":callId" captures the call id. */
typedef struct op_spec {
	calls_op op;
	const char *method;           /* NULL: not a route */
	const char *path;
	const char *event;            /* NULL: not an event */
	jsep_need jsep;
	gboolean async;
	const field_spec *route_body;
	const field_spec *route_query;
	const field_spec *event_data;
} op_spec;

static const op_spec specs[] = {
	{ CALLS_OP_CREATE, "POST", "/calls", "CALL_INITIATE", JSEP_NONE, FALSE, create_fields, NULL, create_fields },
	{ CALLS_OP_ANSWER, "POST", "/calls/:callId/answer", "CALL_ANSWER", JSEP_NONE, FALSE, answer_route_fields, NULL, call_id_fields },
	{ CALLS_OP_DECLINE, NULL, NULL, "CALL_DECLINE", JSEP_NONE, FALSE, NULL, NULL, decline_fields },
	{ CALLS_OP_END, "POST", "/calls/:callId/end", "CALL_END", JSEP_NONE, FALSE, end_route_fields, NULL, end_event_fields },
	{ CALLS_OP_ACTIVE, "GET", "/calls/active", NULL, JSEP_NONE, FALSE, NULL, page_fields, NULL },
	{ CALLS_OP_HISTORY, "GET", "/calls/history", NULL, JSEP_NONE, FALSE, NULL, history_fields, NULL },
	{ CALLS_OP_GET, "GET", "/calls/:callId", NULL, JSEP_NONE, FALSE, NULL, NULL, NULL },
	{ CALLS_OP_ADD_PARTICIPANTS, "POST", "/calls/:callId/participants", NULL, JSEP_NONE, FALSE, add_fields, NULL, NULL },
	{ CALLS_OP_PARTICIPANTS, "GET", "/calls/:callId/participants", NULL, JSEP_NONE, FALSE, NULL, NULL, NULL },
	{ CALLS_OP_MEDIA, "PATCH", "/calls/:callId/media", "CALL_PARTICIPANT_MEDIA_UPDATE", JSEP_NONE, FALSE, media_route_fields, NULL, media_event_fields },
	{ CALLS_OP_PUBLISH, "POST", "/calls/signaling/offer", "WEBRTC_OFFER", JSEP_OFFER, TRUE, signaling_fields, NULL, signaling_fields },
	{ CALLS_OP_SUBSCRIBE, "POST", "/calls/signaling/subscribe", "CALL_SUBSCRIBE", JSEP_NONE, TRUE, subscribe_fields, NULL, subscribe_fields },
	{ CALLS_OP_SUBSCRIBER_ANSWER, "POST", "/calls/signaling/answer", "WEBRTC_ANSWER", JSEP_ANSWER, TRUE, signaling_fields, NULL, signaling_fields },
	{ CALLS_OP_CONFIGURE, "POST", "/calls/signaling/configure", "CALL_SUBSCRIBER_CONFIGURE", JSEP_NONE, FALSE, configure_fields, NULL, configure_fields },
	{ CALLS_OP_ICE, "POST", "/calls/signaling/ice-candidate", "WEBRTC_ICE_CANDIDATE", JSEP_NONE, FALSE, NULL, NULL, NULL },
	{ CALLS_OP_USERS_ONLINE, "GET", "/users/online", NULL, JSEP_NONE, FALSE, NULL, NULL, NULL },
};

/* ---- The field walker ------------------------------------------------------------ */

static const char *json_kind_name(json_t *v) {
	switch(json_typeof(v)) {
		case JSON_OBJECT: return "an object";
		case JSON_ARRAY: return "an array";
		case JSON_STRING: return "a string";
		case JSON_INTEGER: return "an integer";
		case JSON_REAL: return "a number";
		case JSON_TRUE: case JSON_FALSE: return "a boolean";
		case JSON_NULL: return "null";
	}
	return "something else";
}

static gboolean has_control_chars(const char *s) {
	for(const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if(*p < 0x20 || *p == 0x7f)
			return TRUE;
	}
	return FALSE;
}

/* Parse an integer from a JSON integer or a decimal string. */
static gboolean read_count(json_t *v, long long *out) {
	if(json_is_integer(v)) {
		*out = json_integer_value(v);
		return TRUE;
	}
	if(json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		if(*s == '\0' || strlen(s) > 12)
			return FALSE;
		long long n = strtoll(s, &end, 10);
		if(end == NULL || *end != '\0')
			return FALSE;
		*out = n;
		return TRUE;
	}
	return FALSE;
}

static gboolean read_field(const field_spec *f, json_t *v, const char *where,
		calls_request *req, calls_error *err) {
	char *base = (char *)req;
	switch(f->kind) {
		case F_USER_ID:
			if(!json_is_string(v))
				goto wrong_type;
			if(!calls_user_id_valid(json_string_value(v)) || strlen(json_string_value(v)) != json_string_length(v)) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s must be %s", where, f->name, CALLS_USER_ID_RULE);
				return FALSE;
			}
			*(const char **)(base + f->offset) = json_string_value(v);
			return TRUE;
		case F_STRING:
		case F_ID: {
			if(!json_is_string(v))
				goto wrong_type;
			const char *s = json_string_value(v);
			size_t len = strlen(s);
			if(f->kind == F_ID && (len == 0 || has_control_chars(s))) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s must be %s (got an empty string or control characters)", where, f->name, f->hint);
				return FALSE;
			}
			if(len > f->max_len) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s is %zu bytes long; at most %zu are accepted", where, f->name, len, f->max_len);
				return FALSE;
			}
			*(const char **)(base + f->offset) = s;
			return TRUE;
		}
		case F_CALL_ID: {
			if(!json_is_string(v))
				goto wrong_type;
			if(!is_uuid(json_string_value(v))) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s must be a call id (a UUID such as \"0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42\"): %s",
					where, f->name, f->hint);
				return FALSE;
			}
			g_strlcpy(req->call_id, json_string_value(v), sizeof(req->call_id));
			return TRUE;
		}
		case F_BOOL:
			if(!json_is_boolean(v))
				goto wrong_type;
			*(gboolean *)(base + f->offset) = json_is_true(v);
			return TRUE;
		case F_TRISTATE:
			if(!json_is_boolean(v))
				goto wrong_type;
			*(int *)(base + f->offset) = json_is_true(v) ? 1 : 0;
			return TRUE;
		case F_COUNT:
		case F_LAYER: {
			long long n = 0;
			long long min = f->kind == F_COUNT ? 1 : 0;
			if(!read_count(v, &n) || n < min || n > (long long)f->max_len) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s must be %s (an integer from %lld to %zu)", where, f->name, f->hint, min, f->max_len);
				return FALSE;
			}
			*(int *)(base + f->offset) = (int)n;
			return TRUE;
		}
		case F_TYPE:
		case F_TYPE_FILTER: {
			calls_call_type t;
			if(!json_is_string(v) || !calls_call_type_parse(json_string_value(v), &t)) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s must be %s", where, f->name, f->hint);
				return FALSE;
			}
			if(f->kind == F_TYPE)
				*(calls_call_type *)(base + f->offset) = t;
			else
				*(int *)(base + f->offset) = (int)t;
			return TRUE;
		}
		case F_STATUS_FILTER: {
			calls_call_status s;
			if(!json_is_string(v) || !calls_call_status_parse(json_string_value(v), &s) || !calls_status_is_final(s)) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s must be %s: history holds finished calls only", where, f->name, f->hint);
				return FALSE;
			}
			*(int *)(base + f->offset) = (int)s;
			return TRUE;
		}
		case F_ID_LIST: {
			if(!json_is_array(v))
				goto wrong_type;
			size_t n = json_array_size(v);
			if(n == 0) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s is empty: send %s", where, f->name, f->hint);
				return FALSE;
			}
			if(n > f->max_len) {
				calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
					"%s.%s lists %zu users; a call holds far fewer (see max_participants)", where, f->name, n);
				return FALSE;
			}
			const char **ids = g_new0(const char *, n);
			for(size_t i = 0; i < n; i++) {
				json_t *item = json_array_get(v, i);
				const char *id = json_string_value(item);
				if(id == NULL || !calls_user_id_valid(id) || strlen(id) != json_string_length(item)) {
					calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
						"%s.%s[%zu] must be a user id: %s (got %s)",
						where, f->name, i, CALLS_USER_ID_RULE, json_kind_name(item));
					g_free(ids);
					return FALSE;
				}
				for(size_t j = 0; j < i; j++) {
					if(strcmp(ids[j], id) == 0) {
						calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
							"%s.%s lists \"%s\" twice: list each user once", where, f->name, id);
						g_free(ids);
						return FALSE;
					}
				}
				ids[i] = id;
			}
			g_free(req->participant_ids);
			req->participant_ids = ids;
			req->n_participant_ids = (guint)n;
			return TRUE;
		}
	}
wrong_type:
	calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s must be %s, not %s",
		where, f->name, f->hint, json_kind_name(v));
	return FALSE;
}

static gboolean read_fields(const field_spec *fields, json_t *obj, const char *where,
		calls_request *req, calls_error *err) {
	if(obj != NULL && !json_is_null(obj) && !json_is_object(obj)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s must be an object, not %s", where, json_kind_name(obj));
		return FALSE;
	}
	for(const field_spec *f = fields; f != NULL && f->name != NULL; f++) {
		json_t *v = json_is_object(obj) ? json_object_get(obj, f->name) : NULL;
		if(v == NULL || json_is_null(v)) {
			if(f->flags & REQUIRED) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s is missing: send %s", where, f->name, f->hint);
				return FALSE;
			}
			if(v != NULL && !(f->flags & NULLABLE)) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s.%s must not be null: send %s", where, f->name, f->hint);
				return FALSE;
			}
			continue;
		}
		if(!read_field(f, v, where, req, err))
			return FALSE;
	}
	return TRUE;
}

/* SDP travels in Janus's jsep field; refuse it anywhere else with a pointer. */
static gboolean refuse_inline_sdp(json_t *obj, const char *where, calls_error *err) {
	static const char *const keys[] = { "offer", "answer", "sdp", "jsep", "candidate" };
	for(guint i = 0; json_is_object(obj) && i < G_N_ELEMENTS(keys); i++) {
		if(json_object_get(obj, keys[i]) != NULL) {
			if(i == 4)
				calls_error_set(err, CALLS_ERR_UNSUPPORTED,
					"ICE candidates are not sent inside %s: send them with Janus \"trickle\" requests on this handle", where);
			else
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"%s.%s is not read: SDP travels in the Janus \"jsep\" field of the message "
					"(janus.js: sendMessage({message, jsep})), never inside %s", where, keys[i], where);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean check_jsep(const op_spec *spec, json_t *jsep, calls_request *req, calls_error *err) {
	if(spec->jsep == JSEP_NONE) {
		if(jsep != NULL && !json_is_null(jsep)) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"%s carries no SDP: send it without a jsep (offers go with WEBRTC_OFFER, answers with WEBRTC_ANSWER)", req->name);
			return FALSE;
		}
		return TRUE;
	}
	const char *want = spec->jsep == JSEP_OFFER ? "offer" : "answer";
	const char *type = json_string_value(json_object_get(jsep, "type"));
	const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
	if(!json_is_object(jsep) || type == NULL || sdp == NULL) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"%s needs an SDP %s in the Janus \"jsep\" field: {\"type\": \"%s\", \"sdp\": \"v=0...\"}", req->name, want, want);
		return FALSE;
	}
	if(strcmp(type, want) != 0) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s needs a jsep of type \"%s\", not \"%s\"", req->name, want, type);
		return FALSE;
	}
	req->sdp_type = type;
	req->sdp = sdp;
	return TRUE;
}

/* ---- Routes -------------------------------------------------------------------- */

/* Match "/calls/<uuid>/answer" against "/calls/:callId/answer". */
static gboolean path_matches(const char *pattern, const char *path, char *call_id, gboolean *bad_id) {
	gchar **p = g_strsplit(pattern, "/", -1), **s = g_strsplit(path, "/", -1);
	gboolean ok = g_strv_length(p) == g_strv_length(s);
	for(guint i = 0; ok && p[i] != NULL; i++) {
		if(strcmp(p[i], ":callId") == 0) {
			if(strcmp(s[i], "active") == 0 || strcmp(s[i], "history") == 0 || strcmp(s[i], "signaling") == 0)
				ok = FALSE;
			else if(!is_uuid(s[i]))
				*bad_id = TRUE;
			else
				g_strlcpy(call_id, s[i], CALLS_UUID_LEN + 1);
		} else if(strcmp(p[i], s[i]) != 0) {
			ok = FALSE;
		}
	}
	g_strfreev(p);
	g_strfreev(s);
	return ok;
}

/* Most parameters a query string in a path may hold. */
#define QUERY_PARAMS_MAX 32

/* One name or value of a query string: '+' is a space (as browsers' forms
 * and URLSearchParams write it), %XX a byte; the result must be UTF-8
 * without NUL. NULL when it is not. */
static char *query_unescape(const char *raw) {
	char *plus = g_strdelimit(g_strdup(raw), "+", ' ');
	char *text = g_uri_unescape_string(plus, NULL);   /* NULL on a bad %XX or %00 */
	g_free(plus);
	if(text != NULL && !g_utf8_validate(text, -1, NULL))
		g_clear_pointer(&text, g_free);
	return text;
}

/* A query string written into the path ("/calls/history?page=2&type=VIDEO")
 * becomes an object of strings, as an HTTP server would read it; a name
 * without "=" has the value "". Bad percent-encoding, a parameter without a
 * name, a name given twice with different values, or too many parameters:
 * FALSE with `err` set. */
static gboolean query_from_path(const char *qs, json_t **out, calls_error *err) {
	guint n = 1;
	for(const char *p = qs; *p != '\0'; p++)
		n += (*p == '&');
	if(n > QUERY_PARAMS_MAX) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the query string in the path has %u parameters; "
			"at most %d are read", n, QUERY_PARAMS_MAX);
		return FALSE;
	}
	json_t *q = json_object();
	gchar **pairs = g_strsplit(qs, "&", -1);
	gboolean ok = TRUE;
	for(guint i = 0; ok && pairs[i] != NULL; i++) {
		if(*pairs[i] == '\0')
			continue;
		char *eq = strchr(pairs[i], '=');
		if(eq != NULL)
			*eq = '\0';
		char *key = query_unescape(pairs[i]);
		char *val = query_unescape(eq != NULL ? eq + 1 : "");
		json_t *before = key != NULL ? json_object_get(q, key) : NULL;
		if(key == NULL || val == NULL) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the query string in the path is not valid: "
				"\"%.40s%s%.40s\" has bad percent-encoding (write %%XX with two hex digits, of UTF-8 text, "
				"never %%00)", pairs[i], eq != NULL ? "=" : "", eq != NULL ? eq + 1 : "");
			ok = FALSE;
		} else if(*key == '\0') {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"the query string in the path has a parameter without a name (\"=%.40s\")", val);
			ok = FALSE;
		} else if(before != NULL && strcmp(json_string_value(before), val) != 0) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the query string in the path gives %.40s twice, "
				"with different values (\"%.40s\" and \"%.40s\"): give it once", key, json_string_value(before), val);
			ok = FALSE;
		} else {
			json_object_set_new(q, key, json_string(val));
		}
		g_free(key);
		g_free(val);
	}
	g_strfreev(pairs);
	if(!ok) {
		json_decref(q);
		return FALSE;
	}
	*out = q;
	return TRUE;
}

/* Whether a value of the path's query string (a string) and one of the
 * `query` object mean the same: equal, or the same number. */
static gboolean same_query_value(json_t *from_path, json_t *from_query) {
	long long a = 0, b = 0;
	if(json_equal(from_path, from_query))
		return TRUE;
	return read_count(from_path, &a) && read_count(from_query, &b) && a == b;
}

/* The query of a route: the path's query string and the `query` object
 * together (new reference), or NULL with `err` set when they disagree. */
static json_t *merge_query(json_t *path_query, json_t *query, calls_error *err) {
	json_t *merged = json_copy(path_query);
	const char *key;
	json_t *value;
	json_object_foreach(query, key, value) {
		json_t *other = json_object_get(path_query, key);
		if(other != NULL && !same_query_value(other, value)) {
			char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"query parameter %.40s is given in the path (\"%.40s\") and in \"query\" (%.40s) with "
				"different values: give it in one place", key, json_string_value(other), text ? text : "?");
			free(text);
			json_decref(merged);
			return NULL;
		}
		json_object_set(merged, key, value);
	}
	return merged;
}

static const char route_list[] =
	"POST /calls, POST /calls/:callId/answer, POST /calls/:callId/end, GET /calls/:callId, "
	"GET /calls/active, GET /calls/history, POST /calls/:callId/participants, PATCH /calls/:callId/media, "
	"GET /calls/:callId/participants, POST /calls/signaling/offer, POST /calls/signaling/answer, "
	"POST /calls/signaling/subscribe, POST /calls/signaling/configure, GET /users/online";

static gboolean parse_route(json_t *body, json_t *jsep, const char *request, calls_request *req, calls_error *err) {
	req->via = CALLS_VIA_ROUTE;
	g_strlcpy(req->name, request, sizeof(req->name));
	utf8_cut(req->name);
	const char *space = strchr(request, ' ');
	if(space == NULL || space == request || space[1] != '/') {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"unknown request \"%.64s\": send \"register\" or a route \"METHOD /path\", one of: %s", request, route_list);
		return FALSE;
	}
	char method[16];
	g_strlcpy(method, request, MIN(sizeof(method), (size_t)(space - request) + 1));
	char *path = g_strdup(space + 1);
	json_t *path_query = NULL;
	char *qmark = strchr(path, '?');
	gboolean query_ok = TRUE;
	if(qmark != NULL) {
		*qmark = '\0';
		query_ok = query_from_path(qmark + 1, &path_query, err);
		req->path_query = path_query;  /* owned by the request: fields borrow its strings */
	}
	size_t plen = strlen(path);
	if(plen > 1 && path[plen - 1] == '/')
		path[plen - 1] = '\0';

	const op_spec *spec = NULL;
	gboolean path_known = FALSE, bad_id = FALSE;
	for(guint i = 0; i < G_N_ELEMENTS(specs) && spec == NULL; i++) {
		if(specs[i].method == NULL)
			continue;
		char cid[CALLS_UUID_LEN + 1] = "";
		gboolean bad = FALSE;
		if(!path_matches(specs[i].path, path, cid, &bad))
			continue;
		path_known = TRUE;
		if(strcmp(specs[i].method, method) != 0)
			continue;
		spec = &specs[i];
		bad_id = bad;
		g_strlcpy(req->call_id, cid, sizeof(req->call_id));
		g_snprintf(req->name, sizeof(req->name), "%s %s", spec->method, spec->path);
	}
	gboolean ok = FALSE;
	if(spec == NULL) {
		if(path_known)
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"%.32s is not allowed on %.80s; routes are: %s", method, path, route_list);
		else
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "unknown route \"%.100s\"; routes are: %s", request, route_list);
		goto done;
	}
	req->op = spec->op;
	req->async = spec->async;
	if(!query_ok)
		goto done;
	if(bad_id) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"the path of %s must hold a call id (a UUID) where :callId stands", req->name);
		goto done;
	}
	if(spec->op == CALLS_OP_ICE) {
		calls_error_set(err, CALLS_ERR_UNSUPPORTED,
			"ICE candidates go in Janus \"trickle\" requests on this handle (janus.js does it for you), not in %s", req->name);
		goto done;
	}
	json_t *rbody = json_object_get(body, "body");
	json_t *query = json_object_get(body, "query");
	if(query == NULL || json_is_null(query)) {
		query = path_query;
	} else if(path_query != NULL && json_is_object(query)) {
		/* Both: one query, each parameter given once or the same in both places */
		json_t *merged = merge_query(path_query, query, err);
		if(merged == NULL)
			goto done;
		json_decref(req->path_query);
		req->path_query = query = merged;  /* owned by the request, like path_query */
	}
	if(!refuse_inline_sdp(rbody, "body", err))
		goto done;
	if(spec->route_body == NULL && rbody != NULL && !json_is_null(rbody) &&
			!(json_is_object(rbody) && json_object_size(rbody) == 0)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s takes no body", req->name);
		goto done;
	}
	if(!read_fields(spec->route_body, rbody, "body", req, err) ||
			!read_fields(spec->route_query, query, "query", req, err))
		goto done;
	if(spec->op == CALLS_OP_ANSWER) {
		/* {accept: false} is the decline of this route */
		if(!req->accept)
			req->op = CALLS_OP_DECLINE;
	}
	ok = check_jsep(spec, jsep, req, err);
done:
	g_free(path);
	return ok;
}

/* ---- Events -------------------------------------------------------------------- */

static gboolean parse_event(json_t *body, json_t *jsep, const char *event, calls_request *req, calls_error *err) {
	req->via = CALLS_VIA_EVENT;
	req->async = TRUE;
	g_strlcpy(req->name, event, sizeof(req->name));
	utf8_cut(req->name);
	const op_spec *spec = NULL;
	for(guint i = 0; i < G_N_ELEMENTS(specs) && spec == NULL; i++) {
		if(specs[i].event != NULL && strcmp(specs[i].event, event) == 0)
			spec = &specs[i];
	}
	json_t *data = json_object_get(body, "data");
	/* Fill callId first, so that even a refused event names its call */
	json_t *cid = json_object_get(data, "callId");
	if(json_is_string(cid) && is_uuid(json_string_value(cid)))
		g_strlcpy(req->call_id, json_string_value(cid), sizeof(req->call_id));
	if(spec == NULL) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"unknown event \"%.64s\"; events are CALL_INITIATE, CALL_ANSWER, CALL_DECLINE, CALL_END, "
			"CALL_PARTICIPANT_MEDIA_UPDATE, WEBRTC_OFFER, CALL_SUBSCRIBE, WEBRTC_ANSWER, CALL_SUBSCRIBER_CONFIGURE", event);
		return FALSE;
	}
	req->op = spec->op;
	if(spec->op == CALLS_OP_ICE) {
		calls_error_set(err, CALLS_ERR_UNSUPPORTED,
			"WEBRTC_ICE_CANDIDATE is not used: send candidates with Janus \"trickle\" requests on this handle "
			"(janus.js does it for you); the server's own arrive as Janus \"trickle\" messages");
		return FALSE;
	}
	json_t *ts = json_object_get(body, "timestamp");
	if(ts != NULL && !json_is_string(ts) && !json_is_null(ts)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"timestamp must be an ISO-8601 string such as \"2025-11-29T10:00:00.000Z\", not %s", json_kind_name(ts));
		return FALSE;
	}
	if(data == NULL || json_is_null(data)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "%s needs a \"data\" object", event);
		return FALSE;
	}
	if(!refuse_inline_sdp(data, "data", err) || !read_fields(spec->event_data, data, "data", req, err))
		return FALSE;
	return check_jsep(spec, jsep, req, err);
}

/* ---- Entry point ------------------------------------------------------------------ */

static void request_init(calls_request *req) {
	memset(req, 0, sizeof(*req));
	req->is_muted = req->is_video_enabled = req->is_sharing_screen = CALLS_UNSET;
	req->filter_type = req->filter_status = CALLS_UNSET;
	req->max_layer = req->max_temporal = CALLS_UNSET;
	req->page = 1;
	req->limit = 10;
}

gboolean calls_request_parse(json_t *body, json_t *jsep, calls_request *req, calls_error *err) {
	request_init(req);
	if(body != NULL)
		req->root = json_incref(body);
	if(jsep != NULL)
		req->jsep = json_incref(jsep);
	if(!json_is_object(body)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the message body must be a JSON object");
		return FALSE;
	}
	json_t *request = json_object_get(body, "request");
	json_t *event = json_object_get(body, "event");
	if(request != NULL && event != NULL) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"a body holds either \"request\" (register or a route) or \"event\", not both");
		return FALSE;
	}
	if(event != NULL) {
		if(!json_is_string(event)) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "event must be a string such as \"CALL_INITIATE\"");
			return FALSE;
		}
		return parse_event(body, jsep, json_string_value(event), req, err);
	}
	if(!json_is_string(request)) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"the body needs \"request\" (\"register\" or a route such as \"POST /calls\") or \"event\" (such as \"CALL_INITIATE\")");
		return FALSE;
	}
	const char *name = json_string_value(request);
	if(strcmp(name, "register") == 0) {
		req->op = CALLS_OP_REGISTER;
		req->via = CALLS_VIA_REQUEST;
		g_strlcpy(req->name, "register", sizeof(req->name));
		if(jsep != NULL && !json_is_null(jsep)) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "register carries no SDP: send it without a jsep");
			return FALSE;
		}
		if(!read_fields(register_fields, body, "register", req, err))
			return FALSE;
		if(req->token == NULL && req->user_id == NULL) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"register needs \"token\" (a JWT) or, when the server runs in open mode, \"userId\"");
			return FALSE;
		}
		return TRUE;
	}
	return parse_route(body, jsep, name, req, err);
}

void calls_request_clear(calls_request *req) {
	g_free(req->participant_ids);
	req->participant_ids = NULL;
	if(req->root != NULL)
		json_decref(req->root);
	if(req->jsep != NULL)
		json_decref(req->jsep);
	if(req->path_query != NULL)
		json_decref(req->path_query);
	req->root = req->jsep = req->path_query = NULL;
	if(req->verified != NULL && req->verified_free != NULL)
		req->verified_free(req->verified);
	req->verified = NULL;
}

/* json_dump_callback's sink: counts, and stops once past the limit. */
typedef struct size_count {
	size_t bytes, limit;
} size_count;

static int count_bytes(const char *buffer, size_t size, void *data) {
	size_count *c = data;
	(void)buffer;
	c->bytes += size;
	return (c->limit > 0 && c->bytes > c->limit) ? -1 : 0;
}

gboolean calls_request_check_size(const calls_request *req, size_t max_body, size_t max_sdp, calls_error *err) {
	if(max_body > 0 && req->root != NULL) {
		size_count c = { 0, max_body };
		if(json_dump_callback(req->root, count_bytes, &c, JSON_COMPACT | JSON_ENCODE_ANY) != 0 || c.bytes > max_body) {
			calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
				"the message body of %s is larger than %zu bytes (max_message_size, counted as compact JSON): "
				"send less", req->name, max_body);
			return FALSE;
		}
	}
	if(max_sdp > 0 && req->sdp != NULL) {
		size_t len = strlen(req->sdp);
		if(len > max_sdp) {
			calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
				"the SDP of %s is %zu bytes long; at most %zu are accepted (max_sdp_size)", req->name, len, max_sdp);
			return FALSE;
		}
	}
	return TRUE;
}

/* ---- Outgoing JSON ----------------------------------------------------------------- */

static json_t *json_string_or_null(const char *s) {
	return s != NULL ? json_string(s) : json_null();
}

json_t *calls_json_participant(const calls_participant *p) {
	json_t *j = json_object();
	json_object_set_new(j, "userId", json_string(p->user_id));
	json_object_set_new(j, "userName", json_string_or_null(p->user_name));
	json_object_set_new(j, "avatar", json_string_or_null(p->avatar));
	json_object_set_new(j, "role", json_string(calls_role_name(p->role)));
	json_object_set_new(j, "status", json_string(calls_participant_status_name(p->status)));
	json_object_set_new(j, "joinedAt", calls_json_time(p->joined_at));
	json_object_set_new(j, "leftAt", calls_json_time(p->left_at));
	json_object_set_new(j, "isMuted", json_boolean(p->is_muted));
	json_object_set_new(j, "isVideoEnabled", json_boolean(p->is_video_enabled));
	json_object_set_new(j, "isSharingScreen", json_boolean(p->is_sharing_screen));
	return j;
}

json_t *calls_json_call(const calls_call *call, gint64 now) {
	json_t *j = json_object();
	json_object_set_new(j, "id", json_string(call->id));
	json_object_set_new(j, "roomId", json_string(call->room_id));
	json_object_set_new(j, "chatId", json_string_or_null(call->chat_id));
	json_object_set_new(j, "type", json_string(calls_call_type_name(call->type)));
	json_object_set_new(j, "status", json_string(calls_call_status_name(call->status)));
	json_object_set_new(j, "initiatorId", json_string(call->initiator_id));
	json_t *parts = json_array();
	for(guint i = 0; i < call->participants->len; i++)
		json_array_append_new(parts, calls_json_participant(g_ptr_array_index(call->participants, i)));
	json_object_set_new(j, "participants", parts);
	json_object_set_new(j, "startedAt", calls_json_time(call->started_at));
	json_object_set_new(j, "connectedAt", calls_json_time(call->connected_at));
	json_object_set_new(j, "endedAt", calls_json_time(call->ended_at));
	json_object_set_new(j, "duration", calls_status_is_final(call->status) ?
		json_integer(calls_call_duration(call, now)) : json_null());
	json_object_set_new(j, "endedBy", json_string_or_null(call->ended_by));
	json_object_set_new(j, "endReason", json_string_or_null(calls_end_reason_name(call->end_reason)));
	return j;
}

json_t *calls_json_user(const calls_user *u) {
	json_t *j = json_object();
	json_object_set_new(j, "userId", json_string(u->user_id));
	json_object_set_new(j, "userName", json_string_or_null(u->user_name));
	json_object_set_new(j, "avatar", json_string_or_null(u->avatar));
	return j;
}

json_t *calls_event_new(const char *name, gint64 now, json_t *data) {
	json_t *e = json_object();
	json_object_set_new(e, "event", json_string(name));
	json_object_set_new(e, "timestamp", calls_json_time(now));
	json_object_set_new(e, "data", data);
	return e;
}

static const calls_participant *initiator_of(const calls_call *call) {
	for(guint i = 0; i < call->participants->len; i++) {
		const calls_participant *p = g_ptr_array_index(call->participants, i);
		if(p->role == CALLS_ROLE_INITIATOR)
			return p;
	}
	return NULL;
}

json_t *calls_event_incoming(const calls_call *call, gint64 now) {
	const calls_participant *init = initiator_of(call);
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call->id));
	json_object_set_new(d, "type", json_string(calls_call_type_name(call->type)));
	json_object_set_new(d, "initiatorId", json_string(call->initiator_id));
	json_object_set_new(d, "initiatorName", json_string_or_null(init ? init->user_name : NULL));
	json_object_set_new(d, "initiatorAvatar", json_string_or_null(init ? init->avatar : NULL));
	json_t *parts = json_array();
	for(guint i = 0; i < call->participants->len; i++) {
		const calls_participant *p = g_ptr_array_index(call->participants, i);
		json_t *pj = json_object();
		json_object_set_new(pj, "userId", json_string(p->user_id));
		json_object_set_new(pj, "userName", json_string_or_null(p->user_name));
		json_array_append_new(parts, pj);
	}
	json_object_set_new(d, "participants", parts);
	json_object_set_new(d, "roomId", json_string(call->room_id));
	json_object_set_new(d, "chatId", json_string_or_null(call->chat_id));
	return calls_event_new("CALL_INCOMING", now, d);
}

json_t *calls_event_started(const calls_call *call, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call->id));
	json_object_set_new(d, "call", calls_json_call(call, now));
	return calls_event_new("CALL_STARTED", now, d);
}

json_t *calls_event_status_changed(const calls_call *call, calls_call_status previous, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call->id));
	json_object_set_new(d, "status", json_string(calls_call_status_name(call->status)));
	json_object_set_new(d, "previousStatus", json_string(calls_call_status_name(previous)));
	return calls_event_new("CALL_STATUS_CHANGED", now, d);
}

json_t *calls_event_participant_joined(const calls_participant *p, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(p->call->id));
	json_object_set_new(d, "userId", json_string(p->user_id));
	json_object_set_new(d, "userName", json_string_or_null(p->user_name));
	json_object_set_new(d, "avatar", json_string_or_null(p->avatar));
	return calls_event_new("CALL_PARTICIPANT_JOINED", now, d);
}

json_t *calls_event_participant_left(const calls_participant *p, const char *message, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(p->call->id));
	json_object_set_new(d, "userId", json_string(p->user_id));
	json_object_set_new(d, "userName", json_string_or_null(p->user_name));
	json_object_set_new(d, "reason", json_string(calls_left_reason_name(p->left_reason)));
	if(message != NULL)
		json_object_set_new(d, "message", json_string(message));
	return calls_event_new("CALL_PARTICIPANT_LEFT", now, d);
}

json_t *calls_event_media_changed(const calls_participant *p, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(p->call->id));
	json_object_set_new(d, "userId", json_string(p->user_id));
	json_object_set_new(d, "userName", json_string_or_null(p->user_name));
	json_object_set_new(d, "isMuted", json_boolean(p->is_muted));
	json_object_set_new(d, "isVideoEnabled", json_boolean(p->is_video_enabled));
	json_object_set_new(d, "isSharingScreen", json_boolean(p->is_sharing_screen));
	return calls_event_new("CALL_PARTICIPANT_MEDIA_CHANGED", now, d);
}

json_t *calls_event_ended(const calls_call *call, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call->id));
	json_object_set_new(d, "status", json_string(calls_call_status_name(call->status)));
	json_object_set_new(d, "duration", json_integer(calls_call_duration(call, now)));
	json_object_set_new(d, "endedBy", json_string_or_null(call->ended_by));
	json_object_set_new(d, "reason", json_string_or_null(calls_end_reason_name(call->end_reason)));
	return calls_event_new("CALL_ENDED", now, d);
}

json_t *calls_event_answer_received(const char *call_id, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call_id));
	json_object_set_new(d, "fromUserId", json_null());
	return calls_event_new("WEBRTC_ANSWER_RECEIVED", now, d);
}

json_t *calls_event_offer_received(const char *call_id, json_t *streams, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "callId", json_string(call_id));
	json_object_set_new(d, "fromUserId", json_null());
	json_object_set_new(d, "fromUserName", json_null());
	json_object_set_new(d, "streams", streams);
	return calls_event_new("WEBRTC_OFFER_RECEIVED", now, d);
}

json_t *calls_json_stream(const char *mid, const char *user_id, const char *user_name,
		const char *kind, gboolean active) {
	json_t *s = json_object();
	json_object_set_new(s, "mid", json_string(mid));
	json_object_set_new(s, "userId", json_string_or_null(user_id));
	json_object_set_new(s, "userName", json_string_or_null(user_name));
	json_object_set_new(s, "kind", json_string(kind));
	json_object_set_new(s, "active", json_boolean(active));
	return s;
}

json_t *calls_event_error(const calls_error *err, const char *event_name, const char *call_id, gint64 now) {
	json_t *d = json_object();
	json_object_set_new(d, "code", json_string(calls_error_code_name(err->code)));
	json_object_set_new(d, "status", json_integer(calls_error_http_status(err->code)));
	json_object_set_new(d, "message", json_string(err->message));
	json_object_set_new(d, "event", json_string_or_null(event_name));
	if(call_id != NULL && *call_id != '\0')
		json_object_set_new(d, "callId", json_string(call_id));
	return calls_event_new("ERROR", now, d);
}

json_t *calls_reply_ok(int status, json_t *body) {
	json_t *r = json_object();
	json_object_set_new(r, "status", json_integer(status));
	json_object_set_new(r, "body", body);
	return r;
}

json_t *calls_reply_error(const calls_error *err) {
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(calls_error_code_name(err->code)));
	json_object_set_new(e, "message", json_string(err->message));
	json_t *r = json_object();
	json_object_set_new(r, "status", json_integer(calls_error_http_status(err->code)));
	json_object_set_new(r, "error", e);
	return r;
}

json_t *calls_json_page(json_t *calls, int page, int limit, int total) {
	json_t *j = json_object();
	json_object_set_new(j, "calls", calls);
	json_object_set_new(j, "page", json_integer(page));
	json_object_set_new(j, "limit", json_integer(limit));
	json_object_set_new(j, "total", json_integer(total));
	return j;
}
