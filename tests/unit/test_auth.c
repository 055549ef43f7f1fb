/* janus.plugin.calls - unit tests of auth.c (JWT verification, open mode).
 *
 * Tokens are made here with libjwt itself (jwt_new, jwt_add_grants_json,
 * jwt_set_alg, jwt_encode_str) or, for what libjwt refuses to produce
 * (alg none, duplicate keys, odd headers), crafted by hand and signed with
 * GLib's HMAC. The RSA and EC key pairs below were generated once with
 * openssl for these tests only; they protect nothing.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <jwt.h>
#include "auth.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z */
#define NOW G_GINT64_CONSTANT(1767225600)
#define SECRET "a-test-secret-of-thirty-two-bytes"

static const char RSA_PRIVATE[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDdLAuLO4GL2S7f\n"
	"NZsuBhDoEOFC/23QnoP2un7sGP6F4Svfsa7lj086rTW3fdWSi1T1t6TJSYpIDSvy\n"
	"NB880/6LKAJVs+4vm6XRMZyGKClLiOwlQe4C5Yr/xT8+QvAc7rO88r4Up2aRRh0P\n"
	"8uHzooi+pPLwTZdVRReFdNvwUxTJmC6tZKO+eGO4xE5q546MnjvHgE8sD8KySTgU\n"
	"K6+tMUJsg/S3/+xXsJwz81MEz6/PmtsFvcEo6mnKuwE0TRsOxVEV79piir2paPhj\n"
	"LAw9Y3NU2Sts6Hv8oEzr2aeskSt7ni+sfiirprYW5QUE1Rw/fIyFsouVEjNqbn7n\n"
	"lzAoc73lAgMBAAECgf9AfaLAhXkAzWr94VWlbLDsStIou2ykQoLz1vuWX/YBkDsH\n"
	"GkzYHCcHvAfup6ycSwKyPbuSnkyK07WbbpyYJjGhsOhxGk05MKNZYMcvJinZ4QCY\n"
	"bFvKUJnrBuw2SJZXPxWfWaNzzUOmg5sMnCO4giKT1rD8gkvJQ1mgV4xMCCXcnpAd\n"
	"SukhRqc1rf1tKYWnu9F0zWbr04ZLoxLmd6dwIyWOXwMh+PrIKixFHo5tu9CIG0g7\n"
	"B0LLQpJ6djxM104pTsbC5KG48arlngb3FtZu6NoFbUjY/Zg6RCGVCgU6h49aIn7l\n"
	"+OQE6xQf+5OxSu1Y8EmJG/AdnMPORxByLtx/1tECgYEA+ctLTRXRMDAq/24f1eoc\n"
	"nOUSLkwowF6zMk2eJHwmNhqF4Ldyq/56voGmp40JYlWu7+ySvaodsadNfTqIsYTh\n"
	"ccdf5+elQxbYBV1OSOkwASzMOZXvxtZrQx6XYgTNGby7f3yxaK+vMXdfpSFvyycm\n"
	"yPMiK1jro0JDIril5gYDGNUCgYEA4qq2fbGPvTUgfKy/HN47aGs1AadkAZ2NW19i\n"
	"/oIyy5nkK25zzYpEMmNw9SFxWkvD2X/bKrikHmF82UWNP+U0koecxnPBFVCJAvik\n"
	"SoEZUszuVagJFADIzTPOJv/VMKEUO5bILTRTxy9fH2VUIoQ5d5QeBqZ6tneVJPfG\n"
	"aZt2mNECgYABfn3M0DyYFTGspXP7S5MwPQ6GyF3WCLr5qg0wGq3/1NjIJ1DARp1l\n"
	"VlEw318W/3w0Yy3dhI746Q9FmHwI08qla5PfRztt000new9k0EBBQYtXLNZqUg4C\n"
	"MMSnCXBQnxhgAtbs0WAy44vm6PRKOsm4mfuyVq3SJCtSodgcMB0EoQKBgQCJIyYE\n"
	"SECiBhmgtNdv/NjOpUZNuNvdylfy93QqbdWTr4kH6eywZ745CkcWWGR/cCWPWzbb\n"
	"0xigtPTXc6gxB1jWaqwkuXYRkkdC//JOjWsn2Is+UcskShEzbeuFVvXCVUKrht+X\n"
	"0ff6JCQWF7VeqMcoHPpJpcHK0fDvi+WEkaWgcQKBgQDFURbRfkXFuPJW+DgwkIKW\n"
	"fJLpzUAHHk5Vks6r6qcMWqtvsgaDoEJut02gbFf4R4Tuj8lc7sGiAIR4UUlumLuv\n"
	"AEGbA/R/4hzxmsYnWp26modDWnhn5vTLm4KNb1QKEewSdSlSEKsUVz94LCgkG3OI\n"
	"iua6yZpYfD2yxTiG4veNPA==\n"
	"-----END PRIVATE KEY-----\n";

static const char RSA_PUBLIC[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA3SwLizuBi9ku3zWbLgYQ\n"
	"6BDhQv9t0J6D9rp+7Bj+heEr37Gu5Y9POq01t33VkotU9bekyUmKSA0r8jQfPNP+\n"
	"iygCVbPuL5ul0TGchigpS4jsJUHuAuWK/8U/PkLwHO6zvPK+FKdmkUYdD/Lh86KI\n"
	"vqTy8E2XVUUXhXTb8FMUyZgurWSjvnhjuMROaueOjJ47x4BPLA/Cskk4FCuvrTFC\n"
	"bIP0t//sV7CcM/NTBM+vz5rbBb3BKOppyrsBNE0bDsVRFe/aYoq9qWj4YywMPWNz\n"
	"VNkrbOh7/KBM69mnrJEre54vrH4oq6a2FuUFBNUcP3yMhbKLlRIzam5+55cwKHO9\n"
	"5QIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static const char OTHER_RSA_PRIVATE[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDqOSUB+9MzBgem\n"
	"1+N9NH+WCyxfDT7g1Jp3jQUN/MzwxQl53wkp/iOl6hS72buNiA2fGyunaR0aT6+e\n"
	"2DJ8aA2yStMAC6SFvwPLxTsXt7etaiN9zNXDyg7gVG4ZUVRUjshZRZLjxVVGZic6\n"
	"bqkWVNgy4+BKujzMgrDhuGHmxovJnhQj4C6DaihCywx/DP9ttMnajnfuyRvBil6y\n"
	"we1rpGphZd1fjmBk/zSli1rpctmcoMpqZ2cZh/j3YEYkC6ObQ7QOJ98y0+wmB6Iz\n"
	"MLA5xv4cmj3Ri1/gxRkDhSYJ2BZXjAlX+VdSjr4uGqiCvuatuZEuJnBsFsJAyyTi\n"
	"6cBTmMI/AgMBAAECggEAOqR5FBCRVeaOFuNZpTj2MsJ0Zw4Bbrg8Pm9z0wc25pdm\n"
	"onlJqZZkJX/AljHTCAIG6w2Z9e3W6AYIgfw+U7CXsUqTnqDLneLv1953R55rYgM/\n"
	"hJk68izOYbMx56vZsdwX5GYLe3SmP5yG+NXJBvrSMJemSf9sBoY4NCN+e5G9YQp0\n"
	"7WpHA2nM8k+JBSy+z8SuMITKSIz+LFUnO9Rz5l2PJEYSXq1x70Oavjo3zb2BKzOt\n"
	"UTg/2dhjRtSQNbRogNiLH7/zDOcqH+IwS4geYILZlTGIiMtg+tF1eQu9/tvFc0Vd\n"
	"t49nWPKubmRTekQ8GudSVgbYhYBkBrXGmQkB2BzSnQKBgQD9u10bQJzou1/9DFKw\n"
	"OnP5/0JeRXgFQEx7PAE75j8+/QEqBm2z3vKzHb4if4uwCI+OyleyN5VeLlMndzpI\n"
	"WxRLwoVzbyC/dHF4R2B4I340v0tb5/Gb97ne+08wJjiRw3pBmNdtcaM5xK9Q4TuT\n"
	"jt3L1ixYB5sFFpNvBrRUBPPv+wKBgQDsUSM0P2lKWtQz3/FwJpWxiBwG2ybnwdXb\n"
	"Bg0XWyOCf7djHte6AA2lEN7nhQmKyAf1GXj2ToYV1xJkfwRq3zBaDenBQZAh/30W\n"
	"zj/htNUvPiJaDEzUQ/6nrjeNHVRcHWPyVx8/RNMoOGsSQbMnUxITmKCec8Y8iQ4y\n"
	"hT5LZMOvjQKBgQCyCeChGMuBOsl15Em5QqrShtxpDdHTzXRdHJO5FizW4+0HMg+U\n"
	"ISKnsH0T8+9ui/M/vJeghAQZW+QZUz3gO5iYOFwvzZBrByf/wAXfBvitxnT4fl44\n"
	"lLEl162PGaKkFUgZ80dmklB4Xpyt4f1N4vea6iOfeWa7QUYep9OtCPSqNQKBgQCj\n"
	"BGGtlCS05y1FT7GEtQlEe2kiDaGr9BnrSiRTvUokpqfCF6+nHoxLFvU9bpejhdN/\n"
	"b3/zIT376O5GJxzMAIShSsG6z9h2q4EF72c/8vew7ELULXH+Z51O3K5ziQz9skSV\n"
	"EyZ6BadIMosh//JvKS3qGLqMM79HWSBTF3lelvcqrQKBgQCeWw3duxedXLGJGjqO\n"
	"wiVLGq/l7+G4TUSitJDo8YFHhMvJB9mXmUr+YQOJDxcMF6Y8cjYc3U2SbdOFawsB\n"
	"7rdNj1FnJzTSxbgv1P+mP5in+Pbqdgs4fD9gtOZ97TJEEc3F3cjOvkLVSYg3Zmey\n"
	"p/KPNJSk3v7Dlc0bH/9qQbTtvw==\n"
	"-----END PRIVATE KEY-----\n";

static const char EC_PRIVATE[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIAkoCDySh6/Icn4VrpY5SlIUaWQ7jSyxIXtqGBWlZYN7oAoGCCqGSM49\n"
	"AwEHoUQDQgAEgSkhbSzgFAOxUqALqQASD649CKhb/ZFHMQuLQWFU+aa9j7f2MZzy\n"
	"VZPTBNNlhZ+EleSfyjhAgl3/kqLWIP95Jg==\n"
	"-----END EC PRIVATE KEY-----\n";

static const char EC_PUBLIC[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgSkhbSzgFAOxUqALqQASD649CKhb\n"
	"/ZFHMQuLQWFU+aa9j7f2MZzyVZPTBNNlhZ+EleSfyjhAgl3/kqLWIP95Jg==\n"
	"-----END PUBLIC KEY-----\n";

/* ---------------------------------------------------------------------- */

/* A token made by libjwt: `grants` is a JSON object, `key` a secret or a
 * PEM private key. */
static char *make_token(jwt_alg_t alg, const char *key, const char *grants) {
	jwt_t *jwt = NULL;
	g_assert_cmpint(jwt_new(&jwt), ==, 0);
	g_assert_cmpint(jwt_add_grants_json(jwt, grants), ==, 0);
	/* jwt_set_alg fails (and leaves alg none) on an empty key: assert it */
	g_assert_cmpint(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)), ==, 0);
	char *text = jwt_encode_str(jwt);
	g_assert_nonnull(text);
	char *token = g_strdup(text);
	free(text);
	jwt_free(jwt);
	return token;
}

static char *make_hs256(const char *grants) {
	return make_token(JWT_ALG_HS256, SECRET, grants);
}

static char *b64url(const void *data, size_t len) {
	char *text = g_base64_encode(data, len);
	for(char *p = text; *p != '\0'; p++) {
		if(*p == '+')
			*p = '-';
		else if(*p == '/')
			*p = '_';
		else if(*p == '=')
			*p = '\0';
	}
	return text;
}

/* header.payload.signature from JSON texts; signed with HS256 over the
 * result if `secret` is given, else with `sig` verbatim. */
static char *craft(const char *header, const char *payload, const char *secret, const char *sig) {
	char *h = b64url(header, strlen(header));
	char *p = b64url(payload, strlen(payload));
	char *input = g_strdup_printf("%s.%s", h, p);
	char *s;
	if(secret != NULL) {
		guint8 mac[32];
		gsize maclen = sizeof(mac);
		GHmac *hmac = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
		g_hmac_update(hmac, (const guchar *)input, -1);
		g_hmac_get_digest(hmac, mac, &maclen);
		g_hmac_unref(hmac);
		s = b64url(mac, maclen);
	} else {
		s = g_strdup(sig);
	}
	char *token = g_strdup_printf("%s.%s", input, s);
	g_free(h);
	g_free(p);
	g_free(input);
	g_free(s);
	return token;
}

static calls_auth *auth_hs(void) {
	GError *error = NULL;
	calls_auth *auth = calls_auth_new(CALLS_AUTH_JWT, SECRET, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(auth);
	return auth;
}

static calls_auth *auth_rs(void) {
	GError *error = NULL;
	calls_auth *auth = calls_auth_new(CALLS_AUTH_JWT, NULL, RSA_PUBLIC, &error);
	g_assert_no_error(error);
	g_assert_nonnull(auth);
	return auth;
}

static char why[512];

/* Verification must fail with a message containing `needle`. */
static void assert_refused(calls_auth *auth, const char *token, const char *needle) {
	calls_identity id = { 0 };
	why[0] = '\0';
	gboolean ok = calls_auth_verify_token(auth, token, NOW, &id, why, sizeof(why));
	if(ok || (needle != NULL && strstr(why, needle) == NULL))
		g_error("expected refusal containing \"%s\", got %s: \"%s\" (token %.80s)",
			needle ? needle : "", ok ? "success" : "refusal", why, token ? token : "(null)");
	g_assert_null(id.user_id);
	g_assert_null(id.user_name);
	g_assert_null(id.avatar);
	g_assert_cmpuint(strlen(why), >, 10);
}

/* Verification must succeed with this user id. */
static void assert_accepted(calls_auth *auth, const char *token, const char *user_id, calls_identity *out) {
	calls_identity id = { 0 };
	why[0] = '\0';
	if(!calls_auth_verify_token(auth, token, NOW, &id, why, sizeof(why)))
		g_error("expected success, got: %s", why);
	g_assert_cmpstr(id.user_id, ==, user_id);
	if(out != NULL)
		*out = id;
	else
		calls_identity_clear(&id);
}

static void refuse_grants(calls_auth *auth, const char *grants, const char *needle) {
	char *token = make_hs256(grants);
	assert_refused(auth, token, needle);
	g_free(token);
}

static void accept_grants(calls_auth *auth, const char *grants, const char *user_id) {
	char *token = make_hs256(grants);
	assert_accepted(auth, token, user_id, NULL);
	g_free(token);
}

/* ---------------------------------------------------------------------- */

static void test_new_requires_key(void) {
	GError *error = NULL;
	g_assert_null(calls_auth_new(CALLS_AUTH_JWT, NULL, NULL, &error));
	g_assert_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_NO_KEY);
	g_assert_nonnull(strstr(error->message, "jwt_secret"));
	g_assert_nonnull(strstr(error->message, "jwt_public_key"));
	g_assert_nonnull(strstr(error->message, "auth = \"open\""));
	g_clear_error(&error);
	/* an empty secret is no secret: libjwt would then check nothing */
	g_assert_null(calls_auth_new(CALLS_AUTH_JWT, "", "", &error));
	g_assert_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_NO_KEY);
	g_clear_error(&error);
	g_assert_null(calls_auth_new((calls_auth_mode)7, SECRET, NULL, &error));
	g_assert_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_MODE);
	g_clear_error(&error);
	/* NULL error pointer is fine */
	g_assert_null(calls_auth_new(CALLS_AUTH_JWT, NULL, NULL, NULL));
	calls_auth_free(NULL);
	g_assert_cmpint(calls_auth_get_mode(NULL), ==, CALLS_AUTH_JWT);
}

