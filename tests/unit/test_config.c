/* janus.plugin.calls - unit tests of config.c.
 *
 * Every key of section general with good and bad values, the defaults, the
 * rule that a bad value keeps the previous one, calls_config_check() and
 * the log summary (which must never show the secret).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "config.h"
#include "testutil.h"

/* Setting must succeed. */
static void set_ok(calls_config *cfg, const char *key, const char *value) {
	GError *error = NULL;
	if(!calls_config_set(cfg, key, value, &error))
		g_error("%s = \"%s\" refused: %s", key, value, error ? error->message : "(no error)");
	g_assert_no_error(error);
}

/* Setting must fail with an error naming the key and containing `needle`;
 * returns nothing, the caller checks the value was kept. */
static void set_bad(calls_config *cfg, const char *key, const char *value, const char *needle) {
	GError *error = NULL;
	g_assert_false(calls_config_set(cfg, key, value, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_INVALID_VALUE);
	if(strstr(error->message, key) == NULL || (needle != NULL && strstr(error->message, needle) == NULL))
		g_error("%s = \"%s\": message \"%s\" lacks the key or \"%s\"", key, value ? value : "(null)",
			error->message, needle ? needle : "");
	g_error_free(error);
}

static void test_defaults(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	g_assert_cmpint(cfg.auth, ==, CALLS_AUTH_JWT);
	g_assert_null(cfg.jwt_secret);
	g_assert_null(cfg.jwt_public_key);
	g_assert_null(cfg.jwt_audience);
	g_assert_null(cfg.jwt_issuer);
	g_assert_cmpuint(cfg.ring_timeout_ms, ==, 45000);
	g_assert_cmpuint(cfg.connect_timeout_ms, ==, 30000);
	g_assert_cmpuint(cfg.reconnect_grace_ms, ==, 20000);
	g_assert_cmpuint(cfg.max_participants, ==, 16);
	g_assert_cmpuint(cfg.max_calls_per_minute, ==, 20);
	g_assert_cmpuint(cfg.max_live_calls, ==, 1000);
	g_assert_cmpstr(cfg.db_path, ==, "/var/lib/janus/calls.db");
	g_assert_nonnull(cfg.videocodecs);
	g_assert_cmpstr(cfg.videocodecs[0], ==, "vp8");
	g_assert_null(cfg.videocodecs[1]);
	g_assert_cmpstr(cfg.audiocodec, ==, "opus");
	g_assert_true(cfg.events);
	g_assert_false(cfg.presence);
	g_assert_cmpuint(cfg.pli_interval_ms, ==, 500);
	g_assert_cmpuint(cfg.media_timeout_ms, ==, 5000);
	g_assert_cmpuint(cfg.max_devices_per_user, ==, 10);
	g_assert_cmpuint(cfg.max_events_per_second, ==, 20);
	g_assert_cmpuint(cfg.max_events_burst, ==, 40);
	g_assert_cmpuint(cfg.max_message_size, ==, 65536);
	g_assert_cmpuint(cfg.max_sdp_size, ==, 65536);

	/* the defaults alone do not start: jwt needs a key */
	GError *error = NULL;
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE);
	g_clear_error(&error);

	calls_config_clear(&cfg);
	g_assert_null(cfg.db_path);
	g_assert_null(cfg.videocodecs);
	calls_config_clear(&cfg);  /* twice is fine */
	calls_config_clear(NULL);
}

