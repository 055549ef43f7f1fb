"""Fixtures for the integration tests (run them through run.sh; see README.md).

- janus_factory / janus_module_factory: start Janus servers, stopped at the end of
  the test / module. A server that died on its own, or that does not exit
  cleanly on SIGTERM, fails the test; a failed test shows the end of the log.
- connect: open Janus API clients (closed, their sessions destroyed, at the end).
- admin: open Admin API clients.
- peers: make aiortc peers (closed at the end).
- event_sink: an HTTP sink for the sample event handler (harness/events.py).

Async tests and fixtures run under pytest-asyncio (asyncio_mode = auto in pytest.ini).
"""

import os
import signal

import pytest

from harness.client import AdminClient, JanusClient
from harness.events import EventSink
from harness.janus import JanusServer
from harness.media import Peer

NAMESPACE_LINKS = {"lo", "va", "vb"}


@pytest.fixture(scope="session", autouse=True)
def inside_test_namespace():
    """Refuse to run anywhere but in run.sh's namespace: elsewhere the peers would
    gather candidates on (and send media to) the machine's real interfaces."""
    links = set(os.listdir("/sys/class/net"))
    if links != NAMESPACE_LINKS:
        pytest.exit(f"network interfaces here are {sorted(links)}, expected exactly "
                    f"{sorted(NAMESPACE_LINKS)}: run the tests through tests/integration/run.sh",
                    returncode=2)


def pytest_configure(config):
    """SIGTERM (run.sh's cleanup, a CI timeout) stops the run like Ctrl-C, so the
    fixtures still stop and reap the Janus processes."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


class JanusFactory:
    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.servers = []

    def __call__(self, plugins=("calls",), **kwargs) -> JanusServer:
        """Start a Janus: see JanusServer for the arguments."""
        server = JanusServer(plugins, workdir=self.tmp.mktemp("janus"), **kwargs)
        self.servers.append(server)
        return server.start()

    def finish(self, show_logs: bool):
        problems = []
        for s in self.servers:
            if s.died():
                problems.append(f"Janus ({s.workdir}) died during the test, exit code {s.proc.returncode}")
            elif s.running():
                code = s.stop()
                if code != 0:
                    problems.append(f"Janus ({s.workdir}) exited with code {code} when stopped, not 0")
        if problems or show_logs:
            for s in self.servers:
                print(s.log_tail())
        assert not problems, "\n".join(problems)


def _failed(node) -> bool:
    return any(getattr(node, f"rep_{w}", None) and getattr(node, f"rep_{w}").failed
               for w in ("setup", "call"))


@pytest.fixture
def janus_factory(request, tmp_path_factory):
    factory = JanusFactory(tmp_path_factory)
    yield factory
    factory.finish(show_logs=_failed(request.node))


@pytest.fixture(scope="module")
def janus_module_factory(tmp_path_factory):
    """Like janus_factory, for servers shared by the tests of one module."""
    factory = JanusFactory(tmp_path_factory)
    yield factory
    factory.finish(show_logs=False)


@pytest.fixture
async def connect():
    """connect(server) -> a connected JanusClient."""
    clients = []

    async def _connect(server) -> JanusClient:
        client = await JanusClient.connect(server.url)
        clients.append(client)
        return client

    yield _connect
    for c in clients:
        for s in list(c.sessions.values()):
            try:
                await s.destroy(timeout=2)
            except Exception:  # Janus may be gone already; we are only tidying up
                pass
        await c.close()


@pytest.fixture
async def admin():
    """admin(server) -> a connected AdminClient."""
    clients = []

    async def _admin(server) -> AdminClient:
        client = await AdminClient.connect(server.admin_url, server.admin_secret)
        clients.append(client)
        return client

    yield _admin
    for c in clients:
        await c.close()


@pytest.fixture
async def peers():
    """peers(name, audio=True, video=True) -> a Peer, closed at the end of the test."""
    made = []

    def _peer(name="peer", audio=True, video=True) -> Peer:
        made.append(Peer(name, audio, video))
        return made[-1]

    yield _peer
    for p in made:
        await p.close()


@pytest.fixture
def event_sink():
    with EventSink() as sink:
        yield sink
