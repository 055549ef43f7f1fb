"""Stopping Janus in the middle of an 8-party video call, with the plugin built
under AddressSanitizer and UndefinedBehaviorSanitizer: Janus exits 0 in time
and no sanitizer has anything to say about the plugin.

The plugin is the ASan/UBSan build of tests/run's asan stage,
`$CALLS_ASAN_PLUGIN_SO` (default build-asan/.libs/libjanus_calls.so; build it
with `tests/run asan`, or configure build-asan/ with
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1").
Debian's Janus is not built with ASan, so its runtime is preloaded
(LD_PRELOAD of `gcc -print-file-name=libasan.so`): every allocation of the
process goes through ASan, the plugin's and Janus's alike.

The verdict, like tests/valgrind-verdict.py's for valgrind: any ASan error
("ERROR: AddressSanitizer") and any UBSan report fail; a leak (LeakSanitizer,
at exit) fails when its stack goes through the plugin (its module or its
sources); leaks of Janus's core and libraries are printed, not judged.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import os
import re
import subprocess
import time
from pathlib import Path

from harness.janus import REPO
from harness.media import MovingPictureTrack, ToneTrack
from media_helpers import Party, rises_by

PARTIES = 8

# One sanitizer report: from its first line to the end of its stack (a blank line)
REPORT_START = re.compile(r"^(==\d+==ERROR: AddressSanitizer|==\d+==LeakSanitizer has encountered|"
                          r"(Direct|Indirect) leak of \d+ byte|.*: runtime error: )")
PLUGIN_FRAME = re.compile(r"libjanus_calls|\bplugin/\w+\.[ch]:\d+")


def asan_plugin_so() -> Path:
    so = Path(os.environ.get("CALLS_ASAN_PLUGIN_SO", REPO / "build-asan" / ".libs" / "libjanus_calls.so"))
    assert so.is_file(), (f"no ASan build of the plugin at {so}: run `tests/run asan` (it builds "
                          f"build-asan/), or set CALLS_ASAN_PLUGIN_SO")
    assert b"__asan_report_" in so.read_bytes(), f"{so} is not built with -fsanitize=address"
    return so


def sanitizer_runtimes() -> list:
    """The ASan runtime (preloaded first, as ASan requires) and UBSan's, of the gcc that built the plugin."""
    out = []
    for lib in ("libasan.so", "libubsan.so"):
        path = Path(subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True,
                                   check=True).stdout.strip()).resolve()
        assert path.is_file(), f"gcc knows no {lib} (got {path}): apt-get install gcc"
        out.append(str(path))
    return out


def reports(text: str) -> list:
    """Each sanitizer report in `text`: its lines, up to the blank line that ends its stack."""
    found, current = [], None
    for line in text.splitlines():
        if REPORT_START.match(line):
            if current:
                found.append(current)
            current = [line]
        elif current is not None:
            if line.strip() == "" and len(current) > 1 and any(s.lstrip().startswith("#") for s in current):
                found.append(current)
                current = None
            else:
                current.append(line)
    if current:
        found.append(current)
    return found


def verdict(text: str):
    """(reports that fail the test, leaks of Janus's core and libraries)."""
    ours, core = [], []
    for rec in reports(text):
        leak = re.match(r"^(Direct|Indirect) leak", rec[0])
        if leak and not any(PLUGIN_FRAME.search(line) for line in rec):
            core.append(rec)
        else:
            ours.append(rec)
    return ours, core


def server_output(server) -> str:
    """What Janus printed (sanitizer reports go to its stderr) and its log."""
    return "\n".join(p.read_text(errors="replace") for p in (server.stderr_path, server.log_path) if p.exists())


def small_peers(peers):
    """Peers sending a 160x120 picture (the harness's default is 320x240): 8 senders
    and 56 decoders run in this one Python process on a small machine."""

    def make(name, audio=True, video=True):
        peer = peers(name, audio=False, video=False)
        if audio:
            peer.pc.addTrack(ToneTrack())
        if video:
            peer.pc.addTrack(MovingPictureTrack(160, 120))
        return peer

    return make