static void test_auth(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	set_ok(&cfg, "auth", "open");
	g_assert_cmpint(cfg.auth, ==, CALLS_AUTH_OPEN);
	set_ok(&cfg, "auth", "JWT");
	g_assert_cmpint(cfg.auth, ==, CALLS_AUTH_JWT);
	set_ok(&cfg, "auth", "  Open ");
	g_assert_cmpint(cfg.auth, ==, CALLS_AUTH_OPEN);
	set_bad(&cfg, "auth", "none", "\"jwt\"");
	set_bad(&cfg, "auth", "", "keeping open");
	set_bad(&cfg, "auth", "jwt,open", NULL);
	set_bad(&cfg, "auth", NULL, "(no value)");
	g_assert_cmpint(cfg.auth, ==, CALLS_AUTH_OPEN);

	/* secrets are taken verbatim; empty unsets */
	set_ok(&cfg, "jwt_secret", " spaced secret ");
	g_assert_cmpstr(cfg.jwt_secret, ==, " spaced secret ");
	set_ok(&cfg, "jwt_secret", "s3cr3t");
	g_assert_cmpstr(cfg.jwt_secret, ==, "s3cr3t");
	set_ok(&cfg, "jwt_secret", "");
	g_assert_null(cfg.jwt_secret);
	set_ok(&cfg, "jwt_public_key", " /etc/janus/calls-public.pem ");
	g_assert_cmpstr(cfg.jwt_public_key, ==, "/etc/janus/calls-public.pem");
	set_ok(&cfg, "jwt_public_key", "");
	g_assert_null(cfg.jwt_public_key);

	/* the required audience and issuer: trimmed text, empty unsets */
	set_ok(&cfg, "jwt_audience", " calls.example.org ");
	g_assert_cmpstr(cfg.jwt_audience, ==, "calls.example.org");
	set_ok(&cfg, "jwt_issuer", "https://id.example.org/");
	g_assert_cmpstr(cfg.jwt_issuer, ==, "https://id.example.org/");
	char *line = calls_config_describe(&cfg);
	g_assert_nonnull(strstr(line, "jwt_audience=calls.example.org jwt_issuer=https://id.example.org/"));
	g_free(line);
	set_ok(&cfg, "jwt_audience", "");
	g_assert_null(cfg.jwt_audience);
	set_ok(&cfg, "jwt_issuer", "  ");
	g_assert_null(cfg.jwt_issuer);
	calls_config_clear(&cfg);
}

static void test_seconds(void) {
	const char *keys[] = { "ring_timeout", "connect_timeout", "reconnect_grace" };
	for(guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		calls_config cfg;
		calls_config_init(&cfg);
		guint *field = i == 0 ? &cfg.ring_timeout_ms : i == 1 ? &cfg.connect_timeout_ms : &cfg.reconnect_grace_ms;
		struct { const char *text; guint ms; } good[] = {
			{ "45", 45000 }, { "1.5", 1500 }, { "0.1", 100 }, { "3600", 3600000 }, { ".5", 500 },
			{ "2.", 2000 }, { " 7 ", 7000 }, { "0.25", 250 }, { "1.0005", 1001 }, { "0003", 3000 },
			{ "3599.9999", 3600000 }, { "1.500000", 1500 }, { "3600.000000", 3600000 },
			{ "0.100000", 100 }, { "000000000000000000001.5", 1500 },
		};
		for(guint g = 0; g < G_N_ELEMENTS(good); g++) {
			set_ok(&cfg, keys[i], good[g].text);
			g_assert_cmpuint(*field, ==, good[g].ms);
		}
		set_ok(&cfg, keys[i], "2.5");
		const char *bad[] = {
			"", "abc", "0", "0.09", "-1", "+5", "3601", "1e3", "0x10", "inf", "nan", "1,5", "1.2.3",
			"5s", ".", "99999999999999999999", "1 000", "1e308", "3600.0006", "10000000000.000000",
			"9999999999999999999999999", "999999999999999999999999", "0.099",
		};
		for(guint b = 0; b < G_N_ELEMENTS(bad); b++) {
			set_bad(&cfg, keys[i], bad[b], "seconds from 0.1 to 3600");
			g_assert_cmpuint(*field, ==, 2500);
		}
		set_bad(&cfg, keys[i], "x", "keeping 2.5s");
		calls_config_clear(&cfg);
	}
}

