/* janus.plugin.calls - call history in an embedded SQLite file.
 *
 * The connection
 *   One SQLite file in WAL mode: a commit appends to the log, readers never
 *   block the writer. synchronous=NORMAL: the log is synced at checkpoints,
 *   not at every commit, so a power cut may lose the last commits but never
 *   corrupts the file; a crash of Janus alone loses nothing. A busy timeout
 *   covers another process reading the file (sqlite3 shell, backups). Only
 *   the worker thread uses the store. Every statement is prepared once, at
 *   open, and kept in the struct.
 *
 * The schema (version 1)
 *   calls         one row per call: the call's fields of docs/api.md §4, plus
 *                 `live` (still going on) and `last_seen` (µs since the epoch,
 *                 the last time a save or calls_store_touch_live saw it alive).
 *   participants  one row per participant, keyed (call_id, pos) so a call's
 *                 participants are contiguous and come back in saved order;
 *                 plus copies of the call's live, started_at, chat_id, type
 *                 and status, for the history index.
 *   Both tables are WITHOUT ROWID, clustered on their key: one b-tree lookup
 *   per call. Times stay the contract's ISO-8601 text ("...T10:00:00.000Z"):
 *   it sorts chronologically and comes back byte for byte. Enums stay text too.
 *
 * History
 *   "Finished calls of user U [in chat C] [of type T] [with status S], newest
 *   first, page P" is answered from one of two partial covering indexes:
 *     participants_history       (user_id, started_at, call_id, type, call_status, live)
 *     participants_history_chat  (user_id, chat_id, started_at, call_id, type, call_status, live)
 *     both WHERE live = 0 (`live` is in the columns too, or SQLite 3.40
 *     would read the table to check it)
 *   A page walks the user's (or the user's chat's) range backwards in index
 *   order: no sort, no table access, it stops after OFFSET + LIMIT entries;
 *   then each call on the page is read by its key. `total` counts the same
 *   range. A chat is selective, so it gets its own index; type and status
 *   have a few values each and are checked on the index entries as the range
 *   is walked. Because the indexes are partial, a live call (saved at every
 *   state change, on the worker thread) writes no index entry until it ends.
 *   A user appears at most once per call (save refuses duplicates), so each
 *   index entry of a user is a distinct call.
 *
 * Saving
 *   The call JSON is checked whole first (a bad one writes nothing), then the
 *   call row is upserted and its participant rows deleted and written again,
 *   in one transaction of its own, or as a part of a batch opened by
 *   calls_store_begin. No savepoints: in WAL mode SQLite copies every page a
 *   savepoint touches into a statement journal, which made saves several
 *   times slower. An SQLite failure inside a batch fails the whole batch.
 *
 * Versions
 *   schema_version(version) holds the version of the file. migrations[i] takes
 *   a file from version i to i + 1; a release that changes the schema appends
 *   a step (never edits a released one). A file newer than the code is refused.
 *   On open, calls still live (Janus stopped during them) are closed:
 *   ENDED, endReason SERVER_RESTART, endedAt = last_seen.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <glib/gstdio.h>
#include "store.h"

G_DEFINE_QUARK(calls-store-error-quark, calls_store_error)

#define BUSY_TIMEOUT_MS 5000

/* ---- Schema ------------------------------------------------------------------ */

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE calls ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  room_id TEXT NOT NULL,"
	"  chat_id TEXT,"
	"  type TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  initiator_id TEXT NOT NULL,"
	"  started_at TEXT NOT NULL,"
	"  connected_at TEXT,"
	"  ended_at TEXT,"
	"  duration INTEGER,"
	"  ended_by TEXT,"
	"  end_reason TEXT,"
	"  live INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX calls_live ON calls(live) WHERE live = 1;"
	"CREATE TABLE participants ("
	"  call_id TEXT NOT NULL,"
	"  pos INTEGER NOT NULL,"
	"  user_id TEXT NOT NULL,"
	"  user_name TEXT,"
	"  avatar TEXT,"
	"  role TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  joined_at TEXT,"
	"  left_at TEXT,"
	"  is_muted INTEGER NOT NULL,"
	"  is_video_enabled INTEGER NOT NULL,"
	"  is_sharing_screen INTEGER NOT NULL,"
	"  live INTEGER NOT NULL,"       /* copies of the call's columns */
	"  started_at TEXT NOT NULL,"
	"  chat_id TEXT,"
	"  type TEXT NOT NULL,"
	"  call_status TEXT NOT NULL,"
	"  PRIMARY KEY (call_id, pos)"
	") WITHOUT ROWID;"
	"CREATE INDEX participants_history ON participants"
	"  (user_id, started_at, call_id, type, call_status, live) WHERE live = 0;"
	"CREATE INDEX participants_history_chat ON participants"
	"  (user_id, chat_id, started_at, call_id, type, call_status, live) WHERE live = 0;",
};
#define SCHEMA_VERSION ((int)G_N_ELEMENTS(migrations))

