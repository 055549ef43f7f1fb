"""A small STUN server (RFC 5389 Binding requests over UDP) that answers late.

Janus with `nat: { stun_server, stun_port }` in janus.jcfg asks it once at
start-up (a plain socket, waiting up to 5 s) and then, through libnice, for
every new PeerConnection while it gathers candidates. Each Binding request gets
a Binding success response carrying XOR-MAPPED-ADDRESS (the address the request
came from) and FINGERPRINT, sent `delay` seconds later; an RFC 3489 request
(libnice's first tries) gets MAPPED-ADDRESS. Anything else (a STUN indication,
a response, a non-STUN datagram) is counted and dropped.

Where: in the test namespace, listen on 10.99.0.1 (`va`, the default here).
libnice sends its requests from the host candidates' sockets on `va` and they
reach a server there; a server on 10.99.0.2 or 127.0.0.1 answers Janus's start-up
test but receives nothing from libnice (seen with Janus 1.1.2), whose gathering
then ends after its own time-out (~2 s) instead of after `delay`.

    with StunServer("10.99.0.1", delay=0.4) as stun:      # runs in a thread of its own
        server = janus_factory(stun=stun.address, ...)
        ...
        stun.answered, stun.ignored

Run alone (inside the test namespace): python3 harness/stun.py --host 10.99.0.1 --delay 0.4

Copyright (C) 2026 the janus.plugin.calls authors
SPDX-License-Identifier: GPL-3.0-or-later
"""

import asyncio
import ipaddress
import socket
import struct
import threading
import time
import zlib

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_FINGERPRINT = 0x8028
FINGERPRINT_XOR = 0x5354554E
HEADER = struct.Struct("!HHI12s")  # type, length (after the header), magic cookie, transaction id


def parse_request(data: bytes):
    """(transaction id, classic) of a well-formed Binding request, else None.
    classic: an RFC 3489 request (no magic cookie: its 16-byte transaction id
    takes the cookie's place), which libnice sends first when it gathers
    server-reflexive candidates; RFC 5389 section 12 has servers answer those too."""
    if len(data) < HEADER.size:
        return None
    kind, length, cookie, tid = HEADER.unpack_from(data)
    if kind != BINDING_REQUEST or length != len(data) - HEADER.size or length % 4:
        return None
    if cookie == MAGIC_COOKIE:
        return tid, False
    return data[4:HEADER.size], True


def _address_value(family_ip, port, key: bytes = b"") -> bytes:
    """The value of a (XOR-)MAPPED-ADDRESS attribute; key: the bytes the port and
    address are XORed with (none for MAPPED-ADDRESS)."""
    family = 0x01 if family_ip.version == 4 else 0x02
    raw = struct.pack("!H", port) + family_ip.packed
    if key:
        raw = bytes(a ^ b for a, b in zip(raw, key[:2] + key))
    return struct.pack("!BB", 0, family) + raw


def binding_success(tid: bytes, host: str, port: int, classic=False) -> bytes:
    """A Binding success response telling the client it was seen at host:port: for an
    RFC 5389 request, XOR-MAPPED-ADDRESS and FINGERPRINT; for an RFC 3489 one (tid of
    16 bytes), MAPPED-ADDRESS only."""
    ip = ipaddress.ip_address(host)
    if classic:
        value = _address_value(ip, port)
        attrs = struct.pack("!HH", ATTR_MAPPED_ADDRESS, len(value)) + value
        return struct.pack("!HH", BINDING_SUCCESS, len(attrs)) + tid + attrs
    cookie = struct.pack("!I", MAGIC_COOKIE)
    value = _address_value(ip, port, cookie + tid)
    attrs = struct.pack("!HH", ATTR_XOR_MAPPED_ADDRESS, len(value)) + value
    # FINGERPRINT: CRC-32 of everything before it, with the header length already counting it
    head = HEADER.pack(BINDING_SUCCESS, len(attrs) + 8, MAGIC_COOKIE, tid)
    crc = (zlib.crc32(head + attrs) & 0xFFFFFFFF) ^ FINGERPRINT_XOR
    return head + attrs + struct.pack("!HHI", ATTR_FINGERPRINT, 4, crc)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server):
        self.server = server
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        request = parse_request(data)
        if request is None:
            self.server.ignored += 1
            return
        self.server.requests += 1
        if self.server.trace:
            print(f"stun: {time.monotonic():.3f} request from {addr[0]}:{addr[1]}"
                  f"{' (RFC 3489)' if request[1] else ''}", flush=True)
        reply = binding_success(request[0], addr[0], addr[1], classic=request[1])
        asyncio.get_running_loop().call_later(self.server.delay, self._send, reply, addr)

    def _send(self, reply, addr):
        if not self.transport.is_closing():
            self.transport.sendto(reply, addr)
            self.server.answered += 1
            self.server.clients.add(addr[0])


class StunServer:
    """A STUN server on UDP host:port (port 0: a free one) in a thread of its own,
    answering each Binding request `delay` seconds after it came."""

    def __init__(self, host="10.99.0.1", port=0, delay=0.4, trace=False):
        self.host, self.port, self.delay, self.trace = host, port, delay, trace
        self.requests = self.answered = self.ignored = 0
        self.clients = set()  # source addresses answered
        self._loop = self._thread = self._transport = None
        self._ready = threading.Event()
        self._error = None

    @property
    def address(self):
        """(host, port), as JanusServer(stun=...) takes it."""
        return (self.host, self.port)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="stun", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the STUN server did not start within 5 s")
        if self._error:
            raise self._error
        return self

    def _run(self):
        self._loop = asyncio.new_event_loop()
        try:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((self.host, self.port))
            self.port = sock.getsockname()[1]
            self._transport, _ = self._loop.run_until_complete(
                self._loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock))
        except BaseException as e:  # handed to start()
            self._error = e
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        self._loop.run_forever()
        self._transport.close()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    def stop(self):
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return (f"<StunServer {self.host}:{self.port} delay {self.delay} s: {self.requests} requests, "
                f"{self.answered} answered, {self.ignored} ignored>")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="10.99.0.1")
    ap.add_argument("--port", type=int, default=3478)
    ap.add_argument("--delay", type=float, default=0.4, help="seconds before each answer")
    ap.add_argument("--trace", action="store_true", help="print each request")
    ap.add_argument("--seconds", type=float, default=600, help="stop after that long")
    a = ap.parse_args()
    with StunServer(a.host, a.port, a.delay, a.trace) as s:
        print(f"STUN on {s.host}:{s.port}, answering after {s.delay} s", flush=True)
        try:
            time.sleep(a.seconds)
        except KeyboardInterrupt:
            pass
        print(s)
