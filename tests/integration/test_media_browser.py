"""SFU media path (docs/media.md) with a real browser: headless Chromium (Debian's,
fake camera and microphone, driven by browser/participant.js) in calls with aiortc
participants. Chromium interop, simulcast layer switching, ICE restart.

Needs `npm ci --prefix tests/integration/browser` once (outside the test namespace).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import contextlib
import subprocess
import time

from harness.client import route
from media_helpers import browser, party  # noqa: F401 (fixtures)
from media_helpers import rises_by, sdp_mlines, still_for, until

GRACE = 8  # s, reconnect_grace in the reconnection tests (a loaded machine needs more than 4 s to notice and publish again)


async def test_chromium_in_a_video_call_with_two_aiortc(janus_factory, party, browser):
    await party.start(janus_factory)
    alice, bob = await party.users("alice", "bob")
    carol = await browser.page(party, "carol")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    await party.media(call_id, alice, bob)
    answer = await carol.publish()
    await carol.subscribe()

    # Chromium sends VP8 and Opus, as the SFU answered
    lines = sdp_mlines(answer["answer"])
    assert [(m["kind"], m["direction"]) for m in lines] == [("audio", "recvonly"), ("video", "recvonly")], lines
    assert "VP8/90000" in answer["answer"] and "opus/48000" in answer["answer"]

    # Chromium decodes both remote videos, and its ontrack streams are the userIds
    for other in ("alice", "bob"):
        await carol.wait_frames(30, other, "video", timeout=30)
        await carol.wait_frames(48000, other, "audio", timeout=30)
    tracks = (await carol.stats())["tracks"]
    assert sorted((t["streamId"], t["kind"]) for t in tracks) == \
        [("alice", "audio"), ("alice", "video"), ("bob", "audio"), ("bob", "video")], tracks
    assert all(t["streams"] == 1 for t in tracks), tracks

    # Both aiortc participants decode Chromium's VP8 and Opus
    for p in (alice, bob):
        await p.rx.wait_frames(30, "video", stream="carol", timeout=30)
        await p.rx.wait_frames(30, "audio", stream="carol", timeout=30)
        assert p.rx.video_size["carol"] == (640, 480), p.rx.video_size
    # ... and keep doing so
    s1 = await carol.frames("alice")
    await rises_by(30, lambda: bob.frames("carol", "video"), "bob decoding carol's video")
    await until_async(lambda: carol.frames("alice"), lambda n: n > s1 + 30, "carol decoding alice's video")

    await alice.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    assert carol.errors() == [], carol.errors()
    party.no_errors()


async def layer_stats(party, viewer, call_id, publisher):
    """(the publisher's published video `layers`, the viewer's received video stat of it)."""
    reply = await route(viewer.pub, f"GET /calls/{call_id}/participants")
    assert reply["status"] == 200, reply
    parts = {p["userId"]: p for p in reply["body"]["participants"]}
    video = next(s for s in parts[publisher]["stats"]["published"] if s["kind"] == "video")
    received = next(s for s in parts[viewer.user_id]["stats"]["received"]
                    if s["kind"] == "video" and s["fromUserId"] == publisher)
    return video, received


async def test_simulcast_layer_switch(janus_factory, party, browser):
    await party.start(janus_factory)
    alice = await party.user("alice")
    carol = await browser.page(party, "carol")
    call_id = await party.call(alice, [carol], "VIDEO")
    await alice.publish(call_id, audio=True, video=False)
    await alice.subscribe(call_id)
    await carol.publish(width=1280, height=720, simulcast=True)
    await alice.rx.wait_frames(30, "video", stream="carol", timeout=30)

    # Chromium sends three layers once its bandwidth estimate allows; the SFU counts each
    async def three_layers():
        video, _ = await layer_stats(party, alice, call_id, "carol")
        return video

    video = await until_async(three_layers, lambda v: "layers" in v and all(l["packets"] > 50 for l in v["layers"]),
                              "carol's three simulcast layers reach the SFU", timeout=40)
    print("\npublished layers:", video["layers"])
    out = {o["rid"]: (o["frameWidth"], o["frameHeight"]) for o in (await carol.stats())["outbound"] if o["rid"]}
    print("Chromium encodes:", out)

    async def switch_to(substream, how):
        if how == "event":
            await alice.send("CALL_SUBSCRIBER_CONFIGURE", {"callId": call_id, "userId": "carol", "substream": substream},
                             handle=alice.sub)
        else:
            reply = await route(alice.sub, "POST /calls/signaling/configure",
                                body={"callId": call_id, "userId": "carol", "substream": substream})
            assert reply["status"] == 200 and reply["body"]["substream"] == substream, reply
        await until_async(lambda: layer_stats(party, alice, call_id, "carol"),
                          lambda vr: vr[1].get("substream") == substream,
                          f"alice receives carol's substream {substream}", timeout=20)
        n = alice.frames("carol", "video")
        await until(lambda: alice.frames("carol", "video") > n + 30,
                    lambda: f"alice decoding carol after switching to {substream}: {alice.rx.report()}", 20)
        return alice.rx.video_size["carol"]

    low = await switch_to(0, "event")
    high = await switch_to(2, "route")
    low_again = await switch_to(0, "route")
    print(f"decoded sizes: substream 0 {low}, substream 2 {high}, substream 0 again {low_again}")
    assert low[0] * 3 < high[0] and low[1] * 3 < high[1], (low, high)
    assert low_again == low
    # Frames kept coming across the switches (no decoder stall), and still do
    await rises_by(30, lambda: alice.frames("carol", "video"), "alice decoding carol after the switches")
    video, received = await layer_stats(party, alice, call_id, "carol")
    assert received["packets"] > 0 and received["bitrate"] > 0, received
    assert video["layers"][0]["bitrate"] < video["layers"][2]["bitrate"], video["layers"]
    assert carol.errors() == []
    party.no_errors()


@contextlib.contextmanager
def udp_blocked(port):
    """Packets sent from local UDP port `port` are dropped (sendmsg fails), in this test
    namespace only: a policy-routing blackhole rule, placed before the `local` table
    lookup (moved from preference 0 to 100 meanwhile). Everything is put back after."""
    def ip(*args):
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    ip("rule", "add", "pref", "100", "lookup", "local")
    ip("rule", "del", "pref", "0")
    try:
        ip("rule", "add", "pref", "10", "ipproto", "udp", "sport", str(port), "blackhole")
        try:
            yield
        finally:
            ip("rule", "del", "pref", "10")
    finally:
        ip("rule", "add", "pref", "0", "lookup", "local")
        ip("rule", "del", "pref", "100")


async def wait_page_event(page, kind, ok, timeout=30, after=0):
    """Wait for an event `kind` of the page, from its `after`-th event of that kind on."""
    await until(lambda: any(ok(d) for d in page.events(kind)[after:]),
                lambda: f"{page.user_id}: no {kind} event as expected; events {page.events()[-15:]}", timeout)


async def test_chromium_restarts_ice_after_losing_its_network(janus_factory, party, browser):
    """Chromium's publishing path breaks (its UDP packets are dropped); it notices
    (ICE disconnected), restarts ICE on the same PeerConnection and handle (pc.restartIce(),
    a new offer with new credentials), and its media flows again; nobody left the call."""
    await party.start(janus_factory, reconnect_grace=GRACE)
    alice = await party.user("alice")
    carol = await browser.page(party, "carol")
    call_id = await party.call(alice, [carol], "VIDEO")
    await party.media(call_id, alice)
    await carol.publish()
    await carol.subscribe()
    await alice.rx.wait_frames(30, "video", stream="carol", timeout=30)
    await carol.wait_frames(30, "alice", "video", timeout=30)
    path = await carol.call("pubPath")
    offers_before = len(alice.offers)

    with udp_blocked(path["local"]["port"]):
        seen = len(carol.events("pub-ice"))
        await wait_page_event(carol, "pub-ice", lambda state: state in ("disconnected", "failed"), timeout=40,
                              after=seen)
        await still_for(1.5, lambda: alice.frames("carol", "video"), "alice decoding carol while her path is cut")
        seen = len(carol.events("pub-ice"))
        restart = await carol.call("restartIce", {"callId": call_id})
        assert restart["before"] != restart["after"], restart
        assert f"a=ice-ufrag:{restart['before']}" not in restart["answer"]  # Janus answered the restart
        await wait_page_event(carol, "pub-ice", lambda state: state == "connected", timeout=30, after=seen)
        new_path = await carol.call("pubPath")
        assert new_path["local"]["port"] != path["local"]["port"], (path, new_path)
        await rises_by(30, lambda: alice.frames("carol", "video"), "alice decoding carol after the ICE restart")
        await rises_by(30, lambda: alice.frames("carol", "audio"), "alice hearing carol after the ICE restart")

    # Same streams, same m-lines: the subscribers were not even re-offered anything
    assert len(alice.offers) == offers_before, [o["data"]["streams"] for o in alice.offers[offers_before:]]
    await carol.wait_frames((await carol.frames("alice")) + 30, "alice", "video", timeout=20)
    await asyncio.sleep(1)
    assert alice.seen("CALL_PARTICIPANT_LEFT") == [] and alice.seen("CALL_ENDED") == []
    call = (await alice.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED" and all(p["status"] == "JOINED" for p in call["participants"]), call
    assert carol.errors() == []
    party.no_errors()


async def test_chromium_publisher_hung_up_comes_back_on_same_handle(janus_factory, party, browser, admin):
    """Janus hangs up Chromium's publishing PeerConnection (Admin API hangup_webrtc): the
    plugin holds the participant for reconnect_grace; the page publishes again with a new
    PeerConnection on the same handle in time, and nobody leaves."""
    await party.start(janus_factory, reconnect_grace=GRACE)
    alice = await party.user("alice")
    carol = await browser.page(party, "carol")
    ids = carol.ids
    call_id = await party.call(alice, [carol], "VIDEO")
    await party.media(call_id, alice)
    await carol.publish()
    await carol.subscribe()
    await alice.rx.wait_frames(30, "video", stream="carol", timeout=30)

    a = await admin(party.server)
    await a.admin("hangup_webrtc", session_id=ids["session"], handle_id=ids["pub"])
    dropped_at = time.monotonic()
    await wait_page_event(carol, "hangup", lambda d: d["handle"] == "pub", timeout=10)
    await carol.call("republish", {"callId": call_id})
    assert time.monotonic() - dropped_at < GRACE
    await rises_by(30, lambda: alice.frames("carol", "video"), "alice decoding carol's new PeerConnection")

    await asyncio.sleep(max(0.0, dropped_at + GRACE + 1.5 - time.monotonic()))
    assert alice.seen("CALL_PARTICIPANT_LEFT") == [] and alice.seen("CALL_ENDED") == []
    call = (await alice.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED" and all(p["status"] == "JOINED" for p in call["participants"]), call
    await rises_by(30, lambda: alice.frames("carol", "video"), "alice decoding carol after the grace")
    assert carol.errors() == []
    party.no_errors()


async def until_async(get, ok, what, timeout=20):
    deadline = time.monotonic() + timeout
    value = await get()
    while not ok(value):
        assert time.monotonic() < deadline, f"{what}: {value} after {timeout} s"
        await asyncio.sleep(0.25)
        value = await get()
    return value