static void test_numbers(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	set_ok(&cfg, "max_participants", "2");
	g_assert_cmpuint(cfg.max_participants, ==, 2);
	set_ok(&cfg, "max_participants", "256");
	g_assert_cmpuint(cfg.max_participants, ==, 256);
	set_ok(&cfg, "max_participants", " 8 ");
	const char *bad_participants[] = { "1", "0", "257", "-2", "8.5", "eight", "", "+8", "0x8", "4294967304" };
	for(guint i = 0; i < G_N_ELEMENTS(bad_participants); i++)
		set_bad(&cfg, "max_participants", bad_participants[i], "a whole number from 2 to 256");
	g_assert_cmpuint(cfg.max_participants, ==, 8);

	set_ok(&cfg, "max_calls_per_minute", "0");
	g_assert_cmpuint(cfg.max_calls_per_minute, ==, 0);
	set_ok(&cfg, "max_calls_per_minute", "100000");
	g_assert_cmpuint(cfg.max_calls_per_minute, ==, 100000);
	set_bad(&cfg, "max_calls_per_minute", "100001", "0 for no limit");
	set_bad(&cfg, "max_calls_per_minute", "-1", "0 for no limit");
	g_assert_cmpuint(cfg.max_calls_per_minute, ==, 100000);

	set_ok(&cfg, "max_live_calls", "0");
	g_assert_cmpuint(cfg.max_live_calls, ==, 0);
	set_bad(&cfg, "max_live_calls", "lots", "keeping unlimited");
	set_ok(&cfg, "max_live_calls", "1000000");
	set_bad(&cfg, "max_live_calls", "1000001", NULL);
	g_assert_cmpuint(cfg.max_live_calls, ==, 1000000);

	set_ok(&cfg, "pli_interval", "100");
	g_assert_cmpuint(cfg.pli_interval_ms, ==, 100);
	set_ok(&cfg, "pli_interval", "10000");
	g_assert_cmpuint(cfg.pli_interval_ms, ==, 10000);
	set_bad(&cfg, "pli_interval", "99", "from 100 to 10000 (milliseconds)");
	set_bad(&cfg, "pli_interval", "10001", "keeping 10000ms");
	set_bad(&cfg, "pli_interval", "0.5", NULL);
	g_assert_cmpuint(cfg.pli_interval_ms, ==, 10000);
	/* media_timeout: decimal seconds, at least 1 s */
	set_ok(&cfg, "media_timeout", "2.5");
	g_assert_cmpuint(cfg.media_timeout_ms, ==, 2500);
	set_bad(&cfg, "media_timeout", "0.5", "media_timeout");
	set_bad(&cfg, "media_timeout", "soon", "media_timeout");
	g_assert_cmpuint(cfg.media_timeout_ms, ==, 2500);
	calls_config_clear(&cfg);
}

/* The limits on what a user or a handle may hold or send (docs/api.md, "Limits"). */
static void test_limits(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	set_ok(&cfg, "max_devices_per_user", "1");
	g_assert_cmpuint(cfg.max_devices_per_user, ==, 1);
	set_ok(&cfg, "max_devices_per_user", "1000");
	g_assert_cmpuint(cfg.max_devices_per_user, ==, 1000);
	/* every user needs a device: no "0 = no limit" here */
	set_bad(&cfg, "max_devices_per_user", "0", "a whole number from 1 to 1000; keeping 1000");
	set_bad(&cfg, "max_devices_per_user", "1001", "from 1 to 1000");
	set_bad(&cfg, "max_devices_per_user", "ten", "from 1 to 1000");
	g_assert_cmpuint(cfg.max_devices_per_user, ==, 1000);

	set_ok(&cfg, "max_events_per_second", "0");
	g_assert_cmpuint(cfg.max_events_per_second, ==, 0);
	set_bad(&cfg, "max_events_per_second", "x", "0 for no limit; keeping unlimited");
	set_ok(&cfg, "max_events_per_second", "100000");
	g_assert_cmpuint(cfg.max_events_per_second, ==, 100000);
	set_bad(&cfg, "max_events_per_second", "100001", "from 0 to 100000");
	set_bad(&cfg, "max_events_per_second", "-1", NULL);
	set_bad(&cfg, "max_events_per_second", "2.5", NULL);
	g_assert_cmpuint(cfg.max_events_per_second, ==, 100000);

	set_ok(&cfg, "max_events_burst", "1");
	g_assert_cmpuint(cfg.max_events_burst, ==, 1);
	set_ok(&cfg, "max_events_burst", "1000000");
	set_bad(&cfg, "max_events_burst", "0", "from 1 to 1000000");
	set_bad(&cfg, "max_events_burst", "1000001", "keeping 1000000");
	g_assert_cmpuint(cfg.max_events_burst, ==, 1000000);

	set_ok(&cfg, "max_message_size", "4096");
	g_assert_cmpuint(cfg.max_message_size, ==, 4096);
	set_ok(&cfg, "max_message_size", "16777216");
	set_bad(&cfg, "max_message_size", "4095", "from 4096 to 16777216 (bytes)");
	set_bad(&cfg, "max_message_size", "16777217", "keeping 16777216B");
	set_bad(&cfg, "max_message_size", "64k", NULL);
	g_assert_cmpuint(cfg.max_message_size, ==, 16777216);

	set_ok(&cfg, "max_sdp_size", "4096");
	set_ok(&cfg, "max_sdp_size", "1048576");
	g_assert_cmpuint(cfg.max_sdp_size, ==, 1048576);
	set_bad(&cfg, "max_sdp_size", "0", "from 4096 to 1048576 (bytes)");
	set_bad(&cfg, "max_sdp_size", "1048577", NULL);
	g_assert_cmpuint(cfg.max_sdp_size, ==, 1048576);

	char *line = calls_config_describe(&cfg);
	g_assert_nonnull(strstr(line, "max_devices_per_user=1000 max_events_per_second=100000 "
		"max_events_burst=1000000 max_message_size=16777216B max_sdp_size=1048576B"));
	g_free(line);
	calls_config_clear(&cfg);
}

