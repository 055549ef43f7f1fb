/* janus.plugin.calls - identity.
 *
 * How a token is checked, in order, each step refusing with a sentence the
 * client developer can act on:
 *
 *   1. shape: non-empty, at most CALLS_TOKEN_MAX bytes, exactly three
 *      non-empty base64url parts. libjwt 1.10 copies the token with alloca()
 *      and misbehaves on empty parts, so nothing malformed ever reaches it.
 *   2. header: our own decode (jansson, duplicate keys refused). `alg` must
 *      be HS256 or RS256 *and* the matching key must be configured; `none`
 *      and every other algorithm are refused here, before libjwt runs.
 *      The key is picked by this algorithm, never by trying each key, which
 *      rules out alg confusion (an HS256 token "signed" with the public key).
 *   3. signature: for HS256 we first compare the HMAC ourselves in constant
 *      time (libjwt 1.10 uses strcmp), then libjwt's jwt_decode() verifies
 *      again with the key for that algorithm, and jwt_get_alg() must agree.
 *      jwt_decode() is never called without a key: libjwt 1.10 then skips
 *      the signature check altogether.
 *   4. claims: `exp` and `nbf` (numbers, CALLS_AUTH_LEEWAY_SEC of skew),
 *      `aud` and `iss` when the server requires them, `sub` required, `name` and `picture` optional, with the identity
 *      rules shared with the open mode (calls_identity_check()).
 *
 * Nothing here is global: a calls_auth is immutable once built (and its
 * required claims set) and may be used from any thread.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <jwt.h>
#include "auth.h"

struct calls_auth {
	calls_auth_mode mode;
	char *secret;      /* HS256 secret, or NULL */
	size_t secret_len;
	char *public_pem;  /* the "BEGIN PUBLIC KEY" block, or NULL */
	char *audience;    /* required `aud`, or NULL */
	char *issuer;      /* required `iss`, or NULL */
};

G_DEFINE_QUARK(calls-auth-error-quark, calls_auth_error)

/* -------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

/* Write a refusal into why (if any) and return FALSE. */
static gboolean G_GNUC_PRINTF(3, 4) refuse(char *why, size_t whylen, const char *fmt, ...) {
	if(why != NULL && whylen > 0) {
		va_list args;
		va_start(args, fmt);
		g_vsnprintf(why, (gulong)whylen, fmt, args);
		va_end(args);
	}
	return FALSE;
}

