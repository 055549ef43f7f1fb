"""Helpers for the call API tests (test_api_*.py): users made of registered Janus
handles, the API's names and shapes (docs/api.md §2-§8), and checks that
every event and call a test receives has exactly the contract's fields.

    server = janus_module_factory(configs=calls_config(ring_timeout=2))
    client = await connect(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])                      # CALL_INITIATE, waits CALL_STARTED
    await bob.wait("CALL_INCOMING", callId=call_id)        # the data of the event, checked
    await bob.answer(call_id)                              # CALL_ANSWER
    call = await alice.get(call_id)                        # GET /calls/:callId, checked

A User has one Janus session per device (`devices`, handles registered as that
user); `user.h` is the first. User ids get a random suffix, so tests sharing a
Janus never see each other's users.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time

import pytest

from harness.client import event, event_name, plugin_data, register, route

PLUGIN = "janus.plugin.calls"
WAIT = 6.0  # default bound on a wait for one event, in seconds

# ---- The API's names (docs/api.md §4, §7, §8) ----

ERROR_STATUS = {"INVALID_REQUEST": 400, "UNSUPPORTED": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403,
                "CALL_NOT_FOUND": 404, "INVALID_STATE": 409, "USER_BUSY": 409, "LIMIT_EXCEEDED": 429,
                "INTERNAL": 500}
CALL_STATUSES = {"RINGING", "CONNECTING", "CONNECTED", "ENDED", "MISSED", "DECLINED", "FAILED", "BUSY"}
FINAL_STATUSES = {"ENDED", "MISSED", "DECLINED", "FAILED", "BUSY"}
PARTICIPANT_STATUSES = {"RINGING", "JOINED", "DECLINED", "MISSED", "BUSY", "LEFT", "FAILED"}
LEFT_REASONS = {"LEFT", "DECLINED", "MISSED", "BUSY", "FAILED", "DISCONNECTED"}
END_REASONS = {"HANGUP", "ENDED_FOR_EVERYONE", "CANCELLED", "RING_TIMEOUT", "DECLINED", "BUSY",
               "CONNECT_TIMEOUT", "DISCONNECTED", "ADMIN", "SERVER_RESTART"}

CALL_KEYS = {"id", "roomId", "chatId", "type", "status", "initiatorId", "participants", "startedAt",
             "connectedAt", "endedAt", "duration", "endedBy", "endReason"}
PARTICIPANT_KEYS = {"userId", "userName", "avatar", "role", "status", "joinedAt", "leftAt", "isMuted",
                    "isVideoEnabled", "isSharingScreen"}

# event name -> (keys its data always has, keys it may have)
EVENT_KEYS = {
    "CALL_INCOMING": ({"callId", "type", "initiatorId", "initiatorName", "initiatorAvatar", "participants",
                       "roomId", "chatId"}, set()),
    "CALL_STARTED": ({"callId", "call"}, set()),
    "CALL_STATUS_CHANGED": ({"callId", "status", "previousStatus"}, set()),
    "CALL_PARTICIPANT_JOINED": ({"callId", "userId", "userName", "avatar"}, set()),
    "CALL_PARTICIPANT_LEFT": ({"callId", "userId", "userName", "reason"}, {"message"}),
    "CALL_PARTICIPANT_MEDIA_CHANGED": ({"callId", "userId", "userName", "isMuted", "isVideoEnabled",
                                        "isSharingScreen"}, set()),
    "CALL_ENDED": ({"callId", "status", "duration", "endedBy", "reason"}, set()),
    "WEBRTC_ANSWER_RECEIVED": ({"callId", "fromUserId"}, set()),
    "WEBRTC_OFFER_RECEIVED": ({"callId", "fromUserId", "fromUserName", "streams"}, set()),
    "ERROR": ({"code", "status", "message", "event"}, {"callId"}),
}

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uid(name: str) -> str:
    """A user id unique to this test run: `name` plus a random suffix."""
    return f"{name}-{secrets.token_hex(4)}"


def new_uuid() -> str:
    """A well-formed call id that names no call."""
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def calls_config(**general) -> dict:
    """The plugin's config: open auth, short timeouts, history in the server's data
    dir; keyword arguments override (a value None removes the key)."""
    base = {"auth": "open", "ring_timeout": 2, "connect_timeout": 3, "reconnect_grace": 2,
            "db_path": "{data_dir}/calls.db"}
    base.update(general)
    return {PLUGIN: {"general": {k: v for k, v in base.items() if v is not None}}}


# ---- Shape checks ----------------------------------------------------------------------

def check_time(value, what, nullable=True):
    if value is None:
        assert nullable, f"{what} is null"
        return
    assert isinstance(value, str) and ISO_MS.match(value), f"{what} is not ISO-8601 UTC with ms: {value!r}"


def check_participant(p: dict, extra=frozenset()) -> dict:
    assert PARTICIPANT_KEYS <= set(p) <= PARTICIPANT_KEYS | set(extra), \
        f"participant keys {sorted(p)} != contract {sorted(PARTICIPANT_KEYS)}"
    assert p["role"] in {"INITIATOR", "PARTICIPANT"}, p
    assert p["status"] in PARTICIPANT_STATUSES, p
    for k in ("isMuted", "isVideoEnabled", "isSharingScreen"):
        assert isinstance(p[k], bool), p
    check_time(p["joinedAt"], "joinedAt")
    check_time(p["leftAt"], "leftAt")
    if p["status"] in {"JOINED", "LEFT", "FAILED"} and p["role"] == "PARTICIPANT":
        assert p["joinedAt"] is not None, p
    if p["status"] in {"RINGING", "JOINED"}:
        assert p["leftAt"] is None, p
    return p


def check_call(call: dict, extra_participant_keys=frozenset()) -> dict:
    """A call of docs/api.md §4: exactly its keys, values of the right kind, and the
    rules that tie them (final status <-> endedAt/duration/endReason)."""
    assert set(call) == CALL_KEYS, f"call keys {sorted(call)} != contract {sorted(CALL_KEYS)}"
    assert UUID.match(call["id"]) and UUID.match(call["roomId"]), call
    assert call["type"] in {"AUDIO", "VIDEO"}, call
    assert call["status"] in CALL_STATUSES, call
    assert call["chatId"] is None or isinstance(call["chatId"], str), call
    for k in ("startedAt", "connectedAt", "endedAt"):
        check_time(call[k], k, nullable=(k != "startedAt"))
    roles = [p["role"] for p in call["participants"]]
    assert roles.count("INITIATOR") == 1, call
    for p in call["participants"]:
        check_participant(p, extra_participant_keys)
        if p["role"] == "INITIATOR":
            assert p["userId"] == call["initiatorId"], call
    if call["status"] in FINAL_STATUSES:
        assert call["endedAt"] is not None and call["endReason"] in END_REASONS, call
        assert isinstance(call["duration"], int) and call["duration"] >= 0, call
        assert not any(p["status"] in {"RINGING", "JOINED"} for p in call["participants"]), call
        if call["connectedAt"] is None:
            assert call["duration"] == 0, call
    else:
        assert call["endedAt"] is None and call["endReason"] is None and call["duration"] is None, call
        assert call["endedBy"] is None, call
    if call["status"] == "CONNECTED":
        assert call["connectedAt"] is not None, call
    return call


def check_event(env: dict, name: str = None) -> dict:
    """An event pushed by the plugin: the envelope {"event", "timestamp", "data"} and
    exactly the data keys of docs/api.md §7. Returns `data`."""
    assert isinstance(env, dict) and set(env) == {"event", "timestamp", "data"}, \
        f"not the contract's envelope: {json.dumps(env)[:300]}"
    if name is not None:
        assert env["event"] == name, env
    check_time(env["timestamp"], f"{env['event']}.timestamp", nullable=False)
    name = env["event"]
    assert name in EVENT_KEYS, f"an event the contract does not know: {name}"
    data = env["data"]
    required, optional = EVENT_KEYS[name]
    assert required <= set(data) <= required | optional, \
        f"{name} data keys {sorted(data)}; the contract says {sorted(required)} (+ optional {sorted(optional)})"
    if "callId" in data:
        assert UUID.match(data["callId"]), data
    if name == "CALL_STARTED":
        check_call(data["call"])
        assert data["call"]["id"] == data["callId"]
    elif name == "CALL_INCOMING":
        assert data["type"] in {"AUDIO", "VIDEO"} and UUID.match(data["roomId"]), data
        for p in data["participants"]:
            assert set(p) == {"userId", "userName"}, data
    elif name == "CALL_STATUS_CHANGED":
        assert data["status"] in CALL_STATUSES and data["previousStatus"] in CALL_STATUSES, data
        assert data["status"] != data["previousStatus"], data
    elif name == "CALL_PARTICIPANT_LEFT":
        assert data["reason"] in LEFT_REASONS, data
    elif name == "CALL_PARTICIPANT_MEDIA_CHANGED":
        assert all(isinstance(data[k], bool) for k in ("isMuted", "isVideoEnabled", "isSharingScreen")), data
    elif name == "CALL_ENDED":
        assert data["status"] in FINAL_STATUSES and data["reason"] in END_REASONS, data
        assert isinstance(data["duration"], int) and data["duration"] >= 0, data
    elif name in ("WEBRTC_ANSWER_RECEIVED", "WEBRTC_OFFER_RECEIVED"):
        assert data["fromUserId"] is None and data.get("fromUserName") is None, data
        for s in data.get("streams", []):
            assert set(s) == {"mid", "userId", "userName", "kind", "active"}, s
    elif name == "ERROR":
        check_error_data(data)
    return data


def check_error_data(data: dict):
    assert data["code"] in ERROR_STATUS, data
    assert data["status"] == ERROR_STATUS[data["code"]], data
    assert isinstance(data["message"], str) and len(data["message"]) > 10, data


def check_reply(reply: dict) -> dict:
    """A synchronous route answer: {"status": 200|201, "body"} or {"status", "error"}."""
    assert isinstance(reply, dict) and "status" in reply, reply
    if reply["status"] in (200, 201):
        assert set(reply) == {"status", "body"} and isinstance(reply["body"], dict), reply
    else:
        assert set(reply) == {"status", "error"}, reply
        err = reply["error"]
        assert set(err) == {"code", "message"}, reply
        assert ERROR_STATUS.get(err["code"]) == reply["status"], reply
        assert isinstance(err["message"], str) and len(err["message"]) > 10, reply
    return reply


def check_handle_events(handle):
    """Every contract event pushed to `handle` so far has the contract's shape."""
    for msg in handle.events:
        env = plugin_data(msg)
        if isinstance(env, dict) and "event" in env:
            check_event(env)


