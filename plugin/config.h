/* janus.plugin.calls - configuration.
 *
 * The settings of janus.plugin.calls.jcfg (section `general`, listed in the README),
 * their defaults and their validation. This module reads strings and knows
 * nothing of Janus: plugin.c walks the jcfg and hands each item to
 * calls_config_set(). A bad value is reported through GError and leaves the
 * default in place; calls_config_check() says whether the result is usable.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_CONFIG_H
#define CALLS_CONFIG_H

#include <glib.h>
#include "auth.h"

#define CALLS_CONFIG_ERROR (calls_config_error_quark())
GQuark calls_config_error_quark(void);

typedef enum {
	CALLS_CONFIG_ERROR_UNKNOWN_KEY = 0,  /* calls_config_set: not a key of ours (log, go on) */
	CALLS_CONFIG_ERROR_INVALID_VALUE,    /* calls_config_set: the previous value is kept */
	CALLS_CONFIG_ERROR_UNUSABLE,         /* calls_config_check: the plugin must not start */
} calls_config_error;

typedef struct calls_config {
	calls_auth_mode auth;        /* auth = "jwt" (default) | "open" */
	char *jwt_secret;            /* HS256 shared secret */
	char *jwt_public_key;        /* path of a PEM public key for RS256 */
	char *jwt_audience;          /* required `aud` of tokens, or NULL */
	char *jwt_issuer;            /* required `iss` of tokens, or NULL */
	guint ring_timeout_ms;       /* ring_timeout, seconds (decimals allowed, 0.1..3600), default 45 */
	guint connect_timeout_ms;    /* connect_timeout, default 30 */
	guint reconnect_grace_ms;    /* reconnect_grace, default 20 */
	guint max_participants;      /* default 16, 2..256 */
	guint max_calls_per_minute;  /* calls one user may initiate per minute, default 20, 0 = no limit */
	guint max_live_calls;        /* live calls per server, default 1000, 0 = no limit */
	char *db_path;               /* SQLite file, default /var/lib/janus/calls.db */
	char **videocodecs;          /* videocodec = "vp8" (default) or a list "vp8,vp9,h264,av1", by preference */
	char *audiocodec;            /* "opus" (the only one) */
	gboolean events;             /* notify event handlers, default TRUE */
	gboolean presence;           /* GET /users/online, default FALSE */
	guint pli_interval_ms;       /* pli_interval, ms: least time between two PLIs to one publisher stream, default 500, 100..10000 */
	guint media_timeout_ms;      /* media_timeout, seconds, default 5: a publisher silent for so long
	                              * counts as disconnected (its reconnect grace starts) */
	/* Limits on what one user or handle may hold or send (docs/api.md, "Limits") */
	guint max_devices_per_user;  /* registered handles of one user, default 10, 1..1000 */
	guint max_events_per_second; /* requests one handle may send per second, default 20, 0 = no limit */
	guint max_events_burst;      /* ... of which at once (the bucket's size), default 40, 1..100000 */
	guint max_message_size;      /* bytes of a message body (compact JSON), default 65536 */
	guint max_sdp_size;          /* bytes of the SDP in a jsep, default 65536 */
} calls_config;

void calls_config_init(calls_config *cfg);    /* every default */
void calls_config_clear(calls_config *cfg);   /* free what it holds */

/* Apply one `key = value` of section general. Returns FALSE and sets `error`
 * (naming the key, the bad value and what is accepted) if the key is unknown
 * or the value is invalid; the setting then keeps its previous value. Keys
 * are matched exactly; values are trimmed (jwt_secret excepted: it is taken
 * verbatim) and words (jwt, open, true, no, vp8, ...) are case-insensitive.
 * An empty jwt_secret, jwt_public_key, jwt_audience or jwt_issuer unsets it. */
gboolean calls_config_set(calls_config *cfg, const char *key, const char *value, GError **error);

/* Whether the settings as a whole let the plugin start (e.g. auth = "jwt"
 * needs jwt_secret or jwt_public_key; jwt_secret, if set, must be at least
 * CALLS_AUTH_SECRET_MIN bytes; jwt_public_key, if set, must be a readable
 * regular file). Sets CALLS_CONFIG_ERROR_UNUSABLE. */
gboolean calls_config_check(const calls_config *cfg, GError **error);

/* A one-line summary for the log, g_free() it. Never shows the secret. */
char *calls_config_describe(const calls_config *cfg);

#endif
