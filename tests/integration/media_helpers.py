"""Helpers for the SFU media tests (test_media_*.py): call participants made of
two Janus handles and two aiortc peers, as docs/media.md describes a device.

    await party.start(janus_factory, reconnect_grace=4)    # `party` fixture; Janus with calls_config()
    alice, bob = await party.users("alice", "bob")         # session + publisher/subscriber handles each
    call_id = await party.call(alice, [bob], "VIDEO")      # CALL_INITIATE, everybody answers
    await party.media(call_id, alice, bob)                 # publish (aiortc tx) + subscribe (aiortc rx)
    await alice.rx.wait_frames(30, "video", stream="bob")  # what Alice's screen shows of Bob

A Participant answers every WEBRTC_OFFER_RECEIVED of its subscriber handle in a
background task, as a client application would, and keeps them in `offers`.
Everything it starts stops at the end of the test (the fixture's teardown).

The `browser` fixture gives a headless Chromium (browser/participant.js) whose
pages are participants too: `carol = await browser.page(party, "carol")`, then
`party.call(alice, [carol])`, `carol.publish(simulcast=True)`, `carol.subscribe()`,
`carol.wait_frames(30, "alice")` (framesDecoded from getStats, by msid stream id).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import itertools
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from harness.client import JanusError, event, event_name, plugin_data, register, route

TIMEOUT = 15.0   # default bound on every wait here, in seconds
OFFER_LIMIT = 200  # a subscriber answering more offers than that is a runaway re-offer loop


def calls_config(**general) -> dict:
    """The plugin's config for these tests: open auth, short timeouts, `general` overrides."""
    base = {"auth": "open", "ring_timeout": 10, "connect_timeout": 10, "reconnect_grace": 5,
            "db_path": "{data_dir}/calls.db"}
    base.update(general)
    return {"janus.plugin.calls": {"general": base}}


def is_event(name, **fields):
    """A predicate on a Janus message: the contract event `name` whose data has `fields`."""

    def match(msg):
        if event_name(msg) != name:
            return False
        data = plugin_data(msg).get("data", {})
        return all(data.get(k) == v for k, v in fields.items())

    match.__name__ = f"{name}{fields or ''}"
    return match


def sdp_mlines(sdp: str) -> list:
    """[{mid, kind, port, direction, stream}] for each m-line of an SDP, in order."""
    out = []
    for section in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        m = re.match(r"m=(\w+) (\d+)", section)
        mid = re.search(r"^a=mid:(\S+)", section, re.M)
        msid = re.search(r"^a=msid:(\S+)", section, re.M)
        direction = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", section, re.M)
        out.append({"kind": m.group(1), "port": int(m.group(2)), "mid": mid.group(1) if mid else None,
                    "direction": direction.group(1) if direction else "sendrecv",
                    "stream": msid.group(1) if msid else None})
    return out


def for_aiortc(answer: dict, offer: dict) -> dict:
    """aiortc 1.4 cannot take an answer that rejects an m-line as JSEP says (port 0,
    payload type 0 with no rtpmap, out of the BUNDLE group, no ICE/DTLS attributes): a
    browser takes it as it is. For aiortc only, turn each rejected m-line into an
    inactive one in the bundle, with the first codec our `offer` had there and the
    transport attributes of the first accepted m-line. The test checks the real answer."""
    sdp = answer["sdp"]
    nl = "\r\n" if "\r\n" in sdp else "\n"
    parts = re.split(r"(?<=\n)(?=m=)", sdp)
    offered = re.split(r"(?<=\n)(?=m=)", offer["sdp"])
    rejected = [i for i, p in enumerate(parts) if i > 0 and re.match(r"m=\w+ 0 ", p)]
    model = next((p for i, p in enumerate(parts) if i > 0 and i not in rejected), None)
    if not rejected or model is None:
        return answer
    transport = re.findall(r"^a=(?:ice-ufrag:|ice-pwd:|fingerprint:|setup:|rtcp-mux)[^\r\n]*", model, re.M)
    mids = []
    for i in rejected:
        section = parts[i]
        kind = re.match(r"m=(\w+)", section).group(1)
        pt = re.match(r"m=\w+ \d+ \S+ (\d+)", offered[i]).group(1)
        rtpmap = re.search(rf"^a=rtpmap:{pt} [^\r\n]*", offered[i], re.M).group(0)
        lines = section.split(nl)
        lines[0] = f"m={kind} 9 UDP/TLS/RTP/SAVPF {pt}"
        body = [line for line in lines[1:] if line]
        parts[i] = nl.join([lines[0], *body, rtpmap, *[t for t in transport if not any(
            b.startswith(t.split(":")[0]) for b in body)]]) + nl
        mids += re.findall(r"^a=mid:(\S+)", section, re.M)
    parts[0] = re.sub(r"^(a=group:BUNDLE[^\r\n]*)", lambda m: m.group(1) + "".join(f" {x}" for x in mids),
                      parts[0], flags=re.M)
    return {**answer, "sdp": "".join(parts)}


