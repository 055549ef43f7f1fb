/* janus.plugin.calls - configuration.
 *
 * One table, `keys`, describes every setting of section general: its name
 * (as the README's table spells it), its kind, the field it fills and its
 * bounds. calls_config_set() looks the key up, parses the value by kind
 * into a temporary and only then stores it, so a bad value leaves the
 * previous one in place; the error names the key, quotes the value and says
 * what is accepted. The same table prints the summary for the log
 * (calls_config_describe) and the current value in error messages.
 *
 * Units: the three timeouts are written in seconds, decimals allowed
 * ("1.5", for tests), and stored in milliseconds; pli_interval is written
 * and stored in milliseconds.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "config.h"

G_DEFINE_QUARK(calls-config-error-quark, calls_config_error)

#define DEFAULT_DB_PATH "/var/lib/janus/calls.db"
#define PUBLIC_KEY_MAX_BYTES (64 * 1024)
#define SAMPLE_SECRET "change-me"  /* the placeholder in the .jcfg.sample */

typedef enum {
	KIND_AUTH,        /* "jwt" | "open" */
	KIND_SECRET,      /* any text, verbatim; "" unsets; never printed */
	KIND_OPT_PATH,    /* a path; "" unsets */
	KIND_OPT_TEXT,    /* any text, trimmed; "" unsets */
	KIND_PATH,        /* a non-empty path */
	KIND_SECONDS,     /* decimal seconds, stored as ms in a guint */
	KIND_NUMBER,      /* a whole number in a guint */
	KIND_BOOL,
	KIND_VIDEOCODECS, /* a preference list, stored as a NULL-terminated strv */
	KIND_AUDIOCODEC,  /* "opus" */
} key_kind;

typedef struct {
	const char *name;
	key_kind kind;
	size_t offset;      /* of the field in calls_config */
	guint min, max;     /* KIND_SECONDS: in ms; KIND_NUMBER: the number */
	gboolean zero_unlimited;  /* KIND_NUMBER: 0 means no limit */
	const char *unit;   /* KIND_NUMBER: printed after the number */
} key_spec;

#define FIELD(f) offsetof(calls_config, f)

static const key_spec keys[] = {
	{ "auth",                 KIND_AUTH,        FIELD(auth),                 0, 0, FALSE, NULL },
	{ "jwt_secret",           KIND_SECRET,      FIELD(jwt_secret),           0, 0, FALSE, NULL },
	{ "jwt_public_key",       KIND_OPT_PATH,    FIELD(jwt_public_key),       0, 0, FALSE, NULL },
	{ "jwt_audience",         KIND_OPT_TEXT,    FIELD(jwt_audience),         0, 0, FALSE, NULL },
	{ "jwt_issuer",           KIND_OPT_TEXT,    FIELD(jwt_issuer),           0, 0, FALSE, NULL },
	{ "ring_timeout",         KIND_SECONDS,     FIELD(ring_timeout_ms),      100, 3600000, FALSE, NULL },
	{ "connect_timeout",      KIND_SECONDS,     FIELD(connect_timeout_ms),   100, 3600000, FALSE, NULL },
	{ "reconnect_grace",      KIND_SECONDS,     FIELD(reconnect_grace_ms),   100, 3600000, FALSE, NULL },
	{ "max_participants",     KIND_NUMBER,      FIELD(max_participants),     2, 256, FALSE, "" },
	{ "max_calls_per_minute", KIND_NUMBER,      FIELD(max_calls_per_minute), 0, 100000, TRUE, "" },
	{ "max_live_calls",       KIND_NUMBER,      FIELD(max_live_calls),       0, 1000000, TRUE, "" },
	{ "db_path",              KIND_PATH,        FIELD(db_path),              0, 0, FALSE, NULL },
	{ "videocodec",           KIND_VIDEOCODECS, FIELD(videocodecs),          0, 0, FALSE, NULL },
	{ "audiocodec",           KIND_AUDIOCODEC,  FIELD(audiocodec),           0, 0, FALSE, NULL },
	{ "events",               KIND_BOOL,        FIELD(events),               0, 0, FALSE, NULL },
	{ "presence",             KIND_BOOL,        FIELD(presence),             0, 0, FALSE, NULL },
	{ "pli_interval",         KIND_NUMBER,      FIELD(pli_interval_ms),      100, 10000, FALSE, "ms" },
	{ "media_timeout",        KIND_SECONDS,     FIELD(media_timeout_ms),     1000, 3600000, FALSE, NULL },
	{ "max_devices_per_user", KIND_NUMBER,      FIELD(max_devices_per_user), 1, 1000, FALSE, "" },
	{ "max_events_per_second", KIND_NUMBER,     FIELD(max_events_per_second), 0, 100000, TRUE, "" },
	{ "max_events_burst",     KIND_NUMBER,      FIELD(max_events_burst),     1, 1000000, FALSE, "" },
	{ "max_message_size",     KIND_NUMBER,      FIELD(max_message_size),     4096, 16777216, FALSE, "B" },
	{ "max_sdp_size",         KIND_NUMBER,      FIELD(max_sdp_size),         4096, 1048576, FALSE, "B" },
};

