/* janus.plugin.calls - unit tests of the publisher offer checker (plugin/sdpcheck.c).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <glib.h>

#include "sdpcheck.h"

#define HEAD "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
#define AUDIO(mid) "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:" mid "\r\na=sendonly\r\n" \
	"a=msid:{5a1f-stream} {9c2e-track}\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
#define VIDEO(mid) "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\nc=IN IP4 0.0.0.0\r\na=mid:" mid "\r\na=sendrecv\r\n" \
	"a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\n" \
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"

static gboolean check(const char *sdp, calls_offer_scan *scan, calls_error *err) {
	memset(err, 0, sizeof(*err));
	return calls_offer_check(sdp, strlen(sdp), scan, err);
}

static void assert_refused(const char *sdp, calls_error_code code, const char *needle) {
	calls_offer_scan scan;
	calls_error err;
	g_assert_false(check(sdp, &scan, &err));
	g_assert_cmpint(err.code, ==, code);
	if(strstr(err.message, needle) == NULL)
		g_error("message \"%s\" does not name \"%s\"", err.message, needle);
	g_assert_true(g_utf8_validate(err.message, -1, NULL));
}

static void test_browser_offer(void) {
	calls_offer_scan scan;
	calls_error err;
	g_assert_true(check(HEAD AUDIO("0") VIDEO("1"), &scan, &err));
	g_assert_cmpuint(scan.n_mlines, ==, 2);
	g_assert_cmpuint(scan.audio, ==, 1);
	g_assert_cmpuint(scan.video, ==, 1);
	g_assert_cmpint(scan.mlines[0].kind, ==, CALLS_MKIND_AUDIO);
	g_assert_cmpstr(scan.mlines[0].mid, ==, "0");
	g_assert_cmpint(scan.mlines[1].kind, ==, CALLS_MKIND_VIDEO);
	g_assert_cmpstr(scan.mlines[1].mid, ==, "1");
	g_assert_cmpuint(scan.mlines[1].n_codecs, ==, 3);
	g_assert_true(scan.mlines[1].in_use);
	/* LF only, and token characters of every kind */
	g_assert_true(check("v=0\nm=audio 9 RTP/AVP 0\na=mid:!#$%&'*+-.^_`{|}\n", &scan, &err));
	g_assert_cmpstr(scan.mlines[0].mid, ==, "!#$%&'*+-.^_`{|}");
}

static void test_bad_mids(void) {
	assert_refused(HEAD AUDIO("a b") VIDEO("1"), CALLS_ERR_INVALID_REQUEST, "a=mid \"a b\"");
	assert_refused(HEAD AUDIO("0") VIDEO("12345678901234567"), CALLS_ERR_INVALID_REQUEST, "a=mid");
	assert_refused(HEAD AUDIO("0") VIDEO("0"), CALLS_ERR_INVALID_REQUEST, "each m-line needs its own mid");
	assert_refused(HEAD AUDIO("x\"y") VIDEO("1"), CALLS_ERR_INVALID_REQUEST, "a=mid \"x?y\"");
	assert_refused(HEAD AUDIO("") VIDEO("1"), CALLS_ERR_INVALID_REQUEST, "a=mid");
	assert_refused(HEAD "m=audio 9 RTP/AVP 0\r\na=mid:0\r\na=mid:1\r\n", CALLS_ERR_INVALID_REQUEST, "more than one a=mid");
	/* exactly 16 is fine */
	calls_offer_scan scan;
	calls_error err;
	g_assert_true(check(HEAD AUDIO("0") VIDEO("1234567890123456"), &scan, &err));
	g_assert_cmpstr(scan.mlines[1].mid, ==, "1234567890123456");
	/* Non-ASCII bytes are shown as '?' in the message, which stays UTF-8 */
	assert_refused(HEAD AUDIO("\xc3\xa9t\xe9") VIDEO("1"), CALLS_ERR_INVALID_REQUEST, "a=mid \"??t?\"");
}

