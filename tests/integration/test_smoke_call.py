"""Smoke: a 1:1 VIDEO call, both sides publishing and subscribing through the SFU."""

from harness.client import plugin_data, register, event


async def test_one_to_one_video(janus_factory, connect, peers):
    server = janus_factory(configs={"janus.plugin.calls": {"general": {
        "auth": "open", "ring_timeout": 10, "connect_timeout": 10,
        "db_path": "{data_dir}/calls.db"}}})
    client = await connect(server)
    s = await client.create_session()
    a_pub = await s.attach("janus.plugin.calls")
    a_sub = await s.attach("janus.plugin.calls")
    b_pub = await s.attach("janus.plugin.calls")
    b_sub = await s.attach("janus.plugin.calls")
    await register(a_pub, userId="alice", userName="Alice")
    await register(a_sub, userId="alice", userName="Alice", events=False)
    await register(b_pub, userId="bob", userName="Bob")
    await register(b_sub, userId="bob", userName="Bob", events=False)
    tx = await event(a_pub, "CALL_INITIATE", {"participantIds": ["bob"], "type": "VIDEO"})
    started = plugin_data(await a_pub.wait_event("CALL_STARTED", transaction=tx))["data"]
    call_id = started["callId"]
    await b_pub.wait_event("CALL_INCOMING")
    await event(b_pub, "CALL_ANSWER", {"callId": call_id})
    await a_pub.wait_event("CALL_PARTICIPANT_JOINED")

    alice, bob = peers("alice"), peers("bob")
    for who, handle in ((alice, a_pub), (bob, b_pub)):
        who.bind(handle)
        tx = await event(handle, "WEBRTC_OFFER", {"callId": call_id}, jsep=await who.offer())
        msg = await handle.wait_event("WEBRTC_ANSWER_RECEIVED", transaction=tx)
        await who.accept(msg["jsep"])

    alice_rx, bob_rx = peers("alice-rx", audio=False, video=False), peers("bob-rx", audio=False, video=False)
    for who, handle in ((alice_rx, a_sub), (bob_rx, b_sub)):
        who.bind(handle)
        await event(handle, "CALL_SUBSCRIBE", {"callId": call_id})
    for who, handle in ((alice_rx, a_sub), (bob_rx, b_sub)):
        for _ in range(3):
            msg = await handle.wait_event("WEBRTC_OFFER_RECEIVED", timeout=10)
            print(plugin_data(msg)["data"]["streams"])
            answer = await who.answer(msg["jsep"])
            await event(handle, "WEBRTC_ANSWER", {"callId": call_id}, jsep=answer)
            if len(plugin_data(msg)["data"]["streams"]) >= 2:
                break
    await a_pub.wait_event(lambda m: plugin_data(m).get("event") == "CALL_STATUS_CHANGED"
                           and plugin_data(m)["data"]["status"] == "CONNECTED", timeout=10)
    await alice_rx.wait_frames(30, "video", stream="bob", timeout=15)
    await bob_rx.wait_frames(30, "video", stream="alice", timeout=15)
    await alice_rx.wait_frames(20, "audio", stream="bob", timeout=15)
    print(alice_rx.report(), bob_rx.report())
