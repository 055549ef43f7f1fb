/* janus.plugin.calls - identity.
 *
 * Turns what a client sends in `register` into a user: a JWT verified with
 * libjwt (HS256 with a shared secret, RS256 with a public key; `alg: none`
 * and every other algorithm refused; `exp` and `nbf` enforced), or, in the
 * open mode meant for demos and tests, the identity as the client states it.
 *
 * The algorithm is read from the token's header before any key is chosen,
 * and the key is chosen by algorithm (HS256 -> the secret, RS256 -> the
 * public key): a token can never make us use the RSA public key as an HMAC
 * secret. libjwt 1.10 accepts `alg: none` and skips signature checks when
 * it is given no key, so it is only ever called with a key and an algorithm
 * we already accepted. `exp` and `nbf` allow CALLS_AUTH_LEEWAY_SEC of clock
 * skew between the token issuer and Janus.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_AUTH_H
#define CALLS_AUTH_H

#include <glib.h>

typedef struct calls_auth calls_auth;

#define CALLS_AUTH_ERROR (calls_auth_error_quark())
GQuark calls_auth_error_quark(void);

typedef enum {
	CALLS_AUTH_ERROR_NO_KEY = 0,  /* JWT mode without jwt_secret or jwt_public_key */
	CALLS_AUTH_ERROR_BAD_KEY,     /* the public key is not an RSA public key in PEM */
	CALLS_AUTH_ERROR_BAD_MODE,
	CALLS_AUTH_ERROR_WEAK_SECRET, /* jwt_secret shorter than CALLS_AUTH_SECRET_MIN bytes */
} calls_auth_error;

typedef enum {
	CALLS_AUTH_JWT = 0,
	CALLS_AUTH_OPEN,
} calls_auth_mode;

typedef struct calls_identity {
	char *user_id;    /* `sub` */
	char *user_name;  /* `name`, or NULL (absent, null or "") */
	char *avatar;     /* `picture`, or NULL (absent, null or "") */
	gint64 expires;   /* `exp` (seconds since the epoch), or 0 when the token has none */
} calls_identity;

/* `hs256_secret` and/or `rs256_public_key_pem` (PEM text, not a path) enable
 * token verification; JWT mode needs at least one of them. In open mode they
 * are optional: if present, tokens are verified too (and required: see
 * calls_auth_has_keys). An empty string counts as absent. An HS256 secret
 * shorter than CALLS_AUTH_SECRET_MIN bytes is refused (anyone could guess
 * it offline from one token). The PEM must be an RSA public key ("BEGIN PUBLIC KEY"); a
 * private key, a certificate or an EC key is refused with advice. On error
 * returns NULL and sets `error` (CALLS_AUTH_ERROR) with a message for the
 * admin that names the config keys to set. */
calls_auth *calls_auth_new(calls_auth_mode mode, const char *hs256_secret,
	const char *rs256_public_key_pem, GError **error);
void calls_auth_free(calls_auth *auth);
calls_auth_mode calls_auth_get_mode(const calls_auth *auth);
/* Whether a secret or a public key is configured (tokens can be verified). */
gboolean calls_auth_has_keys(const calls_auth *auth);

/* Claims every token must carry, when set (NULL or "" = not checked):
 * `aud` equal to `audience` (or an array holding it) and `iss` equal to
 * `issuer`. Call before the calls_auth is shared between threads. */
void calls_auth_require_claims(calls_auth *auth, const char *audience, const char *issuer);

/* Verify a token at time `now_sec` (seconds since the epoch). On success fill
 * `out` (free with calls_identity_clear) and return TRUE. On failure return
 * FALSE, leave `out` empty and write into `why` a sentence a client developer
 * can act on (e.g. "the token expired at 2026-01-01T00:00:00Z"). Accepted:
 * HS256 if a secret is configured, RS256 if a public key is; `sub` required,
 * `name` and `picture` optional strings, `exp`/`nbf` numbers if present,
 * `aud` and `iss` as required by calls_auth_require_claims(). Any input is safe, including garbage and very long strings. */
gboolean calls_auth_verify_token(calls_auth *auth, const char *token, gint64 now_sec,
	calls_identity *out, char *why, size_t whylen);

void calls_identity_clear(calls_identity *id);

/* The rules on identities shared by both modes, for the open mode's
 * `userId`, `userName` and `avatar` (the same rules apply to the token's
 * `sub`, `name` and `picture`): user_id required and non-empty, the others
 * optional (NULL); each valid UTF-8, without control characters, within the
 * limits below (in bytes). On failure returns FALSE and writes into `why`
 * a sentence naming the field. */
gboolean calls_identity_check(const char *user_id, const char *user_name,
	const char *avatar, char *why, size_t whylen);

/* Limits on identities, shared by both modes. */
#define CALLS_USER_ID_MAX 64
/* A user id becomes the msid stream id of the user's media in SDP, where it
 * must be one token: 1 to 64 visible ASCII characters, no space. UUIDs,
 * numeric ids, handles and e-mail addresses fit. */
#define CALLS_USER_ID_RULE "1 to 64 visible ASCII characters without spaces (a UUID, a number, a handle or an e-mail address)"
gboolean calls_user_id_valid(const char *user_id);
#define CALLS_USER_NAME_MAX 256
#define CALLS_AVATAR_MAX 2048

/* Longest token accepted, in bytes (libjwt copies tokens onto the stack). */
#define CALLS_TOKEN_MAX 16384
/* Clock skew allowed on `exp` and `nbf`, in seconds. */
#define CALLS_AUTH_LEEWAY_SEC 30
/* Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the
 * size of the hash, 256 bits). */
#define CALLS_AUTH_SECRET_MIN 32

/* Whether a token that expires at `expires` (its `exp`, 0 = never) is
 * expired at `now_sec`, with the same leeway as at registration. */
gboolean calls_auth_expired(gint64 expires, gint64 now_sec);

#endif