/* A short printable copy of untrusted text, to quote it in a message. */
static void quote_safe(char *dst, size_t dstlen, const char *src, size_t srclen) {
	size_t o = 0;
	for(size_t i = 0; i < srclen && o + 4 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if(srclen > 0 && o < srclen && o + 4 <= dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Forget a secret before freeing it. */
static void scrub_free(char *s, size_t len) {
	if(s == NULL)
		return;
	volatile char *p = s;
	for(size_t i = 0; i < len; i++)
		p[i] = 0;
	g_free(s);
}

/* Seconds since the epoch as 2026-01-01T00:00:00Z (or the number itself
 * when out of GDateTime's range). */
static void format_time(char *dst, size_t dstlen, gint64 sec) {
	GDateTime *dt = g_date_time_new_from_unix_utc(sec);
	char *text = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
	if(text != NULL)
		g_strlcpy(dst, text, dstlen);
	else
		g_snprintf(dst, (gulong)dstlen, "%" G_GINT64_FORMAT " (seconds since the epoch)", sec);
	g_free(text);
	if(dt != NULL)
		g_date_time_unref(dt);
}

static gboolean is_b64url_char(char c) {
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* Decode unpadded base64url. NULL if the text is not strictly base64url. */
static guchar *b64url_decode(const char *src, size_t len, gsize *out_len) {
	if(len % 4 == 1)
		return NULL;
	for(size_t i = 0; i < len; i++)
		if(!is_b64url_char(src[i]))
			return NULL;
	char *std = g_malloc(len + 3);
	for(size_t i = 0; i < len; i++)
		std[i] = src[i] == '-' ? '+' : src[i] == '_' ? '/' : src[i];
	size_t n = len;
	while(n % 4 != 0)
		std[n++] = '=';
	std[n] = '\0';
	guchar *out = g_base64_decode(std, out_len);
	g_free(std);
	return out;
}

/* Constant-time comparison of two byte strings of the same length. */
static gboolean same_bytes(const guchar *a, const guchar *b, size_t len) {
	guchar diff = 0;
	for(size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* -------------------------------------------------------------------------
 * Identity rules (both modes)
 * ---------------------------------------------------------------------- */

/* Check one identity string: UTF-8, no control character, no NUL inside,
 * at most `max` bytes. `len` is the real length (jansson strings may hold
 * NULs). */
static gboolean check_text(const char *label, const char *s, size_t len, size_t max,
		char *why, size_t whylen) {
	if(len > max)
		return refuse(why, whylen, "%s is %zu bytes long; at most %zu are accepted", label, len, max);
	if(strlen(s) != len)
		return refuse(why, whylen, "%s contains a NUL character", label);
	if(!g_utf8_validate(s, (gssize)len, NULL))
		return refuse(why, whylen, "%s is not valid UTF-8", label);
	for(const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if(g_unichar_iscntrl(c))
			return refuse(why, whylen, "%s contains the control character U+%04X; "
				"use printable text only", label, (unsigned)c);
	}
	return TRUE;
}

gboolean calls_user_id_valid(const char *user_id) {
	size_t len = user_id != NULL ? strlen(user_id) : 0;
	if(len == 0 || len > CALLS_USER_ID_MAX)
		return FALSE;
	for(const unsigned char *p = (const unsigned char *)user_id; *p != '\0'; p++) {
		if(*p < 0x21 || *p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

/* The user id rule, as a sentence naming where the id came from. */
static gboolean check_user_id(const char *label, const char *user_id, size_t len, char *why, size_t whylen) {
	if(strlen(user_id) != len || !calls_user_id_valid(user_id))
		return refuse(why, whylen, "%s must be " CALLS_USER_ID_RULE, label);
	return TRUE;
}

gboolean calls_identity_check(const char *user_id, const char *user_name,
		const char *avatar, char *why, size_t whylen) {
	if(user_id == NULL || *user_id == '\0')
		return refuse(why, whylen, "userId is missing or empty: give the user's id as a non-empty string");
	if(!check_user_id("userId", user_id, strlen(user_id), why, whylen))
		return FALSE;
	if(user_name != NULL && !check_text("userName", user_name, strlen(user_name), CALLS_USER_NAME_MAX, why, whylen))
		return FALSE;
	if(avatar != NULL && !check_text("avatar", avatar, strlen(avatar), CALLS_AVATAR_MAX, why, whylen))
		return FALSE;
	return TRUE;
}

void calls_identity_clear(calls_identity *id) {
	if(id == NULL)
		return;
	g_clear_pointer(&id->user_id, g_free);
	g_clear_pointer(&id->user_name, g_free);
	g_clear_pointer(&id->avatar, g_free);
	id->expires = 0;
}

/* -------------------------------------------------------------------------
 * Keys
 * ---------------------------------------------------------------------- */

#define PEM_BEGIN "-----BEGIN PUBLIC KEY-----"
#define PEM_END "-----END PUBLIC KEY-----"

/* DER of the algorithm OIDs in a SubjectPublicKeyInfo. */
static const guchar oid_rsa[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const guchar oid_ec[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };

static gboolean der_has(const guchar *der, gsize len, const guchar *oid, gsize oidlen) {
	gsize scan = MIN(len, (gsize)32);  /* the OID sits in the first bytes */
	for(gsize i = 0; i + oidlen <= scan; i++)
		if(memcmp(der + i, oid, oidlen) == 0)
			return TRUE;
	return FALSE;
}

/* Extract and sanity-check the RSA public key block of a PEM text. This is
 * a structural check (libjwt parses the key with OpenSSL when verifying);
 * it exists to turn the usual mistakes into a clear message at startup. */
static char *rsa_public_pem(const char *pem, GError **error) {
	if(strstr(pem, "PRIVATE KEY-----") != NULL) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_KEY,
			"jwt_public_key holds a private key: Janus needs only the public key "
			"(openssl rsa -in private.pem -pubout -out public.pem); keep the private key with the token issuer");
		return NULL;
	}
	const char *begin = strstr(pem, PEM_BEGIN);
	if(begin == NULL) {
		const char *hint = "it must be an RSA public key in PEM, starting with \"" PEM_BEGIN "\"";
		if(strstr(pem, "BEGIN RSA PUBLIC KEY") != NULL)
			hint = "it is a PKCS#1 \"RSA PUBLIC KEY\"; convert it with "
				"openssl rsa -RSAPublicKey_in -in key.pem -pubout -out public.pem";
		else if(strstr(pem, "BEGIN CERTIFICATE") != NULL)
			hint = "it is a certificate; extract its key with "
				"openssl x509 -in cert.pem -pubkey -noout > public.pem";
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_KEY,
			"jwt_public_key is not usable: %s", hint);
		return NULL;
	}
	const char *body = begin + strlen(PEM_BEGIN);
	const char *end = strstr(body, PEM_END);
	if(end == NULL) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_KEY,
			"jwt_public_key is truncated: \"" PEM_END "\" is missing");
		return NULL;
	}
	GString *b64 = g_string_new(NULL);
	gboolean clean = TRUE;
	for(const char *p = body; p < end; p++) {
		if(g_ascii_isalnum(*p) || *p == '+' || *p == '/' || *p == '=')
			g_string_append_c(b64, *p);
		else if(!g_ascii_isspace(*p))
			clean = FALSE;
	}
	gsize derlen = 0;
	guchar *der = (clean && b64->len >= 4 && b64->len % 4 == 0) ? g_base64_decode(b64->str, &derlen) : NULL;
	g_string_free(b64, TRUE);
	const char *problem = NULL;
	if(der == NULL || derlen < 16 || der[0] != 0x30)
		problem = "its body is not base64 DER; regenerate it with openssl rsa -in private.pem -pubout";
	else if(der_has(der, derlen, oid_ec, sizeof(oid_ec)))
		problem = "it is an EC key, and this server verifies RS256 (RSA) tokens only";
	else if(!der_has(der, derlen, oid_rsa, sizeof(oid_rsa)))
		problem = "it is not an RSA key, and this server verifies RS256 (RSA) tokens only";
	g_free(der);
	if(problem != NULL) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_KEY,
			"jwt_public_key is not usable: %s", problem);
		return NULL;
	}
	return g_strdup_printf("%.*s\n", (int)(end + strlen(PEM_END) - begin), begin);
}

calls_auth *calls_auth_new(calls_auth_mode mode, const char *hs256_secret,
		const char *rs256_public_key_pem, GError **error) {
	if(mode != CALLS_AUTH_JWT && mode != CALLS_AUTH_OPEN) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_BAD_MODE,
			"unknown auth mode %d: auth must be \"jwt\" or \"open\"", (int)mode);
		return NULL;
	}
	gboolean have_secret = hs256_secret != NULL && *hs256_secret != '\0';
	gboolean have_pem = rs256_public_key_pem != NULL && *rs256_public_key_pem != '\0';
	if(mode == CALLS_AUTH_JWT && !have_secret && !have_pem) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_NO_KEY,
			"auth = \"jwt\" needs a key to verify tokens: set jwt_secret (the HS256 shared secret) "
			"or jwt_public_key (path of the RS256 public key in PEM) in section general of "
			"janus.plugin.calls.jcfg, or set auth = \"open\" for demos and tests");
		return NULL;
	}
	if(have_secret && strlen(hs256_secret) < CALLS_AUTH_SECRET_MIN) {
		g_set_error(error, CALLS_AUTH_ERROR, CALLS_AUTH_ERROR_WEAK_SECRET,
			"jwt_secret is %zu bytes long; HS256 needs at least %d (a shorter secret can be guessed "
			"offline from a single token): set a long random secret shared with your token issuer "
			"(e.g. openssl rand -base64 48)", strlen(hs256_secret), CALLS_AUTH_SECRET_MIN);
		return NULL;
	}
	char *pem = NULL;
	if(have_pem && (pem = rsa_public_pem(rs256_public_key_pem, error)) == NULL)
		return NULL;
	calls_auth *auth = g_new0(calls_auth, 1);
	auth->mode = mode;
	auth->public_pem = pem;
	if(have_secret) {
		auth->secret_len = strlen(hs256_secret);
		auth->secret = g_strdup(hs256_secret);
	}
	return auth;
}