async def until(ok, what: str, timeout=TIMEOUT, every=0.05):
    """Wait until ok() is true; fail saying `what` (a string or a callable giving one)."""
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")
        await asyncio.sleep(every)


async def still_for(seconds: float, count, what: str):
    """The value count() does not change for `seconds` (e.g. no new frames while muted).
    Returns it."""
    before = count()
    await asyncio.sleep(seconds)
    after = count()
    assert after == before, f"{what}: went from {before} to {after} in {seconds} s"
    return after


async def rises_by(n: int, count, what: str, timeout=TIMEOUT):
    """count() grows by more than n within `timeout` (media keeps flowing). Returns it."""
    start = count()
    await until(lambda: count() > start + n, lambda: f"{what}: {start} -> {count()}, wanted > +{n}", timeout)
    return count()


class Participant:
    """One user's device: a Janus session with a publisher handle (call events, WEBRTC_OFFER)
    and a subscriber handle (events off, CALL_SUBSCRIBE, WEBRTC_OFFER_RECEIVED), and the
    aiortc peers behind them: `tx` sends, `rx` receives and counts decoded frames."""

    def __init__(self, party, user_id, user_name):
        self.party = party
        self.user_id, self.user_name = user_id, user_name
        self.session = self.pub = self.sub = None
        self.tx = self.rx = None
        self.call_id = None
        self.offers = []          # every WEBRTC_OFFER_RECEIVED answered: {"data", "jsep", "answered_at", ...}
        self.answer_errors = []   # (where, error data): Janus refusing an answer, a runaway offer loop
        self.rx_connected_at = None
        self._offer_queue = asyncio.Queue()
        self._answerer = None
        self._closing = False

    def __repr__(self):
        return f"<Participant {self.user_id}>"

    async def open(self, client):
        self.session = await client.create_session()
        self.pub = await self.session.attach("janus.plugin.calls")
        self.sub = await self.session.attach("janus.plugin.calls")
        await self._register(self.pub, events=True)
        await self._register(self.sub, events=False)
        return self

    async def _register(self, handle, events):
        reply = await register(handle, userId=self.user_id, userName=self.user_name, events=events)
        assert reply.get("status") == 200, f"register {self.user_id}: {reply}"

    # --- call events (publisher handle) ----------------------------------------------------

    async def wait(self, name, timeout=TIMEOUT, **fields) -> dict:
        """The data of the next unread contract event `name` (with `fields`) on the publisher handle."""
        return plugin_data(await self.pub.wait_event(is_event(name, **fields), timeout=timeout))["data"]

    def seen(self, name, **fields) -> list:
        """Data of every `name` event (with `fields`) the publisher handle received so far."""
        match = is_event(name, **fields)
        return [plugin_data(m)["data"] for m in self.pub.events if match(m)]

    async def send(self, name, data, handle=None, jsep=None) -> str:
        """A contract event on the publisher handle (or `handle`); returns its transaction.
        An ERROR answer shows in errors() (Party.no_errors checks them all)."""
        return await event(handle or self.pub, name, data, jsep=jsep)

    async def route(self, request, body=None, query=None, handle=None) -> dict:
        reply = await route(handle or self.pub, request, body=body, query=query)
        assert reply.get("status") in (200, 201), f"{self.user_id}: {request} {body or ''} -> {reply}"
        return reply["body"]

    async def answer_call(self, call_id):
        self.call_id = call_id
        await self.wait("CALL_INCOMING", callId=call_id)
        await self.send("CALL_ANSWER", {"callId": call_id})

    # --- media --------------------------------------------------------------------------------

    async def publish(self, call_id=None, audio=True, video=True, handle=None, name=None) -> dict:
        """A new aiortc publisher on the publisher handle (or `handle`): WEBRTC_OFFER, then
        WEBRTC_ANSWER_RECEIVED. Returns the answer's jsep."""
        call_id = call_id or self.call_id
        handle = handle or self.pub
        self.tx = self.party.peers(name or f"{self.user_id}-tx", audio=audio, video=video)
        self.tx.bind(handle)
        self.tx.jsep_offer = await self.tx.offer()
        tx = await event(handle, "WEBRTC_OFFER", {"callId": call_id}, jsep=self.tx.jsep_offer)
        msg = await handle.wait_event(lambda m: event_name(m) in ("WEBRTC_ANSWER_RECEIVED", "ERROR"),
                                      transaction=tx, timeout=TIMEOUT)
        assert event_name(msg) == "WEBRTC_ANSWER_RECEIVED", f"{self.user_id} publish: {plugin_data(msg)}"
        await self.tx.accept(for_aiortc(msg["jsep"], self.tx.jsep_offer))
        return msg["jsep"]

    async def subscribe(self, call_id=None):
        """A receive-only aiortc peer on the subscriber handle; CALL_SUBSCRIBE; from then on
        every offer is answered in the background."""
        call_id = call_id or self.call_id
        self.rx = self.party.peers(f"{self.user_id}-rx", audio=False, video=False)
        self.rx.bind(self.sub)

        @self.rx.pc.on("connectionstatechange")
        def on_state():
            if self.rx.pc.connectionState == "connected" and self.rx_connected_at is None:
                self.rx_connected_at = time.monotonic()

        self.sub.queue.listeners.append(self._on_sub_message)
        self._answerer = asyncio.create_task(self._answer_offers(call_id))
        tx = await event(self.sub, "CALL_SUBSCRIBE", {"callId": call_id})
        return tx

    def _on_sub_message(self, msg):
        if event_name(msg) == "WEBRTC_OFFER_RECEIVED":
            self._offer_queue.put_nowait(msg)

    async def _answer_offers(self, call_id):
        for _ in range(OFFER_LIMIT):
            msg = await self._offer_queue.get()
            if self._closing:
                return
            try:
                answer = await self.rx.answer(msg["jsep"])
            except Exception as e:  # aiortc refused the offer: the test must hear of it
                self.answer_errors.append(("aiortc", {"event": "WEBRTC_OFFER_RECEIVED", "message": repr(e)}))
                continue
            try:
                tx = await event(self.sub, "WEBRTC_ANSWER", {"callId": call_id}, jsep=answer)
            except JanusError as e:  # e.g. the call ended and the PeerConnection with it
                self.answer_errors.append(("janus", {"event": "WEBRTC_ANSWER", "callId": call_id,
                                                     "code": f"JANUS_{e.code}", "message": e.reason}))
                continue
            self.offers.append({"data": plugin_data(msg)["data"], "jsep": msg["jsep"],
                                "answered_at": time.monotonic(), "transaction": tx})
        self.answer_errors.append(("answerer", {"message": f"more than {OFFER_LIMIT} offers: stopped answering"}))

    def errors(self) -> list:
        """ERROR events either handle received (an answer refused, a request refused), and
        Janus errors answering offers. Not counted: refusals of an answer to an offer that
        crossed the end of the call (the client learns of CALL_ENDED only after answering)."""
        ended = {d["callId"] for d in self.seen("CALL_ENDED")}
        found = [(h, plugin_data(m)["data"]) for h, q in (("pub", self.pub), ("sub", self.sub))
                 for m in q.events if event_name(m) == "ERROR"] + self.answer_errors
        return [(h, e) for h, e in found if not (e.get("event") == "WEBRTC_ANSWER" and e.get("callId") in ended
                                                 and e.get("code") in ("INVALID_STATE", "JANUS_469"))]

    async def wait_offer(self, ok=lambda offer: True, timeout=TIMEOUT, after=0) -> dict:
        """The first answered offer, from index `after` on, for which ok(offer) holds
        (offer = {"data": WEBRTC_OFFER_RECEIVED data, "jsep", ...})."""

        def found():
            return next((o for o in self.offers[after:] if ok(o)), None)

        await until(lambda: found() is not None,
                    lambda: f"{self.user_id}: no such offer; offers answered: "
                            f"{[o['data']['streams'] for o in self.offers]}; errors {self.errors()}",
                    timeout)
        return found()

    def active_streams(self) -> dict:
        """{(userId, kind): mid} of the active streams in the last answered offer."""
        if not self.offers:
            return {}
        return {(s["userId"], s["kind"]): s["mid"] for s in self.offers[-1]["data"]["streams"] if s["active"]}

    async def wait_streams(self, expected: set, timeout=TIMEOUT) -> dict:
        """Wait until the last answered offer's active streams are exactly `expected`,
        a set of (userId, kind)."""
        await until(lambda: set(self.active_streams()) == expected,
                    lambda: f"{self.user_id}: active streams {sorted(self.active_streams())}, "
                            f"expected {sorted(expected)}; errors {self.errors()}", timeout)
        return self.active_streams()

    def frames(self, user_id, kind="video") -> int:
        return self.rx.frames(kind, stream=user_id)

    async def close(self):
        # Cancel until it stops: asyncio.wait_for in Python 3.11 may swallow a cancellation
        # that arrives as the awaited reply does, and the task would then wait for the next offer.
        self._closing = True
        for _ in range(10):
            if self._answerer is None or self._answerer.done():
                break
            self._answerer.cancel()
            await asyncio.wait([self._answerer], timeout=1)
        assert self._answerer is None or self._answerer.done(), f"{self.user_id}: the answering task did not stop"
        if self.sub is not None and self._on_sub_message in self.sub.queue.listeners:
            self.sub.queue.listeners.remove(self._on_sub_message)


