/* janus.plugin.calls - libFuzzer target for what the relay reads and rewrites
 * (plugin/rtpwire.c): RTP headers and their extensions, rids, RTCP compounds,
 * VP8 payload descriptors and their rewriting across simulcast layer switches.
 *
 * The input is a sequence of records: one byte `op`, one byte of length (plus
 * the low 3 bits of `op` as the high bits: up to 2047 bytes), then the bytes.
 * (op >> 3) % 4 says what the bytes are:
 *   0  an RTP packet, as a publisher sends it: parsed, its extensions looked
 *      up, its rid read, and its payload taken as VP8 and rewritten;
 *   1  an RTCP compound, as a subscriber sends it;
 *   2  a VP8 payload alone, rewritten;
 *   3  a new subscriber: the rewriting starts over.
 * Bit 0x40 of `op` marks a rewritten packet as the first of another layer.
 *
 * What is checked, besides memory safety:
 *   - whatever a parser accepts lies within the buffer (header, extension
 *     elements, payload, descriptor fields); a rid read is 1-16 rid characters;
 *   - an RTCP compound read as well-formed has packet lengths that add up to its
 *     length; a REMB bitrate comes from a REMB packet;
 *   - the VP8 rewriting changes nothing but the picture id and TL0PICIDX bytes;
 *     the descriptor parses the same afterwards; within a layer the picture ids
 *     and TL0PICIDX keep their steps; at a layer switch they go on by one from
 *     the last ones sent.
 * Build and run: see tests/fuzz/README.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "rtpwire.h"

#define CALLS_RID_MAX_TEST 16   /* the relay's rid buffer holds 16 characters */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(gboolean ok, const char *what) {
	if(!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

/* The rewriting under test and what the subscriber was sent so far. */
static calls_vp8_rewrite rw;
static struct {
	gboolean picid, tl0;
	uint16_t picid_in, picid_out;
	uint8_t tl0_in, tl0_out;
} sent;

static void check_rtp(const uint8_t *buf, size_t len) {
	calls_rtp_view v;
	if(!calls_rtp_parse(buf, len, &v)) {
		require(len < 12 || (buf[0] >> 6) != 2 || (buf[0] & 0x30) != 0 || 12 + 4 * (size_t)(buf[0] & 0x0f) > len,
			"a plain RTP header that fits is accepted");
		return;
	}
	require(len >= 12 && (buf[0] >> 6) == 2, "a version 2 header");
	require(v.payload_offset >= 12 + 4 * (size_t)(buf[0] & 0x0f), "the payload follows the CSRCs");
	require(v.payload_offset + v.payload_len <= len, "the payload is inside the packet");
	if(v.ext_len > 0)
		require(v.ext_offset >= 16 && v.ext_offset + v.ext_len == v.payload_offset, "the extension block is before the payload");
	require(v.seq == (uint16_t)((buf[2] << 8) | buf[3]) && v.pt == (buf[1] & 0x7f), "the header fields");
	for(int id = 1; id <= 15; id++) {
		const uint8_t *d = NULL;
		size_t dl = 0;
		if(calls_rtp_ext_find(buf, &v, id, &d, &dl))
			require(d >= buf + v.ext_offset && d + dl <= buf + v.ext_offset + v.ext_len, "an element inside its block");
		char rid[CALLS_RID_MAX_TEST + 1];
		if(calls_rtp_rid(buf, &v, id, rid, sizeof(rid))) {
			size_t rl = strlen(rid);
			require(rl >= 1 && rl <= CALLS_RID_MAX_TEST, "a rid's length");
			for(size_t i = 0; i < rl; i++)
				require(g_ascii_isalnum(rid[i]) || rid[i] == '-' || rid[i] == '_', "a rid's characters");
		}
	}
	const uint8_t *d = NULL;
	size_t dl = 0;
	if(calls_rtp_ext_find(buf, &v, 200, &d, &dl))
		require((v.ext_profile & 0xfff0) == 0x1000 && d + dl <= buf + v.ext_offset + v.ext_len, "a two-byte element");
}

static void check_rtcp(const uint8_t *buf, size_t len) {
	calls_rtcp_summary s;
	calls_rtcp_scan(buf, len, &s);
	require(s.packets <= len / 4, "at most one packet per 4 bytes");
	if(!s.malformed) {
		size_t off = 0;
		guint n = 0;
		while(off + 4 <= len) {
			off += 4 * ((size_t)((buf[off + 2] << 8) | buf[off + 3]) + 1);
			n++;
		}
		require(off == len && n == s.packets, "a well-formed compound adds up");
	}
	if(s.remb > 0)
		require(len >= 20 && memmem(buf, len, "REMB", 4) != NULL, "a REMB bitrate comes from a REMB");
	if(s.pli || s.fir)
		require(memchr(buf, 206, len) != NULL, "PLI and FIR are payload-specific feedback");
}

static void rewrite_checked(uint8_t *payload, size_t len, gboolean switched) {
	calls_vp8_desc before, after;
	gboolean ok = calls_vp8_parse(payload, len, &before);
	if(ok) {
		require(before.len <= len, "the descriptor is inside the payload");
		if(before.has_picid)
			require(before.picid_offset + (before.picid_long ? 2 : 1) <= before.len &&
				before.picid < (before.picid_long ? 0x8000 : 0x80), "the picture id");
		if(before.has_tl0)
			require(before.tl0_offset < before.len, "the TL0PICIDX");
		require(!before.keyframe || (before.start && before.partition == 0 && before.len < len), "a key frame starts a frame");
	}
	uint8_t *copy = g_memdup2(payload, len);
	gboolean done = calls_vp8_rewrite_apply(&rw, payload, len, switched);
	require(done == ok, "rewritten exactly when the descriptor parses");
	if(!ok) {
		require(len == 0 || memcmp(copy, payload, len) == 0, "a payload that does not parse is left alone");
		g_free(copy);
		return;
	}
	require(calls_vp8_parse(payload, len, &after), "still a descriptor");
	require(after.len == before.len && after.has_picid == before.has_picid && after.picid_long == before.picid_long &&
		after.has_tl0 == before.has_tl0 && after.has_tid == before.has_tid && after.tid == before.tid &&
		after.start == before.start && after.partition == before.partition && after.keyframe == before.keyframe,
		"the descriptor keeps its form");
	for(size_t i = 0; i < len; i++) {
		gboolean field = (before.has_picid && i >= before.picid_offset && i < before.picid_offset + (before.picid_long ? 2 : 1)) ||
			(before.has_tl0 && i == before.tl0_offset);
		require(field || copy[i] == payload[i], "only the picture id and TL0PICIDX change");
	}
	g_free(copy);
	if(before.has_picid) {
		if(!sent.picid)
			require(after.picid == before.picid, "the first picture id is kept");
		else if(switched)
			require((after.picid & 0x7f) == ((sent.picid_out + 1) & 0x7f), "a switch goes on by one");
		else
			require(((after.picid - sent.picid_out) & 0x7f) == ((before.picid - sent.picid_in) & 0x7f), "a layer keeps its steps");
		sent.picid = TRUE;
		sent.picid_in = before.picid;
		sent.picid_out = after.picid;
	}
	if(before.has_tl0) {
		if(!sent.tl0)
			require(after.tl0picidx == before.tl0picidx, "the first TL0PICIDX is kept");
		else if(switched)
			require(after.tl0picidx == (uint8_t)(sent.tl0_out + 1), "a switch goes on by one");
		else
			require((uint8_t)(after.tl0picidx - sent.tl0_out) == (uint8_t)(before.tl0picidx - sent.tl0_in), "TL0 keeps its steps");
		sent.tl0 = TRUE;
		sent.tl0_in = before.tl0picidx;
		sent.tl0_out = after.tl0picidx;
	}
}

static void start_over(void) {
	calls_vp8_rewrite_reset(&rw);
	memset(&sent, 0, sizeof(sent));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	start_over();
	size_t pos = 0;
	while(pos + 2 <= size) {
		uint8_t op = data[pos];
		size_t len = ((size_t)(op & 0x07) << 8) | data[pos + 1];
		pos += 2;
		if(len > size - pos)
			len = size - pos;
		/* a private copy of exactly `len` bytes, so that ASan sees any read past it */
		uint8_t *buf = g_malloc(len ? len : 1);
		memcpy(buf, data + pos, len);
		pos += len;
		gboolean switched = (op & 0x40) != 0;
		switch((op >> 3) % 4) {
			case 0: {
				check_rtp(buf, len);
				calls_rtp_view v;
				if(calls_rtp_parse(buf, len, &v) && v.payload_len > 0)
					rewrite_checked(buf + v.payload_offset, v.payload_len, switched);
				break;
			}
			case 1:
				check_rtcp(buf, len);
				break;
			case 2:
				rewrite_checked(buf, len, switched);
				break;
			default:
				start_over();
				break;
		}
		g_free(buf);
	}
	return 0;
}
