"""Media load generator for the SFU benchmark: real WebRTC peers (aiortc) that send
pre-encoded media and count what they receive at the RTP level.

No live encoding: prepare_media() encodes a few seconds of a synthetic moving
picture to VP8 (~500 kbit/s, a key frame every 2 s) and a tone to Opus once, at
start-up, with PyAV. PacketTrack.recv() then returns those av.Packet objects in
a loop, paced in real time; aiortc's RTCRtpSender packetizes an av.Packet with
its encoder's pack() instead of encoding it. A PLI from Janus restarts the loop
at the next key frame position at once (aiortc's own key frame request flag
only works when it encodes).

No decoding: a receiving peer's SRTP packets are taken out of aiortc before its
RTP parser, jitter buffer and decoder ever see them (install_fast_receive()).
The hook decrypts each packet (libsrtp, as aiortc does), reads its SSRC and
sequence number, and counts packets, bytes and sequence gaps per SSRC. RTCP
still takes aiortc's normal path (SR, PLI, REMB), so the publishers answer PLIs.

Two drivers set up the same N-party call, everyone publishing audio+video and
subscribing to everybody else:
  CallsScenario      janus.plugin.calls: register, CALL_INITIATE/CALL_ANSWER,
                     WEBRTC_OFFER, CALL_SUBSCRIBE + WEBRTC_ANSWER;
  VideoRoomScenario  janus.plugin.videoroom 1.1.2 (multistream): create a room,
                     publishers join + publish, subscribers join with the list
                     of feeds, answer with "start".

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import ctypes
import ctypes.util
import fractions
import re
import socket
import time

import aioice.ice
import av
import numpy as np
import pylibsrtp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from harness.client import event, event_name, plugin_data, register

TIMEOUT = 20.0          # bound on every signaling wait, in seconds
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
VIDEO_CLOCK, AUDIO_CLOCK = 90000, 48000


# --- pre-encoded media ----------------------------------------------------------------------


class PreparedMedia:
    """Encoded VP8 frames ([(bytes, is_key)]) and Opus frames ([bytes]), ready to loop."""

    def __init__(self, video, audio, fps, width, height, kbps):
        self.video, self.audio = video, audio
        self.fps, self.width, self.height, self.kbps = fps, width, height, kbps
        self.keyframes = [i for i, (_, key) in enumerate(video) if key]

    def describe(self) -> str:
        vbits = sum(len(b) for b, _ in self.video) * 8 * self.fps / len(self.video)
        abits = sum(len(b) for b in self.audio) * 8 * 50 / len(self.audio)
        return (f"VP8 {self.width}x{self.height} {self.fps} fps, {len(self.video)} frames looped, "
                f"key frames at {self.keyframes}, {vbits / 1000:.0f} kbit/s; "
                f"Opus 48 kHz mono 20 ms, {abits / 1000:.0f} kbit/s (payload)")


def _texture(h, w, seed=1):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 255, (h, w), dtype=np.uint8).astype(np.uint16)
    # a little blur: texture the encoder can follow with motion vectors, not white noise
    return ((t + np.roll(t, 1, 0) + np.roll(t, 1, 1) + np.roll(t, (1, 1), (0, 1))) // 4).astype(np.uint8)


def _quiet_ffmpeg():
    """No codec banners on stderr: aiortc puts FFmpeg's own log callback back
    (av.logging.restore_default_callback()), so lower FFmpeg's level itself."""
    try:
        ctypes.CDLL(ctypes.util.find_library("avutil") or "libavutil.so").av_log_set_level(16)  # AV_LOG_ERROR
    except (OSError, AttributeError):
        pass