/* The JSON fields of a call and of a participant, in the contract's order.
 * The columns of the statements below follow these tables. */
typedef enum { TEXT, TEXT_OR_NULL, INT_OR_NULL, BOOL, PARTICIPANTS } field_kind;
typedef struct field {
	const char *key;
	field_kind kind;
} field;

static const field call_fields[] = {
	{"id", TEXT}, {"roomId", TEXT}, {"chatId", TEXT_OR_NULL}, {"type", TEXT},
	{"status", TEXT}, {"initiatorId", TEXT}, {"participants", PARTICIPANTS},
	{"startedAt", TEXT}, {"connectedAt", TEXT_OR_NULL}, {"endedAt", TEXT_OR_NULL},
	{"duration", INT_OR_NULL}, {"endedBy", TEXT_OR_NULL}, {"endReason", TEXT_OR_NULL},
};
static const field participant_fields[] = {
	{"userId", TEXT}, {"userName", TEXT_OR_NULL}, {"avatar", TEXT_OR_NULL},
	{"role", TEXT}, {"status", TEXT}, {"joinedAt", TEXT_OR_NULL}, {"leftAt", TEXT_OR_NULL},
	{"isMuted", BOOL}, {"isVideoEnabled", BOOL}, {"isSharingScreen", BOOL},
};

#define CALL_COLUMNS \
	"id, room_id, chat_id, type, status, initiator_id, started_at, " \
	"connected_at, ended_at, duration, ended_by, end_reason"
#define PARTICIPANT_COLUMNS \
	"user_id, user_name, avatar, role, status, joined_at, left_at, " \
	"is_muted, is_video_enabled, is_sharing_screen"

static const char sql_upsert_call[] =
	"INSERT INTO calls (" CALL_COLUMNS ", live, last_seen)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
	" ON CONFLICT (id) DO UPDATE SET room_id = excluded.room_id,"
	" chat_id = excluded.chat_id, type = excluded.type, status = excluded.status,"
	" initiator_id = excluded.initiator_id, started_at = excluded.started_at,"
	" connected_at = excluded.connected_at, ended_at = excluded.ended_at,"
	" duration = excluded.duration, ended_by = excluded.ended_by,"
	" end_reason = excluded.end_reason, live = excluded.live, last_seen = excluded.last_seen";
#define UPSERT_LIVE 13
#define UPSERT_LAST_SEEN 14
static const char sql_insert_participant[] =
	"INSERT INTO participants (" PARTICIPANT_COLUMNS ","
	" call_id, pos, live, started_at, chat_id, type, call_status)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
enum { INSERT_CALL_ID = 11, INSERT_POS, INSERT_LIVE, INSERT_STARTED_AT, INSERT_CHAT_ID, INSERT_TYPE, INSERT_STATUS };

/* Which filters a history query has: they select one of the cached statements. */
enum { FILTER_CHAT = 1, FILTER_TYPE = 2, FILTER_STATUS = 4, FILTER_VARIANTS = 8 };
enum { HISTORY_USER = 1, HISTORY_CHAT, HISTORY_TYPE, HISTORY_STATUS, HISTORY_LIMIT, HISTORY_OFFSET };

struct calls_store {
	sqlite3 *db;
	GHashTable *queued;  /* call id -> queued_call: saves waiting for calls_store_flush */
	gboolean batch;      /* between calls_store_begin and calls_store_commit */
	gboolean batch_ok;   /* no write of the batch has failed */
	sqlite3_stmt *begin_read, *begin_write, *commit, *rollback;
	sqlite3_stmt *upsert_call, *delete_participants, *insert_participant;
	sqlite3_stmt *get_call, *get_participants;
	sqlite3_stmt *touch_live, *list_live;
	sqlite3_stmt *history_page[FILTER_VARIANTS], *history_count[FILTER_VARIANTS];
};

/* A save waiting in the write-behind queue (calls_store_queue). */
typedef struct queued_call {
	json_t *call;
	gboolean live;
	gint64 now_usec;
} queued_call;

static void queued_call_free(gpointer data) {
	queued_call *q = data;
	json_decref(q->call);
	g_free(q);
}

/* ---- SQLite helpers ------------------------------------------------------------ */

static gboolean sql_error(calls_store *s, const char *doing, GError **error) {
	g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "%s: %s", doing, sqlite3_errmsg(s->db));
	return FALSE;
}

