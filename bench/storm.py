#!/usr/bin/python3
"""Join-storm benchmark of janus.plugin.calls: how long a synchronous route waits
while many people join one call, with a STUN server configured.

Starts a private Janus with the plugin (open mode) and `nat: { stun_server }`
pointing at a STUN server of ours that answers each request late
(tests/integration/harness/stun.py, on 10.99.0.1, default 0.4 s), as a far or
busy STUN server does. Janus asks it for every new PeerConnection and, inside
push_event with an SDP, waits until gathering is done. Then, each round:

  1. `--people` users (default 16) are called into one call and all answer;
  2. before: a probe user, registered on its own connection in a process of its
     own, sends `GET /calls/active` every `--interval` (default 10 ms) whether the
     previous answers came or not (open loop, so a stall counts for every request
     it holds up), for `--quiet` seconds (default 3); with each, a Janus `info`,
     which never reaches the plugin, shows what the machine and Janus add;
  3. during: every joiner at once publishes (aiortc, audio; --video adds a picture)
     and subscribes, until each one's subscription shows every other publisher;
  4. after: the probe goes on for `--quiet` seconds.

It prints the probe's latency p50 / p99 / max (and failures) per phase over all
rounds, the storm's duration, how often Janus asked the STUN server, and the goal
(p99 < 20 ms during the storm). It asserts nothing.

Janus runs on CPU 0, the joiners and the probe on CPU 1. Run it inside a network
namespace (Janus gathers ICE on `va` only, see scripts/netns.sh):

    sudo scripts/netns.sh /usr/bin/python3 bench/storm.py [--people 16] [--rounds 3] [--stun-delay 0.4]
    sudo scripts/netns.sh /usr/bin/python3 bench/storm.py --no-stun      # the same storm without STUN

SPDX-License-Identifier: GPL-3.0-or-later
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE))
from common import loadavg, percentile, pin, proc_cpu  # noqa: E402
from harness.client import JanusClient, register, route  # noqa: E402
from harness.janus import JanusServer  # noqa: E402
from harness.media import Peer  # noqa: E402
from harness.stun import StunServer  # noqa: E402

GOAL_P99_MS = 20.0
PROBE_TIMEOUT = 15.0   # s: a probe request unanswered that long counts as failed
STORM_TIMEOUT = 120.0  # s for every joiner to see every other one
EXPECTED = {"status": 200, "body": {"calls": [], "page": 1, "limit": 10, "total": 0}}


# --- the probe: its own process ------------------------------------------------------------

async def probe_main(url, interval, max_seconds):
    """Register, print "ready", then send GET /calls/active every `interval` s until
    stdin closes (or max_seconds); print one JSON line per request:
    [monotonic send time, seconds to answer or null, error or null]."""
    client = await JanusClient.connect(url)
    session = await client.create_session()
    handle = await session.attach("janus.plugin.calls")
    reply = await register(handle, userId="probe", userName="Probe")
    assert reply.get("status") == 200, reply
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
    print("ready", flush=True)
    results = []

    async def one(t0):
        try:
            answer = await route(handle, "GET /calls/active", timeout=PROBE_TIMEOUT)
            took, err = time.monotonic() - t0, None if answer == EXPECTED else f"wrong answer {answer}"[:200]
        except Exception as e:  # a time-out, a Janus error: the probe's user would see it
            took, err = None, repr(e)[:200]
        results.append([t0, took, err, "route"])

    async def control(t0):
        """Janus's own `info`, which does not reach the plugin: what the machine, the
        transport and Janus's core add."""
        try:
            await client.info(timeout=PROBE_TIMEOUT)
            took, err = time.monotonic() - t0, None
        except Exception as e:
            took, err = None, repr(e)[:200]
        results.append([t0, took, err, "info"])

    tasks = []
    start = time.monotonic()
    k = 0
    while not stop.is_set() and time.monotonic() - start < max_seconds:
        due = start + k * interval
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(time.monotonic())))
        tasks.append(asyncio.create_task(control(time.monotonic())))
        k += 1
    await asyncio.gather(*tasks)
    for r in results:
        print(json.dumps(r))
    await client.close()


