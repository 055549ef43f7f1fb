"""The plugin's configuration as an operator meets it (README, Configuration): JWT mode
without a key refuses to start with a clear message while Janus keeps running; a
bad value is named in the log and the default kept (checked by behaviour too).

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import pytest

from calls_helpers import PLUGIN, User, assert_refused, calls_config, uid
from calls_helpers import every_event_checked  # noqa: F401 (autouse: checks every event)
from harness.client import JanusError


def log_text(server) -> str:
    return server.log_path.read_text(errors="replace")


@pytest.mark.parametrize("general", [
    {"db_path": "{data_dir}/calls.db"},                                  # auth defaults to jwt
    {"auth": "jwt", "db_path": "{data_dir}/calls.db"},
    {"auth": "jwt", "jwt_secret": "", "db_path": "{data_dir}/calls.db"},
], ids=["default-auth", "explicit-jwt", "empty-secret"])
async def test_jwt_without_a_key_refuses_to_start(janus_factory, connect, general):
    server = janus_factory(plugins=["calls", "echotest"], configs={PLUGIN: {"general": general}})
    # Janus runs, without our plugin: `info` does not list it, attaching to it fails
    assert PLUGIN not in server.info["plugins"] and "janus.plugin.echotest" in server.info["plugins"]
    client = await connect(server)
    session = await client.create_session()
    with pytest.raises(JanusError) as err:
        await session.attach(PLUGIN)
    assert err.value.code == 460   # JANUS_ERROR_PLUGIN_NOT_FOUND
    await session.attach("janus.plugin.echotest")
    log = log_text(server)
    assert "[calls] cannot start" in log and "jwt_secret" in log and 'auth = "open"' in log, server.log_tail()
    assert server.running()


async def test_the_sample_placeholder_secret_is_refused(janus_factory):
    server = janus_factory(configs={PLUGIN: {"general": {"jwt_secret": "change-me",
                                                         "db_path": "{data_dir}/calls.db"}}})
    assert PLUGIN not in server.info["plugins"]
    assert "change-me" in log_text(server) and "placeholder" in log_text(server)


@pytest.mark.parametrize("auth", ["jwt", "open"])
async def test_a_short_hs256_secret_is_refused(janus_factory, connect, auth):
    """An HS256 secret under 32 bytes can be guessed offline from one token: the plugin does
    not start (in open mode too, where the secret would verify tokens), the log says why,
    and Janus goes on with its other plugins."""
    secret = "0123456789abcdef0123456789abcde"   # 31 bytes
    server = janus_factory(plugins=["calls", "echotest"],
                           configs={PLUGIN: {"general": {"auth": auth, "jwt_secret": secret,
                                                         "db_path": "{data_dir}/calls.db"}}})
    assert PLUGIN not in server.info["plugins"] and "janus.plugin.echotest" in server.info["plugins"]
    session = await (await connect(server)).create_session()
    with pytest.raises(JanusError) as err:
        await session.attach(PLUGIN)
    assert err.value.code == 460
    await session.attach("janus.plugin.echotest")
    line = next((ln for ln in log_text(server).splitlines() if "[calls] cannot start" in ln), None)
    assert line is not None, server.log_tail()
    assert "jwt_secret is 31 bytes long" in line and "at least 32 bytes" in line, line
    assert secret not in log_text(server)   # the secret itself is never logged
    assert server.running()


async def test_bad_values_are_named_and_defaults_kept(janus_factory, connect):
    server = janus_factory(configs=calls_config(ring_timeout="soon", connect_timeout=-5, max_participants="many",
                                                presence="maybe", videocodec="vp7", max_live_calls=1.5,
                                                ring_timout=3, **{"Max-Participants": 3}))
    assert PLUGIN in server.info["plugins"]
    log = log_text(server)
    for key, value in (("ring_timeout", "soon"), ("connect_timeout", "-5"), ("max_participants", "many"),
                       ("presence", "maybe"), ("videocodec", "vp7"), ("max_live_calls", "1.5")):
        line = next((ln for ln in log.splitlines() if f"for {key}:" in ln or f"for {key} (" in ln), None)
        assert line is not None, f"no log line names {key}:\n{server.log_tail()}"
        assert value in line and "keeping" in line, line
    typo = next(ln for ln in log.splitlines() if 'unknown key "ring_timout"' in ln)
    assert "ignored" in typo and "ring_timeout" in typo, typo
    assert 'unknown key "Max-Participants" in section general, ignored: did you mean max_participants?' in log
    settings = next(ln for ln in log.splitlines() if "[calls] settings:" in ln)
    for kept in ("ring_timeout=45s", "connect_timeout=30s", "max_participants=16", "presence=false",
                 "videocodec=vp8", "max_live_calls=1000"):
        assert kept in settings, settings

    # The defaults at work: 16 participants per call, presence off
    client = await connect(server)
    alice = await User.create(client, "alice")
    too_many = [uid(f"p{i}") for i in range(16)]
    assert_refused(await alice.route("POST /calls", body={"participantIds": too_many, "type": "AUDIO"}),
                   "LIMIT_EXCEEDED", "16")
    body = await alice.ok("POST /calls", body={"participantIds": too_many[:15], "type": "AUDIO"}, status=201)
    assert len(body["call"]["participants"]) == 16
    assert_refused(await alice.route("GET /users/online"), "UNSUPPORTED", "presence")
    await alice.ok(f"POST /calls/{body['call']['id']}/end")