static void test_bools(void) {
	const char *truths[] = { "true", "TRUE", "True", "yes", "YES", "Yes", "1", " true " };
	const char *lies[] = { "false", "FALSE", "False", "no", "NO", "No", "0", "\tno\n" };
	const char *keys[] = { "events", "presence" };
	for(guint k = 0; k < G_N_ELEMENTS(keys); k++) {
		calls_config cfg;
		calls_config_init(&cfg);
		gboolean *field = k == 0 ? &cfg.events : &cfg.presence;
		for(guint i = 0; i < G_N_ELEMENTS(truths); i++) {
			set_ok(&cfg, keys[k], lies[i]);
			g_assert_false(*field);
			set_ok(&cfg, keys[k], truths[i]);
			g_assert_true(*field);
		}
		const char *bad[] = { "", "on", "off", "2", "y", "n", "truee", "t", "-1", "yes please" };
		for(guint i = 0; i < G_N_ELEMENTS(bad); i++) {
			set_bad(&cfg, keys[k], bad[i], "true or false (also yes/no, 1/0); keeping true");
			g_assert_true(*field);
		}
		calls_config_clear(&cfg);
	}
}

static void assert_codecs(calls_config *cfg, const char *joined) {
	char *text = g_strjoinv(",", cfg->videocodecs);
	g_assert_cmpstr(text, ==, joined);
	g_free(text);
}

static void test_codecs(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	set_ok(&cfg, "videocodec", "vp9");
	assert_codecs(&cfg, "vp9");
	set_ok(&cfg, "videocodec", "vp8,vp9,h264,av1");
	assert_codecs(&cfg, "vp8,vp9,h264,av1");
	set_ok(&cfg, "videocodec", " H264 , VP8 ");
	assert_codecs(&cfg, "h264,vp8");
	set_ok(&cfg, "videocodec", "av1,h264");
	struct { const char *value, *needle; } bad[] = {
		{ "h265", "unknown codec \"h265\"" },
		{ "vp8,h265", "unknown codec \"h265\"" },
		{ "vp8,vp8", "vp8 is listed twice" },
		{ "vp8, VP8", "vp8 is listed twice" },
		{ "vp8,,vp9", "an empty entry" },
		{ "vp8,", "an empty entry" },
		{ "", "no codec given" },
		{ "  ", "no codec given" },
		{ ",", "an empty entry" },
		{ "vp8;vp9", "unknown codec" },
		{ "opus", "unknown codec \"opus\"" },
	};
	for(guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		set_bad(&cfg, "videocodec", bad[i].value, bad[i].needle);
		assert_codecs(&cfg, "av1,h264");
	}
	set_bad(&cfg, "videocodec", "x", "vp8, vp9, h264 and av1");
	set_bad(&cfg, "videocodec", "x", "keeping av1,h264");

	set_ok(&cfg, "audiocodec", "opus");
	set_ok(&cfg, "audiocodec", " OPUS ");
	g_assert_cmpstr(cfg.audiocodec, ==, "opus");
	set_bad(&cfg, "audiocodec", "pcmu", "\"opus\" (the only audio codec supported)");
	set_bad(&cfg, "audiocodec", "opus,pcmu", NULL);
	set_bad(&cfg, "audiocodec", "", NULL);
	g_assert_cmpstr(cfg.audiocodec, ==, "opus");
	calls_config_clear(&cfg);
}

static void test_paths(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	set_ok(&cfg, "db_path", "/tmp/calls-test.db");
	g_assert_cmpstr(cfg.db_path, ==, "/tmp/calls-test.db");
	set_ok(&cfg, "db_path", " relative/calls.db ");
	g_assert_cmpstr(cfg.db_path, ==, "relative/calls.db");
	set_bad(&cfg, "db_path", "", "a non-empty file path; keeping relative/calls.db");
	set_bad(&cfg, "db_path", "   ", NULL);
	g_assert_cmpstr(cfg.db_path, ==, "relative/calls.db");
	calls_config_clear(&cfg);
}

