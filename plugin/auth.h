/* janus.plugin.calls - identity.
 *
 * Turns what a client sends in `register` into a user: a JWT verified with
 * libjwt (HS256 with a shared secret, RS256 with a public key; `alg: none`
 * and every other algorithm refused; `exp` and `nbf` enforced), or, in the
 * open mode meant for demos and tests, the identity as the client states it.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_AUTH_H
#define CALLS_AUTH_H

#include <glib.h>

typedef struct calls_auth calls_auth;

typedef enum {
	CALLS_AUTH_JWT = 0,
	CALLS_AUTH_OPEN,
} calls_auth_mode;

typedef struct calls_identity {
	char *user_id;    /* `sub` */
	char *user_name;  /* `name`, or NULL */
	char *avatar;     /* `picture`, or NULL */
} calls_identity;

/* `hs256_secret` and/or `rs256_public_key_pem` (PEM text, not a path) enable
 * token verification; JWT mode needs at least one of them. In open mode they
 * are optional: if present, tokens are verified too. */
calls_auth *calls_auth_new(calls_auth_mode mode, const char *hs256_secret,
	const char *rs256_public_key_pem, GError **error);
void calls_auth_free(calls_auth *auth);
calls_auth_mode calls_auth_get_mode(const calls_auth *auth);

/* Verify a token at time `now_sec` (seconds since the epoch). On success fill
 * `out` (free with calls_identity_clear) and return TRUE. On failure return
 * FALSE and write into `why` a sentence a client developer can act on
 * (e.g. "the token expired at 2026-01-01T00:00:00Z"). */
gboolean calls_auth_verify_token(calls_auth *auth, const char *token, gint64 now_sec,
	calls_identity *out, char *why, size_t whylen);

void calls_identity_clear(calls_identity *id);

/* Limits on identities, shared by both modes. */
#define CALLS_USER_ID_MAX 128
#define CALLS_USER_NAME_MAX 256
#define CALLS_AVATAR_MAX 2048

#endif
