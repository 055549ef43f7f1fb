/* janus.plugin.calls - unit tests of the RTP, RTCP and VP8 readers and the VP8 rewriting (plugin/rtpwire.c).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <glib.h>

#include "rtpwire.h"

/* An RTP header: V=2, PT 96, seq 0x1234, ts 0x01020304, SSRC 0xaabbccdd. */
static size_t rtp(uint8_t *b, gboolean ext, uint8_t csrcs) {
	b[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | csrcs);
	b[1] = 0x80 | 96;
	b[2] = 0x12; b[3] = 0x34;
	b[4] = 1; b[5] = 2; b[6] = 3; b[7] = 4;
	b[8] = 0xaa; b[9] = 0xbb; b[10] = 0xcc; b[11] = 0xdd;
	memset(b + 12, 0x11, 4 * csrcs);
	return 12 + 4 * (size_t)csrcs;
}

static void test_rtp_header(void) {
	uint8_t b[64] = { 0 };
	calls_rtp_view v;
	size_t n = rtp(b, FALSE, 2);
	memcpy(b + n, "payload", 7);
	g_assert_true(calls_rtp_parse(b, n + 7, &v));
	g_assert_cmpuint(v.pt, ==, 96);
	g_assert_true(v.marker);
	g_assert_cmpuint(v.seq, ==, 0x1234);
	g_assert_cmpuint(v.ts, ==, 0x01020304);
	g_assert_cmpuint(v.ssrc, ==, 0xaabbccdd);
	g_assert_cmpuint(v.payload_offset, ==, 20);
	g_assert_cmpuint(v.payload_len, ==, 7);
	/* CSRCs past the end, a wrong version, too short */
	g_assert_false(calls_rtp_parse(b, 19, &v));
	b[0] = 0x40;
	g_assert_false(calls_rtp_parse(b, n + 7, &v));
	g_assert_false(calls_rtp_parse(b, 11, &v));
	/* padding: the last byte counts it; 0 or more than the payload is malformed */
	n = rtp(b, FALSE, 0);
	b[0] |= 0x20;
	memcpy(b + n, "abc\0\0\x03", 6);
	g_assert_true(calls_rtp_parse(b, n + 6, &v));
	g_assert_cmpuint(v.payload_len, ==, 3);
	b[n + 5] = 7;
	g_assert_false(calls_rtp_parse(b, n + 6, &v));
	b[n + 5] = 0;
	g_assert_false(calls_rtp_parse(b, n + 6, &v));
	/* padding only (a bandwidth probe): an empty payload */
	b[n] = 1;
	g_assert_true(calls_rtp_parse(b, n + 1, &v));
	g_assert_cmpuint(v.payload_len, ==, 0);
}

static void test_extensions(void) {
	uint8_t b[64] = { 0 };
	calls_rtp_view v;
	size_t n = rtp(b, TRUE, 0);
	/* one-byte form: id 1 (1 byte), padding, id 10 = "h" rid (1 byte), id 3 (3 bytes) */
	const uint8_t ext[] = { 0xbe, 0xde, 0x00, 0x03, 0x10, 0x7f, 0x00, 0xa0, 'h', 0x32, 'a', 'b', 'c', 0, 0, 0 };
	memcpy(b + n, ext, sizeof(ext));
	g_assert_true(calls_rtp_parse(b, n + sizeof(ext) + 2, &v));
	g_assert_cmpuint(v.ext_len, ==, 12);
	g_assert_cmpuint(v.payload_len, ==, 2);
	const uint8_t *d = NULL;
	size_t len = 0;
	g_assert_true(calls_rtp_ext_find(b, &v, 3, &d, &len));
	g_assert_cmpuint(len, ==, 3);
	g_assert_cmpmem(d, 3, "abc", 3);
	g_assert_false(calls_rtp_ext_find(b, &v, 2, &d, &len));
	char rid[17];
	g_assert_true(calls_rtp_rid(b, &v, 10, rid, sizeof(rid)));
	g_assert_cmpstr(rid, ==, "h");
	g_assert_false(calls_rtp_rid(b, &v, 3, rid, 3));       /* longer than the buffer */
	g_assert_false(calls_rtp_rid(b, &v, 1, rid, sizeof(rid)));   /* 0x7f is no rid */
	/* an element running past the block */
	b[n + 9] = 0x3f;
	g_assert_false(calls_rtp_ext_find(b, &v, 3, &d, &len));
	/* two-byte form: id 20 = "hi" */
	const uint8_t ext2[] = { 0x10, 0x00, 0x00, 0x01, 20, 2, 'h', 'i' };
	memcpy(b + n, ext2, sizeof(ext2));
	g_assert_true(calls_rtp_parse(b, n + sizeof(ext2), &v));
	g_assert_true(calls_rtp_rid(b, &v, 20, rid, sizeof(rid)));
	g_assert_cmpstr(rid, ==, "hi");
	/* an extension block longer than the packet */
	b[n + 3] = 9;
	g_assert_false(calls_rtp_parse(b, n + sizeof(ext2), &v));
}

