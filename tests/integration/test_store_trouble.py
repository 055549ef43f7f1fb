"""The history database in trouble while a call goes on: read-only, full, locked.

Janus runs with its data dir on a private tmpfs (harness: data_tmpfs) so the tests
can break the file system under it without touching the machine:
- read-only: Linux refuses to remount a file system read-only while a file on it
  is open for writing (mount answers EBUSY, and the plugin keeps the history open),
  so an operator's `mount -o remount,ro` cannot happen under Janus; the kernel does
  it after an I/O error, and from then on every write to the open file fails with
  EROFS. The test gives Janus exactly that answer: strace injects EROFS into its
  pwrite64 calls (harness: fail_syscall), and detaches to end the trouble;
- full: a file fills the tmpfs (dd), and is removed to end the trouble;
- locked: another process holds an exclusive SQLite lock on the file (Python's
  sqlite3, BEGIN EXCLUSIVE), and rolls back to end the trouble.

In each case, with Alice and Bob in a video call (aiortc media through Janus):
after a write has failed, SQLite's own message is in the Janus log at ERR level;
media keeps flowing and events still arrive (mute -> CALL_PARTICIPANT_MEDIA_CHANGED);
new calls (POST /calls, CALL_INITIATE) get UNAVAILABLE 503 with a message; Admin
`stats` says storeHealthy false; 500 media updates leave Janus's RSS within a few
MiB and the store queue small; the call ends during the outage. Then the trouble
goes away: within a few seconds new calls work, the log says the history
recovered, and the call's end (and the last media state) is in the history and
in the file.

Also: the history file and its -wal/-shm are created 0600; Admin `backup` writes
a usable 0600 copy and refuses a relative or missing path.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import json
import os
import re
import sqlite3
import stat
import subprocess
import time

import pytest

from harness.client import event, event_name, plugin_data, route
from media_helpers import calls_config, party, rises_by, until  # noqa: F401 (party: a fixture)

PLUGIN = "janus.plugin.calls"
SQLITE_TEXT = {"read_only": "disk I/O error", "full": "database or disk is full", "locked": "database is locked"}
UPDATES = 500           # media updates pushed during the outage
WARM_UP = 50            # ... after these
RSS_GROWTH_KIB = 4096   # "a few MiB"
RECOVERY = 5.0          # seconds the store may take to notice the trouble is over


async def stats(adm) -> dict:
    reply = await adm.message_plugin(PLUGIN, {"request": "stats"})
    assert reply.get("status") == 200, f"Admin stats: {reply}"
    return reply["body"]


def err_lines(server, text, since=0) -> list:
    """Lines of the Janus log from byte `since` on, at ERR level, containing `text`."""
    log = server.log_path.read_text(errors="replace")[since:]
    return [line for line in log.splitlines() if "[ERR]" in line and text.lower() in line.lower()]


def log_size(server) -> int:
    return len(server.log_path.read_text(errors="replace"))


def assert_unavailable(reply):
    assert reply.get("status") == 503, f"a new call during the outage: {reply}"
    err = reply["error"]
    assert err["code"] == "UNAVAILABLE" and len(err["message"]) > 10, reply
    return err["message"]


# Another process holding an exclusive lock on the history (in Janus's mount namespace:
# SQLite would resolve a /proc/<pid>/root path to the file of the same name outside it)
LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
db.close()
print("released", flush=True)
"""
# The rows of the calls table, read in Janus's mount namespace
READER = """
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(json.dumps(db.execute("SELECT id, status, end_reason, live FROM calls").fetchall()))
"""


class Trouble:
    """Start and end one kind of trouble on Janus's history file."""

    def __init__(self, kind, server):
        self.kind, self.server = kind, server
        self.strace = self.locker = None

    def start(self):
        data = str(self.server.data_dir)
        if self.kind == "read_only":
            self.strace = self.server.fail_syscall("pwrite64", "EROFS")
        elif self.kind == "full":
            self.server.in_mount_ns("sh", "-c", f"dd if=/dev/zero of={data}/filler bs=64k 2>/dev/null; true")
            free = self.server.in_mount_ns("df", "--output=avail", "-k", data).stdout.split()[-1]
            assert int(free) == 0, f"the tmpfs still has {free} KiB free"
        elif self.kind == "locked":
            self.locker = self.server.popen_in_mount_ns(
                "python3", "-c", LOCKER, str(self.server.data_dir / "calls.db"),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert self.locker.stdout.readline().strip() == "locked", "the locker could not lock the file"

    def end(self):
        if self.strace is not None:
            self.server.stop_failing(self.strace)
            self.strace = None
        if self.kind == "full" and self.server.running():
            self.server.in_mount_ns("rm", "-f", f"{self.server.data_dir}/filler")
        if self.locker is not None:
            out, _ = self.locker.communicate("release\n", timeout=10)
            assert self.locker.returncode == 0 and out.strip() == "released", (self.locker.returncode, out)
            self.locker = None


async def media_update(p, call_id, muted: bool) -> str:
    return await event(p.pub, "CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": muted})


