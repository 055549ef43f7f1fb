"""What one publisher sends cannot break what the others receive (docs/api.md,
limits; docs/media.md, publishing): a publisher offer whose strings would be
copied into everybody's subscriber offer (mid, rid, codec name, H.264 profile)
is refused with INVALID_REQUEST naming the bad field, and never reaches a
subscriber; a publisher offer with more m-lines than one audio and two video
(camera and screen) is refused with LIMIT_EXCEEDED, and exactly the limit works.

The publishers are aiortc peers whose offer SDP is edited before it is sent,
as a broken or hostile client would send it.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import re

from harness.client import JanusError, event, event_name, plugin_data, register
from harness.media import MovingPictureTrack, ToneTrack
from media_helpers import party  # noqa: F401 (a fixture)
from media_helpers import TIMEOUT, for_aiortc, rises_by, sdp_mlines, still_for

QUIET = 1.5  # s without a new subscriber offer that counts as "none came"


async def offer_on(handle, call_id, jsep) -> dict:
    """WEBRTC_OFFER with `jsep`; the plugin's answer to it: WEBRTC_ANSWER_RECEIVED or ERROR."""
    tx = await event(handle, "WEBRTC_OFFER", {"callId": call_id}, jsep=jsep)
    return await handle.wait_event(lambda m: event_name(m) in ("WEBRTC_ANSWER_RECEIVED", "ERROR"),
                                   transaction=tx, timeout=TIMEOUT)


async def new_handle(p):
    """Another registered handle of participant `p` (a fresh PeerConnection for each attempt)."""
    h = await p.session.attach("janus.plugin.calls")
    reply = await register(h, userId=p.user_id, userName=p.user_name)
    assert reply.get("status") == 200, reply
    return h


def edit(sdp: str, pattern: str, repl: str) -> str:
    out, n = re.subn(pattern, repl, sdp, flags=re.M)
    assert n > 0, f"the test's edit {pattern!r} found nothing in the offer:\n{sdp}"
    return out


BAD_OFFERS = [
    # (what, edit of the aiortc offer, the field the message must name)
    ("a mid with a space", lambda s: edit(s, r"^a=mid:0\r$", "a=mid:a b\r"), "a=mid"),
    # Janus's core refuses a mid over 16 characters itself (error 465) before the plugin sees it
    ("an overlong mid", lambda s: edit(s, r"^a=mid:1\r$", "a=mid:" + "x" * 40 + "\r"), 465),
    ("a mid used twice", lambda s: edit(s, r"^a=mid:1\r$", "a=mid:0\r"), "a=mid"),
    ("a codec name with a space", lambda s: edit(s, r"^(a=rtpmap:\d+) VP8/90000", r"\1 VP 8/90000"), "a=rtpmap"),
    ("an H.264 profile of 7 hex digits", lambda s: edit(s, r"profile-level-id=42e01f", "profile-level-id=42e01f0"),
     "profile-level-id"),
    ("an H.264 profile with a space", lambda s: edit(s, r"profile-level-id=42e01f", "profile-level-id=42 e01f"),
     "profile-level-id"),
    ("a rid with a slash", lambda s: edit(s, r"^(a=mid:1\r)$", "\\1\na=rid:h/1 send\r"), "a=rid"),
]