def assert_refused(reply: dict, code: str, *mentions: str) -> dict:
    """A route answer refused with `code` (and its HTTP status); the message names `mentions`."""
    check_reply(reply)
    assert reply["status"] == ERROR_STATUS[code] and reply["error"]["code"] == code, reply
    for m in mentions:
        assert m.lower() in reply["error"]["message"].lower(), (m, reply)
    return reply["error"]


def is_event(name, **fields):
    """A predicate on a Janus message: contract event `name` whose data has `fields`."""

    def match(msg):
        if event_name(msg) != name:
            return False
        data = plugin_data(msg).get("data") or {}
        return all(data.get(k) == v for k, v in fields.items())

    match.__name__ = f"{name}{fields or ''}"
    return match


async def wait_ev(handle, name, timeout=WAIT, transaction=None, **fields) -> dict:
    """The data of the next contract event `name` on `handle` whose data has `fields`
    (checked against the contract)."""
    msg = await handle.wait_event(is_event(name, **fields), timeout=timeout, transaction=transaction)
    return check_event(plugin_data(msg), name)


async def no_event(handle, name, within=0.5, **fields):
    """No event `name` (with `fields`) reaches `handle` in the next `within` seconds."""
    start = len(handle.events)
    await asyncio.sleep(within)
    match = is_event(name, **fields)
    late = [m for m in handle.events[start:] if match(m)]
    assert not late, f"unexpected {name} {fields} on handle {handle.id}: {late}"