static gboolean invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean invalid(GError **error, const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	char *message = g_strdup_vprintf(fmt, args);
	va_end(args);
	g_set_error_literal(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID, message);
	g_free(message);
	return FALSE;
}

static void finish(sqlite3_stmt *st) {
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Run a statement that returns no row we need, and reset it. */
static gboolean run(calls_store *s, sqlite3_stmt *st, const char *doing, GError **error) {
	int rc = sqlite3_step(st);
	gboolean ok = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? TRUE : sql_error(s, doing, error);
	finish(st);
	return ok;
}

static gboolean exec(calls_store *s, const char *sql, const char *doing, GError **error) {
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? TRUE : sql_error(s, doing, error);
}

static gboolean prepare(calls_store *s, sqlite3_stmt **st, const char *sql, GError **error) {
	if(sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
		return TRUE;
	g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "preparing \"%s\": %s", sql, sqlite3_errmsg(s->db));
	return FALSE;
}

static void rollback(calls_store *s) {
	if(!sqlite3_get_autocommit(s->db))   /* SQLite may have rolled back already */
		run(s, s->rollback, "rolling back", NULL);
}

static gboolean batch_failed(GError **error) {
	g_set_error_literal(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE,
		"an earlier write of this batch failed: the batch will be rolled back");
	return FALSE;
}

/* Make the statements up to atomic_end() one transaction, or a part of the
 * open batch. `begin` is begin_read or begin_write. */
static gboolean atomic_begin(calls_store *s, sqlite3_stmt *begin, GError **error) {
	if(s->batch)
		return s->batch_ok ? TRUE : batch_failed(error);
	return run(s, begin, "starting a transaction", error);
}

/* Commit if `ok`, else (or if that fails) roll back; in a batch, remember a failure. */
static gboolean atomic_end(calls_store *s, gboolean ok, GError **error) {
	if(s->batch) {
		s->batch_ok = s->batch_ok && ok;
		return ok;
	}
	if(ok && run(s, s->commit, "committing", error))
		return TRUE;
	rollback(s);
	return FALSE;
}

static void bind_string(sqlite3_stmt *st, int index, json_t *value) {
	if(json_is_string(value))
		sqlite3_bind_text(st, index, json_string_value(value), (int)json_string_length(value), SQLITE_STATIC);
	else
		sqlite3_bind_null(st, index);
}

static json_t *column_json(sqlite3_stmt *st, int col, field_kind kind) {
	if(sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	if(kind == BOOL)
		return json_boolean(sqlite3_column_int(st, col));
	if(kind == INT_OR_NULL)
		return json_integer(sqlite3_column_int64(st, col));
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *value = json_stringn(text, (size_t)sqlite3_column_bytes(st, col));
	return value ? value : json_null();
}

/* ---- Calls <-> rows --------------------------------------------------------------- */

/* Whether `object` has the fields of `fields` with the right JSON types
 * (a nullable field may be absent). `what` names the object in messages. */
static gboolean check_fields(json_t *object, const field *fields, size_t n, const char *what, GError **error) {
	if(!json_is_object(object))
		return invalid(error, "%s must be a JSON object", what);
	for(size_t i = 0; i < n; i++) {
		const field *f = &fields[i];
		json_t *value = json_object_get(object, f->key);
		gboolean nullable = (f->kind == TEXT_OR_NULL || f->kind == INT_OR_NULL);
		if(value == NULL || json_is_null(value)) {
			if(!nullable)
				return invalid(error, "%s has no \"%s\"", what, f->key);
		} else if(f->kind == BOOL && !json_is_boolean(value)) {
			return invalid(error, "%s: \"%s\" must be a boolean", what, f->key);
		} else if(f->kind == INT_OR_NULL && !json_is_integer(value)) {
			return invalid(error, "%s: \"%s\" must be an integer or null", what, f->key);
		} else if((f->kind == TEXT || f->kind == TEXT_OR_NULL) && !json_is_string(value)) {
			return invalid(error, "%s: \"%s\" must be a string%s", what, f->key, nullable ? " or null" : "");
		} else if(f->kind == PARTICIPANTS && !json_is_array(value)) {
			return invalid(error, "%s: \"%s\" must be an array", what, f->key);
		}
	}
	return TRUE;
}

/* Everything calls_store_save needs from `call`, before anything is written. */
static gboolean check_call(json_t *call, GError **error) {
	if(!check_fields(call, call_fields, G_N_ELEMENTS(call_fields), "the call", error))
		return FALSE;
	json_t *participants = json_object_get(call, "participants");
	size_t n = json_array_size(participants);
	for(size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(participants, i);
		char what[48];
		g_snprintf(what, sizeof(what), "participant %zu", i);
		if(!check_fields(p, participant_fields, G_N_ELEMENTS(participant_fields), what, error))
			return FALSE;
		const char *user = json_string_value(json_object_get(p, "userId"));
		for(size_t j = 0; j < i; j++)
			if(strcmp(user, json_string_value(json_object_get(json_array_get(participants, j), "userId"))) == 0)
				return invalid(error, "participant \"%s\" appears twice", user);
	}
	return TRUE;
}

/* Bind the fields of a checked `object` to parameters 1, 2, ... of `st`
 * (PARTICIPANTS skipped). The bound strings point into `object`. */
static void bind_fields(sqlite3_stmt *st, json_t *object, const field *fields, size_t n) {
	int param = 1;
	for(size_t i = 0; i < n; i++) {
		if(fields[i].kind == PARTICIPANTS)
			continue;
		json_t *value = json_object_get(object, fields[i].key);
		if(value == NULL || json_is_null(value))
			sqlite3_bind_null(st, param);
		else if(fields[i].kind == BOOL)
			sqlite3_bind_int(st, param, json_is_true(value));
		else if(fields[i].kind == INT_OR_NULL)
			sqlite3_bind_int64(st, param, json_integer_value(value));
		else
			bind_string(st, param, value);
		param++;
	}
}

/* The writes of calls_store_save, for a checked call. */
static gboolean write_call(calls_store *s, json_t *call, gboolean live, gint64 seen, GError **error) {
	bind_fields(s->upsert_call, call, call_fields, G_N_ELEMENTS(call_fields));
	sqlite3_bind_int(s->upsert_call, UPSERT_LIVE, live ? 1 : 0);
	sqlite3_bind_int64(s->upsert_call, UPSERT_LAST_SEEN, seen);
	if(!run(s, s->upsert_call, "saving a call", error))
		return FALSE;

	json_t *id = json_object_get(call, "id");
	bind_string(s->delete_participants, 1, id);
	if(!run(s, s->delete_participants, "saving a call's participants", error))
		return FALSE;

	sqlite3_stmt *st = s->insert_participant;
	size_t index;
	json_t *p;
	json_array_foreach(json_object_get(call, "participants"), index, p) {
		bind_fields(st, p, participant_fields, G_N_ELEMENTS(participant_fields));
		bind_string(st, INSERT_CALL_ID, id);
		sqlite3_bind_int64(st, INSERT_POS, (sqlite3_int64)index);
		sqlite3_bind_int(st, INSERT_LIVE, live ? 1 : 0);
		bind_string(st, INSERT_STARTED_AT, json_object_get(call, "startedAt"));
		bind_string(st, INSERT_CHAT_ID, json_object_get(call, "chatId"));
		bind_string(st, INSERT_TYPE, json_object_get(call, "type"));
		bind_string(st, INSERT_STATUS, json_object_get(call, "status"));
		if(!run(s, st, "saving a call's participants", error))
			return FALSE;
	}
	return TRUE;
}

/* The current row of `st` as a JSON object of `fields` (PARTICIPANTS left out). */
static json_t *row_json(sqlite3_stmt *st, const field *fields, size_t n, json_t *participants) {
	json_t *object = json_object();
	int col = 0;
	for(size_t i = 0; i < n; i++) {
		if(fields[i].kind == PARTICIPANTS)
			json_object_set(object, fields[i].key, participants);
		else
			json_object_set_new(object, fields[i].key, column_json(st, col++, fields[i].kind));
	}
	return object;
}

static json_t *read_participants(calls_store *s, const char *call_id, GError **error) {
	sqlite3_stmt *st = s->get_participants;
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	json_t *list = json_array();
	int rc;
	while((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(list, row_json(st, participant_fields, G_N_ELEMENTS(participant_fields), NULL));
	if(rc != SQLITE_DONE) {
		sql_error(s, "reading a call's participants", error);
		json_decref(list);
		list = NULL;
	}
	finish(st);
	return list;
}

/* The call `call_id` in contract JSON; NULL with `error` unset when there is none. */
static json_t *read_call(calls_store *s, const char *call_id, GError **error) {
	json_t *participants = read_participants(s, call_id, error);
	if(participants == NULL)
		return NULL;
	sqlite3_stmt *st = s->get_call;
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	json_t *call = NULL;
	int rc = sqlite3_step(st);
	if(rc == SQLITE_ROW)
		call = row_json(st, call_fields, G_N_ELEMENTS(call_fields), participants);
	else if(rc != SQLITE_DONE)
		sql_error(s, "reading a call", error);
	finish(st);
	json_decref(participants);
	return call;
}

/* A call that an index entry or a live row names: its absence is an error. */
static json_t *read_listed_call(calls_store *s, const char *call_id, GError **error) {
	GError *local = NULL;
	json_t *call = call_id ? read_call(s, call_id, &local) : NULL;
	if(local != NULL)
		g_propagate_error(error, local);
	else if(call == NULL)
		g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE,
			"the database lists call %s but has no row for it", call_id ? call_id : "(null)");
	return call;
}

/* ---- Closing the calls left live ------------------------------------------------------ */

/* "2025-11-29T10:00:00.000Z" */
static void format_time(gint64 usec, char *out, size_t size) {
	time_t secs = (time_t)(usec / G_USEC_PER_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	g_snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(usec % G_USEC_PER_SEC / 1000));
}

static gboolean parse_time(const char *text, gint64 *usec) {
	GDateTime *t = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
	if(t == NULL)
		return FALSE;
	*usec = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
	g_date_time_unref(t);
	return TRUE;
}

static void set_string(json_t *object, const char *key, const char *value) {
	json_object_set_new(object, key, json_string(value));
}

/* Turn a live call (read back from the store) into one that ended at `seen`. */
static void end_on_restart(json_t *call, gint64 seen) {
	seen -= seen % 1000;   /* endedAt has milliseconds: the duration is counted from it */
	char ended[64];
	format_time(seen, ended, sizeof(ended));
	gint64 connected = 0, duration = 0;
	if(parse_time(json_string_value(json_object_get(call, "connectedAt")), &connected) && seen > connected)
		duration = (seen - connected) / G_USEC_PER_SEC;
	set_string(call, "status", "ENDED");
	set_string(call, "endedAt", ended);
	set_string(call, "endReason", "SERVER_RESTART");
	json_object_set_new(call, "duration", json_integer(duration));
	size_t index;
	json_t *p;
	json_array_foreach(json_object_get(call, "participants"), index, p) {
		const char *status = json_string_value(json_object_get(p, "status"));
		if(g_strcmp0(status, "JOINED") == 0) {
			set_string(p, "status", "LEFT");
			set_string(p, "leftAt", ended);
		} else if(g_strcmp0(status, "RINGING") == 0) {
			set_string(p, "status", "MISSED");
		}
	}
}

typedef struct live_call {
	char *id;
	gint64 seen;
} live_call;

static void live_call_free(gpointer data) {
	live_call *c = data;
	g_free(c->id);
	g_free(c);
}

static gboolean close_live_calls(calls_store *s, gint64 now_usec, int *closed, GError **error) {
	GPtrArray *live = g_ptr_array_new_with_free_func(live_call_free);
	int rc;
	while((rc = sqlite3_step(s->list_live)) == SQLITE_ROW) {
		live_call *c = g_new(live_call, 1);
		c->id = g_strdup((const char *)sqlite3_column_text(s->list_live, 0));
		c->seen = sqlite3_column_int64(s->list_live, 1);
		if(now_usec > 0 && c->seen > now_usec)   /* the clock went back: a call cannot end in the future */
			c->seen = now_usec;
		g_ptr_array_add(live, c);
	}
	gboolean ok = (rc == SQLITE_DONE) ? TRUE : sql_error(s, "listing live calls", error);
	finish(s->list_live);
	if(ok && live->len > 0) {
		ok = calls_store_begin(s, error);
		for(guint i = 0; ok && i < live->len; i++) {
			live_call *c = g_ptr_array_index(live, i);
			json_t *call = read_listed_call(s, c->id, error);
			ok = (call != NULL);
			if(ok) {
				end_on_restart(call, c->seen);
				ok = calls_store_save(s, call, FALSE, c->seen, error);
				json_decref(call);
			}
		}
		if(s->batch) {   /* all closed, or none */
			s->batch_ok = s->batch_ok && ok;
			ok = calls_store_commit(s, ok ? error : NULL) && ok;
		}
		if(ok && closed != NULL)
			*closed = (int)live->len;
	}
	g_ptr_array_free(live, TRUE);
	return ok;
}

/* ---- Open and close ---------------------------------------------------------------------- */

static gboolean read_version(calls_store *s, int *version, GError **error) {
	sqlite3_stmt *st = NULL;
	if(!prepare(s, &st, "SELECT coalesce(max(version), 0) FROM schema_version", error))
		return FALSE;
	int rc = sqlite3_step(st);
	if(rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else
		sql_error(s, "reading the schema version", error);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW;
}

static gboolean migrate(calls_store *s, const char *path, GError **error) {
	if(!exec(s, "BEGIN IMMEDIATE", "opening the history", error))
		return FALSE;
	int version = 0;
	gboolean ok = exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
			"creating the schema", error)
		&& read_version(s, &version, error);
	if(ok && version > SCHEMA_VERSION) {
		g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_VERSION,
			"%s has schema version %d, newer than this release of the plugin knows (%d): "
			"upgrade the plugin or point db_path at another file", path, version, SCHEMA_VERSION);
		ok = FALSE;
	}
	for(int v = version; ok && v < SCHEMA_VERSION; v++)
		ok = exec(s, migrations[v], "migrating the schema", error);
	if(ok && version < SCHEMA_VERSION) {
		char *sql = g_strdup_printf("DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)", SCHEMA_VERSION);
		ok = exec(s, sql, "migrating the schema", error);
		g_free(sql);
	}
	if(ok)
		ok = exec(s, "COMMIT", "migrating the schema", error);
	if(!ok && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ok;
}

static char *history_sql(unsigned filters, gboolean count) {
	GString *sql = g_string_new(count ? "SELECT count(*)" : "SELECT call_id");
	/* `live = 0` is written out, not bound: it is what lets SQLite use the partial indexes */
	g_string_append(sql, " FROM participants WHERE user_id = ?1 AND live = 0");
	if(filters & FILTER_CHAT)
		g_string_append(sql, " AND chat_id = ?2");
	if(filters & FILTER_TYPE)
		g_string_append(sql, " AND type = ?3");
	if(filters & FILTER_STATUS)
		g_string_append(sql, " AND call_status = ?4");
	if(!count)
		g_string_append(sql, " ORDER BY started_at DESC, call_id DESC LIMIT ?5 OFFSET ?6");
	return g_string_free(sql, FALSE);
}

static unsigned history_filters(const calls_history_query *q) {
	return (q->chat_id ? FILTER_CHAT : 0) | (q->type ? FILTER_TYPE : 0) | (q->status ? FILTER_STATUS : 0);
}

char *calls_store_history_sql(const calls_history_query *query, gboolean count) {
	g_return_val_if_fail(query != NULL, NULL);
	return history_sql(history_filters(query), count);
}

static gboolean prepare_all(calls_store *s, GError **error) {
	gboolean ok = prepare(s, &s->begin_read, "BEGIN", error)
		&& prepare(s, &s->begin_write, "BEGIN IMMEDIATE", error)
		&& prepare(s, &s->commit, "COMMIT", error)
		&& prepare(s, &s->rollback, "ROLLBACK", error)
		&& prepare(s, &s->upsert_call, sql_upsert_call, error)
		&& prepare(s, &s->delete_participants, "DELETE FROM participants WHERE call_id = ?1", error)
		&& prepare(s, &s->insert_participant, sql_insert_participant, error)
		&& prepare(s, &s->get_call, "SELECT " CALL_COLUMNS " FROM calls WHERE id = ?1", error)
		&& prepare(s, &s->get_participants,
			"SELECT " PARTICIPANT_COLUMNS " FROM participants WHERE call_id = ?1 ORDER BY pos", error)
		&& prepare(s, &s->touch_live, "UPDATE calls SET last_seen = ?1 WHERE live = 1", error)
		&& prepare(s, &s->list_live, "SELECT id, last_seen FROM calls WHERE live = 1", error);
	for(unsigned f = 0; ok && f < FILTER_VARIANTS; f++) {
		char *page = history_sql(f, FALSE), *count = history_sql(f, TRUE);
		ok = prepare(s, &s->history_page[f], page, error) && prepare(s, &s->history_count[f], count, error);
		g_free(page);
		g_free(count);
	}
	return ok;
}

calls_store *calls_store_open(const char *path, gint64 now_usec, int *closed, GError **error) {
	if(closed != NULL)
		*closed = 0;
	if(path == NULL || *path == '\0') {
		invalid(error, "no path for the call history database");
		return NULL;
	}
	/* The history names people and who called whom: a new file is readable
	 * by Janus's user only (SQLite gives its -wal and -shm files the same mode) */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if(fd >= 0)
		close(fd);
	calls_store *s = g_new0(calls_store, 1);
	s->queued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queued_call_free);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	gboolean ok = (sqlite3_open_v2(path, &s->db, flags, NULL) == SQLITE_OK);
	if(!ok) {
		if(s->db != NULL)
			g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "opening %s: %s", path, sqlite3_errmsg(s->db));
		else
			g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "opening %s: out of memory", path);
	}
	if(ok) {
		sqlite3_extended_result_codes(s->db, 1);
		sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
		char *doing = g_strdup_printf("opening %s", path);
		/* the first read of the file: a file that is not SQLite fails here */
		ok = exec(s, "PRAGMA journal_mode = WAL", doing, error)
			&& exec(s, "PRAGMA synchronous = NORMAL", doing, error);
		g_free(doing);
	}
	ok = ok && migrate(s, path, error) && prepare_all(s, error) && close_live_calls(s, now_usec, closed, error);
	if(!ok) {
		calls_store_close(s);
		return NULL;
	}
	return s;
}

