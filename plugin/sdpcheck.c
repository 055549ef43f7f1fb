/* janus.plugin.calls - the publisher offer checker (see sdpcheck.h).
 *
 * One pass over the text, line by line (LF or CRLF). Lines before the first
 * m= line are the session's: nothing of them is copied to anybody, so only
 * the control-character and line-form checks apply there.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "sdpcheck.h"

/* ---- Grammars --------------------------------------------------------------------- */

static gboolean is_token_char(unsigned char c) {
	/* RFC 4566: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E */
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e ||
		(c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x5e && c <= 0x7e);
}

gboolean calls_sdp_is_token(const char *s, size_t len) {
	if(s == NULL || len == 0)
		return FALSE;
	for(size_t i = 0; i < len; i++) {
		if(!is_token_char((unsigned char)s[i]))
			return FALSE;
	}
	return TRUE;
}

gboolean calls_sdp_is_mid(const char *s, size_t len) {
	return len <= CALLS_MID_MAX && calls_sdp_is_token(s, len);
}

gboolean calls_sdp_is_rid(const char *s, size_t len) {
	if(s == NULL || len == 0 || len > CALLS_RID_MAX)
		return FALSE;
	for(size_t i = 0; i < len; i++) {
		if(!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean name_is(const char *s, size_t len, const char *name) {
	size_t n = strlen(name);
	return len == n && g_ascii_strncasecmp(s, name, n) == 0;
}

gboolean calls_sdp_profile_ok(const char *name, const char *value, size_t len) {
	if(name == NULL)
		return TRUE;
	if(g_ascii_strcasecmp(name, "profile-level-id") == 0) {
		if(value == NULL || len != 6)
			return FALSE;
		for(size_t i = 0; i < len; i++) {
			if(!g_ascii_isxdigit(value[i]))
				return FALSE;
		}
		return TRUE;
	}
	if(g_ascii_strcasecmp(name, "profile-id") == 0) {
		if(value == NULL || len < 1 || len > 2)
			return FALSE;
		for(size_t i = 0; i < len; i++) {
			if(!g_ascii_isdigit(value[i]))
				return FALSE;
		}
		return TRUE;
	}
	return TRUE;
}

/* ---- Helpers ------------------------------------------------------------------------ */

/* A value as it may appear in a message: printable ASCII, cut at 24 characters. */
static const char *shown(const char *s, size_t len, char out[32]) {
	size_t n = 0;
	for(size_t i = 0; i < len && n < 24; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
	if(len > 24) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* Split `s` at the first character of `seps`: the head, and the rest after the separator. */
static size_t span_until(const char *s, size_t len, const char *seps) {
	size_t i = 0;
	while(i < len && strchr(seps, s[i]) == NULL)
		i++;
	return i;
}

static gboolean all_digits(const char *s, size_t len, size_t max) {
	if(len == 0 || len > max)
		return FALSE;
	for(size_t i = 0; i < len; i++) {
		if(!g_ascii_isdigit(s[i]))
			return FALSE;
	}
	return TRUE;
}

static guint digits_value(const char *s, size_t len) {
	guint v = 0;
	for(size_t i = 0; i < len; i++)
		v = v * 10 + (guint)(s[i] - '0');
	return v;
}

typedef struct scan_state {
	calls_offer_scan *out;
	calls_offer_mline *m;      /* the m-line being read, or NULL (session part) */
	gboolean m_sends;          /* its direction sends (sendrecv unless said otherwise) */
	gboolean m_has_mid;
	calls_error *err;
} scan_state;

/* The m-line just read is complete: count it if it sends. */
static gboolean close_mline(scan_state *st) {
	calls_offer_mline *m = st->m;
	if(m == NULL)
		return TRUE;
	m->in_use = (m->port != 0 && st->m_sends);
	if(!m->in_use)
		return TRUE;
	if(m->kind == CALLS_MKIND_AUDIO && ++st->out->audio > CALLS_OFFER_MAX_AUDIO) {
		calls_error_set(st->err, CALLS_ERR_LIMIT_EXCEEDED,
			"the offer sends %u audio m-lines: a publisher sends at most %d audio and %d video m-lines (camera and screen)",
			st->out->audio, CALLS_OFFER_MAX_AUDIO, CALLS_OFFER_MAX_VIDEO);
		return FALSE;
	}
	if(m->kind == CALLS_MKIND_VIDEO && ++st->out->video > CALLS_OFFER_MAX_VIDEO) {
		calls_error_set(st->err, CALLS_ERR_LIMIT_EXCEEDED,
			"the offer sends %u video m-lines: a publisher sends at most %d audio and %d video m-lines (camera and screen)",
			st->out->video, CALLS_OFFER_MAX_AUDIO, CALLS_OFFER_MAX_VIDEO);
		return FALSE;
	}
	return TRUE;
}

/* m=<media> <port>[/<count>] <proto> [<fmt> ...] */
static gboolean read_mline(scan_state *st, const char *v, size_t n, guint lineno) {
	char show[32];
	if(!close_mline(st))
		return FALSE;
	if(st->out->n_mlines >= CALLS_OFFER_MAX_MLINES) {
		calls_error_set(st->err, CALLS_ERR_LIMIT_EXCEEDED,
			"the offer has more than %d m-lines: a publisher offer has at most %d (of which %d audio and %d video send)",
			CALLS_OFFER_MAX_MLINES, CALLS_OFFER_MAX_MLINES, CALLS_OFFER_MAX_AUDIO, CALLS_OFFER_MAX_VIDEO);
		return FALSE;
	}
	size_t media = span_until(v, n, " ");
	size_t rest = media < n ? media + 1 : n;
	size_t port = span_until(v + rest, n - rest, " /");
	size_t after = rest + port;
	if(after < n && v[after] == '/') {
		size_t count = span_until(v + after + 1, n - after - 1, " ");
		if(!all_digits(v + after + 1, count, 5))
			goto bad;
		after += 1 + count;
	}
	size_t proto_at = after < n ? after + 1 : n;
	size_t proto = span_until(v + proto_at, n - proto_at, " ");
	if(!calls_sdp_is_token(v, media) || !all_digits(v + rest, port, 5) || after >= n || v[after] != ' ' || proto == 0)
		goto bad;
	guint portv = digits_value(v + rest, port);
	if(portv > 65535)
		goto bad;
	calls_offer_mline *m = &st->out->mlines[st->out->n_mlines++];
	memset(m, 0, sizeof(*m));
	m->kind = name_is(v, media, "audio") ? CALLS_MKIND_AUDIO : name_is(v, media, "video") ? CALLS_MKIND_VIDEO :
		name_is(v, media, "application") ? CALLS_MKIND_APPLICATION : CALLS_MKIND_OTHER;
	m->port = portv;
	st->m = m;
	st->m_sends = TRUE;
	st->m_has_mid = FALSE;
	return TRUE;
bad:
	calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
		"line %u of the offer, m=%s, is not 'm=<media> <port> <proto> <formats>'", lineno, shown(v, n, show));
	return FALSE;
}

static gboolean read_mid(scan_state *st, const char *v, size_t n) {
	char show[32];
	guint index = st->out->n_mlines - 1;
	if(!calls_sdp_is_mid(v, n)) {
		calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
			"m-line %u: a=mid \"%s\" is not 1 to %d token characters (letters, digits and !#$%%&'*+-.^_`{|}~, no spaces)",
			index, shown(v, n, show), CALLS_MID_MAX);
		return FALSE;
	}
	if(st->m_has_mid) {
		calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST, "m-line %u has more than one a=mid", index);
		return FALSE;
	}
	for(guint i = 0; i < index; i++) {
		const char *other = st->out->mlines[i].mid;
		if(strlen(other) == n && memcmp(other, v, n) == 0) {
			calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
				"a=mid \"%s\" is on m-lines %u and %u: each m-line needs its own mid", shown(v, n, show), i, index);
			return FALSE;
		}
	}
	memcpy(st->m->mid, v, n);
	st->m->mid[n] = '\0';
	st->m_has_mid = TRUE;
	return TRUE;
}

/* a=rid:<rid-id> <direction> [<params>] */
static gboolean read_rid(scan_state *st, const char *v, size_t n) {
	char show[32];
	calls_offer_mline *m = st->m;
	guint index = st->out->n_mlines - 1;
	size_t id = span_until(v, n, " ");
	if(!calls_sdp_is_rid(v, id)) {
		calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
			"m-line %u: a=rid \"%s\" is not 1 to %d letters, digits, '-' or '_'", index, shown(v, id, show), CALLS_RID_MAX);
		return FALSE;
	}
	for(guint i = 0; i < m->n_rids; i++) {
		if(strlen(m->rids[i]) == id && memcmp(m->rids[i], v, id) == 0) {
			calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST, "m-line %u: a=rid \"%s\" appears twice", index, shown(v, id, show));
			return FALSE;
		}
	}
	if(m->n_rids >= CALLS_RIDS_MAX) {
		calls_error_set(st->err, CALLS_ERR_LIMIT_EXCEEDED,
			"m-line %u has more than %d a=rid: a publisher sends at most %d simulcast layers", index, CALLS_RIDS_MAX, CALLS_RIDS_MAX);
		return FALSE;
	}
	memcpy(m->rids[m->n_rids], v, id);
	m->rids[m->n_rids][id] = '\0';
	m->n_rids++;
	return TRUE;
}