static void test_control_characters(void) {
	assert_refused(HEAD "m=audio 9 RTP/AVP 0\r\na=mid:0\rX\r\n", CALLS_ERR_INVALID_REQUEST, "control character (0x0d)");
	assert_refused(HEAD "m=audio 9 RTP/AVP 0\r\na=mid:\x01\r\n", CALLS_ERR_INVALID_REQUEST, "control character (0x01)");
	calls_offer_scan scan;
	calls_error err;
	static const char nul[] = "v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\0x\r\n";
	g_assert_false(calls_offer_check(nul, sizeof(nul) - 1, &scan, &err));
	g_assert_cmpint(err.code, ==, CALLS_ERR_INVALID_REQUEST);
	assert_refused("v=0\r\nhello\r\n", CALLS_ERR_INVALID_REQUEST, "is not '<letter>=<value>'");
	assert_refused("", CALLS_ERR_INVALID_REQUEST, "no SDP");
}

static void test_mline_form(void) {
	assert_refused(HEAD "m=audio nine RTP/AVP 0\r\n", CALLS_ERR_INVALID_REQUEST, "m=audio nine");
	assert_refused(HEAD "m=audio 70000 RTP/AVP 0\r\n", CALLS_ERR_INVALID_REQUEST, "is not 'm=<media>");
	assert_refused(HEAD "m=audio 9\r\n", CALLS_ERR_INVALID_REQUEST, "is not 'm=<media>");
	assert_refused(HEAD "m=audio 9/x RTP/AVP 0\r\n", CALLS_ERR_INVALID_REQUEST, "is not 'm=<media>");
	calls_offer_scan scan;
	calls_error err;
	g_assert_true(check(HEAD "m=audio 9/2 RTP/AVP 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", &scan, &err));
	g_assert_cmpint(scan.mlines[1].kind, ==, CALLS_MKIND_APPLICATION);
}

static void test_codecs(void) {
	assert_refused(HEAD "m=video 9 RTP/AVP 96\r\na=rtpmap:96 VP 8/90000\r\n", CALLS_ERR_INVALID_REQUEST, "a=rtpmap");
	assert_refused(HEAD "m=video 9 RTP/AVP 96\r\na=rtpmap:200 VP8/90000\r\n", CALLS_ERR_INVALID_REQUEST, "a=rtpmap");
	assert_refused(HEAD "m=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8\r\n", CALLS_ERR_INVALID_REQUEST, "a=rtpmap");
	assert_refused(HEAD "m=video 9 RTP/AVP 96\r\na=rtpmap:96 " "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/90000\r\n",
		CALLS_ERR_INVALID_REQUEST, "a=rtpmap");
	assert_refused(HEAD "m=video 9 RTP/AVP 102\r\na=fmtp:102 profile-level-id=42e01\r\n", CALLS_ERR_INVALID_REQUEST,
		"profile-level-id \"42e01\" is not 6 hex digits");
	assert_refused(HEAD "m=video 9 RTP/AVP 102\r\na=fmtp:102 packetization-mode=1; PROFILE-LEVEL-ID=42e0zz\r\n",
		CALLS_ERR_INVALID_REQUEST, "profile-level-id");
	assert_refused(HEAD "m=video 9 RTP/AVP 98\r\na=fmtp:98 profile-id=123\r\n", CALLS_ERR_INVALID_REQUEST,
		"profile-id \"123\" is not 1 or 2 digits");
	calls_offer_scan scan;
	calls_error err;
	g_assert_true(check(HEAD "m=video 9 RTP/AVP 98 102\r\na=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=2\r\n"
		"a=fmtp:102 profile-level-id = 640c1f ;packetization-mode=1\r\n", &scan, &err));
	g_assert_true(calls_sdp_profile_ok("profile-level-id", "42E01F", 6));
	g_assert_false(calls_sdp_profile_ok("profile-level-id", "42e01f;", 7));
	g_assert_true(calls_sdp_profile_ok("other", "anything at all", 15));
}

