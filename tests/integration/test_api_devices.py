"""Users on several devices, devices that come and go (docs/api.md §3, §4): every
device rings, the first to answer takes the call, a decline on one declines for
the user, a device that registers while a call rings gets CALL_INCOMING, and a
joined participant whose Janus handle or session goes away is kept for the
reconnect grace, then LEFT (DISCONNECTED). A device is a Janus session here.
One Janus for the module: ring_timeout 2 s, reconnect_grace 2 s, connect_timeout 8 s
(long enough not to interfere).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio

import pytest

from calls_helpers import (User, answer_of, calls_config, error_of, no_event, statuses, wait_ev)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import plugin_data, register

RING, GRACE = 2, 2


@pytest.fixture(scope="module")
def server(janus_module_factory):
    return janus_module_factory(configs=calls_config(ring_timeout=RING, connect_timeout=8,
                                                     reconnect_grace=GRACE))


@pytest.fixture
async def client(server, connect):
    return await connect(server)


async def test_every_device_rings_and_the_first_answer_takes_the_call(client):
    alice = await User.create(client, "alice")
    bob = await User.create(client, "bob", devices=2)
    phone, laptop = bob.devices
    call_id = await alice.call([bob])
    for device in (phone, laptop):
        incoming = await wait_ev(device, "CALL_INCOMING", callId=call_id)
        assert incoming["initiatorId"] == alice.id

    # The laptop answers: the phone stops ringing, told by CALL_PARTICIPANT_JOINED naming Bob
    await bob.answer(call_id, handle=laptop)
    joined = await wait_ev(phone, "CALL_PARTICIPANT_JOINED", callId=call_id)
    assert joined == {"callId": call_id, "userId": bob.id, "userName": "bob", "avatar": bob.avatar}
    assert (await wait_ev(phone, "CALL_STATUS_CHANGED", callId=call_id))["status"] == "CONNECTING"
    assert (await alice.wait("CALL_PARTICIPANT_JOINED", callId=call_id))["userId"] == bob.id

    # The phone cannot take it a second time
    tx = await bob.send("CALL_ANSWER", {"callId": call_id}, handle=phone)
    await error_of(phone, tx, "INVALID_STATE", "another device")
    call = await alice.get(call_id)
    assert statuses(call) == {alice.id: "JOINED", bob.id: "JOINED"}

    # Both devices keep hearing the call
    await alice.end(call_id)
    for device in (phone, laptop):
        ended = await wait_ev(device, "CALL_ENDED", callId=call_id)
        assert (ended["status"], ended["reason"]) == ("ENDED", "HANGUP")
    bob.check_events()


async def test_a_decline_on_one_device_declines_for_the_user(client):
    alice, carol = await User.create(client, "alice"), await User.create(client, "carol")
    bob = await User.create(client, "bob", devices=2)
    phone, laptop = bob.devices
    call_id = await alice.call([bob, carol])
    await wait_ev(laptop, "CALL_INCOMING", callId=call_id)
    left = await bob.decline(call_id, reason="driving", handle=phone)
    assert left == {"callId": call_id, "userId": bob.id, "userName": "bob", "reason": "DECLINED",
                    "message": "driving"}
    # Both of Bob's devices, and the others, hear that Bob declined
    assert await wait_ev(laptop, "CALL_PARTICIPANT_LEFT", callId=call_id) == left
    assert await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id) == left
    assert await carol.wait("CALL_PARTICIPANT_LEFT", callId=call_id) == left
    # The laptop cannot answer any more; the call still rings Carol
    tx = await bob.send("CALL_ANSWER", {"callId": call_id}, handle=laptop)
    await error_of(laptop, tx, "INVALID_STATE", "DECLINED")
    call = await alice.get(call_id)
    assert call["status"] == "RINGING" and statuses(call) == {alice.id: "JOINED", bob.id: "DECLINED",
                                                               carol.id: "RINGING"}
    await alice.end(call_id)


async def test_a_device_registering_while_a_call_rings_gets_it(client):
    alice = await User.create(client, "alice")
    bob = User(client, f"bob-late-{alice.id[-8:]}", "bob", "https://example.org/bob.png")
    carol = await User.create(client, "carol")
    # Bob has no device at all yet: he is invited anyway and rings
    call_id = await alice.call([bob.id, carol])
    call = await alice.get(call_id)
    assert statuses(call)[bob.id] == "RINGING" and bob.participant(call)["userName"] is None

    # A subscriber-only handle (events: false) does not ring ...
    quiet = await bob.add_device(events=False)
    await no_event(quiet, "CALL_INCOMING", within=0.3)
    # ... a device with events does, with Bob's name now known
    phone = await bob.add_device()
    incoming = await wait_ev(phone, "CALL_INCOMING", callId=call_id)
    assert {"userId": bob.id, "userName": "bob"} in incoming["participants"]
    assert bob.participant(await alice.get(call_id))["userName"] == "bob"
    # Carol's second device, registered now, rings too
    laptop = await carol.add_device()
    await wait_ev(laptop, "CALL_INCOMING", callId=call_id)
    await bob.answer(call_id, handle=phone)
    assert not any(plugin_data(m).get("event") for m in quiet.events)
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_requests_from_a_handle_without_events_are_answered_on_it(client):
    """A handle registered with "events": false gets no call events, except the
    answers to its own requests (same transaction)."""
    alice = await User.create(client, "alice")
    bob = await User.create(client, "bob")
    quiet = await bob.add_device(events=False)
    call_id = await alice.call([bob])
    await bob.wait("CALL_INCOMING", callId=call_id)
    tx = await bob.send("CALL_ANSWER", {"callId": call_id}, handle=quiet)
    assert (await answer_of(quiet, tx, "CALL_PARTICIPANT_JOINED"))["userId"] == bob.id
    assert (await bob.wait("CALL_PARTICIPANT_JOINED", callId=call_id))["userId"] == bob.id
    await alice.end(call_id)
    await bob.wait("CALL_ENDED", callId=call_id)
    await asyncio.sleep(0.2)
    assert {plugin_data(m)["event"] for m in quiet.events if plugin_data(m).get("event")} == \
        {"CALL_PARTICIPANT_JOINED", "CALL_STATUS_CHANGED"}
    assert all(m.get("transaction") == tx for m in quiet.events if plugin_data(m).get("event"))


async def test_ringing_invitee_whose_last_device_goes_keeps_ringing(client):
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    await bob.wait("CALL_INCOMING", callId=call_id)
    await bob.h.session.destroy()
    await asyncio.sleep(0.5)
    call = await alice.get(call_id)
    assert call["status"] == "RINGING" and statuses(call)[bob.id] == "RINGING"
    ended = await alice.wait("CALL_ENDED", callId=call_id, timeout=RING + 4)
    assert (ended["status"], ended["reason"]) == ("MISSED", "RING_TIMEOUT")
    assert statuses(await alice.get(call_id))[bob.id] == "MISSED"


@pytest.mark.parametrize("how", ["detach", "destroy-session"])
async def test_joined_participant_gone_leaves_after_the_grace(client, how):
    alice, bob, carol = [await User.create(client, n) for n in ("alice", "bob", "carol")]
    call_id = await alice.call([bob, carol])
    await bob.answer(call_id)
    await carol.answer(call_id)
    if how == "detach":
        await carol.h.detach()
    else:
        await carol.h.session.destroy()
    # Within the grace, Carol is still in the call
    await no_event(alice.h, "CALL_PARTICIPANT_LEFT", within=GRACE / 2, callId=call_id)
    assert statuses(await alice.get(call_id))[carol.id] == "JOINED"
    # Then she LEFT, reason DISCONNECTED; Alice and Bob go on
    for u in (alice, bob):
        left = await u.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=carol.id, timeout=GRACE + 4)
        assert left["reason"] == "DISCONNECTED" and left["userName"] == "carol" and left["message"]
    call = await bob.get(call_id)
    assert call["status"] == "CONNECTING"
    assert statuses(call) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "LEFT"}
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_one_to_one_peer_gone_ends_the_call(client):
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob], type="VIDEO")
    await bob.answer(call_id)
    await bob.h.session.destroy()
    left = await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, timeout=GRACE + 4)
    assert left["userId"] == bob.id and left["reason"] == "DISCONNECTED"
    ended = await alice.wait("CALL_ENDED", callId=call_id)
    # Never connected: the call FAILED, because Bob disconnected
    assert ended == {"callId": call_id, "status": "FAILED", "duration": 0, "endedBy": bob.id,
                     "reason": "DISCONNECTED"}
    call = await alice.get(call_id)
    assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT"}


async def test_a_new_device_of_a_disconnected_user_is_told_the_call_state(client):
    """A user whose only device went away registers again within the grace: the new
    device belongs to a user still JOINED, so it gets the call's events, and
    GET /calls/active lists the call for it."""
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    await bob.answer(call_id)
    await bob.h.session.destroy()
    handle = await bob.attach()
    answer = await register(handle, userId=bob.id, userName="bob")
    assert answer["status"] == 200
    active = await bob.ok("GET /calls/active", handle=handle)
    assert [c["id"] for c in active["calls"]] == [call_id]
    await alice.send("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": True})
    assert (await wait_ev(handle, "CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id))["userId"] == alice.id
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")
    assert (await wait_ev(handle, "CALL_ENDED", callId=call_id))["reason"] == "ENDED_FOR_EVERYONE"


async def test_initiator_gone_while_it_rings(janus_factory, connect):
    """The caller's only device goes away while the call rings (grace shorter than the
    ring timeout): after the grace, the call ends MISSED with reason DISCONNECTED."""
    server = janus_factory(configs=calls_config(ring_timeout=20, reconnect_grace=1))
    client = await connect(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    await bob.wait("CALL_INCOMING", callId=call_id)
    await alice.h.session.destroy()
    left = await bob.wait("CALL_PARTICIPANT_LEFT", callId=call_id, timeout=5)
    assert (left["userId"], left["reason"]) == (alice.id, "DISCONNECTED")
    ended = await bob.wait("CALL_ENDED", callId=call_id)
    assert ended == {"callId": call_id, "status": "MISSED", "duration": 0, "endedBy": alice.id,
                     "reason": "DISCONNECTED"}
    call = await bob.get(call_id)
    assert statuses(call) == {alice.id: "LEFT", bob.id: "MISSED"}