async def test_bad_publisher_strings_are_refused_and_reach_nobody(janus_factory, party):
    await party.start(janus_factory, connect_timeout=30)
    alice, bob, carol = await party.users("alice", "bob", "carol")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    await party.media(call_id, alice, bob)
    await party.all_see_all([alice, bob], frames=20, timeout=20)
    offers_before = {p.user_id: len(p.offers) for p in (alice, bob)}

    refused = []
    for what, change, field in BAD_OFFERS:
        handle = await new_handle(carol)
        tx = party.peers(f"carol-{len(refused)}")
        tx.bind(handle)
        jsep = await tx.offer()
        bad = {**jsep, "sdp": change(jsep["sdp"])}
        if isinstance(field, int):
            try:
                await offer_on(handle, call_id, bad)
                raise AssertionError(f"{what}: Janus's core took it")
            except JanusError as e:
                assert e.code == field, (what, e.code, e.reason)
            refused.append((what, f"Janus error {field}"))
            await handle.detach()
            continue
        msg = await offer_on(handle, call_id, bad)
        data = plugin_data(msg)["data"]
        assert event_name(msg) == "ERROR", f"{what}: accepted: {data}"
        assert data["code"] == "INVALID_REQUEST" and data["status"] == 400, (what, data)
        assert data["event"] == "WEBRTC_OFFER" and data["callId"] == call_id, (what, data)
        assert field in data["message"], f"{what}: the message does not name {field}: {data['message']}"
        refused.append((what, data["message"]))
        await handle.detach()
    print("\n" + "\n".join(f"refused {w}: {m}" for w, m in refused))

    # Nobody was offered anything of carol's, and the others' media keeps flowing
    await still_for(QUIET, lambda: (len(alice.offers), len(bob.offers)), "subscriber offers after the bad offers")
    for p in (alice, bob):
        for o in p.offers[offers_before[p.user_id]:]:
            assert not any(s["userId"] == "carol" for s in o["data"]["streams"]), o["data"]
            assert "a b" not in o["jsep"]["sdp"] and "x" * 17 not in o["jsep"]["sdp"], o["jsep"]["sdp"]
    await rises_by(10, lambda: bob.frames("alice", "video"), "alice's video at bob")
    await rises_by(10, lambda: alice.frames("bob", "video"), "bob's video at alice")

    # carol's well-formed offer then works: everybody sees her, and her mids are as she sent them
    await carol.publish(call_id, handle=await new_handle(carol), name="carol-good")
    await carol.subscribe(call_id)
    for p in (alice, bob):
        await p.rx.wait_frames(20, "video", stream="carol", timeout=20)
        await rises_by(10, lambda: p.frames("alice" if p is bob else "bob", "video"), f"video at {p.user_id}")
    assert not alice.errors() and not bob.errors(), (alice.errors(), bob.errors())


async def test_mlines_per_publisher(janus_factory, party):
    await party.start(janus_factory)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await bob.publish(call_id)
    await alice.subscribe(call_id)

    # One m-line past the limit, of each kind: LIMIT_EXCEEDED, saying the limit
    for what, audio, video in (("2 audio", 2, 1), ("3 video", 1, 3)):
        handle = await new_handle(alice)
        tx = party.peers(f"alice-{what.replace(' ', '')}", audio=False, video=False)
        for _ in range(audio):
            tx.pc.addTrack(ToneTrack())
        for _ in range(video):
            tx.pc.addTrack(MovingPictureTrack())
        tx.bind(handle)
        jsep = await tx.offer()
        kinds = [m["kind"] for m in sdp_mlines(jsep["sdp"])]
        assert kinds.count("audio") == audio and kinds.count("video") == video, kinds
        msg = await offer_on(handle, call_id, jsep)
        data = plugin_data(msg)["data"]
        assert event_name(msg) == "ERROR", f"{what} m-lines accepted: {data}"
        assert data["code"] == "LIMIT_EXCEEDED" and data["status"] == 429, data
        assert "at most 1 audio and 2 video" in data["message"], data["message"]
        print(f"\n{what}: {data['message']}")
        await handle.detach()

    # Exactly the limit: one audio, camera and screen
    tx = party.peers("alice-limit", audio=True, video=True)
    tx.pc.addTrack(MovingPictureTrack())
    tx.bind(alice.pub)
    jsep = await tx.offer()
    msg = await offer_on(alice.pub, call_id, jsep)
    assert event_name(msg) == "WEBRTC_ANSWER_RECEIVED", plugin_data(msg)
    answered = sdp_mlines(msg["jsep"]["sdp"])
    assert [(m["kind"], m["port"] > 0, m["direction"]) for m in answered] == \
        [("audio", True, "recvonly"), ("video", True, "recvonly"), ("video", True, "recvonly")], answered
    await tx.accept(for_aiortc(msg["jsep"], jsep))
    await bob.subscribe(call_id)
    offer = await bob.wait_offer(lambda o: len([s for s in o["data"]["streams"] if s["active"]]) == 3)
    mids = {s["mid"]: s["kind"] for s in offer["data"]["streams"] if s["userId"] == "alice" and s["active"]}
    assert sorted(mids.values()) == ["audio", "video", "video"], offer["data"]["streams"]
    for mid, kind in mids.items():
        await bob.rx.wait_frames(10, kind, mid=mid, timeout=20)
    assert not alice.errors() and not bob.errors(), (alice.errors(), bob.errors())