void calls_store_close(calls_store *s) {
	if(s == NULL)
		return;
	GError *error = NULL;
	if(s->db != NULL && !calls_store_flush(s, &error)) {
		g_warning("calls: %u queued call(s) could not be written before closing the store: %s",
			calls_store_queued(s), error ? error->message : "?");
		g_clear_error(&error);
	}
	g_hash_table_destroy(s->queued);
	sqlite3_stmt *all[] = {
		s->begin_read, s->begin_write, s->commit, s->rollback,
		s->upsert_call, s->delete_participants, s->insert_participant,
		s->get_call, s->get_participants, s->touch_live, s->list_live,
	};
	for(size_t i = 0; i < G_N_ELEMENTS(all); i++)
		sqlite3_finalize(all[i]);
	for(int f = 0; f < FILTER_VARIANTS; f++) {
		sqlite3_finalize(s->history_page[f]);
		sqlite3_finalize(s->history_count[f]);
	}
	sqlite3_close(s->db);
	g_free(s);
}

/* ---- Writes ---------------------------------------------------------------------------------- */

gboolean calls_store_save(calls_store *store, json_t *call, gboolean live, gint64 now_usec, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(!check_call(call, error) || !atomic_begin(store, store->begin_write, error))
		return FALSE;
	return atomic_end(store, write_call(store, call, live, now_usec, error), error);
}

