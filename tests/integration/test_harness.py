"""The harness itself, proven on Janus's stock plugins (EchoTest, VideoRoom)."""

import asyncio
import re

import pytest

from harness.client import JanusError, event, plugin_data, route
from harness.media import sdp_media

ECHOTEST, VIDEOROOM = "janus.plugin.echotest", "janus.plugin.videoroom"


async def test_janus_starts_and_answers_info(janus_factory, connect, admin):
    server = janus_factory(plugins=["echotest", "videoroom"])
    assert set(server.info["plugins"]) == {ECHOTEST, VIDEOROOM}
    assert set(server.info["transports"]) == {"janus.transport.websockets"}
    assert server.info["log-path"] == str(server.log_path)

    client = await connect(server)
    session = await client.create_session()
    handle = await session.attach(ECHOTEST)
    with pytest.raises(JanusError) as err:
        await session.attach("janus.plugin.nonexistent")
    assert err.value.code == 460  # JANUS_ERROR_PLUGIN_NOT_FOUND

    adm = await admin(server)
    assert session.id in await adm.list_sessions()
    assert await adm.list_handles(session.id) == [handle.id]
    info = await adm.query_handle(session.id, handle.id)
    assert info["plugin"] == ECHOTEST


async def test_restart_keeps_config_and_data(janus_factory, connect):
    server = janus_factory(plugins=["echotest"])
    marker = server.data_dir / "kept.txt"
    marker.write_text("x")
    port, pid = server.ws_port, server.proc.pid
    config = (server.workdir / "conf" / "janus.jcfg").read_text()
    server.restart()
    assert server.proc.pid != pid and server.ws_port == port and marker.exists()
    assert (server.workdir / "conf" / "janus.jcfg").read_text() == config
    client = await connect(server)
    assert (await client.info())["plugins"].keys() == {ECHOTEST}


async def test_transactions_and_event_timeouts(janus_factory, connect):
    """Our contract wrappers against EchoTest, which answers every message
    asynchronously: the ack comes back, the answer is an event with the transaction."""
    server = janus_factory(plugins=["echotest"])
    session = await (await connect(server)).create_session()
    handle = await session.attach(ECHOTEST)

    tx = await event(handle, "CALL_INITIATE", {"participantIds": [], "type": "AUDIO"})
    answer = await handle.wait_event(transaction=tx, timeout=5)
    assert plugin_data(answer)["echotest"] == "event"

    ack = await route(handle, "GET /calls/active", query={"page": 1})
    assert ack["janus"] == "ack"
    await handle.wait_event(transaction=ack["transaction"], timeout=5)

    with pytest.raises(AssertionError, match=r"(?s)CALL_STARTED.*within 0.3 s.*received so far"):
        await handle.wait_event("CALL_STARTED", timeout=0.3)


async def test_event_handler_events_are_collected(janus_factory, connect, event_sink):
    server = janus_factory(plugins=["echotest"], event_handlers=event_sink.sampleevh())
    session = await (await connect(server)).create_session()
    handle = await session.attach(ECHOTEST)
    await handle.message({"audio": False})
    created = await event_sink.wait(lambda e: e["type"] == 1 and e["session_id"] == session.id)
    assert created["event"]["name"] == "created"
    plugin_event = await event_sink.wait(lambda e: e["type"] == 64 and e.get("handle_id") == handle.id)
    assert plugin_event["event"]["plugin"] == ECHOTEST


