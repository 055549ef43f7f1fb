"""Asyncio client for the Janus API (WebSocket, "janus-protocol") and the Admin API
(WebSocket, "janus-admin-protocol").

    client = await JanusClient.connect(server.url)
    session = await client.create_session()
    handle = await session.attach("janus.plugin.calls")
    data = await handle.message({"request": "register", ...})      # sync answer
    tx = await event(handle, "CALL_INITIATE", {...})                 # our contract
    msg = await handle.wait_event("CALL_STARTED", transaction=tx)   # full Janus message
    await client.close()

A request's reply (success / error / ack / server_info) is matched by its
transaction. Everything else Janus pushes (event, trickle, webrtcup, media,
hangup, detached, slowlink, ...) is queued on its handle (by `sender`) or, when
it has none, on its session. Every wait has a timeout and, when it runs out,
says what it got instead.
"""

import asyncio
import itertools
import json
import os
from datetime import datetime, timezone

import websockets

TIMEOUT = 10.0  # default for every wait, in seconds


class JanusError(Exception):
    """Janus answered a request with {"janus": "error"}."""

    def __init__(self, reply):
        self.reply = reply
        err = reply.get("error", {})
        self.code, self.reason = err.get("code"), err.get("reason")
        super().__init__(f"Janus error {self.code}: {self.reason}")


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, as the contract's timestamps."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plugin_data(msg: dict) -> dict:
    return msg.get("plugindata", {}).get("data", {})


def event_name(msg: dict):
    """The contract event name of a plugin event, else None."""
    data = plugin_data(msg)
    return data.get("event") if isinstance(data, dict) else None


def describe(msg: dict) -> str:
    """One line about a pushed message, for assertion messages."""
    kind = msg.get("janus")
    data = plugin_data(msg)
    if "event" in data:
        kind += f" {data['event']}"
    elif data:
        kind += " " + json.dumps(data, separators=(",", ":"))[:120]
    if "jsep" in msg:
        kind += f" +jsep({msg['jsep'].get('type')})"
    if "transaction" in msg:
        kind += f" tx={msg['transaction']}"
    return kind


class _Queue:
    """Messages pushed by Janus to one handle or session, kept in arrival order.
    `history` keeps all of them; wait() consumes the first one that matches."""

    def __init__(self, owner: str):
        self.owner = owner
        self.history, self._unread = [], []
        self._arrived = asyncio.Event()
        self.listeners = []

    def push(self, msg):
        self.history.append(msg)
        self._unread.append(msg)
        self._arrived.set()
        for fn in list(self.listeners):
            fn(msg)

    async def wait(self, match=None, transaction=None, timeout=TIMEOUT):
        """`match`: None (anything), a name (the contract's data.event, or the Janus
        message type such as "webrtcup", "hangup", "trickle") or a predicate on the
        whole Janus message. `transaction`: only messages carrying it."""

        def ok(msg):
            if transaction is not None and msg.get("transaction") != transaction:
                return False
            if match is None:
                return True
            if callable(match):
                return match(msg)
            return match in (event_name(msg), msg.get("janus"))

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._arrived.clear()
            for msg in self._unread:
                if ok(msg):
                    self._unread.remove(msg)
                    return msg
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                seen = "\n  ".join(describe(m) for m in self.history) or "(nothing)"
                want = getattr(match, "__name__", match)
                raise AssertionError(
                    f"{self.owner}: no message matching {want!r}"
                    f"{f' with transaction {transaction}' if transaction else ''} within {timeout} s;"
                    f" received so far:\n  {seen}") from None


