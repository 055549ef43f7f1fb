"""Limits (docs/api.md, "Limits"): each one pushed to its edge and one past it.
Exactly at the limit works; one past is refused with the documented code, status
and a message naming the limit; the refusal changes nothing; and while one handle
is refused for flooding, another user's synchronous routes still answer right.

Three servers for the module: `default_server` runs the shipped defaults
(max_devices_per_user 10, max_events_per_second 20 with bursts of 40,
max_message_size and max_sdp_size 64 KiB, max_participants 16), `tight_server`
small limits on devices and calls per minute, `bucket_server` a slow token bucket
(1 request per second, bursts of 10) whose edge can be hit exactly.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import json
import time

import pytest

from calls_helpers import (User, assert_refused, calls_config, check_reply, error_of, new_uuid,
                           no_event, statuses, uid)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import event, event_name, plugin_data, register, route

LONG = dict(ring_timeout=60, connect_timeout=60, reconnect_grace=60)


@pytest.fixture(scope="module")
def default_server(janus_module_factory):
    """The shipped limits: no limit key in the configuration."""
    return janus_module_factory(configs=calls_config(**LONG))


@pytest.fixture(scope="module")
def tight_server(janus_module_factory):
    return janus_module_factory(configs=calls_config(**LONG, max_devices_per_user=3, max_calls_per_minute=3,
                                                     max_participants=4, max_sdp_size=8192))


@pytest.fixture(scope="module")
def bucket_server(janus_module_factory):
    return janus_module_factory(configs=calls_config(**LONG, max_events_per_second=1, max_events_burst=10))


def compact(body) -> int:
    """Bytes of `body` as compact JSON (ASCII only here, so as the plugin counts them)."""
    return len(json.dumps(body, separators=(",", ":")))


def padded(request: dict, size: int) -> dict:
    """`request` with a "pad" string making its compact JSON exactly `size` bytes."""
    body = {**request, "pad": ""}
    body["pad"] = "x" * (size - compact(body))
    assert compact(body) == size
    return body


# ---- max_devices_per_user ------------------------------------------------------------------

async def test_devices_per_user_default_is_10(default_server, connect):
    """A device here is a registered handle: the 11th of one user is refused, other users are not."""
    client = await connect(default_server)
    alice = await User.create(client, "alice", devices=10)
    extra = await alice.attach()
    err = assert_refused(await register(extra, userId=alice.id, userName="alice"), "LIMIT_EXCEEDED",
                         "max_devices_per_user", "10 registered handles", alice.id)
    assert "detach" in err["message"], err
    # The refused handle stays unregistered
    assert_refused(await route(extra, "GET /calls/active"), "UNAUTHORIZED", "register")
    # Another user is not concerned
    bob = await User.create(client, "bob")
    assert (await bob.ok("GET /calls/active"))["total"] == 0


async def test_devices_per_user_a_device_that_goes_away_frees_its_place(tight_server, connect):
    client = await connect(tight_server)
    alice = await User.create(client, "alice", devices=3)
    extra = await alice.attach()
    assert_refused(await register(extra, userId=alice.id, userName="alice"), "LIMIT_EXCEEDED",
                   "max_devices_per_user", "3 registered handles")
    # Registering again on a registered handle refreshes it: not one more device
    again = await register(alice.devices[0], userId=alice.id, userName="alice", avatar=alice.avatar)
    assert again["status"] == 200, again

    # A detached handle frees its place: the refused handle may register now, a fourth may not
    gone = alice.devices.pop(2)
    await gone.detach()
    assert (await register(extra, userId=alice.id, userName="alice", avatar=alice.avatar))["status"] == 200
    alice.devices.append(extra)
    fourth = await alice.attach()
    assert_refused(await register(fourth, userId=alice.id, userName="alice"), "LIMIT_EXCEEDED",
                   "max_devices_per_user")
    # So does a whole Janus session that goes away (Janus may destroy its handles just after
    # answering "destroy": the place frees up within a moment)
    lost = alice.devices.pop(1)
    await lost.session.destroy()
    deadline = time.monotonic() + 5
    while True:
        reply = await register(fourth, userId=alice.id, userName="alice", avatar=alice.avatar)
        if reply["status"] == 200 or time.monotonic() > deadline:
            break
        assert_refused(reply, "LIMIT_EXCEEDED", "max_devices_per_user")
        await asyncio.sleep(0.1)
    assert reply["status"] == 200, reply
    alice.devices.append(fourth)
    # Every device left still works and rings
    bob = await User.create(client, "bob")
    call_id = await bob.call([alice])
    for handle in alice.devices:
        await wait_incoming(handle, call_id)
    await bob.end(call_id)


async def wait_incoming(handle, call_id):
    msg = await handle.wait_event(lambda m: event_name(m) == "CALL_INCOMING"
                                  and plugin_data(m)["data"]["callId"] == call_id)
    assert plugin_data(msg)["data"]["callId"] == call_id


# ---- max_calls_per_minute counts invitations -------------------------------------------------

async def test_invitations_count_in_max_calls_per_minute(tight_server, connect):
    """max_calls_per_minute = 3: one call started and two invitation requests (one of them
    inviting two people) fill alice's minute; her next invitation is refused and rings nobody.
    Each request counts once, however many it invites."""
    client = await connect(tight_server)
    alice, bob, carol, dave = [await User.create(client, n) for n in ("alice", "bob", "carol", "dave")]
    call_id = await alice.call([bob])                                             # 1
    await bob.answer(call_id)
    await alice.ok(f"POST /calls/{call_id}/participants", body={"participantIds": [carol.id]})   # 2
    await carol.decline(call_id)
    call = (await alice.ok(f"POST /calls/{call_id}/participants",                  # 3: at the limit
                           body={"participantIds": [carol.id, dave.id]}))["call"]
    assert statuses(call)[carol.id] == "RINGING" and statuses(call)[dave.id] == "RINGING", call
    await carol.decline(call_id)

    before = await alice.get(call_id)
    incoming_before = len(carol.h.events)
    err = assert_refused(await alice.route(f"POST /calls/{call_id}/participants",
                                           body={"participantIds": [carol.id]}),
                         "LIMIT_EXCEEDED", "max_calls_per_minute", "invited people 3 times", "try again in")
    assert "POST /calls/:callId/participants counts once" in err["message"], err
    assert await alice.get(call_id) == before
    await no_event(carol.h, "CALL_INCOMING", within=0.5, callId=call_id)
    assert all(event_name(m) != "CALL_INCOMING" for m in carol.h.events[incoming_before:])

    # The budget is per user: bob has used none of his
    call = (await bob.ok(f"POST /calls/{call_id}/participants", body={"participantIds": [carol.id]}))["call"]
    assert statuses(call)[carol.id] == "RINGING"
    await alice.end(call_id, for_everyone=True, expect="CALL_STATUS_CHANGED")


async def test_participant_ids_at_and_past_max_participants(default_server, connect):
    """max_participants = 16 (the default): 15 invitees in one request ring, 16 are refused;
    past 256 the codec refuses the list before counting."""
    client = await connect(default_server)
    alice = await User.create(client, "alice")
    fifteen = [uid(f"p{i}") for i in range(15)]
    call = (await alice.ok("POST /calls", body={"participantIds": fifteen, "type": "AUDIO"}, status=201))["call"]
    assert len(call["participants"]) == 16
    await alice.end(call["id"])
    bob = await User.create(client, "bob")
    assert_refused(await bob.route("POST /calls", body={"participantIds": [uid(f"q{i}") for i in range(16)],
                                                        "type": "AUDIO"}),
                   "LIMIT_EXCEEDED", "at most 16 participants", "max_participants", "this would make 17")
    assert_refused(await bob.route("POST /calls", body={"participantIds": [uid(f"r{i}") for i in range(257)],
                                                        "type": "AUDIO"}),
                   "LIMIT_EXCEEDED", "participantIds lists 257 users")
    assert (await bob.ok("GET /calls/active"))["total"] == 0


# ---- max_message_size and max_sdp_size ---------------------------------------------------------

async def test_message_size_at_and_past_the_limit(default_server, connect):
    client = await connect(default_server)
    alice = await User.create(client, "alice")
    at = await alice.h.message(padded({"request": "GET /calls/active"}, 65536))
    assert check_reply(at)["status"] == 200 and at["body"]["total"] == 0, at
    past = await alice.h.message(padded({"request": "GET /calls/active"}, 65537))
    assert_refused(past, "LIMIT_EXCEEDED", "max_message_size", "65536 bytes", "GET /calls/active")

    # An event past the limit: an ERROR event on its transaction, nothing done
    bob = await User.create(client, "bob")
    data = {"participantIds": [bob.id], "type": "AUDIO", "note": "y" * 70000}
    tx = await event(alice.h, "CALL_INITIATE", data)
    err = await error_of(alice.h, tx, "LIMIT_EXCEEDED", "max_message_size")
    assert err["event"] == "CALL_INITIATE"
    await no_event(bob.h, "CALL_INCOMING", within=0.5)
    assert (await alice.ok("GET /calls/active"))["total"] == 0
    # A malformed request is refused for what is wrong with it, whatever its size
    assert_refused(await alice.route("POST /calls", body={"participantIds": [bob.id], "type": "AUDIO",
                                                          "chatId": "z" * 70000}),
                   "INVALID_REQUEST", "chatId")


def with_padding(sdp: str, per_section: int) -> str:
    """An SDP with about `per_section` bytes of attribute lines added at the end of each m-section.
    (Janus hands the plugin its own rewrite of the SDP: it keeps attributes it does not know,
    but writes at most 8 KiB per m-section and 2.5 KiB before the first one.)"""
    filler = "a=x-pad:" + "p" * 90
    pad = "\r\n".join([filler] * (per_section // (len(filler) + 2)))
    head, *sections = sdp.rstrip("\r\n").split("\r\nm=")
    return head + "".join("\r\nm=" + m + "\r\n" + pad for m in sections) + "\r\n"


async def test_sdp_size_past_the_limit(tight_server, connect, peers):
    """max_sdp_size = 8192 here: an offer of about 5 KB passes the size check (and is then
    refused for its unknown call), one of about 12 KB is refused LIMIT_EXCEEDED first."""
    client = await connect(tight_server)
    alice = await User.create(client, "alice")
    offer = await peers("alice").offer()                # audio and video: two m-sections
    for per_section, code, mention in ((1000, "CALL_NOT_FOUND", "no live call"),
                                       (6000, "LIMIT_EXCEEDED", "max_sdp_size")):
        handle = await alice.add_device()   # a fresh handle: Janus keeps the first offer a handle sees
        jsep = {"type": "offer", "sdp": with_padding(offer["sdp"], per_section)}
        tx = await event(handle, "WEBRTC_OFFER", {"callId": new_uuid()}, jsep=jsep)
        err = await error_of(handle, tx, code, mention)
        assert err["event"] == "WEBRTC_OFFER"
        if code == "LIMIT_EXCEEDED":
            assert "at most 8192 are accepted" in err["message"], err


# ---- max_events_per_second / max_events_burst ----------------------------------------------------

async def test_events_per_handle_at_and_past_the_burst(bucket_server, connect):
    """1 request per second, bursts of 10: a full bucket lets exactly 10 requests sent at once
    through and refuses the 11th; another handle of the same user has its own bucket; a second
    later one more passes. (The 11 requests are sent together: they arrive well within the
    second it takes to earn a token.)"""
    client = await connect(bucket_server)
    alice = await User.create(client, "alice")          # the register took one token
    await asyncio.sleep(1.2)                             # full again: 10
    replies = await asyncio.gather(*(route(alice.h, "GET /calls/active") for _ in range(11)))
    ok = [r for r in replies if check_reply(r)["status"] == 200]
    refused = [r for r in replies if r["status"] != 200]
    assert len(ok) == 10 and len(refused) == 1, replies
    assert all(r["body"]["total"] == 0 for r in ok)
    assert_refused(refused[0], "LIMIT_EXCEEDED", "too many requests on this handle", "at most 1 per second",
                   "max_events_per_second", "10 in a burst", "max_events_burst", "again in")

    # An event past the limit: an ERROR event on its own transaction, named
    call_id = new_uuid()
    tx = await event(alice.h, "CALL_END", {"callId": call_id})
    err = await error_of(alice.h, tx, "LIMIT_EXCEEDED", "max_events_per_second")
    assert err["event"] == "CALL_END" and err["callId"] == call_id

    # Another handle of the same user is not concerned
    other = await alice.add_device()
    replies = await asyncio.gather(*(route(other, "GET /calls/active") for _ in range(9)))
    assert [r["status"] for r in replies] == [200] * 9

    # A token comes back within a second
    await asyncio.sleep(1.2)
    assert (await route(alice.h, "GET /calls/active"))["status"] == 200


async def test_flooding_handle_is_refused_and_others_go_on(default_server, connect):
    """The shipped bucket (20 per second, bursts of 40): mallory floods her handle with 300
    media updates. Those past the bucket are refused LIMIT_EXCEEDED without reaching the
    worker (bob hears exactly one CALL_PARTICIPANT_MEDIA_CHANGED per accepted update), and all
    the while alice, another user on another connection, gets right answers to her
    synchronous routes (each within a generous 5 s, not a timing figure)."""
    flood_n, batch = 300, 50
    client = await connect(default_server)
    mallory, bob = await User.create(client, "mallory"), await User.create(client, "bob")
    call_id = await mallory.call([bob])
    await bob.answer(call_id)
    other_client = await connect(default_server)
    alice, carol = await User.create(other_client, "alice"), await User.create(other_client, "carol")
    alice_call = await alice.call([carol])

    async def flood():
        txs = []
        for start in range(0, flood_n, batch):
            txs += await asyncio.gather(*(event(mallory.h, "CALL_PARTICIPANT_MEDIA_UPDATE",
                                                {"callId": call_id, "isMuted": i % 2 == 0})
                                          for i in range(start, start + batch)))
        return txs

    async def probe():
        answers = 0
        for _ in range(20):
            active = await asyncio.wait_for(alice.route("GET /calls/active"), 5)
            assert active["status"] == 200 and [c["id"] for c in active["body"]["calls"]] == [alice_call], active
            got = await asyncio.wait_for(alice.route(f"GET /calls/{alice_call}"), 5)
            assert got["status"] == 200 and got["body"]["call"]["status"] == "RINGING", got
            answers += 2
            await asyncio.sleep(0.02)
        return answers

    started = time.monotonic()
    txs, answers = await asyncio.gather(flood(), probe())
    elapsed = time.monotonic() - started
    assert answers == 40

    # Every flood request got its answer: a media change or LIMIT_EXCEEDED
    accepted = refused = 0
    for tx in txs:
        msg = await mallory.h.wait_event(lambda m: event_name(m) is not None, transaction=tx, timeout=10)
        env = plugin_data(msg)
        if env["event"] == "ERROR":
            assert env["data"]["code"] == "LIMIT_EXCEEDED" and env["data"]["status"] == 429, env
            assert "max_events_per_second" in env["data"]["message"], env
            refused += 1
        else:
            assert env["event"] == "CALL_PARTICIPANT_MEDIA_CHANGED", env
            accepted += 1
    assert accepted + refused == flood_n
    # At most the burst plus what the rate earned while the flood lasted (and a little slack
    # for the requests in flight when it started); at least most of a burst
    assert 20 <= accepted <= 40 + 20 * elapsed + 2, (accepted, refused, elapsed)
    assert refused >= flood_n - (40 + 20 * elapsed + 2), (accepted, refused, elapsed)

    # bob heard exactly one media change per accepted update, none for the refused ones
    deadline = time.monotonic() + 10
    def changes():
        return [m for m in bob.h.events if event_name(m) == "CALL_PARTICIPANT_MEDIA_CHANGED"
                and plugin_data(m)["data"]["userId"] == mallory.id]
    while len(changes()) < accepted and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert len(changes()) == accepted, (len(changes()), accepted)

    # A second later mallory's handle works again, and the call is intact
    await asyncio.sleep(1.0)
    call = await mallory.get(call_id)
    assert statuses(call) == {mallory.id: "JOINED", bob.id: "JOINED"}
    await mallory.end(call_id)
    await alice.end(alice_call)