@pytest.mark.parametrize("trickle", ["half", "full"])
async def test_echotest_media_round_trip(janus_factory, connect, peers, trickle):
    """ICE + DTLS with Janus in the namespace, then the echoed VP8 video and Opus
    audio decode on the client. With full trickle (-f), Janus sends its candidates
    in `trickle` messages, which Peer.bind() hands to aiortc."""
    server = janus_factory(plugins=["echotest"], extra_args=["-f"] if trickle == "full" else [])
    handle = await (await (await connect(server)).create_session()).attach(ECHOTEST)
    peer = peers("echo")
    peer.bind(handle)

    ack = await handle.message({"audio": True, "video": True}, jsep=await peer.offer())
    answer = await handle.wait_event(lambda m: "jsep" in m, transaction=ack["transaction"])
    await peer.accept(answer["jsep"])
    await peer.wait_connected(timeout=10)
    # Janus offers candidates on `va` only, in the SDP or trickled: 10.99.0.1.
    if trickle == "full":
        await handle.wait_event(lambda m: m["janus"] == "trickle" and m["candidate"].get("completed"))
    trickled = [m["candidate"] for m in handle.events if m["janus"] == "trickle"]
    assert ("a=candidate:" in answer["jsep"]["sdp"]) == (trickle == "half")
    assert bool(trickled) == (trickle == "full")
    assert set(peer.remote_candidates()) == {"10.99.0.1"}

    await handle.wait_event("webrtcup", timeout=10)
    video = await peer.wait_frames(30, "video", timeout=10)
    audio = await peer.wait_frames(25, "audio", timeout=5)
    print(f"echotest: decoded {video} video frames, {audio} audio frames; {peer.report()}")
    assert peer.video_size == {"janus": (320, 240)}


async def videoroom_publish(client, peers, room, name):
    """A publisher in `room`: its own session and handle, an aiortc peer sending
    audio and video. Returns (feed id, peer)."""
    handle = await (await client.create_session()).attach(VIDEOROOM)
    await handle.message({"request": "join", "ptype": "publisher", "room": room, "display": name})
    joined = await handle.wait_event(lambda m: plugin_data(m).get("videoroom") == "joined")
    peer = peers(name)
    peer.bind(handle)
    ack = await handle.message({"request": "configure", "audio": True, "video": True},
                               jsep=await peer.offer())
    answer = await handle.wait_event(lambda m: "jsep" in m, transaction=ack["transaction"])
    await peer.accept(answer["jsep"])
    await peer.wait_connected()
    return plugin_data(joined)["id"], peer


async def videoroom_offer(handle, body):
    """Send a subscriber request; returns (mid -> (feed id, kind), offer jsep)."""
    ack = await handle.message(body)
    offer = await handle.wait_event(lambda m: "jsep" in m, transaction=ack["transaction"])
    streams = {s["mid"]: (s.get("feed_id"), s["type"]) for s in plugin_data(offer)["streams"]
               if s.get("active")}
    return streams, offer["jsep"]


def mid_of(streams, feed, kind):
    return next(m for m, (f, k) in streams.items() if (f, k) == (feed, kind))


async def videoroom_room(client):
    handle = await (await client.create_session()).attach(VIDEOROOM)
    created = await handle.message({"request": "create", "videocodec": "vp8", "audiocodec": "opus"})
    return created["room"]


async def test_videoroom_publish_and_subscribe(janus_factory, connect, peers):
    """Alice publishes into a VideoRoom, Bob subscribes and decodes her tracks."""
    client = await connect(janus_factory(plugins=["videoroom"]))
    room = await videoroom_room(client)
    alice_id, _ = await videoroom_publish(client, peers, room, "alice")

    bob_h = await (await client.create_session()).attach(VIDEOROOM)
    bob = peers("bob", audio=False, video=False)
    bob.bind(bob_h)
    streams, offer = await videoroom_offer(bob_h, {"request": "join", "ptype": "subscriber",
                                                   "room": room, "streams": [{"feed": alice_id}]})
    assert sorted(streams.values()) == [(alice_id, "audio"), (alice_id, "video")]
    await bob_h.message({"request": "start"}, jsep=await bob.answer(offer))
    await bob.wait_connected()

    # Bob has a track on each mid Janus announced, and decodes Alice's media on them.
    assert sorted((mid, t.kind) for mid, t in bob.tracks) == sorted((m, k) for m, (_, k) in streams.items())
    video = await bob.wait_frames(30, "video", mid=mid_of(streams, alice_id, "video"), timeout=10)
    audio = await bob.wait_frames(25, "audio", mid=mid_of(streams, alice_id, "audio"), timeout=5)
    print(f"videoroom: bob decoded {video} video frames, {audio} audio frames of alice; {bob.report()}")


