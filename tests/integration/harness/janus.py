"""A real Janus process with a private configuration, for integration tests.

JanusServer writes everything Janus reads into its own work directory:

    <workdir>/conf/        janus.jcfg, janus.transport.websockets.jcfg, plugin jcfgs
    <workdir>/plugins/     symlinks to the plugin .so files asked for, nothing else
    <workdir>/transports/  a symlink to libjanus_websockets.so only
    <workdir>/events/      event handler symlinks, only when asked for
    <workdir>/data/        free for the plugins (e.g. the SQLite file); kept across restart()
    <workdir>/janus.log    Janus's log (-L); janus.stderr gets what Janus prints itself

With data_tmpfs="8m", Janus runs in a mount namespace of its own (unshare) where
<workdir>/data is a private tmpfs of that size: the tests can fill it, or mount
something over it, with in_mount_ns() (nsenter) without touching the machine's
mounts; data_file() reaches a file in it from outside (/proc/<pid>/root/...).
That tmpfs lives as long as this Janus process: a restart starts an empty one.

Janus gathers ICE candidates on interface `va` only (-E va): run inside the
network namespace made by run.sh (see tests/integration/README.md). Janus never
gathers on loopback, and without `va` it would fall back to the machine's real
interfaces, so start() refuses to run when `va` is missing.
"""

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

JANUS_BIN = "/usr/bin/janus"
STOCK_PLUGINS = Path("/usr/lib/x86_64-linux-gnu/janus/plugins")
STOCK_TRANSPORTS = Path("/usr/lib/x86_64-linux-gnu/janus/transports")
STOCK_EVENTS = Path("/usr/lib/x86_64-linux-gnu/janus/events")
REPO = Path(__file__).resolve().parents[3]
ICE_INTERFACE = "va"
# Janus under a slow tool (CALLS_JANUS_WRAPPER=valgrind ...) needs longer to start and stop
TIMEOUT_SCALE = float(os.environ.get("CALLS_TIMEOUT_SCALE", "1"))

_instances = itertools.count()


def calls_plugin_so() -> Path:
    """The plugin under test: $CALLS_PLUGIN_SO, else the libtool build output."""
    return Path(os.environ.get("CALLS_PLUGIN_SO", REPO / "build" / ".libs" / "libjanus_calls.so"))