void calls_auth_free(calls_auth *auth) {
	if(auth == NULL)
		return;
	scrub_free(auth->secret, auth->secret_len);
	g_free(auth->public_pem);
	g_free(auth->audience);
	g_free(auth->issuer);
	g_free(auth);
}

calls_auth_mode calls_auth_get_mode(const calls_auth *auth) {
	return auth ? auth->mode : CALLS_AUTH_JWT;
}

gboolean calls_auth_has_keys(const calls_auth *auth) {
	return auth != NULL && (auth->secret != NULL || auth->public_pem != NULL);
}

void calls_auth_require_claims(calls_auth *auth, const char *audience, const char *issuer) {
	g_return_if_fail(auth != NULL);
	g_free(auth->audience);
	g_free(auth->issuer);
	auth->audience = audience != NULL && *audience != '\0' ? g_strdup(audience) : NULL;
	auth->issuer = issuer != NULL && *issuer != '\0' ? g_strdup(issuer) : NULL;
}

gboolean calls_auth_expired(gint64 expires, gint64 now_sec) {
	return expires != 0 && now_sec - CALLS_AUTH_LEEWAY_SEC >= expires;
}

/* -------------------------------------------------------------------------
 * Token verification
 * ---------------------------------------------------------------------- */

/* What this server accepts, for messages: "HS256", "RS256" or both. */
static const char *accepted_algs(const calls_auth *auth) {
	if(auth->secret != NULL && auth->public_pem != NULL)
		return "HS256 (jwt_secret) or RS256 (jwt_public_key)";
	return auth->secret != NULL ? "HS256 and the server's jwt_secret"
		: "RS256 and the private key matching the server's jwt_public_key";
}

