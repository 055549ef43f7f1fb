#!/usr/bin/python3
"""Signaling benchmark of janus.plugin.calls (no media).

Starts a private Janus with the plugin (open mode), registers many users on
real Janus WebSocket connections, and measures:

  1. call set-ups + tear-downs per second: pairs of users run, as fast as they
     can for a fixed time, CALL_INITIATE -> CALL_INCOMING -> CALL_ANSWER ->
     CALL_PARTICIPANT_JOINED -> CALL_END -> CALL_ENDED on both sides;
  2. ring latency: CALL_INITIATE sent by the caller -> CALL_INCOMING received by
     the callee (another connection), p50/p95/p99;
  3. the plugin's memory per live call: Janus's RSS before and after creating
     many ringing calls, divided by their number (and what stays after they end).

Janus runs on CPU 0, this client on CPU 1. Run it inside a network namespace
(Janus gathers ICE on `va` only, see scripts/netns.sh):

    sudo scripts/netns.sh bench/signaling.py [--pairs 100] [--seconds 20] [--live 1000]

SPDX-License-Identifier: GPL-3.0-or-later
"""

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentile, pin, proc_cpu, rss_mib  # noqa: E402
from harness.janus import JanusServer  # noqa: E402

PLUGIN = "janus.plugin.calls"


class Connection:
    """One Janus WebSocket connection carrying one session and many handles."""

    def __init__(self, ws):
        self.ws = ws
        self.pending = {}      # transaction -> future (synchronous answers)
        self.handlers = {}     # handle id -> callback(event name, data, msg)
        self.tx = itertools.count()
        self.session = None
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url):
        ws = await websockets.connect(url, subprotocols=["janus-protocol"], max_size=None, ping_interval=None)
        conn = cls(ws)
        conn.session = (await conn.request({"janus": "create"}))["data"]["id"]
        conn.keepalive = asyncio.create_task(conn._keepalive())
        return conn

    async def _keepalive(self):
        while True:
            await asyncio.sleep(20)
            await self.ws.send(json.dumps({"janus": "keepalive", "session_id": self.session,
                                           "transaction": f"k{next(self.tx)}"}))

    async def _read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            kind = msg.get("janus")
            tx = msg.get("transaction")
            if kind in ("success", "error") and tx in self.pending:
                self.pending.pop(tx).set_result(msg)
            elif kind == "event":
                data = msg.get("plugindata", {}).get("data", {})
                cb = self.handlers.get(msg.get("sender"))
                if cb is not None and "event" in data:
                    cb(data["event"], data.get("data", {}), msg)

    async def request(self, msg):
        tx = f"t{next(self.tx)}"
        msg = dict(msg, transaction=tx)
        if self.session is not None:
            msg.setdefault("session_id", self.session)
        fut = asyncio.get_running_loop().create_future()
        self.pending[tx] = fut
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, 30)
        if reply.get("janus") == "error":
            raise RuntimeError(reply["error"])
        return reply

    async def send(self, handle, body):
        await self.ws.send(json.dumps({"janus": "message", "session_id": self.session, "handle_id": handle,
                                       "transaction": f"e{next(self.tx)}", "body": body}))

    async def close(self):
        self.keepalive.cancel()
        self.reader.cancel()
        await self.ws.close()


class User:
    """A registered handle whose contract events land in per-name queues."""

    def __init__(self, conn, handle, user_id):
        self.conn, self.handle, self.user_id = conn, handle, user_id
        self.waiters = {}
        conn.handlers[handle] = self._on_event

    @classmethod
    async def create(cls, conn, user_id):
        handle = (await conn.request({"janus": "attach", "plugin": PLUGIN}))["data"]["id"]
        reply = await conn.request({"janus": "message", "handle_id": handle,
                                    "body": {"request": "register", "userId": user_id, "userName": user_id}})
        status = reply["plugindata"]["data"].get("status")
        if status != 200:
            raise RuntimeError(f"register {user_id}: {reply['plugindata']['data']}")
        return cls(conn, handle, user_id)

    def _on_event(self, name, data, msg):
        if name == "ERROR":
            # Fail whatever this user waits for: the benchmark stops with the error
            for fut in self.waiters.values():
                if not fut.done():
                    fut.set_exception(RuntimeError(f"{self.user_id}: ERROR {data}"))
            self.waiters.clear()
            return
        fut = self.waiters.pop(name, None)
        if fut is not None and not fut.done():
            fut.set_result((time.perf_counter(), data))

    def expect(self, name):
        fut = asyncio.get_running_loop().create_future()
        self.waiters[name] = fut
        return fut

    async def event(self, name, data):
        await self.conn.send(self.handle, {"event": name, "data": data})



