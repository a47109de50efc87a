#!/usr/bin/env python3
"""Starts a zmesh network on loopback inside this process, fetches http://HOST:PORT/PATH
through a 3-hop circuit and prints the SHA-256 of the body (the Python package).
    fetch.py HOST PORT PATH
"""
import hashlib
import sys

import zmesh


def main(host: str, port: int, path: str) -> int:
    with zmesh.Node.testnet(hops=3) as node:
        node.wait_ready(timeout=60)
        with node.open_stream(host, port, timeout=60) as stream:
            stream.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            response = stream.read_all(timeout=60)
        head, sep, body = response.partition(b"\r\n\r\n")
        if not sep or not head.startswith(b"HTTP/1.0 200"):
            print("fetch.py: not a 200 response", file=sys.stderr)
            return 1
        print(hashlib.sha256(body).hexdigest())
        status = node.status()
        print(f"fetch.py: {len(response)} bytes; circuits built {status['circuits_built']}, "
              f"streams opened {status['streams_opened']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(f"usage: {sys.argv[0]} HOST PORT PATH", file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
    except zmesh.Error as e:
        print(f"fetch.py: {e}", file=sys.stderr)
        sys.exit(1)