/* The three parts of a compact JWS. */
typedef struct {
	const char *part[3];
	size_t len[3];
} token_parts;

static const char *const part_names[3] = { "header", "payload", "signature" };

/* Cut the token at its dots; the parts are checked one by one later, so
 * that the header (and a refused `alg`) is judged first. */
static gboolean split_token(const char *token, token_parts *tp, char *why, size_t whylen) {
	int n = 0;
	const char *start = token;
	for(const char *p = token; ; p++) {
		if(*p != '.' && *p != '\0')
			continue;
		if(n < 3) {
			tp->part[n] = start;
			tp->len[n] = (size_t)(p - start);
		}
		n++;
		start = p + 1;
		if(*p == '\0')
			break;
	}
	if(n != 3)
		return refuse(why, whylen, "the token is not a JWT: expected three base64url parts "
			"separated by dots (header.payload.signature), found %d part%s", n, n == 1 ? "" : "s");
	return TRUE;
}

/* Part i must be non-empty unpadded base64url. */
static gboolean check_part(const token_parts *tp, int i, char *why, size_t whylen) {
	if(tp->len[i] == 0)
		return refuse(why, whylen, "the token's %s is empty%s", part_names[i],
			i == 2 ? ": unsigned tokens are refused; sign tokens with HS256 or RS256" : "");
	for(size_t k = 0; k < tp->len[i]; k++)
		if(!is_b64url_char(tp->part[i][k]))
			return refuse(why, whylen, "the token's %s is not base64url: character %zu is not "
				"one of A-Z a-z 0-9 - _ (no padding, no spaces)", part_names[i], k + 1);
	if(tp->len[i] % 4 == 1)
		return refuse(why, whylen, "the token's %s is not base64url: its length is impossible", part_names[i]);
	return TRUE;
}