class _Connection:
    """A WebSocket to Janus: requests matched to replies by transaction."""

    _tx = itertools.count(1)
    REPLIES = ("success", "error", "ack", "server_info")

    def __init__(self, ws):
        self.ws = ws
        self.pending = {}
        self.unrouted = []  # pushed messages nobody claimed
        self.reader = asyncio.create_task(self._read())

    @staticmethod
    async def _open(url, protocol, timeout):
        return await asyncio.wait_for(
            websockets.connect(url, subprotocols=[protocol], compression=None,
                               max_size=2**24, open_timeout=timeout), timeout)

    @staticmethod
    def new_transaction() -> str:
        return f"tx{next(_Connection._tx)}-{os.urandom(3).hex()}"

    async def request(self, msg: dict, timeout=TIMEOUT) -> dict:
        msg.setdefault("transaction", self.new_transaction())
        tx = msg["transaction"]
        fut = asyncio.get_running_loop().create_future()
        self.pending[tx] = fut
        try:
            await self.ws.send(json.dumps(msg))
            reply = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no reply to {msg.get('janus')} (transaction {tx}) within {timeout} s: "
                                 f"{json.dumps(msg)[:300]}") from None
        finally:
            self.pending.pop(tx, None)
        if reply.get("janus") == "error":
            raise JanusError(reply)
        return reply

    async def _read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                fut = self.pending.get(msg.get("transaction"))
                if fut and not fut.done() and msg.get("janus") in self.REPLIES:
                    fut.set_result(msg)
                else:
                    self.route(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("the WebSocket to Janus closed"))

    def route(self, msg):
        self.unrouted.append(msg)

    async def close(self):
        await self.ws.close()
        self.reader.cancel()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class JanusClient(_Connection):
    """The Janus API over one WebSocket; may carry several sessions."""

    def __init__(self, ws):
        super().__init__(ws)
        self.sessions, self.handles = {}, {}

    @classmethod
    async def connect(cls, url, timeout=TIMEOUT) -> "JanusClient":
        return cls(await cls._open(url, "janus-protocol", timeout))

    def route(self, msg):
        target = self.handles.get(msg.get("sender")) or self.sessions.get(msg.get("session_id"))
        if target:
            target.queue.push(msg)
        else:
            self.unrouted.append(msg)

    async def info(self, timeout=TIMEOUT) -> dict:
        return await self.request({"janus": "info"}, timeout)

    async def create_session(self, keepalive: float = 25.0, timeout=TIMEOUT) -> "Session":
        reply = await self.request({"janus": "create"}, timeout)
        session = Session(self, reply["data"]["id"], keepalive)
        self.sessions[session.id] = session
        return session

    async def close(self):
        for s in self.sessions.values():
            s.stop_keepalive()
        await super().close()


class Session:
    def __init__(self, client, session_id, keepalive):
        self.client, self.id = client, session_id
        self.queue = _Queue(f"session {session_id}")
        self._keepalive = asyncio.create_task(self._keep(keepalive)) if keepalive else None

    async def _keep(self, every):
        while True:
            await asyncio.sleep(every)
            try:
                await self.request({"janus": "keepalive"})
            except (ConnectionError, JanusError, AssertionError):
                return

    def stop_keepalive(self):
        if self._keepalive:
            self._keepalive.cancel()

    async def request(self, msg, timeout=TIMEOUT):
        return await self.client.request({**msg, "session_id": self.id}, timeout)

    async def attach(self, plugin: str, timeout=TIMEOUT) -> "Handle":
        reply = await self.request({"janus": "attach", "plugin": plugin}, timeout)
        handle = Handle(self, reply["data"]["id"], plugin)
        self.client.handles[handle.id] = handle
        return handle

    async def destroy(self, timeout=TIMEOUT):
        self.stop_keepalive()
        await self.request({"janus": "destroy"}, timeout)
        self.client.sessions.pop(self.id, None)

    async def wait_event(self, match=None, timeout=TIMEOUT, transaction=None):
        """Messages for the session itself (e.g. "timeout")."""
        return await self.queue.wait(match, transaction, timeout)