async def answer_msg(handle, tx, name, timeout=WAIT) -> dict:
    """The whole Janus message (with its jsep) answering the async request `tx` with
    event `name` (checked), or a failure showing the ERROR the plugin sent instead."""

    def match(msg):
        return event_name(msg) in (name, "ERROR")

    msg = await handle.wait_event(match, timeout=timeout, transaction=tx)
    env = plugin_data(msg)
    assert env["event"] == name, f"expected {name}, the plugin answered {json.dumps(env)[:400]}"
    check_event(env, name)
    return msg


async def answer_of(handle, tx, name, timeout=WAIT) -> dict:
    """The data of event `name` answering the async request `tx` (see answer_msg)."""
    return plugin_data(await answer_msg(handle, tx, name, timeout))["data"]


async def error_of(handle, tx, code, *mentions, timeout=WAIT) -> dict:
    """The ERROR event answering request `tx`: `code`, its status, and a message naming `mentions`."""
    msg = await handle.wait_event(lambda m: event_name(m) is not None, timeout=timeout, transaction=tx)
    env = plugin_data(msg)
    assert env["event"] == "ERROR", f"expected ERROR {code}, got {json.dumps(env)[:400]}"
    data = check_event(env, "ERROR")
    assert data["code"] == code and data["status"] == ERROR_STATUS[code], data
    for m in mentions:
        assert m.lower() in data["message"].lower(), (m, data)
    return data