static void test_open_mode(void) {
	GError *error = NULL;
	calls_auth *auth = calls_auth_new(CALLS_AUTH_OPEN, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(auth);
	g_assert_cmpint(calls_auth_get_mode(auth), ==, CALLS_AUTH_OPEN);
	char *token = make_hs256("{\"sub\": \"alice\"}");
	assert_refused(auth, token, "auth = \"open\"");
	assert_refused(auth, token, "userId");
	calls_auth_free(auth);

	/* with a secret, open mode verifies tokens too */
	auth = calls_auth_new(CALLS_AUTH_OPEN, SECRET, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(calls_auth_get_mode(auth), ==, CALLS_AUTH_OPEN);
	assert_accepted(auth, token, "alice", NULL);
	calls_auth_free(auth);
	g_free(token);
}

static void test_hs256_valid(void) {
	calls_auth *auth = auth_hs();
	g_assert_cmpint(calls_auth_get_mode(auth), ==, CALLS_AUTH_JWT);
	char *grants = g_strdup_printf("{\"sub\": \"u-1\", \"name\": \"Alice Émilie\", "
		"\"picture\": \"https://example.com/a.png\", \"exp\": %" G_GINT64_FORMAT ", \"nbf\": %" G_GINT64_FORMAT
		", \"iat\": %" G_GINT64_FORMAT ", \"role\": [\"x\"]}", NOW + 3600, NOW - 10, NOW - 10);
	char *token = make_hs256(grants);
	calls_identity id;
	assert_accepted(auth, token, "u-1", &id);
	g_assert_cmpstr(id.user_name, ==, "Alice Émilie");
	g_assert_cmpstr(id.avatar, ==, "https://example.com/a.png");
	calls_identity_clear(&id);
	g_assert_null(id.user_id);
	calls_identity_clear(&id);  /* twice is fine */
	calls_identity_clear(NULL);
	g_free(token);
	g_free(grants);

	/* optional claims absent, null or empty give NULL */
	const char *variants[] = {
		"{\"sub\": \"u-2\"}",
		"{\"sub\": \"u-2\", \"name\": null, \"picture\": null}",
		"{\"sub\": \"u-2\", \"name\": \"\", \"picture\": \"\", \"exp\": null}",
	};
	for(guint i = 0; i < G_N_ELEMENTS(variants); i++) {
		token = make_hs256(variants[i]);
		assert_accepted(auth, token, "u-2", &id);
		g_assert_null(id.user_name);
		g_assert_null(id.avatar);
		calls_identity_clear(&id);
		g_free(token);
	}

	/* out, why may be NULL */
	token = make_hs256("{\"sub\": \"u-3\"}");
	g_assert_true(calls_auth_verify_token(auth, token, NOW, NULL, NULL, 0));
	g_assert_false(calls_auth_verify_token(auth, "x", NOW, NULL, NULL, 0));
	g_assert_false(calls_auth_verify_token(auth, "x", NOW, NULL, why, 1));
	g_assert_cmpstr(why, ==, "");
	g_assert_false(calls_auth_verify_token(NULL, token, NOW, NULL, why, sizeof(why)));
	g_free(token);
	calls_auth_free(auth);
}

static void test_hs256_times(void) {
	calls_auth *auth = auth_hs();
	char grants[256];

	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW - 3600);
	refuse_grants(auth, grants, "the token expired at 2025-12-31T23:00:00Z (now 2026-01-01T00:00:00Z");
	/* leeway: expired if now >= exp + 30 s */
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW - 30);
	refuse_grants(auth, grants, "expired");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW - 29);
	accept_grants(auth, grants, "u");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT ".5}", NOW - 30);
	refuse_grants(auth, grants, "expired");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT ".5}", NOW + 100);
	accept_grants(auth, grants, "u");
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": 0}", "expired at 1970-01-01T00:00:00Z");
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": -5}", "expired");
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": -1e300}", "expired");
	accept_grants(auth, "{\"sub\": \"u\", \"exp\": 9223372036854775807}", "u");
	accept_grants(auth, "{\"sub\": \"u\", \"exp\": 1e300}", "u");

	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"nbf\": %" G_GINT64_FORMAT "}", NOW + 3600);
	refuse_grants(auth, grants, "not valid before 2026-01-01T01:00:00Z (now 2026-01-01T00:00:00Z");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"nbf\": %" G_GINT64_FORMAT "}", NOW + 31);
	refuse_grants(auth, grants, "not valid before");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"nbf\": %" G_GINT64_FORMAT "}", NOW + 30);
	accept_grants(auth, grants, "u");
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"nbf\": %" G_GINT64_FORMAT ".2}", NOW + 30);
	refuse_grants(auth, grants, "not valid before");
	refuse_grants(auth, "{\"sub\": \"u\", \"nbf\": 9223372036854775807}", "not valid before");
	refuse_grants(auth, "{\"sub\": \"u\", \"nbf\": 1e300}", "not valid before");

	/* wrong types */
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": \"tomorrow\"}", "claim 'exp' must be a number");
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": true}", "claim 'exp' must be a number");
	refuse_grants(auth, "{\"sub\": \"u\", \"exp\": [1]}", "claim 'exp' must be a number");
	refuse_grants(auth, "{\"sub\": \"u\", \"nbf\": {}}", "claim 'nbf' must be a number");
	calls_auth_free(auth);
}