class ProbeProcess:
    """The probe in a process of its own (it inherits this one's CPU affinity)."""

    def __init__(self, url, interval):
        self.proc = subprocess.Popen([sys.executable, __file__, "--probe", url, "--interval", str(interval)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            raise RuntimeError(f"the probe did not start: {line!r}")

    def finish(self) -> list:
        out, _ = self.proc.communicate(input="", timeout=PROBE_TIMEOUT + 30)  # stdin closed: the probe stops
        return [json.loads(line) for line in out.splitlines() if line.startswith("[")]


# --- the storm ----------------------------------------------------------------------------

def thread_cpu(pid) -> dict:
    """{thread id: (thread name, CPU seconds)} of a process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            out[tid] = (name, proc_cpu(f"/proc/{pid}/task/{tid}/stat"))
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            pass
    return out


def cpu_by_name(before: dict, after: dict) -> dict:
    """CPU seconds each thread name used between two thread_cpu() snapshots (threads
    with numbered names, e.g. Janus's "hloop 1234", are summed as "hloop")."""
    used = {}
    for tid, (name, cpu) in after.items():
        key = name.split(" ")[0] if name.split(" ")[-1].isdigit() else name
        used[key] = used.get(key, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    return used


async def storm_round(server, round_no, args, phases, storm_cpu):
    """One call of args.people: before / during / after, times appended to `phases`."""
    from media_helpers import Party  # imports pytest: only needed here

    made = []

    async def connect(s):
        return await JanusClient.connect(s.url)

    def peers(name, audio=True, video=True):
        made.append(Peer(name, audio, video))
        return made[-1]

    party = Party(connect, peers)
    party.server = server
    party.client = await connect(server)
    members = await party.users(*[f"r{round_no}u{i:02d}" for i in range(args.people)])
    call_id = await party.call(members[0], members[1:], "VIDEO")
    kinds = ("audio", "video") if args.video else ("audio",)

    async def join(p):
        await p.publish(call_id, audio=True, video=args.video)
        await p.subscribe(call_id)
        await p.wait_streams({(o.user_id, k) for o in members if o is not p for k in kinds}, timeout=STORM_TIMEOUT)

    t_before = time.monotonic()
    await asyncio.sleep(args.quiet)
    t_storm = time.monotonic()
    cpu_before = thread_cpu(server.proc.pid)
    results = await asyncio.gather(*(join(p) for p in members), return_exceptions=True)
    t_after = time.monotonic()
    for name, used in cpu_by_name(cpu_before, thread_cpu(server.proc.pid)).items():
        storm_cpu[name] = storm_cpu.get(name, 0.0) + used
    await asyncio.sleep(args.quiet)
    t_end = time.monotonic()
    phases.append({"before": (t_before, t_storm), "during": (t_storm, t_after), "after": (t_after, t_end)})
    failed = [f"{p.user_id}: {r!r}"[:300] for p, r in zip(members, results) if isinstance(r, BaseException)]
    await party.close()
    for s in list(party.client.sessions.values()):
        await s.destroy(timeout=5)
    await party.client.close()
    return t_after - t_storm, failed


async def bench(args, server, stun):
    probe = ProbeProcess(server.url, args.interval)
    phases, storms, failures, storm_cpu = [], [], [], {}
    try:
        for r in range(args.rounds):
            stun_before = stun.answered if stun else 0
            took, failed = await storm_round(server, r, args, phases, storm_cpu)
            storms.append((took, (stun.answered - stun_before) if stun else 0))
            failures += failed
            print(f"round {r + 1}: {args.people} people joined in {took:.2f} s"
                  + (f", {storms[-1][1]} STUN answers" if stun else "")
                  + (f", FAILED joiners: {failed}" if failed else ""), flush=True)
    finally:
        samples = probe.finish()
    return phases, storms, failures, samples, storm_cpu


def report(args, server, stun, phases, storms, failures, samples, storm_cpu):
    print()
    print("janus.plugin.calls join-storm benchmark")
    print(f"  Janus {server.info.get('version_string', '?')}, Janus pinned to CPU 0, joiners and probe to CPU 1, "
          f"load average at start {args.load_at_start}")
    print("  STUN: " + (f"{stun.host}:{stun.port}, each answer {args.stun_delay * 1000:.0f} ms late, "
                         f"{stun.answered} answered in all" if stun else "none configured"))
    print(f"  storm: {args.rounds} round(s) of {args.people} people joining one call at once "
          f"({'audio + video' if args.video else 'audio'}), each publishes and subscribes; "
          f"all joined in {', '.join(f'{t:.2f}' for t, _ in storms)} s")
    print(f"  probe: GET /calls/active and Janus `info` every {args.interval * 1000:.0f} ms from an unrelated "
          f"user (open loop, own process); latency from send to answer:")
    during_p99 = float("inf")
    for kind, what in (("route", "GET /calls/active"), ("info", "control: Janus `info` (not the plugin)")):
        print(f"    {what}:")
        for name in ("before", "during", "after"):
            rows = [s for s in samples if s[3] == kind and any(p[name][0] <= s[0] < p[name][1] for p in phases)]
            ok = [s[1] * 1000 for s in rows if s[1] is not None and s[2] is None]
            bad = [s for s in rows if s[1] is None or s[2] is not None]
            print(f"      {name:6}  n={len(rows):5}  p50 {percentile(ok, 50):8.1f} ms  p99 {percentile(ok, 99):8.1f} ms  "
                  f"max {max(ok, default=float('nan')):8.1f} ms  failed {len(bad)}"
                  + (f" (e.g. {bad[0][2]})" if bad else ""))
            if kind == "route" and name == "during" and not bad:
                during_p99 = percentile(ok, 99)
    top = sorted(storm_cpu.items(), key=lambda kv: -kv[1])[:8]
    print(f"  Janus CPU during the storms: {sum(storm_cpu.values()):.2f} s in {sum(t for t, _ in storms):.2f} s; "
          f"by thread: {', '.join(f'{n} {c:.2f}' for n, c in top)}")
    print(f"  goal: p99 < {GOAL_P99_MS:.0f} ms during the storm (no failure): "
          f"{'MET' if during_p99 < GOAL_P99_MS else 'NOT MET'} (p99 {during_p99:.1f} ms)")
    if failures:
        print(f"  WARNING: joiners that did not finish: {failures[:5]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=16, help="people joining one call at once")
    ap.add_argument("--rounds", type=int, default=3, help="storms, each a new call with new users")
    ap.add_argument("--stun-delay", type=float, default=0.4, help="seconds before the STUN server answers")
    ap.add_argument("--no-stun", action="store_true", help="no STUN server in janus.jcfg (for comparison)")
    ap.add_argument("--video", action="store_true", help="joiners send a picture too (heavier for the clients)")
    ap.add_argument("--interval", type=float, default=0.01, help="seconds between two probe requests")
    ap.add_argument("--quiet", type=float, default=3.0, help="seconds of probing before and after each storm")
    ap.add_argument("--samples", metavar="FILE", help="write every probe request and the phases there (JSON)")
    ap.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)  # the probe process itself
    args = ap.parse_args()
    if args.probe:
        asyncio.run(probe_main(args.probe, args.interval, max_seconds=1800))
        return
    args.load_at_start = loadavg()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    stun = None if args.no_stun else StunServer("10.99.0.1", delay=args.stun_delay).start()
    # max_events_per_second = 0: the probe asks every 10 ms, more than a handle's default rate
    config = {"general": {"auth": "open", "ring_timeout": 600, "connect_timeout": 600, "max_events_per_second": 0,
                          "max_calls_per_minute": 0, "db_path": "{data_dir}/calls.db"}}
    server = JanusServer(configs={"janus.plugin.calls": config}, debug_level=3, session_timeout=120,
                         stun=stun.address if stun else None)
    try:
        server.start()
        if (os.cpu_count() or 1) > 1:
            pin(server.proc.pid, 0)
        result = asyncio.run(bench(args, server, stun))
        report(args, server, stun, *result)
        if args.samples:
            phases, _, _, samples, _ = result
            Path(args.samples).write_text(json.dumps({"phases": phases, "samples": samples}))
    finally:
        server.stop()
        if stun:
            stun.stop()


if __name__ == "__main__":
    main()
