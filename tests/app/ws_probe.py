#!/usr/bin/env python3
"""Probes a zmesh WebSocket link listener (plain ws://) with what a censor's scanner or a
broken peer might send, and checks each is refused cleanly:
  - GET / (not the link path)          -> HTTP 404, connection closed
  - a WebSocket upgrade on another path -> HTTP 404
  - an upgrade on the link path         -> 101, then a message over 64 KiB -> closed
  - an upgrade, then a text message     -> closed
  - an upgrade, then a binary message with broken framing -> closed
Usage: ws_probe.py PORT [PATH]"""
import base64
import os
import socket
import struct
import sys

port = int(sys.argv[1])
path = sys.argv[2] if len(sys.argv) > 2 else "/zmesh"


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def http(s, request):
    s.sendall(request.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def upgrade(s, p):
    key = base64.b64encode(os.urandom(16)).decode()
    return http(s, f"GET {p} HTTP/1.1\r\nHost: example.net\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\n\r\n")


def frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def closed(s):
    """True when the server closes (or resets) the connection."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
            # A close frame from the server also counts; keep reading to the end.
    except (ConnectionResetError, socket.timeout) as e:
        return isinstance(e, ConnectionResetError)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


s = connect()
status = http(s, "GET / HTTP/1.1\r\nHost: example.net\r\n\r\n")
check(" 404 " in status + " ", f"plain GET answered {status!r}")
check(closed(s), "plain GET left the connection open")

s = connect()
status = upgrade(s, "/elsewhere")
check(" 404 " in status + " ", f"upgrade on another path answered {status!r}")

s = connect()
status = upgrade(s, path)
check(" 101 " in status + " ", f"upgrade on {path} answered {status!r}")
s.sendall(frame(2, b"\x00" * (64 * 1024 + 1)))
check(closed(s), "an oversized message did not close the connection")

s = connect()
upgrade(s, path)
s.sendall(frame(1, b"hello"))
check(closed(s), "a text message did not close the connection")

s = connect()
upgrade(s, path)
s.sendall(frame(2, b"\x00\x05hello"))  # a frame length that is not a link packet
check(closed(s), "broken framing did not close the connection")
print("ws probe: all refusals clean")