static void test_hs256_wrong_secret(void) {
	calls_auth *auth = auth_hs();
	char *token = make_token(JWT_ALG_HS256, "another-secret", "{\"sub\": \"u\"}");
	assert_refused(auth, token, "the token's signature does not match the configured jwt_secret");
	g_free(token);
	/* a signature of the right size but wrong, and one of a wrong size */
	token = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"u\"}", NULL,
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_refused(auth, token, "does not match the configured jwt_secret");
	g_free(token);
	token = craft("{\"alg\":\"HS256\"}", "{\"sub\":\"u\"}", NULL, "AAAA");
	assert_refused(auth, token, "does not match the configured jwt_secret");
	g_free(token);
	/* a hand-made token signed right is accepted (the crafting is sound) */
	token = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"u\"}", SECRET, NULL);
	assert_accepted(auth, token, "u", NULL);
	g_free(token);
	calls_auth_free(auth);
}

static void test_claims(void) {
	calls_auth *auth = auth_hs();
	refuse_grants(auth, "{\"name\": \"Alice\"}", "no 'sub' claim");
	refuse_grants(auth, "{\"sub\": null}", "no 'sub' claim");
	refuse_grants(auth, "{\"sub\": 123}", "claim 'sub' must be a string");
	refuse_grants(auth, "{\"sub\": true}", "claim 'sub' must be a string");
	refuse_grants(auth, "{\"sub\": {\"id\": \"u\"}}", "claim 'sub' must be a string");
	refuse_grants(auth, "{\"sub\": [\"u\"]}", "claim 'sub' must be a string");
	refuse_grants(auth, "{\"sub\": \"\"}", "claim 'sub' is empty");
	/* a user id is one SDP token: visible ASCII, no space, at most 64 bytes */
	refuse_grants(auth, "{\"sub\": \"a\\nb\"}", "claim 'sub' must be 1 to 64 visible ASCII characters");
	refuse_grants(auth, "{\"sub\": \"a\\u0085b\"}", "claim 'sub' must be 1 to 64 visible ASCII characters");
	refuse_grants(auth, "{\"sub\": \"a b\"}", "without spaces");
	refuse_grants(auth, "{\"sub\": \"u\", \"name\": 5}", "claim 'name' must be a string");
	refuse_grants(auth, "{\"sub\": \"u\", \"picture\": false}", "claim 'picture' must be a string");
	refuse_grants(auth, "{\"sub\": \"u\", \"name\": \"a\\tb\"}", "claim 'name' contains the control character");
	refuse_grants(auth, "{\"sub\": \"josé\"}", "claim 'sub' must be 1 to 64 visible ASCII characters");
	accept_grants(auth, "{\"sub\": \"jose.silva@example.com\"}", "jose.silva@example.com");
	accept_grants(auth, "{\"sub\": \"0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42\"}", "0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42");

	/* lengths, in bytes */
	GString *g = g_string_new(NULL);
	char *id = g_strnfill(CALLS_USER_ID_MAX, 'x');
	g_string_printf(g, "{\"sub\": \"%s\"}", id);
	accept_grants(auth, g->str, id);
	g_free(id);
	id = g_strnfill(CALLS_USER_ID_MAX + 1, 'x');
	g_string_printf(g, "{\"sub\": \"%s\"}", id);
	refuse_grants(auth, g->str, "claim 'sub' must be 1 to 64 visible ASCII characters");
	g_free(id);
	char *name = g_strnfill(CALLS_USER_NAME_MAX + 1, 'n');
	g_string_printf(g, "{\"sub\": \"u\", \"name\": \"%s\"}", name);
	refuse_grants(auth, g->str, "claim 'name' is 257 bytes long");
	name[CALLS_USER_NAME_MAX] = '\0';
	g_string_printf(g, "{\"sub\": \"u\", \"name\": \"%s\"}", name);
	accept_grants(auth, g->str, "u");
	g_free(name);
	char *pic = g_strnfill(CALLS_AVATAR_MAX + 1, 'p');
	g_string_printf(g, "{\"sub\": \"u\", \"picture\": \"%s\"}", pic);
	refuse_grants(auth, g->str, "claim 'picture' is 2049 bytes long");
	g_free(pic);
	/* the token as a whole is bounded too, before any parsing */
	char *huge = g_strnfill(CALLS_TOKEN_MAX, 'h');
	g_string_printf(g, "{\"sub\": \"u\", \"extra\": \"%s\"}", huge);
	refuse_grants(auth, g->str, "the token is longer than 16384 bytes");
	g_free(huge);
	g_string_free(g, TRUE);

	/* a NUL inside a claim: jansson refuses \u0000, so does the decoder */
	char *token = craft("{\"alg\":\"HS256\"}", "{\"sub\":\"a\\u0000b\"}", SECRET, NULL);
	assert_refused(auth, token, "payload is not valid JSON");
	g_free(token);
	/* duplicate claims are ambiguous */
	token = craft("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"sub\":\"mallory\"}", SECRET, NULL);
	assert_refused(auth, token, "payload is not valid JSON");
	g_free(token);
	/* a payload that is JSON but not an object */
	const char *not_objects[] = { "[\"sub\"]", "\"alice\"", "42", "null", "true" };
	for(guint i = 0; i < G_N_ELEMENTS(not_objects); i++) {
		token = craft("{\"alg\":\"HS256\"}", not_objects[i], SECRET, NULL);
		assert_refused(auth, token, "the token's payload is JSON but not an object");
		g_free(token);
	}
	calls_auth_free(auth);
}

