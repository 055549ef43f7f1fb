"""The REST routes of docs/api.md §5 (synchronous answers {"status", "body"}) and
GET /users/online with presence on. The SDP routes are in
test_api_lifecycle.py (test_connected_when_media_flows); history in test_api_history.py.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio

import pytest

from calls_helpers import (User, assert_refused, calls_config, check_call, check_participant, new_uuid,
                           statuses, uid)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)


@pytest.fixture(scope="module")
def server(janus_module_factory):
    return janus_module_factory(configs=calls_config(ring_timeout=20, connect_timeout=20, presence=True))


@pytest.fixture
async def client(server, connect):
    return await connect(server)


async def users(client, *names):
    return [await User.create(client, n) for n in names]


async def test_post_calls_answers_201_with_the_call(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    reply = await alice.route("POST /calls", body={"chatId": "chat-42", "participantIds": [bob.id, carol.id],
                                                   "type": "VIDEO"})
    assert reply["status"] == 201 and set(reply["body"]) == {"call"}
    call = check_call(reply["body"]["call"])
    assert (call["status"], call["type"], call["chatId"], call["initiatorId"]) == \
        ("RINGING", "VIDEO", "chat-42", alice.id)
    assert statuses(call) == {alice.id: "JOINED", bob.id: "RINGING", carol.id: "RINGING"}
    # The same effects as CALL_INITIATE: CALL_STARTED to the initiator, CALL_INCOMING to each invitee
    started = await alice.wait("CALL_STARTED", callId=call["id"])
    assert started["call"] == call
    for u in (bob, carol):
        incoming = await u.wait("CALL_INCOMING", callId=call["id"])
        assert (incoming["chatId"], incoming["type"], incoming["roomId"]) == ("chat-42", "VIDEO", call["roomId"])
    # chatId is optional (null)
    reply = await bob.route("POST /calls", body={"participantIds": [carol.id], "type": "AUDIO"})
    assert reply["status"] == 201 and reply["body"]["call"]["chatId"] is None
    await bob.ok(f"POST /calls/{reply['body']['call']['id']}/end")
    await alice.ok(f"POST /calls/{call['id']}/end", body={"forEveryone": True})


async def test_answer_route_accepts_and_declines(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id, carol.id], "type": "AUDIO"},
                              status=201))["call"]["id"]
    body = await bob.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    assert set(body) == {"call"}
    call = check_call(body["call"])
    assert call["status"] == "CONNECTING" and bob.participant(call)["status"] == "JOINED"
    assert (await alice.wait("CALL_PARTICIPANT_JOINED", callId=call_id))["userId"] == bob.id
    assert (await alice.wait("CALL_STATUS_CHANGED", callId=call_id))["status"] == "CONNECTING"

    body = await carol.ok(f"POST /calls/{call_id}/answer", body={"accept": False, "reason": "busy day"})
    call = check_call(body["call"])
    assert carol.participant(call)["status"] == "DECLINED" and call["status"] == "CONNECTING"
    left = await bob.wait("CALL_PARTICIPANT_LEFT", callId=call_id)
    assert (left["userId"], left["reason"], left["message"]) == (carol.id, "DECLINED", "busy day")
    await alice.ok(f"POST /calls/{call_id}/end", body={"forEveryone": True})


async def test_end_route_leaves_or_ends_for_everyone(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id, carol.id], "type": "AUDIO"},
                              status=201))["call"]["id"]
    await bob.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    await carol.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    # Carol leaves: {} and {"forEveryone": false} both mean "I leave"
    call = check_call((await carol.ok(f"POST /calls/{call_id}/end", body={"forEveryone": False}))["call"])
    assert call["status"] == "CONNECTING" and carol.participant(call)["status"] == "LEFT"
    assert carol.participant(call)["leftAt"] is not None
    # Alice ends it for everyone
    call = check_call((await alice.ok(f"POST /calls/{call_id}/end", body={"forEveryone": True}))["call"])
    assert (call["status"], call["endReason"], call["endedBy"]) == ("ENDED", "ENDED_FOR_EVERYONE", alice.id)
    assert call["duration"] == 0 and call["endedAt"] is not None
    assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT", carol.id: "LEFT"}
    ended = await bob.wait("CALL_ENDED", callId=call_id)
    assert ended["reason"] == "ENDED_FOR_EVERYONE"
    # A body is optional on the end route
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id], "type": "AUDIO"},
                              status=201))["call"]["id"]
    call = check_call((await alice.ok(f"POST /calls/{call_id}/end"))["call"])
    assert (call["status"], call["endReason"]) == ("MISSED", "CANCELLED")


async def test_get_call_and_its_participants(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    created = (await alice.ok("POST /calls", body={"participantIds": [bob.id], "type": "VIDEO"},
                              status=201))["call"]
    call_id = created["id"]
    assert await alice.get(call_id) == created
    assert await bob.get(call_id) == created           # an invitee may read it while it rings
    body = await bob.ok(f"GET /calls/{call_id}/participants")
    assert set(body) == {"participants"}
    parts = body["participants"]
    for p in parts:
        check_participant(p, extra={"stats"})        # per-participant media stats: an addition (§8)
    assert [{k: p[k] for k in p if k != "stats"} for p in parts] == created["participants"]
    # Only participants may read a call
    assert_refused(await carol.route(f"GET /calls/{call_id}"), "FORBIDDEN", call_id)
    assert_refused(await carol.route(f"GET /calls/{call_id}/participants"), "FORBIDDEN")
    await alice.ok(f"POST /calls/{call_id}/end")
    # Finished: still readable by its participants, from the history; still not by others
    ended = await bob.get(call_id)
    assert ended["status"] == "MISSED" and ended["id"] == call_id
    assert_refused(await carol.route(f"GET /calls/{call_id}"), "FORBIDDEN")
    # ... and so are its participants, as GET /calls/:callId gives them
    for u in (alice, bob):
        body = await u.ok(f"GET /calls/{call_id}/participants")
        assert body == {"participants": ended["participants"]}
        for p in body["participants"]:
            check_participant(p)
    assert statuses(ended) == {alice.id: "LEFT", bob.id: "MISSED"}
    assert_refused(await carol.route(f"GET /calls/{call_id}/participants"), "FORBIDDEN")
    assert_refused(await carol.route(f"GET /calls/{new_uuid()}/participants"), "CALL_NOT_FOUND")


async def test_add_participants_rings_them(client):
    alice, bob, carol, dave = await users(client, "alice", "bob", "carol", "dave")
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id], "type": "AUDIO"},
                              status=201))["call"]["id"]
    await bob.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    body = await bob.ok(f"POST /calls/{call_id}/participants", body={"participantIds": [carol.id, dave.id]})
    call = check_call(body["call"])
    assert statuses(call) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "RINGING", dave.id: "RINGING"}
    for u in (carol, dave):
        incoming = await u.wait("CALL_INCOMING", callId=call_id)
        assert incoming["initiatorId"] == alice.id and len(incoming["participants"]) == 4
    # Dave declines; invited again, he rings again
    await dave.ok(f"POST /calls/{call_id}/answer", body={"accept": False})
    assert statuses(await alice.get(call_id))[dave.id] == "DECLINED"
    call = check_call((await alice.ok(f"POST /calls/{call_id}/participants",
                                      body={"participantIds": [dave.id]}))["call"])
    assert statuses(call)[dave.id] == "RINGING" and len(call["participants"]) == 4
    await dave.wait("CALL_INCOMING", callId=call_id)
    # Somebody already ringing or joined cannot be added again
    assert_refused(await alice.route(f"POST /calls/{call_id}/participants", body={"participantIds": [carol.id]}),
                   "INVALID_STATE", carol.id)
    assert_refused(await alice.route(f"POST /calls/{call_id}/participants", body={"participantIds": [bob.id]}),
                   "INVALID_STATE", bob.id)
    # Only a joined participant adds people
    assert_refused(await carol.route(f"POST /calls/{call_id}/participants",
                                     body={"participantIds": [uid("erin")]}), "INVALID_STATE")
    await alice.ok(f"POST /calls/{call_id}/end", body={"forEveryone": True})


async def test_media_route_answers_the_participant(client):
    alice, bob = await users(client, "alice", "bob")
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id], "type": "VIDEO"},
                              status=201))["call"]["id"]
    body = await alice.ok(f"PATCH /calls/{call_id}/media", body={"isMuted": True, "isSharingScreen": True})
    assert set(body) == {"participant"}
    me = check_participant(body["participant"])
    assert (me["userId"], me["isMuted"], me["isVideoEnabled"], me["isSharingScreen"]) == \
        (alice.id, True, True, True)
    changed = await bob.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id)
    assert changed == {"callId": call_id, "userId": alice.id, "userName": "alice", "isMuted": True,
                       "isVideoEnabled": True, "isSharingScreen": True}
    # Nothing to change is refused; an invitee still ringing cannot change media
    assert_refused(await alice.route(f"PATCH /calls/{call_id}/media", body={}), "INVALID_REQUEST", "isMuted")
    assert_refused(await bob.route(f"PATCH /calls/{call_id}/media", body={"isMuted": True}), "INVALID_STATE")
    await alice.ok(f"POST /calls/{call_id}/end")


async def test_active_calls_paginate(client):
    alice, bob, carol, dave = await users(client, "alice", "bob", "carol", "dave")
    ids = []
    for caller in (alice, bob, carol):
        ids.append((await caller.ok("POST /calls", body={"participantIds": [dave.id], "type": "AUDIO"},
                                    status=201))["call"]["id"])
        await asyncio.sleep(0.01)  # distinct startedAt
    newest_first = ids[::-1]
    page = await dave.ok("GET /calls/active")
    assert (page["page"], page["limit"], page["total"]) == (1, 10, 3)
    assert [c["id"] for c in page["calls"]] == newest_first
    for c in page["calls"]:
        check_call(c)
    got = []
    for n in (1, 2):
        page = await dave.ok("GET /calls/active", query={"page": n, "limit": 2})
        assert (page["page"], page["limit"], page["total"]) == (n, 2, 3)
        got += [c["id"] for c in page["calls"]]
    assert got == newest_first
    page = await dave.ok("GET /calls/active", query={"page": 3, "limit": 2})
    assert page["calls"] == [] and page["total"] == 3
    # Query values as strings, as an HTTP query string would give them; or in the path
    page = await dave.ok("GET /calls/active", query={"page": "2", "limit": "1"})
    assert [c["id"] for c in page["calls"]] == [newest_first[1]]
    page = await dave.ok("GET /calls/active?page=3&limit=1")
    assert [c["id"] for c in page["calls"]] == [newest_first[2]] and page["total"] == 3
    # Alice sees only her own live call
    page = await alice.ok("GET /calls/active", query={"limit": 100})
    assert [c["id"] for c in page["calls"]] == [ids[0]] and page["limit"] == 100
    assert_refused(await dave.route("GET /calls/active", query={"limit": 101}), "INVALID_REQUEST", "limit")
    assert_refused(await dave.route("GET /calls/active", query={"page": 0}), "INVALID_REQUEST", "page")
    for caller, call_id in zip((alice, bob, carol), ids):
        await caller.ok(f"POST /calls/{call_id}/end")
    assert (await dave.ok("GET /calls/active"))["total"] == 0


async def test_active_calls_are_those_one_is_still_in(client):
    """Ringing or joined; not a call one declined, left, or was busy for, even while it goes on."""
    alice, bob, carol, dave, erin = await users(client, "alice", "bob", "carol", "dave", "erin")
    busy_elsewhere = (await erin.ok("POST /calls", body={"participantIds": [uid("nobody")], "type": "AUDIO"},
                                    status=201))["call"]["id"]
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id, carol.id, dave.id, erin.id],
                                                   "type": "AUDIO"}, status=201))["call"]["id"]
    for u in (bob, carol, dave, erin):   # everybody sees it: ringing, or busy-and-joined elsewhere
        listed = [c["id"] for c in (await u.ok("GET /calls/active"))["calls"]]
        assert (call_id in listed) == (u is not erin), (u.id, listed)
    await bob.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    await carol.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    await dave.ok(f"POST /calls/{call_id}/answer", body={"accept": False})    # declined
    await carol.ok(f"POST /calls/{call_id}/end")                              # left
    assert (await alice.get(call_id))["status"] == "CONNECTING"               # alice and bob go on
    for u in (carol, dave):
        page = await u.ok("GET /calls/active")
        assert page["calls"] == [] and page["total"] == 0, (u.id, page)
    page = await erin.ok("GET /calls/active")
    assert [c["id"] for c in page["calls"]] == [busy_elsewhere] and page["total"] == 1
    for u in (alice, bob):
        page = await u.ok("GET /calls/active")
        assert [c["id"] for c in page["calls"]] == [call_id] and page["total"] == 1
    await alice.ok(f"POST /calls/{call_id}/end", body={"forEveryone": True})
    await erin.ok(f"POST /calls/{busy_elsewhere}/end")


async def test_query_string_and_query_object_are_merged(client):
    """`GET /calls/active?page=2` with "query": {"limit": 1}: both count; a parameter given in
    both places must agree; the path's values are checked like the query's; bad
    percent-encoding is refused."""
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    ids = []
    for caller in (alice, bob):
        ids.append((await caller.ok("POST /calls", body={"participantIds": [carol.id], "type": "AUDIO"},
                                    status=201))["call"]["id"])
        await asyncio.sleep(0.01)
    page = await carol.ok("GET /calls/active?page=2", query={"limit": 1})
    assert (page["page"], page["limit"], page["total"]) == (2, 1, 2) and [c["id"] for c in page["calls"]] == [ids[0]]
    page = await carol.ok("GET /calls/active?page=2&limit=1", query={"page": 2, "limit": "1"})   # the same twice
    assert [c["id"] for c in page["calls"]] == [ids[0]]
    error = assert_refused(await carol.route("GET /calls/active?page=2", query={"page": 1}), "INVALID_REQUEST",
                           "page", "different values")
    assert '"2"' in error["message"] and "(1)" in error["message"], error
    assert_refused(await carol.route("GET /calls/active?page=1&page=2"), "INVALID_REQUEST", "twice")
    # The path's values are judged as the query's
    for bad in ("limit=0", "limit=101", "page=0", "page=x", "page"):
        path_error = assert_refused(await carol.route(f"GET /calls/active?{bad}"), "INVALID_REQUEST")
        name, _, value = bad.partition("=")
        query_error = assert_refused(await carol.route("GET /calls/active", query={name: value}), "INVALID_REQUEST")
        assert path_error == query_error, (bad, path_error, query_error)
    for bad in ("page=%zz", "page=%2", "limit=%00", "chatId=%ff", "x%=1"):
        assert_refused(await carol.route(f"GET /calls/history?{bad}"), "INVALID_REQUEST", "bad percent-encoding")
    for caller, call_id in zip((alice, bob), ids):
        await caller.ok(f"POST /calls/{call_id}/end")
    # Percent-encoding and '+' decode as a web server's would ('+' a space, %2B a plus)
    chat = f"a chat/{uid('c')}+1"
    call_id = (await alice.ok("POST /calls", body={"participantIds": [carol.id], "type": "AUDIO", "chatId": chat},
                              status=201))["call"]["id"]
    await alice.ok(f"POST /calls/{call_id}/end")
    encoded = chat.replace(" ", "+").replace("/", "%2F").replace("+1", "%2B1")
    page = await carol.ok(f"GET /calls/history?chatId={encoded}&type=AUDIO", query={"limit": 5})
    assert (page["limit"], page["total"]) == (5, 1) and page["calls"][0]["id"] == call_id, page
    assert (await carol.ok(f"GET /calls/history?chatId={chat.replace(' ', '%20')}"))["total"] == 0   # '+' is a space


async def test_users_online_with_presence(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    await bob.add_device()       # two devices: listed once

    async def online():
        body = await carol.ok("GET /users/online")
        assert set(body) == {"users"}
        mine = {u["userId"]: u for u in body["users"] if u["userId"] in (alice.id, bob.id, carol.id)}
        for u in mine.values():
            assert set(u) == {"userId", "userName", "avatar", "inCall"}
        return mine

    listed = await online()
    assert listed == {u.id: {"userId": u.id, "userName": u.name, "avatar": u.avatar, "inCall": False}
                      for u in (alice, bob, carol)}
    assert len([u for u in (await carol.ok("GET /users/online"))["users"] if u["userId"] == bob.id]) == 1
    call_id = (await alice.ok("POST /calls", body={"participantIds": [bob.id], "type": "AUDIO"},
                              status=201))["call"]["id"]
    listed = await online()
    assert (listed[alice.id]["inCall"], listed[bob.id]["inCall"]) == (True, False)   # Bob only rings
    await bob.ok(f"POST /calls/{call_id}/answer", body={"accept": True})
    listed = await online()
    assert (listed[alice.id]["inCall"], listed[bob.id]["inCall"], listed[carol.id]["inCall"]) == (True, True, False)
    await alice.ok(f"POST /calls/{call_id}/end", body={"forEveryone": True})
    assert not any(u["inCall"] for u in (await online()).values())
    # Offline once every device is gone
    await alice.h.session.destroy()
    await asyncio.sleep(0.2)
    assert set(await online()) == {bob.id, carol.id}
