"""Janus event handlers (docs/api.md §9): the call lifecycle reaches them through
notify_event, each the contract event its participants received, with the callId
beside it; with `events = false` in the plugin's config, nothing of the plugin does.
The stock sample event handler posts to the harness's EventSink.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio

from calls_helpers import PLUGIN, User, calls_config, check_event
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import plugin_data


def plugin_events(sink, call_id=None):
    """The plugin's events the handler got (its `data`), in order."""
    out = []
    for e in list(sink.events):
        if e.get("type") == 64 and e.get("event", {}).get("plugin") == PLUGIN:
            data = e["event"]["data"]
            if call_id is None or data.get("callId") == call_id:
                out.append(data)
    return out


def received(user, call_id):
    """The contract events of `call_id` on the user's first handle, in order."""
    return [plugin_data(m) for m in user.h.events
            if plugin_data(m).get("event") and plugin_data(m)["data"].get("callId") == call_id]


async def wait_for(sink, call_id, name, **fields):
    def match(e):
        if not (e.get("type") == 64 and e.get("event", {}).get("plugin") == PLUGIN):
            return False
        data = e["event"]["data"]
        return data.get("callId") == call_id and data.get("event") == name and \
            all(data["data"].get(k) == v for k, v in fields.items())

    return (await sink.wait(match, timeout=10))["event"]["data"]


async def test_call_lifecycle_reaches_event_handlers(janus_factory, connect, event_sink):
    server = janus_factory(configs=calls_config(ring_timeout=2, connect_timeout=3),
                           event_handlers=event_sink.sampleevh())
    client = await connect(server)
    alice, bob, carol = [await User.create(client, n) for n in ("alice", "bob", "carol")]
    call_id = await alice.call([bob, carol], type="VIDEO", chat_id="chat-ev")
    await bob.answer(call_id)
    await carol.decline(call_id, reason="later")
    await bob.send("CALL_PARTICIPANT_MEDIA_UPDATE", {"callId": call_id, "isMuted": True})
    await alice.wait("CALL_PARTICIPANT_MEDIA_CHANGED", callId=call_id)
    await bob.end(call_id)
    await alice.wait("CALL_ENDED", callId=call_id)
    await wait_for(event_sink, call_id, "CALL_ENDED")
    await asyncio.sleep(0.3)   # anything else of the call would be in by now

    mirrored = plugin_events(event_sink, call_id)
    names = [m["event"] for m in mirrored]
    assert names == ["CALL_STARTED",
                     "CALL_INCOMING", "CALL_INCOMING",                            # whom it rings
                     "CALL_PARTICIPANT_JOINED", "CALL_STATUS_CHANGED",           # Bob answers
                     "CALL_PARTICIPANT_LEFT",                                     # Carol declines
                     "CALL_PARTICIPANT_MEDIA_CHANGED",
                     "CALL_PARTICIPANT_LEFT", "CALL_STATUS_CHANGED", "CALL_ENDED"], names
    # Each is the contract event, with the callId beside it; CALL_INCOMING also names the invitee
    assert [m["data"]["userId"] for m in mirrored if m["event"] == "CALL_INCOMING"] == [bob.id, carol.id]
    for m in mirrored:
        assert m["callId"] == call_id
        event = {k: v for k, v in m.items() if k != "callId"}
        if m["event"] == "CALL_INCOMING":
            event = dict(event, data={k: v for k, v in m["data"].items() if k != "userId"})
        check_event(event)
    assert [(m["data"]["previousStatus"], m["data"]["status"]) for m in mirrored
            if m["event"] == "CALL_STATUS_CHANGED"] == [("RINGING", "CONNECTING"), ("CONNECTING", "ENDED")]
    assert [(m["data"]["userId"], m["data"]["reason"]) for m in mirrored
            if m["event"] == "CALL_PARTICIPANT_LEFT"] == [(carol.id, "DECLINED"), (bob.id, "LEFT")]
    assert mirrored[0]["data"]["call"]["status"] == "RINGING"
    assert mirrored[0]["data"]["call"]["chatId"] == "chat-ev"
    assert mirrored[-1]["data"] == {"callId": call_id, "status": "ENDED", "duration": 0, "endedBy": bob.id,
                                    "reason": "HANGUP"}
    # ... the very events the initiator's handle received (same timestamps, same data)
    assert [{k: v for k, v in m.items() if k != "callId"} for m in mirrored
            if m["event"] != "CALL_INCOMING"] == received(alice, call_id)


async def test_timers_reach_event_handlers(janus_factory, connect, event_sink):
    """Changes made by the plugin's own timers (ring timeout) are mirrored too."""
    server = janus_factory(configs=calls_config(ring_timeout=1), event_handlers=event_sink.sampleevh())
    client = await connect(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    ended = await wait_for(event_sink, call_id, "CALL_ENDED")
    assert (ended["data"]["status"], ended["data"]["reason"]) == ("MISSED", "RING_TIMEOUT")
    left = await wait_for(event_sink, call_id, "CALL_PARTICIPANT_LEFT")
    assert (left["data"]["userId"], left["data"]["reason"]) == (bob.id, "MISSED")


async def test_events_off_keeps_the_plugin_quiet(janus_factory, connect, event_sink):
    server = janus_factory(configs=calls_config(ring_timeout=2, events=False),
                           event_handlers=event_sink.sampleevh())
    client = await connect(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    await bob.answer(call_id)
    await alice.end(call_id)
    await bob.wait("CALL_ENDED", callId=call_id)
    # The handler works (Janus's own session events arrive) but hears nothing of the plugin
    await event_sink.wait(lambda e: e.get("type") == 1 and e.get("session_id") == alice.h.session.id)
    await asyncio.sleep(0.5)
    assert plugin_events(event_sink) == []
