"""The Admin API (docs/api.md §9) through Janus's admin WebSocket: message_plugin
with list_calls, get_call, end_call, remove_participant, their errors; and
handle_info (query_session) showing a handle's user and calls.

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import pytest

from calls_helpers import (PLUGIN, User, assert_refused, calls_config, check_call, check_reply, new_uuid,
                           statuses)
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)


@pytest.fixture(scope="module")
def server(janus_module_factory):
    return janus_module_factory(configs=calls_config(ring_timeout=30, connect_timeout=30))


@pytest.fixture
async def client(server, connect):
    return await connect(server)


async def plugin_admin(adm, request: dict) -> dict:
    return check_reply(await adm.message_plugin(PLUGIN, request))


async def test_list_get_end_and_remove(server, client, admin):
    adm = await admin(server)
    alice, bob, carol, dave, erin = [await User.create(client, n) for n in ("alice", "bob", "carol", "dave", "erin")]
    ringing = await alice.call([bob])
    group = await carol.call([dave, erin, bob], type="VIDEO")
    await dave.answer(group)
    await erin.answer(group)

    # list_calls: every live call, checked like the contract's calls
    reply = await plugin_admin(adm, {"request": "list_calls"})
    assert reply["status"] == 200 and set(reply["body"]) == {"calls", "total"}
    listed = {c["id"]: check_call(c) for c in reply["body"]["calls"]}
    assert {ringing, group} <= set(listed) and reply["body"]["total"] == len(listed)
    assert listed[group] == await carol.get(group)

    # get_call: the call, with per-participant stats
    reply = await plugin_admin(adm, {"request": "get_call", "callId": group})
    call = check_call(reply["body"]["call"], extra_participant_keys={"stats"})
    assert {**call, "participants": [{k: v for k, v in p.items() if k != "stats"} for p in call["participants"]]} \
        == await carol.get(group)

    # remove_participant: a joined one LEFT, a ringing one MISSED; the call goes on
    reply = await plugin_admin(adm, {"request": "remove_participant", "callId": group, "userId": erin.id})
    assert statuses(check_call(reply["body"]["call"]))[erin.id] == "LEFT"
    for u in (carol, dave, erin):
        left = await u.wait("CALL_PARTICIPANT_LEFT", callId=group, userId=erin.id)
        assert left["reason"] == "LEFT" and "administrator" in left["message"]
    reply = await plugin_admin(adm, {"request": "remove_participant", "callId": group, "userId": bob.id})
    assert (await dave.wait("CALL_PARTICIPANT_LEFT", callId=group, userId=bob.id))["reason"] == "MISSED"
    call = await carol.get(group)
    assert call["status"] == "CONNECTING"
    assert statuses(call) == {carol.id: "JOINED", dave.id: "JOINED", erin.id: "LEFT", bob.id: "MISSED"}

    # end_call: every participant hears CALL_ENDED with reason ADMIN
    reply = await plugin_admin(adm, {"request": "end_call", "callId": group})
    assert (reply["body"]["call"]["status"], reply["body"]["call"]["endReason"]) == ("ENDED", "ADMIN")
    for u in (carol, dave, erin, bob):
        assert await u.wait("CALL_ENDED", callId=group) == \
            {"callId": group, "status": "ENDED", "duration": 0, "endedBy": None, "reason": "ADMIN"}
    await plugin_admin(adm, {"request": "end_call", "callId": ringing})
    for u in (alice, bob):
        ended = await u.wait("CALL_ENDED", callId=ringing)
        assert (ended["status"], ended["reason"]) == ("MISSED", "ADMIN")
    assert (await alice.get(ringing))["endReason"] == "ADMIN"

    reply = await plugin_admin(adm, {"request": "list_calls"})
    assert not {ringing, group} & {c["id"] for c in reply["body"]["calls"]}


@pytest.mark.parametrize("request_, code", [
    ({}, "INVALID_REQUEST"),
    ({"request": "drop_tables"}, "INVALID_REQUEST"),
    ({"request": 7}, "INVALID_REQUEST"),
    ({"request": "get_call"}, "INVALID_REQUEST"),
    ({"request": "get_call", "callId": 5}, "INVALID_REQUEST"),
    ({"request": "get_call", "callId": new_uuid()}, "CALL_NOT_FOUND"),
    ({"request": "end_call", "callId": "x" * 100_000}, "CALL_NOT_FOUND"),
    ({"request": "remove_participant", "callId": new_uuid(), "userId": "bob"}, "CALL_NOT_FOUND"),
])
async def test_admin_errors(server, admin, request_, code):
    reply = await plugin_admin(await admin(server), request_)
    assert_refused(reply, code)


async def test_admin_remove_needs_a_participant(server, client, admin):
    adm = await admin(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob")
    call_id = await alice.call([bob])
    assert_refused(await plugin_admin(adm, {"request": "remove_participant", "callId": call_id}),
                   "INVALID_REQUEST", "userId")
    assert_refused(await plugin_admin(adm, {"request": "remove_participant", "callId": call_id,
                                            "userId": "stranger"}), "INVALID_STATE", "stranger")
    assert statuses(await alice.get(call_id)) == {alice.id: "JOINED", bob.id: "RINGING"}
    await alice.end(call_id)


async def test_handle_info_shows_the_user_and_calls(server, client, admin):
    adm = await admin(server)
    alice, bob = await User.create(client, "alice"), await User.create(client, "bob", devices=2)
    call_id = await alice.call([bob], type="VIDEO")
    await bob.answer(call_id, handle=bob.devices[1])

    def specific(info):
        assert info["plugin"] == PLUGIN
        return info["plugin_specific"]

    mine = specific(await adm.query_handle(alice.h.session.id, alice.h.id))
    assert mine["registered"] is True and mine["events"] is True
    assert mine["user"] == {"userId": alice.id, "userName": "alice", "avatar": alice.avatar}
    assert mine["calls"] == [{"callId": call_id, "status": "CONNECTING", "participantStatus": "JOINED",
                              "onThisHandle": True}]
    phone, laptop = bob.devices
    on_phone = specific(await adm.query_handle(phone.session.id, phone.id))
    on_laptop = specific(await adm.query_handle(laptop.session.id, laptop.id))
    assert on_phone["deviceId"] != on_laptop["deviceId"]
    assert [c["onThisHandle"] for c in on_phone["calls"]] == [False]
    assert [c["onThisHandle"] for c in on_laptop["calls"]] == [True]
    quiet = await bob.add_device(events=False)
    assert specific(await adm.query_handle(quiet.session.id, quiet.id))["events"] is False
    fresh = await bob.attach()
    assert specific(await adm.query_handle(fresh.session.id, fresh.id)) == {"registered": False}
    await alice.end(call_id)
    assert specific(await adm.query_handle(alice.h.session.id, alice.h.id))["calls"] == []
