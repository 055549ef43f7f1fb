"""Collect what Janus's event handlers send: a small HTTP server for the stock
sample event handler (libjanus_sampleevh.so), which POSTs JSON events.

    with EventSink() as sink:
        server = janus_factory(plugins=["calls"], event_handlers=sink.sampleevh())
        ...
        ev = await sink.wait(lambda e: e["type"] == 64 and e["event"]["plugin"] == "janus.plugin.calls")

Janus event types: 1 session, 2 handle, 8 jsep, 16 webrtc, 32 media, 64 plugin,
128 transport, 256 core.
"""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class EventSink:
    def __init__(self):
        self.events = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sink.events.extend(body if isinstance(body, list) else [body])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sampleevh(self, events="all") -> dict:
        """The `event_handlers` argument of JanusServer that sends events here."""
        return {"sampleevh": {"general": {"enabled": True, "events": events, "grouping": False,
                                          "json": "plain", "backend": self.url}}}

    async def wait(self, match, timeout=10.0) -> dict:
        """The first collected event for which match(event) is true."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in list(self.events) if match(e)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                seen = "\n  ".join(json.dumps(e)[:160] for e in self.events) or "(nothing)"
                raise AssertionError(f"no event handler event matching {getattr(match, '__name__', match)}"
                                     f" within {timeout} s; received:\n  {seen}")
            await asyncio.sleep(0.05)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