static const char *const video_codecs[] = { "vp8", "vp9", "h264", "av1" };

#define AT(cfg, k, type) ((type *)(void *)((char *)(cfg) + (k)->offset))

/* -------------------------------------------------------------------------
 * Defaults
 * ---------------------------------------------------------------------- */

void calls_config_init(calls_config *cfg) {
	g_return_if_fail(cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->auth = CALLS_AUTH_JWT;
	cfg->ring_timeout_ms = 45000;
	cfg->connect_timeout_ms = 30000;
	cfg->reconnect_grace_ms = 20000;
	cfg->max_participants = 16;
	cfg->max_calls_per_minute = 20;
	cfg->max_live_calls = 1000;
	cfg->db_path = g_strdup(DEFAULT_DB_PATH);
	cfg->videocodecs = g_new0(char *, 2);
	cfg->videocodecs[0] = g_strdup("vp8");
	cfg->audiocodec = g_strdup("opus");
	cfg->events = TRUE;
	cfg->presence = FALSE;
	cfg->pli_interval_ms = 500;
	cfg->media_timeout_ms = 5000;
	cfg->max_devices_per_user = 10;
	cfg->max_events_per_second = 20;
	cfg->max_events_burst = 40;
	cfg->max_message_size = 64 * 1024;
	cfg->max_sdp_size = 64 * 1024;
}

/* Forget a secret before freeing it. */
static void scrub_free(char *s) {
	if(s == NULL)
		return;
	volatile char *p = s;
	for(size_t i = 0; s[i] != '\0'; i++)
		p[i] = 0;
	g_free(s);
}

void calls_config_clear(calls_config *cfg) {
	if(cfg == NULL)
		return;
	scrub_free(cfg->jwt_secret);
	g_free(cfg->jwt_public_key);
	g_free(cfg->jwt_audience);
	g_free(cfg->jwt_issuer);
	g_free(cfg->db_path);
	g_strfreev(cfg->videocodecs);
	g_free(cfg->audiocodec);
	memset(cfg, 0, sizeof(*cfg));
}

/* -------------------------------------------------------------------------
 * Printing values
 * ---------------------------------------------------------------------- */

/* 45000 -> "45", 1500 -> "1.5", 100 -> "0.1" */
static char *ms_as_seconds(guint ms) {
	if(ms % 1000 == 0)
		return g_strdup_printf("%u", ms / 1000);
	char *text = g_strdup_printf("%u.%03u", ms / 1000, ms % 1000);
	size_t n = strlen(text);
	while(text[n - 1] == '0')
		text[--n] = '\0';
	return text;
}

/* The current value of a key, as written in describe() and in errors. */
static char *value_text(const calls_config *cfg, const key_spec *k) {
	switch(k->kind) {
	case KIND_AUTH:
		return g_strdup(*AT(cfg, k, const calls_auth_mode) == CALLS_AUTH_OPEN ? "open" : "jwt");
	case KIND_SECRET:
		return g_strdup(*AT(cfg, k, char *const) ? "(set)" : "(unset)");
	case KIND_OPT_PATH:
	case KIND_OPT_TEXT:
	case KIND_PATH:
	case KIND_AUDIOCODEC: {
		const char *s = *AT(cfg, k, char *const);
		return g_strdup(s ? s : "(unset)");
	}
	case KIND_SECONDS: {
		char *sec = ms_as_seconds(*AT(cfg, k, const guint));
		char *text = g_strconcat(sec, "s", NULL);
		g_free(sec);
		return text;
	}
	case KIND_NUMBER: {
		guint n = *AT(cfg, k, const guint);
		if(n == 0 && k->zero_unlimited)
			return g_strdup("unlimited");
		return g_strdup_printf("%u%s", n, k->unit);
	}
	case KIND_BOOL:
		return g_strdup(*AT(cfg, k, const gboolean) ? "true" : "false");
	case KIND_VIDEOCODECS: {
		char **list = *AT(cfg, k, char **const);
		return list ? g_strjoinv(",", list) : g_strdup("(unset)");
	}
	}
	return g_strdup("?");
}

/* What a key accepts, for error messages. */
static char *accepted_text(const key_spec *k) {
	switch(k->kind) {
	case KIND_AUTH:
		return g_strdup("\"jwt\" (tokens) or \"open\" (clients state their identity; demos and tests only)");
	case KIND_PATH:
		return g_strdup("a non-empty file path");
	case KIND_SECONDS: {
		char *lo = ms_as_seconds(k->min), *hi = ms_as_seconds(k->max);
		char *text = g_strdup_printf("a number of seconds from %s to %s, decimals allowed (e.g. 45 or 1.5)", lo, hi);
		g_free(lo);
		g_free(hi);
		return text;
	}
	case KIND_NUMBER:
		return g_strdup_printf("a whole number from %u to %u%s%s", k->min, k->max,
			strcmp(k->unit, "ms") == 0 ? " (milliseconds)" : strcmp(k->unit, "B") == 0 ? " (bytes)" : "",
			k->zero_unlimited ? ", 0 for no limit" : "");
	case KIND_BOOL:
		return g_strdup("true or false (also yes/no, 1/0)");
	case KIND_VIDEOCODECS:
		return g_strdup("a comma-separated list, by order of preference, of vp8, vp9, h264 and av1, "
			"each at most once (e.g. \"vp8\" or \"vp8,h264\")");
	case KIND_AUDIOCODEC:
		return g_strdup("\"opus\" (the only audio codec supported)");
	case KIND_SECRET:
	case KIND_OPT_PATH:
	case KIND_OPT_TEXT:
		break;
	}
	return g_strdup("text");
}

/* A bad value, quoted for the log: at most 64 bytes, escaped. */
static char *quote_value(const char *value) {
	char *cut = g_strndup(value, 64);
	char *text = g_strescape(cut, NULL);
	char *quoted = g_strdup_printf("\"%s\"%s", text, strlen(value) > 64 ? "..." : "");
	g_free(cut);
	g_free(text);
	return quoted;
}

/* -------------------------------------------------------------------------
 * Parsing values
 * ---------------------------------------------------------------------- */

static gboolean parse_bool(const char *v, gboolean *out) {
	static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };
	for(guint i = 0; i < G_N_ELEMENTS(yes); i++) {
		if(g_ascii_strcasecmp(v, yes[i]) == 0) {
			*out = TRUE;
			return TRUE;
		}
		if(g_ascii_strcasecmp(v, no[i]) == 0) {
			*out = FALSE;
			return TRUE;
		}
	}
	return FALSE;
}

