#!/usr/bin/env python3
"""Probes a zmesh WebSocket link listener (plain ws://) with what a censor's scanner or a
broken peer might send, and checks each is refused cleanly:
  - GET / (not the link path)          -> HTTP 404, connection closed
  - a WebSocket upgrade on another path -> HTTP 404
  - an upgrade on the link path         -> 101, then a message over 64 KiB -> closed
  - an upgrade, then a text message     -> closed
  - an upgrade, then a binary message with broken framing -> closed
Usage: ws_probe.py PORT [PATH]"""
import sys

from ws_client import check, closed, connect, frame, http, upgrade

port = int(sys.argv[1])
path = sys.argv[2] if len(sys.argv) > 2 else "/zmesh"

s = connect(port)
status = http(s, "GET / HTTP/1.1\r\nHost: example.net\r\n\r\n")
check(" 404 " in status + " ", f"plain GET answered {status!r}")
check(closed(s), "plain GET left the connection open")

s = connect(port)
status = upgrade(s, "/elsewhere")
check(" 404 " in status + " ", f"upgrade on another path answered {status!r}")

s = connect(port)
status = upgrade(s, path)
check(" 101 " in status + " ", f"upgrade on {path} answered {status!r}")
s.sendall(frame(2, b"\x00" * (64 * 1024 + 1)))
check(closed(s), "an oversized message did not close the connection")

s = connect(port)
upgrade(s, path)
s.sendall(frame(1, b"hello"))
check(closed(s), "a text message did not close the connection")

s = connect(port)
upgrade(s, path)
s.sendall(frame(2, b"\x00\x05hello"))  # a frame length that is not a link packet
check(closed(s), "broken framing did not close the connection")
print("ws probe: all refusals clean")