/* ---- Write-behind ----------------------------------------------------------------------------- */

gboolean calls_store_queue(calls_store *store, json_t *call, gboolean live, gint64 now_usec, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(!check_call(call, error))
		return FALSE;
	queued_call *q = g_new0(queued_call, 1);
	q->call = json_incref(call);
	q->live = live;
	q->now_usec = now_usec;
	/* A later state of the same call replaces the earlier one: only the last is written */
	g_hash_table_replace(store->queued, g_strdup(json_string_value(json_object_get(call, "id"))), q);
	return TRUE;
}

guint calls_store_queued(calls_store *store) {
	return store != NULL ? g_hash_table_size(store->queued) : 0;
}

gboolean calls_store_flush(calls_store *store, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(g_hash_table_size(store->queued) == 0 || store->batch)
		return TRUE;
	if(!calls_store_begin(store, error))
		return FALSE;
	GHashTableIter iter;
	gpointer value;
	GError *write_error = NULL;
	g_hash_table_iter_init(&iter, store->queued);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		queued_call *q = value;
		/* Checked when queued: write it as it is */
		if(!write_call(store, q->call, q->live, q->now_usec, &write_error)) {
			store->batch_ok = FALSE;
			break;
		}
	}
	/* Written: forget them. Not written (the batch rolled back): keep them for
	 * the next flush, and say what SQLite said about the write that failed */
	if(write_error != NULL) {
		calls_store_commit(store, NULL);
		g_propagate_error(error, write_error);
		return FALSE;
	}
	if(!calls_store_commit(store, error))
		return FALSE;
	g_hash_table_remove_all(store->queued);
	return TRUE;
}