async def test_videoroom_subscriber_renegotiation(janus_factory, connect, peers):
    """Janus re-offers on a live subscriber PeerConnection: m-lines added for a new
    feed, then made inactive, then reused for a feed again (what our plugin does when
    people join and leave). aiortc follows; video needs a key frame request after each
    change, since VideoRoom 1.1.2 sends no PLI on `update` and aiortc asks for none."""
    client = await connect(janus_factory(plugins=["videoroom"]))
    room = await videoroom_room(client)
    alice_id, _ = await videoroom_publish(client, peers, room, "alice")
    carol_id, _ = await videoroom_publish(client, peers, room, "carol")

    handle = await (await client.create_session()).attach(VIDEOROOM)
    bob = peers("bob", audio=False, video=False)
    bob.bind(handle)
    streams, offer = await videoroom_offer(handle, {"request": "join", "ptype": "subscriber",
                                                    "room": room, "streams": [{"feed": alice_id}]})
    await handle.message({"request": "start"}, jsep=await bob.answer(offer))
    await bob.wait_connected()
    alice_audio = mid_of(streams, alice_id, "audio")
    await bob.wait_frames(10, "video", mid=mid_of(streams, alice_id, "video"))

    async def renegotiate(body):
        streams, offer = await videoroom_offer(handle, body)
        await handle.message({"request": "start"}, jsep=await bob.answer(offer))
        return streams

    # 1. Carol added: two new m-lines on the same PeerConnection.
    streams = await renegotiate({"request": "update", "subscribe": [{"feed": carol_id}]})
    carol_audio, carol_video = mid_of(streams, carol_id, "audio"), mid_of(streams, carol_id, "video")
    assert len(bob.tracks) == 4
    await bob.wait_frames(25, "audio", mid=carol_audio)
    await asyncio.sleep(0.5)  # packets flowing, so a PLI can be answered
    await bob.request_keyframe(carol_video)
    await bob.wait_frames(30, "video", mid=carol_video)

    # 2. Alice dropped: her m-lines go inactive and stop counting.
    streams = await renegotiate({"request": "update", "unsubscribe": [{"feed": alice_id}]})
    assert set(streams.values()) == {(carol_id, "audio"), (carol_id, "video")}
    await asyncio.sleep(0.5)
    stopped = bob.frames("audio", mid=alice_audio)
    await asyncio.sleep(1)
    assert bob.frames("audio", mid=alice_audio) == stopped

    # 3. Alice again: Janus reuses the inactive m-lines (new SSRCs).
    streams = await renegotiate({"request": "update", "subscribe": [{"feed": alice_id}]})
    assert mid_of(streams, alice_id, "audio") == alice_audio  # reused, not added
    alice_video = mid_of(streams, alice_id, "video")
    assert len(bob.tracks) == 4
    before = bob.frames("video", mid=alice_video)
    await bob.wait_frames(stopped + 25, "audio", mid=alice_audio)
    await bob.request_keyframe(alice_video)
    await bob.wait_frames(before + 30, "video", mid=alice_video)
    print(f"renegotiation: {bob.report()}")


def test_sdp_media_parsing():
    sdp = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=msid:user-a trk0\r\n"
           "a=ssrc:11 cname:x\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:v1\r\n"
           "a=ssrc-group:FID 22 23\r\na=ssrc:22 msid:user-b trk1\r\na=ssrc:23 msid:user-b trk1\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=inactive\r\n")
    assert sdp_media(sdp) == {"0": {"stream": "user-a", "ssrc": 11},
                              "v1": {"stream": "user-b", "ssrc": 22}, "2": {}}
