"""Raw WebSocket client pieces for the listener probes (ws_probe.py, rtc_probe.py)."""
import base64
import os
import socket
import struct
import sys


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)


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




def read_frame(s):
    """One server frame: (opcode, payload); (None, b"") when the connection ends."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data
    try:
        b0, b1 = exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", exact(8))[0]
        return b0 & 0x0F, exact(n)
    except (EOFError, ConnectionResetError, socket.timeout):
        return None, b""