def prepare_media(kbps=500, seconds=4, fps=30, width=640, height=360, key_every_s=2) -> PreparedMedia:
    """Encode `seconds` of a scrolling texture with a moving square (VP8, CBR `kbps`)
    and of a 440 Hz tone (Opus), once."""
    _quiet_ffmpeg()
    cc = av.CodecContext.create("libvpx", "w")
    cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
    cc.framerate = fractions.Fraction(fps, 1)
    cc.time_base = fractions.Fraction(1, fps)
    cc.bit_rate = kbps * 1000
    cc.gop_size = fps * key_every_s
    cc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "auto-alt-ref": "0",
                  "end-usage": "cbr", "minrate": f"{kbps}k", "maxrate": f"{kbps}k", "undershoot-pct": "95",
                  "buf-sz": "1000", "buf-initial-sz": "500", "buf-optimal-sz": "600",
                  "max-intra-rate": "300", "static-thresh": "0"}
    tex = _texture(height * 2, width * 2)
    video = []
    frames = seconds * fps
    for n in range(frames):
        dx, dy = (n * 3) % width, (n * 2) % height
        y = tex[dy:dy + height, dx:dx + width].copy()
        cx = int((width - 80) * (0.5 + 0.5 * np.sin(n / 10)))
        cy = int((height - 80) * (0.5 + 0.5 * np.cos(n / 13)))
        y[cy:cy + 80, cx:cx + 80] = 235
        u = np.full((height // 2, width // 2), (n * 2) % 256, np.uint8)
        v = np.full((height // 2, width // 2), 128, np.uint8)
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, arr in zip(frame.planes, (y, u, v)):
            rows = np.zeros((arr.shape[0], plane.line_size), np.uint8)
            rows[:, :arr.shape[1]] = arr
            plane.update(rows.tobytes())
        frame.pts = n
        video += [(bytes(p), bool(p.is_keyframe)) for p in cc.encode(frame)]
    video += [(bytes(p), bool(p.is_keyframe)) for p in cc.encode(None)]
    video = video[:frames]
    if not video or not video[0][1]:
        raise RuntimeError("the VP8 encoder did not start with a key frame")

    ac = av.CodecContext.create("libopus", "w")
    ac.sample_rate, ac.layout, ac.format, ac.bit_rate = AUDIO_CLOCK, "mono", "s16", 32000
    ac.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    audio = []
    for i in range(seconds * 50):
        t = (i * 960 + np.arange(960)) / AUDIO_CLOCK
        pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        f = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        f.sample_rate, f.pts, f.time_base = AUDIO_CLOCK, i * 960, fractions.Fraction(1, AUDIO_CLOCK)
        audio += [bytes(p) for p in ac.encode(f)]
    return PreparedMedia(video, audio, fps, width, height, kbps)


class PacketTrack(MediaStreamTrack):
    """Returns pre-encoded frames as av.Packet, one per period, in real time, in a loop.
    request_keyframe() (wired to the sender's PLI handling) makes the next frame
    the loop's next key frame."""

    def __init__(self, kind, frames, keyframes, clock, period):
        super().__init__()
        self.kind = kind
        self._frames, self._keyframes = frames, keyframes
        self._ticks = int(round(clock * period))
        self._time_base = fractions.Fraction(1, clock)
        self._period = period
        self._n, self._pos, self._start = 0, 0, None
        self._key_wanted = False
        self.keyframe_requests = 0
        self.late = 0  # frames sent more than one period late (the event loop was busy)

    def request_keyframe(self):
        self.keyframe_requests += 1
        self._key_wanted = True

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._n += 1
            wait = self._start + self._n * self._period - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -self._period:
                self.late += 1
        if self._key_wanted and self._keyframes:
            # any key frame will do: jump to the next one in the loop now
            self._key_wanted = False
            self._pos = next((k for k in self._keyframes if k >= self._pos), self._keyframes[0])
        data = self._frames[self._pos]
        self._pos = (self._pos + 1) % len(self._frames)
        packet = av.Packet(data if isinstance(data, bytes) else data[0])
        packet.pts = self._n * self._ticks
        packet.time_base = self._time_base
        return packet


# --- receiving without decoding --------------------------------------------------------------


class RxCounter:
    """RTP received by one PeerConnection, per SSRC: [packets, bytes, highest extended seq,
    pt]. `first_at`: monotonic time of the first RTP packet. `bad`: SRTP failures."""

    __slots__ = ("dtls", "ssrcs", "first_at", "bad", "packets", "bytes")

    def __init__(self, dtls):
        self.dtls = dtls
        self.ssrcs = {}
        self.first_at = None
        self.bad = 0
        self.packets = 0
        self.bytes = 0

    def __call__(self, data) -> bool:
        """Take one datagram off the ICE connection; False: not ours (STUN, DTLS, RTCP)."""
        if not data or not 127 < data[0] < 192 or 191 < data[1] < 224:
            return False
        srtp = self.dtls._rx_srtp
        if srtp is None:
            return False
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            self.bad += 1
            return True
        if self.first_at is None:
            self.first_at = time.monotonic()
        ssrc = int.from_bytes(plain[8:12], "big")
        seq = (plain[2] << 8) | plain[3]
        n = len(plain)
        self.packets += 1
        self.bytes += n
        st = self.ssrcs.get(ssrc)
        if st is None:
            self.ssrcs[ssrc] = [1, n, seq, plain[1] & 0x7f]
            return True
        st[0] += 1
        st[1] += n
        delta = (seq - st[2]) & 0xffff
        if delta < 0x8000:          # newer (or equal): extend
            st[2] += delta
        return True

    def snapshot(self) -> dict:
        return {ssrc: (st[0], st[1], st[2]) for ssrc, st in self.ssrcs.items()}


_installed = False


RCVBUF = 4 << 20   # bytes: absorbs the load generator's scheduling hiccups (a busy machine)


def install_fast_receive():
    """Patch aioice once: RTP/RTCP datagrams skip the STUN parser, and a connection with a
    `_bench_rx` hook hands SRTP packets to it instead of queueing them for aiortc. Each
    ICE socket gets a RCVBUF-byte receive buffer (SO_RCVBUFFORCE: root, this socket only,
    no sysctl changed)."""
    global _installed
    if _installed:
        return
    _installed = True
    proto_received = aioice.ice.StunProtocol.datagram_received
    proto_made = aioice.ice.StunProtocol.connection_made
    conn_received = aioice.ice.Connection.data_received

    def connection_made(self, transport):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            except OSError:
                pass   # not root: the default buffer
        proto_made(self, transport)

    def datagram_received(self, data, addr):
        if data and 127 < data[0] < 192:      # RTP or RTCP: never STUN
            self.receiver.data_received(data, self.local_candidate.component)
            return
        proto_received(self, data, addr)

    def data_received(self, data, component):
        hook = getattr(self, "_bench_rx", None)
        if hook is not None and hook(data):
            return
        conn_received(self, data, component)

    aioice.ice.StunProtocol.datagram_received = datagram_received
    aioice.ice.StunProtocol.connection_made = connection_made
    aioice.ice.Connection.data_received = data_received


# --- peers ------------------------------------------------------------------------------------


def sdp_summary(sdp: str) -> dict:
    """{kind: sorted set of 'extmap uri', 'fb ...', 'rtx'} of the active m-lines of an SDP."""
    out = {}
    for section in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        kind = section[2:7].strip()
        if re.search(r"^a=inactive", section, re.M) or re.match(r"m=\w+ 0 ", section):
            continue
        feats = out.setdefault(kind, set())
        feats.update("ext:" + u.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
                     for u in re.findall(r"^a=extmap:\d+(?:/\w+)? (\S+)", section, re.M))
        feats.update("fb:" + f.strip() for f in re.findall(r"^a=rtcp-fb:\d+ ([^\r\n]+)", section, re.M))
        if re.search(r"^a=rtpmap:\d+ rtx/", section, re.M):
            feats.add("rtx")
    return {k: sorted(v) for k, v in out.items()}


class SendPeer:
    """A publishing PeerConnection: one Opus and one VP8 PacketTrack."""

    def __init__(self, media: PreparedMedia):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.audio = PacketTrack("audio", media.audio, [], AUDIO_CLOCK, 0.02)
        self.video = PacketTrack("video", media.video, media.keyframes, VIDEO_CLOCK, 1 / media.fps)
        self.senders = []
        for track in (self.audio, self.video):
            sender = self.pc.addTrack(track)
            sender._send_keyframe = track.request_keyframe   # PLI -> restart at a key frame
            self.senders.append(sender)
        self.local_sdp = self.remote_sdp = None

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.local_sdp = self.pc.localDescription.sdp
        return {"type": "offer", "sdp": self.local_sdp}

    async def accept(self, jsep):
        self.remote_sdp = jsep["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))

    def sent_packets(self) -> int:
        return sum(getattr(s, "_RTCRtpSender__packet_count", 0) for s in self.senders)

    def keyframe_requests(self) -> int:
        return self.video.keyframe_requests

    def late_frames(self) -> int:
        return self.audio.late + self.video.late

    async def close(self):
        await self.pc.close()


class RecvPeer:
    """A receive-only PeerConnection answering the SFU's offers; RTP counted by `rx`."""

    def __init__(self):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.rx = None
        self.first_answer_at = None
        self.answers = 0
        self.local_sdp = self.remote_sdp = None

    async def answer(self, jsep) -> dict:
        self.remote_sdp = jsep["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))
        if self.rx is None:
            dtls = self.pc.getTransceivers()[0].receiver.transport
            self.rx = RxCounter(dtls)
            dtls.transport._connection._bench_rx = self.rx
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.local_sdp = self.pc.localDescription.sdp
        return {"type": "answer", "sdp": self.local_sdp}

    def answered(self):
        """Call right before the answer goes on the wire."""
        self.answers += 1
        if self.first_answer_at is None:
            self.first_answer_at = time.monotonic()

    def first_rtp_ms(self):
        if self.rx is None or self.rx.first_at is None or self.first_answer_at is None:
            return None
        return (self.rx.first_at - self.first_answer_at) * 1000

    async def close(self):
        await self.pc.close()


async def _until(ok, what, timeout=TIMEOUT, every=0.05):
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what() if callable(what) else what}")
        await asyncio.sleep(every)


# --- scenarios --------------------------------------------------------------------------------


class Scenario:
    """N participants, each a publishing and a receiving peer. Subclasses do the signaling."""

    plugin = "?"

    def __init__(self, client, media, n, tag):
        self.client, self.media, self.n, self.tag = client, media, n, tag
        self.senders = []      # SendPeer per participant
        self.receivers = []    # RecvPeer per participant
        self.sessions = []
        self.pub_handles, self.sub_handles = [], []
        self.tasks = []

    async def setup(self):
        raise NotImplementedError

    async def wait_flowing(self, timeout=TIMEOUT):
        """Every receiver gets RTP from 2 (N-1) SSRCs (audio + video of everybody else)."""
        want = 2 * (self.n - 1)

        def ok():
            return all(r.rx is not None and len(r.rx.ssrcs) >= want for r in self.receivers)

        await _until(ok, lambda: f"{self.plugin}: SSRCs per receiver "
                     f"{[len(r.rx.ssrcs) if r.rx else 0 for r in self.receivers]}, want {want}", timeout)

    async def teardown(self):
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self._leave()
        for p in self.senders + self.receivers:
            try:
                await asyncio.wait_for(p.close(), 5)
            except Exception:  # a peer that fails to close cleanly does not matter here
                pass
        for s in self.sessions:
            try:
                await s.destroy(timeout=5)
            except Exception:  # Janus may have dropped it already
                pass

    async def _leave(self):
        pass

    async def _publishers_up(self):
        """Every publisher's PeerConnection is up on both sides (aiortc connected, Janus
        says webrtcup): only then may subscribers ask for its feed."""
        await _until(lambda: all(p.pc.connectionState == "connected" for p in self.senders),
                     "publishers connected")
        for h in self.pub_handles:
            await h.wait_event("webrtcup", timeout=TIMEOUT)

    def handles_for_admin(self):
        """[(session id, handle id, role)] for Admin API queries."""
        return ([(h.session.id, h.id, "publisher") for h in self.pub_handles]
                + [(h.session.id, h.id, "subscriber") for h in self.sub_handles])


class CallsScenario(Scenario):
    plugin = "janus.plugin.calls"

    async def setup(self):
        users = [f"{self.tag}u{i}" for i in range(self.n)]
        for uid in users:
            s = await self.client.create_session()
            self.sessions.append(s)
            pub, sub = await s.attach(self.plugin), await s.attach(self.plugin)
            for h, ev in ((pub, True), (sub, False)):
                reply = await register(h, userId=uid, userName=uid, events=ev)
                if reply.get("status") != 200:
                    raise RuntimeError(f"register {uid}: {reply}")
            self.pub_handles.append(pub)
            self.sub_handles.append(sub)
        caller = self.pub_handles[0]
        tx = await event(caller, "CALL_INITIATE", {"participantIds": users[1:], "type": "VIDEO"})
        msg = await caller.wait_event(lambda m: event_name(m) in ("CALL_STARTED", "ERROR"), transaction=tx,
                                      timeout=TIMEOUT)
        if event_name(msg) != "CALL_STARTED":
            raise RuntimeError(f"CALL_INITIATE: {plugin_data(msg)}")
        self.call_id = call_id = plugin_data(msg)["data"]["callId"]
        for h in self.pub_handles[1:]:
            await h.wait_event("CALL_INCOMING", timeout=TIMEOUT)
            await event(h, "CALL_ANSWER", {"callId": call_id})
        for uid in users[1:]:
            await caller.wait_event(lambda m: event_name(m) == "CALL_PARTICIPANT_JOINED"
                                    and plugin_data(m)["data"].get("userId") == uid, timeout=TIMEOUT)
        # everybody publishes first, so that each subscriber's first offer has every stream
        for h in self.pub_handles:
            peer = SendPeer(self.media)
            self.senders.append(peer)
            tx = await event(h, "WEBRTC_OFFER", {"callId": call_id}, jsep=await peer.offer())
            msg = await h.wait_event(lambda m: event_name(m) in ("WEBRTC_ANSWER_RECEIVED", "ERROR"),
                                     transaction=tx, timeout=TIMEOUT)
            if event_name(msg) != "WEBRTC_ANSWER_RECEIVED":
                raise RuntimeError(f"WEBRTC_OFFER: {plugin_data(msg)}")
            await peer.accept(msg["jsep"])
        await self._publishers_up()
        await _until(lambda: sum(1 for m in caller.events if event_name(m) == "CALL_STATUS_CHANGED"
                                 and plugin_data(m)["data"].get("status") == "CONNECTED") > 0,
                     "call CONNECTED")
        for h in self.sub_handles:
            peer = RecvPeer()
            self.receivers.append(peer)
            queue = asyncio.Queue()
            h.queue.listeners.append(lambda m, q=queue: q.put_nowait(m)
                                     if event_name(m) == "WEBRTC_OFFER_RECEIVED" else None)
            self.tasks.append(asyncio.create_task(self._answer_offers(h, peer, queue)))
            await event(h, "CALL_SUBSCRIBE", {"callId": call_id})

    async def _answer_offers(self, handle, peer, queue):
        for _ in range(50):   # bounded: a runaway re-offer loop stops here
            msg = await queue.get()
            answer = await peer.answer(msg["jsep"])
            peer.answered()
            await event(handle, "WEBRTC_ANSWER", {"callId": self.call_id}, jsep=answer)

    async def _leave(self):
        try:
            await event(self.pub_handles[0], "CALL_END", {"callId": self.call_id})
            await self.pub_handles[0].wait_event("CALL_ENDED", timeout=5)
        except Exception:  # best effort: destroying the sessions ends the call anyway
            pass


class VideoRoomScenario(Scenario):
    plugin = "janus.plugin.videoroom"

    def __init__(self, client, media, n, tag, room_options=None):
        super().__init__(client, media, n, tag)
        self.room_options = dict(room_options or {})
        self.room = None
        self.feeds = []

    async def setup(self):
        s = await self.client.create_session()
        self.sessions.append(s)
        self.admin_handle = h = await s.attach(self.plugin)
        created = await h.message({"request": "create", "publishers": self.n + 2, "audiocodec": "opus",
                                   "videocodec": "vp8", **self.room_options})
        if created.get("videoroom") != "created":
            raise RuntimeError(f"create room: {created}")
        self.room = created["room"]
        for i in range(self.n):
            s = await self.client.create_session()
            self.sessions.append(s)
            pub = await s.attach(self.plugin)
            self.pub_handles.append(pub)
            ack = await pub.message({"request": "join", "ptype": "publisher", "room": self.room,
                                     "display": f"{self.tag}u{i}"})
            joined = await pub.wait_event(lambda m: plugin_data(m).get("videoroom") == "joined",
                                          transaction=ack["transaction"], timeout=TIMEOUT)
            self.feeds.append(plugin_data(joined)["id"])
            peer = SendPeer(self.media)
            self.senders.append(peer)
            ack = await pub.message({"request": "publish", "audio": True, "video": True},
                                    jsep=await peer.offer())
            answer = await pub.wait_event(lambda m: "jsep" in m, transaction=ack["transaction"], timeout=TIMEOUT)
            await peer.accept(answer["jsep"])
        await self._publishers_up()
        for i, s in enumerate(self.sessions[1:]):
            sub = await s.attach(self.plugin)
            self.sub_handles.append(sub)
            peer = RecvPeer()
            self.receivers.append(peer)
            streams = [{"feed": f} for j, f in enumerate(self.feeds) if j != i]
            ack = await sub.message({"request": "join", "ptype": "subscriber", "room": self.room,
                                     "streams": streams})
            offer = await sub.wait_event(lambda m: "jsep" in m, transaction=ack["transaction"], timeout=TIMEOUT)
            answer = await peer.answer(offer["jsep"])
            peer.answered()
            await sub.message({"request": "start"}, jsep=answer)

    async def _leave(self):
        try:
            await self.admin_handle.message({"request": "destroy", "room": self.room}, timeout=5)
        except Exception:  # best effort: destroying the sessions tears the room down anyway
            pass
