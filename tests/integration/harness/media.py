"""Real WebRTC peers (aiortc) that send synthetic media and count what they decode.

    peer = Peer("alice")                       # sends a moving picture (VP8) and a tone (Opus)
    jsep = await peer.offer()                  # publish: offer ...
    await peer.accept(answer_jsep)             # ... and take Janus's answer
    viewer = Peer("bob", audio=False, video=False)   # receive only
    answer = await viewer.answer(offer_jsep)   # subscribe: answer Janus's offer
    await viewer.wait_frames(30, "video", stream="alice-user-id", timeout=10)

Every incoming track is read to the end; decoded frames are counted per
(msid stream id, kind) and per (mid, kind). aiortc 1.4 does not expose a
track's stream id, so it is read from the `a=msid:` line of the track's m-line
in the latest remote SDP (a renegotiation that hands an m-line to another
stream counts its later frames under the new stream id).

No ICE servers are configured (aiortc's default would be Google's STUN server):
candidates are the host addresses of the namespace only.
"""

import asyncio
import fractions
import re
import time
from collections import Counter

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, VideoFrame


def _quiet_ffmpeg():
    """FFmpeg's encoders print statistics when they close (libx264's at the end of
    every call). aiortc hands FFmpeg's log back to FFmpeg's own printer, so set
    FFmpeg's level directly: errors only."""
    import ctypes
    import ctypes.util
    try:
        ctypes.CDLL(ctypes.util.find_library("avutil") or "libavutil.so").av_log_set_level(16)  # AV_LOG_ERROR
    except OSError:
        pass


_quiet_ffmpeg()

TIMEOUT = 10.0


