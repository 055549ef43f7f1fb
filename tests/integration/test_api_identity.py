"""Identity (docs/api.md §3): register in open mode and in JWT mode (HS256 tokens
built here by hand), every refused token, open mode only when switched on, and
UNAUTHORIZED for every other request on an unregistered handle. Then what a
registration is worth over time and across calls: jwt_audience and jwt_issuer,
a handle whose token expired (refused until it registers again, its media goes
on), open mode with a key (tokens only), and someone no longer in a live call
reading nothing of it until it is over.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import time

import pytest

from calls_helpers import (PLUGIN, User, answer_of, assert_refused, b64url, calls_config, check_reply, claims,
                           error_of, make_jwt, new_uuid, statuses, uid)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import event, register, route
from media_helpers import Participant, party, rises_by  # noqa: F401 (party: a fixture)

SECRET = "a-test-secret-" + "x" * 40


@pytest.fixture(scope="module")
def open_server(janus_module_factory):
    return janus_module_factory(configs=calls_config())


@pytest.fixture(scope="module")
def jwt_server(janus_module_factory):
    """JWT mode by default: the config names no `auth` at all, only the secret."""
    return janus_module_factory(configs=calls_config(auth=None, jwt_secret=SECRET))


async def fresh_handle(client):
    return await (await client.create_session()).attach(PLUGIN)


async def still_unregistered(handle):
    assert_refused(await route(handle, "GET /calls/active"), "UNAUTHORIZED", "register")


# ---- open mode ----------------------------------------------------------------------

async def test_register_in_open_mode(open_server, connect):
    client = await connect(open_server)
    handle = await fresh_handle(client)
    user_id = uid("ana")
    answer = await register(handle, userId=user_id, userName="Ana Lima", avatar="https://example.org/a.png")
    assert answer == {"status": 200, "body": {"user": {"userId": user_id, "userName": "Ana Lima",
                                                       "avatar": "https://example.org/a.png"}}}
    # Registering again on the same handle refreshes the names
    answer = await register(handle, userId=user_id, userName="Ana L.")
    assert answer["body"]["user"] == {"userId": user_id, "userName": "Ana L.",
                                      "avatar": "https://example.org/a.png"}
    # ... but a handle is one user's: another id is refused, the handle stays Ana's
    reply = await register(handle, userId=uid("bob"), userName="Bob")
    assert_refused(reply, "INVALID_STATE", user_id)
    body = (await route(handle, "GET /calls/active"))
    assert body["status"] == 200
    # Names are optional: null when not given
    other = await fresh_handle(client)
    bare = uid("bare")
    assert await register(other, userId=bare) == \
        {"status": 200, "body": {"user": {"userId": bare, "userName": None, "avatar": None}}}


@pytest.mark.parametrize("fields, code", [
    ({}, "INVALID_REQUEST"),                                  # neither token nor userId
    ({"userId": ""}, "INVALID_REQUEST"),
    ({"userId": "has space"}, "INVALID_REQUEST"),
    ({"userId": "x" * 65}, "INVALID_REQUEST"),
    ({"userId": 42}, "INVALID_REQUEST"),
    ({"userId": "ok-id", "userName": "x" * 257}, "INVALID_REQUEST"),
    ({"userId": "ok-id", "userName": "bad\u0001name"}, "INVALID_REQUEST"),
    ({"userId": "ok-id", "avatar": ["not", "text"]}, "INVALID_REQUEST"),
    ({"token": 12}, "INVALID_REQUEST"),
    ({"token": "not.a.jwt"}, "UNAUTHORIZED"),                # open mode verifies no token without a key
])
async def test_bad_register_is_refused_and_leaves_the_handle_unregistered(open_server, connect, fields, code):
    handle = await fresh_handle(await connect(open_server))
    assert_refused(await register(handle, **fields), code)
    await still_unregistered(handle)


# ---- every other request needs a registered handle ------------------------------------

CID = new_uuid()
OFFER = "a real SDP offer, made by an aiortc peer in the test"
SYNC_ROUTES = [
    ("POST /calls", {"participantIds": ["someone"], "type": "AUDIO"}),
    (f"POST /calls/{CID}/answer", {"accept": True}),
    (f"POST /calls/{CID}/answer", {"accept": False}),
    (f"POST /calls/{CID}/end", {"forEveryone": True}),
    (f"GET /calls/{CID}", None),
    ("GET /calls/active", None),
    ("GET /calls/history", None),
    (f"POST /calls/{CID}/participants", {"participantIds": ["someone"]}),
    (f"PATCH /calls/{CID}/media", {"isMuted": True}),
    (f"GET /calls/{CID}/participants", None),
    ("GET /users/online", None),
    ("POST /calls/signaling/configure", {"callId": CID, "substream": 1}),
]
# POST /calls/signaling/answer and WEBRTC_ANSWER need a jsep answer, which Janus itself
# refuses (469, "Unexpected ANSWER") on a handle it never sent an offer to: they cannot
# reach the plugin from an unregistered handle.
ASYNC_ROUTES = [
    ("POST /calls/signaling/offer", {"callId": CID}, OFFER),
    ("POST /calls/signaling/subscribe", {"callId": CID}, None),
]
EVENTS = [
    ("CALL_INITIATE", {"participantIds": ["someone"], "type": "VIDEO"}, None),
    ("CALL_ANSWER", {"callId": CID}, None),
    ("CALL_DECLINE", {"callId": CID}, None),
    ("CALL_END", {"callId": CID}, None),
    ("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": CID, "isMuted": True}, None),
    ("WEBRTC_OFFER", {"callId": CID}, OFFER),
    ("CALL_SUBSCRIBE", {"callId": CID}, None),
    ("CALL_SUBSCRIBER_CONFIGURE", {"callId": CID, "temporal": 0}, None),
]


async def test_everything_but_register_needs_a_registered_handle(open_server, connect, peers):
    client = await connect(open_server)
    handle = await fresh_handle(client)

    async def with_sdp(jsep):
        """(handle, jsep) for a request: an offer goes on a fresh handle each time, since
        Janus keeps the PeerConnection of the first offer it saw on a handle."""
        if jsep != OFFER:
            return handle, None
        return await fresh_handle(client), await peers("offer", video=False).offer()
    for request, body in SYNC_ROUTES:
        reply = await route(handle, request, body=body)
        assert_refused(reply, "UNAUTHORIZED", "register")
    for request, body, jsep in ASYNC_ROUTES:
        h, sdp = await with_sdp(jsep)
        ack = await route(h, request, body=body, jsep=sdp)
        assert ack["janus"] == "ack", (request, ack)
        err = await error_of(h, ack["transaction"], "UNAUTHORIZED", "register")
        assert err["event"] == request and err["callId"] == CID
    for name, data, jsep in EVENTS:
        h, sdp = await with_sdp(jsep)
        tx = await event(h, name, data, jsep=sdp)
        err = await error_of(h, tx, "UNAUTHORIZED", "register")
        assert err["event"] == name
        if "callId" in data:
            assert err["callId"] == CID


# ---- JWT mode ----------------------------------------------------------------------

async def test_register_with_a_valid_token(jwt_server, connect):
    handle = await fresh_handle(await connect(jwt_server))
    user_id = uid("carla")
    token = make_jwt(claims(user_id, name="Carla", picture="https://example.org/c.png"), SECRET)
    answer = await register(handle, token=token)
    assert answer == {"status": 200, "body": {"user": {"userId": user_id, "userName": "Carla",
                                                       "avatar": "https://example.org/c.png"}}}
    # The handle works: a route answers for Carla
    reply = await route(handle, "GET /calls/active")
    assert check_reply(reply)["status"] == 200 and reply["body"]["total"] == 0
    # name and picture are optional
    other = await fresh_handle(await connect(jwt_server))
    bare = uid("bare")
    assert (await register(other, token=make_jwt(claims(bare), SECRET)))["body"]["user"] == \
        {"userId": bare, "userName": None, "avatar": None}


def _tampered(secret):
    token = make_jwt(claims("mallory"), secret)
    head, _, sig = token.split(".")
    return ".".join([head, b64url(b'{"sub":"admin","exp":9999999999}'), sig])


REFUSED_TOKENS = {
    "expired": lambda: make_jwt(claims("u1", exp_in=-3600), SECRET),
    "not yet valid (nbf)": lambda: make_jwt(claims("u1", nbf_in=3600), SECRET),
    "bad signature": lambda: make_jwt(claims("u1"), "another-secret-" + "y" * 40),
    "tampered payload": lambda: _tampered(SECRET),
    "alg none": lambda: make_jwt(claims("u1"), SECRET, alg="none"),
    "alg none with a signature": lambda: make_jwt(claims("u1"), SECRET, header={"alg": "none", "typ": "JWT"}),
    "HS512": lambda: make_jwt(claims("u1"), SECRET, alg="HS512"),
    "RS256 without a public key": lambda: make_jwt(claims("u1"), SECRET, header={"alg": "RS256", "typ": "JWT"}),
    "missing sub": lambda: make_jwt({"name": "Nobody", "exp": int(time.time()) + 600}, SECRET),
    "sub not a string": lambda: make_jwt({"sub": 12345, "exp": int(time.time()) + 600}, SECRET),
    "two parts": lambda: ".".join(make_jwt(claims("u1"), SECRET).split(".")[:2]),
    "garbage": lambda: "definitely not a token",
}


@pytest.mark.parametrize("case", list(REFUSED_TOKENS))
async def test_refused_tokens(jwt_server, connect, case):
    handle = await fresh_handle(await connect(jwt_server))
    error = assert_refused(await register(handle, token=REFUSED_TOKENS[case]()), "UNAUTHORIZED", "token")
    if case == "expired":
        assert "expired" in error["message"]
    if case.startswith("alg none") or case == "HS512":
        assert "alg" in error["message"].lower()
    if case == "RS256 without a public key":
        assert "jwt_public_key" in error["message"]
    await still_unregistered(handle)


async def test_jwt_mode_refuses_the_userid_form(jwt_server, connect):
    """Open mode must be switched on explicitly: this server's config does not name
    `auth`, so it verifies tokens and refuses a stated identity."""
    handle = await fresh_handle(await connect(jwt_server))
    reply = await register(handle, userId=uid("eve"), userName="Eve")
    assert_refused(reply, "UNAUTHORIZED", "token", "open")
    await still_unregistered(handle)


async def test_users_identified_by_token_call_each_other(jwt_server, connect):
    """The server sets initiatorId / userId itself, from the token."""
    client = await connect(jwt_server)
    a_id, b_id = uid("ana"), uid("bia")
    a, b = await fresh_handle(client), await fresh_handle(client)
    await register(a, token=make_jwt(claims(a_id, name="Ana"), SECRET))
    await register(b, token=make_jwt(claims(b_id, name="Bia"), SECRET))
    reply = await route(a, "POST /calls", body={"participantIds": [b_id], "type": "AUDIO"})
    assert check_reply(reply)["status"] == 201
    call = reply["body"]["call"]
    assert call["initiatorId"] == a_id
    assert [(p["userId"], p["userName"]) for p in call["participants"]] == [(a_id, "Ana"), (b_id, "Bia")]
    user_b = User(client, b_id, "Bia", None)
    user_b.devices.append(b)
    incoming = await user_b.wait("CALL_INCOMING", callId=call["id"])
    assert (incoming["initiatorId"], incoming["initiatorName"]) == (a_id, "Ana")
    assert (await route(a, f"POST /calls/{call['id']}/end"))["status"] == 200


async def test_a_client_never_speaks_for_another_user(open_server, connect):
    """userId / initiatorId / fromUserId put in a request are not read: the server
    names the user of the handle."""
    client = await connect(open_server)
    alice, bob, carol = [await User.create(client, n) for n in ("alice", "bob", "carol")]
    tx = await alice.send("CALL_INITIATE", {"participantIds": [bob.id, carol.id], "type": "AUDIO",
                                            "initiatorId": carol.id, "userId": carol.id, "fromUserId": carol.id})
    call_id = (await answer_of(alice.h, tx, "CALL_STARTED"))["callId"]
    call = await bob.get(call_id)
    assert call["initiatorId"] == alice.id
    assert [(p["userId"], p["role"]) for p in call["participants"]] == \
        [(alice.id, "INITIATOR"), (bob.id, "PARTICIPANT"), (carol.id, "PARTICIPANT")]
    # Bob answers "as Carol": Bob joins
    tx = await bob.send("CALL_ANSWER", {"callId": call_id, "userId": carol.id})
    assert (await answer_of(bob.h, tx, "CALL_PARTICIPANT_JOINED"))["userId"] == bob.id
    # Bob mutes "Alice": Bob is muted
    body = await bob.ok(f"PATCH /calls/{call_id}/media", body={"userId": alice.id, "isMuted": True})
    assert (body["participant"]["userId"], body["participant"]["isMuted"]) == (bob.id, True)
    call = await alice.get(call_id)
    assert (alice.participant(call)["isMuted"], bob.participant(call)["isMuted"]) == (False, True)
    assert statuses(call) == {alice.id: "JOINED", bob.id: "JOINED", carol.id: "RINGING"}
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")


# ---- jwt_audience and jwt_issuer --------------------------------------------------------

AUDIENCE, ISSUER = "calls.test.example", "https://id.test.example/"


@pytest.fixture(scope="module")
def claims_server(janus_module_factory):
    return janus_module_factory(configs=calls_config(auth=None, jwt_secret=SECRET, jwt_audience=AUDIENCE,
                                                     jwt_issuer=ISSUER))


@pytest.mark.parametrize("extra, refused", [
    ({"aud": AUDIENCE, "iss": ISSUER}, None),
    ({"aud": ["chat.test.example", AUDIENCE], "iss": ISSUER}, None),
    ({"iss": ISSUER}, "the token has no 'aud' claim"),
    ({"aud": "chat.test.example", "iss": ISSUER}, "claim 'aud' is \"chat.test.example\""),
    ({"aud": ["chat.test.example"], "iss": ISSUER}, f"claim 'aud' does not list \"{AUDIENCE}\""),
    ({"aud": AUDIENCE}, "the token has no 'iss' claim"),
    ({"aud": AUDIENCE, "iss": "https://evil.example/"}, "claim 'iss' is \"https://evil.example/\""),
    ({"aud": AUDIENCE, "iss": 7}, "claim 'iss' must be a string"),
], ids=["both", "aud-in-a-list", "no-aud", "other-aud", "aud-list-without", "no-iss", "other-iss", "iss-number"])
async def test_audience_and_issuer(claims_server, connect, extra, refused):
    handle = await fresh_handle(await connect(claims_server))
    user_id = uid("ana")
    reply = await register(handle, token=make_jwt(claims(user_id, **extra), SECRET))
    if refused is None:
        assert check_reply(reply)["body"]["user"]["userId"] == user_id
        assert (await route(handle, "GET /calls/active"))["status"] == 200
        return
    error = assert_refused(reply, "UNAUTHORIZED", refused)
    assert ("jwt_audience" if "aud" in refused else "jwt_issuer") in error["message"], error
    await still_unregistered(handle)


# ---- open mode with a key: tokens only ----------------------------------------------------

async def test_open_mode_with_a_key_requires_a_token(janus_factory, connect):
    server = janus_factory(configs=calls_config(jwt_secret=SECRET))   # auth = "open" and a secret
    handle = await fresh_handle(await connect(server))
    assert_refused(await register(handle, userId=uid("eve"), userName="Eve"), "UNAUTHORIZED",
                   "a token is required", "token")
    await still_unregistered(handle)
    user_id = uid("ana")
    assert (await register(handle, token=make_jwt(claims(user_id), SECRET)))["body"]["user"]["userId"] == user_id
    # Registered by token, the userId form is no way around it either
    assert_refused(await register(handle, userId=user_id), "UNAUTHORIZED", "a token is required")
    assert (await route(handle, "GET /calls/active"))["status"] == 200


# ---- a registration whose token expires ----------------------------------------------------

class TokenParticipant(Participant):
    """A media participant whose two handles register with tokens (open mode with a key)."""

    async def _register(self, handle, events):
        reply = await register(handle, token=self.token(600), events=events)
        assert reply.get("status") == 200, f"register {self.user_id}: {reply}"

    def token(self, exp_in):
        return make_jwt(claims(self.user_id, name=self.user_name, exp_in=exp_in), SECRET)


async def test_an_expired_token_stops_requests_not_media(janus_factory, party):  # noqa: F811
    """A handle whose token expired hears UNAUTHORIZED "token expired: register again" for
    every request and event; its call and its media go on; registering again with a fresh
    token on the same handles makes them work again."""
    await party.start(janus_factory, jwt_secret=SECRET)
    alice, bob = [TokenParticipant(party, uid(n), n.capitalize()) for n in ("alice", "bob")]
    for p in (alice, bob):
        party.members.append(p)
        await p.open(party.client)
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await alice.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED")
    await party.all_see_all([alice, bob], frames=10, timeout=30)

    # Alice registers her two handles again with a token that expires 2 s from now
    # (30 s of clock leeway: its exp is 28 s in the past), and it expires
    for h, events in ((alice.pub, True), (alice.sub, False)):
        assert (await register(h, token=alice.token(-28), events=events))["status"] == 200
    await asyncio.sleep(3)
    for request, body in (("GET /calls/active", None), (f"GET /calls/{call_id}", None),
                          (f"PATCH /calls/{call_id}/media", {"isMuted": True}),
                          ("POST /calls", {"participantIds": [bob.user_id], "type": "AUDIO"})):
        error = assert_refused(await route(alice.pub, request, body=body), "UNAUTHORIZED",
                               "token expired: register again")
        assert "register" in error["message"]
    for handle, name, data in ((alice.pub, "CALL_END", {"callId": call_id, "forEveryone": True}),
                               (alice.pub, "CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": True}),
                               (alice.sub, "CALL_SUBSCRIBE", {"callId": call_id})):
        tx = await event(handle, name, data)
        err = await error_of(handle, tx, "UNAUTHORIZED", "token expired: register again")
        assert (err["event"], err["callId"]) == (name, call_id)

    # ... while her media goes on both ways, and the call is as it was
    await rises_by(20, lambda: bob.frames(alice.user_id), "Bob sees Alice after her token expired")
    await rises_by(20, lambda: alice.frames(bob.user_id), "Alice sees Bob after her token expired")
    assert alice.rx.pc.connectionState == "connected" and alice.tx.pc.connectionState == "connected"
    call = (await bob.route(f"GET /calls/{call_id}"))["call"]
    assert call["status"] == "CONNECTED" and statuses(call) == {alice.user_id: "JOINED", bob.user_id: "JOINED"}
    assert [p["isMuted"] for p in call["participants"]] == [False, False]   # her refused mute changed nothing
    assert not bob.errors(), bob.errors()

    # An expired token is refused at register; a fresh one on the same handle works again
    assert_refused(await register(alice.pub, token=alice.token(-60)), "UNAUTHORIZED", "expired")
    assert (await register(alice.pub, token=alice.token(600)))["status"] == 200
    assert (await route(alice.pub, "GET /calls/active"))["body"]["total"] == 1
    assert (await route(alice.pub, f"PATCH /calls/{call_id}/media", body={"isMuted": True}))["status"] == 200
    await bob.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId=alice.user_id, isMuted=True)
    # The subscriber handle still needs its own registration
    assert_refused(await route(alice.sub, "GET /calls/active"), "UNAUTHORIZED", "token expired")
    await alice.send("CALL_END", {"callId": call_id, "forEveryone": True})
    await bob.wait("CALL_ENDED", callId=call_id)


# ---- no longer in a live call ----------------------------------------------------------------

async def test_someone_no_longer_in_a_live_call_reads_nothing_of_it(janus_factory, connect, admin):
    """Declined, left, busy, missed or removed: GET /calls/:id, its participants (with stats)
    and the media route answer FORBIDDEN while the call is live; once it is over, every
    participant reads it from the history."""
    server = janus_factory(configs=calls_config(ring_timeout=4, connect_timeout=30))
    client = await connect(server)
    alice, bob, carol, dave, erin, frank, gina = [await User.create(client, n) for n in
                                                  ("alice", "bob", "carol", "dave", "erin", "frank", "gina")]
    await erin.call([uid("nobody")])                          # erin is joined there: busy
    call_id = await alice.call([bob, carol, dave, erin, frank, gina], type="VIDEO")
    for u in (bob, dave, gina):
        await u.answer(call_id)
    await carol.decline(call_id)                              # DECLINED
    await bob.end(call_id)                                    # LEFT
    adm = await admin(server)
    reply = check_reply(await adm.message_plugin(PLUGIN, {"request": "remove_participant", "callId": call_id,
                                                          "userId": gina.id}))
    assert reply["status"] == 200                             # removed (LEFT)
    await alice.wait("CALL_PARTICIPANT_LEFT", callId=call_id, userId=frank.id, timeout=10)   # MISSED
    call = await alice.get(call_id)
    assert call["status"] == "CONNECTING"
    assert statuses(call) == {alice.id: "JOINED", bob.id: "LEFT", carol.id: "DECLINED", dave.id: "JOINED",
                              erin.id: "BUSY", frank.id: "MISSED", gina.id: "LEFT"}

    for u, status in ((bob, "LEFT"), (carol, "DECLINED"), (erin, "BUSY"), (frank, "MISSED"), (gina, "LEFT")):
        for request, body in ((f"GET /calls/{call_id}", None), (f"GET /calls/{call_id}/participants", None),
                              (f"PATCH /calls/{call_id}/media", {"isMuted": True}),
                              (f"POST /calls/{call_id}/participants", {"participantIds": [uid("hugo")]})):
            assert_refused(await u.route(request, body=body), "FORBIDDEN", "no longer in call", call_id,
                           f"your status is {status}")
        tx = await u.send("CALL_SUBSCRIBE", {"callId": call_id})
        await error_of(u.h, tx, "FORBIDDEN", "no longer in call")
        assert call_id not in [c["id"] for c in (await u.ok("GET /calls/active"))["calls"]]
    # Those still in read it, stats included
    parts = (await dave.ok(f"GET /calls/{call_id}/participants"))["participants"]
    assert [p["userId"] for p in parts] == [p["userId"] for p in call["participants"]]

    # Over: every participant reads it, and its participants, from the history
    await alice.end(call_id, for_everyone=True, expect="CALL_ENDED")
    for u in (alice, bob, carol, dave, erin, frank, gina):
        ended = await u.get(call_id)
        assert ended["status"] == "ENDED" and ended["endReason"] == "ENDED_FOR_EVERYONE"
        assert (await u.ok(f"GET /calls/{call_id}/participants"))["participants"] == ended["participants"]
