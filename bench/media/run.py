#!/usr/bin/python3
"""Media benchmark: janus.plugin.calls side by side with Janus's VideoRoom, in one run.

One Janus (Debian's 1.1.2) loads both plugins with the same core configuration.
For each call size (default 4 and 8 parties) and each plugin in turn, the load
generator (loadgen.py, this process) sets up an N-party call where everybody
publishes ~500 kbit/s VP8 + Opus and subscribes to everybody else, lets it run
for a warm-up, then measures for a fixed time:

  - Janus CPU (user+sys of the process, all threads, /proc/<pid>/stat) per
    forwarded packet, and per thread group (/proc/<pid>/task/*/stat);
  - forwarded packets/s as counted by the receivers, next to what the
    publishers sent times (N-1) and what Janus itself says it sent (Admin API);
    receiver loss from RTP sequence gaps;
  - Janus RSS, the negotiated SRTP profile (Admin API handle_info), answer ->
    first forwarded RTP per subscriber (p50/p95);
  - this load generator's own CPU: when its core is saturated, the rate it
    could send/receive is what is measured, and the output says so.

Janus is pinned to one core and this process to another (default 0 and 1).
Before the measured scenarios, an unmeasured 2-party call per plugin primes
Janus (first-time allocations, thread start-up), so that the plugin measured
first is not penalised. Rounds alternate the plugin order.

--perf DIR records `perf record --call-graph dwarf` on Janus during each
window and prints the top symbols and a call-stack split (profiling.py);
--callgrind DIR runs Janus under callgrind and counts instructions per relayed
packet (slow: use a short, small run). Both cost Janus CPU: take the figures
from a run without them.

    sudo scripts/netns.sh /usr/bin/python3 bench/media/run.py [--parties 4,8] [--seconds 30]

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import harness.janus  # noqa: E402
from harness.client import AdminClient, JanusClient  # noqa: E402
from harness.janus import JanusServer, calls_plugin_so  # noqa: E402
import loadgen  # noqa: E402
from common import loadavg, percentile, pin, proc_cpu, rss_mib  # noqa: E402
import profiling as prof  # noqa: E402

PLUGINS = ("calls", "videoroom")
GOAL = 0.70   # the product issue: calls' Janus CPU per forwarded packet <= 0.7 x VideoRoom's


# --- /proc -------------------------------------------------------------------------------------


def janus_threads(pid) -> dict:
    """{thread group: CPU seconds} of the live threads, grouped by name without digits."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            cpu = proc_cpu(f"/proc/{pid}/task/{tid}/stat")
        except OSError:  # the thread ended meanwhile
            continue
        group = re.sub(r"\s*\d+$", "", comm) or comm
        out[group] = out.get(group, 0.0) + cpu
    return out



def udp_counters() -> dict:
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def udp_drops(pids) -> dict:
    """{pid: datagrams its UDP sockets dropped (receive buffer full)}, from /proc/net/udp*."""
    drops = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) >= 13:
                drops[f[9]] = int(f[12])
    out = {}
    for pid in pids:
        total = 0
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                total += drops.get(link[8:-1], 0)
        out[pid] = total
    return out





# --- Janus ----------------------------------------------------------------------------------------

class BenchJanus(JanusServer):
    """JanusServer plus core settings the harness does not write (event_loops)."""

    def __init__(self, *a, event_loops=0, **kw):
        super().__init__(*a, **kw)
        self.event_loops = event_loops

    def _write_config(self):
        super()._write_config()
        if self.event_loops:
            path = self.workdir / "conf" / "janus.jcfg"
            text = path.read_text()
            path.write_text(text.replace("general: {\n", f"general: {{\n\tevent_loops = {self.event_loops}\n", 1))


async def admin_media_stats(admin, scenario) -> dict:
    """Janus's own counters over the scenario's subscriber handles (Admin API): RTP
    packets sent, NACKs received, retransmissions; and the time they were read."""
    out = {"packets": 0, "nacks": 0, "retransmissions": 0, "t": time.monotonic()}
    for session_id, handle_id, role in scenario.handles_for_admin():
        if role != "subscriber":
            continue
        info = await admin.query_handle(session_id, handle_id)
        for medium in info.get("webrtc", {}).get("media", {}).values():
            stats = medium.get("stats", {}).get("out", {})
            out["packets"] += stats.get("packets", 0)
            out["nacks"] += stats.get("nacks", 0)
            out["retransmissions"] += medium.get("stats", {}).get("in", {}).get("retransmissions", 0)
    out["t"] = (out["t"] + time.monotonic()) / 2
    return out