# ---- JWT (HS256 and friends), built by hand ---------------------------------------------

def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: dict, secret: str, alg="HS256", header: dict = None) -> str:
    """A JWT with `claims`, signed with `secret` by `alg` (HS256, HS512; "none" gives an
    empty signature). `header` replaces the default {"alg", "typ"}."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    if alg == "none":
        return signing.decode() + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return signing.decode() + "." + b64url(hmac.new(secret.encode(), signing, digest).digest())


def claims(sub, name=None, picture=None, exp_in=600, nbf_in=None, **extra) -> dict:
    now = int(time.time())
    c = {"sub": sub, "iat": now}
    if name is not None:
        c["name"] = name
    if picture is not None:
        c["picture"] = picture
    if exp_in is not None:
        c["exp"] = now + exp_in
    if nbf_in is not None:
        c["nbf"] = now + nbf_in
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


# ---- Users ----------------------------------------------------------------------------

_users = []  # every User of the running test


@pytest.fixture(autouse=True)
def every_event_checked():
    """At the end of each test, every contract event that reached any device of any
    User has the contract's envelope and fields. A test module imports this fixture
    to use it (it is autouse)."""
    _users.clear()
    yield
    for user in _users:
        user.check_events()
    _users.clear()


class User:
    """A user of the call API: one Janus session per device, each with a handle
    registered as this user (`devices`); `h` is the first device's handle."""

    def __init__(self, client, user_id, name, avatar):
        self.client, self.id, self.name, self.avatar = client, user_id, name, avatar
        self.devices = []
        _users.append(self)

    @classmethod
    async def create(cls, client, name, devices=1, avatar=None, user_id=None, **register_fields) -> "User":
        """A user `name` (id `name-<random>`, userName `name`) with `devices` registered
        devices, in open mode."""
        user = cls(client, user_id or uid(name), name, avatar or f"https://example.org/{name}.png")
        for _ in range(devices):
            await user.add_device(**register_fields)
        return user

    async def attach(self):
        """A new session (a new device) with an unregistered calls handle."""
        session = await self.client.create_session()
        return await session.attach(PLUGIN)

    async def add_device(self, events=None, **register_fields):
        """Register one more device (session + handle) as this user; returns its handle."""
        handle = await self.attach()
        fields = {"userId": self.id, "userName": self.name, "avatar": self.avatar, **register_fields}
        if events is not None:
            fields["events"] = events
        answer = await register(handle, **fields)
        assert answer == {"status": 200, "body": {"user": {"userId": self.id, "userName": self.name,
                                                           "avatar": self.avatar}}}, answer
        self.devices.append(handle)
        return handle

    @property
    def h(self):
        return self.devices[0]

    # -- requests --

    async def route(self, request, body=None, query=None, handle=None, jsep=None) -> dict:
        reply = await route(handle or self.h, request, body=body, query=query, jsep=jsep)
        if reply.get("janus") != "ack":
            check_reply(reply)
        return reply

    async def ok(self, request, body=None, query=None, handle=None, status=200) -> dict:
        """A route that must succeed with `status`; returns its body."""
        reply = await self.route(request, body=body, query=query, handle=handle)
        assert reply["status"] == status, f"{request} answered {reply}"
        return reply["body"]

    async def send(self, name, data, handle=None, jsep=None) -> str:
        """Send contract event `name`; returns its transaction."""
        return await event(handle or self.h, name, data, jsep=jsep)

    async def call(self, invitees, type="AUDIO", chat_id=None, handle=None) -> str:
        """CALL_INITIATE; waits CALL_STARTED (on the same transaction) and returns the call id."""
        data = {"participantIds": [u.id if isinstance(u, User) else u for u in invitees], "type": type}
        if chat_id is not None:
            data["chatId"] = chat_id
        handle = handle or self.h
        tx = await self.send("CALL_INITIATE", data, handle=handle)
        started = await answer_of(handle, tx, "CALL_STARTED")
        return started["callId"]

    async def answer(self, call_id, handle=None) -> dict:
        """CALL_ANSWER; waits our own CALL_PARTICIPANT_JOINED on its transaction."""
        handle = handle or self.h
        tx = await self.send("CALL_ANSWER", {"callId": call_id}, handle=handle)
        joined = await answer_of(handle, tx, "CALL_PARTICIPANT_JOINED")
        assert joined["userId"] == self.id and joined["callId"] == call_id, joined
        return joined

    async def decline(self, call_id, reason=None, handle=None) -> dict:
        handle = handle or self.h
        data = {"callId": call_id}
        if reason is not None:
            data["reason"] = reason
        tx = await self.send("CALL_DECLINE", data, handle=handle)
        left = await answer_of(handle, tx, "CALL_PARTICIPANT_LEFT")
        assert left["userId"] == self.id and left["reason"] == "DECLINED", left
        return left

    async def end(self, call_id, for_everyone=None, handle=None, expect="CALL_PARTICIPANT_LEFT") -> dict:
        """CALL_END; waits the first answer on its transaction (`expect`)."""
        handle = handle or self.h
        data = {"callId": call_id}
        if for_everyone is not None:
            data["forEveryone"] = for_everyone
        tx = await self.send("CALL_END", data, handle=handle)
        return await answer_of(handle, tx, expect)

    async def get(self, call_id, handle=None) -> dict:
        """GET /calls/:callId, checked against the contract."""
        body = await self.ok(f"GET /calls/{call_id}", handle=handle)
        assert set(body) == {"call"}, body
        return check_call(body["call"])

    async def wait(self, name, handle=None, timeout=WAIT, **fields) -> dict:
        return await wait_ev(handle or self.h, name, timeout=timeout, **fields)

    def participant(self, call: dict) -> dict:
        """This user's entry in a call's participants."""
        found = [p for p in call["participants"] if p["userId"] == self.id]
        assert len(found) == 1, (self.id, call)
        return found[0]

    def check_events(self):
        for h in self.devices:
            check_handle_events(h)


def statuses(call: dict) -> dict:
    """{userId: participant status} of a call."""
    return {p["userId"]: p["status"] for p in call["participants"]}


async def janus_alive(client):
    """Janus still answers, and still lists the plugin."""
    info = await client.info()
    assert PLUGIN in info["plugins"], info["plugins"].keys()
