"""Profiling helpers for the media benchmark: where Janus's CPU goes, per plugin.

perf (sampling, full load): run_perf() records Janus with call graphs during a
measurement window; perf_report() prints the top objects and symbols (self
time) and perf_split(), from each sample's call stack, the share of the
plugin's own code, of the core's relay_rtp it calls, SRTP, sendmsg, the
scheduler, the event loop.

callgrind (exact instruction counts, low rate): callgrind_wrapper() makes a
script that starts Janus under `valgrind --tool=callgrind --instr-atstart=no`;
callgrind_window() switches instrumentation on for the window and dumps it;
callgrind_split() reads the dump and gives, per packet the plugin hands to the
core's relay_rtp, the instructions of the plugin's own code, of the helpers
it calls, of relay_rtp, and of the whole of Janus.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import re
import subprocess
from pathlib import Path

PLUGIN_OBJECTS = ("libjanus_calls", "libjanus_videoroom")
RELAY_FUNCTIONS = ("janus_plugin_relay_rtp", "janus_ice_relay_rtp")


# --- perf ------------------------------------------------------------------------------------------

async def run_perf(pid, seconds, out_path, cpu, callgraph="dwarf"):
    """`perf record` of process `pid` for `seconds` (bounded by perf's own `sleep`), on `cpu`."""
    cmd = ["taskset", "-c", str(cpu), "perf", "record", "-q", "--call-graph", callgraph, "-F", "999",
           "-p", str(pid), "-o", str(out_path), "--", "sleep", str(seconds)]
    return await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)


# Where a sample's time went, from its call stack; the first rule that matches wins. A rule
# sees the sample's symbols and the direct callee of the innermost plugin frame
# (None: no plugin frame; "": the sample is in the plugin's own code).
RELAY_CALLEES = {"janus_plugin_relay_rtp", "janus_ice_relay_rtp", "g_async_queue_push", "g_main_context_wakeup",
                 "g_malloc", "__GI___libc_write", "[unknown]@glib", "g_async_queue_push_unlocked"}
PERF_CLASSES = (
    ("plugin code (self)", lambda syms, callee: callee == ""),
    ("core relay_rtp called by the plugin (malloc+copy, queue, eventfd wake-up)",
     lambda syms, callee: callee in RELAY_CALLEES),
    ("helpers the plugin calls (RTP rewrite, locks, clock, lists)", lambda syms, callee: callee is not None),
    ("SRTP protect (outgoing)", lambda syms, callee: any(s.startswith("srtp_protect") for s in syms)),
    ("sendmsg: veth delivery into the receivers' sockets (one-host artifact)",
     lambda syms, callee: "__libc_sendmsg" in syms and ("process_backlog" in syms
                                                         or "__netif_receive_skb_one_core" in syms)),
    ("sendmsg: the rest (libnice, kernel UDP send)",
     lambda syms, callee: "__libc_sendmsg" in syms or "nice_agent_send" in syms),
    ("SRTP unprotect (incoming)", lambda syms, callee: any(s.startswith("srtp_unprotect") for s in syms)),
    ("recvmsg (kernel UDP receive)", lambda syms, callee: any("recvmsg" in s for s in syms)),
    ("scheduler (context switches, wake-ups)",
     lambda syms, callee: any(s in ("schedule", "__schedule", "finish_task_switch.isra.0", "try_to_wake_up",
                                     "schedule_hrtimeout_range_clock") for s in syms)),
    ("event loop (poll, eventfd, GLib dispatch)",
     lambda syms, callee: any(s in ("__poll", "do_sys_poll", "g_main_context_check", "g_main_context_prepare",
                                     "g_main_context_iterate", "__GI___libc_write") for s in syms)),
    ("other (Janus core: RTCP, NACK buffer, stats; libc, kernel)", lambda syms, callee: True),
)


