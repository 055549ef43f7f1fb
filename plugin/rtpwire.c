/* janus.plugin.calls - RTP, RTCP and VP8 as the relay reads and rewrites them (see rtpwire.h).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "rtpwire.h"

static uint16_t be16(const uint8_t *p) {
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p) {
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- RTP ------------------------------------------------------------------------- */

gboolean calls_rtp_parse(const uint8_t *buf, size_t len, calls_rtp_view *out) {
	memset(out, 0, sizeof(*out));
	if(buf == NULL || len < 12 || (buf[0] >> 6) != 2)
		return FALSE;
	size_t off = 12 + 4 * (size_t)(buf[0] & 0x0f);
	if(off > len)
		return FALSE;
	out->marker = (buf[1] & 0x80) != 0;
	out->pt = buf[1] & 0x7f;
	out->seq = be16(buf + 2);
	out->ts = be32(buf + 4);
	out->ssrc = be32(buf + 8);
	if(buf[0] & 0x10) {
		if(off + 4 > len)
			return FALSE;
		out->ext_profile = be16(buf + off);
		out->ext_len = 4 * (size_t)be16(buf + off + 2);
		out->ext_offset = off + 4;
		off = out->ext_offset + out->ext_len;
		if(off > len)
			return FALSE;
	}
	size_t payload = len - off;
	if(buf[0] & 0x20) {
		/* The last byte counts the padding, itself included */
		uint8_t pad = payload > 0 ? buf[len - 1] : 0;
		if(pad == 0 || pad > payload)
			return FALSE;
		payload -= pad;
	}
	out->payload_offset = off;
	out->payload_len = payload;
	return TRUE;
}

gboolean calls_rtp_ext_find(const uint8_t *buf, const calls_rtp_view *v, int id, const uint8_t **data, size_t *len) {
	if(buf == NULL || v == NULL || v->ext_len == 0 || id <= 0)
		return FALSE;
	const uint8_t *e = buf + v->ext_offset;
	size_t n = v->ext_len, i = 0;
	if(v->ext_profile == 0xBEDE) {
		if(id > 14)
			return FALSE;
		while(i < n) {
			if(e[i] == 0) {          /* padding between elements */
				i++;
				continue;
			}
			int eid = e[i] >> 4;
			size_t elen = (size_t)(e[i] & 0x0f) + 1;
			if(eid == 15 || i + 1 + elen > n)
				return FALSE;        /* 15: stop reading (RFC 8285) */
			if(eid == id) {
				*data = e + i + 1;
				*len = elen;
				return TRUE;
			}
			i += 1 + elen;
		}
		return FALSE;
	}
	if((v->ext_profile & 0xfff0) == 0x1000) {
		if(id > 255)
			return FALSE;
		while(i < n) {
			if(e[i] == 0) {
				i++;
				continue;
			}
			if(i + 2 > n)
				return FALSE;
			int eid = e[i];
			size_t elen = e[i + 1];
			if(i + 2 + elen > n)
				return FALSE;
			if(eid == id) {
				*data = e + i + 2;
				*len = elen;
				return TRUE;
			}
			i += 2 + elen;
		}
	}
	return FALSE;
}

gboolean calls_rtp_rid(const uint8_t *buf, const calls_rtp_view *v, int id, char *out, size_t outlen) {
	const uint8_t *data = NULL;
	size_t len = 0;
	if(out == NULL || outlen < 2 || !calls_rtp_ext_find(buf, v, id, &data, &len))
		return FALSE;
	if(len == 0 || len >= outlen)
		return FALSE;
	for(size_t i = 0; i < len; i++) {
		if(!g_ascii_isalnum(data[i]) && data[i] != '-' && data[i] != '_')
			return FALSE;
	}
	memcpy(out, data, len);
	out[len] = '\0';
	return TRUE;
}

/* ---- RTCP --------------------------------------------------------------------------- */

#define RTCP_PSFB 206
#define PSFB_PLI 1
#define PSFB_FIR 4
#define PSFB_AFB 15