@pytest.mark.parametrize("kind", ["read_only", "full", "locked"])
async def test_store_trouble_live_call_goes_on_new_calls_refused_then_recovers(kind, janus_factory, party, admin):
    # (500 media updates in a row: faster than a handle's default rate, which has its own tests)
    server = janus_factory(configs=calls_config(connect_timeout=20, reconnect_grace=20, max_events_per_second=0),
                           data_tmpfs="8m")
    party.server, party.client = server, await party.connect(server)
    adm = await admin(server)
    alice, bob, carol, dave = await party.users("alice", "bob", "carol", "dave")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob)
    await alice.wait("CALL_STATUS_CHANGED", callId=call_id, status="CONNECTED", timeout=20)
    await party.all_see_all([alice, bob], kinds=("video",), frames=10)
    assert (await stats(adm))["storeHealthy"] is True

    trouble = Trouble(kind, server)
    since = log_size(server)
    trouble.start()
    try:
        # A change (a write) fails: SQLite's message at ERR level in the log
        await media_update(alice, call_id, True)
        await bob.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="alice", isMuted=True)
        await until(lambda: err_lines(server, SQLITE_TEXT[kind], since),
                    f"no [ERR] line with {SQLITE_TEXT[kind]!r} in the log", timeout=15)
        print(err_lines(server, SQLITE_TEXT[kind], since)[0])

        # The live call goes on: pictures are decoded, events arrive
        await rises_by(20, lambda: bob.frames("alice", "video"), "Bob's frames of Alice during the outage")
        await rises_by(20, lambda: alice.frames("bob", "video"), "Alice's frames of Bob during the outage")
        await media_update(bob, call_id, True)
        await alice.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="bob", isMuted=True)

        # New calls are refused, with a message
        message = assert_unavailable(await route(carol.pub, "POST /calls",
                                                 body={"participantIds": ["dave"], "type": "AUDIO"}))
        print("POST /calls:", message)
        tx = await event(carol.pub, "CALL_INITIATE", {"participantIds": ["dave"], "type": "AUDIO"})
        msg = await carol.pub.wait_event(lambda m: event_name(m) is not None, transaction=tx, timeout=10)
        err = plugin_data(msg)["data"]
        assert plugin_data(msg)["event"] == "ERROR" and err["code"] == "UNAVAILABLE" and err["status"] == 503, err
        assert len(err["message"]) > 10, err
        assert not carol.seen("CALL_STARTED") and not dave.seen("CALL_INCOMING")

        st = await stats(adm)
        print("stats during the outage:", st)
        assert st["storeHealthy"] is False and SQLITE_TEXT[kind].lower() in (st["storeError"] or "").lower(), st

        # Memory stays bounded while changes pile up
        muted = True
        for i in range(WARM_UP + UPDATES):   # the first ones warm up (threads' allocator arenas)
            if i == WARM_UP:
                await bob.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="alice", isMuted=muted)
                rss_before = server.rss_kib()
            muted = not muted
            await media_update(alice, call_id, muted)
        # every update reached Bob (the first one above, and these): the pipeline drained
        told = 1 + WARM_UP + UPDATES
        await until(lambda: len(bob.seen("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="alice")) >= told,
                    lambda: f"Bob was told of {len(bob.seen('CALL_PARTICIPANT_MEDIA_CHANGED', userId='alice'))} "
                            f"of Alice's {told} media updates", timeout=30)
        assert bob.seen("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id, userId="alice")[-1]["isMuted"] is muted
        rss_after = server.rss_kib()
        st = await stats(adm)
        print(f"{UPDATES} updates during the outage: Janus RSS {rss_before} -> {rss_after} KiB "
              f"({rss_after - rss_before:+d}), storeQueue {st['storeQueue']}")
        assert rss_after - rss_before < RSS_GROWTH_KIB
        assert st["storeQueue"] <= 5, st
        await rises_by(20, lambda: bob.frames("alice", "video"), "Bob's frames of Alice after the updates")

        # The call ends during the outage: both are told
        await event(bob.pub, "CALL_END", {"callId": call_id})
        for p in (alice, bob):
            ended = await p.wait("CALL_ENDED", callId=call_id)
            assert (ended["status"], ended["reason"]) == ("ENDED", "HANGUP"), ended
        assert (await stats(adm))["storeHealthy"] is False
    finally:
        since = log_size(server)
        trouble.end()

    # Recovered within a few seconds, by itself
    started = time.monotonic()
    while True:
        reply = await route(carol.pub, "POST /calls", body={"participantIds": ["dave"], "type": "AUDIO"})
        if reply.get("status") == 201 or time.monotonic() - started > RECOVERY:
            break
        await asyncio.sleep(0.2)
    print(f"new calls work again {time.monotonic() - started:.1f} s after the trouble ended")
    assert reply.get("status") == 201, f"POST /calls {RECOVERY} s after the trouble ended: {reply}"
    new_call = reply["body"]["call"]["id"]
    await dave.wait("CALL_INCOMING", callId=new_call)
    assert (await stats(adm))["storeHealthy"] is True
    log = server.log_path.read_text(errors="replace")[since:]
    assert re.search(r"recover|works again", log, re.I), "the log does not say the history recovered"

    # What changed during the outage is in the history, and in the file
    reply = await route(alice.pub, f"GET /calls/{call_id}")
    assert reply.get("status") == 200, reply
    call = reply["body"]["call"]
    assert (call["status"], call["endReason"], call["endedBy"]) == ("ENDED", "HANGUP", "bob"), call
    parts = {p["userId"]: p for p in call["participants"]}
    assert parts["alice"]["isMuted"] is muted and parts["bob"]["isMuted"] is True, parts
    history = await route(bob.pub, "GET /calls/history")
    assert [c["id"] for c in history["body"]["calls"]] == [call_id], history
    await event(carol.pub, "CALL_END", {"callId": new_call})
    await carol.wait("CALL_ENDED", callId=new_call)
    rows = json.loads(server.in_mount_ns("python3", "-c", READER, str(server.data_dir / "calls.db")).stdout)
    rows = {r[0]: tuple(r[1:]) for r in rows}
    assert rows[call_id] == ("ENDED", "HANGUP", 0), rows
    # No ERROR anywhere but the refusal of Carol's CALL_INITIATE during the outage
    assert [(h, e["code"], e["event"]) for h, e in carol.errors()] == [("pub", "UNAVAILABLE", "CALL_INITIATE")]
    assert not any(p.errors() for p in (alice, bob, dave)), [p.errors() for p in (alice, bob, dave)]


async def test_history_file_is_0600_and_admin_backup(janus_factory, connect, admin):
    from calls_helpers import User, calls_config as api_config
    server = janus_factory(configs=api_config())
    client = await connect(server)
    ana, bob = await User.create(client, "ana"), await User.create(client, "bob")
    calls = []
    for _ in range(3):
        cid = await ana.call([bob])
        await bob.decline(cid)
        calls.append(cid)
    live = await ana.call([bob])

    for name in ("calls.db", "calls.db-wal", "calls.db-shm"):
        path = server.data_file(name)
        assert path.exists(), f"{name} is missing (WAL mode)"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"

    adm = await admin(server)
    target = server.workdir / "backup" / "calls-copy.db"
    target.parent.mkdir()
    reply = await adm.message_plugin(PLUGIN, {"request": "backup", "path": str(target)})
    assert reply.get("status") == 200, reply
    assert reply["body"]["path"] == str(target) and reply["body"]["bytes"] == target.stat().st_size > 0, reply
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, oct(target.stat().st_mode)
    db = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        got = dict(db.execute("SELECT id, status FROM calls").fetchall())
    finally:
        db.close()
    assert got == {**{c: "DECLINED" for c in calls}, live: "RINGING"}, got

    for bad in ({"request": "backup", "path": "relative/copy.db"}, {"request": "backup"}):
        reply = await adm.message_plugin(PLUGIN, bad)
        assert reply.get("status") == 400 and reply["error"]["code"] == "INVALID_REQUEST", (bad, reply)
    assert not (server.workdir / "relative").exists()
    reply = await adm.message_plugin(PLUGIN, {"request": "backup", "path": str(server.workdir / "no-dir" / "x.db")})
    assert reply.get("status") == 500 and reply["error"]["code"] == "INTERNAL", reply
    assert len(reply["error"]["message"]) > 10, reply
    await ana.end(live)