class Party:
    """The participants of one test, on one Janus."""

    def __init__(self, connect, peers):
        self.connect, self._peers = connect, peers
        self.server = self.client = None
        self.members = []
        self.made = []  # every aiortc peer made through peers()

    def peers(self, name, audio=True, video=True):
        """A new aiortc Peer (see harness/media.py)."""
        self.made.append(self._peers(name, audio=audio, video=video))
        return self.made[-1]

    async def start(self, janus_factory, **general):
        """Start a Janus with the plugin (calls_config(**general)) and connect to it."""
        self.server = janus_factory(configs=calls_config(**general))
        self.client = await self.connect(self.server)
        return self.server

    async def user(self, user_id, user_name=None) -> Participant:
        p = Participant(self, user_id, user_name or user_id.capitalize())
        self.members.append(p)
        return await p.open(self.client)

    async def users(self, *user_ids):
        return [await self.user(u) for u in user_ids]

    async def call(self, initiator, invitees, call_type="VIDEO") -> str:
        """`initiator` calls `invitees`; every invitee answers. Returns the callId."""
        ids = [p.user_id for p in invitees]
        tx = await event(initiator.pub, "CALL_INITIATE", {"participantIds": ids, "type": call_type})
        msg = await initiator.pub.wait_event(lambda m: event_name(m) in ("CALL_STARTED", "ERROR"),
                                             transaction=tx)
        assert event_name(msg) == "CALL_STARTED", plugin_data(msg)
        call_id = plugin_data(msg)["data"]["callId"]
        initiator.call_id = call_id
        for p in invitees:
            await p.answer_call(call_id)
            await initiator.wait("CALL_PARTICIPANT_JOINED", callId=call_id, userId=p.user_id)
        return call_id

    async def media(self, call_id, *members, audio=True, video=True):
        """Each member publishes (tone and/or picture) and subscribes."""
        for p in members:
            await p.publish(call_id, audio=audio, video=video)
        for p in members:
            await p.subscribe(call_id)

    async def all_see_all(self, members, kinds=("video", "audio"), frames=20, timeout=30):
        """Every member decodes more than `frames` frames of each kind from every other."""
        for viewer in members:
            for other in members:
                if other is viewer:
                    continue
                for kind in kinds:
                    await viewer.rx.wait_frames(frames, kind, stream=other.user_id, timeout=timeout)

    def no_errors(self):
        problems = {p.user_id: p.errors() for p in self.members if p.errors()}
        assert not problems, f"ERROR events received: {problems}"

    async def close(self):
        """Stop the answering tasks, then close every aiortc peer, each within a bound
        (the `peers` fixture closes them again, which then returns at once)."""
        for p in self.members:
            await p.close()
        stuck = []
        for peer in self.made:
            try:
                await asyncio.wait_for(peer.close(), 10)
            except asyncio.TimeoutError:
                stuck.append(peer.report())
        assert not stuck, f"aiortc peers that did not close within 10 s: {stuck}"