void calls_rtcp_scan(const uint8_t *buf, size_t len, calls_rtcp_summary *out) {
	memset(out, 0, sizeof(*out));
	if(buf == NULL)
		return;
	size_t off = 0;
	while(off + 4 <= len) {
		const uint8_t *p = buf + off;
		size_t plen = 4 * ((size_t)be16(p + 2) + 1);
		if((p[0] >> 6) != 2 || plen > len - off) {
			out->malformed = TRUE;
			return;
		}
		int fmt = p[0] & 0x1f;
		if(p[1] == RTCP_PSFB) {
			/* header, sender SSRC, media SSRC, then the feedback control information */
			if(fmt == PSFB_PLI && plen >= 12) {
				out->pli = TRUE;
			} else if(fmt == PSFB_FIR && plen >= 20) {
				out->fir = TRUE;
			} else if(fmt == PSFB_AFB && plen >= 20 && memcmp(p + 12, "REMB", 4) == 0) {
				unsigned exp = p[17] >> 2;
				uint64_t mantissa = ((uint64_t)(p[17] & 0x03) << 16) | be16(p + 18);
				uint64_t bitrate = mantissa;
				if(mantissa != 0)
					bitrate = exp >= 32 ? G_MAXUINT64 : mantissa << exp;
				out->remb = bitrate > G_MAXUINT32 ? G_MAXUINT32 : (guint32)bitrate;
			}
		}
		out->packets++;
		off += plen;
	}
	if(off != len)
		out->malformed = TRUE;
}

/* ---- VP8 ---------------------------------------------------------------------------- */

gboolean calls_vp8_parse(const uint8_t *payload, size_t len, calls_vp8_desc *out) {
	memset(out, 0, sizeof(*out));
	if(payload == NULL || len < 1)
		return FALSE;
	uint8_t b0 = payload[0];
	out->start = (b0 & 0x10) != 0;
	out->partition = b0 & 0x07;
	size_t off = 1;
	if(b0 & 0x80) {                 /* X: extended control bits follow */
		if(off >= len)
			return FALSE;
		uint8_t x = payload[off++];
		if(x & 0x80) {              /* I: picture id */
			if(off >= len)
				return FALSE;
			out->has_picid = TRUE;
			out->picid_offset = off;
			if(payload[off] & 0x80) {
				if(off + 2 > len)
					return FALSE;
				out->picid_long = TRUE;
				out->picid = (uint16_t)(((payload[off] & 0x7f) << 8) | payload[off + 1]);
				off += 2;
			} else {
				out->picid = payload[off] & 0x7f;
				off += 1;
			}
		}
		if(x & 0x40) {              /* L: TL0PICIDX */
			if(off >= len)
				return FALSE;
			out->has_tl0 = TRUE;
			out->tl0_offset = off;
			out->tl0picidx = payload[off++];
		}
		if(x & 0x30) {              /* T or K: TID, Y, KEYIDX */
			if(off >= len)
				return FALSE;
			if(x & 0x20) {
				out->has_tid = TRUE;
				out->tid = payload[off] >> 6;
				out->layer_sync = (payload[off] & 0x20) != 0;
			}
			off++;
		}
	}
	out->len = off;
	/* The VP8 frame header follows the descriptor of a frame's first packet: P = 0 is a key frame */
	out->keyframe = out->start && out->partition == 0 && off < len && (payload[off] & 0x01) == 0;
	return TRUE;
}

void calls_vp8_rewrite_reset(calls_vp8_rewrite *r) {
	memset(r, 0, sizeof(*r));
}

/* Bits of calls_vp8_rewrite.started: which of the two sequences has begun. */
#define STARTED_PICID 0x1
#define STARTED_TL0 0x2

gboolean calls_vp8_rewrite_apply(calls_vp8_rewrite *r, uint8_t *payload, size_t len, gboolean switched) {
	calls_vp8_desc d;
	if(!calls_vp8_parse(payload, len, &d))
		return FALSE;
	if(d.has_picid) {
		if(switched || !(r->started & STARTED_PICID)) {
			/* The new layer's pictures follow the last one sent (or start as they are) */
			r->picid_in = d.picid;
			r->picid_out = (r->started & STARTED_PICID) ? (uint16_t)(r->last_picid + 1) : d.picid;
			r->started |= STARTED_PICID;
		}
		uint16_t out = (uint16_t)(r->picid_out + (uint16_t)(d.picid - r->picid_in));
		if(d.picid_long) {
			out &= 0x7fff;
			payload[d.picid_offset] = (uint8_t)(0x80 | (out >> 8));
			payload[d.picid_offset + 1] = (uint8_t)(out & 0xff);
		} else {
			out &= 0x7f;
			payload[d.picid_offset] = (uint8_t)out;
		}
		r->last_picid = out;
	}
	if(d.has_tl0) {
		if(switched || !(r->started & STARTED_TL0)) {
			r->tl0_in = d.tl0picidx;
			r->tl0_out = (r->started & STARTED_TL0) ? (uint8_t)(r->last_tl0 + 1) : d.tl0picidx;
			r->started |= STARTED_TL0;
		}
		uint8_t out = (uint8_t)(r->tl0_out + (uint8_t)(d.tl0picidx - r->tl0_in));
		payload[d.tl0_offset] = out;
		r->last_tl0 = out;
	}
	return TRUE;
}
