/* janus.plugin.calls - RTP, RTCP and VP8 as the relay reads and rewrites them.
 *
 * What arrives from a publisher or a subscriber is checked here before the
 * relay uses any of it:
 *
 *   - an RTP header (RFC 3550) with its CSRCs, header extension block and
 *     padding, and the extension elements of either form (RFC 8285: one-byte
 *     0xBEDE, two-byte 0x100X), e.g. the rid (RtpStreamId) of a simulcast layer;
 *   - an RTCP compound packet (RFC 3550 / 4585 / 5104): PLI, FIR, and REMB
 *     (draft-alvestrand-rmcat-remb) of a subscriber;
 *   - the VP8 payload descriptor (RFC 7741), and its rewriting when the relay
 *     switches a subscriber from one simulcast layer to another: the picture
 *     ids and TL0PICIDX go on from where the previous layer left them, so the
 *     decoder sees one stream.
 *
 * Pure: no Janus, no allocation, no locks; every function reads only within
 * the length it is given. relay.c calls them on Janus's ICE threads.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_RTPWIRE_H
#define CALLS_RTPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* ---- RTP ------------------------------------------------------------------------- */

typedef struct calls_rtp_view {
	uint8_t pt;
	gboolean marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint16_t ext_profile;      /* 0xBEDE, 0x100X, or whatever the sender used; 0 without extensions */
	size_t ext_offset;         /* the extension elements (after the 4-byte extension header) */
	size_t ext_len;
	size_t payload_offset;
	size_t payload_len;        /* padding excluded */
} calls_rtp_view;

/* FALSE unless `buf` is an RTP packet of version 2 whose CSRCs, extension
 * block and padding fit in `len`. */
gboolean calls_rtp_parse(const uint8_t *buf, size_t len, calls_rtp_view *out);

/* The data of extension element `id` (1-14 in the one-byte form, 1-255 in
 * the two-byte form), or FALSE. */
gboolean calls_rtp_ext_find(const uint8_t *buf, const calls_rtp_view *v, int id, const uint8_t **data, size_t *len);

/* The rid carried by extension `id`, NUL-terminated into `out` (`outlen` > 1),
 * or FALSE when absent, too long, or not a rid (letters, digits, '-', '_'). */
gboolean calls_rtp_rid(const uint8_t *buf, const calls_rtp_view *v, int id, char *out, size_t outlen);

/* ---- RTCP --------------------------------------------------------------------------- */

typedef struct calls_rtcp_summary {
	guint packets;             /* well-formed packets read */
	gboolean pli;              /* a Picture Loss Indication */
	gboolean fir;              /* a Full Intra Request with at least one entry */
	guint32 remb;              /* the last REMB's bitrate in bit/s (saturated), 0 without one */
	gboolean malformed;        /* reading stopped at a packet that does not fit */
} calls_rtcp_summary;

void calls_rtcp_scan(const uint8_t *buf, size_t len, calls_rtcp_summary *out);

/* ---- VP8 ---------------------------------------------------------------------------- */

typedef struct calls_vp8_desc {
	gboolean start;            /* S: first packet of a partition */
	uint8_t partition;         /* PID */
	gboolean has_picid;
	gboolean picid_long;       /* M: 15-bit picture id, else 7-bit */
	uint16_t picid;
	size_t picid_offset;
	gboolean has_tl0;
	uint8_t tl0picidx;
	size_t tl0_offset;
	gboolean has_tid;
	uint8_t tid;
	gboolean layer_sync;       /* Y */
	size_t len;                /* the descriptor's length in bytes */
	gboolean keyframe;         /* S, partition 0, and the frame header says key frame */
} calls_vp8_desc;

/* FALSE unless `payload` starts with a complete VP8 payload descriptor. */
gboolean calls_vp8_parse(const uint8_t *payload, size_t len, calls_vp8_desc *out);

/* The picture ids and TL0PICIDX one subscriber has been sent. */
typedef struct calls_vp8_rewrite {
	guint started;                   /* which of the two sequences has begun (bits) */
	uint16_t picid_in, picid_out;    /* the first picture id of the current layer, and what it became */
	uint8_t tl0_in, tl0_out;
	uint16_t last_picid;             /* the last ones written */
	uint8_t last_tl0;
} calls_vp8_rewrite;

void calls_vp8_rewrite_reset(calls_vp8_rewrite *r);

/* Rewrite the descriptor of `payload` in place. `switched`: the packet is the
 * first the subscriber gets of another layer (its picture ids and TL0PICIDX
 * then follow the last ones sent). A payload whose descriptor does not parse
 * is left alone (FALSE). */
gboolean calls_vp8_rewrite_apply(calls_vp8_rewrite *r, uint8_t *payload, size_t len, gboolean switched);

#endif