gboolean calls_store_begin(calls_store *store, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(store->batch)
		return invalid(error, "a batch is already open");
	if(!run(store, store->begin_write, "starting a batch", error))
		return FALSE;
	store->batch = TRUE;
	store->batch_ok = TRUE;
	return TRUE;
}

gboolean calls_store_commit(calls_store *store, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(!store->batch)
		return invalid(error, "no batch is open");
	store->batch = FALSE;
	if(!store->batch_ok) {
		rollback(store);
		return batch_failed(error);
	}
	if(run(store, store->commit, "committing a batch", error))
		return TRUE;
	rollback(store);
	return FALSE;
}

gboolean calls_store_touch_live(calls_store *store, gint64 now_usec, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(!calls_store_flush(store, error))
		return FALSE;
	sqlite3_bind_int64(store->touch_live, 1, now_usec);
	return run(store, store->touch_live, "marking live calls as seen", error);
}

/* ---- Reads ------------------------------------------------------------------------------------ */

/* Reads see every queued write when it can be written; when it cannot (a full
 * or read-only disk), they read what the file holds: the queue is kept and the
 * caller's next flush reports the failure. */
static void flush_for_read(calls_store *store) {
	calls_store_flush(store, NULL);
}

json_t *calls_store_get(calls_store *store, const char *call_id, GError **error) {
	g_return_val_if_fail(store != NULL, NULL);
	if(call_id == NULL) {
		invalid(error, "no call id");
		return NULL;
	}
	flush_for_read(store);
	return read_call(store, call_id, error);
}