async def test_sigterm_during_8_party_video_call_under_asan(janus_factory, connect, peers, monkeypatch):
    so = asan_plugin_so()
    monkeypatch.setenv("CALLS_PLUGIN_SO", str(so))
    monkeypatch.setenv("LD_PRELOAD", ":".join(sanitizer_runtimes()))
    # Errors abort (a non-zero exit and a report); leaks are reported at exit without
    # changing the exit code (exitcode=0 applies to leaks only when errors abort).
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=0:abort_on_error=1:halt_on_error=1:"
                                       "fast_unwind_on_malloc=0:malloc_context_size=30")
    monkeypatch.setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    monkeypatch.setenv("G_SLICE", "always-malloc")  # GLib's slices are plain mallocs ASan sees

    party = Party(connect, small_peers(peers))
    server = None
    try:
        server = await party.start(janus_factory, connect_timeout=60, ring_timeout=30)
        maps = Path(f"/proc/{server.proc.pid}/maps").read_text()
        assert "libasan.so" in maps, "the ASan runtime is not loaded into Janus"
        assert str(so.resolve()) in maps, f"Janus did not load the ASan build of the plugin ({so})"

        members = await party.users(*(f"user{i}" for i in range(PARTIES)))
        call_id = await party.call(members[0], members[1:], "VIDEO")
        await party.media(call_id, *members)
        await members[0].wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED", timeout=60)

        # Everybody decodes everybody else's picture (56 video flows), then some audio
        await party.all_see_all(members, kinds=("video",), frames=5, timeout=120)
        await party.all_see_all(members, kinds=("audio",), frames=5, timeout=60)
        for p in members:
            print(p.rx.report())
        # Mid-call: the media still flows as Janus is asked to stop
        last, first = members[-1], members[0]
        await rises_by(5, lambda: last.frames(first.user_id, "video"),
                       f"{last.user_id} decoding {first.user_id}'s video", timeout=30)
        party.no_errors()

        t0 = time.monotonic()
        code = server.stop(timeout=20)
        took = time.monotonic() - t0
    except BaseException:
        # Janus aborted by a sanitizer makes the clients fail first: show the report
        if server is not None and not server.running():
            ours, _ = verdict(server_output(server))
            assert not ours, "sanitizer reports:\n" + "\n\n".join("\n".join(r[:40]) for r in ours)
        raise
    finally:
        await party.close()

    log = server.log_path.read_text(errors="replace")
    ours, core = verdict(server_output(server))
    print(f"Janus exited with code {code} {took:.1f} s after SIGTERM; {len(core)} leak record(s) "
          f"of Janus's core or libraries (not judged)")
    for rec in core[:10]:
        print("\n".join("    " + line for line in rec[:12]))
    assert not ours, "sanitizer reports:\n" + "\n\n".join("\n".join(r[:40]) for r in ours)
    assert code == 0, f"Janus exited with code {code} after SIGTERM, not 0\n{server.log_tail()}"
    assert "JANUS Calls plugin destroyed" in log, "the plugin's destroy() did not run\n" + server.log_tail()
    assert "Bye!" in log, "Janus's log does not end with its goodbye\n" + server.log_tail()


def test_verdict_reads_sanitizer_reports():
    """The judge above, on reports as gcc 12's sanitizers print them."""
    text = """[Thu Dec  3 17:08:04 2026] JANUS Calls plugin destroyed
=================================================================
==21983==ERROR: LeakSanitizer: detected memory leaks

Direct leak of 80 byte(s) in 10 object(s) allocated from:
    #0 0x7f984b0b89cf in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69
    #1 0x7f820216b3fd in g_vasprintf (/lib/x86_64-linux-gnu/libglib-2.0.so.0+0xa43fd)
    #2 0x7f81f9133f6e in send_offer ../plugin/sfu.c:424

Indirect leak of 24 byte(s) in 1 object(s) allocated from:
    #0 0x7f984b0b89cf in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69
    #1 0x56533aa85176  (/usr/bin/janus+0x4c176)

SUMMARY: AddressSanitizer: 104 byte(s) leaked in 11 allocation(s).
../plugin/relay.c:88:12: runtime error: left shift of negative value -1
    #0 0x7f81f9133f6e in rewrite ../plugin/relay.c:88

==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010
READ of size 8 at 0x602000000010 thread T3
    #0 0x56533aa85176  (/usr/bin/janus+0x4c176)
"""
    ours, core = verdict(text)
    assert [r[0].split(":")[0] for r in ours] == ["Direct leak of 80 byte(s) in 10 object(s) allocated from",
                                                  "../plugin/relay.c", "==4242==ERROR"], ours
    assert len(core) == 1 and core[0][0].startswith("Indirect leak of 24"), core
    assert verdict("[Thu Dec  3 17:08:04 2026] JANUS Calls plugin destroyed\nBye!\n") == ([], [])