/* Decode a base64url JSON object part. */
static json_t *decode_json_part(const char *part, size_t len, const char *name, char *why, size_t whylen) {
	gsize rawlen = 0;
	guchar *raw = b64url_decode(part, len, &rawlen);
	if(raw == NULL) {
		refuse(why, whylen, "the token's %s is not base64url", name);
		return NULL;
	}
	json_error_t jerr;
	json_t *obj = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	g_free(raw);
	if(obj == NULL) {
		refuse(why, whylen, "the token's %s is not valid JSON (%s)", name, jerr.text);
		return NULL;
	}
	if(!json_is_object(obj)) {
		json_decref(obj);
		refuse(why, whylen, "the token's %s is JSON but not an object", name);
		return NULL;
	}
	return obj;
}

/* Read and judge the header: on success *alg is JWT_ALG_HS256 or RS256 and
 * the key for it is configured. */
static gboolean check_header(const calls_auth *auth, const token_parts *tp, jwt_alg_t *alg,
		char *why, size_t whylen) {
	if(!check_part(tp, 0, why, whylen))
		return FALSE;
	json_t *head = decode_json_part(tp->part[0], tp->len[0], "header", why, whylen);
	if(head == NULL)
		return FALSE;
	gboolean ok = FALSE;
	json_t *jalg = json_object_get(head, "alg");
	json_t *typ = json_object_get(head, "typ");
	char quoted[40];
	if(!json_is_string(jalg)) {
		refuse(why, whylen, "the token's header has no \"alg\" string: sign tokens with %s", accepted_algs(auth));
	} else if(typ != NULL && (!json_is_string(typ) || g_ascii_strcasecmp(json_string_value(typ), "JWT") != 0)) {
		refuse(why, whylen, "the token's header has a \"typ\" other than \"JWT\": omit it or set it to \"JWT\"");
	} else if(json_object_get(head, "crit") != NULL) {
		refuse(why, whylen, "the token's header lists \"crit\" extensions, which this server does not "
			"understand: remove \"crit\"");
	} else {
		const char *name = json_string_value(jalg);
		quote_safe(quoted, sizeof(quoted), name, json_string_length(jalg));
		if(strcmp(name, "HS256") == 0 && auth->secret != NULL) {
			*alg = JWT_ALG_HS256;
			ok = TRUE;
		} else if(strcmp(name, "RS256") == 0 && auth->public_pem != NULL) {
			*alg = JWT_ALG_RS256;
			ok = TRUE;
		} else if(strcmp(name, "HS256") == 0) {
			refuse(why, whylen, "the token is signed with HS256 but this server has no jwt_secret, "
				"only jwt_public_key: sign tokens with RS256 and the matching private key");
		} else if(strcmp(name, "RS256") == 0) {
			refuse(why, whylen, "the token is signed with RS256 but this server has no jwt_public_key, "
				"only jwt_secret: sign tokens with HS256 and that secret");
		} else if(g_ascii_strcasecmp(name, "none") == 0) {
			refuse(why, whylen, "alg '%s' is refused: unsigned tokens are never accepted; sign tokens with %s",
				quoted, accepted_algs(auth));
		} else {
			refuse(why, whylen, "alg '%s' is not accepted: sign tokens with %s", quoted, accepted_algs(auth));
		}
	}
	json_decref(head);
	return ok;
}

