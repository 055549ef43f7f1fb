"""Nothing announced is lost: Janus killed with SIGKILL at random moments.

Lanes of three users each drive 200 call lifecycles in all (1:1 calls hung up by
either side, declined, cancelled while ringing, missed by the ring timeout, group
calls ended for everyone or by the last to leave, calls made through the REST
routes, calls left live or ringing), while Janus is killed with `kill -9` about
ten times: after a random number of lifecycle steps (a request sent, an awaited
event received), sometimes right inside the callback that received a CALL_ENDED.
After each kill Janus starts again on the same data dir and the lanes go on.

Then, from the history (GET /calls/:callId of each call, as its initiator), and
from the SQLite file once Janus has stopped:
- every call whose CALL_ENDED (or a route answer showing a final status) reached a
  client has exactly that status and endReason;
- every other call a client was told about (CALL_STARTED, CALL_INCOMING, the answer
  of POST /calls) is closed: ENDED with endReason SERVER_RESTART (docs/api.md,
  "Call statuses": any live call when Janus stopped), or, when a request that ends
  it was in flight at the kill (sent, no CALL_ENDED received), the status that
  request gives;
- none is missing, and nothing is left live in the file.

The seed is printed (CALLS_KILL_SEED=<n> picks it). The moments of the kills also
depend on timing, so a seed does not replay a run exactly.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import collections
import os
import random
import sqlite3
import time

from calls_helpers import PLUGIN, calls_config, uid
from harness.client import JanusClient, event, event_name, plugin_data, register, route

LIFECYCLES = 200
LANES = 5
RING = 3           # ring_timeout, seconds
KILL_GAP = (25, 150)   # lifecycle steps between two kills (about ten kills over the run)
WAIT = 8.0

# kind of lifecycle -> weight
KINDS = {"hangup_by_caller": 14, "hangup_by_callee": 14, "declined": 12, "cancelled": 12,
         "ring_timeout": 6, "group_for_everyone": 10, "group_last_leaves": 10, "rest_api": 10,
         "left_live": 4, "left_ringing": 4}
FINAL = {"ENDED", "MISSED", "DECLINED", "FAILED", "BUSY"}
RESTART = ("ENDED", "SERVER_RESTART")


class CallRecord:
    def __init__(self, call_id):
        self.id = call_id
        self.kind = None
        self.initiator = None
        self.told = []          # how clients learnt of it: CALL_STARTED, CALL_INCOMING, POST /calls
        self.ended = None       # (status, endReason) a client was told: CALL_ENDED or a route answer
        self.pending = set()    # (status, endReason) a request or timer in flight may have given it


class Tracker:
    """What the clients were told, and the kills."""

    def __init__(self, server, rng):
        self.server, self.rng = server, rng
        self.calls = {}
        self.conflicts = []
        self.steps = 0
        self.killed = False
        self.kills = []         # (steps, why)
        self.threshold = self.mode = None
        self.arm()

    def arm(self):
        self.threshold = self.steps + self.rng.randint(*KILL_GAP)
        self.mode = self.rng.choice(["step", "after CALL_ENDED"])

    def rec(self, call_id) -> CallRecord:
        if call_id not in self.calls:
            self.calls[call_id] = CallRecord(call_id)
        return self.calls[call_id]

    def told(self, call_id, how, initiator):
        rec = self.rec(call_id)
        rec.told.append(how)
        rec.initiator = initiator
        if len(rec.told) == 1:
            rec.pending.add(("MISSED", "RING_TIMEOUT"))   # its ring timer runs from now on

    def final(self, call_id, status, reason, how):
        rec = self.rec(call_id)
        if rec.ended is None:
            rec.ended = (status, reason)
        elif rec.ended != (status, reason):
            self.conflicts.append((call_id, rec.ended, (status, reason), how))

    def on_message(self, msg):
        """Listener on every handle: runs as each message arrives."""
        name = event_name(msg)
        if name not in ("CALL_STARTED", "CALL_INCOMING", "CALL_ENDED"):
            return
        data = plugin_data(msg)["data"]
        if name == "CALL_ENDED":
            self.final(data["callId"], data["status"], data["reason"], "CALL_ENDED")
            if not self.killed and self.mode == "after CALL_ENDED" and self.steps >= self.threshold:
                self.kill("right after a CALL_ENDED arrived")
        elif name == "CALL_STARTED":
            self.told(data["callId"], name, data["call"]["initiatorId"])
        else:
            self.told(data["callId"], name, data["initiatorId"])

    def step(self):
        self.steps += 1
        if not self.killed and self.mode == "step" and self.steps >= self.threshold:
            self.kill("after a step")

    def kill(self, why):
        if self.killed:
            return
        self.killed = True
        self.server.kill()
        self.kills.append((self.steps, why))
        print(f"  kill #{len(self.kills)} at step {self.steps}: {why}")


class Lane:
    """Three users (a, b, c) who only call each other, one lifecycle at a time."""

    def __init__(self, index, tracker, seed):
        self.index, self.tr = index, tracker
        self.rng = random.Random(seed * 100 + index)
        self.users = [uid(f"l{index}{n}") for n in "abc"]
        self.handles = {}
        self.parked = False
        self.lifecycles = collections.Counter()

    async def open(self, client):
        self.handles = {}
        self.parked = False
        for user in self.users:
            session = await client.create_session()
            handle = await session.attach(PLUGIN)
            handle.queue.listeners.append(self.tr.on_message)
            reply = await register(handle, userId=user, userName=user)
            assert reply.get("status") == 200, reply
            self.handles[user] = handle

    async def run(self, plan: collections.deque):
        try:
            while plan and not self.tr.killed:
                kind = plan.popleft()
                self.lifecycles[kind] += 1
                await getattr(self, kind)(*self.rng.sample(self.users, 3))
        except Exception:
            if self.tr.killed:   # the kill cut this lifecycle short
                return
            raise

    # -- steps --

    async def wait(self, user, name, call_id, tx=None, timeout=WAIT) -> dict:
        def match(msg):
            got = event_name(msg)
            if got == "ERROR":
                return tx is not None   # only an answer to our own request (the wait filters by tx)
            return got == name and (call_id is None or plugin_data(msg)["data"].get("callId") == call_id)

        msg = await self.handles[user].wait_event(match, timeout=timeout, transaction=tx)
        self.tr.step()
        data = plugin_data(msg)["data"]
        assert event_name(msg) == name, f"{user} waited for {name} of {call_id}, got {plugin_data(msg)}"
        return data

    async def send(self, user, name, data) -> str:
        tx = await event(self.handles[user], name, data)
        self.tr.step()
        return tx

    async def route(self, user, request, body=None) -> dict:
        reply = await route(self.handles[user], request, body=body)
        self.tr.step()
        assert reply.get("status") in (200, 201), f"{user}: {request} -> {reply}"
        call = reply["body"]["call"]
        self.tr.told(call["id"], request, call["initiatorId"])
        if call["status"] in FINAL:
            self.tr.final(call["id"], call["status"], call["endReason"], request)
        return call

    async def start(self, kind, caller, invitees) -> str:
        tx = await self.send(caller, "CALL_INITIATE", {"participantIds": invitees, "type": "AUDIO"})
        data = await self.wait(caller, "CALL_STARTED", None, tx=tx)
        self.tr.rec(data["callId"]).kind = kind
        return data["callId"]

    async def answer(self, user, call_id):
        await self.wait(user, "CALL_INCOMING", call_id)
        tx = await self.send(user, "CALL_ANSWER", {"callId": call_id})
        await self.wait(user, "CALL_PARTICIPANT_JOINED", call_id, tx=tx)

    async def ends(self, user, name, call_id, outcome, data=None, waiter=None):
        """`user` sends `name`, which ends the call with `outcome`; wait for CALL_ENDED."""
        self.tr.rec(call_id).pending.add(outcome)
        await self.send(user, name, {"callId": call_id, **(data or {})})
        ended = await self.wait(waiter or user, "CALL_ENDED", call_id)
        assert (ended["status"], ended["reason"]) == outcome, (ended, outcome)

    def answered(self, call_id):
        self.tr.rec(call_id).pending.discard(("MISSED", "RING_TIMEOUT"))

    async def park(self):
        """Leave the call as it is until the next kill."""
        self.parked = True
        while not self.tr.killed:
            await asyncio.sleep(0.05)

    # -- lifecycles --

    async def hangup_by_caller(self, a, b, _):
        cid = await self.start("hangup_by_caller", a, [b])
        await self.answer(b, cid)
        self.answered(cid)
        await self.ends(a, "CALL_END", cid, ("ENDED", "HANGUP"))

    async def hangup_by_callee(self, a, b, _):
        cid = await self.start("hangup_by_callee", a, [b])
        await self.answer(b, cid)
        self.answered(cid)
        await self.ends(b, "CALL_END", cid, ("ENDED", "HANGUP"))

    async def declined(self, a, b, _):
        cid = await self.start("declined", a, [b])
        await self.wait(b, "CALL_INCOMING", cid)
        await self.ends(b, "CALL_DECLINE", cid, ("DECLINED", "DECLINED"), waiter=a)

    async def cancelled(self, a, b, _):
        cid = await self.start("cancelled", a, [b])
        await self.wait(b, "CALL_INCOMING", cid)
        await self.ends(a, "CALL_END", cid, ("MISSED", "CANCELLED"))

    async def ring_timeout(self, a, b, _):
        cid = await self.start("ring_timeout", a, [b])
        ended = await self.wait(a, "CALL_ENDED", cid, timeout=RING + WAIT)
        assert (ended["status"], ended["reason"]) == ("MISSED", "RING_TIMEOUT"), ended

    async def group_for_everyone(self, a, b, c):
        cid = await self.start("group_for_everyone", a, [b, c])
        await self.answer(b, cid)
        await self.answer(c, cid)
        self.answered(cid)
        await self.ends(a, "CALL_END", cid, ("ENDED", "ENDED_FOR_EVERYONE"), {"forEveryone": True})

    async def group_last_leaves(self, a, b, c):
        cid = await self.start("group_last_leaves", a, [b, c])
        await self.answer(b, cid)
        await self.wait(c, "CALL_INCOMING", cid)
        tx = await self.send(c, "CALL_DECLINE", {"callId": cid})
        await self.wait(c, "CALL_PARTICIPANT_LEFT", cid, tx=tx)
        self.answered(cid)
        await self.ends(a, "CALL_END", cid, ("ENDED", "HANGUP"), waiter=b)

    async def rest_api(self, a, b, _):
        call = await self.route(a, "POST /calls", {"participantIds": [b], "type": "VIDEO"})
        rec = self.tr.rec(call["id"])
        rec.kind = "rest_api"
        await self.wait(b, "CALL_INCOMING", rec.id)
        await self.route(b, f"POST /calls/{rec.id}/answer", {"accept": True})
        self.answered(rec.id)
        rec.pending.add(("ENDED", "HANGUP"))
        ended = await self.route(b, f"POST /calls/{rec.id}/end", {})
        assert (ended["status"], ended["endReason"]) == ("ENDED", "HANGUP"), ended

    async def left_live(self, a, b, _):
        cid = await self.start("left_live", a, [b])
        await self.answer(b, cid)
        self.answered(cid)
        await self.park()

    async def left_ringing(self, a, b, _):
        await self.start("left_ringing", a, [b])
        await self.park()


async def run_segment(server, lanes, tracker, plan):
    """Connect the lanes' users, run lifecycles until Janus is killed (or the plan is
    done: then kill it too), close the clients."""
    client = await JanusClient.connect(server.url)
    try:
        for lane in lanes:
            await lane.open(client)
        tasks = [asyncio.create_task(lane.run(plan)) for lane in lanes]
        while not tracker.killed:
            await asyncio.sleep(0.02)
            if all(t.done() or lane.parked for t, lane in zip(tasks, lanes)):
                failed = [t for t in tasks if t.done() and t.exception()]
                if failed:
                    tracker.kill("a lane failed")
                    break
                tracker.kill("every lane is done or waits with a call left live/ringing")
        # Cancel until they stop: Python 3.11's asyncio.wait_for may swallow a cancellation
        # that arrives as the awaited message does
        for _ in range(20):
            if all(t.done() for t in tasks):
                break
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=0.5)
        assert all(t.done() for t in tasks), "a lane did not stop after the kill"
        for t in tasks:
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()
    finally:
        for s in client.sessions.values():
            s.stop_keepalive()
        client.reader.cancel()
        try:
            await asyncio.wait_for(client.ws.close(), 2)
        except Exception:  # the server is gone: nothing to close cleanly
            pass


async def test_kill_9_loses_nothing_announced(janus_factory):
    seed = int(os.environ.get("CALLS_KILL_SEED", str(time.time_ns() % 1_000_000)))
    print(f"\nseed {seed} (CALLS_KILL_SEED={seed} to pick it again)")
    rng = random.Random(seed)
    server = janus_factory(configs=calls_config(ring_timeout=RING, connect_timeout=120, reconnect_grace=120))
    tracker = Tracker(server, rng)
    lanes = [Lane(i, tracker, seed) for i in range(LANES)]
    plan = collections.deque(rng.choices(list(KINDS), weights=list(KINDS.values()), k=LIFECYCLES))
    started = time.monotonic()
    while plan:
        await run_segment(server, lanes, tracker, plan)
        server.start()
        tracker.killed = False
        tracker.arm()
    elapsed = time.monotonic() - started

    # Read back what the history says of every call a client was told about
    client = await JanusClient.connect(server.url)
    handles = {}
    for lane in lanes:
        for user in lane.users:
            session = await client.create_session()
            handles[user] = await session.attach(PLUGIN)
            assert (await register(handles[user], userId=user, userName=user))["status"] == 200
    told = {cid: rec for cid, rec in tracker.calls.items() if rec.told}
    history, missing, not_final = {}, [], []
    for cid, rec in told.items():
        reply = await route(handles[rec.initiator], f"GET /calls/{cid}")
        if reply.get("status") != 200:
            missing.append((cid, rec.kind, rec.told, reply))
            continue
        call = reply["body"]["call"]
        history[cid] = (call["status"], call["endReason"])
        still = [p for p in call["participants"] if p["status"] in ("RINGING", "JOINED")]
        if still:
            not_final.append((cid, call["status"], still))
    for s in list(client.sessions.values()):
        await s.destroy()
    await client.close()
    assert server.stop() == 0

    # The file, read directly once Janus stopped
    db = sqlite3.connect(server.data_dir / "calls.db")
    rows = dict(((r[0], (r[1], r[2], r[3])) for r in db.execute(
        "SELECT id, status, end_reason, live FROM calls")))
    db.close()

    ended_ok, ended_wrong, restart_closed, in_flight, not_closed = 0, [], 0, 0, []
    for cid, rec in told.items():
        got = history.get(cid)
        if got is None:
            continue
        if rec.ended is not None:
            if got == rec.ended:
                ended_ok += 1
            else:
                ended_wrong.append((cid, rec.kind, "told", rec.ended, "history", got))
        elif got == RESTART:
            restart_closed += 1
        elif got in rec.pending:
            in_flight += 1
        else:
            not_closed.append((cid, rec.kind, "history", got, "allowed", sorted({RESTART, *rec.pending})))
    file_mismatch = [(cid, history[cid], rows.get(cid)) for cid in history
                     if rows.get(cid) is None or rows[cid][:2] != history[cid]]
    live_in_file = [cid for cid, r in rows.items() if r[2] != 0]

    kinds = collections.Counter()
    for lane in lanes:
        kinds.update(lane.lifecycles)
    print(f"lifecycles {sum(kinds.values())} {dict(kinds)}")
    print(f"kills {len(tracker.kills)}: " + ", ".join(f"step {s} ({w})" for s, w in tracker.kills))
    print(f"calls told {len(told)}, ended seen {sum(1 for r in told.values() if r.ended)} "
          f"(history agrees {ended_ok}, differs {len(ended_wrong)}), closed SERVER_RESTART {restart_closed}, "
          f"ended by a request in flight at the kill {in_flight}, wrongly closed {len(not_closed)}, "
          f"missing {len(missing)}; rows in the file {len(rows)}, live there {len(live_in_file)}; "
          f"{elapsed:.1f} s")

    assert sum(kinds.values()) == LIFECYCLES
    assert len(tracker.kills) >= 5, tracker.kills
    assert not tracker.conflicts, f"clients were told different ends of a call: {tracker.conflicts}"
    assert not missing, f"{len(missing)} of {len(told)} calls clients were told about are missing: {missing[:10]}"
    assert not ended_wrong, f"history differs from the CALL_ENDED clients received: {ended_wrong[:10]}"
    assert not not_closed, f"calls not closed SERVER_RESTART: {not_closed[:10]}"
    assert not not_final, f"participants still RINGING/JOINED in a closed call: {not_final[:5]}"
    assert not file_mismatch, f"the file differs from GET /calls/:id: {file_mismatch[:10]}"
    assert not live_in_file, f"calls still live in the file after the last restart: {live_in_file[:10]}"
    assert restart_closed > 0 and ended_ok > 0