static void bind_filters(sqlite3_stmt *st, const calls_history_query *q) {
	sqlite3_bind_text(st, HISTORY_USER, q->user_id, -1, SQLITE_STATIC);
	if(q->chat_id)
		sqlite3_bind_text(st, HISTORY_CHAT, q->chat_id, -1, SQLITE_STATIC);
	if(q->type)
		sqlite3_bind_text(st, HISTORY_TYPE, q->type, -1, SQLITE_STATIC);
	if(q->status)
		sqlite3_bind_text(st, HISTORY_STATUS, q->status, -1, SQLITE_STATIC);
}

static gboolean count_history(calls_store *s, const calls_history_query *q, int *total, GError **error) {
	sqlite3_stmt *st = s->history_count[history_filters(q)];
	bind_filters(st, q);
	gboolean ok = (sqlite3_step(st) == SQLITE_ROW);
	if(ok)
		*total = (int)MIN(sqlite3_column_int64(st, 0), G_MAXINT);
	else
		sql_error(s, "counting the call history", error);
	finish(st);
	return ok;
}

static gboolean read_history_page(calls_store *s, const calls_history_query *q, json_t *calls, GError **error) {
	sqlite3_stmt *st = s->history_page[history_filters(q)];
	bind_filters(st, q);
	sqlite3_bind_int(st, HISTORY_LIMIT, q->limit);
	sqlite3_bind_int64(st, HISTORY_OFFSET, (sqlite3_int64)(q->page - 1) * q->limit);
	int rc = sqlite3_step(st);
	gboolean ok = TRUE;
	for(; ok && rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		json_t *call = read_listed_call(s, (const char *)sqlite3_column_text(st, 0), error);
		ok = (call != NULL);
		if(ok)
			json_array_append_new(calls, call);
	}
	if(ok && rc != SQLITE_DONE)
		ok = sql_error(s, "reading the call history", error);
	finish(st);
	return ok;
}