async def make_users(conns, prefix, n):
    users = []
    for i in range(0, n, 50):
        batch = [User.create(conns[(i + j) % len(conns)], f"{prefix}{i + j}") for j in range(min(50, n - i))]
        users += await asyncio.gather(*batch)
    return users


async def one_call(caller, callee, latencies, timeout=10):
    """CALL_INITIATE -> CALL_INCOMING -> CALL_ANSWER -> JOINED -> CALL_END -> CALL_ENDED (both)."""
    incoming = callee.expect("CALL_INCOMING")
    started = caller.expect("CALL_STARTED")
    t0 = time.perf_counter()
    await caller.event("CALL_INITIATE", {"participantIds": [callee.user_id], "type": "VIDEO"})
    t1, inc = await asyncio.wait_for(incoming, timeout)
    await asyncio.wait_for(started, timeout)
    latencies.append((t1 - t0) * 1000)
    call_id = inc["callId"]
    joined = caller.expect("CALL_PARTICIPANT_JOINED")
    await callee.event("CALL_ANSWER", {"callId": call_id})
    await asyncio.wait_for(joined, timeout)
    ended_a, ended_b = caller.expect("CALL_ENDED"), callee.expect("CALL_ENDED")
    await caller.event("CALL_END", {"callId": call_id})
    await asyncio.wait_for(asyncio.gather(ended_a, ended_b), timeout)


async def pair_loop(caller, callee, deadline, latencies, counts, pause=0.0):
    """Calls back to back until the deadline (with `pause` between two: a light load)."""
    while time.perf_counter() < deadline:
        await one_call(caller, callee, latencies)
        counts[0] += 1
        if pause:
            await asyncio.sleep(pause)