static void test_rids_and_msid(void) {
	calls_offer_scan scan;
	calls_error err;
	g_assert_true(check(HEAD VIDEO("1") "a=rid:q send\r\na=rid:h send\r\na=rid:f send max-width=1280\r\n"
		"a=simulcast:send q;~h;f\r\n", &scan, &err));
	g_assert_cmpuint(scan.mlines[0].n_rids, ==, 3);
	g_assert_cmpstr(scan.mlines[0].rids[2], ==, "f");
	g_assert_true(check(HEAD VIDEO("1") "a=simulcast: send rid=lo;hi\r\n", &scan, &err));
	assert_refused(HEAD VIDEO("1") "a=rid:h/1 send\r\n", CALLS_ERR_INVALID_REQUEST, "a=rid \"h/1\"");
	assert_refused(HEAD VIDEO("1") "a=rid:q send\r\na=rid:q send\r\n", CALLS_ERR_INVALID_REQUEST, "appears twice");
	assert_refused(HEAD VIDEO("1") "a=rid:a send\r\na=rid:b send\r\na=rid:c send\r\na=rid:d send\r\n",
		CALLS_ERR_LIMIT_EXCEEDED, "at most 3 simulcast layers");
	assert_refused(HEAD VIDEO("1") "a=simulcast:send q;h*;f\r\n", CALLS_ERR_INVALID_REQUEST, "a=simulcast names \"h*\"");
	assert_refused(HEAD VIDEO("1") "a=msid:a b c\r\n", CALLS_ERR_INVALID_REQUEST, "a=msid");
	assert_refused(HEAD VIDEO("1") "a=msid:\r\n", CALLS_ERR_INVALID_REQUEST, "a=msid");
	g_assert_true(check(HEAD VIDEO("1") "a=msid:-\r\n", &scan, &err));
}

static void test_mline_limits(void) {
	calls_offer_scan scan;
	calls_error err;
	/* one audio, camera and screen: the limit */
	g_assert_true(check(HEAD AUDIO("0") VIDEO("1") VIDEO("2"), &scan, &err));
	g_assert_cmpuint(scan.audio, ==, 1);
	g_assert_cmpuint(scan.video, ==, 2);
	assert_refused(HEAD AUDIO("0") AUDIO("1"), CALLS_ERR_LIMIT_EXCEEDED,
		"the offer sends 2 audio m-lines: a publisher sends at most 1 audio and 2 video m-lines (camera and screen)");
	assert_refused(HEAD VIDEO("0") VIDEO("1") VIDEO("2"), CALLS_ERR_LIMIT_EXCEEDED, "the offer sends 3 video m-lines");
	/* m-lines that do not send (closed with port 0, recvonly, inactive) do not count */
	g_assert_true(check(HEAD AUDIO("0") "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:2\r\na=recvonly\r\n" VIDEO("3") VIDEO("4")
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:5\r\na=inactive\r\n", &scan, &err));
	g_assert_cmpuint(scan.n_mlines, ==, 6);
	g_assert_false(scan.mlines[1].in_use);
	g_assert_false(scan.mlines[2].in_use);
	g_assert_false(scan.mlines[5].in_use);
	/* ... but all of them count toward the total */
	GString *many = g_string_new(HEAD);
	for(int i = 0; i <= CALLS_OFFER_MAX_MLINES; i++)
		g_string_append_printf(many, "m=audio 0 RTP/AVP 0\r\na=mid:%d\r\n", i);
	assert_refused(many->str, CALLS_ERR_LIMIT_EXCEEDED, "more than 16 m-lines");
	g_string_free(many, TRUE);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sdpcheck/browser-offer", test_browser_offer);
	g_test_add_func("/sdpcheck/bad-mids", test_bad_mids);
	g_test_add_func("/sdpcheck/control-characters", test_control_characters);
	g_test_add_func("/sdpcheck/mline-form", test_mline_form);
	g_test_add_func("/sdpcheck/codecs", test_codecs);
	g_test_add_func("/sdpcheck/rids-and-msid", test_rids_and_msid);
	g_test_add_func("/sdpcheck/mline-limits", test_mline_limits);
	return g_test_run();
}
