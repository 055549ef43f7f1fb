"""The life of a call through the API (docs/api.md §4, §6, §7): every call status
and participant status reached by events, each event checked for its envelope and
fields. One Janus for the module: ring_timeout 2 s, connect_timeout 4 s (so an invitee
misses the ring well before the call fails to connect).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio

import pytest

from calls_helpers import (User, answer_msg, answer_of, calls_config, check_call, no_event, statuses)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import plugin_data

RING, CONNECT = 2, 4


@pytest.fixture(scope="module")
def server(janus_module_factory):
    return janus_module_factory(configs=calls_config(ring_timeout=RING, connect_timeout=CONNECT,
                                                     reconnect_grace=2))


@pytest.fixture
async def client(server, connect):
    return await connect(server)


async def users(client, *names):
    return [await User.create(client, n) for n in names]


async def test_info_lists_the_plugin(server, client):
    info = await client.info()
    plugin = info["plugins"]["janus.plugin.calls"]
    assert plugin["name"] and plugin["version_string"], plugin
    assert server.info["plugins"].keys() >= {"janus.plugin.calls"}


async def test_one_to_one_answer_then_hang_up(client):
    alice, bob = await users(client, "alice", "bob")
    tx = await alice.send("CALL_INITIATE", {"participantIds": [bob.id], "type": "VIDEO", "chatId": "chat-7"})
    started = await answer_of(alice.h, tx, "CALL_STARTED")
    call_id, call = started["callId"], started["call"]
    assert call["status"] == "RINGING" and call["type"] == "VIDEO" and call["chatId"] == "chat-7"
    assert call["initiatorId"] == alice.id and call["connectedAt"] is None
    parts = {p["userId"]: p for p in call["participants"]}
    assert list(parts) == [alice.id, bob.id]
    assert (parts[alice.id]["role"], parts[alice.id]["status"]) == ("INITIATOR", "JOINED")
    assert (parts[bob.id]["role"], parts[bob.id]["status"]) == ("PARTICIPANT", "RINGING")
    assert parts[alice.id]["userName"] == "alice" and parts[alice.id]["avatar"] == alice.avatar
    assert parts[bob.id]["isVideoEnabled"] is True and parts[bob.id]["isMuted"] is False

    incoming = await bob.wait("CALL_INCOMING", callId=call_id)
    assert incoming == {"callId": call_id, "type": "VIDEO", "initiatorId": alice.id, "initiatorName": "alice",
                        "initiatorAvatar": alice.avatar, "roomId": call["roomId"], "chatId": "chat-7",
                        "participants": [{"userId": alice.id, "userName": "alice"},
                                         {"userId": bob.id, "userName": "bob"}]}

    # Bob answers: both hear he joined, and RINGING -> CONNECTING
    tx = await bob.send("CALL_ANSWER", {"callId": call_id})
    joined = await answer_of(bob.h, tx, "CALL_PARTICIPANT_JOINED")
    assert joined == {"callId": call_id, "userId": bob.id, "userName": "bob", "avatar": bob.avatar}
    changed = await answer_of(bob.h, tx, "CALL_STATUS_CHANGED")
    assert changed == {"callId": call_id, "status": "CONNECTING", "previousStatus": "RINGING"}
    assert await alice.wait("CALL_PARTICIPANT_JOINED", callId=call_id) == joined
    assert await alice.wait("CALL_STATUS_CHANGED", callId=call_id) == changed
    call = await alice.get(call_id)
    assert call["status"] == "CONNECTING" and statuses(call) == {alice.id: "JOINED", bob.id: "JOINED"}
    assert bob.participant(call)["joinedAt"] is not None

    # Bob hangs up: he LEFT, fewer than two remain -> ENDED (HANGUP), CALL_ENDED to both
    tx = await bob.send("CALL_END", {"callId": call_id})
    left = await answer_of(bob.h, tx, "CALL_PARTICIPANT_LEFT")
    assert left == {"callId": call_id, "userId": bob.id, "userName": "bob", "reason": "LEFT"}
    for u in (alice, bob):
        assert await u.wait("CALL_STATUS_CHANGED", callId=call_id, status="ENDED") == \
            {"callId": call_id, "status": "ENDED", "previousStatus": "CONNECTING"}
        assert await u.wait("CALL_ENDED", callId=call_id) == \
            {"callId": call_id, "status": "ENDED", "duration": 0, "endedBy": bob.id, "reason": "HANGUP"}
    assert await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id) == left

    # The finished call, from the history: statuses, times, reason
    for u in (alice, bob):
        call = await u.get(call_id)
        assert call["status"] == "ENDED" and call["endReason"] == "HANGUP" and call["endedBy"] == bob.id
        assert call["duration"] == 0 and call["connectedAt"] is None
        assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT"}
        assert all(p["leftAt"] is not None for p in call["participants"])
    alice.check_events()
    bob.check_events()


async def test_group_call_goes_on_until_fewer_than_two_remain(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    await bob.answer(call_id)
    await carol.answer(call_id)
    assert statuses(await carol.get(call_id)) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "JOINED"}

    # Alice (the initiator) leaves: Bob and Carol go on
    await alice.end(call_id)
    for u in (bob, carol):
        left = await u.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=alice.id)
        assert left["reason"] == "LEFT"
    call = await bob.get(call_id)
    assert call["status"] == "CONNECTING"
    assert statuses(call) == {alice.id: "LEFT", bob.id: "JOINED", carol.id: "JOINED"}

    # Carol leaves: only Bob is left -> ENDED (HANGUP), ended by Carol; Alice hears it too
    await carol.end(call_id)
    for u in (alice, bob, carol):
        ended = await u.wait("CALL_ENDED", callId=call_id)
        assert ended == {"callId": call_id, "status": "ENDED", "duration": 0, "endedBy": carol.id,
                         "reason": "HANGUP"}
    call = await alice.get(call_id)
    assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT", carol.id: "LEFT"}


async def test_initiator_ends_for_everyone(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol], type="VIDEO")
    await bob.answer(call_id)
    await carol.answer(call_id)
    changed = await alice.end(call_id, for_everyone=True, expect="CALL_STATUS_CHANGED")
    assert changed == {"callId": call_id, "status": "ENDED", "previousStatus": "CONNECTING"}
    for u in (alice, bob, carol):
        assert await u.wait("CALL_ENDED", callId=call_id) == \
            {"callId": call_id, "status": "ENDED", "duration": 0, "endedBy": alice.id,
             "reason": "ENDED_FOR_EVERYONE"}
    call = await carol.get(call_id)
    assert call["endReason"] == "ENDED_FOR_EVERYONE" and call["endedBy"] == alice.id
    assert set(statuses(call).values()) == {"LEFT"}


async def test_decline_one_to_one(client):
    alice, bob = await users(client, "alice", "bob")
    call_id = await alice.call([bob])
    await bob.wait("CALL_INCOMING", callId=call_id)
    left = await bob.decline(call_id, reason="in a meeting")
    assert left == {"callId": call_id, "userId": bob.id, "userName": "bob", "reason": "DECLINED",
                    "message": "in a meeting"}
    assert await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id) == left
    for u in (alice, bob):
        assert await u.wait("CALL_STATUS_CHANGED", callId=call_id) == \
            {"callId": call_id, "status": "DECLINED", "previousStatus": "RINGING"}
        ended = await u.wait("CALL_ENDED", callId=call_id)
        assert ended == {"callId": call_id, "status": "DECLINED", "duration": 0, "endedBy": bob.id,
                         "reason": "DECLINED"}
    call = await alice.get(call_id)
    assert call["status"] == "DECLINED" and statuses(call) == {alice.id: "LEFT", bob.id: "DECLINED"}


async def test_every_invitee_declines(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    await bob.decline(call_id)
    # One declined, one still rings: the call goes on ringing
    assert (await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=bob.id))["reason"] == "DECLINED"
    assert (await carol.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=bob.id))["reason"] == "DECLINED"
    call = await alice.get(call_id)
    assert call["status"] == "RINGING" and statuses(call)[bob.id] == "DECLINED"
    await carol.decline(call_id)
    for u in (alice, bob, carol):
        ended = await u.wait("CALL_ENDED", callId=call_id)
        assert (ended["status"], ended["reason"]) == ("DECLINED", "DECLINED")
    call = await alice.get(call_id)
    assert statuses(call) == {alice.id: "LEFT", bob.id: "DECLINED", carol.id: "DECLINED"}


async def test_nobody_answers_within_the_ring_timeout(client):
    alice, bob = await users(client, "alice", "bob")
    call_id = await alice.call([bob], type="VIDEO")
    await bob.wait("CALL_INCOMING", callId=call_id)
    left = await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, timeout=RING + 4)
    assert left["userId"] == bob.id and left["reason"] == "MISSED"
    for u in (alice, bob):
        assert await u.wait("CALL_STATUS_CHANGED", callId=call_id) == \
            {"callId": call_id, "status": "MISSED", "previousStatus": "RINGING"}
        assert await u.wait("CALL_ENDED", callId=call_id) == \
            {"callId": call_id, "status": "MISSED", "duration": 0, "endedBy": None, "reason": "RING_TIMEOUT"}
    call = await bob.get(call_id)
    assert call["status"] == "MISSED" and call["endReason"] == "RING_TIMEOUT"
    assert statuses(call) == {alice.id: "LEFT", bob.id: "MISSED"}
    # Too late to answer
    tx = await bob.send("CALL_ANSWER", {"callId": call_id})
    err = await answer_of(bob.h, tx, "ERROR")
    assert err["code"] == "INVALID_STATE"


async def test_initiator_cancels_while_ringing(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    await bob.wait("CALL_INCOMING", callId=call_id)
    await alice.end(call_id)
    for u in (alice, bob, carol):
        assert await u.wait("CALL_ENDED", callId=call_id) == \
            {"callId": call_id, "status": "MISSED", "duration": 0, "endedBy": alice.id, "reason": "CANCELLED"}
    call = await carol.get(call_id)
    assert call["status"] == "MISSED" and call["endReason"] == "CANCELLED"
    assert statuses(call) == {alice.id: "LEFT", bob.id: "MISSED", carol.id: "MISSED"}


async def test_invitee_missed_while_the_call_goes_on(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    await bob.answer(call_id)
    # Carol does not answer: MISSED at the ring timeout, the call continues
    for u in (alice, bob, carol):
        left = await u.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=carol.id, timeout=RING + 4)
        assert left["reason"] == "MISSED"
    call = await alice.get(call_id)
    assert call["status"] == "CONNECTING" and call["endedAt"] is None
    assert statuses(call) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "MISSED"}
    assert carol.participant(call)["leftAt"] is not None
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_busy_invitee_and_all_busy(client):
    alice, bob, carol, dave = await users(client, "alice", "bob", "carol", "dave")
    first = await alice.call([bob])
    await bob.answer(first)

    # Carol calls Bob (joined elsewhere) and Dave: Bob is BUSY at once, Dave rings;
    # CALL_STARTED already shows it
    tx = await carol.send("CALL_INITIATE", {"participantIds": [bob.id, dave.id], "type": "AUDIO"})
    started = await answer_of(carol.h, tx, "CALL_STARTED")
    second = started["callId"]
    assert started["call"]["status"] == "RINGING"
    assert statuses(started["call"]) == {carol.id: "JOINED", bob.id: "BUSY", dave.id: "RINGING"}
    assert bob.participant(started["call"])["leftAt"] is not None
    left = await carol.wait("CALL_PARTICIPANT_LEFT", callId=second, userId=bob.id)
    assert left["reason"] == "BUSY"
    # Bob learns who tried; he does not ring
    assert (await bob.wait("CALL_PARTICIPANT_LEFT", callId=second))["reason"] == "BUSY"
    await dave.wait("CALL_INCOMING", callId=second)
    call = await carol.get(second)
    assert call["status"] == "RINGING"
    assert statuses(call) == {carol.id: "JOINED", bob.id: "BUSY", dave.id: "RINGING"}
    assert not any(plugin_data(m).get("event") == "CALL_INCOMING" and
                   plugin_data(m)["data"]["callId"] == second for m in bob.h.events)
    await carol.end(second)

    # The route's answer shows him BUSY too
    body = await dave.ok("POST /calls", body={"participantIds": [bob.id, carol.id], "type": "AUDIO"}, status=201)
    assert statuses(body["call"]) == {dave.id: "JOINED", bob.id: "BUSY", carol.id: "RINGING"}
    await dave.ok(f"POST /calls/{body['call']['id']}/end")

    # Dave calls only Bob: everybody busy -> the call ends BUSY at once
    tx = await dave.send("CALL_INITIATE", {"participantIds": [bob.id], "type": "AUDIO"})
    started = await answer_of(dave.h, tx, "CALL_STARTED")
    third = started["callId"]
    assert statuses(started["call"]) == {dave.id: "JOINED", bob.id: "BUSY"}
    assert (await answer_of(dave.h, tx, "CALL_PARTICIPANT_LEFT"))["reason"] == "BUSY"
    assert await answer_of(dave.h, tx, "CALL_STATUS_CHANGED") == \
        {"callId": third, "status": "BUSY", "previousStatus": "RINGING"}
    assert await answer_of(dave.h, tx, "CALL_ENDED") == \
        {"callId": third, "status": "BUSY", "duration": 0, "endedBy": dave.id, "reason": "BUSY"}
    assert (await bob.wait("CALL_ENDED", callId=third))["status"] == "BUSY"
    call = await dave.get(third)
    assert call["status"] == "BUSY" and statuses(call) == {dave.id: "LEFT", bob.id: "BUSY"}
    # Bob's own call was not touched
    assert (await alice.get(first))["status"] == "CONNECTING"


async def test_connect_timeout_fails_the_call(client):
    """Two participants joined, nobody sends media: after connect_timeout both are
    FAILED and the call FAILED (CONNECT_TIMEOUT)."""
    alice, bob = await users(client, "alice", "bob")
    call_id = await alice.call([bob], type="VIDEO")
    await bob.answer(call_id)
    for u in (alice, bob):
        ended = await u.wait("CALL_ENDED", callId=call_id, timeout=CONNECT + 4)
        assert ended == {"callId": call_id, "status": "FAILED", "duration": 0, "endedBy": None,
                         "reason": "CONNECT_TIMEOUT"}
    # The first whose connect timer ran out is announced FAILED (the call then ends for both)
    left = await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id)
    assert left["userId"] in (alice.id, bob.id) and left["reason"] == "FAILED" and "media" in left["message"]
    changes = [plugin_data(m)["data"] for m in alice.h.events
               if plugin_data(m).get("event") == "CALL_STATUS_CHANGED" and plugin_data(m)["data"]["callId"] == call_id]
    assert [(c["previousStatus"], c["status"]) for c in changes] == [("RINGING", "CONNECTING"),
                                                                     ("CONNECTING", "FAILED")]
    call = await bob.get(call_id)
    assert call["status"] == "FAILED" and call["endReason"] == "CONNECT_TIMEOUT"
    assert statuses(call) == {alice.id: "FAILED", bob.id: "FAILED"}


async def test_media_flags_reach_the_call(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol], type="VIDEO")
    await bob.answer(call_id)
    tx = await bob.send("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": True})
    changed = await answer_of(bob.h, tx, "CALL_PARTICIPANT_MEDIA_CHANGED")
    expected = {"callId": call_id, "userId": bob.id, "userName": "bob", "isMuted": True,
                "isVideoEnabled": True, "isSharingScreen": False}
    assert changed == expected
    # Everybody in the call hears it, the one still ringing too
    assert await alice.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id) == expected
    assert await carol.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id) == expected
    tx = await bob.send("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isVideoEnabled": False,
                                                          "isSharingScreen": True})
    changed = await answer_of(bob.h, tx, "CALL_PARTICIPANT_MEDIA_CHANGED")
    assert changed == {**expected, "isVideoEnabled": False, "isSharingScreen": True}
    me = bob.participant(await alice.get(call_id))
    assert (me["isMuted"], me["isVideoEnabled"], me["isSharingScreen"]) == (True, False, True)
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_ended_call_sends_nothing_more(client):
    """After CALL_ENDED, the timers of the call are gone: no late MISSED/FAILED."""
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    await bob.answer(call_id)
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")
    await carol.wait("CALL_ENDED", callId=call_id)
    await no_event(carol.h, "CALL_PARTICIPANT_LEFT", within=CONNECT + 0.5, callId=call_id)
    call = await alice.get(call_id)
    assert call["endReason"] == "ENDED_FOR_EVERYONE" and statuses(call)[carol.id] == "MISSED"
    assert check_call(call)


async def publish(user, call_id, peer, via_route=False) -> dict:
    """Publish `peer`'s media from the user's first handle (WEBRTC_OFFER, or the route
    POST /calls/signaling/offer); returns the data of WEBRTC_ANSWER_RECEIVED."""
    peer.bind(user.h)
    offer = await peer.offer()
    if via_route:
        ack = await user.route("POST /calls/signaling/offer", body={"callId": call_id}, jsep=offer)
        assert ack["janus"] == "ack", ack
        tx = ack["transaction"]
    else:
        tx = await user.send("WEBRTC_OFFER", {"callId": call_id}, jsep=offer)
    msg = await answer_msg(user.h, tx, "WEBRTC_ANSWER_RECEIVED", timeout=10)
    assert msg["jsep"]["type"] == "answer" and msg["jsep"]["sdp"].startswith("v=0")
    await peer.accept(msg["jsep"])
    return plugin_data(msg)["data"]


async def subscribe(user, call_id, rx, other, via_route=False):
    """A new handle of `user` that subscribes to the call and answers its offers until
    `other`'s audio is in them; `rx` then decodes it. Returns the handle."""
    handle = await user.add_device(events=False)
    rx.bind(handle)
    if via_route:
        ack = await user.route("POST /calls/signaling/subscribe", body={"callId": call_id}, handle=handle)
        assert ack["janus"] == "ack", ack
        tx = ack["transaction"]
    else:
        tx = await user.send("CALL_SUBSCRIBE", {"callId": call_id}, handle=handle)
    for _ in range(5):
        msg = await answer_msg(handle, tx, "WEBRTC_OFFER_RECEIVED", timeout=10)
        offer = plugin_data(msg)["data"]
        assert offer["callId"] == call_id and msg["jsep"]["type"] == "offer"
        answer = await rx.answer(msg["jsep"])
        if via_route:
            ack = await user.route("POST /calls/signaling/answer", body={"callId": call_id}, handle=handle,
                                   jsep=answer)
            assert ack["janus"] == "ack", ack
        else:
            await user.send("WEBRTC_ANSWER", {"callId": call_id}, handle=handle, jsep=answer)
        tx = None  # later offers are the plugin's own
        if any(s["active"] and s["userId"] == other.id for s in offer["streams"]):
            break
    assert {(s["userId"], s["userName"], s["kind"]) for s in offer["streams"] if s["active"]} == \
        {(other.id, other.name, "audio")}
    await rx.wait_frames(10, "audio", stream=other.id, timeout=10)
    assert not [m for m in handle.events if plugin_data(m).get("event") == "ERROR"]
    return handle