static void test_rs256(void) {
	calls_auth *auth = auth_rs();
	char grants[128];
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"rs-user\", \"name\": \"R\", \"exp\": %" G_GINT64_FORMAT "}", NOW + 60);
	char *token = make_token(JWT_ALG_RS256, RSA_PRIVATE, grants);
	calls_identity id;
	assert_accepted(auth, token, "rs-user", &id);
	g_assert_cmpstr(id.user_name, ==, "R");
	calls_identity_clear(&id);

	/* the same token against a server with only a secret */
	calls_auth *hs = auth_hs();
	assert_refused(hs, token, "signed with RS256 but this server has no jwt_public_key");
	calls_auth_free(hs);
	g_free(token);

	/* signed by another key */
	token = make_token(JWT_ALG_RS256, OTHER_RSA_PRIVATE, "{\"sub\": \"u\"}");
	assert_refused(auth, token, "RS256 signature does not verify with the configured jwt_public_key");
	g_free(token);
	/* expired, through RS256 too */
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW - 3600);
	token = make_token(JWT_ALG_RS256, RSA_PRIVATE, grants);
	assert_refused(auth, token, "expired");
	g_free(token);
	/* garbage signature */
	token = craft("{\"alg\":\"RS256\"}", "{\"sub\":\"u\"}", NULL, "AAAA");
	assert_refused(auth, token, "RS256 signature does not verify");
	g_free(token);
	/* an HS256 token when only a public key is configured */
	token = make_hs256("{\"sub\": \"u\"}");
	assert_refused(auth, token, "signed with HS256 but this server has no jwt_secret");
	g_free(token);
	calls_auth_free(auth);

	/* both keys: both algorithms accepted */
	GError *error = NULL;
	auth = calls_auth_new(CALLS_AUTH_JWT, SECRET, RSA_PUBLIC, &error);
	g_assert_no_error(error);
	token = make_token(JWT_ALG_RS256, RSA_PRIVATE, "{\"sub\": \"a\"}");
	assert_accepted(auth, token, "a", NULL);
	g_free(token);
	token = make_hs256("{\"sub\": \"b\"}");
	assert_accepted(auth, token, "b", NULL);
	g_free(token);
	token = make_token(JWT_ALG_HS512, SECRET, "{\"sub\": \"c\"}");
	assert_refused(auth, token, "HS256 (jwt_secret) or RS256 (jwt_public_key)");
	g_free(token);
	calls_auth_free(auth);
}