async def dtls_info(admin, scenario) -> dict:
    """SRTP profile and DTLS state of one publisher and one subscriber handle (Admin API)."""
    out = {}
    for session_id, handle_id, role in scenario.handles_for_admin():
        if role in out:
            continue
        try:
            info = await admin.query_handle(session_id, handle_id)
        except Exception as e:  # reported, not fatal
            out[role] = {"error": str(e)}
            continue
        dtls = info.get("webrtc", {}).get("dtls", {})
        out[role] = {"srtp-profile": dtls.get("srtp-profile"), "dtls-role": dtls.get("dtls-role"),
                     "dtls-state": dtls.get("dtls-state"), "info": info}
    return out


# --- one measurement ------------------------------------------------------------------------

class Snapshot:
    def __init__(self, pid, scenario):
        self.t = time.monotonic()
        self.janus = proc_cpu(f"/proc/{pid}/stat")
        self.threads = janus_threads(pid)
        self.own = time.process_time()
        self.udp = udp_counters()
        self.drops = udp_drops((pid, os.getpid()))
        self.pid = pid
        self.rx = [r.rx.snapshot() if r.rx else {} for r in scenario.receivers]
        self.rx_bad = sum(r.rx.bad for r in scenario.receivers if r.rx)
        self.sent = sum(p.sent_packets() for p in scenario.senders)
        self.keyreq = sum(p.keyframe_requests() for p in scenario.senders)
        self.late = sum(p.late_frames() for p in scenario.senders)


def window(a: Snapshot, b: Snapshot) -> dict:
    """What happened between two snapshots."""
    packets = bytes_ = expected = 0
    for ra, rb in zip(a.rx, b.rx):
        for ssrc, (pk, by, ext) in rb.items():
            pa, ba, ea = ra.get(ssrc, (0, 0, None))
            packets += pk - pa
            bytes_ += by - ba
            expected += (ext - ea) if ea is not None else pk   # a stream started inside the window
    threads = {g: b.threads[g] - a.threads.get(g, 0.0) for g in b.threads}
    return {"wall": b.t - a.t, "janus_cpu": b.janus - a.janus, "own_cpu": b.own - a.own,
            "packets": packets, "bytes": bytes_, "expected": expected, "sent": b.sent - a.sent,
            "keyreq": b.keyreq - a.keyreq, "late": b.late - a.late, "srtp_bad": b.rx_bad - a.rx_bad,
            "udp": {k: b.udp.get(k, 0) - a.udp.get(k, 0) for k in ("InDatagrams", "InErrors", "RcvbufErrors",
                                                                   "SndbufErrors")},
            "threads": threads,
            "drops_janus": b.drops[b.pid] - a.drops[a.pid],
            "drops_load": b.drops[os.getpid()] - a.drops[os.getpid()]}


async def sample_cpu(pid, stop, samples):
    """Per-second CPU of Janus and of this process, until `stop` is set."""
    j0, o0, t0 = proc_cpu(f"/proc/{pid}/stat"), time.process_time(), time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
        j1, o1, t1 = proc_cpu(f"/proc/{pid}/stat"), time.process_time(), time.monotonic()
        if t1 - t0 > 0.5:
            samples.append(((j1 - j0) / (t1 - t0), (o1 - o0) / (t1 - t0)))
        j0, o0, t0 = j1, o1, t1