/* "45", "1.5", "0.25", ".5": digits with at most one dot; nothing else
 * (no sign, exponent, hex, inf or nan, which strtod would take). Janus
 * hands a jcfg float such as `ring_timeout = 1.5` over as "1.500000". */
static gboolean parse_seconds(const char *v, guint min_ms, guint max_ms, guint *out) {
	int digits = 0, dots = 0;
	for(const char *p = v; *p != '\0'; p++) {
		if(g_ascii_isdigit(*p))
			digits++;
		else if(*p == '.')
			dots++;
		else
			return FALSE;
	}
	if(digits == 0 || dots > 1 || digits > 24)
		return FALSE;
	double ms_exact = g_ascii_strtod(v, NULL) * 1000.0;
	if(ms_exact > (double)max_ms + 0.5)
		return FALSE;
	guint64 ms = (guint64)(ms_exact + 0.5);
	if(ms < min_ms || ms > max_ms)
		return FALSE;
	*out = (guint)ms;
	return TRUE;
}

static gboolean parse_number(const char *v, guint min, guint max, guint *out) {
	guint64 n = 0;
	if(!g_ascii_string_to_unsigned(v, 10, min, max, &n, NULL))
		return FALSE;
	*out = (guint)n;
	return TRUE;
}

/* A preference list of video codecs; on failure *problem says why. */
static char **parse_videocodecs(const char *v, char **problem) {
	if(*v == '\0') {
		*problem = g_strdup("no codec given");
		return NULL;
	}
	char **items = g_strsplit(v, ",", -1);
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	for(int i = 0; items[i] != NULL && *problem == NULL; i++) {
		char *name = g_ascii_strdown(g_strstrip(items[i]), -1);
		gboolean known = FALSE;
		for(guint c = 0; c < G_N_ELEMENTS(video_codecs); c++)
			known = known || strcmp(name, video_codecs[c]) == 0;
		gboolean dup = FALSE;
		for(guint c = 0; c < list->len; c++)
			dup = dup || strcmp(name, g_ptr_array_index(list, c)) == 0;
		if(*name == '\0')
			*problem = g_strdup("an empty entry in the list");
		else if(!known)
			*problem = g_strdup_printf("unknown codec \"%.32s\"", name);
		else if(dup)
			*problem = g_strdup_printf("%s is listed twice", name);
		if(*problem == NULL)
			g_ptr_array_add(list, name);
		else
			g_free(name);
	}
	g_strfreev(items);
	if(*problem != NULL) {
		g_ptr_array_free(list, TRUE);
		return NULL;
	}
	g_ptr_array_add(list, NULL);
	return (char **)g_ptr_array_free(list, FALSE);
}