/* HS256 in constant time, before libjwt (whose comparison is strcmp). */
static gboolean hs256_matches(const calls_auth *auth, const token_parts *tp) {
	gsize siglen = 0;
	guchar *sig = b64url_decode(tp->part[2], tp->len[2], &siglen);
	guint8 mac[32];
	gsize maclen = sizeof(mac);
	GHmac *hmac = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)auth->secret, auth->secret_len);
	g_hmac_update(hmac, (const guchar *)tp->part[0], (gssize)(tp->len[0] + 1 + tp->len[1]));
	g_hmac_get_digest(hmac, mac, &maclen);
	g_hmac_unref(hmac);
	gboolean ok = sig != NULL && siglen == maclen && same_bytes(sig, mac, maclen);
	g_free(sig);
	return ok;
}

/* Whole seconds from a NumericDate with a fraction, rounded down or up. */
static gint64 whole_seconds(double d, gboolean round_up) {
	if(d >= 9.0e18)
		return G_MAXINT64;
	if(d <= -9.0e18)
		return G_MININT64;
	gint64 t = (gint64)d;  /* towards zero */
	if(round_up && (double)t < d)
		t++;
	else if(!round_up && (double)t > d)
		t--;
	return t;
}

/* A NumericDate claim: absent (TRUE, *present = FALSE), a number (TRUE), or
 * anything else (FALSE). Fractions are rounded towards refusal. */
static gboolean time_claim(json_t *claims, const char *name, gboolean round_up,
		gboolean *present, gint64 *value, char *why, size_t whylen) {
	json_t *v = json_object_get(claims, name);
	*present = FALSE;
	if(v == NULL || json_is_null(v))
		return TRUE;
	if(json_is_integer(v)) {
		*value = (gint64)json_integer_value(v);
	} else if(json_is_real(v)) {
		*value = whole_seconds(json_real_value(v), round_up);
	} else {
		return refuse(why, whylen, "claim '%s' must be a number (seconds since the epoch, NumericDate)", name);
	}
	*present = TRUE;
	return TRUE;
}

static gboolean check_times(json_t *claims, gint64 now, gint64 *expires, char *why, size_t whylen) {
	gboolean has_exp, has_nbf;
	gint64 exp = 0, nbf = 0;
	if(!time_claim(claims, "exp", FALSE, &has_exp, &exp, why, whylen))
		return FALSE;
	if(!time_claim(claims, "nbf", TRUE, &has_nbf, &nbf, why, whylen))
		return FALSE;
	char at[64], nowtext[64];
	format_time(nowtext, sizeof(nowtext), now);
	if(has_exp && now - CALLS_AUTH_LEEWAY_SEC >= exp) {  /* the rule of calls_auth_expired() */
		format_time(at, sizeof(at), exp);
		return refuse(why, whylen, "the token expired at %s (now %s, %d s of clock leeway allowed): "
			"get a fresh token", at, nowtext, CALLS_AUTH_LEEWAY_SEC);
	}
	if(has_nbf && now + CALLS_AUTH_LEEWAY_SEC < nbf) {
		format_time(at, sizeof(at), nbf);
		return refuse(why, whylen, "the token is not valid before %s (now %s, %d s of clock leeway allowed): "
			"check the clocks of the token issuer and of the server", at, nowtext, CALLS_AUTH_LEEWAY_SEC);
	}
	*expires = has_exp ? MAX(exp, 1) : 0;  /* 0 stands for "no exp" */
	return TRUE;
}

/* `iss` must be the configured issuer. */
static gboolean check_issuer(const calls_auth *auth, json_t *claims, char *why, size_t whylen) {
	if(auth->issuer == NULL)
		return TRUE;
	json_t *iss = json_object_get(claims, "iss");
	char quoted[72];
	if(iss == NULL || json_is_null(iss))
		return refuse(why, whylen, "the token has no 'iss' claim: this server accepts tokens issued by "
			"\"%s\" (jwt_issuer) only", auth->issuer);
	if(!json_is_string(iss))
		return refuse(why, whylen, "claim 'iss' must be a string: this server accepts tokens issued by "
			"\"%s\" (jwt_issuer) only", auth->issuer);
	if(json_string_length(iss) != strlen(auth->issuer) || strcmp(json_string_value(iss), auth->issuer) != 0) {
		quote_safe(quoted, sizeof(quoted), json_string_value(iss), json_string_length(iss));
		return refuse(why, whylen, "claim 'iss' is \"%s\", but this server accepts tokens issued by "
			"\"%s\" (jwt_issuer) only", quoted, auth->issuer);
	}
	return TRUE;
}

