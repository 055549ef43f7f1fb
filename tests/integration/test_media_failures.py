"""SFU media path (docs/api.md §4, docs/media.md) when connections fail, with aiortc clients:
a publisher that drops and comes back within reconnect_grace, one that does not
come back, a participant who answers but whose media never arrives.

aiortc 1.4 cannot restart ICE, so "coming back" is a new PeerConnection published
from a new handle of the same user, which takes over (test_media_browser.py restarts
ICE from Chromium on the same handle).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import time

from harness.client import register
from media_helpers import party  # noqa: F401 (a fixture)
from media_helpers import rises_by, still_for

GRACE = 4  # s, reconnect_grace in these tests
CONNECT = 3  # s, connect_timeout in these tests


async def test_publisher_comes_back_within_grace(janus_factory, party):
    await party.start(janus_factory, reconnect_grace=GRACE)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await bob.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], frames=20, timeout=20)
    offers_before = len(bob.offers)

    # Alice's publishing PeerConnection goes away (DTLS close, ICE stops)
    dropped_at = time.monotonic()
    await alice.tx.pc.close()
    await alice.pub.wait_event("hangup", timeout=10)
    await asyncio.sleep(1)
    await still_for(1.0, lambda: bob.frames("alice", "video"), "bob decoding alice's video after her PC closed")

    # ... and comes back on a new handle of the same session, with a new PeerConnection
    handle = await alice.session.attach("janus.plugin.calls")
    await register(handle, userId="alice", userName="Alice")
    await alice.publish(call_id, handle=handle, name="alice-tx2")
    back_at = time.monotonic()
    assert back_at - dropped_at < GRACE, "the test was too slow to come back within the grace"

    # Bob gets a re-offer for alice's new streams and sees and hears her again
    await bob.wait_offer(lambda o: {(s["userId"], s["kind"]) for s in o["data"]["streams"] if s["active"]}
                         == {("alice", "audio"), ("alice", "video")}, after=offers_before)
    await rises_by(20, lambda: bob.frames("alice", "video"), "bob decoding alice's video again")
    await rises_by(20, lambda: bob.frames("alice", "audio"), "bob decoding alice's audio again")
    # ... and alice still sees bob, on the subscriber PeerConnection that never went down
    await rises_by(20, lambda: alice.frames("bob", "video"), "alice decoding bob's video")

    # Past the grace: nobody left, the call goes on
    await asyncio.sleep(max(0.0, dropped_at + GRACE + 1.5 - time.monotonic()))
    for p in (alice, bob):
        assert p.seen("CALL_PARTICIPANT_LEFT") == [], p.seen("CALL_PARTICIPANT_LEFT")
        assert p.seen("CALL_ENDED") == []
    call = (await bob.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED", call
    assert all(p["status"] == "JOINED" for p in call["participants"]), call
    await rises_by(20, lambda: bob.frames("alice", "video"), "bob decoding alice's video after the grace")
    party.no_errors()


async def test_publisher_lost_for_good(janus_factory, party):
    await party.start(janus_factory, reconnect_grace=GRACE)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await bob.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], frames=20, timeout=20)

    await alice.tx.pc.close()
    await alice.pub.wait_event("hangup", timeout=10)
    dropped_at = time.monotonic()

    left = await bob.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="alice", timeout=GRACE + 10)
    waited = time.monotonic() - dropped_at
    print(f"\nCALL_PARTICIPANT_LEFT {waited:.2f} s after the PeerConnection went down (grace {GRACE} s)")
    assert left["reason"] == "DISCONNECTED", left
    assert waited > GRACE - 0.5, f"alice was dropped after {waited:.2f} s, before the {GRACE} s grace"
    # Only two were in the call: it ends
    ended = await bob.wait("CALL_ENDED", callId=call_id)
    assert ended["status"] == "ENDED" and ended["reason"] == "DISCONNECTED", ended
    ended = await alice.wait("CALL_ENDED", callId=call_id)
    assert ended["status"] == "ENDED" and ended["reason"] == "DISCONNECTED", ended
    call = (await bob.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "ENDED" and call["endReason"] == "DISCONNECTED", call
    party.no_errors()


async def test_session_lost_and_back_within_grace(janus_factory, party):
    """The whole device goes away (its Janus session is destroyed, e.g. a page reload) and
    comes back with a new session, new handles and new PeerConnections."""
    await party.start(janus_factory, reconnect_grace=GRACE)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await party.all_see_all([alice, bob], frames=20, timeout=20)
    offers_before = len(bob.offers)

    await alice.close()
    await alice.session.destroy()
    await alice.tx.pc.close()
    await alice.rx.pc.close()
    gone_at = time.monotonic()

    again = await party.user("alice", "Alice")
    again.call_id = call_id
    await again.publish()
    await again.subscribe()
    assert time.monotonic() - gone_at < GRACE
    await again.rx.wait_frames(20, "video", stream="bob", timeout=10)
    await bob.wait_offer(lambda o: any(s["userId"] == "alice" and s["active"] for s in o["data"]["streams"]),
                         after=offers_before)
    await rises_by(20, lambda: bob.frames("alice", "video"), "bob decoding alice's video again")

    await asyncio.sleep(max(0.0, gone_at + GRACE + 1.5 - time.monotonic()))
    assert bob.seen("CALL_PARTICIPANT_LEFT") == [] and again.seen("CALL_PARTICIPANT_LEFT") == []
    call = (await bob.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED" and all(p["status"] == "JOINED" for p in call["participants"]), call
    party.no_errors()


async def test_no_media_in_one_to_one_call_fails(janus_factory, party):
    await party.start(janus_factory, connect_timeout=CONNECT)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    answered_at = time.monotonic()
    await alice.publish(call_id)
    await alice.subscribe(call_id)
    # Bob answered but never sends any media

    left = await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="bob", timeout=CONNECT + 10)
    waited = time.monotonic() - answered_at
    assert left["reason"] == "FAILED", left
    assert waited > CONNECT - 0.5, f"bob failed {waited:.2f} s after answering, before the {CONNECT} s timeout"
    for p in (alice, bob):
        status = await p.wait("CALL_STATUS_CHANGED", callId=call_id, status="FAILED")
        assert status["previousStatus"] == "CONNECTING", status
        ended = await p.wait("CALL_ENDED", callId=call_id)
        assert ended["status"] == "FAILED" and ended["reason"] == "CONNECT_TIMEOUT", ended
    call = (await alice.route(f"GET /calls/{call_id}"))["call"]
    statuses = {p["userId"]: p["status"] for p in call["participants"]}
    assert call["status"] == "FAILED" and statuses["bob"] == "FAILED", call
    assert alice.seen("CALL_STATUS_CHANGED", status="CONNECTED") == []
    party.no_errors()


async def test_one_without_media_in_group_call_fails_alone(janus_factory, party):
    """Carol answers and even offers a PeerConnection, but never completes it: no media of
    hers reaches the SFU. She FAILS; the two others go on."""
    await party.start(janus_factory, connect_timeout=CONNECT)
    members = alice, bob, carol = await party.users("alice", "bob", "carol")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    answered_at = time.monotonic()
    await party.media(call_id, alice, bob)
    dead = party.peers("carol-dead", audio=True, video=True)
    await carol.send("WEBRTC_OFFER", {"callId": call_id}, jsep=await dead.offer())
    await carol.wait("WEBRTC_ANSWER_RECEIVED", callId=call_id)  # the answer is never applied

    left = await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="carol", timeout=CONNECT + 10)
    assert left["reason"] == "FAILED", left
    assert time.monotonic() - answered_at > CONNECT - 0.5
    await bob.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="carol", reason="FAILED")
    await carol.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="carol", reason="FAILED")
    await party.all_see_all([alice, bob], frames=20, timeout=15)
    await asyncio.sleep(1)
    call = (await alice.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED", call
    assert {p["userId"]: p["status"] for p in call["participants"]} == \
           {"alice": "JOINED", "bob": "JOINED", "carol": "FAILED"}, call
    for p in members:
        assert p.seen("CALL_ENDED") == []
    party.no_errors()




def _senders(p):
    return [s for s in p.tx.pc.getSenders() if s.track is not None]


async def test_silent_publisher_gets_the_grace_then_leaves(janus_factory, party):
    """A publisher whose network silently went away (its PeerConnection stays up in
    Janus, nothing arrives) is noticed after media_timeout: the reconnect grace
    starts, and without media it is LEFT with reason DISCONNECTED."""
    await party.start(janus_factory, reconnect_grace=GRACE, media_timeout=1)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await bob.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], frames=20, timeout=20)

    # Alice stops sending anything, without closing her PeerConnection
    silent_at = time.monotonic()
    for sender in _senders(alice):
        sender.replaceTrack(None)
    left = await bob.wait("CALL_PARTICIPANT_LEFT", timeout=1 + GRACE + 10, callId=call_id, userId="alice")
    waited = time.monotonic() - silent_at
    assert left["reason"] == "DISCONNECTED", left
    # not before the silence was noticed and the grace ran out
    assert waited >= GRACE, f"alice left {waited:.1f} s after going silent, the grace is {GRACE} s"
    ended = await bob.wait("CALL_ENDED", callId=call_id)
    assert (ended["status"], ended["reason"]) == ("ENDED", "DISCONNECTED"), ended
    assert alice.seen("CALL_PARTICIPANT_LEFT", userId="alice", reason="DISCONNECTED")


async def test_silent_publisher_back_within_grace_stays(janus_factory, party):
    await party.start(janus_factory, reconnect_grace=GRACE, media_timeout=1)
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await bob.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], frames=20, timeout=20)

    senders = [(s, s.track) for s in _senders(alice)]
    silent_at = time.monotonic()
    for sender, _ in senders:
        sender.replaceTrack(None)
    await asyncio.sleep(2.5)   # the silence is noticed (media_timeout 1 s): the grace runs
    await still_for(0.5, lambda: bob.frames("alice", "video"), "bob decoding alice while she is silent")
    for sender, track in senders:
        sender.replaceTrack(track)
    assert time.monotonic() - silent_at < GRACE, "the test was too slow to come back within the grace"
    await rises_by(20, lambda: bob.frames("alice", "video"), "bob decoding alice's video again")
    await rises_by(20, lambda: bob.frames("alice", "audio"), "bob hearing alice again")

    # Past the grace: nobody left, the call goes on
    await asyncio.sleep(max(0.0, silent_at + GRACE + 1.5 - time.monotonic()))
    for p in (alice, bob):
        assert p.seen("CALL_PARTICIPANT_LEFT") == [], p.seen("CALL_PARTICIPANT_LEFT")
        assert p.seen("CALL_ENDED") == []
    call = (await bob.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED"
    assert {p["userId"]: p["status"] for p in call["participants"]} == {"alice": "JOINED", "bob": "JOINED"}
