"""Nothing slow on the plugin's worker, nothing waiting for the worker inside a Janus
callback (issue 9, item 1), seen as users see it:

- a join storm: with a STUN server in janus.jcfg that answers late (harness/stun.py),
  Janus waits for it while it gathers candidates of each new PeerConnection, inside
  push_event with an SDP. While N people join one call at once (each publishes and
  subscribes), an unrelated user's synchronous route (`GET /calls/active`) must
  still answer, correctly and without waiting for the joiners' PeerConnections;
- Admin API `handle_info` in a loop on a handle while its user re-publishes in a
  loop: Janus holds the handle's mutex while it asks the plugin (query_session),
  and the plugin's push of the SDP answer for that handle needs the same mutex.
  Every admin answer, every publish answer must arrive, and Janus must still answer.

The STUN server listens on 10.99.0.1 (`va`, where Janus gathers): libnice's requests
reach it there (see harness/stun.py).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import os
import threading
import time

import pytest

from harness.client import JanusClient, event, event_name, plugin_data, register, route
from harness.stun import StunServer
from media_helpers import calls_config, for_aiortc, party  # noqa: F401 (party: a fixture)

STUN_HOST = "10.99.0.1"
STUN_DELAY = 0.5        # s: each Binding request answered that late (a far or busy STUN server)
PROBE_BOUND = 1.0       # s: a synchronous route answering later than that is broken for its user
PROBE_PAUSE = 0.02      # s between two probes
PROBE_MAX = 3000        # probes at most (the loop is bounded in count and in time)
STORM_TIMEOUT = 90.0    # s for every joiner to publish and see everybody else
REPUBLISH_ROUNDS = 60    # the deadlock on today's plugin came after 1 to 20 rounds
ADMIN_MAX = 5000        # handle_info requests at most
ADMIN_POLLERS = 4       # handle_info loops at once


class Probe:
    """An unrelated registered user asking `GET /calls/active` again and again, from a
    thread with its own event loop and its own WebSocket (so the test's aiortc peers do
    not delay it). `samples`: (monotonic start, seconds to answer, answer or error)."""

    def __init__(self, url, user_id="probe"):
        self.url, self.user_id = url, user_id
        self.samples = []
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self.error = None

    def start(self):
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="probe", daemon=True)
        self._thread.start()
        assert self.ready.wait(15), f"the probe did not register: {self.error!r}"
        assert self.error is None, f"the probe did not start: {self.error!r}"
        return self

    async def _main(self):
        try:
            client = await JanusClient.connect(self.url)
            session = await client.create_session()
            handle = await session.attach("janus.plugin.calls")
            reply = await register(handle, userId=self.user_id, userName="Probe")
            assert reply.get("status") == 200, reply
        except BaseException as e:  # handed to start()
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        deadline = time.monotonic() + 300
        try:
            while not self._stop.is_set() and len(self.samples) < PROBE_MAX and time.monotonic() < deadline:
                t0 = time.monotonic()
                try:
                    answer = await route(handle, "GET /calls/active", timeout=10)
                except Exception as e:  # a timeout, a Janus error: what the user would see
                    answer = e
                self.samples.append((t0, time.monotonic() - t0, answer))
                await asyncio.sleep(PROBE_PAUSE)
        finally:
            await client.close()

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the probe did not stop"

    def problems(self) -> list:
        """Probes that failed, answered wrong, or later than PROBE_BOUND."""
        bad = []
        for t0, took, answer in self.samples:
            if isinstance(answer, Exception):
                bad.append(f"{took:.3f} s: {answer!r}"[:200])
            elif answer != {"status": 200, "body": {"calls": [], "page": 1, "limit": 10, "total": 0}}:
                bad.append(f"{took:.3f} s: wrong answer {answer}"[:300])
            elif took > PROBE_BOUND:
                bad.append(f"{took:.3f} s to answer")
        return bad

    def summary(self) -> str:
        took = sorted(s[1] for s in self.samples)
        if not took:
            return "no probe"
        return (f"{len(took)} probes, p50 {took[len(took) // 2] * 1000:.1f} ms, "
                f"max {took[-1] * 1000:.1f} ms")


def storm_sizes():
    """6 people; 16 too unless CALLS_STALL_SMALL=1 (a slow machine)."""
    return [6] if os.environ.get("CALLS_STALL_SMALL") == "1" else [6, 16]


@pytest.mark.parametrize("people", storm_sizes())
async def test_join_storm_with_late_stun_server(janus_factory, party, people):
    stun = StunServer(STUN_HOST, delay=STUN_DELAY).start()
    try:
        # (the probe asks every 10 ms, faster than a handle's default rate: the
        # rate limit has tests of its own, test_api_limits.py)
        party.server = janus_factory(configs=calls_config(ring_timeout=60, connect_timeout=60,
                                                          max_events_per_second=0),
                                     stun=stun.address)
        party.client = await party.connect(party.server)
        members = await party.users(*[f"user{i:02d}" for i in range(people)])
        call_id = await party.call(members[0], members[1:], "VIDEO")
        probe = Probe(party.server.url).start()
        await asyncio.sleep(0.5)  # a few probes before the storm
        stun_before = stun.answered
        # The storm: 16 people send audio only, so that the test's own aiortc peers stay light
        video = people <= 6

        async def join(p):
            await p.publish(call_id, audio=True, video=video)
            await p.subscribe(call_id)
            expected = {(o.user_id, k) for o in members if o is not p for k in (("audio", "video") if video else ("audio",))}
            await p.wait_streams(expected, timeout=STORM_TIMEOUT)

        started = time.monotonic()
        results = await asyncio.gather(*(join(p) for p in members), return_exceptions=True)
        storm = time.monotonic() - started
        await asyncio.sleep(1.0)  # a few probes after it
        probe.stop()
    finally:
        stun.stop()
    print(f"\njoin storm, {people} people, STUN answering after {STUN_DELAY} s: all joined in {storm:.2f} s; "
          f"{stun} ({stun.answered - stun_before} during the storm); probe: {probe.summary()}")

    assert stun.answered - stun_before >= people, \
        f"Janus asked the STUN server only {stun.answered - stun_before} times for {people} joiners: {stun}"
    assert len(probe.samples) >= 10, f"too few probes to tell: {probe.summary()}"
    bad = probe.problems()
    assert not bad, (f"{len(bad)} of {len(probe.samples)} GET /calls/active answers failed, were wrong or took "
                     f"more than {PROBE_BOUND} s while {people} people joined: {bad[:10]}; {probe.summary()}")
    failed = {p.user_id: repr(r)[:400] for p, r in zip(members, results) if isinstance(r, BaseException)}
    assert not failed, f"joiners that did not publish, subscribe and see everybody: {failed}"
    for p in members:
        assert len(p.seen("WEBRTC_ANSWER_RECEIVED")) == 1, f"{p.user_id}: {p.seen('WEBRTC_ANSWER_RECEIVED')}"
        assert p.offers and all(o["jsep"]["type"] == "offer" for o in p.offers), f"{p.user_id}: {p.offers}"
    party.no_errors()


async def test_admin_handle_info_while_republishing(janus_factory, party, admin):
    await party.start(janus_factory, max_events_per_second=0)   # 60 offers as fast as answered
    alice, bob = await party.users("alice", "bob")
    call_id = await party.call(alice, [bob], "VIDEO")
    await party.media(call_id, alice, bob, video=False)
    adm = await admin(party.server)
    session_id, handle_id = alice.session.id, alice.pub.id
    info = await adm.query_handle(session_id, handle_id)
    assert info["plugin"] == "janus.plugin.calls" and "plugin_specific" in info, info

    done = asyncio.Event()
    answers, admin_errors = [], []

    async def poll():
        """handle_info on alice's publisher handle as fast as answers come, until the
        re-publishing ends (bounded in count; each request waits at most 10 s). Several
        run at once, so that Janus always has one to serve, as busy monitoring would."""
        while not done.is_set() and len(answers) + len(admin_errors) < ADMIN_MAX:
            try:
                answers.append(await adm.query_handle(session_id, handle_id))
            except Exception as e:  # no answer within 10 s, a Janus error
                admin_errors.append(repr(e)[:300])
                if len(admin_errors) >= 3:
                    return
            await asyncio.sleep(0)

    pollers = [asyncio.create_task(poll()) for _ in range(ADMIN_POLLERS)]
    published, publish_error = [], None
    try:
        for n in range(REPUBLISH_ROUNDS):
            # a new offer on alice's publishing PeerConnection: a renegotiation, same handle
            offer = await alice.tx.offer()
            tx = await event(alice.pub, "WEBRTC_OFFER", {"callId": call_id}, jsep=offer)
            try:
                msg = await alice.pub.wait_event(lambda m: event_name(m) in ("WEBRTC_ANSWER_RECEIVED", "ERROR"),
                                                 transaction=tx, timeout=15)
            except AssertionError:
                publish_error = f"round {n}: no answer to WEBRTC_OFFER within 15 s"
                break
            assert event_name(msg) == "WEBRTC_ANSWER_RECEIVED", f"round {n}: {plugin_data(msg)}"
            await alice.tx.accept(for_aiortc(msg["jsep"], offer))
            published.append(n)
            if admin_errors:
                break
    finally:
        done.set()
        await asyncio.wait_for(asyncio.gather(*pollers), 40)
    try:
        info = await party.client.info(timeout=5)
    except AssertionError as e:
        info = e
    print(f"\nhandle_info while re-publishing: {len(published)} publish answers, {len(answers)} admin answers, "
          f"admin errors {admin_errors}, publish error {publish_error}")

    assert not (publish_error or admin_errors), (
        f"Janus stopped answering: publish {publish_error}; handle_info {admin_errors} after {len(answers)} "
        f"answers; `info` afterwards: {info!r}"[:1500])
    assert not admin_errors, f"handle_info failed after {len(answers)} answers: {admin_errors}"
    assert published == list(range(REPUBLISH_ROUNDS)), published
    assert len(answers) >= REPUBLISH_ROUNDS, f"only {len(answers)} handle_info answers during {published} rounds"
    assert all(a.get("plugin") == "janus.plugin.calls" and "plugin_specific" in a for a in answers), \
        [a for a in answers if "plugin_specific" not in a][:3]
    # Janus and the plugin still answer, and alice's media still reaches bob
    assert isinstance(info, dict) and info["janus"] == "server_info", info
    assert (await adm.query_handle(session_id, handle_id))["plugin"] == "janus.plugin.calls"
    reply = await route(bob.pub, "GET /calls/active", timeout=5)
    assert reply["status"] == 200 and [c["id"] for c in reply["body"]["calls"]] == [call_id], reply
    await bob.rx.wait_frames(bob.rx.frames("audio", stream="alice") + 20, "audio", stream="alice", timeout=10)
    party.no_errors()