static gboolean same_text(json_t *v, const char *want) {
	return json_is_string(v) && json_string_length(v) == strlen(want) && strcmp(json_string_value(v), want) == 0;
}

/* `aud` must be the configured audience, or an array holding it (RFC 7519 §4.1.3). */
static gboolean check_audience(const calls_auth *auth, json_t *claims, char *why, size_t whylen) {
	if(auth->audience == NULL)
		return TRUE;
	json_t *aud = json_object_get(claims, "aud");
	char quoted[72];
	if(aud == NULL || json_is_null(aud))
		return refuse(why, whylen, "the token has no 'aud' claim: this server accepts tokens for the audience "
			"\"%s\" (jwt_audience) only", auth->audience);
	if(json_is_string(aud)) {
		if(same_text(aud, auth->audience))
			return TRUE;
		quote_safe(quoted, sizeof(quoted), json_string_value(aud), json_string_length(aud));
		return refuse(why, whylen, "claim 'aud' is \"%s\", but this server accepts tokens for the audience "
			"\"%s\" (jwt_audience) only", quoted, auth->audience);
	}
	if(json_is_array(aud)) {
		for(size_t i = 0; i < json_array_size(aud); i++) {
			json_t *item = json_array_get(aud, i);
			if(!json_is_string(item))
				return refuse(why, whylen, "claim 'aud' must be a string or an array of strings");
			if(same_text(item, auth->audience))
				return TRUE;
		}
		return refuse(why, whylen, "claim 'aud' does not list \"%s\": this server accepts tokens for the "
			"audience \"%s\" (jwt_audience) only", auth->audience, auth->audience);
	}
	return refuse(why, whylen, "claim 'aud' must be a string or an array of strings");
}

/* An optional string claim: absent, null or "" give NULL. */
static gboolean optional_text(json_t *claims, const char *name, size_t max, char **out,
		char *why, size_t whylen) {
	json_t *v = json_object_get(claims, name);
	*out = NULL;
	if(v == NULL || json_is_null(v))
		return TRUE;
	if(!json_is_string(v))
		return refuse(why, whylen, "claim '%s' must be a string", name);
	char label[32];
	g_snprintf(label, sizeof(label), "claim '%s'", name);
	if(!check_text(label, json_string_value(v), json_string_length(v), max, why, whylen))
		return FALSE;
	if(json_string_length(v) > 0)
		*out = g_strdup(json_string_value(v));
	return TRUE;
}

static gboolean check_claims(const calls_auth *auth, json_t *claims, gint64 now, calls_identity *out,
		char *why, size_t whylen) {
	gint64 expires = 0;
	if(!check_times(claims, now, &expires, why, whylen))
		return FALSE;
	if(!check_issuer(auth, claims, why, whylen) || !check_audience(auth, claims, why, whylen))
		return FALSE;
	json_t *sub = json_object_get(claims, "sub");
	if(sub == NULL || json_is_null(sub))
		return refuse(why, whylen, "the token has no 'sub' claim: put the user's id in \"sub\"");
	if(!json_is_string(sub))
		return refuse(why, whylen, "claim 'sub' must be a string (the user's id)");
	if(json_string_length(sub) == 0)
		return refuse(why, whylen, "claim 'sub' is empty: put the user's id in \"sub\"");
	if(!check_user_id("claim 'sub'", json_string_value(sub), json_string_length(sub), why, whylen))
		return FALSE;
	calls_identity id = { 0 };
	if(!optional_text(claims, "name", CALLS_USER_NAME_MAX, &id.user_name, why, whylen))
		return FALSE;
	if(!optional_text(claims, "picture", CALLS_AVATAR_MAX, &id.avatar, why, whylen)) {
		calls_identity_clear(&id);
		return FALSE;
	}
	id.user_id = g_strdup(json_string_value(sub));
	id.expires = expires;
	if(out != NULL)
		*out = id;
	else
		calls_identity_clear(&id);
	return TRUE;
}