def perf_split(path) -> list:
    """[(class, share)] of the samples of a perf.data recorded with call graphs, then
    ("samples", count)."""
    try:
        text = subprocess.run(["perf", "script", "-i", str(path), "-F", "ip,sym,dso"], capture_output=True,
                              text=True, timeout=300).stdout
    except subprocess.TimeoutExpired:
        return []
    counts, total = {}, 0
    for block in text.split("\n\n"):
        frames = []   # leaf first: (symbol, object file name)
        for line in block.splitlines():
            m = re.match(r"\s*[0-9a-f]+ (\S+?)(?:\+0x[0-9a-f]+)? \((.*)\)\s*$", line)
            if m:
                frames.append((m.group(1), m.group(2).rsplit("/", 1)[-1]))
        if not frames:
            continue
        total += 1
        # an inlined frame belongs to the object of the first real frame toward the root
        owner = ""
        for i in range(len(frames) - 1, -1, -1):
            if frames[i][1] == "inlined":
                frames[i] = (frames[i][0], owner)
            else:
                owner = frames[i][1]
        syms = {f[0] for f in frames}
        callee = None
        for i, (sym, obj) in enumerate(frames):
            if obj.startswith(PLUGIN_OBJECTS):
                if i == 0:
                    callee = ""
                else:
                    csym, cobj = frames[i - 1]
                    callee = "[unknown]@glib" if csym == "[unknown]" and cobj.startswith("libglib") else csym
                break
        for name, rule in PERF_CLASSES:
            if rule(syms, callee):
                counts[name] = counts.get(name, 0) + 1
                break
    return [(name, counts.get(name, 0) / max(total, 1)) for name, _ in PERF_CLASSES] + [("samples", total)]


def perf_report(path, limit=15) -> str:
    out = []
    for sort in ("dso", "symbol"):
        cmd = ["perf", "report", "-i", str(path), "--no-children", "--sort", sort, "--stdio",
               "--percent-limit", "0.8" if sort == "symbol" else "0.3", "-g", "none"]
        try:
            text = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
        except subprocess.TimeoutExpired:
            text = "(perf report timed out)"
        lines = [l for l in text.splitlines() if l.strip() and not l.startswith("#")]
        out.append(f"    by {sort} (self):")
        out += ["      " + re.sub(r"\s+-\s+-\s*$", "", l.strip()) for l in lines[:limit]]
    split = perf_split(path)
    if split:
        out.append(f"    by call stack ({split[-1][1]} samples):")
        out += [f"      {100 * share:5.1f}%  {name}" for name, share in split[:-1]]
    return "\n".join(out)


# --- callgrind -------------------------------------------------------------------------------------

def callgrind_wrapper(directory: Path, janus_bin="/usr/bin/janus") -> Path:
    """A script that runs Janus under callgrind, instrumentation off until switched on."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "janus-callgrind.sh"
    script.write_text("#!/bin/sh\n# janus.plugin.calls bench: Janus under callgrind (generated)\n"
                      f"exec valgrind --tool=callgrind --instr-atstart=no --collect-atstart=yes "
                      f"--callgrind-out-file={directory}/callgrind.out.%p --log-file={directory}/valgrind.%p.log "
                      f"{janus_bin} \"$@\"\n")
    script.chmod(0o755)
    return script


def _control(pid, *flags, timeout=60):
    return subprocess.run(["callgrind_control", *flags, str(pid)], capture_output=True, text=True,
                          timeout=timeout)


def callgrind_start(pid):
    _control(pid, "-z")
    _control(pid, "-i", "on")


def callgrind_stop(pid, directory: Path):
    """Dump what was collected since callgrind_start and switch instrumentation off;
    returns the dump's path."""
    before = set(directory.glob(f"callgrind.out.{pid}*"))
    _control(pid, "-d", timeout=300)
    _control(pid, "-i", "off")
    new = sorted(set(directory.glob(f"callgrind.out.{pid}*")) - before, key=lambda p: p.stat().st_mtime)
    return new[-1] if new else None