/* Parse `v` for key `k` and store it. FALSE if invalid (nothing stored);
 * *problem may then hold a detail. */
static gboolean apply(calls_config *cfg, const key_spec *k, const char *raw, char **problem) {
	char *v = g_strstrip(g_strdup(raw));
	gboolean ok = TRUE;
	switch(k->kind) {
	case KIND_AUTH:
		if(g_ascii_strcasecmp(v, "jwt") == 0)
			*AT(cfg, k, calls_auth_mode) = CALLS_AUTH_JWT;
		else if(g_ascii_strcasecmp(v, "open") == 0)
			*AT(cfg, k, calls_auth_mode) = CALLS_AUTH_OPEN;
		else
			ok = FALSE;
		break;
	case KIND_SECRET:
		scrub_free(*AT(cfg, k, char *));
		*AT(cfg, k, char *) = *raw != '\0' ? g_strdup(raw) : NULL;
		break;
	case KIND_OPT_PATH:
	case KIND_OPT_TEXT:
	case KIND_PATH:
		if(*v == '\0' && k->kind == KIND_PATH) {
			ok = FALSE;
		} else {
			g_free(*AT(cfg, k, char *));
			*AT(cfg, k, char *) = *v != '\0' ? g_strdup(v) : NULL;
		}
		break;
	case KIND_SECONDS:
		ok = parse_seconds(v, k->min, k->max, AT(cfg, k, guint));
		break;
	case KIND_NUMBER:
		ok = parse_number(v, k->min, k->max, AT(cfg, k, guint));
		break;
	case KIND_BOOL:
		ok = parse_bool(v, AT(cfg, k, gboolean));
		break;
	case KIND_VIDEOCODECS: {
		char **list = parse_videocodecs(v, problem);
		ok = list != NULL;
		if(ok) {
			g_strfreev(*AT(cfg, k, char **));
			*AT(cfg, k, char **) = list;
		}
		break;
	}
	case KIND_AUDIOCODEC:
		ok = g_ascii_strcasecmp(v, "opus") == 0;
		if(ok) {
			g_free(*AT(cfg, k, char *));
			*AT(cfg, k, char *) = g_strdup("opus");
		}
		break;
	}
	g_free(v);
	return ok;
}

/* -------------------------------------------------------------------------
 * The API
 * ---------------------------------------------------------------------- */

static const key_spec *find_key(const char *name) {
	for(guint i = 0; i < G_N_ELEMENTS(keys); i++)
		if(strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* A known key spelled with another case or with dashes, or NULL. */
static const key_spec *near_key(const char *name) {
	char *norm = g_strdelimit(g_ascii_strdown(name, -1), "- ", '_');
	const key_spec *k = find_key(norm);
	g_free(norm);
	return k;
}

static void unknown_key(const char *key, GError **error) {
	const key_spec *near = near_key(key);
	if(near != NULL) {
		g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY,
			"unknown key \"%.64s\" in section general, ignored: did you mean %s?", key, near->name);
		return;
	}
	GString *known = g_string_new(NULL);
	for(guint i = 0; i < G_N_ELEMENTS(keys); i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "", keys[i].name);
	g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY,
		"unknown key \"%.64s\" in section general, ignored; the keys are: %s", key, known->str);
	g_string_free(known, TRUE);
}