/* a=simulcast:send q;h;~f recv ... (also the older "send rid=q;h;f") */
static gboolean read_simulcast(scan_state *st, const char *v, size_t n) {
	char show[32];
	size_t i = 0;
	while(i < n) {
		size_t len = span_until(v + i, n - i, " ;,");
		const char *piece = v + i;
		i += len + 1;
		if(len > 0 && piece[0] == '~') {
			piece++;
			len--;
		}
		if(len >= 4 && g_ascii_strncasecmp(piece, "rid=", 4) == 0) {
			piece += 4;
			len -= 4;
		}
		if(len == 0)
			continue;
		if(!calls_sdp_is_rid(piece, len)) {
			calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
				"m-line %u: a=simulcast names \"%s\", not 1 to %d letters, digits, '-' or '_'",
				st->out->n_mlines - 1, shown(piece, len, show), CALLS_RID_MAX);
			return FALSE;
		}
	}
	return TRUE;
}

/* a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>] */
static gboolean read_rtpmap(scan_state *st, const char *v, size_t n) {
	char show[32];
	size_t pt = span_until(v, n, " ");
	size_t at = pt < n ? pt + 1 : n;
	size_t name = span_until(v + at, n - at, "/");
	size_t rate_at = at + name + 1;
	size_t rate = rate_at <= n ? span_until(v + rate_at, n - rate_at, "/") : 0;
	size_t ch_at = rate_at + rate + 1;
	size_t ch = ch_at <= n ? n - ch_at : 0;
	if(!all_digits(v, pt, 3) || digits_value(v, pt) > 127 || pt >= n)
		goto bad;
	if(name > CALLS_CODEC_NAME_MAX || !calls_sdp_is_token(v + at, name))
		goto bad;
	if(rate_at > n || !all_digits(v + rate_at, rate, 10) || (ch_at <= n && !all_digits(v + ch_at, ch, 3)))
		goto bad;
	st->m->n_codecs++;
	return TRUE;
bad:
	calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
		"m-line %u: a=rtpmap \"%s\" is not '<payload type 0-127> <encoding of 1 to %d token characters>/<clock rate>'",
		st->out->n_mlines - 1, shown(v, n, show), CALLS_CODEC_NAME_MAX);
	return FALSE;
}