def _parse_callgrind(path):
    """Self cost per (object, function), and every call edge with its count and inclusive
    cost: {(caller ob, caller fn, callee ob, callee fn): [calls, inclusive]}. Event: Ir."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    kind_of = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn", "fl": "fl", "fi": "fl", "fe": "fl",
               "cfi": "fl", "cfl": "fl"}
    selfcost, edges, total = {}, {}, 0
    ob = fn = cob = cfn = None
    pending_call = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    key = (ob, fn, cob or ob, cfn)
                    e = edges.setdefault(key, [0, 0])
                    e[0] += pending_call
                    e[1] += cost
                    pending_call = None
                    cob = cfn = None
                else:
                    selfcost[(ob, fn)] = selfcost.get((ob, fn), 0) + cost
                    total += cost
                continue
            m = re.match(r"(\w+)=(?:\((\d+)\))?\s*(.*)$", line)
            if not m:
                continue
            key, ident, name = m.groups()
            if key == "calls":
                pending_call = int(name.split()[0])
                continue
            if key not in kind_of:
                continue
            table = names[kind_of[key]]
            if ident is not None:
                if name:
                    table[ident] = name
                value = table.get(ident, f"({ident})")
            else:
                value = name
            if key == "ob":
                ob = value
            elif key == "fn":
                fn = value
            elif key == "cob":
                cob = value
            elif key == "cfn":
                cfn = value
    return selfcost, edges, total


def callgrind_split(path, plugin_object) -> dict:
    """Instructions of the window, per packet the plugin relayed (calls it made to the
    core's relay_rtp): Janus in all, the plugin's own code (self, by function), the
    helpers it calls (inclusive, by callee, callbacks into the plugin taken out), and
    relay_rtp itself."""
    selfcost, edges, total = _parse_callgrind(path)

    def is_plugin(ob):
        return ob is not None and Path(ob).name.startswith(plugin_object)

    relay_calls = relay_ir = 0
    helpers, callees_out = {}, set()
    for (ob, fn, cob, cfn), (n, incl) in edges.items():
        if not is_plugin(ob) or is_plugin(cob):
            continue
        name = (cfn or "?").split("'")[0]
        if name in RELAY_FUNCTIONS:
            relay_calls += n
            relay_ir += incl
        else:
            helpers[name] = helpers.get(name, 0) + incl
            callees_out.add((cob, cfn))
    # calls back into the plugin from what it called (g_slist_foreach -> subscriber callback)
    for (ob, fn, cob, cfn), (n, incl) in edges.items():
        if (ob, fn) in callees_out and is_plugin(cob):
            name = (fn or "?").split("'")[0]
            helpers[name] = helpers.get(name, 0) - incl
    own = {fn: c for (ob, fn), c in selfcost.items() if is_plugin(ob)}
    per = max(relay_calls, 1)
    return {"relayed": relay_calls, "total": total / per, "relay_rtp": relay_ir / per,
            "plugin_self": sum(own.values()) / per, "helpers": sum(helpers.values()) / per,
            "own_by_fn": sorted(((fn, c / per) for fn, c in own.items()), key=lambda kv: -kv[1]),
            "helpers_by_fn": sorted(((fn, c / per) for fn, c in helpers.items()), key=lambda kv: -kv[1])}


def callgrind_report(split: dict, limit=10) -> str:
    if not split or not split["relayed"]:
        return "    (no packet relayed while instrumented)"
    s = split
    out = [f"    packets relayed: {s['relayed']}; instructions per relayed packet: Janus in all {s['total']:.0f}, "
           f"plugin code {s['plugin_self']:.0f} + helpers it calls {s['helpers']:.0f} "
           f"= {s['plugin_self'] + s['helpers']:.0f}, core relay_rtp {s['relay_rtp']:.0f}"]
    out.append("    plugin functions (self, per relayed packet): "
               + ", ".join(f"{fn} {c:.0f}" for fn, c in s["own_by_fn"][:limit] if c >= 0.5))
    out.append("    helpers (inclusive, per relayed packet): "
               + ", ".join(f"{fn} {c:.0f}" for fn, c in s["helpers_by_fn"][:limit] if c >= 0.5))
    return "\n".join(out)