async def measure(args, server, client, admin, media, plugin, n, tag, seconds, warmup, profile=True):
    pid = server.proc.pid
    if plugin == "calls":
        scenario = loadgen.CallsScenario(client, media, n, tag)
    else:
        scenario = loadgen.VideoRoomScenario(client, media, n, tag, room_options=args.room_options)
    result = {"plugin": plugin, "n": n, "rss_before": rss_mib(pid)}
    slow = 10 if args.callgrind else 1
    try:
        t0 = time.monotonic()
        await asyncio.wait_for(scenario.setup(), (60 + 5 * n) * slow)
        await scenario.wait_flowing(timeout=30 * slow)
        result["setup_s"] = time.monotonic() - t0
        result["first_rtp_ms"] = [r.first_rtp_ms() for r in scenario.receivers if r.first_rtp_ms() is not None]
        result["answers"] = [r.answers for r in scenario.receivers]
        result["dtls"] = await dtls_info(admin, scenario)
        result["sdp"] = {"publisher answer": loadgen.sdp_summary(scenario.senders[0].remote_sdp),
                         "subscriber offer": loadgen.sdp_summary(scenario.receivers[0].remote_sdp),
                         "subscriber answer": loadgen.sdp_summary(scenario.receivers[0].local_sdp)}
        await asyncio.sleep(warmup)
        stop, samples = asyncio.Event(), []
        perf = None
        admin0 = await admin_media_stats(admin, scenario)
        if profile and args.perf:
            result["perf"] = Path(args.perf) / f"perf-{plugin}-{n}.data"
            perf = await prof.run_perf(pid, seconds, result["perf"], args.load_cpu, args.perf_callgraph)
        if profile and args.callgrind:
            await asyncio.to_thread(prof.callgrind_start, pid)   # blocking tools: off the event loop
        sampler = asyncio.create_task(sample_cpu(pid, stop, samples))
        a = Snapshot(pid, scenario)
        await asyncio.sleep(seconds)
        b = Snapshot(pid, scenario)
        stop.set()
        await sampler
        if profile and args.callgrind:
            result["callgrind"] = await asyncio.to_thread(prof.callgrind_stop, pid, Path(args.callgrind))
        admin1 = await admin_media_stats(admin, scenario)
        if perf is not None:
            try:
                await asyncio.wait_for(perf.wait(), seconds + 30)
            except asyncio.TimeoutError:
                perf.kill()
                await perf.wait()
        result.update(window(a, b))
        result["admin"] = {k: admin1[k] - admin0[k] for k in admin0}
        result["rss"] = rss_mib(pid)
        result["own_max"] = max((o for _, o in samples), default=float("nan"))
        result["janus_max"] = max((j for j, _ in samples), default=float("nan"))
    finally:
        await asyncio.wait_for(scenario.teardown(), 60 * slow)
    await asyncio.sleep(args.settle)
    result["rss_after"] = rss_mib(pid)
    return result


# --- report -------------------------------------------------------------------------------------

def pooled(results):
    """The windows of several rounds of one (plugin, n), added up."""
    keys = ("wall", "janus_cpu", "own_cpu", "packets", "bytes", "expected", "sent", "keyreq", "late", "srtp_bad",
            "drops_janus", "drops_load")
    tot = {k: sum(r[k] for r in results) for k in keys}
    tot["udp"] = {k: sum(r["udp"][k] for r in results) for k in results[0]["udp"]}
    tot["admin"] = {k: sum(r["admin"][k] for r in results) for k in results[0]["admin"]}
    tot["first_rtp_ms"] = [x for r in results for x in r["first_rtp_ms"]]
    tot["answers"] = [x for r in results for x in r["answers"]]
    tot["rss"] = max(r["rss"] for r in results)
    tot["rss_growth"] = max(r["rss"] - r["rss_before"] for r in results)
    tot["own_max"] = max(r["own_max"] for r in results)
    tot["janus_max"] = max(r["janus_max"] for r in results)
    threads = {}
    for r in results:
        for g, v in r["threads"].items():
            threads[g] = threads.get(g, 0.0) + v
    tot["threads"] = threads
    tot["dtls"] = results[-1]["dtls"]
    tot["sdp"] = results[-1]["sdp"]
    tot["per_round_us"] = [1e6 * r["janus_cpu"] / max(r["packets"], 1) for r in results]
    return tot


CPU_ROW = "Janus CPU per forwarded packet (us)"