static void test_alg_confusion(void) {
	/* HS256 "signed" with the public key as the HMAC secret: the classic
	 * attack on libraries that take the key from the config and the
	 * algorithm from the token. */
	char *token = make_token(JWT_ALG_HS256, RSA_PUBLIC, "{\"sub\": \"mallory\"}");
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, token, (const unsigned char *)RSA_PUBLIC, (int)strlen(RSA_PUBLIC));
	g_test_message("libjwt jwt_decode(HS256 token signed with the RSA public key, key = that public key) = %d%s",
		rc, rc == 0 ? " (accepted: libjwt takes the algorithm from the token)" : "");
	jwt_free(jwt);

	calls_auth *auth = auth_rs();
	assert_refused(auth, token, "signed with HS256 but this server has no jwt_secret");
	calls_auth_free(auth);

	GError *error = NULL;
	auth = calls_auth_new(CALLS_AUTH_JWT, SECRET, RSA_PUBLIC, &error);
	g_assert_no_error(error);
	assert_refused(auth, token, "does not match the configured jwt_secret");
	calls_auth_free(auth);
	g_free(token);

	/* the reverse: an RS256 header on a token HMAC'd with the secret */
	auth = auth_hs();
	token = craft("{\"alg\":\"RS256\"}", "{\"sub\":\"mallory\"}", SECRET, NULL);
	assert_refused(auth, token, "signed with RS256 but this server has no jwt_public_key");
	calls_auth_free(auth);
	g_free(token);
}

static void test_alg_none(void) {
	const char *payload = "{\"sub\":\"mallory\"}";
	char *token = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, "");

	/* What libjwt 1.10 does with it (logged, not relied upon). */
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, token, NULL, 0);
	g_test_message("libjwt jwt_decode(alg none, no key) = %d, sub = %s", rc,
		jwt ? (jwt_get_grant(jwt, "sub") ? jwt_get_grant(jwt, "sub") : "(null)") : "-");
	jwt_free(jwt);
	jwt = NULL;
	rc = jwt_decode(&jwt, token, (const unsigned char *)SECRET, (int)strlen(SECRET));
	g_test_message("libjwt jwt_decode(alg none, with a key) = %d", rc);
	jwt_free(jwt);
	jwt = NULL;
	char *hs = make_hs256("{\"sub\":\"x\"}");
	char *forged = g_strdup(hs);
	forged[strlen(forged) - 3] = forged[strlen(forged) - 3] == 'A' ? 'B' : 'A';
	rc = jwt_decode(&jwt, forged, NULL, 0);
	g_test_message("libjwt jwt_decode(HS256 with a bad signature, no key) = %d%s", rc,
		rc == 0 ? " (accepted: without a key libjwt checks no signature)" : "");
	jwt_free(jwt);
	g_free(forged);
	g_free(hs);

	calls_auth *auth = auth_hs();
	assert_refused(auth, token, "alg 'none' is refused");
	assert_refused(auth, token, "HS256");
	g_free(token);
	const char *headers[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"None\",\"typ\":\"JWT\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"nOnE\"}",
	};
	for(guint i = 0; i < G_N_ELEMENTS(headers); i++) {
		token = craft(headers[i], payload, NULL, "");
		assert_refused(auth, token, "is refused");
		g_free(token);
		/* with a signature made with the right secret, still refused */
		token = craft(headers[i], payload, SECRET, NULL);
		assert_refused(auth, token, "is refused");
		g_free(token);
	}
	/* unsigned HS256 */
	token = craft("{\"alg\":\"HS256\"}", payload, NULL, "");
	assert_refused(auth, token, "signature is empty");
	g_free(token);
	calls_auth_free(auth);

	auth = auth_rs();
	token = craft("{\"alg\":\"none\"}", payload, NULL, "");
	assert_refused(auth, token, "alg 'none' is refused");
	assert_refused(auth, token, "RS256");
	g_free(token);
	calls_auth_free(auth);
}