/* Let libjwt verify the signature with the key of `alg`, then return the
 * claims it decoded (new reference), or NULL. */
static json_t *libjwt_verify(const calls_auth *auth, const char *token, jwt_alg_t alg,
		char *why, size_t whylen) {
	const char *key = alg == JWT_ALG_HS256 ? auth->secret : auth->public_pem;
	int keylen = (int)(alg == JWT_ALG_HS256 ? auth->secret_len : strlen(auth->public_pem));
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, token, (const unsigned char *)key, keylen);
	if(rc != 0 || jwt == NULL) {
		if(jwt != NULL)
			jwt_free(jwt);
		if(alg == JWT_ALG_HS256)
			refuse(why, whylen, "the token's signature does not match the configured jwt_secret");
		else
			refuse(why, whylen, "the token's RS256 signature does not verify with the configured jwt_public_key: "
				"sign with the matching private key");
		return NULL;
	}
	json_t *claims = NULL;
	if(jwt_get_alg(jwt) != alg) {
		refuse(why, whylen, "the token's algorithm is ambiguous: send a header with a single \"alg\"");
	} else {
		char *text = jwt_get_grants_json(jwt, NULL);
		claims = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		free(text);
		if(!json_is_object(claims)) {
			json_decref(claims);
			claims = NULL;
			refuse(why, whylen, "the token's payload is not a JSON object of claims");
		}
	}
	jwt_free(jwt);
	return claims;
}

gboolean calls_auth_verify_token(calls_auth *auth, const char *token, gint64 now_sec,
		calls_identity *out, char *why, size_t whylen) {
	if(out != NULL)
		memset(out, 0, sizeof(*out));
	if(why != NULL && whylen > 0)
		why[0] = '\0';
	if(auth == NULL)
		return refuse(why, whylen, "token verification is not set up on this server");
	if(token == NULL || *token == '\0')
		return refuse(why, whylen, "the token is missing or empty: send the JWT as a string in \"token\"");
	size_t len = strnlen(token, CALLS_TOKEN_MAX + 1);
	if(len > CALLS_TOKEN_MAX)
		return refuse(why, whylen, "the token is longer than %d bytes: keep its claims short "
			"(sub, name, picture, exp)", CALLS_TOKEN_MAX);
	if(auth->secret == NULL && auth->public_pem == NULL)
		return refuse(why, whylen, "this server runs with auth = \"open\" and no jwt_secret or jwt_public_key, "
			"so it cannot verify tokens: register with \"userId\" (and optional \"userName\", \"avatar\") instead");
	token_parts tp;
	jwt_alg_t alg = JWT_ALG_NONE;
	if(!split_token(token, &tp, why, whylen) || !check_header(auth, &tp, &alg, why, whylen))
		return FALSE;
	/* The payload must be an object before libjwt sees it (its decoder
	 * takes arrays too, and duplicate claims silently). */
	if(!check_part(&tp, 1, why, whylen))
		return FALSE;
	json_t *payload = decode_json_part(tp.part[1], tp.len[1], "payload", why, whylen);
	if(payload == NULL)
		return FALSE;
	json_decref(payload);
	if(!check_part(&tp, 2, why, whylen))
		return FALSE;
	if(alg == JWT_ALG_HS256 && !hs256_matches(auth, &tp))
		return refuse(why, whylen, "the token's signature does not match the configured jwt_secret");
	json_t *claims = libjwt_verify(auth, token, alg, why, whylen);
	if(claims == NULL)
		return FALSE;
	gboolean ok = check_claims(auth, claims, now_sec, out, why, whylen);
	json_decref(claims);
	return ok;
}
