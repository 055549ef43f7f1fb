#!/usr/bin/python3
"""Soak of janus.plugin.calls: many call cycles with media, then what is left.

Starts a private Janus with the plugin and runs `--cycles` call cycles (default
1000), `--concurrency` at a time (default 4). A cycle is what users do: new
Janus sessions (a publisher and a subscriber handle each, registered), a VIDEO
call (2 people, every 4th cycle 3), everybody answers, publishes (aiortc: a
160x120 moving picture and a tone) and subscribes, every one decodes video and
audio frames of every other, the call goes on for `--hold` seconds (default
1.5) and its video still flows at the end of it; then the call ends (the initiator ends it for
everyone, or the others hang up one by one) and the sessions are destroyed.
Some cycles reconnect mid-call before ending:

  - republish (every 10th, from cycle 3): the last participant's publishing
    PeerConnection closes and the user publishes again from a new handle of the
    same session; the others decode the new stream;
  - session (every 10th, from cycle 7): the last participant's whole Janus
    session is destroyed and comes back (new session, handles, PeerConnections)
    within reconnect_grace; both directions decode again.

Janus's RSS (VmRSS) is read with no call running after the warm-up (`--warmup`
cycles, default 100) and at the end; at the end the Admin API must show
nothing left: the plugin's `stats` (live calls, handles, peers, timers) when
the plugin has that request, else `list_calls` and Janus's `list_sessions`.

    sudo scripts/netns.sh /usr/bin/python3 bench/soak.py --cycles 1000

Prints figures (cycles, failed cycles, duration, RSS after warm-up and at the
end, growth, what the Admin API shows); asserts nothing about them. Exit code:
0 when every cycle completed and the end state is clean, 1 otherwise, 2 when
it cannot start. Bounded: `--max-minutes` (default 30) stops starting cycles,
each cycle has `--cycle-timeout` seconds (default 120).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import loadavg, proc_cpu, rss_mib  # noqa: E402
from harness.client import AdminClient, JanusClient, JanusError, register  # noqa: E402
from harness.janus import JanusServer  # noqa: E402
from harness.media import MovingPictureTrack, Peer, ToneTrack  # noqa: E402
from media_helpers import Party, calls_config, rises_by  # noqa: E402

PLUGIN = "janus.plugin.calls"
GRACE = 10  # s, reconnect_grace: a comeback under load must fit in it


def threads(pid) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def kind_of(i: int) -> str:
    return {3: "republish", 7: "session"}.get(i % 10, "plain")


def make_peer(name, audio=True, video=True) -> Peer:
    """An aiortc peer sending a small picture (the soak runs many at once on one core)."""
    peer = Peer(name, audio=False, video=False)
    if audio:
        peer.pc.addTrack(ToneTrack())
    if video:
        peer.pc.addTrack(MovingPictureTrack(160, 120))
    return peer


class Soak:
    def __init__(self, args, server):
        self.args, self.server = args, server
        self.done = 0
        self.failed = []        # (cycle, kind, message)
        self.kinds = {"plain": 0, "republish": 0, "session": 0}
        self.next_cycle = 0
        self.deadline = None
        self.clients = []
        self.ws_reconnects = 0
        self.pcs = 0            # aiortc PeerConnections made (each one a Janus PeerConnection)

    # --- one cycle ---------------------------------------------------------------------------

    async def cycle(self, client, i):
        kind = kind_of(i)
        party = Party(connect=None, peers=lambda name, audio=True, video=True: make_peer(name, audio, video))
        party.server, party.client = self.server, client
        n = 3 if i % 4 == 0 else 2
        try:
            members = await party.users(*(f"s{i}-u{k}" for k in range(n)))
            call_id = await party.call(members[0], members[1:], "VIDEO")
            await party.media(call_id, *members)
            await party.all_see_all(members, frames=3, timeout=60)
            await self.hold(members)
            if kind == "republish":
                await self.republish(party, members, call_id)
            elif kind == "session":
                members = await self.session_comes_back(party, members, call_id)
            await self.end(members, call_id, leave_one_by_one=(i % 3 == 1))
            party.no_errors()
            self.kinds[kind] += 1
        finally:
            await self.tidy(party, client)

    async def hold(self, members):
        """The call goes on for --hold seconds; the video still flows at the end of it."""
        await asyncio.sleep(self.args.hold)
        for v in members:
            for o in members:
                if v is not o:
                    await rises_by(3, lambda v=v, o=o: v.frames(o.user_id, "video"),
                                   f"{v.user_id} decoding {o.user_id}'s video after {self.args.hold} s", timeout=30)

    async def republish(self, party, members, call_id):
        p, others = members[-1], members[:-1]
        await p.tx.pc.close()
        await p.pub.wait_event("hangup", timeout=15)
        handle = await p.session.attach(PLUGIN)
        reply = await register(handle, userId=p.user_id, userName=p.user_name)
        assert reply.get("status") == 200, reply
        await p.publish(call_id, handle=handle, name=f"{p.user_id}-tx2")
        for o in others:
            await rises_by(3, lambda o=o: o.frames(p.user_id, "video"),
                           f"{o.user_id} decoding {p.user_id}'s video after it re-published", timeout=45)

    async def session_comes_back(self, party, members, call_id):
        p, others = members[-1], members[:-1]
        await p.close()
        await p.session.destroy()
        await p.tx.pc.close()
        await p.rx.pc.close()
        gone = time.monotonic()
        again = await party.user(p.user_id, p.user_name)
        again.call_id = call_id
        await again.publish()
        await again.subscribe()
        back = time.monotonic() - gone
        assert back < GRACE, f"{p.user_id} took {back:.1f} s to come back, past the {GRACE} s grace"
        for o in others:
            await again.rx.wait_frames(3, "video", stream=o.user_id, timeout=45)
            await rises_by(3, lambda o=o: o.frames(p.user_id, "video"),
                           f"{o.user_id} decoding {p.user_id}'s video after its session came back", timeout=45)
        return others + [again]

    async def end(self, members, call_id, leave_one_by_one):
        if leave_one_by_one:
            for p in members[1:]:
                await p.send("CALL_END", {"callId": call_id})
        else:
            await members[0].send("CALL_END", {"callId": call_id, "forEveryone": True})
        for p in members:
            ended = await p.wait("CALL_ENDED", callId=call_id, timeout=20)
            assert ended["status"] == "ENDED", ended

    async def tidy(self, party, client):
        """Close the peers and destroy the sessions; forget the handles (their message history)."""
        self.pcs += len(party.made)
        try:
            await asyncio.wait_for(party.close(), 60)
        except Exception as e:  # counted by the caller through the cycle's own failure, if any
            print(f"  closing the peers: {e!r}", flush=True)
        for p in party.members:
            if p.session is not None and p.session.id in client.sessions:
                try:
                    await p.session.destroy(timeout=10)
                except (JanusError, ConnectionError, AssertionError):
                    pass
            for h in (p.pub, p.sub):
                if h is not None:
                    client.handles.pop(h.id, None)
        for h in [h for h in client.handles.values() if h.session.id not in client.sessions]:
            client.handles.pop(h.id, None)

    # --- lanes -------------------------------------------------------------------------------

    async def lane(self, n, upto):
        while self.next_cycle < upto and time.monotonic() < self.deadline:
            i = self.next_cycle
            self.next_cycle += 1
            if self.clients[n].reader.done():  # the WebSocket closed: a new one, counted
                try:
                    await self.clients[n].close()
                except Exception:
                    pass
                self.clients[n] = await JanusClient.connect(self.server.url)
                self.ws_reconnects += 1
            try:
                await asyncio.wait_for(self.cycle(self.clients[n], i), self.args.cycle_timeout)
            except Exception as e:
                msg = "".join(traceback.format_exception_only(type(e), e)).strip().splitlines()
                self.failed.append((i, kind_of(i), " | ".join(msg)[:400]))
                print(f"  cycle {i} ({kind_of(i)}) FAILED: {' | '.join(msg)[:400]}", flush=True)
            self.done += 1
            if self.done % self.args.report_every == 0:
                pid = self.server.proc.pid
                print(f"  {self.done} cycles, {len(self.failed)} failed, {time.monotonic() - self.t0:.0f} s, "
                      f"Janus RSS {rss_mib(pid):.1f} MiB, {threads(pid)} threads, load {loadavg()}", flush=True)

    async def run_until(self, upto):
        await asyncio.gather(*(self.lane(n, upto) for n in range(len(self.clients))))

    async def quiet_rss(self):
        """Janus's RSS with no call running, after the plugin and Janus tidied up."""
        await asyncio.sleep(self.args.settle)
        return rss_mib(self.server.proc.pid)

    async def end_state(self):
        """What the Admin API shows; (clean, description)."""
        admin = await AdminClient.connect(self.server.admin_url, self.server.admin_secret)
        try:
            stats = await admin.message_plugin(PLUGIN, {"request": "stats"})
            sessions = await admin.list_sessions()
            if stats.get("status") == 200:
                body = stats["body"]
                left = {k: body.get(k) for k in ("liveCalls", "handles", "peers", "timers")}
                clean = all(v == 0 for v in left.values()) and not sessions
                return clean, (f"plugin stats {body}; Janus sessions {len(sessions)}")
            calls = await admin.message_plugin(PLUGIN, {"request": "list_calls"})
            total = calls.get("body", {}).get("total")
            clean = total == 0 and not sessions
            return clean, (f"plugin `stats` not available ({stats.get('error', stats)}); live calls "
                           f"(list_calls) {total}; Janus sessions (list_sessions) {len(sessions)}: "
                           f"no session, so no handle (peers and timers not visible without `stats`)")
        finally:
            await admin.close()

    def quiet_aioice(self, loop, context):
        """aioice 0.9 retries a STUN transaction whose PeerConnection closed meanwhile and
        fails with InvalidStateError in a timer callback: harmless, counted, not printed."""
        if isinstance(context.get("exception"), asyncio.InvalidStateError) and \
                "Transaction.__retry" in repr(context.get("handle")):
            self.aioice_noise += 1
            return
        loop.default_exception_handler(context)

    async def main(self):
        a = self.args
        self.aioice_noise = 0
        asyncio.get_running_loop().set_exception_handler(self.quiet_aioice)
        self.t0 = time.monotonic()
        self.deadline = self.t0 + a.max_minutes * 60
        self.clients = [await JanusClient.connect(self.server.url) for _ in range(a.concurrency)]
        pid = self.server.proc.pid
        cpu0 = proc_cpu(f"/proc/{pid}/stat")
        rss_start = rss_mib(pid)
        try:
            warmup = min(a.warmup, a.cycles)
            await self.run_until(warmup)
            rss_warm = await self.quiet_rss()
            t_warm, pcs_warm, threads_warm = time.monotonic(), self.pcs, threads(pid)
            print(f"  warm-up done: {self.done} cycles, Janus RSS {rss_warm:.1f} MiB, {threads_warm} threads "
                  f"with no call", flush=True)
            await self.run_until(a.cycles)
            wall = time.monotonic() - self.t0
            rss_end = await self.quiet_rss()
            clean, state = await self.end_state()
        finally:
            for c in self.clients:
                await c.close()
        cpu = proc_cpu(f"/proc/{pid}/stat") - cpu0
        alive = self.server.running()

        print()
        print("janus.plugin.calls soak")
        print(f"  Janus {self.server.info.get('version_string', '?')}, plugin {self.server.plugins['calls']}")
        print(f"  cycles: {self.done} of {a.cycles} run ({self.kinds['plain']} plain, {self.kinds['republish']} "
              f"re-published from a new handle, {self.kinds['session']} session dropped and back), "
              f"{len(self.failed)} failed; {a.concurrency} at a time")
        print(f"  duration: {wall:.0f} s ({60 * self.done / wall:.0f} cycles/min); Janus CPU {cpu:.0f} s "
              f"({100 * cpu / wall:.0f}% of a core); load average now {loadavg()}")
        growth = rss_end - rss_warm
        pcs = self.pcs - pcs_warm
        print(f"  Janus RSS: {rss_start:.1f} MiB at start, {rss_warm:.1f} MiB after {warmup} cycles (warm-up), "
              f"{rss_end:.1f} MiB at the end: growth after warm-up {growth:+.2f} MiB over "
              f"{self.done - warmup} cycles ({1024 * growth / max(1, self.done - warmup):+.2f} KiB per cycle)"
              f" [{(time.monotonic() - t_warm) / 60:.1f} min]; {pcs} PeerConnections after warm-up: "
              f"{1024 * growth / max(1, pcs):+.2f} KiB per PeerConnection")
        print(f"  Janus threads: {threads_warm} after warm-up, {threads(pid)} at the end; WebSocket reconnections "
              f"{self.ws_reconnects}")
        print(f"  end state: {state}")
        print(f"  Janus {'still running' if alive else 'NOT RUNNING'}; log {self.server.log_path}")
        for c, k, m in self.failed[:20]:
            print(f"  failed cycle {c} ({k}): {m}")
        ok = clean and alive and not self.failed and self.done == a.cycles
        print(f"  verdict: {'clean' if ok else 'NOT CLEAN'}"
              + ("" if self.done == a.cycles else f" (stopped by --max-minutes after {self.done} cycles)"))
        return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=1000, help="call cycles to run")
    ap.add_argument("--concurrency", type=int, default=4, help="calls running at once")
    ap.add_argument("--hold", type=float, default=1.5, help="how long each call goes on with media (s)")
    ap.add_argument("--warmup", type=int, default=100, help="cycles before the reference RSS")
    ap.add_argument("--max-minutes", type=float, default=30, help="no new cycle starts after that")
    ap.add_argument("--cycle-timeout", type=float, default=120, help="bound on one cycle (s)")
    ap.add_argument("--settle", type=float, default=5, help="quiet seconds before reading RSS (s)")
    ap.add_argument("--report-every", type=int, default=50, help="progress line every N cycles")
    ap.add_argument("--workdir", help="Janus's work folder (default a new /tmp/calls-soak.XXXXXX)")
    args = ap.parse_args()
    if not Path("/sys/class/net/va").exists():
        print("bench/soak.py: run it in a network namespace: sudo scripts/netns.sh /usr/bin/python3 "
              "bench/soak.py", file=sys.stderr)
        return 2

    # SIGTERM (scripts/netns.sh's cleanup, a timeout) stops like Ctrl-C: Janus is stopped
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt("SIGTERM")))
    workdir = args.workdir or tempfile.mkdtemp(prefix="calls-soak.")
    config = calls_config(reconnect_grace=GRACE, ring_timeout=60, connect_timeout=60,
                          max_calls_per_minute=0, max_live_calls=0)
    server = JanusServer(configs=config, workdir=workdir, debug_level=4, session_timeout=60)
    print(f"bench/soak.py: {args.cycles} cycles, {args.concurrency} at a time; Janus work folder {workdir}; "
          f"load average {loadavg()}", flush=True)
    server.start()
    try:
        return asyncio.run(Soak(args, server).main())
    finally:
        code = server.stop()
        if code != 0:
            print(f"  Janus exited with code {code} when stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
