"""Call history (docs/api.md §5): GET /calls/history with its filters (chatId, type,
status) and pagination, newest first, only the caller's own calls; and history that
outlives a restart of Janus, the call left live being closed with SERVER_RESTART.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio

from calls_helpers import (User, answer_msg, assert_refused, calls_config, check_call, statuses, uid)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)

RING, CONNECT = 2, 3


async def ids(user, **query):
    page = await user.ok("GET /calls/history", query=query or None)
    assert set(page) == {"calls", "page", "limit", "total"}
    for c in page["calls"]:
        check_call(c)
        assert c["status"] in {"ENDED", "MISSED", "DECLINED", "FAILED", "BUSY"}
        assert user.id in [p["userId"] for p in c["participants"]]
    return [c["id"] for c in page["calls"]], page


async def test_history_filters_and_pages(janus_factory, connect):
    server = janus_factory(configs=calls_config(ring_timeout=RING, connect_timeout=CONNECT))
    client = await connect(server)
    ana, bob, cid, dia, eli = [await User.create(client, n) for n in ("ana", "bob", "cid", "dia", "eli")]
    chat_x, chat_y = uid("chat-x"), uid("chat-y")

    # Five finished calls of Ana, one per final status, oldest first
    declined = await bob.call([ana], type="AUDIO", chat_id=chat_x)
    await asyncio.sleep(0.02)
    missed = await cid.call([ana], type="VIDEO", chat_id=chat_x)      # Ana lets it ring out
    await asyncio.sleep(0.02)
    failed = await dia.call([ana], type="VIDEO", chat_id=chat_y)      # answered, no media
    await asyncio.sleep(0.02)
    await ana.decline(declined)
    await ana.answer(failed)
    busy = await eli.call([ana], type="AUDIO", chat_id=chat_y)         # Ana is busy in `failed`
    assert (await eli.wait("CALL_ENDED", callId=busy))["status"] == "BUSY"
    assert (await ana.wait("CALL_ENDED", callId=missed, timeout=RING + 4))["status"] == "MISSED"
    assert (await ana.wait("CALL_ENDED", callId=failed, timeout=CONNECT + 4))["status"] == "FAILED"
    await asyncio.sleep(0.02)
    ended = await ana.call([bob], type="AUDIO")
    await bob.answer(ended)
    await bob.end(ended, expect="CALL_ENDED")
    newest_first = [ended, busy, failed, missed, declined]

    everything, page = await ids(ana)
    assert everything == newest_first and (page["page"], page["limit"], page["total"]) == (1, 10, 5)
    expected = {declined: ("DECLINED", "DECLINED"), missed: ("MISSED", "RING_TIMEOUT"),
                failed: ("FAILED", "CONNECT_TIMEOUT"), busy: ("BUSY", "BUSY"), ended: ("ENDED", "HANGUP")}
    for c in page["calls"]:
        assert (c["status"], c["endReason"]) == expected[c["id"]] and c["duration"] == 0
    # Ana's own part in each
    mine = {c["id"]: ana.participant(c)["status"] for c in page["calls"]}
    assert mine == {declined: "DECLINED", missed: "MISSED", failed: "FAILED", busy: "BUSY", ended: "LEFT"}

    # Filters, alone and together
    for status, call_id in (("DECLINED", declined), ("MISSED", missed), ("FAILED", failed), ("BUSY", busy),
                            ("ENDED", ended)):
        got, page = await ids(ana, status=status)
        assert got == [call_id] and page["total"] == 1
    assert (await ids(ana, chatId=chat_x))[0] == [missed, declined]
    assert (await ids(ana, chatId=chat_y))[0] == [busy, failed]
    assert (await ids(ana, type="VIDEO"))[0] == [failed, missed]
    assert (await ids(ana, type="AUDIO"))[0] == [ended, busy, declined]
    assert (await ids(ana, chatId=chat_y, type="AUDIO"))[0] == [busy]
    assert (await ids(ana, chatId=chat_x, status="ENDED"))[0] == []
    assert (await ids(ana, chatId=uid("no-such-chat")))[0] == []

    # Pages of two: 2 + 2 + 1, then nothing; total stays 5
    seen = []
    for n in (1, 2, 3, 4):
        got, page = await ids(ana, page=n, limit=2)
        assert (page["page"], page["limit"], page["total"]) == (n, 2, 5)
        assert len(got) == [2, 2, 1, 0][n - 1]
        seen += got
    assert seen == newest_first
    got, page = await ids(ana, type="AUDIO", page=2, limit=2)
    assert got == [declined] and page["total"] == 3
    got, page = await ids(ana, limit=100)
    assert got == newest_first and page["limit"] == 100
    assert_refused(await ana.route("GET /calls/history", query={"limit": 101}), "INVALID_REQUEST", "limit")

    # Everyone sees only their own calls
    assert (await ids(bob))[0] == [ended, declined]
    assert (await ids(eli))[0] == [busy]
    assert (await ids(await User.create(client, "newcomer")))[0] == []


# ---- restart -------------------------------------------------------------------------

async def publish(user, call_id, peer):
    peer.bind(user.h)
    tx = await user.send("WEBRTC_OFFER", {"callId": call_id}, jsep=await peer.offer())
    msg = await answer_msg(user.h, tx, "WEBRTC_ANSWER_RECEIVED", timeout=10)
    await peer.accept(msg["jsep"])


async def test_history_outlives_a_restart(janus_factory, connect, peers):
    server = janus_factory(configs=calls_config(ring_timeout=30, connect_timeout=30, reconnect_grace=30))
    client = await connect(server)
    ana, bob, cid = [await User.create(client, n, user_id=uid(n)) for n in ("ana", "bob", "cid")]

    # Finished calls: declined, cancelled, hung up, ended for everyone, and one that
    # connected (media through the SFU) and lasted more than a second
    declined = await ana.call([bob], chat_id="chat-r")
    await bob.decline(declined)
    cancelled = await ana.call([bob, cid], type="VIDEO")
    await ana.end(cancelled)
    hung_up = await bob.call([ana])
    await ana.answer(hung_up)
    await ana.end(hung_up, expect="CALL_ENDED")
    for_all = await ana.call([bob, cid])
    await bob.answer(for_all)
    await ana.end(for_all, for_everyone=True, expect="CALL_ENDED")
    connected = await ana.call([cid], type="AUDIO")
    await cid.answer(connected)
    await publish(ana, connected, peers("ana", video=False))
    await publish(cid, connected, peers("cid", video=False))
    await ana.wait("CALL_STATUS_CHANGED", callId=connected, status="CONNECTED", timeout=15)
    await asyncio.sleep(1.3)
    await cid.end(connected, expect="CALL_ENDED")
    # ... and one left live: Bob called Cid, Cid answered
    live = await bob.call([cid], chat_id="chat-r")
    await cid.answer(live)
    await asyncio.sleep(0.1)

    before = {u.id: (await u.ok("GET /calls/history", query={"limit": 100}))["calls"] for u in (ana, bob, cid)}
    assert [c["id"] for c in before[ana.id]] == [connected, for_all, hung_up, cancelled, declined]
    assert {c["id"]: (c["status"], c["endReason"]) for c in before[ana.id]} == {
        declined: ("DECLINED", "DECLINED"), cancelled: ("MISSED", "CANCELLED"), hung_up: ("ENDED", "HANGUP"),
        for_all: ("ENDED", "ENDED_FOR_EVERYONE"), connected: ("ENDED", "HANGUP")}
    durations = {c["id"]: c["duration"] for c in before[ana.id]}
    assert durations[connected] >= 1 and all(durations[c] == 0 for c in durations if c != connected)
    live_before = await bob.get(live)
    assert live_before["status"] == "CONNECTING"

    server.restart()
    client = await connect(server)
    for u in (ana, bob, cid):
        u.client, u.devices = client, []
        await u.add_device()

    # The finished calls come back byte for byte; the live one is closed
    after = {u.id: (await u.ok("GET /calls/history", query={"limit": 100}))["calls"] for u in (ana, bob, cid)}
    assert after[ana.id] == before[ana.id]
    closed = await bob.get(live)
    assert (closed["status"], closed["endReason"], closed["duration"]) == ("ENDED", "SERVER_RESTART", 0)
    assert closed["endedAt"] is not None and closed["endedAt"] >= live_before["startedAt"]
    assert statuses(closed) == {bob.id: "LEFT", cid.id: "LEFT"}
    assert {k: v for k, v in closed.items() if k not in ("status", "endedAt", "duration", "endReason",
                                                         "participants")} == \
        {k: v for k, v in live_before.items() if k not in ("status", "endedAt", "duration", "endReason",
                                                           "participants")}
    for u in (bob, cid):
        assert after[u.id][0] == closed
        assert after[u.id][1:] == before[u.id]
    assert (await ids(bob, chatId="chat-r"))[0] == [live, declined]
    assert (await ids(cid, status="ENDED"))[0] == [live, connected, for_all]
    # Nothing is live any more, and the restarted server makes calls as before
    assert (await cid.ok("GET /calls/active"))["total"] == 0
    again = await cid.call([bob])
    incoming = await bob.wait("CALL_INCOMING", callId=again)
    assert incoming["initiatorId"] == cid.id
    await cid.end(again)