def plugin_path(short: str) -> Path:
    """'calls' is the plugin under test; any other name ('videoroom', 'echotest', ...)
    is a stock Debian plugin."""
    path = calls_plugin_so() if short == "calls" else STOCK_PLUGINS / f"libjanus_{short}.so"
    if not path.is_file():
        hint = " (build the plugin, or set CALLS_PLUGIN_SO)" if short == "calls" else ""
        raise FileNotFoundError(f"plugin {short!r}: no file {path}{hint}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_jcfg(sections: dict) -> str:
    """Render {section: {key: value}} as libconfig text (Janus's .jcfg format)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)  # a JSON string is a valid libconfig string
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{\n" + body(v, "\t\t") + "\t}"
        raise TypeError(f"cannot write {v!r} into a jcfg")

    def body(d, indent):
        return "".join(f"{indent}{k} = {value(v)}\n" for k, v in d.items())

    return "".join(f"{name}: {{\n{body(keys, chr(9))}}}\n" for name, keys in sections.items())


class JanusServer:
    """One Janus process. `plugins`: short names ('calls', 'videoroom', 'echotest';
    'janus.plugin.' may be prefixed) of the only plugins it loads. `configs` maps a config name ('janus.plugin.calls') to
    jcfg text or a {section: {key: value}} dict; the string '{data_dir}' in it is
    replaced by this server's data directory. `event_handlers` maps an event
    handler's short name ('sampleevh') to its config (text or dict); event
    broadcasting is off unless some are given. `stun`: (host, port) of a STUN server,
    written as `nat: { stun_server, stun_port }` (Janus asks it once at start-up and
    does not start when it gets no answer within 5 s; see harness/stun.py); none by
    default."""

    def __init__(self, plugins=("calls",), configs=None, event_handlers=None,
                 workdir=None, debug_level=4, session_timeout=60, extra_args=(), stun=None,
                 data_tmpfs=None):
        short_names = [p.removeprefix("janus.plugin.") for p in plugins]
        self.plugins = {short: plugin_path(short) for short in short_names}
        self.configs = dict(configs or {})
        self.event_handlers = dict(event_handlers or {})
        self.debug_level = debug_level
        self.session_timeout = session_timeout
        self.extra_args = list(extra_args)
        self.stun = stun
        self.data_tmpfs = data_tmpfs  # a tmpfs size ("8m"): see the module's docstring
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="janus-it-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "janus.log"
        self.stderr_path = self.workdir / "janus.stderr"
        self.ws_port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.ws_port:
            self.admin_port = free_port()
        self.admin_secret = "admin-" + os.urandom(6).hex()
        n = next(_instances) % 20  # each instance of a run gets its own RTP ports
        self.rtp_port_range = f"{30000 + n * 1000}-{30000 + n * 1000 + 999}"
        self.proc = None
        self.starts = 0
        self._stop_requested = False

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def admin_url(self) -> str:
        return f"ws://127.0.0.1:{self.admin_port}"

    # --- configuration -----------------------------------------------------

    def _write_config(self):
        conf, plugins, transports, events, loggers = (
            self.workdir / d for d in ("conf", "plugins", "transports", "events", "loggers"))
        for d in (conf, plugins, transports, events, loggers, self.data_dir):
            d.mkdir(exist_ok=True)
        for d in (plugins, transports, events):
            for link in d.iterdir():
                link.unlink()
        for short, so in self.plugins.items():
            (plugins / f"libjanus_{short}.so").symlink_to(so)
        (transports / "libjanus_websockets.so").symlink_to(STOCK_TRANSPORTS / "libjanus_websockets.so")
        for name in self.event_handlers:
            so = STOCK_EVENTS / f"libjanus_{name}.so"
            if not so.is_file():
                raise FileNotFoundError(f"event handler {name!r}: no file {so}")
            (events / so.name).symlink_to(so)

        core = {
            "general": {
                "configs_folder": str(conf), "plugins_folder": str(plugins),
                "transports_folder": str(transports), "events_folder": str(events),
                "loggers_folder": str(loggers), "debug_level": self.debug_level,
                "admin_secret": self.admin_secret, "session_timeout": self.session_timeout,
                "server_name": f"it-{os.getpid()}",
            },
            "media": {"rtp_port_range": self.rtp_port_range},
            "nat": {"ice_enforce_list": ICE_INTERFACE, "nice_debug": False},
            "events": {"broadcast": bool(self.event_handlers)},
        }
        if self.stun:
            core["nat"].update(stun_server=str(self.stun[0]), stun_port=int(self.stun[1]))
        ws = {
            "general": {"json": "plain", "ws": True, "ws_port": self.ws_port, "ws_ip": "127.0.0.1"},
            "admin": {"admin_ws": True, "admin_ws_port": self.admin_port, "admin_ws_ip": "127.0.0.1"},
        }
        # An empty config for each plugin not given one: Janus logs [ERR] lines otherwise.
        plugin_cfgs = {f"janus.plugin.{short}": {"general": {}} for short in self.plugins}
        files = {"janus": core, "janus.transport.websockets": ws, **plugin_cfgs, **self.configs}
        files.update({f"janus.eventhandler.{k}": v for k, v in self.event_handlers.items()})
        for name, cfg in files.items():
            text = cfg if isinstance(cfg, str) else to_jcfg(cfg)
            (conf / f"{name}.jcfg").write_text(text.replace("{data_dir}", str(self.data_dir)))

    # --- process -----------------------------------------------------------

    def start(self, timeout: float = 15.0):
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("Janus is already running")
        if not Path(f"/sys/class/net/{ICE_INTERFACE}").exists():
            raise RuntimeError(
                f"no network interface {ICE_INTERFACE!r}: Janus would gather candidates on the "
                "machine's real interfaces. Run the tests through tests/integration/run.sh.")
        self._write_config()
        self._stop_requested = False
        # CALLS_JANUS_WRAPPER runs Janus under a tool, e.g. "valgrind --leak-check=full --log-file=..."
        wrapper = os.environ.get("CALLS_JANUS_WRAPPER", "").split()
        cmd = [*wrapper, JANUS_BIN, "-F", str(self.workdir / "conf"), "-P", str(self.workdir / "plugins"),
               "-E", ICE_INTERFACE, "-r", self.rtp_port_range, "-L", str(self.log_path),
               "-N", "-o", "-D", "-d", str(self.debug_level), *self.extra_args]
        if self.data_tmpfs:
            # unshare and sh exec into Janus: self.proc.pid is Janus, in its own mount namespace
            mount = ('mount -t tmpfs -o size="$1",mode=0700 calls-data "$2" || exit 97; '
                     'shift 2; exec "$@"')
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh",
                   str(self.data_tmpfs), str(self.data_dir), *cmd]
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"\n===== harness: start #{self.starts}: {' '.join(cmd)}\n")
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         cwd=self.workdir)
        try:
            self.info = self._wait_ready(timeout * TIMEOUT_SCALE)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Janus exited with code {self.proc.returncode} while starting\n"
                                   + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.ws_port), timeout=0.5).close()
                return self._info(max(1.0, deadline - time.monotonic()))
            except (OSError, asyncio.TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Janus did not answer `info` on {self.url} within {timeout} s\n"
                                   + self.log_tail())
            time.sleep(0.1)

    def _info(self, timeout):
        """Ask `info` over the WebSocket API; run in a thread so this also works from
        inside a running event loop (an async test)."""
        from .client import JanusClient

        async def ask():
            async with await JanusClient.connect(self.url, timeout=timeout) as c:
                return await c.info(timeout=timeout)

        result = {}

        def run():
            try:
                result["info"] = asyncio.run(ask())
            except BaseException as e:  # handed to the caller's thread
                result["error"] = e

        t = threading.Thread(target=run)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["info"]

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def died(self) -> bool:
        """Janus exited without being asked to (a crash, an abort)."""
        return self.proc is not None and self.proc.poll() is not None and not self._stop_requested

    def stop(self, timeout: float = 10.0):
        """SIGTERM, then SIGKILL after `timeout`. Returns Janus's exit code
        (negative: killed by that signal)."""
        if self.proc is None:
            return None
        self._stop_requested = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout * TIMEOUT_SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                with open(self.log_path, "a") as log:
                    log.write(f"\n===== harness: no exit {timeout} s after SIGTERM, SIGKILL sent\n")
        return self.proc.returncode

    def kill(self, sig=signal.SIGKILL):
        """Kill Janus at once with `sig` (a crash: `kill -9`), without waiting for it to
        end cleanly; the test does not count it as Janus dying on its own. Returns the
        exit code (-sig). Safe to call from an asyncio callback: the wait after SIGKILL
        is short."""
        if self.proc is None:
            return None
        self._stop_requested = True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait()
            with open(self.log_path, "a") as log:
                log.write(f"\n===== harness: killed with signal {int(sig)}\n")
        return self.proc.returncode

    def rss_kib(self) -> int:
        """Janus's resident memory now (VmRSS of /proc/<pid>/status), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/<pid>/status")

    def data_file(self, name: str) -> Path:
        """The path, from the test's side, of file `name` in Janus's data dir: through
        /proc/<pid>/root when the data dir is Janus's private tmpfs (data_tmpfs).
        Fine for os.stat and open(); not for SQLite, which resolves the /proc/<pid>/root
        link to "/" and so opens the file of that name outside the tmpfs: run a
        SQLite reader in the namespace instead (in_mount_ns, popen_in_mount_ns)."""
        if self.data_tmpfs:
            if not self.running():
                raise RuntimeError("the private tmpfs went away with Janus")
            return Path(f"/proc/{self.proc.pid}/root") / self.data_dir.relative_to("/") / name
        return self.data_dir / name

    def in_mount_ns(self, *cmd, check=True, timeout=30) -> subprocess.CompletedProcess:
        """Run `cmd` in Janus's mount namespace (nsenter), e.g. to mount something over
        the data dir or fill its tmpfs; output captured as text. `check`: fail on a
        non-zero exit, showing its output."""
        if not self.running():
            raise RuntimeError("Janus is not running")
        done = subprocess.run(["nsenter", "--target", str(self.proc.pid), "--mount", "--", *cmd],
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in Janus's mount namespace: exit {done.returncode}\n"
                               f"{done.stdout}{done.stderr}")
        return done

    def popen_in_mount_ns(self, *cmd, **popen_args) -> subprocess.Popen:
        """Start `cmd` in Janus's mount namespace (nsenter) and return it running, e.g. a
        process that holds a lock on the history until told to let go."""
        if not self.running():
            raise RuntimeError("Janus is not running")
        return subprocess.Popen(["nsenter", "--target", str(self.proc.pid), "--mount", "--", *cmd],
                                **popen_args)

    def fail_syscall(self, syscall="pwrite64", error="EROFS", timeout=10.0) -> subprocess.Popen:
        """From now on every `syscall` of Janus (all its threads) fails with `error`:
        strace attaches and injects the error (the kernel's answer to a write on a file
        system that went read-only under an open file). Stop it with
        stop_failing(proc). Every thread is traced while it runs, which slows Janus."""
        if not self.running():
            raise RuntimeError("Janus is not running")
        proc = subprocess.Popen(["strace", "-qq", "-f", "-p", str(self.proc.pid), "-o", "/dev/null",
                                 "-e", f"trace={syscall}", "-e", f"inject={syscall}:error={error}"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not self._all_traced():
            if proc.poll() is not None:
                raise RuntimeError(f"strace exited with {proc.returncode}: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                self.stop_failing(proc)
                raise TimeoutError(f"strace did not attach to every thread of Janus within {timeout} s")
            time.sleep(0.05)
        return proc

    def _all_traced(self) -> bool:
        tasks = Path(f"/proc/{self.proc.pid}/task")
        for task in tasks.iterdir():
            try:
                status = (task / "status").read_text()
            except FileNotFoundError:  # a thread that just ended
                continue
            tracer = next(line.split()[1] for line in status.splitlines() if line.startswith("TracerPid:"))
            if tracer == "0":
                return False
        return True

    @staticmethod
    def stop_failing(proc: subprocess.Popen):
        """Detach strace (see fail_syscall): the syscalls work again."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self, timeout: float = 15.0):
        """Stop and start again with the same config, ports and data directory."""
        self.stop()
        return self.start(timeout)

    def log_tail(self, lines: int = 60) -> str:
        out = []
        for p in (self.log_path, self.stderr_path):
            if p.exists():
                tail = p.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- last {len(tail)} lines of {p}:\n" + "\n".join(tail))
        return "\n".join(out)

    def __enter__(self):
        return self.start() if not self.running() else self

    def __exit__(self, *exc):
        self.stop()