gboolean calls_config_set(calls_config *cfg, const char *key, const char *value, GError **error) {
	g_return_val_if_fail(cfg != NULL, FALSE);
	const key_spec *k = key ? find_key(key) : NULL;
	if(k == NULL) {
		unknown_key(key ? key : "(null)", error);
		return FALSE;
	}
	char *problem = NULL;
	if(value != NULL && apply(cfg, k, value, &problem))
		return TRUE;
	char *quoted = value ? quote_value(value) : g_strdup("(no value)");
	char *accepted = accepted_text(k);
	char *current = value_text(cfg, k);
	g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_INVALID_VALUE,
		"invalid value %s for %s%s%s%s: expected %s; keeping %s",
		quoted, k->name, problem ? " (" : "", problem ? problem : "", problem ? ")" : "", accepted, current);
	g_free(quoted);
	g_free(accepted);
	g_free(current);
	g_free(problem);
	return FALSE;
}

/* jwt_public_key must name a readable regular file of a sane size. */
static gboolean check_public_key_file(const char *path, GError **error) {
	GStatBuf st;
	const char *problem = NULL;
	int err = 0;
	if(g_stat(path, &st) != 0) {
		err = errno;
	} else if(!S_ISREG(st.st_mode)) {
		problem = "it is not a regular file";
	} else if(st.st_size > PUBLIC_KEY_MAX_BYTES) {
		problem = "it is too large to be a PEM public key";
	} else {
		int fd = g_open(path, O_RDONLY, 0);
		if(fd < 0)
			err = errno;
		else
			close(fd);
	}
	if(err != 0)
		problem = g_strerror(err);
	if(problem == NULL)
		return TRUE;
	g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE,
		"cannot read jwt_public_key \"%s\": %s; give the path of the RS256 public key in PEM, "
		"readable by the user Janus runs as", path, problem);
	return FALSE;
}

gboolean calls_config_check(const calls_config *cfg, GError **error) {
	g_return_val_if_fail(cfg != NULL, FALSE);
	if(cfg->auth == CALLS_AUTH_JWT && cfg->jwt_secret == NULL && cfg->jwt_public_key == NULL) {
		g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE,
			"auth = \"jwt\" (the default) needs a key to verify tokens: set jwt_secret (the HS256 "
			"shared secret) or jwt_public_key (path of the RS256 public key in PEM) in section general "
			"of janus.plugin.calls.jcfg, or set auth = \"open\" to let clients state their identity "
			"(demos and tests only)");
		return FALSE;
	}
	if(cfg->jwt_secret != NULL && strcmp(cfg->jwt_secret, SAMPLE_SECRET) == 0) {
		g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE,
			"jwt_secret is still \"" SAMPLE_SECRET "\", the placeholder of the sample configuration: "
			"anyone could sign tokens with it; set a long random secret shared with your token issuer "
			"(e.g. openssl rand -base64 48)");
		return FALSE;
	}
	if(cfg->jwt_secret != NULL && strlen(cfg->jwt_secret) < CALLS_AUTH_SECRET_MIN) {
		g_set_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE,
			"jwt_secret is %zu bytes long; HS256 needs a secret of at least %d bytes (a shorter one can be "
			"guessed offline from a single token): set a long random secret shared with your token issuer "
			"(e.g. openssl rand -base64 48)", strlen(cfg->jwt_secret), CALLS_AUTH_SECRET_MIN);
		return FALSE;
	}
	if(cfg->jwt_public_key != NULL && !check_public_key_file(cfg->jwt_public_key, error))
		return FALSE;
	return TRUE;
}

char *calls_config_describe(const calls_config *cfg) {
	g_return_val_if_fail(cfg != NULL, NULL);
	GString *line = g_string_new(NULL);
	for(guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		char *value = value_text(cfg, &keys[i]);
		g_string_append_printf(line, "%s%s=%s", i ? " " : "", keys[i].name, value);
		g_free(value);
	}
	return g_string_free(line, FALSE);
}