static void test_rtcp(void) {
	calls_rtcp_summary s;
	/* RR (no blocks) + PLI + REMB 1.5 Mbit/s (mantissa 187500, exponent 3) */
	const uint8_t c[] = {
		0x80, 201, 0x00, 0x01, 0, 0, 0, 1,
		0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,
		0x8f, 206, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 1, (3 << 2) | 0x02, 0xdc, 0x6c, 0, 0, 0, 2,
	};
	calls_rtcp_scan(c, sizeof(c), &s);
	g_assert_cmpuint(s.packets, ==, 3);
	g_assert_true(s.pli);
	g_assert_false(s.fir);
	g_assert_cmpuint(s.remb, ==, 187500u * 8);
	g_assert_false(s.malformed);
	/* a packet whose length runs past the compound stops the reading */
	calls_rtcp_scan(c, sizeof(c) - 1, &s);
	g_assert_true(s.malformed);
	g_assert_cmpuint(s.packets, ==, 2);
	/* FIR needs an entry; a huge REMB saturates */
	const uint8_t f[] = {
		0x84, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0,
		0x8f, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0, 0xff, 0xff, 0xff,
	};
	calls_rtcp_scan(f, sizeof(f), &s);
	g_assert_true(s.fir);
	g_assert_cmpuint(s.remb, ==, G_MAXUINT32);
	const uint8_t short_fir[] = { 0x84, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0 };
	calls_rtcp_scan(short_fir, sizeof(short_fir), &s);
	g_assert_false(s.fir);
	/* a wrong version */
	const uint8_t bad[] = { 0x41, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2 };
	calls_rtcp_scan(bad, sizeof(bad), &s);
	g_assert_true(s.malformed);
	g_assert_false(s.pli);
}

static void test_vp8_descriptor(void) {
	calls_vp8_desc d;
	/* X S, PID 0; I L T; 15-bit picture id 0x1234; TL0PICIDX 7; TID 2 Y; then a key frame header */
	uint8_t p[] = { 0x90, 0xe0, 0x80 | 0x12, 0x34, 7, 0xa0, 0x10, 0x02, 0x00 };
	g_assert_true(calls_vp8_parse(p, sizeof(p), &d));
	g_assert_true(d.start);
	g_assert_true(d.has_picid && d.picid_long);
	g_assert_cmpuint(d.picid, ==, 0x1234);
	g_assert_cmpuint(d.picid_offset, ==, 2);
	g_assert_true(d.has_tl0);
	g_assert_cmpuint(d.tl0picidx, ==, 7);
	g_assert_true(d.has_tid);
	g_assert_cmpuint(d.tid, ==, 2);
	g_assert_true(d.layer_sync);
	g_assert_cmpuint(d.len, ==, 6);
	g_assert_true(d.keyframe);
	p[6] = 0x11;           /* P = 1: an inter frame */
	g_assert_true(calls_vp8_parse(p, sizeof(p), &d));
	g_assert_false(d.keyframe);
	/* cut inside the descriptor */
	for(size_t n = 1; n < 6; n++)
		g_assert_false(calls_vp8_parse(p, n, &d));
	/* no extension: one byte */
	uint8_t q[] = { 0x10, 0x00 };
	g_assert_true(calls_vp8_parse(q, sizeof(q), &d));
	g_assert_false(d.has_picid);
	g_assert_cmpuint(d.len, ==, 1);
}

static uint16_t picid_of(const uint8_t *p, size_t n) {
	calls_vp8_desc d;
	g_assert_true(calls_vp8_parse(p, n, &d));
	return d.picid;
}

/* A layer switch: the new layer's picture ids and TL0PICIDX follow the last ones sent. */
static void test_vp8_rewrite(void) {
	calls_vp8_rewrite r;
	calls_vp8_rewrite_reset(&r);
	uint8_t a[] = { 0x90, 0xc0, 0x80, 100, 50, 0 };   /* layer A: picture 100, TL0 50 */
	g_assert_true(calls_vp8_rewrite_apply(&r, a, sizeof(a), TRUE));
	g_assert_cmpuint(picid_of(a, sizeof(a)), ==, 100);   /* the first packet keeps its ids */
	uint8_t a2[] = { 0x90, 0xc0, 0x80, 101, 51, 0 };
	calls_vp8_rewrite_apply(&r, a2, sizeof(a2), FALSE);
	g_assert_cmpuint(picid_of(a2, sizeof(a2)), ==, 101);
	g_assert_cmpuint(a2[4], ==, 51);
	/* switch to layer B, whose counters are elsewhere */
	uint8_t b[] = { 0x90, 0xc0, 0xff, 0xfe, 200, 0 };   /* picture 0x7ffe, TL0 200 */
	calls_vp8_rewrite_apply(&r, b, sizeof(b), TRUE);
	g_assert_cmpuint(picid_of(b, sizeof(b)), ==, 102);
	g_assert_cmpuint(b[4], ==, 52);
	/* and goes on from there, wrapping as layer B wraps */
	uint8_t b2[] = { 0x90, 0xc0, 0x80, 0x01, 202, 0 };  /* picture 1 (after 0x7fff, 0), TL0 202 */
	calls_vp8_rewrite_apply(&r, b2, sizeof(b2), FALSE);
	g_assert_cmpuint(picid_of(b2, sizeof(b2)), ==, 105);
	g_assert_cmpuint(b2[4], ==, 54);
	/* a 7-bit picture id wraps at 128 */
	uint8_t c[] = { 0x90, 0x80, 0x05, 0 };
	r.last_picid = 127;
	calls_vp8_rewrite_apply(&r, c, sizeof(c), TRUE);
	g_assert_cmpuint(c[2], ==, 0);
	/* a payload without a descriptor is left alone */
	uint8_t bad[] = { 0x80 };
	g_assert_false(calls_vp8_rewrite_apply(&r, bad, sizeof(bad), FALSE));
	g_assert_cmpuint(bad[0], ==, 0x80);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtpwire/rtp-header", test_rtp_header);
	g_test_add_func("/rtpwire/extensions", test_extensions);
	g_test_add_func("/rtpwire/rtcp", test_rtcp);
	g_test_add_func("/rtpwire/vp8-descriptor", test_vp8_descriptor);
	g_test_add_func("/rtpwire/vp8-rewrite", test_vp8_rewrite);
	return g_test_run();
}