json_t *calls_store_history(calls_store *store, const calls_history_query *query, int *total, GError **error) {
	g_return_val_if_fail(store != NULL, NULL);
	if(total != NULL)
		*total = 0;
	if(query == NULL || query->user_id == NULL) {
		invalid(error, "the history query needs a user id");
		return NULL;
	}
	flush_for_read(store);
	if(query->page < 1 || query->limit < 1 || query->limit > 100) {
		invalid(error, "page must be 1 or more and limit from 1 to 100 (got page %d, limit %d)",
			query->page, query->limit);
		return NULL;
	}
	json_t *calls = json_array();
	int count = 0;
	/* one snapshot for the count and the page */
	gboolean ok = atomic_begin(store, store->begin_read, error)
		&& atomic_end(store, count_history(store, query, &count, error)
			&& read_history_page(store, query, calls, error), error);
	if(!ok) {
		json_decref(calls);
		return NULL;
	}
	if(total != NULL)
		*total = count;
	return calls;
}

void calls_store_set_busy_timeout(calls_store *store, int ms) {
	if(store != NULL && store->db != NULL)
		sqlite3_busy_timeout(store->db, ms);
}

/* ---- Backup ----------------------------------------------------------------------------------- */

gboolean calls_store_backup(calls_store *store, const char *path, gint64 *bytes, GError **error) {
	g_return_val_if_fail(store != NULL, FALSE);
	if(path == NULL || !g_path_is_absolute(path))
		return invalid(error, "the backup needs an absolute file path");
	calls_store_flush(store, NULL);
	/* A new file, readable by Janus's user only; an old one is replaced */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if(fd < 0) {
		g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "creating %s: %s", path, g_strerror(errno));
		return FALSE;
	}
	fchmod(fd, 0600);
	close(fd);
	sqlite3 *dest = NULL;
	gboolean ok = FALSE;
	if(sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dest, "main", store->db, "main");
		if(b != NULL) {
			/* Whole in one step: the source is read in one transaction */
			int rc = sqlite3_backup_step(b, -1);
			sqlite3_backup_finish(b);
			ok = (rc == SQLITE_DONE);
		}
		if(!ok)
			g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "backing up to %s: %s", path,
				sqlite3_errmsg(dest));
	} else {
		g_set_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE, "opening %s: %s", path,
			dest ? sqlite3_errmsg(dest) : "out of memory");
	}
	sqlite3_close(dest);
	GStatBuf st;
	if(ok && bytes != NULL)
		*bytes = g_stat(path, &st) == 0 ? (gint64)st.st_size : 0;
	if(!ok)
		g_unlink(path);
	return ok;
}
