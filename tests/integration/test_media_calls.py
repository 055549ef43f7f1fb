"""SFU media path (docs/media.md) with real WebRTC clients (aiortc): 1:1 and
4-party VIDEO calls, an AUDIO call refusing video, and per-participant stats.

What is asserted is what a user would see: frames decoded per remote user (the
msid stream id of each m-line is the remote userId).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

from harness.client import route
from media_helpers import party  # noqa: F401 (a fixture)
from media_helpers import rises_by, sdp_mlines


def check_offer_streams(offer, names):
    """WEBRTC_OFFER_RECEIVED's `streams` describe the offer's SDP m-line by m-line:
    same mids in the same order, same kinds, and each active m-line's msid stream id
    is the userId that `streams` names (`names`: userId -> userName)."""
    data, sdp = offer["data"], offer["jsep"]["sdp"]
    assert data["fromUserId"] is None
    assert "fromUserName" in data and data["fromUserName"] is None   # the original's key, kept
    lines = sdp_mlines(sdp)
    streams = data["streams"]
    assert [s["mid"] for s in streams] == [m["mid"] for m in lines], (streams, lines)
    for s, m in zip(streams, lines):
        assert s["kind"] == m["kind"], (s, m)
        if s["active"]:
            assert m["direction"] == "sendonly" and m["port"] > 0, (s, m)
            assert m["stream"] == s["userId"], (s, m)
            assert s["userName"] == names[s["userId"]], (s, names)
        else:
            assert m["direction"] == "inactive" or m["port"] == 0, (s, m)


async def test_one_to_one_video_call(janus_factory, party):
    await party.start(janus_factory)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)

    for p in (alice, bob):
        changed = await p.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
        assert changed["previousStatus"] == "CONNECTING"

    # Each side decodes the other's picture and tone, under the other's userId
    await party.all_see_all([alice, bob], frames=30, timeout=20)
    for viewer, other in ((alice, bob), (bob, alice)):
        offer = await viewer.wait_offer(lambda o: len([s for s in o["data"]["streams"] if s["active"]]) == 2)
        check_offer_streams(offer, {"alice": "Alice", "bob": "Bob"})
        active = {(s["userId"], s["kind"]) for s in offer["data"]["streams"] if s["active"]}
        assert active == {(other.user_id, "audio"), (other.user_id, "video")}
        # The frames counted under a mid are those of the m-line `streams` gave to the other user
        for s in offer["data"]["streams"]:
            assert viewer.rx.frames(s["kind"], mid=s["mid"]) > 0, (s, viewer.rx.report())
        assert viewer.rx.frames("video", stream=viewer.user_id) == 0, "one's own video came back"
        print(viewer.rx.report())
    party.no_errors()


async def test_four_party_video_call(janus_factory, party):
    await party.start(janus_factory, connect_timeout=20)
    members = await party.users("alice", "bob", "carol", "dave")
    alice, others = members[0], members[1:]
    call_id = await party.call(alice, others, "VIDEO")
    await party.media(call_id, *members)
    await alice.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")

    # 12 video flows (and 12 audio ones): everybody sees and hears the 3 others
    await party.all_see_all(members, frames=20, timeout=45)
    names = {p.user_id: p.user_name for p in members}
    for viewer in members:
        expected = {(o.user_id, k) for o in members if o is not viewer for k in ("audio", "video")}
        await viewer.wait_streams(expected)
        check_offer_streams(viewer.offers[-1], names)
        print(viewer.rx.report())
    # Still flowing afterwards, for each of the 12 video flows
    for viewer in members:
        for other in members:
            if other is not viewer:
                await rises_by(10, lambda: viewer.frames(other.user_id, "video"),
                               f"{viewer.user_id} decoding {other.user_id}'s video", timeout=20)
    party.no_errors()


async def test_audio_call_refuses_video(janus_factory, party):
    await party.start(janus_factory)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "AUDIO")
    answers = {}
    for p in (alice, bob):
        answers[p.user_id] = await p.publish(call_id, audio=True, video=True)  # offers a camera anyway
    for p in (alice, bob):
        await p.subscribe(call_id)

    for user, jsep in answers.items():
        lines = sdp_mlines(jsep["sdp"])
        assert [m["kind"] for m in lines] == ["audio", "video"], lines
        audio, video = lines
        assert audio["port"] > 0 and audio["direction"] == "recvonly", (user, audio)
        assert video["port"] == 0 or video["direction"] == "inactive", (user, video)

    await alice.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], kinds=("audio",), frames=50, timeout=20)
    for viewer in (alice, bob):
        offered = {s["kind"] for o in viewer.offers for s in o["data"]["streams"]}
        assert offered == {"audio"}, f"{viewer.user_id} was offered {offered}"
        assert all(m["kind"] == "audio" for o in viewer.offers for m in sdp_mlines(o["jsep"]["sdp"]))
        assert viewer.rx.frames("video") == 0
        assert all(t.kind == "audio" for _, t in viewer.rx.tracks)
    # The publishers' video goes nowhere: the SFU keeps no video stream for them
    body = await alice.route(f"GET /calls/{call_id}/participants")
    for p in body["participants"]:
        kinds = [s["kind"] for s in p["stats"]["published"]]
        assert kinds == ["audio"], (p["userId"], p["stats"])
    party.no_errors()


async def test_participant_stats(janus_factory, party):
    await party.start(janus_factory)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await party.all_see_all([alice, bob], frames=30, timeout=20)

    reply = await route(bob.pub, f"GET /calls/{call_id}/participants")
    assert reply["status"] == 200, reply
    first = {p["userId"]: p for p in reply["body"]["participants"]}
    assert set(first) == {"alice", "bob"}
    for user, p in first.items():
        other = "bob" if user == "alice" else "alice"
        stats = p["stats"]
        assert sorted(s["kind"] for s in stats["published"]) == ["audio", "video"], stats
        assert sorted((s["kind"], s["fromUserId"]) for s in stats["received"]) == \
            [("audio", other), ("video", other)], stats
        for s in stats["published"] + stats["received"]:
            assert s["packets"] > 0 and s["bytes"] > s["packets"] * 12 and s["bitrate"] > 0, (user, s)
        video_in = next(s for s in stats["published"] if s["kind"] == "video")
        audio_in = next(s for s in stats["published"] if s["kind"] == "audio")
        assert video_in["bitrate"] > audio_in["bitrate"] / 4, stats  # a moving picture, not silence
        for s in stats["received"]:
            assert s["ready"] is True, s

    # The counters follow the media: they grow while it flows
    await rises_by(30, lambda: alice.frames("bob", "video"), "alice decoding bob's video")
    reply = await route(alice.pub, f"GET /calls/{call_id}/participants")
    later = {p["userId"]: p for p in reply["body"]["participants"]}
    for user in ("alice", "bob"):
        for key in ("published", "received"):
            for before, after in zip(first[user]["stats"][key], later[user]["stats"][key]):
                assert after["packets"] > before["packets"] and after["bytes"] > before["bytes"], (before, after)

    # What Bob's subscriber relayed to him is what Alice's publisher sent, give or take in-flight packets
    sent = next(s for s in later["alice"]["stats"]["published"] if s["kind"] == "audio")
    relayed = next(s for s in later["bob"]["stats"]["received"] if s["kind"] == "audio")
    assert 0 < relayed["packets"] <= sent["packets"] and sent["packets"] - relayed["packets"] < 200, (sent, relayed)
    party.no_errors()


async def test_h264_call_when_configured(janus_factory, party):
    """videocodec = "h264": the call's one video codec is H.264 (the publishers offer VP8
    and H.264, the plugin picks the configured one), subscribers are offered H.264, and
    everybody decodes everybody."""
    await party.start(janus_factory, videocodec="h264,vp8")
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    answers = {}
    for p in (alice, bob):
        answers[p.user_id] = await p.publish(call_id)
    for p in (alice, bob):
        await p.subscribe(call_id)
    await party.all_see_all([alice, bob], frames=20, timeout=30)

    def video_codecs(sdp):
        video = sdp.split("m=video", 1)[1].split("\r\nm=", 1)[0]
        return {line.split(" ", 1)[1].split("/")[0].upper()
                for line in video.split("\r\n") if line.startswith("a=rtpmap:")} - {"RTX"}

    for user, answer in answers.items():
        assert "H264" in alice.tx.jsep_offer["sdp"] and "VP8" in alice.tx.jsep_offer["sdp"]
        assert video_codecs(answer["sdp"]) == {"H264"}, (user, answer["sdp"])
    for p in (alice, bob):
        assert video_codecs(p.offers[-1]["jsep"]["sdp"]) == {"H264"}, p.offers[-1]["jsep"]["sdp"]
    party.no_errors()
