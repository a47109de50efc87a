#!/usr/bin/env python3
"""Recovery-time benchmark helpers.

serve: a TCP server on loopback that sends 16 KiB every 5 ms on each connection (about
3.2 MB/s), so data flows steadily with nearly empty buffers; prints its port.

fetch SOCKS_PORT USER TARGET_PORT SECONDS OUT: connects through SOCKS5 (USER selects the
circuit), reads for SECONDS and writes one arrival time per line to OUT; touches OUT.ready
after the first second of data.

gap OUT KILL_TIME: the longest pause in arrivals after KILL_TIME (from the kill when the
pause spans it): how long the stream stood still; and the longest pause in the second
before, the normal jitter of the paced source. Milliseconds.
"""
import socket
import struct
import sys
import threading
import time


def serve():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print(srv.getsockname()[1], flush=True)
    chunk = bytes(16384)

    def pace(conn):
        try:
            while True:
                conn.sendall(chunk)
                time.sleep(0.005)
        except OSError:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=pace, args=(conn,), daemon=True).start()


def fetch(socks_port, user, target_port, seconds, out):
    s = socket.create_connection(("127.0.0.1", socks_port), timeout=30)
    s.sendall(b"\x05\x01\x02")
    assert s.recv(2) == b"\x05\x02"
    u = user.encode()
    s.sendall(b"\x01" + bytes([len(u)]) + u + b"\x01x")
    assert s.recv(2) == b"\x01\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", target_port))
    reply = s.recv(10)
    assert reply[1] == 0, reply
    start = time.time()
    arrivals = []
    ready = False
    while time.time() - start < seconds:
        if not s.recv(65536):
            break
        now = time.time()
        arrivals.append(now)
        if not ready and now - start > 1:
            open(out + ".ready", "w").close()
            ready = True
    s.close()
    with open(out, "w") as f:
        f.write("\n".join(f"{t:.6f}" for t in arrivals))


def gap(out, kill_time):
    """The longest pause after the kill (counted from the kill when it spans it), and for
    comparison the longest pause in the second before it, in milliseconds."""
    kill = float(kill_time)
    times = [float(x) for x in open(out).read().split()]
    after = [b - max(a, kill) for a, b in zip(times, times[1:]) if b > kill]
    before = [b - a for a, b in zip(times, times[1:]) if kill - 1 <= a and b <= kill]
    if not after:
        print("never 0")
        return
    print(f"{max(after) * 1000:.0f} {max(before, default=0) * 1000:.0f}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve()
    elif cmd == "fetch":
        fetch(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif cmd == "gap":
        gap(sys.argv[2], sys.argv[3])
