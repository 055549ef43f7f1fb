"""SFU media path (docs/media.md) while a call changes, with aiortc clients: a late
joiner, a participant leaving, mute and camera off/on.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import time

from media_helpers import party  # noqa: F401 (a fixture)
from media_helpers import rises_by, sdp_mlines, still_for, until

LATE_JOINER_BOUND = 2.0  # s, docs/media.md (Key frames): "a late joiner gets video quickly"
QUIET = 1.5              # s without a new frame that counts as "stopped"
SETTLE = 0.7             # s for frames already in flight when a change is made


async def test_late_joiner_gets_video_quickly(janus_factory, party):
    await party.start(janus_factory)
    alice, bob, carol = await party.users("alice", "bob", "carol")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await party.all_see_all([alice, bob], frames=30, timeout=20)
    offers_before = {p.user_id: len(p.offers) for p in (alice, bob)}

    body = await alice.route(f"POST /calls/{call_id}/participants", {"participantIds": ["carol"]})
    assert any(p["userId"] == "carol" and p["status"] == "RINGING" for p in body["call"]["participants"])
    await carol.answer_call(call_id)
    await carol.publish(call_id)
    await carol.subscribe(call_id)

    # The newcomer's first decoded picture of each other participant, from the moment its
    # subscriber PeerConnection is connected. aiortc never asks for a key frame itself (its
    # encoder makes one every 3000 frames): only the plugin's PLI to the publishers brings one.
    await until(lambda: carol.rx_connected_at is not None, "carol's subscriber PeerConnection connects")
    first = {}
    deadline = time.monotonic() + 15
    while len(first) < 2 and time.monotonic() < deadline:
        for other in ("alice", "bob"):
            if other not in first and carol.frames(other, "video") > 0:
                first[other] = time.monotonic() - carol.rx_connected_at
        await asyncio.sleep(0.01)
    print(f"\nlate joiner: first decoded video {', '.join(f'{u} {t:.3f} s' for u, t in sorted(first.items()))}"
          f" after the subscriber PeerConnection connected")
    assert set(first) == {"alice", "bob"}, f"carol decoded no video from {({'alice', 'bob'} - set(first))}: " \
                                           f"{carol.rx.report()}"
    assert max(first.values()) < LATE_JOINER_BOUND, first
    await carol.rx.wait_frames(20, "audio", stream="alice")
    await carol.rx.wait_frames(20, "audio", stream="bob")

    # The others get a re-offer that adds the newcomer, and see and hear it
    for p in (alice, bob):
        offer = await p.wait_offer(lambda o: any(s["userId"] == "carol" and s["active"] for s in o["data"]["streams"]),
                                   after=offers_before[p.user_id])
        kinds = sorted(s["kind"] for s in offer["data"]["streams"] if s["userId"] == "carol" and s["active"])
        assert kinds == ["audio", "video"], offer["data"]["streams"]
        await p.rx.wait_frames(20, "video", stream="carol", timeout=10)
        await p.rx.wait_frames(20, "audio", stream="carol", timeout=10)
    party.no_errors()


async def test_participant_leaves(janus_factory, party):
    await party.start(janus_factory)
    members = alice, bob, carol = await party.users("alice", "bob", "carol")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    await party.media(call_id, *members)
    await party.all_see_all(members, frames=20, timeout=30)
    carols = {p.user_id: {s["mid"] for s in p.offers[-1]["data"]["streams"] if s["userId"] == "carol"}
              for p in (alice, bob)}
    assert all(len(mids) == 2 for mids in carols.values()), carols
    offers_before = {p.user_id: len(p.offers) for p in (alice, bob)}

    await carol.send("CALL_END", {"callId": call_id})
    for p in (alice, bob):
        left = await p.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId="carol")
        assert left["reason"] == "LEFT", left
        # A re-offer where carol's m-lines are inactive; the others' stay as they were
        offer = await p.wait_offer(lambda o: not any(s["active"] for s in o["data"]["streams"]
                                                      if s["mid"] in carols[p.user_id]),
                                   after=offers_before[p.user_id])
        for s in offer["data"]["streams"]:
            if s["mid"] in carols[p.user_id]:
                assert s["active"] is False and s["userId"] is None, s
        lines = {m["mid"]: m for m in sdp_mlines(offer["jsep"]["sdp"])}
        for mid in carols[p.user_id]:
            assert lines[mid]["direction"] == "inactive" or lines[mid]["port"] == 0, lines[mid]
        other = bob if p is alice else alice
        assert {(s["userId"], s["kind"]) for s in offer["data"]["streams"] if s["active"]} == \
               {(other.user_id, "audio"), (other.user_id, "video")}

    # The two who stay keep seeing and hearing each other; nothing more comes from carol
    for viewer, other in ((alice, bob), (bob, alice)):
        for kind in ("video", "audio"):
            await rises_by(20, lambda: viewer.frames(other.user_id, kind), f"{viewer.user_id} <- {other.user_id} {kind}")
    for viewer in (alice, bob):
        await still_for(QUIET, lambda: viewer.frames("carol", "video") + viewer.frames("carol", "audio"),
                        f"{viewer.user_id} still decoding carol after she left")
    call = (await alice.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED"
    assert {p["userId"]: p["status"] for p in call["participants"]} == {"alice": "JOINED", "bob": "JOINED",
                                                                         "carol": "LEFT"}
    party.no_errors()


async def test_mute_and_camera_off(janus_factory, party):
    await party.start(janus_factory)
    members = alice, bob, carol = await party.users("alice", "bob", "carol")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    await party.media(call_id, *members)
    await party.all_see_all(members, frames=20, timeout=30)
    viewers = (bob, carol)

    async def update(flags):
        await alice.send("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, **flags})
        for p in members:  # the event reaches everybody in the call, alice's own devices included
            changed = await p.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="alice")
            assert {k: changed[k] for k in flags} == flags, changed
        await asyncio.sleep(SETTLE)

    async def stopped(kind):
        for v in viewers:
            await still_for(QUIET, lambda: v.frames("alice", kind), f"{v.user_id} decoding alice's {kind}")

    async def flowing(kind, n):
        for v in viewers:
            await rises_by(n, lambda: v.frames("alice", kind), f"{v.user_id} decoding alice's {kind}")

    await update({"isMuted": True})
    await stopped("audio")
    await flowing("video", 15)
    await rises_by(20, lambda: alice.frames("bob", "audio"), "alice still hears bob")  # muting is one way
    await rises_by(20, lambda: bob.frames("carol", "audio"), "bob still hears carol")
    await update({"isMuted": False})
    await flowing("audio", 25)

    await update({"isVideoEnabled": False})
    await stopped("video")
    await flowing("audio", 25)
    await rises_by(15, lambda: bob.frames("carol", "video"), "bob still sees carol")
    await update({"isVideoEnabled": True})
    await flowing("video", 15)

    participants = (await bob.route(f"GET /calls/{call_id}/participants"))["participants"]
    me = next(p for p in participants if p["userId"] == "alice")
    assert me["isMuted"] is False and me["isVideoEnabled"] is True, me
    party.no_errors()


async def test_newcomer_reuses_inactive_mlines(janus_factory, party):
    """When somebody leaves, their m-lines go inactive; the next stream of the same kind
    takes an inactive m-line instead of adding one, so a subscriber's offer does not
    grow with every change, and its media decodes on the reused m-line."""
    await party.start(janus_factory)
    alice, bob, carol, dave = await party.users("alice", "bob", "carol", "dave")
    call_id = await party.call(alice, [bob, carol], "VIDEO")
    await party.media(call_id, alice, bob, carol)
    await party.all_see_all([alice, bob, carol], frames=20, timeout=30)
    carol_mids = {s["kind"]: s["mid"] for s in alice.offers[-1]["data"]["streams"] if s["userId"] == "carol"}
    n_before = len(alice.offers[-1]["data"]["streams"])

    await carol.send("CALL_END", {"callId": call_id})
    await alice.wait_streams({("bob", "audio"), ("bob", "video")})

    offers_before = len(alice.offers)
    await alice.route(f"POST /calls/{call_id}/participants", {"participantIds": ["dave"]})
    await dave.answer_call(call_id)
    await dave.publish(call_id)
    await dave.subscribe(call_id)
    mids = await alice.wait_streams({("bob", "audio"), ("bob", "video"), ("dave", "audio"), ("dave", "video")})
    # dave's streams sit on carol's former m-lines: same mids, no new m-line
    assert {"audio": mids[("dave", "audio")], "video": mids[("dave", "video")]} == carol_mids, (mids, carol_mids)
    assert len(alice.offers[-1]["data"]["streams"]) == n_before, alice.offers[-1]["data"]["streams"]
    assert len(alice.offers) > offers_before
    # ... and alice sees and hears dave there
    await alice.rx.wait_frames(20, "video", stream="dave", timeout=15)
    await alice.rx.wait_frames(20, "audio", stream="dave", timeout=15)
    assert alice.rx.frames("video", mid=carol_mids["video"]) > 0
    party.no_errors()