/* a=fmtp:<pt> <key>=<value>;...: the profiles copied to subscribers. Every
 * place that a reader looking for "profile-level-id=" or "profile-id=" could
 * take for one is checked (spaces around '=' included, and inside other names). */
static gboolean read_fmtp(scan_state *st, const char *v, size_t n) {
	static const char *const names[] = { "profile-level-id", "profile-id" };
	char show[32];
	size_t pt = span_until(v, n, " ");
	for(size_t i = pt; i < n; i++) {
		for(guint k = 0; k < G_N_ELEMENTS(names); k++) {
			size_t nl = strlen(names[k]);
			if(n - i < nl || g_ascii_strncasecmp(v + i, names[k], nl) != 0)
				continue;
			size_t j = i + nl;
			while(j < n && (v[j] == ' ' || v[j] == '\t'))
				j++;
			if(j >= n || v[j] != '=')
				continue;
			j++;
			while(j < n && (v[j] == ' ' || v[j] == '\t'))
				j++;
			size_t end = j + span_until(v + j, n - j, ";");
			while(end > j && (v[end - 1] == ' ' || v[end - 1] == '\t'))
				end--;
			if(!calls_sdp_profile_ok(names[k], v + j, end - j)) {
				calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST, "m-line %u: a=fmtp %s \"%s\" is not %s",
					st->out->n_mlines - 1, names[k], shown(v + j, end - j, show), k == 0 ? "6 hex digits" : "1 or 2 digits");
				return FALSE;
			}
		}
	}
	return TRUE;
}