async def bench(args, server):
    pid = server.proc.pid
    conns = [await Connection.open(server.url) for _ in range(args.connections)]

    # 1 + 2: throughput and ring latency at saturation, then ring latency at a light load
    users = await make_users(conns, "u", args.pairs * 2)
    callers, callees = users[:args.pairs], users[args.pairs:]
    latencies, counts = [], [0]
    await pair_loop(callers[0], callees[0], time.perf_counter() + 1, [], [0])   # warm-up
    light, light_counts = [], [0]
    light_pairs = min(args.light_pairs, args.pairs)
    light_deadline = time.perf_counter() + args.light_seconds
    await asyncio.gather(*(pair_loop(a, b, light_deadline, light, light_counts, args.light_interval)
                           for a, b in zip(callers[:light_pairs], callees[:light_pairs])))
    cpu0, wall0, own0 = proc_cpu(f"/proc/{pid}/stat"), time.perf_counter(), time.process_time()
    deadline = wall0 + args.seconds
    await asyncio.gather(*(pair_loop(a, b, deadline, latencies, counts) for a, b in zip(callers, callees)))
    wall = time.perf_counter() - wall0
    janus_cpu = proc_cpu(f"/proc/{pid}/stat") - cpu0
    own_cpu = time.process_time() - own0

    # 3: memory per live call
    rss_before = rss_mib(pid) * 1024
    ringers = await make_users(conns, "r", args.live * 2)
    rss_users = rss_mib(pid) * 1024
    a, b = ringers[:args.live], ringers[args.live:]
    started = [x.expect("CALL_STARTED") for x in a]
    for i in range(0, args.live, 100):
        await asyncio.gather(*(x.event("CALL_INITIATE", {"participantIds": [y.user_id], "type": "VIDEO"})
                               for x, y in zip(a[i:i + 100], b[i:i + 100])))
    results = await asyncio.wait_for(asyncio.gather(*started), 60)
    await asyncio.sleep(1)
    rss_live = rss_mib(pid) * 1024
    ended = [x.expect("CALL_ENDED") for x in a]
    for (_, data), x in zip(results, a):
        await x.event("CALL_END", {"callId": data["callId"]})
    await asyncio.wait_for(asyncio.gather(*ended), 60)
    await asyncio.sleep(1)
    rss_after = rss_mib(pid) * 1024

    for c in conns:
        await c.close()

    n = counts[0]
    per_call = (rss_live - rss_users) / args.live
    print()
    print("janus.plugin.calls signaling benchmark")
    print(f"  Janus {server.info.get('version_string', '?')}, Janus pinned to CPU 0, clients to CPU 1, "
          f"{args.connections} WebSocket connections")
    print(f"  set-up + tear-down: {args.pairs} caller/callee pairs for {wall:.1f} s: "
          f"{n} calls, {n / wall:.1f} calls/s")
    print(f"    Janus CPU {janus_cpu:.2f} s ({100 * janus_cpu / wall:.0f}% of a core, "
          f"{1000 * janus_cpu / max(n, 1):.2f} ms per call); client CPU {100 * own_cpu / wall:.0f}% of a core")
    print(f"  ring latency (CALL_INITIATE sent -> CALL_INCOMING received):")
    print(f"    light load ({light_pairs} pairs, a call every {args.light_interval * 1000:.0f} ms each, "
          f"{light_counts[0] / args.light_seconds:.0f} calls/s), n={len(light)}: "
          f"p50 {percentile(light, 50):.2f} ms, p95 {percentile(light, 95):.2f} ms, "
          f"p99 {percentile(light, 99):.2f} ms")
    print(f"    saturated ({args.pairs} pairs as fast as they can), n={len(latencies)}: "
          f"p50 {percentile(latencies, 50):.2f} ms, p95 {percentile(latencies, 95):.2f} ms, "
          f"p99 {percentile(latencies, 99):.2f} ms, mean {statistics.fmean(latencies):.2f} ms")
    print(f"  memory: {args.live} live ringing calls: Janus RSS {rss_users / 1024:.1f} -> {rss_live / 1024:.1f} MiB, "
          f"{per_call:.1f} KiB per live call "
          f"({(rss_users - rss_before) / (2 * args.live):.1f} KiB per registered handle); "
          f"after they ended: {rss_after / 1024:.1f} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=100, help="caller/callee pairs running at once")
    ap.add_argument("--seconds", type=float, default=20, help="duration of the throughput run")
    ap.add_argument("--live", type=int, default=1000, help="live calls for the memory measurement")
    ap.add_argument("--connections", type=int, default=8, help="WebSocket connections the users share")
    ap.add_argument("--light-pairs", type=int, default=10, help="pairs of the light-load latency run")
    ap.add_argument("--light-seconds", type=float, default=5, help="duration of the light-load latency run")
    ap.add_argument("--light-interval", type=float, default=0.1, help="pause between two calls of a pair (s)")
    args = ap.parse_args()
    if os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})
    # max_events_per_second = 0: a load generator sends faster than a handle's default rate
    config = {"general": {"auth": "open", "max_events_per_second": 0, "ring_timeout": 600, "connect_timeout": 600,
                          "max_calls_per_minute": 0, "max_live_calls": 0, "events": False,
                          "db_path": "{data_dir}/calls.db"}}
    server = JanusServer(configs={"janus.plugin.calls": config}, debug_level=3, session_timeout=120)
    server.start()
    try:
        if os.cpu_count() and os.cpu_count() > 1:
            pin(server.proc.pid, 0)
        asyncio.run(bench(args, server))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