static void test_other_algs(void) {
	calls_auth *auth = auth_hs();
	char *token = make_token(JWT_ALG_HS512, SECRET, "{\"sub\": \"u\"}");
	assert_refused(auth, token, "alg 'HS512' is not accepted: sign tokens with HS256");
	g_free(token);
	token = make_token(JWT_ALG_HS384, SECRET, "{\"sub\": \"u\"}");
	assert_refused(auth, token, "alg 'HS384' is not accepted");
	g_free(token);
	calls_auth_free(auth);

	auth = auth_rs();
	token = make_token(JWT_ALG_RS512, RSA_PRIVATE, "{\"sub\": \"u\"}");
	assert_refused(auth, token, "alg 'RS512' is not accepted: sign tokens with RS256");
	g_free(token);
	token = make_token(JWT_ALG_ES256, EC_PRIVATE, "{\"sub\": \"u\"}");
	assert_refused(auth, token, "alg 'ES256' is not accepted");
	g_free(token);
	calls_auth_free(auth);

	/* hand-made headers, validly HMAC'd with the secret */
	auth = auth_hs();
	struct { const char *header, *needle; } cases[] = {
		{ "{\"alg\":\"hs256\"}", "alg 'hs256' is not accepted" },
		{ "{\"alg\":\"PS256\"}", "alg 'PS256' is not accepted" },
		{ "{\"alg\":\"XYZ\\n\\u0001\"}", "alg 'XYZ?" "?' is not accepted" },
		{ "{\"typ\":\"JWT\"}", "no \"alg\" string" },
		{ "{\"alg\":256}", "no \"alg\" string" },
		{ "{\"alg\":null}", "no \"alg\" string" },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}", "header is not valid JSON" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", "\"typ\" other than \"JWT\"" },
		{ "{\"alg\":\"HS256\",\"typ\":7}", "\"typ\" other than \"JWT\"" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "\"crit\"" },
		{ "[\"HS256\"]", "header is JSON but not an object" },
		{ "\"HS256\"", "header is JSON but not an object" },
		{ "{\"alg\":\"HS256\"", "header is not valid JSON" },
	};
	for(guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		token = craft(cases[i].header, "{\"sub\":\"u\"}", SECRET, NULL);
		assert_refused(auth, token, cases[i].needle);
		g_free(token);
	}
	/* a long alg is quoted shortened */
	char *alg = g_strnfill(500, 'A');
	char *header = g_strdup_printf("{\"alg\":\"%s\"}", alg);
	token = craft(header, "{\"sub\":\"u\"}", SECRET, NULL);
	assert_refused(auth, token, "...' is not accepted");
	g_assert_cmpuint(strlen(why), <, 200);
	g_free(token);
	g_free(header);
	g_free(alg);
	/* typ is case-insensitive, like libjwt's */
	token = craft("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", "{\"sub\":\"u\"}", SECRET, NULL);
	assert_accepted(auth, token, "u", NULL);
	g_free(token);
	calls_auth_free(auth);
}