/* a=msid:<stream id> [<track id>] */
static gboolean read_msid(scan_state *st, const char *v, size_t n) {
	char show[32];
	size_t id = span_until(v, n, " ");
	size_t at = id < n ? id + 1 : n;
	size_t app = n - at;
	if(id > CALLS_MSID_PART_MAX || !calls_sdp_is_token(v, id) ||
			(id < n && (app > CALLS_MSID_PART_MAX || !calls_sdp_is_token(v + at, app)))) {
		calls_error_set(st->err, CALLS_ERR_INVALID_REQUEST,
			"m-line %u: a=msid \"%s\" is not one or two ids of 1 to %d token characters", st->out->n_mlines - 1,
			shown(v, n, show), CALLS_MSID_PART_MAX);
		return FALSE;
	}
	return TRUE;
}

static gboolean read_attribute(scan_state *st, const char *v, size_t n) {
	size_t name = span_until(v, n, ":");
	const char *value = name < n ? v + name + 1 : v + n;
	size_t vlen = name < n ? n - name - 1 : 0;
	if(name_is(v, name, "sendrecv") || name_is(v, name, "sendonly")) {
		st->m_sends = TRUE;
	} else if(name_is(v, name, "recvonly") || name_is(v, name, "inactive")) {
		st->m_sends = FALSE;
	} else if(name_is(v, name, "mid")) {
		return read_mid(st, value, vlen);
	} else if(name_is(v, name, "rid")) {
		return read_rid(st, value, vlen);
	} else if(name_is(v, name, "simulcast")) {
		return read_simulcast(st, value, vlen);
	} else if(name_is(v, name, "rtpmap")) {
		return read_rtpmap(st, value, vlen);
	} else if(name_is(v, name, "fmtp")) {
		return read_fmtp(st, value, vlen);
	} else if(name_is(v, name, "msid")) {
		return read_msid(st, value, vlen);
	}
	return TRUE;
}

gboolean calls_offer_check(const char *sdp, size_t len, calls_offer_scan *out, calls_error *err) {
	memset(out, 0, sizeof(*out));
	if(sdp == NULL || len == 0) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "the offer has no SDP");
		return FALSE;
	}
	scan_state st = { .out = out, .err = err };
	size_t pos = 0;
	guint lineno = 0;
	while(pos < len) {
		const char *line = sdp + pos;
		size_t n = 0;
		while(pos + n < len && line[n] != '\n')
			n++;
		pos += n + 1;
		lineno++;
		if(n > 0 && line[n - 1] == '\r')
			n--;
		if(n == 0)
			continue;
		for(size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];
			if((c < 0x20 && c != '\t') || c == 0x7f) {
				calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
					"line %u of the offer has a control character (0x%02x): SDP lines end with CRLF and carry none", lineno, c);
				return FALSE;
			}
		}
		if(n < 2 || line[1] != '=' || !g_ascii_islower(line[0])) {
			char show[32];
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "line %u of the offer, \"%s\", is not '<letter>=<value>'",
				lineno, shown(line, n, show));
			return FALSE;
		}
		if(line[0] == 'm') {
			if(!read_mline(&st, line + 2, n - 2, lineno))
				return FALSE;
		} else if(line[0] == 'a' && st.m != NULL) {
			if(!read_attribute(&st, line + 2, n - 2))
				return FALSE;
		}
	}
	return close_mline(&st);
}