class MovingPictureTrack(VideoStreamTrack):
    """30 fps frames whose content changes every frame (a sliding gradient whose
    colour drifts), so the VP8 encoder sends real, non-trivial frames."""

    def __init__(self, width=320, height=240):
        super().__init__()
        x = np.linspace(0, 255, width * 2, dtype=np.float32)
        self._ramp = np.tile(x, (height, 1))
        self._width = width
        self._n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        shift = (self._n * 4) % self._width
        band = self._ramp[:, shift:shift + self._width]
        img = np.stack([band, np.full_like(band, (self._n * 3) % 256), 255 - band], axis=2)
        self._n += 1
        frame = VideoFrame.from_ndarray(img.astype(np.uint8), format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz sine, 48 kHz mono, in 20 ms frames paced in real time."""

    kind = "audio"
    RATE, SAMPLES = 48000, 960

    def __init__(self, hz=440.0):
        super().__init__()
        self._hz, self._pts, self._start = hz, 0, None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += self.SAMPLES
            await asyncio.sleep(self._start + self._pts / self.RATE - time.monotonic())
        t = (self._pts + np.arange(self.SAMPLES)) / self.RATE
        pcm = (np.sin(2 * np.pi * self._hz * t) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = self.RATE, self._pts
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame


def sdp_media(sdp: str) -> dict:
    """{mid: {"stream": msid stream id, "ssrc": main SSRC}} for each m-line of an SDP
    (a key is missing when the m-line has no such line, e.g. when inactive)."""
    out = {}
    for section in re.split(r"\r?\nm=", sdp)[1:]:
        mid = re.search(r"^a=mid:(\S+)", section, re.M)
        if not mid:
            continue
        info = out[mid.group(1)] = {}
        msid = (re.search(r"^a=msid:(\S+)", section, re.M)
                or re.search(r"^a=ssrc:\d+ msid:(\S+)", section, re.M))
        ssrc = (re.search(r"^a=ssrc-group:FID (\d+)", section, re.M)
                or re.search(r"^a=ssrc:(\d+)", section, re.M))
        if msid:
            info["stream"] = msid.group(1)
        if ssrc:
            info["ssrc"] = int(ssrc.group(1))
    return out


class Peer:
    """One RTCPeerConnection. `audio` / `video`: whether to send a tone / a moving
    picture (both False: receive only). Counts everything it receives."""

    def __init__(self, name="peer", audio=True, video=True):
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames_by_stream = Counter()  # (stream id, kind) -> decoded frames
        self.frames_by_mid = Counter()     # (mid, kind) -> decoded frames
        self.video_size = {}               # stream id -> (width, height) of its last frame
        self.tracks = []                   # (mid, track) in arrival order
        self.streams = {}                  # mid -> msid stream id, from the remote SDP
        self.ssrcs = {}                    # mid -> main SSRC, from the remote SDP
        self._readers = []
        if audio:
            self.pc.addTrack(ToneTrack())
        if video:
            self.pc.addTrack(MovingPictureTrack())
        self.pc.on("track", self._on_track)

    # --- signaling -----------------------------------------------------------

    def _jsep(self):
        d = self.pc.localDescription
        return {"type": d.type, "sdp": d.sdp}

    async def offer(self) -> dict:
        """Create an offer; returned once ICE gathering is done (candidates in the SDP)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._jsep()

    async def accept(self, answer: dict):
        """Take the remote answer to our offer."""
        await self._set_remote(answer)

    async def answer(self, offer: dict) -> dict:
        """Take a remote offer (e.g. a subscription) and return our answer."""
        await self._set_remote(offer)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._jsep()

    async def _set_remote(self, jsep):
        assert jsep and jsep.get("sdp"), f"{self.name}: expected a jsep with an SDP, got {jsep!r}"
        media = sdp_media(jsep["sdp"])
        self.streams.update({mid: m["stream"] for mid, m in media.items() if "stream" in m})
        self.ssrcs.update({mid: m["ssrc"] for mid, m in media.items() if "ssrc" in m})
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))
        self._follow_ssrcs(media)

    def _follow_ssrcs(self, media):
        """aiortc 1.4 routes incoming RTP by SSRC, learnt once when a receiver starts:
        when the remote side reuses an m-line (inactive, then active again) with a new
        SSRC, its packets would be dropped. Point the new SSRC at the receiver."""
        for t in self.pc.getTransceivers():
            ssrc = media.get(t.mid, {}).get("ssrc")
            transport = t.receiver.transport
            if ssrc and transport is not None:
                transport._rtp_router.ssrc_table[ssrc] = t.receiver

    def bind(self, handle):
        """Feed the Janus `trickle` messages pushed on `handle` to this peer. Janus
        puts its candidates in the SDP unless it runs in full-trickle mode (-f); its
        trickled candidates carry only sdpMLineIndex, which aiortc's addIceCandidate
        silently ignores, so they go straight to the (bundled) ICE transport."""

        def on_msg(msg):
            c = msg.get("candidate") if msg.get("janus") == "trickle" else None
            if c is not None:
                cand = None if c.get("completed") else candidate_from_sdp(c["candidate"].split(":", 1)[1])
                asyncio.ensure_future(self._ice().addRemoteCandidate(cand))

        handle.queue.listeners.append(on_msg)

    def _ice(self):
        return self.pc.getTransceivers()[0].receiver.transport.transport

    def remote_candidates(self) -> list:
        """The remote (Janus) candidate addresses aiortc knows of."""
        return [c.ip for c in self._ice().getRemoteCandidates()]

    # --- receiving -------------------------------------------------------------

    def _on_track(self, track):
        mid = next((t.mid for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        self.tracks.append((mid, track))
        self._readers.append(asyncio.ensure_future(self._read(mid, track)))

    async def _read(self, mid, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            stream = self.streams.get(mid, f"mid:{mid}")
            self.frames_by_stream[(stream, track.kind)] += 1
            self.frames_by_mid[(mid, track.kind)] += 1
            if track.kind == "video":
                self.video_size[stream] = (frame.width, frame.height)

    def frames(self, kind="video", stream=None, mid=None) -> int:
        """Decoded frames of `kind`, from one stream id or one mid, or in all."""
        if mid is not None:
            return self.frames_by_mid[(mid, kind)]
        return sum(n for (s, k), n in self.frames_by_stream.items()
                   if k == kind and stream in (None, s))

    def report(self) -> str:
        per_mid = {f"{mid}/{kind}/{self.streams.get(mid)}": n for (mid, kind), n in self.frames_by_mid.items()}
        return (f"{self.name}: connection={self.pc.connectionState} ice={self.pc.iceConnectionState}"
                f" frames by mid/kind/stream={per_mid} tracks={[(m, t.kind) for m, t in self.tracks]}")

    async def request_keyframe(self, mid):
        """Send a PLI for what arrives on `mid`, as a browser's decoder would. aiortc
        itself never asks for a key frame when a stream starts (only after losses),
        and its VP8 encoder makes one every 3000 frames: a receiver that joins a
        running stream decodes nothing until a key frame comes."""
        t = next(t for t in self.pc.getTransceivers() if t.mid == mid)
        assert mid in self.ssrcs, f"{self.name}: the remote SDP names no SSRC for mid {mid}"
        await t.receiver._send_rtcp_pli(self.ssrcs[mid])

    # --- waiting ---------------------------------------------------------------

    async def wait_connected(self, timeout=TIMEOUT):
        """ICE connected and DTLS established."""
        await self._poll(lambda: self.pc.connectionState == "connected",
                         f"connection within {timeout} s", timeout)

    async def wait_frames(self, n, kind="video", stream=None, mid=None, timeout=TIMEOUT) -> int:
        """Wait until more than `n` frames of `kind` were decoded (from `stream`/`mid`)."""
        what = f"> {n} {kind} frames" + (f" of stream {stream}" if stream else "") + \
               (f" on mid {mid}" if mid is not None else "") + f" within {timeout} s"
        await self._poll(lambda: self.frames(kind, stream, mid) > n, what, timeout)
        return self.frames(kind, stream, mid)

    async def _poll(self, ok, what, timeout):
        deadline = time.monotonic() + timeout
        while not ok():
            if self.pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {what}; {self.report()}")
            await asyncio.sleep(0.05)

    async def close(self):
        await self.pc.close()
        for r in self._readers:
            r.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