static void test_unknown_keys(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	GError *error = NULL;
	g_assert_false(calls_config_set(&cfg, "ring_timout", "30", &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY);
	g_assert_nonnull(strstr(error->message, "unknown key \"ring_timout\""));
	g_assert_nonnull(strstr(error->message, "ring_timeout"));
	g_assert_nonnull(strstr(error->message, "pli_interval"));
	g_clear_error(&error);
	g_assert_false(calls_config_set(&cfg, "Ring-Timeout", "30", &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY);
	g_assert_nonnull(strstr(error->message, "ignored: did you mean ring_timeout?"));
	g_clear_error(&error);
	g_assert_false(calls_config_set(&cfg, "", "x", &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY);
	g_clear_error(&error);
	g_assert_false(calls_config_set(&cfg, NULL, "x", &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNKNOWN_KEY);
	g_clear_error(&error);
	g_assert_false(calls_config_set(&cfg, "admin_key", "x", NULL));  /* NULL error is fine */
	g_assert_cmpuint(cfg.ring_timeout_ms, ==, 45000);
	calls_config_clear(&cfg);
}

static void test_bad_value_quoting(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	GError *error = NULL;
	char *long_value = g_strnfill(5000, '9');
	g_assert_false(calls_config_set(&cfg, "max_participants", long_value, &error));
	g_assert_cmpuint(strlen(error->message), <, 400);
	g_assert_nonnull(strstr(error->message, "9999\"... for max_participants"));
	g_clear_error(&error);
	g_free(long_value);
	g_assert_false(calls_config_set(&cfg, "events", "ye\ns\x01", &error));
	g_assert_nonnull(strstr(error->message, "\"ye\\ns\\001\""));
	g_clear_error(&error);
	calls_config_clear(&cfg);
}

static void test_check(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	GError *error = NULL;
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE);
	g_assert_nonnull(strstr(error->message, "jwt_secret"));
	g_assert_nonnull(strstr(error->message, "jwt_public_key"));
	g_assert_nonnull(strstr(error->message, "auth = \"open\""));
	g_clear_error(&error);

	/* the sample's placeholder is not a secret */
	set_ok(&cfg, "jwt_secret", "change-me");
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE);
	g_assert_nonnull(strstr(error->message, "placeholder"));
	g_clear_error(&error);
	/* an HS256 secret shorter than 32 bytes does not start: it says how long it is and what to do */
	set_ok(&cfg, "jwt_secret", "s");
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE);
	g_assert_nonnull(strstr(error->message, "jwt_secret is 1 bytes long"));
	g_assert_nonnull(strstr(error->message, "at least 32 bytes"));
	g_assert_nonnull(strstr(error->message, "openssl rand"));
	g_clear_error(&error);
	set_ok(&cfg, "jwt_secret", "0123456789abcdef0123456789abcde");   /* 31 */
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_nonnull(strstr(error->message, "jwt_secret is 31 bytes long"));
	g_clear_error(&error);
	set_ok(&cfg, "auth", "open");   /* in open mode too: the secret still verifies tokens */
	g_assert_false(calls_config_check(&cfg, &error));
	g_clear_error(&error);
	set_ok(&cfg, "auth", "jwt");
	set_ok(&cfg, "jwt_secret", "0123456789abcdef0123456789abcdef");  /* 32 */
	g_assert_true(calls_config_check(&cfg, &error));
	g_assert_no_error(error);
	set_ok(&cfg, "jwt_secret", "");
	set_ok(&cfg, "auth", "open");
	g_assert_true(calls_config_check(&cfg, &error));
	g_assert_no_error(error);
	set_ok(&cfg, "auth", "jwt");

	/* the public key file must be readable */
	char *dir = test_tmpdir();
	char *missing = g_build_filename(dir, "missing.pem", NULL);
	set_ok(&cfg, "jwt_public_key", missing);
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_error(error, CALLS_CONFIG_ERROR, CALLS_CONFIG_ERROR_UNUSABLE);
	g_assert_nonnull(strstr(error->message, "cannot read jwt_public_key"));
	g_assert_nonnull(strstr(error->message, missing));
	g_assert_nonnull(strstr(error->message, g_strerror(ENOENT)));
	g_clear_error(&error);
	/* even in open mode, a configured key must be readable */
	set_ok(&cfg, "auth", "open");
	g_assert_false(calls_config_check(&cfg, &error));
	g_clear_error(&error);
	set_ok(&cfg, "auth", "jwt");

	set_ok(&cfg, "jwt_public_key", dir);
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_nonnull(strstr(error->message, "not a regular file"));
	g_clear_error(&error);

	char *big = g_build_filename(dir, "big.pem", NULL);
	char *blob = g_strnfill(100 * 1024, 'k');
	g_assert_true(g_file_set_contents(big, blob, -1, NULL));
	set_ok(&cfg, "jwt_public_key", big);
	g_assert_false(calls_config_check(&cfg, &error));
	g_assert_nonnull(strstr(error->message, "too large"));
	g_clear_error(&error);

	char *pem = g_build_filename(dir, "public.pem", NULL);
	g_assert_true(g_file_set_contents(pem, "-----BEGIN PUBLIC KEY-----\n", -1, NULL));
	set_ok(&cfg, "jwt_public_key", pem);
	g_assert_true(calls_config_check(&cfg, &error));
	g_assert_no_error(error);
	if(geteuid() != 0) {  /* root reads anything */
		g_assert_cmpint(g_chmod(pem, 0), ==, 0);
		g_assert_false(calls_config_check(&cfg, &error));
		g_assert_nonnull(strstr(error->message, g_strerror(EACCES)));
		g_clear_error(&error);
	}
	g_free(pem);
	g_free(big);
	g_free(blob);
	g_free(missing);
	g_free(dir);
	calls_config_clear(&cfg);
}

static void test_describe(void) {
	calls_config cfg;
	calls_config_init(&cfg);
	char *line = calls_config_describe(&cfg);
	g_assert_cmpstr(line, ==, "auth=jwt jwt_secret=(unset) jwt_public_key=(unset) jwt_audience=(unset) "
		"jwt_issuer=(unset) ring_timeout=45s "
		"connect_timeout=30s reconnect_grace=20s max_participants=16 max_calls_per_minute=20 "
		"max_live_calls=1000 db_path=/var/lib/janus/calls.db videocodec=vp8 audiocodec=opus "
		"events=true presence=false pli_interval=500ms media_timeout=5s max_devices_per_user=10 "
		"max_events_per_second=20 max_events_burst=40 max_message_size=65536B max_sdp_size=65536B");
	g_free(line);

	set_ok(&cfg, "jwt_secret", "top-secret-value");
	set_ok(&cfg, "auth", "open");
	set_ok(&cfg, "ring_timeout", "1.5");
	set_ok(&cfg, "connect_timeout", "0.125");
	set_ok(&cfg, "max_live_calls", "0");
	set_ok(&cfg, "videocodec", "vp9,vp8");
	set_ok(&cfg, "presence", "yes");
	line = calls_config_describe(&cfg);
	g_assert_null(strstr(line, "top-secret"));
	g_assert_nonnull(strstr(line, "jwt_secret=(set)"));
	g_assert_nonnull(strstr(line, "auth=open"));
	g_assert_nonnull(strstr(line, "ring_timeout=1.5s"));
	g_assert_nonnull(strstr(line, "connect_timeout=0.125s"));
	g_assert_nonnull(strstr(line, "max_live_calls=unlimited"));
	g_assert_nonnull(strstr(line, "videocodec=vp9,vp8"));
	g_assert_nonnull(strstr(line, "presence=true"));
	g_assert_null(strchr(line, '\n'));
	g_free(line);

	/* nor do the errors about the secret's neighbours */
	GError *error = NULL;
	g_assert_false(calls_config_set(&cfg, "auth", "bogus", &error));
	g_assert_null(strstr(error->message, "top-secret"));
	g_clear_error(&error);
	calls_config_clear(&cfg);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/auth", test_auth);
	g_test_add_func("/config/seconds", test_seconds);
	g_test_add_func("/config/numbers", test_numbers);
	g_test_add_func("/config/limits", test_limits);
	g_test_add_func("/config/bools", test_bools);
	g_test_add_func("/config/codecs", test_codecs);
	g_test_add_func("/config/paths", test_paths);
	g_test_add_func("/config/unknown-keys", test_unknown_keys);
	g_test_add_func("/config/bad-value-quoting", test_bad_value_quoting);
	g_test_add_func("/config/check", test_check);
	g_test_add_func("/config/describe", test_describe);
	return g_test_run();
}
