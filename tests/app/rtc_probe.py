#!/usr/bin/env python3
"""Probes a zmesh WebRTC signaling listener with what a scanner or a broken peer might
send, and checks each is refused cleanly:
  - GET / and an upgrade on another path       -> HTTP 404
  - an offer that is not JSON                  -> {"type":"error"}, then closed
  - an offer whose description has no fingerprint, or no data channel section,
    or is over 16 KiB                          -> {"type":"error"} naming the reason
  - a signaling message over 32 KiB            -> closed
Usage: rtc_probe.py PORT [PATH]"""
import json
import sys

from ws_client import check, closed, connect, frame, http, read_frame, upgrade

port = int(sys.argv[1])
path = sys.argv[2] if len(sys.argv) > 2 else "/zmesh-rtc"

OFFER = "\r\n".join([
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:Y+1z", "a=ice-pwd:omxh/316nNOAGqwkgFYCpbJq",
    "a=fingerprint:sha-256 " + ":".join(["7D"] * 32),
    "a=setup:actpass", "a=mid:0", "a=sctp-port:5000", ""])


def refused(message, reason):
    s = connect(port)
    status = upgrade(s, path)
    check(" 101 " in status + " ", f"upgrade on {path} answered {status!r}")
    s.sendall(frame(1, message.encode()))
    op, payload = read_frame(s)
    check(op == 1, f"no text answer to a bad offer ({reason})")
    answer = json.loads(payload)
    check(answer.get("type") == "error" and reason in answer.get("reason", ""),
          f"expected an error naming {reason!r}, got {answer}")
    check(closed(s), "the signaling connection stayed open after an error")


s = connect(port)
status = http(s, "GET / HTTP/1.1\r\nHost: example.net\r\n\r\n")
check(" 404 " in status + " ", f"plain GET answered {status!r}")
s = connect(port)
status = upgrade(s, "/elsewhere")
check(" 404 " in status + " ", f"upgrade on another path answered {status!r}")

refused("hello", "JSON")
refused(json.dumps({"type": "answer", "sdp": OFFER}), "expected an offer")
refused(json.dumps({"type": "offer", "sdp": OFFER.replace("a=fingerprint", "a=fingerprint-gone")}),
        "fingerprint")
refused(json.dumps({"type": "offer", "sdp": OFFER.replace("webrtc-datachannel", "webrtc")}),
        "webrtc-datachannel")
refused(json.dumps({"type": "offer", "sdp": OFFER + ("a=x:" + "y" * 500 + "\r\n") * 40}), "16 KiB")

s = connect(port)
upgrade(s, path)
s.sendall(frame(1, b"{" + b" " * (33 * 1024) + b"}"))
check(closed(s), "a signaling message over 32 KiB did not close the connection")
print("rtc probe: all refusals clean")