def rows_for(t, n):
    wall = t["wall"]
    return {
        CPU_ROW: 1e6 * t["janus_cpu"] / max(t["packets"], 1),
        "Janus CPU (% of one core)": 100 * t["janus_cpu"] / wall,
        "  busiest second (% of one core)": 100 * t["janus_max"],
        "forwarded packets/s (counted by receivers)": t["packets"] / wall,
        "  publishers' packets/s x (N-1)": t["sent"] * (n - 1) / wall,
        "  Janus's own count (Admin API), packets/s": t["admin"]["packets"] / max(t["admin"]["t"], 1e-9),
        "forwarded Mbit/s (RTP, receivers)": t["bytes"] * 8 / wall / 1e6,
        "receiver loss (% of packets)": 100 * max(t["expected"] - t["packets"], 0) / max(t["expected"], 1),
        "Janus RSS at end of window (MiB)": t["rss"],
        "  RSS growth since set-up began (MiB)": t["rss_growth"],
        "answer -> first RTP p50 (ms)": percentile(t["first_rtp_ms"], 50),
        "answer -> first RTP p95 (ms)": percentile(t["first_rtp_ms"], 95),
        "load generator CPU (% of its core)": 100 * t["own_cpu"] / wall,
        "  busiest second (% of its core)": 100 * t["own_max"],
        "PLIs answered per publisher per minute": 60 * t["keyreq"] / wall / n,
    }


def fmt(v):
    if isinstance(v, float) and v != v:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def report(args, server, media, results, load_before, load_after):
    print()
    print("=" * 100)
    print("Media benchmark: janus.plugin.calls vs janus.plugin.videoroom (same Janus, same run)")
    print(f"  Janus {server.info.get('version_string', '?')} (pid {server.proc.pid}) pinned to CPU {args.janus_cpu}"
          f"{f', event_loops = {args.event_loops}' if args.event_loops else ', one event loop per handle (default)'}"
          f"; load generator (aiortc, no encoding/decoding) pinned to CPU {args.load_cpu}")
    print(f"  plugin under test: {calls_plugin_so()}")
    print(f"  per publisher: {media.describe()}")
    print(f"  {args.warmup:g} s warm-up, {args.seconds:g} s measured per scenario, {args.rounds} round(s) "
          f"(plugin order alternates), after an unmeasured 2-party priming call per plugin")
    print(f"  machine: {os.cpu_count()} CPUs; load average before {load_before}, after {load_after}")
    if args.perf or args.callgrind:
        print("  NOTE: a profiler was running during the windows: CPU figures include its overhead")
    verdicts = []
    for n in sorted({r["n"] for r in results}):
        res = {p: pooled([r for r in results if r["n"] == n and r["plugin"] == p]) for p in PLUGINS}
        rows = {p: rows_for(res[p], n) for p in PLUGINS}
        print()
        print(f"--- {n} parties: {n} publishers (VP8 + Opus), each subscribed to the {n - 1} others ---")
        print(f"{'':46}{'calls':>11}{'videoroom':>11}{'calls/vroom':>13}")
        for key in rows["calls"]:
            c, v = rows["calls"][key], rows["videoroom"][key]
            ratio = c / v if v and v == v and c == c else float("nan")
            print(f"{key:46}{fmt(c):>11}{fmt(v):>11}{fmt(ratio):>13}")
        for p in PLUGINS:
            t = res[p]
            d = t["dtls"]
            print(f"  {p}: SRTP {d.get('publisher', {}).get('srtp-profile')} (publisher), "
                  f"{d.get('subscriber', {}).get('srtp-profile')} (subscriber); offers answered per subscriber "
                  f"{min(t['answers'])}-{max(t['answers'])}; CPU/packet per round "
                  f"{', '.join(f'{x:.2f}' for x in t['per_round_us'])} us; NACKs {t['admin']['nacks']}, "
                  f"late frames {t['late']}, SRTP errors {t['srtp_bad']}; datagrams dropped (receive buffer "
                  f"full) by Janus {t['drops_janus']}, by the load generator {t['drops_load']} "
                  f"(namespace UDP RcvbufErrors {t['udp']['RcvbufErrors']})")
            own = 100 * t["own_cpu"] / t["wall"]
            frames = t["wall"] * n * (50 + media.fps)
            if t["late"] > 0.005 * frames or t["drops_load"] > 0:
                print(f"  {p}: WARNING: the load generator fell behind ({t['late']} of {frames:.0f} frames sent late, "
                      f"{t['drops_load']} datagrams dropped before it read them) although its average CPU is "
                      f"{own:.0f}%: something else ran on its core; loss and rates are not reliable")
            if own > 85 or t["own_max"] > 0.95:
                print(f"  {p}: WARNING: the load generator's core was saturated ({own:.0f}% average, "
                      f"{100 * t['own_max']:.0f}% busiest second): the rates above are capped by it")
            else:
                print(f"  {p}: load generator not saturated ({own:.0f}% average, "
                      f"{100 * t['own_max']:.0f}% busiest second of its core)")
            top = sorted(t["threads"].items(), key=lambda kv: -kv[1])[:5]
            print(f"  {p}: Janus CPU by thread (s in the window): "
                  + ", ".join(f"{g} {v:.2f}" for g, v in top if v > 0))
        for what in ("publisher answer", "subscriber offer", "subscriber answer"):
            for kind in ("audio", "video"):
                c = res["calls"]["sdp"].get(what, {}).get(kind, [])
                v = res["videoroom"]["sdp"].get(what, {}).get(kind, [])
                print(f"  SDP {what} {kind}: calls [{' '.join(c)}] videoroom [{' '.join(v)}]")
        ratio = rows["calls"][CPU_ROW] / rows["videoroom"][CPU_ROW]
        verdicts.append(f"{n} parties: Janus CPU per forwarded packet, calls/videoroom = {ratio:.2f} "
                        f"(goal <= {GOAL:.2f}: {'met' if ratio <= GOAL else 'NOT met'})")
    print()
    for v in verdicts:
        print(v)
    for r in results:
        if r.get("perf"):
            print()
            print(f"perf: {r['plugin']}, {r['n']} parties ({r['perf']}):")
            print(prof.perf_report(r["perf"]))
        if r.get("callgrind"):
            obj = "libjanus_calls" if r["plugin"] == "calls" else "libjanus_videoroom"
            print()
            print(f"callgrind: {r['plugin']}, {r['n']} parties ({r['callgrind']}):")
            print(prof.callgrind_report(prof.callgrind_split(r["callgrind"], obj)))


