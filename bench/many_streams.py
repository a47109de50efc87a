#!/usr/bin/env python3
"""N concurrent SOCKS5 streams through one zmesh client to a loopback server.

Every stream connects through the SOCKS5 port, sends "ping", reads the server's
"hello", and then stays open until all N have got that far (or --hold seconds have
passed), so that N streams are open at once; then all close. Prints how many
succeeded, SOCKS replies of those that did not, the time to open (SOCKS request to
reply) at the median, p99 and maximum, and, with --pids, each process's resident memory
before the streams and while all of them were open.

Usage: many_streams.py SOCKS_PORT N [--pids name=PID,...] [--json] [--timeout S]
"""
import argparse
import asyncio
import json
import resource
import socket
import struct
import subprocess
import sys
import time


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fds(pid):
    try:
        import os
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def raise_files(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"many_streams: {need} file descriptors needed; the hard limit is {hard} "
                 f"(ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))


async def serve():
    """The loopback server, a process of its own (its sockets count against its own
    descriptor limit): answers "ping" with "hello" and holds the connection until the
    other end closes it. Prints its port."""
    raise_files(int(sys.argv[2]) + 64)

    async def handle(reader, writer):
        try:
            await reader.readexactly(4)
            writer.write(b"hello")
            await writer.drain()
            await reader.read()  # until the stream closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--pids", default="")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--hold", type=float, default=60.0)
    ap.add_argument("--max-opening", type=int, default=0,
                    help="streams being opened at once (0: all N); all stay open together")
    args = ap.parse_args()

    raise_files(args.n + 64)
    pids = dict(p.split("=") for p in args.pids.split(",") if p)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.n)],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())

    before = {name: rss_kib(pid) for name, pid in pids.items()}
    opened = 0
    all_open = asyncio.Event()
    open_times = []
    replies = {}

    opening = asyncio.Semaphore(args.max_opening if args.max_opening > 0 else args.n)

    def count(key):
        replies[key] = replies.get(key, 0) + 1

    async def handshake(reader, writer):
        """SOCKS5 to the server, then ping and hello; False after a refusal (counted)."""
        writer.write(b"\x05\x01\x00")
        if await reader.readexactly(2) != b"\x05\x00":
            count("method refused")
            return False
        t0 = time.monotonic()
        writer.write(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                     struct.pack(">H", port))
        reply = await reader.readexactly(10)
        if reply[1] != 0:
            count(f"reply {reply[1]}")
            return False
        open_times.append(time.monotonic() - t0)
        writer.write(b"ping")
        if await reader.readexactly(5) != b"hello":
            count("wrong bytes")
            return False
        return True

    async def one():
        nonlocal opened
        writer = None
        try:
            async with opening:
                reader, writer = await asyncio.open_connection("127.0.0.1", args.socks_port)
                if not await handshake(reader, writer):
                    return False
            opened += 1
            if opened == args.n:
                all_open.set()
            try:
                await asyncio.wait_for(all_open.wait(), args.hold)
            except asyncio.TimeoutError:
                pass
            return True
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as e:
            count(type(e).__name__)
            return False
        finally:
            if writer is not None:
                writer.close()

    async def guarded():
        try:
            return await asyncio.wait_for(one(), args.timeout)
        except asyncio.TimeoutError:
            replies["timed out"] = replies.get("timed out", 0) + 1
            return False

    start = time.monotonic()
    tasks = [asyncio.create_task(guarded()) for _ in range(args.n)]
    # Memory and descriptors while every stream that will open is open.
    try:
        await asyncio.wait_for(all_open.wait(), args.timeout)
    except asyncio.TimeoutError:
        pass
    during = {name: rss_kib(pid) for name, pid in pids.items()}
    open_fds = {name: fds(pid) for name, pid in pids.items()}
    all_open.set()
    results = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    server.kill()
    server.wait()

    ok = sum(results)
    open_times.sort()

    def pct(p):
        if not open_times:
            return None
        return open_times[min(len(open_times) - 1, int(p * len(open_times)))]

    out = {
        "streams": args.n, "succeeded": ok, "failed": replies, "seconds": round(elapsed, 2),
        "open_p50_s": pct(0.5), "open_p99_s": pct(0.99),
        "open_max_s": open_times[-1] if open_times else None,
        "rss_kib_before": before, "rss_kib_all_open": during, "fds_all_open": open_fds,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"{ok} of {args.n} streams succeeded in {elapsed:.1f} s; failures: {replies or 'none'}")
    if open_times:
        print(f"  time to open: median {pct(0.5) * 1e3:.0f} ms, p99 {pct(0.99) * 1e3:.0f} ms, "
              f"max {open_times[-1] * 1e3:.0f} ms")
    for name in pids:
        b, d = before[name], during[name]
        if b is not None and d is not None:
            print(f"  {name}: RSS {b // 1024} MiB before, {d // 1024} MiB with all open "
                  f"({(d - b) / max(ok, 1):.1f} KiB per stream), {open_fds[name]} fds")


if len(sys.argv) > 1 and sys.argv[1] == "--serve":
    asyncio.run(serve())
else:
    asyncio.run(main())
