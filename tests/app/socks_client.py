#!/usr/bin/env python3
"""Minimal SOCKS5 client for tests: checks reply codes and malformed-input handling."""
import socket
import struct
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def recv_exact(s, n):
    """Up to n bytes; fewer (possibly none) when the server closes or resets."""
    data = b""
    while len(data) < n:
        try:
            chunk = s.recv(n - len(data))
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return data


def request(port, atyp, addr, dport, cmd=1, user=None):
    s = connect(port)
    if user:
        s.sendall(b"\x05\x01\x02")
        assert recv_exact(s, 2) == b"\x05\x02"
        u, p = user
        s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        assert recv_exact(s, 2) == b"\x01\x00"
    else:
        s.sendall(b"\x05\x01\x00")
        assert recv_exact(s, 2) == b"\x05\x00", "method selection"
    s.sendall(bytes([5, cmd, 0, atyp]) + addr + struct.pack(">H", dport))
    reply = recv_exact(s, 10)
    s.close()
    return reply


def main():
    port = int(sys.argv[1])
    closed_port = int(sys.argv[2])
    # A refused destination: reply 5, promptly.
    t0 = time.time()
    r = request(port, 1, socket.inet_aton("127.0.0.1"), closed_port)
    assert len(r) == 10 and r[0] == 5, r
    assert r[1] == 5, f"expected reply 5 (connection refused), got {r[1]}"
    assert time.time() - t0 < 5, "refusal took too long"
    # The same through a name resolved at the exit.
    r = request(port, 3, bytes([9]) + b"localhost", closed_port, user=(b"alice", b"x"))
    assert r[1] == 5, f"domain: expected 5, got {r[1]}"
    # IPv6 destinations (ATYP 4) are carried too: ::1 refuses that port as well.
    r = request(port, 4, socket.inet_pton(socket.AF_INET6, "::1"), closed_port)
    assert r[1] == 5, f"IPv6: expected 5, got {r[1]}"
    # A name that does not resolve: host unreachable (4).
    name = b"no-such-host.invalid"
    r = request(port, 3, bytes([len(name)]) + name, 80)
    assert r[1] == 4, f"unresolvable: expected 4, got {r[1]}"
    # BIND is not supported: 7. An unknown address type: 8.
    assert request(port, 1, socket.inet_aton("127.0.0.1"), 80, cmd=2)[1] == 7
    s = connect(port)
    s.sendall(b"\x05\x01\x00")
    recv_exact(s, 2)
    s.sendall(b"\x05\x01\x00\x09")
    assert recv_exact(s, 10)[1] == 8
    s.close()
    # A name with characters no host name has: general failure (1).
    bad = b"a b\x00c"
    assert request(port, 3, bytes([len(bad)]) + bad, 80)[1] == 1
    # Not SOCKS5 at all, and no acceptable method: the connection is closed.
    s = connect(port)
    s.sendall(b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00")
    assert recv_exact(s, 1) == b""
    s.close()
    s = connect(port)
    s.sendall(b"\x05\x01\x80")
    assert recv_exact(s, 2) == b"\x05\xff"
    s.close()
    # Garbage and a peer that disappears mid-request.
    for junk in (b"\xff" * 300, b"\x05", b"\x05\x01\x00\x05\x01"):
        s = connect(port)
        s.sendall(junk)
        s.close()
    print("socks client checks passed")


if __name__ == "__main__":
    main()