# --- main ------------------------------------------------------------------------------------------

def quiet_aioice(loop, context):
    """aioice 0.8 retries a STUN transaction whose future is already done when a
    connection closes under it (InvalidStateError in Transaction.__retry): noise."""
    if isinstance(context.get("exception"), asyncio.InvalidStateError) and "__retry" in repr(context.get("handle")):
        return
    loop.default_exception_handler(context)


async def bench(args, server, media):
    asyncio.get_running_loop().set_exception_handler(quiet_aioice)
    client = await JanusClient.connect(server.url)
    admin = await AdminClient.connect(server.admin_url, server.admin_secret)
    results = []
    try:
        if args.prime:
            for plugin in PLUGINS:
                print(f"[{time.strftime('%H:%M:%S')}] priming: {plugin}, 2 parties (not measured)", flush=True)
                await measure(args, server, client, admin, media, plugin, 2, f"p{plugin[0]}", 2, 1, profile=False)
        for rnd in range(args.rounds):
            order = list(PLUGINS) if rnd % 2 == 0 else list(reversed(PLUGINS))
            for n in args.parties:
                for plugin in order:
                    print(f"[{time.strftime('%H:%M:%S')}] round {rnd + 1}: {plugin}, {n} parties", flush=True)
                    r = await measure(args, server, client, admin, media, plugin, n, f"r{rnd}n{n}{plugin[0]}",
                                      args.seconds, args.warmup)
                    print(f"    {r['packets'] / r['wall']:.0f} packets/s forwarded, Janus "
                          f"{1e6 * r['janus_cpu'] / max(r['packets'], 1):.2f} us/packet "
                          f"({100 * r['janus_cpu'] / r['wall']:.1f}% of a core), load generator "
                          f"{100 * r['own_cpu'] / r['wall']:.0f}%; set-up {r['setup_s']:.1f} s; answer -> first RTP "
                          f"(ms) {' '.join(f'{x:.0f}' for x in r['first_rtp_ms'])}", flush=True)
                    if server.died():
                        raise RuntimeError("Janus died during the benchmark\n" + server.log_tail())
                    results.append(r)
    finally:
        await admin.close()
        await client.close()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parties", default="4,8", help="call sizes, comma separated (default 4,8)")
    ap.add_argument("--seconds", type=float, default=30, help="measured time per scenario (default 30)")
    ap.add_argument("--warmup", type=float, default=10, help="time between set-up and measurement (default 10)")
    ap.add_argument("--settle", type=float, default=3, help="pause after each tear-down (default 3)")
    ap.add_argument("--rounds", type=int, default=2, help="repeat everything, alternating plugin order (default 2)")
    ap.add_argument("--no-prime", dest="prime", action="store_false", help="skip the unmeasured priming calls")
    ap.add_argument("--kbps", type=int, default=500, help="VP8 target bitrate (default 500)")
    ap.add_argument("--janus-cpu", type=int, default=0)
    ap.add_argument("--load-cpu", type=int, default=1)
    ap.add_argument("--event-loops", type=int, default=0,
                    help="Janus's event_loops setting (0: its default, one loop thread per handle)")
    ap.add_argument("--debug-level", type=int, default=4, help="Janus -d (default 4)")
    ap.add_argument("--room-options", type=json.loads, default={},
                    help="extra VideoRoom create options as JSON, e.g. '{\"transport_wide_cc_ext\": false}'")
    ap.add_argument("--perf", metavar="DIR", help="perf record Janus into DIR during each window")
    ap.add_argument("--perf-callgraph", default="dwarf",
                    help="perf --call-graph mode (Debian's Janus has no frame pointers: dwarf)")
    ap.add_argument("--callgrind", metavar="DIR", help="run Janus under callgrind, dumps into DIR")
    ap.add_argument("--dump-admin", metavar="FILE", help="write one handle_info per plugin and role to FILE")
    args = ap.parse_args()
    args.parties = [int(x) for x in args.parties.split(",")]
    for d in (args.perf, args.callgrind):
        if d:
            Path(d).mkdir(parents=True, exist_ok=True)
    if not Path("/sys/class/net/va").exists():
        sys.exit("run.py: no interface 'va': run it through scripts/netns.sh (see bench/media/README.md)")
    if len(os.sched_getaffinity(0) | {args.janus_cpu, args.load_cpu}) < 2 or args.janus_cpu == args.load_cpu:
        sys.exit("run.py: needs two different CPUs for Janus and the load generator")

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    loadgen.install_fast_receive()
    os.sched_setaffinity(0, {args.load_cpu})
    t0 = time.monotonic()
    media = loadgen.prepare_media(kbps=args.kbps)
    print(f"pre-encoded in {time.monotonic() - t0:.1f} s: {media.describe()}", flush=True)

    if args.callgrind:
        harness.janus.JANUS_BIN = str(prof.callgrind_wrapper(Path(args.callgrind).resolve()))
    # max_events_per_second = 0: a load generator sends faster than a handle's default rate
    calls_cfg = {"general": {"auth": "open", "max_events_per_second": 0, "ring_timeout": 60, "connect_timeout": 60, "reconnect_grace": 5,
                             "max_calls_per_minute": 0, "max_live_calls": 0, "events": False,
                             "db_path": "{data_dir}/calls.db"}}
    server = BenchJanus(plugins=["calls", "videoroom"], configs={"janus.plugin.calls": calls_cfg},
                        debug_level=args.debug_level, session_timeout=120, event_loops=args.event_loops)
    load_before = loadavg()
    results = []
    interrupted_run = False
    try:
        # Janus inherits the CPU mask of the thread that starts it: start it from its core
        os.sched_setaffinity(0, {args.janus_cpu})
        server.start(timeout=180 if args.callgrind else 15)
        os.sched_setaffinity(0, {args.load_cpu})
        pin(server.proc.pid, args.janus_cpu)
        per = args.seconds + args.warmup + args.settle + 120
        budget = (len(args.parties) * 2 * args.rounds * per + 200) * (10 if args.callgrind else 1)
        results = asyncio.run(asyncio.wait_for(bench(args, server, media), budget))
        report(args, server, media, results, load_before, loadavg())
    except KeyboardInterrupt:
        print("\nrun.py: interrupted, stopping Janus", file=sys.stderr)
        interrupted_run = True
    finally:
        code = server.stop(timeout=60 if args.callgrind else 10)
        if code not in (0, None):
            print(f"run.py: Janus exited with code {code} (log: {server.log_path})", file=sys.stderr)
        elif results:
            shutil.rmtree(server.workdir, ignore_errors=True)   # kept when something went wrong
        if args.dump_admin and results:
            dump = {f"{r['plugin']}-{r['n']}-{role}": d.get("info") for r in results
                    for role, d in r.get("dtls", {}).items()}
            Path(args.dump_admin).write_text(json.dumps(dump, indent=1))
    if interrupted_run:
        # aiortc's executor threads may still be joined at exit: Janus is stopped, leave now
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


if __name__ == "__main__":
    main()
