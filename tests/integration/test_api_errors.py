"""Errors (docs/api.md §8): every error code provoked with its HTTP status, as a
route answer {"status", "error": {"code", "message"}} and as an ERROR event on the
request's transaction; and bad input of every kind refused cleanly: Janus alive,
the call unchanged (its JSON identical before and after), no stored call lost.

INTERNAL (500) answers failures of SQLite or of the plugin's own state, which no
request can cause on a healthy server: it is provoked by breaking the history
database under a running Janus.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import pytest

from calls_helpers import (PLUGIN, User, assert_refused, calls_config, error_of, janus_alive, new_uuid,
                           statuses, uid)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import JanusError, event, now_iso, register, route


@pytest.fixture(scope="module")
def server(janus_module_factory):
    """Long timeouts: the calls under test must not change on their own. No limit on requests
    per handle: these tests send bad input as fast as they can (that limit has its own tests,
    test_api_limits.py)."""
    return janus_module_factory(configs=calls_config(ring_timeout=60, connect_timeout=60, reconnect_grace=60,
                                                     max_events_per_second=0))


@pytest.fixture(scope="module")
def limits_server(janus_module_factory):
    return janus_module_factory(configs=calls_config(ring_timeout=60, connect_timeout=60, max_participants=3,
                                                     max_calls_per_minute=3, max_live_calls=2))


@pytest.fixture
async def client(server, connect):
    return await connect(server)


async def users(client, *names):
    return [await User.create(client, n) for n in names]


async def refused_event(user, name, data, code, *mentions, handle=None, jsep=None):
    handle = handle or user.h
    tx = await user.send(name, data, handle=handle, jsep=jsep)
    err = await error_of(handle, tx, code, *mentions)
    assert err["event"] == name, err
    if isinstance(data, dict) and isinstance(data.get("callId"), str) and len(data["callId"]) == 36:
        assert err["callId"] == data["callId"], err
    return err


# ---- each code ------------------------------------------------------------------------

async def test_invalid_request_400(client):
    alice, bob = await users(client, "alice", "bob")
    assert_refused(await alice.route("POST /calls", body={"type": "AUDIO"}), "INVALID_REQUEST",
                   "participantIds", "missing")
    err = await refused_event(alice, "CALL_INITIATE", {"participantIds": [bob.id], "type": "SCREEN"},
                              "INVALID_REQUEST", "type", "AUDIO")
    assert "callId" not in err


async def test_unsupported_400(client):
    alice, bob = await users(client, "alice", "bob")
    call_id = await alice.call([bob])
    await refused_event(alice, "WEBRTC_ICE_CANDIDATE", {"callId": call_id, "candidate": {"candidate": "x"}},
                        "UNSUPPORTED", "trickle")
    await refused_event(alice, "WEBRTC_ICE_CANDIDATE", {}, "UNSUPPORTED", "trickle")
    assert_refused(await alice.route("POST /calls/signaling/ice-candidate",
                                     body={"callId": call_id, "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}),
                   "UNSUPPORTED", "trickle")
    assert_refused(await alice.route("POST /calls/signaling/ice-candidate"), "UNSUPPORTED", "trickle")
    # A candidate slipped into another event's data: pointed to trickle too
    await refused_event(alice, "CALL_END", {"callId": call_id, "candidate": "candidate:..."}, "UNSUPPORTED",
                        "trickle")
    # presence is off on this server
    assert_refused(await alice.route("GET /users/online"), "UNSUPPORTED", "presence")
    assert (await alice.get(call_id))["status"] == "RINGING"
    await alice.end(call_id)


async def test_unauthorized_401(client):
    handle = await (await client.create_session()).attach(PLUGIN)
    assert_refused(await route(handle, "GET /calls/history"), "UNAUTHORIZED", "register")
    tx = await event(handle, "CALL_ANSWER", {"callId": new_uuid()})
    await error_of(handle, tx, "UNAUTHORIZED", "register")


async def test_forbidden_403(client):
    alice, bob, mallory = await users(client, "alice", "bob", "mallory")
    call_id = await alice.call([bob])
    await bob.answer(call_id)
    # Not a participant: every request on the call
    for request, body in ((f"GET /calls/{call_id}", None), (f"GET /calls/{call_id}/participants", None),
                          (f"POST /calls/{call_id}/answer", {"accept": True}),
                          (f"POST /calls/{call_id}/answer", {"accept": False}),
                          (f"POST /calls/{call_id}/end", {"forEveryone": True}),
                          (f"POST /calls/{call_id}/participants", {"participantIds": [uid("x")]}),
                          (f"PATCH /calls/{call_id}/media", {"isMuted": True})):
        assert_refused(await mallory.route(request, body=body), "FORBIDDEN", "not a participant")
    for name, data in (("CALL_ANSWER", {}), ("CALL_DECLINE", {}), ("CALL_END", {}),
                       ("CALL_PARTICIPANT_MEDIA_UPDATE", {"isMuted": True}), ("CALL_SUBSCRIBE", {})):
        await refused_event(mallory, name, {"callId": call_id, **data}, "FORBIDDEN", "not a participant")
    # forEveryone by someone who is not the initiator
    assert_refused(await bob.route(f"POST /calls/{call_id}/end", body={"forEveryone": True}), "FORBIDDEN",
                   "initiator")
    await refused_event(bob, "CALL_END", {"callId": call_id, "forEveryone": True}, "FORBIDDEN", "initiator")
    call = await alice.get(call_id)
    assert call["status"] == "CONNECTING" and statuses(call) == {alice.id: "JOINED", bob.id: "JOINED"}
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_call_not_found_404(client):
    alice, = await users(client, "alice")
    nowhere = new_uuid()
    for request, body in ((f"GET /calls/{nowhere}", None), (f"GET /calls/{nowhere}/participants", None),
                          (f"POST /calls/{nowhere}/answer", {"accept": True}),
                          (f"POST /calls/{nowhere}/end", None),
                          (f"POST /calls/{nowhere}/participants", {"participantIds": [uid("x")]}),
                          (f"PATCH /calls/{nowhere}/media", {"isMuted": False})):
        assert_refused(await alice.route(request, body=body), "CALL_NOT_FOUND", nowhere)
    for name in ("CALL_ANSWER", "CALL_DECLINE", "CALL_END", "CALL_SUBSCRIBE"):
        await refused_event(alice, name, {"callId": nowhere}, "CALL_NOT_FOUND")


async def test_invalid_state_409(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    call_id = await alice.call([bob, carol])
    # An invitee who has not answered cannot end (leave) it, only decline
    await refused_event(carol, "CALL_END", {"callId": call_id}, "INVALID_STATE", "CALL_DECLINE")
    # Media operations need a joined participant
    await refused_event(carol, "CALL_SUBSCRIBE", {"callId": call_id}, "INVALID_STATE", "CALL_ANSWER")
    await bob.answer(call_id)
    # Answering twice; declining once joined
    await refused_event(bob, "CALL_ANSWER", {"callId": call_id}, "INVALID_STATE", "already joined")
    assert_refused(await bob.route(f"POST /calls/{call_id}/answer", body={"accept": True}), "INVALID_STATE",
                   "already joined")
    await refused_event(bob, "CALL_DECLINE", {"callId": call_id}, "INVALID_STATE", "CALL_END")
    # The initiator cannot answer its own call
    await refused_event(alice, "CALL_ANSWER", {"callId": call_id}, "INVALID_STATE")
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")
    # Acting on an ended call
    for user, request, body in ((carol, f"POST /calls/{call_id}/answer", {"accept": True}),
                                (bob, f"POST /calls/{call_id}/end", None),
                                (bob, f"PATCH /calls/{call_id}/media", {"isMuted": True}),
                                (bob, f"POST /calls/{call_id}/participants", {"participantIds": [uid("x")]})):
        assert_refused(await user.route(request, body=body), "INVALID_STATE", "over")
    # ... while reading its participants answers from the history, like GET /calls/:callId
    listed = await bob.route(f"GET /calls/{call_id}/participants")
    assert listed["status"] == 200, listed
    assert {p["userId"]: p["status"] for p in listed["body"]["participants"]} == \
        {alice.id: "LEFT", bob.id: "LEFT", carol.id: "MISSED"}
    for user, name in ((carol, "CALL_ANSWER"), (carol, "CALL_DECLINE"), (bob, "CALL_END")):
        await refused_event(user, name, {"callId": call_id}, "INVALID_STATE", "over")
    # ... and that left the stored call as it was
    call = await bob.get(call_id)
    assert call["endReason"] == "ENDED_FOR_EVERYONE"
    assert statuses(call) == {alice.id: "LEFT", bob.id: "LEFT", carol.id: "MISSED"}


async def test_user_busy_409(client):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    second = await carol.call([bob, uid("dan")])       # Bob rings in `second` ...
    first = await alice.call([bob])
    await bob.answer(first)                            # ... then joins `first`
    # Joined in `first`, Bob can neither answer `second` nor start a call
    await refused_event(bob, "CALL_ANSWER", {"callId": second}, "USER_BUSY", first)
    assert_refused(await bob.route(f"POST /calls/{second}/answer", body={"accept": True}), "USER_BUSY", first)
    assert_refused(await bob.route("POST /calls", body={"participantIds": [carol.id], "type": "AUDIO"}),
                   "USER_BUSY", first)
    await refused_event(bob, "CALL_INITIATE", {"participantIds": [carol.id], "type": "VIDEO"}, "USER_BUSY", first)
    # An initiator is joined in its own call
    assert_refused(await carol.route("POST /calls", body={"participantIds": [alice.id], "type": "AUDIO"}),
                   "USER_BUSY", second)
    assert statuses(await carol.get(second))[bob.id] == "RINGING"
    await alice.end(first, for_everyone=True, expect="CALL_ENDED")
    await carol.end(second, for_everyone=True, expect="CALL_ENDED")


# ---- limits (429) ----------------------------------------------------------------------

async def test_limit_exceeded_429(limits_server, connect):
    client = await connect(limits_server)
    alice, bob, carol, dave = await users(client, "alice", "bob", "carol", "dave")

    # max_participants = 3, initiator included
    assert_refused(await alice.route("POST /calls", body={"participantIds": [bob.id, carol.id, dave.id],
                                                          "type": "AUDIO"}), "LIMIT_EXCEEDED", "max_participants")
    await refused_event(alice, "CALL_INITIATE", {"participantIds": [bob.id, carol.id, dave.id], "type": "AUDIO"},
                        "LIMIT_EXCEEDED", "max_participants")
    call_id = await alice.call([bob, carol])
    assert_refused(await alice.route(f"POST /calls/{call_id}/participants", body={"participantIds": [dave.id]}),
                   "LIMIT_EXCEEDED", "max_participants")
    assert len((await alice.get(call_id))["participants"]) == 3

    # max_live_calls = 2: this call and one more, not a third
    other = await dave.call([uid("erin")])
    assert_refused(await bob.route("POST /calls", body={"participantIds": [uid("fay")], "type": "AUDIO"}),
                   "LIMIT_EXCEEDED", "max_live_calls")
    await alice.end(call_id)
    third = await bob.call([uid("fay")])       # room again
    await bob.end(third)
    await dave.end(other)

    # max_calls_per_minute = 3: Alice started one (refusals do not count); two more, then no
    for _ in range(2):
        await alice.end(await alice.call([dave]))
    assert_refused(await alice.route("POST /calls", body={"participantIds": [dave.id], "type": "AUDIO"}),
                   "LIMIT_EXCEEDED", "max_calls_per_minute")
    await refused_event(alice, "CALL_INITIATE", {"participantIds": [dave.id], "type": "AUDIO"},
                        "LIMIT_EXCEEDED", "max_calls_per_minute")
    # The limit is per user: Bob still may
    await bob.end(await bob.call([dave]))
    assert (await alice.ok("GET /calls/active"))["total"] == 0


# ---- bad input changes nothing -------------------------------------------------------------

BIG = "x" * 300_000


def bad_routes(call_id, bob_id):
    """(request, body, query, code, words the message must hold)"""
    path = f"/calls/{call_id}"
    return [
        ("POST /calls", {}, None, "INVALID_REQUEST", "participantIds"),
        ("POST /calls", {"participantIds": bob_id, "type": "AUDIO"}, None, "INVALID_REQUEST", "array"),
        ("POST /calls", {"participantIds": [1, 2], "type": "AUDIO"}, None, "INVALID_REQUEST", "user id"),
        ("POST /calls", {"participantIds": [""], "type": "AUDIO"}, None, "INVALID_REQUEST", "user id"),
        ("POST /calls", {"participantIds": ["two words"], "type": "AUDIO"}, None, "INVALID_REQUEST", "user id"),
        ("POST /calls", {"participantIds": [bob_id, bob_id], "type": "AUDIO"}, None, "INVALID_REQUEST", "twice"),
        ("POST /calls", {"participantIds": [], "type": "AUDIO"}, None, "INVALID_REQUEST", "empty"),
        ("POST /calls", {"participantIds": [f"u{i}" for i in range(300)], "type": "AUDIO"}, None,
         "LIMIT_EXCEEDED", "participantIds"),
        ("POST /calls", {"participantIds": [bob_id], "type": "video"}, None, "INVALID_REQUEST", "AUDIO"),
        ("POST /calls", {"participantIds": [bob_id], "type": 1}, None, "INVALID_REQUEST", "type"),
        ("POST /calls", {"participantIds": [bob_id], "type": "AUDIO", "chatId": 5}, None, "INVALID_REQUEST", "chatId"),
        ("POST /calls", {"participantIds": [bob_id], "type": "AUDIO", "chatId": BIG}, None,
         "INVALID_REQUEST", "chatId"),
        ("POST /calls", {"participantIds": [bob_id], "type": "AUDIO", "offer": {"sdp": "v=0"}}, None,
         "INVALID_REQUEST", "jsep"),
        ("POST /calls", "a string", None, "INVALID_REQUEST", "object"),
        ("POST /calls", [1, 2, 3], None, "INVALID_REQUEST", "object"),
        (f"POST {path}/answer", {}, None, "INVALID_REQUEST", "accept"),
        (f"POST {path}/answer", {"accept": "yes"}, None, "INVALID_REQUEST", "accept"),
        (f"POST {path}/answer", {"accept": False, "reason": BIG}, None, "INVALID_REQUEST", "reason"),
        (f"POST {path}/end", {"forEveryone": 1}, None, "INVALID_REQUEST", "forEveryone"),
        (f"PATCH {path}/media", {"isMuted": "true"}, None, "INVALID_REQUEST", "isMuted"),
        (f"POST {path}/participants", {"participantIds": [f"u{i}" for i in range(1000)]}, None,
         "LIMIT_EXCEEDED", "participantIds"),
        (f"POST {path}/participants", {"participantIds": None}, None, "INVALID_REQUEST", "participantIds"),
        (f"GET {path}", {"unexpected": True}, None, "INVALID_REQUEST", "no body"),
        ("GET /calls/active", None, {"limit": 101}, "INVALID_REQUEST", "limit"),
        ("GET /calls/active", None, {"limit": 0}, "INVALID_REQUEST", "limit"),
        ("GET /calls/active", None, {"page": -1}, "INVALID_REQUEST", "page"),
        ("GET /calls/active", None, {"page": "two"}, "INVALID_REQUEST", "page"),
        ("GET /calls/active", None, "page=2", "INVALID_REQUEST", "query"),
        ("GET /calls/history", None, {"status": "RINGING"}, "INVALID_REQUEST", "status"),
        ("GET /calls/history", None, {"type": "SCREEN"}, "INVALID_REQUEST", "type"),
        ("GET /calls/history", None, {"limit": 10 ** 12}, "INVALID_REQUEST", "limit"),
        ("GET /calls/nope", None, None, "INVALID_REQUEST", "UUID"),
        ("DELETE " + path, None, None, "INVALID_REQUEST", "not allowed"),
        ("GET /nothing/here", None, None, "INVALID_REQUEST", "unknown route"),
        ("SHOUT", None, None, "INVALID_REQUEST", "unknown request"),
        ("GET " + "/x" * 50_000, None, None, "INVALID_REQUEST", "unknown route"),
    ]


def bad_events(call_id, bob_id):
    """(name, data, code, words the message must hold)"""
    return [
        ("CALL_EXPLODE", {"callId": call_id}, "INVALID_REQUEST", "unknown event"),
        ("X" * 100_000, {}, "INVALID_REQUEST", "unknown event"),
        ("CALL_ANSWER", {}, "INVALID_REQUEST", "callId"),
        ("CALL_ANSWER", "not an object", "INVALID_REQUEST", "object"),
        ("CALL_ANSWER", None, "INVALID_REQUEST", "data"),
        ("CALL_ANSWER", {"callId": 12}, "INVALID_REQUEST", "callId"),
        ("CALL_ANSWER", {"callId": "not-a-uuid"}, "INVALID_REQUEST", "UUID"),
        ("CALL_DECLINE", {"callId": call_id, "reason": 5}, "INVALID_REQUEST", "reason"),
        ("CALL_DECLINE", {"callId": call_id, "reason": BIG}, "INVALID_REQUEST", "reason"),
        ("CALL_END", {"callId": call_id, "forEveryone": "true"}, "INVALID_REQUEST", "forEveryone"),
        ("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": 1}, "INVALID_REQUEST", "isMuted"),
        ("CALL_INITIATE", {"participantIds": [bob_id], "type": "AUDIO", "offer": {"type": "offer", "sdp": "v=0"}},
         "INVALID_REQUEST", "jsep"),
        ("CALL_INITIATE", {"participantIds": [{"id": bob_id}], "type": "AUDIO"}, "INVALID_REQUEST", "user id"),
        ("CALL_INITIATE", {"participantIds": [BIG], "type": "AUDIO"}, "INVALID_REQUEST", "user id"),
        ("WEBRTC_OFFER", {"callId": call_id, "offer": {"type": "offer", "sdp": "v=0\r\n"}}, "INVALID_REQUEST",
         "jsep"),
        ("WEBRTC_OFFER", {"callId": call_id, "sdp": "v=0\r\n"}, "INVALID_REQUEST", "jsep"),
        ("WEBRTC_OFFER", {"callId": call_id}, "INVALID_REQUEST", "jsep"),
        ("WEBRTC_ANSWER", {"callId": call_id, "answer": {"type": "answer", "sdp": "v=0\r\n"}}, "INVALID_REQUEST",
         "jsep"),
        ("CALL_SUBSCRIBER_CONFIGURE", {"callId": call_id, "substream": 7}, "INVALID_REQUEST", "substream"),
    ]


def raw_bodies(call_id):
    """Whole message bodies no helper would send: (body, code). Async ones answer an ERROR."""
    return [
        ({}, "INVALID_REQUEST"),
        ({"request": 42}, "INVALID_REQUEST"),
        ({"request": None}, "INVALID_REQUEST"),
        ({"request": ["GET /calls/active"]}, "INVALID_REQUEST"),
        ({"request": "GET /calls/active", "event": "CALL_END"}, "INVALID_REQUEST"),
        ({"request": "GET /calls/active", "query": [1]}, "INVALID_REQUEST"),
        ({"request": "POST /calls/" + call_id + "/end", "body": {"forEveryone": {"deep": [[[[]]]]}}},
         "INVALID_REQUEST"),
        ({"event": 5, "data": {}}, "INVALID_REQUEST"),
        ({"event": {"name": "CALL_END"}}, "INVALID_REQUEST"),
        ({"event": "CALL_END", "timestamp": 5, "data": {"callId": call_id}}, "INVALID_REQUEST"),
        ({"event": "CALL_END", "timestamp": now_iso(), "data": [call_id]}, "INVALID_REQUEST"),
    ]


async def test_bad_input_is_refused_and_changes_nothing(client, server, connect):
    alice, bob, carol = await users(client, "alice", "bob", "carol")
    # A finished call in the history, and a live one (Bob joined, Carol ringing)
    done = await alice.call([bob])
    await bob.decline(done)
    call_id = await alice.call([bob, carol], type="VIDEO")
    await bob.answer(call_id)
    history = await alice.ok("GET /calls/history")
    before = {u.id: await u.get(call_id) for u in (alice, bob, carol)}

    for who in (alice, bob, carol):
        for request, body, query, code, mention in bad_routes(call_id, bob.id):
            reply = await who.route(request, body=body, query=query)
            assert_refused(reply, code, mention)
        for name, data, code, mention in bad_events(call_id, bob.id):
            tx = await who.send(name, data)
            err = await error_of(who.h, tx, code, mention)
            assert err["event"] == name or (len(name) > 63 and name.startswith(err["event"]))  # long: cut
        for body, code in raw_bodies(call_id):
            answer = await who.h.message(body)
            if answer.get("janus") == "ack":
                await error_of(who.h, answer["transaction"], code)
            else:
                assert_refused(answer, code)
        await janus_alive(client)

    # Past max_participants (16); for Alice, joined in the call, USER_BUSY comes first
    many = {"participantIds": [f"u{i}" for i in range(20)], "type": "AUDIO"}
    assert_refused(await carol.route("POST /calls", body=many), "LIMIT_EXCEEDED", "max_participants")
    assert_refused(await alice.route("POST /calls", body=many), "USER_BUSY", call_id)
    # Garbage Janus itself refuses before the plugin sees it
    for body in ([1, 2], "text", None):
        with pytest.raises(JanusError):
            await alice.h.request({"janus": "message", "body": body})
    # A huge message (about 1 MB) is refused by the plugin, not by a crash
    reply = await alice.route("POST /calls", body={"participantIds": [bob.id], "type": "AUDIO",
                                                   "chatId": "c" * 1_000_000})
    assert_refused(reply, "INVALID_REQUEST", "chatId")
    # Registration garbage on a fresh handle: refused, and the handle stays unregistered
    fresh = await (await client.create_session()).attach(PLUGIN)
    for fields in ({"userId": BIG}, {"userId": uid("z"), "userName": BIG}, {"token": BIG},
                   {"userId": uid("z"), "avatar": BIG}):
        reply = await register(fresh, **fields)
        assert reply["status"] in (400, 401), reply
    assert_refused(await route(fresh, "GET /calls/active"), "UNAUTHORIZED")

    # Nothing changed: the same call for everybody, byte for byte; the history too
    await janus_alive(client)
    after = {u.id: await u.get(call_id) for u in (alice, bob, carol)}
    assert after == before
    assert statuses(after[alice.id]) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "RINGING"}
    assert await alice.ok("GET /calls/history") == history
    assert (await carol.ok("GET /calls/active"))["total"] == 1
    # ... and the server still works for new clients
    other = await connect(server)
    dave = await User.create(other, "dave")
    await dave.end(await dave.call([uid("erin")]))
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


async def test_internal_when_the_history_cannot_be_read(janus_factory, connect):
    """INTERNAL (500): the history database is damaged under a running Janus (a table
    dropped behind its back). The routes that read it answer 500 with SQLite's reason;
    Janus lives on, and calls still work (their state is in memory)."""
    import sqlite3

    server = janus_factory(configs=calls_config(ring_timeout=60, connect_timeout=60))
    client = await connect(server)
    ana, ben = await users(client, "ana", "ben")
    call_id = await ana.call([ben])
    await ben.decline(call_id)
    await ana.wait("CALL_ENDED", callId=call_id)
    reply = await ana.route("GET /calls/history")
    assert reply["status"] == 200 and reply["body"]["total"] == 1, reply

    db = sqlite3.connect(str(server.data_dir / "calls.db"))
    db.execute("DROP TABLE participants")
    db.commit()
    db.close()

    assert_refused(await ana.route("GET /calls/history"), "INTERNAL", "history", "participants")
    assert_refused(await ana.route(f"GET /calls/{call_id}"), "INTERNAL", "history", "participants")
    # The server goes on: a new call rings and can be answered
    second = await ana.call([ben])
    await ben.answer(second)
    assert (await ana.get(second))["status"] == "CONNECTING"
    await janus_alive(client)