async def test_connected_when_media_flows(janus_factory, connect, peers):
    """CONNECTED needs media of two participants at the SFU: both publish (one by the
    event, one by the route); each subscribes to the other (one by the routes, one by
    the events); the duration counts from connectedAt. Its own Janus, with a connect
    timeout that a slow machine cannot reach while the peers set up."""
    server = janus_factory(configs=calls_config(ring_timeout=20, connect_timeout=20))
    alice, bob = await users(await connect(server), "alice", "bob")
    call_id = await alice.call([bob], type="AUDIO")
    await bob.answer(call_id)
    a_pub, b_pub = peers("alice", video=False), peers("bob", video=False)
    assert await publish(alice, call_id, a_pub) == {"callId": call_id, "fromUserId": None}
    assert await publish(bob, call_id, b_pub, via_route=True) == {"callId": call_id, "fromUserId": None}
    for u in (alice, bob):
        assert await u.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED", timeout=15) == \
            {"callId": call_id, "status": "CONNECTED", "previousStatus": "CONNECTING"}
    call = await alice.get(call_id)
    assert call["status"] == "CONNECTED" and call["connectedAt"] is not None and call["duration"] is None
    assert call["connectedAt"] >= call["startedAt"]

    # Subscriber handles (registered without events): Alice's through the routes,
    # Bob's through the events CALL_SUBSCRIBE / WEBRTC_ANSWER
    a_sub = await subscribe(alice, call_id, peers("alice-rx", audio=False, video=False), bob, via_route=True)
    await subscribe(bob, call_id, peers("bob-rx", audio=False, video=False), alice)
    # The simulcast cap route (an extension) answers for a subscribing handle
    body = await alice.ok("POST /calls/signaling/configure", body={"callId": call_id, "substream": 0},
                          handle=a_sub)
    assert body == {"callId": call_id, "userId": None, "substream": 0, "temporal": None}

    await asyncio.sleep(1.2)
    ended = await bob.end(call_id, expect="CALL_ENDED")
    assert ended["status"] == "ENDED" and ended["reason"] == "HANGUP" and ended["duration"] >= 1
    call = await alice.get(call_id)
    assert call["duration"] == ended["duration"] and call["endedAt"] > call["connectedAt"]
    assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT"}