@pytest.fixture
async def party(connect, peers):
    """A Party; start its Janus with `await party.start(janus_factory, **config)`."""
    p = Party(connect, peers)
    yield p
    await p.close()


# --- Headless Chromium participants (browser/participant.js) ---------------------------------

BROWSER_DIR = Path(__file__).resolve().parent / "browser"


class Browser:
    """One `node browser/participant.js`: a headless Chromium whose pages are call
    participants (browser/page.js). Commands go as JSON lines on its stdin."""

    def __init__(self):
        self.proc = None
        self.events = []      # {"page", "event": {"kind", "data"}} in arrival order
        self.stderr = []
        self._replies = {}
        self._ids = itertools.count(1)
        self._readers = []

    async def start(self):
        if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
            raise AssertionError(f"playwright-core is not installed in {BROWSER_DIR}: run "
                                 f"`npm ci --prefix {BROWSER_DIR}` (outside the test namespace)")
        for tool in ("node", "/usr/bin/chromium"):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} not found: apt-get install -y nodejs chromium")
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(BROWSER_DIR / "participant.js"), cwd=BROWSER_DIR,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=2**22)
        self._readers = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]
        await until(lambda: any(e["event"]["kind"] in ("started", "fatal") for e in self.events) or
                    self.proc.returncode is not None, lambda: f"Chromium did not start: {self.stderr[-20:]}", 30)
        fatal = [e for e in self.events if e["event"]["kind"] == "fatal"]
        assert not fatal and self.proc.returncode is None, f"Chromium did not start: {fatal} {self.stderr[-20:]}"
        return self

    async def _read_stdout(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            msg = json.loads(line)
            if "id" in msg and msg["id"] in self._replies:
                self._replies.pop(msg["id"]).set_result(msg)
            elif "event" in msg:
                self.events.append(msg)

    async def _read_stderr(self):
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def command(self, op, timeout=60, **fields):
        assert self.proc.returncode is None, f"the browser exited ({self.proc.returncode}): {self.stderr[-20:]}"
        cid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._replies[cid] = fut
        self.proc.stdin.write((json.dumps({"id": cid, "op": op, "timeout_ms": int(timeout * 1000), **fields})
                               + "\n").encode())
        await self.proc.stdin.drain()
        try:
            reply = await asyncio.wait_for(fut, timeout + 5)
        except asyncio.TimeoutError:
            raise AssertionError(f"browser: no answer to {op} {fields} within {timeout} s") from None
        finally:
            self._replies.pop(cid, None)
        assert reply["ok"], f"browser: {op} {fields.get('page', '')} {fields.get('fn', '')}: {reply['error']}"
        return reply["result"]

    async def page(self, party, user_id, user_name=None):
        """A new page registered as `user_id` on party's Janus (two handles, like Participant)."""
        await self.command("open", page=user_id)
        page = ChromiumParticipant(self, user_id, user_name or user_id.capitalize())
        page.ids = await page.call("start", {"url": party.server.url, "userId": user_id, "userName": page.user_name})
        return page

    def page_events(self, page, kind=None):
        return [e["event"]["data"] for e in self.events
                if e.get("page") == page and (kind is None or e["event"]["kind"] == kind)]

    async def close(self):
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                self.proc.stdin.write(b'{"id": 0, "op": "close"}\n')
                await self.proc.stdin.drain()
                self.proc.stdin.close()
                await asyncio.wait_for(self.proc.wait(), 20)
            except (asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()
        for r in self._readers:
            r.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class ChromiumParticipant:
    """One page of a Browser: a user's device in Chromium (see browser/page.js)."""

    def __init__(self, browser, user_id, user_name):
        self.browser, self.user_id, self.user_name = browser, user_id, user_name
        self.call_id = None

    async def call(self, fn, *args, timeout=60):
        return await self.browser.command("call", page=self.user_id, fn=fn, args=list(args), timeout=timeout)

    async def answer_call(self, call_id):
        self.call_id = call_id
        return await self.call("answerCall", call_id)

    async def wait(self, name, timeout=15, **fields):
        return await self.call("waitEvent", name, fields, int(timeout * 1000), timeout=timeout + 5)

    async def publish(self, **opts):
        return await self.call("publish", {"callId": self.call_id, **opts})

    async def subscribe(self):
        return await self.call("subscribe", {"callId": self.call_id})

    async def stats(self):
        return await self.call("stats")

    def events(self, kind=None):
        return self.browser.page_events(self.user_id, kind)

    async def frames(self, user_id, kind="video") -> int:
        """Frames (video) or samples (audio) this page decoded from `user_id`'s stream."""
        s = await self.stats()
        key = "framesDecoded" if kind == "video" else "totalSamplesReceived"
        return sum(i.get(key) or 0 for i in s["inbound"] if i["kind"] == kind and i["streamId"] == user_id)

    async def wait_frames(self, n, user_id, kind="video", timeout=TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while True:
            got = await self.frames(user_id, kind)
            if got > n:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user_id} (Chromium): {got} {kind} frames of {user_id} within "
                                     f"{timeout} s, wanted > {n}; stats {await self.stats()}; "
                                     f"events {self.events()[-20:]}")
            await asyncio.sleep(0.25)

    def errors(self):
        return [e for e in self.events("error")] + [e for e in self.events("pageerror")]


@pytest.fixture
async def browser():
    """A started Browser (headless Chromium), closed at the end of the test."""
    b = Browser()
    try:
        yield await b.start()
    finally:
        await b.close()