static void test_garbage(void) {
	calls_auth *auth = auth_hs();
	struct { const char *token, *needle; } cases[] = {
		{ NULL, "missing or empty" },
		{ "", "missing or empty" },
		{ "abc", "found 1 part" },
		{ ".", "found 2 parts" },
		{ "..", "header is empty" },
		{ "...", "found 4 parts" },
		{ "a.b.c.d", "found 4 parts" },
		{ "a.b.c", "not base64url: its length is impossible" },
		{ "!!!!.####.$$$$", "header is not base64url: character 1" },
		{ "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA", "character 21" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", "payload is not base64url" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30.AA+A", "signature is not base64url" },
		{ "eyJhbGciOiJIUzI1NiJ9..AAAA", "payload is empty" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30.", "signature is empty" },
		{ "aGVsbG8.e30.AAAA", "header is not valid JSON" },
		{ "eyJhbGciOiJIUzI1NiJ9.aGVsbG8.AAAA", "payload is not valid JSON" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "does not match" },
		{ "eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n", "signature is not base64url" },
		{ "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "header is not base64url" },
	};
	for(guint i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_refused(auth, cases[i].token, cases[i].needle);

	/* 1 MB strings */
	char *big = g_strnfill(1 << 20, 'a');
	assert_refused(auth, big, "longer than");
	memset(big, '.', 1 << 20);
	assert_refused(auth, big, "longer than");
	big[CALLS_TOKEN_MAX] = '\0';
	assert_refused(auth, big, "found 16385 parts");
	g_free(big);

	/* random bytes */
	GRand *rand = g_rand_new_with_seed(20260101);
	char buf[400];
	for(int round = 0; round < 3000; round++) {
		int len = g_rand_int_range(rand, 0, (gint32)sizeof(buf));
		for(int i = 0; i < len; i++) {
			int c = g_rand_int_range(rand, 1, 256);
			/* bias towards the JWT alphabet so the deeper steps are reached */
			if(round % 2 == 0)
				c = "eyJhbGciOiJIUzI1NiJ9.-_AZaz09"[c % 29];
			buf[i] = (char)c;
		}
		buf[len] = '\0';
		assert_refused(auth, buf, NULL);
	}
	g_rand_free(rand);

	/* every truncation and every one-character change of a valid token */
	char *token = make_hs256("{\"sub\": \"u\", \"name\": \"N\"}");
	size_t len = strlen(token);
	char *copy = g_malloc(len + 1);
	for(size_t cut = 0; cut < len; cut++) {
		memcpy(copy, token, cut);
		copy[cut] = '\0';
		assert_refused(auth, copy, NULL);
	}
	const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	for(size_t i = 0; i < len; i++) {
		memcpy(copy, token, len + 1);
		copy[i] = alphabet[(strchr(alphabet, token[i]) - alphabet + 7) % (int)(sizeof(alphabet) - 1)];
		assert_refused(auth, copy, NULL);
	}
	g_free(copy);
	g_free(token);
	calls_auth_free(auth);
}

static void test_public_key_checks(void) {
	struct { const char *pem, *needle; } cases[] = {
		{ RSA_PRIVATE, "holds a private key" },
		{ EC_PRIVATE, "holds a private key" },
		{ EC_PUBLIC, "EC key" },
		{ "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n", "openssl x509" },
		{ "-----BEGIN RSA PUBLIC KEY-----\nMIIBAAAA\n-----END RSA PUBLIC KEY-----\n", "-RSAPublicKey_in" },
		{ "hello", "BEGIN PUBLIC KEY" },
		{ "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n", "truncated" },
		{ "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", "not base64 DER" },
		{ "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "not base64 DER" },
		{ "-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n", "not base64 DER" },
		{ "-----BEGIN PUBLIC KEY-----\nMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n", "not an RSA key" },
	};
	for(guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		GError *error = NULL;
		calls_auth *auth = calls_auth_new(CALLS_AUTH_JWT, SECRET, cases[i].pem, &error);
		g_assert_null(auth);
		g_assert_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_KEY);
		if(strstr(error->message, cases[i].needle) == NULL)
			g_error("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].needle);
		g_assert_nonnull(strstr(error->message, "jwt_public_key"));
		g_clear_error(&error);
	}
	/* text around the block, CRLF line ends: fine */
	char *wrapped = g_strdup_printf("# issuer key, 2026\r\n%s\r\ntrailing words\r\n", RSA_PUBLIC);
	GError *error = NULL;
	calls_auth *auth = calls_auth_new(CALLS_AUTH_OPEN, NULL, wrapped, &error);
	g_assert_no_error(error);
	char *token = make_token(JWT_ALG_RS256, RSA_PRIVATE, "{\"sub\": \"w\"}");
	assert_accepted(auth, token, "w", NULL);
	g_free(token);
	calls_auth_free(auth);
	g_free(wrapped);
}

static void test_identity_check(void) {
	g_assert_true(calls_identity_check("u", NULL, NULL, why, sizeof(why)));
	g_assert_true(calls_identity_check("u", "Name", "https://x/y.png", why, sizeof(why)));
	g_assert_true(calls_identity_check("u-1", "Zoë", "", why, sizeof(why)));
	g_assert_false(calls_identity_check("ü", "", "", why, sizeof(why)));
	g_assert_false(calls_identity_check(NULL, NULL, NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userId is missing"));
	g_assert_false(calls_identity_check("", NULL, NULL, why, sizeof(why)));
	g_assert_false(calls_identity_check("a\x01", NULL, NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userId must be 1 to 64 visible ASCII characters"));
	g_assert_false(calls_identity_check("a\x7f", NULL, NULL, why, sizeof(why)));
	g_assert_false(calls_identity_check("a b", NULL, NULL, why, sizeof(why)));
	g_assert_false(calls_identity_check("\xff\xfe", NULL, NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userId must be 1 to 64 visible ASCII characters"));
	g_assert_false(calls_identity_check("u", "\xc3", NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userName is not valid UTF-8"));
	g_assert_false(calls_identity_check("u", NULL, "a\nb", why, sizeof(why)));
	g_assert_nonnull(strstr(why, "avatar contains"));
	char *s = g_strnfill(CALLS_USER_ID_MAX + 1, 'x');
	g_assert_false(calls_identity_check(s, NULL, NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userId must be 1 to 64"));
	s[CALLS_USER_ID_MAX] = '\0';
	g_assert_true(calls_identity_check(s, NULL, NULL, NULL, 0));
	g_free(s);
	s = g_strnfill(CALLS_USER_NAME_MAX + 1, 'x');
	g_assert_false(calls_identity_check("u", s, NULL, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "userName is 257 bytes long"));
	g_free(s);
	s = g_strnfill(CALLS_AVATAR_MAX + 1, 'x');
	g_assert_false(calls_identity_check("u", NULL, s, why, sizeof(why)));
	g_assert_nonnull(strstr(why, "avatar is 2049 bytes long"));
	g_free(s);
	/* a tiny why buffer is truncated, not overrun */
	char small[8];
	g_assert_false(calls_identity_check(NULL, NULL, NULL, small, sizeof(small)));
	g_assert_cmpuint(strlen(small), ==, 7);
}

/* HS256 secrets shorter than 32 bytes are refused, in both modes. */
static void test_weak_secret(void) {
	GError *error = NULL;
	static const char *const weak[] = { "s", "change-me", "0123456789abcdef0123456789abcde" };
	for(guint i = 0; i < G_N_ELEMENTS(weak); i++) {
		for(int mode = CALLS_AUTH_JWT; mode <= CALLS_AUTH_OPEN; mode++) {
			g_assert_null(calls_auth_new((calls_auth_mode)mode, weak[i], NULL, &error));
			g_assert_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_WEAK_SECRET);
			char *len = g_strdup_printf("jwt_secret is %zu bytes long", strlen(weak[i]));
			g_assert_nonnull(strstr(error->message, len));
			g_assert_nonnull(strstr(error->message, "at least 32"));
			if(strlen(weak[i]) > 3)   /* the secret itself is never shown */
				g_assert_null(strstr(error->message, weak[i]));
			g_free(len);
			g_clear_error(&error);
		}
	}
	calls_auth *auth = calls_auth_new(CALLS_AUTH_JWT, "0123456789abcdef0123456789abcdef", NULL, &error);
	g_assert_no_error(error);
	g_assert_true(calls_auth_has_keys(auth));
	calls_auth_free(auth);
	/* a public key alone has no such rule */
	auth = calls_auth_new(CALLS_AUTH_OPEN, NULL, RSA_PUBLIC, &error);
	g_assert_no_error(error);
	g_assert_true(calls_auth_has_keys(auth));
	calls_auth_free(auth);
	auth = calls_auth_new(CALLS_AUTH_OPEN, NULL, NULL, &error);
	g_assert_false(calls_auth_has_keys(auth));
	calls_auth_free(auth);
	g_assert_false(calls_auth_has_keys(NULL));
}

/* `aud` and `iss`, when the server requires them. */
static void test_audience_issuer(void) {
	calls_auth *auth = auth_hs();
	/* not required: anything goes */
	accept_grants(auth, "{\"sub\": \"u\", \"aud\": \"elsewhere\", \"iss\": \"someone\"}", "u");
	accept_grants(auth, "{\"sub\": \"u\", \"aud\": 42}", "u");
	calls_auth_require_claims(auth, "calls.example.org", "https://id.example.org/");
	accept_grants(auth, "{\"sub\": \"u\", \"aud\": \"calls.example.org\", \"iss\": \"https://id.example.org/\"}", "u");
	accept_grants(auth, "{\"sub\": \"u\", \"aud\": [\"chat\", \"calls.example.org\"], \"iss\": \"https://id.example.org/\"}", "u");
	/* the audience */
	refuse_grants(auth, "{\"sub\": \"u\", \"iss\": \"https://id.example.org/\"}",
		"the token has no 'aud' claim: this server accepts tokens for the audience \"calls.example.org\" (jwt_audience) only");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": \"chat.example.org\", \"iss\": \"https://id.example.org/\"}",
		"claim 'aud' is \"chat.example.org\", but this server accepts tokens for the audience \"calls.example.org\"");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": [\"chat\", \"CALLS.example.org\"], \"iss\": \"https://id.example.org/\"}",
		"claim 'aud' does not list \"calls.example.org\"");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": [], \"iss\": \"https://id.example.org/\"}", "does not list");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": [1, \"calls.example.org\"], \"iss\": \"https://id.example.org/\"}",
		"claim 'aud' must be a string or an array of strings");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": {\"a\": 1}, \"iss\": \"https://id.example.org/\"}",
		"claim 'aud' must be a string or an array of strings");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": \"calls.example.org.evil\", \"iss\": \"https://id.example.org/\"}",
		"claim 'aud' is");
	/* the issuer */
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": \"calls.example.org\"}",
		"the token has no 'iss' claim: this server accepts tokens issued by \"https://id.example.org/\" (jwt_issuer) only");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": \"calls.example.org\", \"iss\": \"https://evil.example.org/\"}",
		"claim 'iss' is \"https://evil.example.org/\", but this server accepts tokens issued by \"https://id.example.org/\"");
	refuse_grants(auth, "{\"sub\": \"u\", \"aud\": \"calls.example.org\", \"iss\": [\"https://id.example.org/\"]}",
		"claim 'iss' must be a string");
	/* a NUL inside never reaches the comparison */
	char *token = craft("{\"alg\":\"HS256\"}",
		"{\"sub\":\"u\",\"aud\":\"calls.example.org\\u0000x\",\"iss\":\"https://id.example.org/\"}", SECRET, NULL);
	assert_refused(auth, token, "not valid JSON");
	g_free(token);
	/* RS256 tokens are held to the same claims */
	calls_auth *rs = auth_rs();
	calls_auth_require_claims(rs, "calls.example.org", NULL);
	token = make_token(JWT_ALG_RS256, RSA_PRIVATE, "{\"sub\": \"rs\", \"aud\": \"calls.example.org\"}");
	assert_accepted(rs, token, "rs", NULL);
	g_free(token);
	token = make_token(JWT_ALG_RS256, RSA_PRIVATE, "{\"sub\": \"rs\", \"aud\": \"other\"}");
	assert_refused(rs, token, "jwt_audience");
	g_free(token);
	/* "" or NULL: not checked any more */
	calls_auth_require_claims(rs, "", NULL);
	token = make_token(JWT_ALG_RS256, RSA_PRIVATE, "{\"sub\": \"rs\", \"aud\": \"other\"}");
	assert_accepted(rs, token, "rs", NULL);
	g_free(token);
	calls_auth_free(rs);
	calls_auth_free(auth);
}

/* The identity carries `exp`; calls_auth_expired() applies the registration's rule later. */
static void test_expiry(void) {
	calls_auth *auth = auth_hs();
	char grants[128];
	calls_identity id;
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW + 60);
	char *token = make_hs256(grants);
	assert_accepted(auth, token, "u", &id);
	g_assert_cmpint(id.expires, ==, NOW + 60);
	calls_identity_clear(&id);
	g_assert_cmpint(id.expires, ==, 0);
	g_free(token);
	/* a fractional exp counts down to the whole second */
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT ".75}", NOW + 60);
	token = make_hs256(grants);
	assert_accepted(auth, token, "u", &id);
	g_assert_cmpint(id.expires, ==, NOW + 60);
	calls_identity_clear(&id);
	g_free(token);
	/* no exp: 0 */
	token = make_hs256("{\"sub\": \"u\"}");
	assert_accepted(auth, token, "u", &id);
	g_assert_cmpint(id.expires, ==, 0);
	calls_identity_clear(&id);
	g_free(token);
	/* the rule: expired CALLS_AUTH_LEEWAY_SEC after exp, exactly when registering would refuse it */
	g_assert_false(calls_auth_expired(0, NOW));
	g_assert_false(calls_auth_expired(NOW, NOW));
	g_assert_false(calls_auth_expired(NOW, NOW + CALLS_AUTH_LEEWAY_SEC - 1));
	g_assert_true(calls_auth_expired(NOW, NOW + CALLS_AUTH_LEEWAY_SEC));
	g_snprintf(grants, sizeof(grants), "{\"sub\": \"u\", \"exp\": %" G_GINT64_FORMAT "}", NOW - CALLS_AUTH_LEEWAY_SEC + 1);
	token = make_hs256(grants);
	assert_accepted(auth, token, "u", NULL);
	g_assert_false(calls_auth_expired(NOW - CALLS_AUTH_LEEWAY_SEC + 1, NOW));
	g_assert_true(calls_auth_expired(NOW - CALLS_AUTH_LEEWAY_SEC + 1, NOW + 1));
	g_free(token);
	calls_auth_free(auth);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/auth/new/requires-key", test_new_requires_key);
	g_test_add_func("/auth/open-mode", test_open_mode);
	g_test_add_func("/auth/hs256/valid", test_hs256_valid);
	g_test_add_func("/auth/hs256/times", test_hs256_times);
	g_test_add_func("/auth/hs256/wrong-secret", test_hs256_wrong_secret);
	g_test_add_func("/auth/claims", test_claims);
	g_test_add_func("/auth/weak-secret", test_weak_secret);
	g_test_add_func("/auth/audience-issuer", test_audience_issuer);
	g_test_add_func("/auth/expiry", test_expiry);
	g_test_add_func("/auth/rs256", test_rs256);
	g_test_add_func("/auth/alg/confusion", test_alg_confusion);
	g_test_add_func("/auth/alg/none", test_alg_none);
	g_test_add_func("/auth/alg/others", test_other_algs);
	g_test_add_func("/auth/garbage", test_garbage);
	g_test_add_func("/auth/public-key-checks", test_public_key_checks);
	g_test_add_func("/auth/identity-check", test_identity_check);
	return g_test_run();
}