class Handle:
    def __init__(self, session, handle_id, plugin):
        self.session, self.id, self.plugin = session, handle_id, plugin
        self.queue = _Queue(f"handle {handle_id} ({plugin})")

    @property
    def events(self) -> list:
        """Every message Janus pushed to this handle so far, in order."""
        return self.queue.history

    async def request(self, msg, timeout=TIMEOUT):
        return await self.session.request({**msg, "handle_id": self.id}, timeout)

    async def message(self, body: dict, jsep: dict = None, timeout=TIMEOUT, transaction=None) -> dict:
        """A plugin message. Returns plugindata.data of a synchronous answer, or, for
        an asynchronous one, the ack itself ({"janus": "ack", "transaction": ...});
        the answer then comes as an event carrying that transaction."""
        msg = {"janus": "message", "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        if transaction:
            msg["transaction"] = transaction
        reply = await self.request(msg, timeout)
        return plugin_data(reply) if reply["janus"] == "success" else reply

    async def wait_event(self, match=None, timeout=TIMEOUT, transaction=None) -> dict:
        """The first not yet consumed message pushed to this handle that matches (see
        _Queue.wait): the whole Janus message, with plugindata and jsep."""
        return await self.queue.wait(match, transaction, timeout)

    async def trickle(self, candidate, timeout=TIMEOUT):
        """candidate: a dict {candidate, sdpMid, sdpMLineIndex}, a list of them, or None
        for end-of-candidates."""
        if candidate is None:
            msg = {"janus": "trickle", "candidate": {"completed": True}}
        elif isinstance(candidate, list):
            msg = {"janus": "trickle", "candidates": candidate}
        else:
            msg = {"janus": "trickle", "candidate": candidate}
        await self.request(msg, timeout)

    async def hangup(self, timeout=TIMEOUT):
        await self.request({"janus": "hangup"}, timeout)

    async def detach(self, timeout=TIMEOUT):
        await self.request({"janus": "detach"}, timeout)
        self.session.client.handles.pop(self.id, None)


class AdminClient(_Connection):
    """The Admin API over its own WebSocket; every request carries the admin secret."""

    def __init__(self, ws, secret):
        super().__init__(ws)
        self.secret = secret

    @classmethod
    async def connect(cls, url, secret, timeout=TIMEOUT) -> "AdminClient":
        return cls(await cls._open(url, "janus-admin-protocol", timeout), secret)

    async def admin(self, janus: str, timeout=TIMEOUT, **fields) -> dict:
        return await self.request({"janus": janus, "admin_secret": self.secret, **fields}, timeout)

    async def list_sessions(self) -> list:
        return (await self.admin("list_sessions"))["sessions"]

    async def list_handles(self, session_id) -> list:
        return (await self.admin("list_handles", session_id=session_id))["handles"]

    async def query_handle(self, session_id, handle_id) -> dict:
        return (await self.admin("handle_info", session_id=session_id, handle_id=handle_id))["info"]

    async def message_plugin(self, plugin: str, request: dict, timeout=TIMEOUT) -> dict:
        """A plugin's handle_admin_message; returns its response."""
        reply = await self.admin("message_plugin", timeout, plugin=plugin, request=request)
        return reply["response"]


# --- our plugin's API (docs/api.md §2) -----------------------------------------

async def register(handle: Handle, timeout=TIMEOUT, **fields) -> dict:
    """{"request": "register", token=... | userId=..., userName=..., avatar=...}."""
    return await handle.message({"request": "register", **fields}, timeout=timeout)


async def route(handle: Handle, request: str, body: dict = None, query: dict = None,
                jsep: dict = None, timeout=TIMEOUT) -> dict:
    """A REST route, e.g. route(h, "POST /calls", body={...}). Returns the synchronous
    answer {"status", "body"|"error"}; for the signaling routes that carry SDP, the
    ack (the answer then comes as an event with ack["transaction"])."""
    msg = {"request": request}
    if query is not None:
        msg["query"] = query
    if body is not None:
        msg["body"] = body
    return await handle.message(msg, jsep=jsep, timeout=timeout)


async def event(handle: Handle, name: str, data: dict, jsep: dict = None, timeout=TIMEOUT,
                timestamp: str = None) -> str:
    """Send a contract event {"event", "timestamp", "data"}; returns its transaction, so
    the test can wait for the answer: handle.wait_event("ERROR", transaction=tx).
    A synchronous answer (the contract says there is none) is queued on the handle
    like a pushed event, so it is not lost."""
    tx = _Connection.new_transaction()
    body = {"event": name, "timestamp": timestamp or now_iso(), "data": data}
    reply = await handle.message(body, jsep=jsep, timeout=timeout, transaction=tx)
    if reply.get("janus") != "ack":
        handle.queue.push({"janus": "success", "transaction": tx, "sender": handle.id,
                           "plugindata": {"plugin": handle.plugin, "data": reply}})
    return tx
