"""zmesh from Python: an embedded zmesh node over the C API of libzmesh.so (ctypes).

    import zmesh
    with zmesh.Node.testnet() as node:          # a whole network on loopback
        node.wait_ready(timeout=60)
        with node.open_stream("127.0.0.1", 8000) as s:
            s.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
            print(s.read_all(timeout=30))

Errors raise zmesh.Error (or a subclass per code) with the library's message. Blocking
calls take a timeout in seconds (None: no limit; 0: never wait) and release the GIL.
AsyncStream wraps a Stream for asyncio. See docs/embedding.md.

The library is found through $ZMESH_LIBRARY, then the build tree next to this package
(../../build/libzmesh.so, after `make`), then the system (`make install`).
"""
import asyncio
import ctypes
import ctypes.util
import os
import pathlib

__all__ = ["Error", "InvalidArgument", "Stopped", "Timeout", "Closed", "TooBig",
           "NetworkError", "WouldBlock", "Node", "Stream", "AsyncStream", "version"]

OK, EINVAL, ESTOPPED, ETIMEOUT, ECLOSED, ETOOBIG, ENETWORK, EWOULDBLOCK, EINTERNAL = \
    0, -1, -2, -3, -4, -5, -6, -7, -8
MAX_WRITE = 16 << 20
READABLE, WRITABLE, CLOSED = 1, 2, 3


class Error(Exception):
    """A zmesh call failed: `code` is a ZMESH_E* value, the message the library's."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class InvalidArgument(Error, ValueError):
    pass


class Stopped(Error):
    pass


class Timeout(Error, TimeoutError):
    pass


class Closed(Error):
    pass


class TooBig(Error, ValueError):
    pass


class NetworkError(Error, ConnectionError):
    pass


class WouldBlock(Error):
    pass


_ERRORS = {EINVAL: InvalidArgument, ESTOPPED: Stopped, ETIMEOUT: Timeout, ECLOSED: Closed,
           ETOOBIG: TooBig, ENETWORK: NetworkError, EWOULDBLOCK: WouldBlock}


def _find_library() -> str:
    env = os.environ.get("ZMESH_LIBRARY")
    if env:
        return env
    built = pathlib.Path(__file__).resolve().parent.parent.parent / "build" / "libzmesh.so"
    if built.exists():
        return str(built)
    return ctypes.util.find_library("zmesh") or "libzmesh.so.0"


class _TestnetOptions(ctypes.Structure):
    _fields_ = [("relays", ctypes.c_int), ("exits", ctypes.c_int), ("hops", ctypes.c_int)]


class _Status(ctypes.Structure):
    _fields_ = [("running", ctypes.c_int), ("version", ctypes.c_char * 16),
                ("node_id", ctypes.c_char * 72), ("uptime_seconds", ctypes.c_uint64)] + \
        [(name, ctypes.c_uint32) for name in ("client_circuits", "relay_circuits", "streams",
                                              "peers", "relays_known", "guards")] + \
        [(name, ctypes.c_uint64) for name in ("circuits_built", "circuits_failed",
                                              "streams_opened", "streams_failed",
                                              "cells_relayed", "link_bytes_in",
                                              "link_bytes_out")]


_STREAM_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)


def _load():
    lib = ctypes.CDLL(_find_library())
    p, i, size_t = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
    signatures = {
        "zmesh_version": (ctypes.c_char_p, []),
        "zmesh_last_error": (ctypes.c_char_p, []),
        "zmesh_testnet_options_init": (None, [ctypes.POINTER(_TestnetOptions)]),
        "zmesh_testnet_start": (i, [ctypes.POINTER(_TestnetOptions), ctypes.POINTER(p)]),
        "zmesh_client_start": (i, [ctypes.POINTER(ctypes.c_char_p), size_t, i,
                                   ctypes.POINTER(p)]),
        "zmesh_node_wait_ready": (i, [p, i]),
        "zmesh_node_stop": (i, [p]),
        "zmesh_node_free": (None, [p]),
        "zmesh_node_status": (i, [p, ctypes.POINTER(_Status)]),
        "zmesh_node_metrics": (i, [p, ctypes.POINTER(p)]),
        "zmesh_free": (None, [p]),
        "zmesh_stream_open": (i, [p, ctypes.c_char_p, ctypes.c_uint16, ctypes.c_char_p, i,
                                  ctypes.POINTER(p)]),
        "zmesh_stream_read": (i, [p, p, size_t, i, ctypes.POINTER(size_t)]),
        "zmesh_stream_write": (i, [p, p, size_t, i, ctypes.POINTER(size_t)]),
        "zmesh_stream_finish": (i, [p]),
        "zmesh_stream_close": (i, [p]),
        "zmesh_stream_is_open": (i, [p]),
        "zmesh_stream_set_callback": (i, [p, _STREAM_CALLBACK, p]),
        "zmesh_stream_free": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


_lib = _load()


def _check(rc: int) -> None:
    if rc != OK:
        message = _lib.zmesh_last_error().decode(errors="replace")
        raise _ERRORS.get(rc, Error)(rc, message)


def _ms(timeout) -> int:
    if timeout is None:
        return -1
    if timeout < 0:
        raise InvalidArgument(EINVAL, "timeout: seconds >= 0, or None")
    return min(int(timeout * 1000), 2**31 - 1)


def version() -> str:
    return _lib.zmesh_version().decode()


class Node:
    """A zmesh client node (or a loopback testnet with one) on a thread of the library."""

    def __init__(self, handle: int):
        self._handle = ctypes.c_void_p(handle)

    @classmethod
    def testnet(cls, relays: int = 5, exits: int = 2, hops: int = 3) -> "Node":
        options = _TestnetOptions()
        _lib.zmesh_testnet_options_init(ctypes.byref(options))
        options.relays, options.exits, options.hops = relays, exits, hops
        out = ctypes.c_void_p()
        _check(_lib.zmesh_testnet_start(ctypes.byref(options), ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def client(cls, bootstrap: list, hops: int = 3) -> "Node":
        lines = (ctypes.c_char_p * len(bootstrap))(*[b.encode() for b in bootstrap])
        out = ctypes.c_void_p()
        _check(_lib.zmesh_client_start(lines, len(bootstrap), hops, ctypes.byref(out)))
        return cls(out.value)

    def _h(self) -> ctypes.c_void_p:
        if not self._handle:
            raise Stopped(ESTOPPED, "the node handle was closed")
        return self._handle

    def wait_ready(self, timeout=60.0) -> None:
        _check(_lib.zmesh_node_wait_ready(self._h(), _ms(timeout)))

    def open_stream(self, host: str, port: int, timeout=60.0, isolation: str = "") -> "Stream":
        if not 0 < port < 65536:
            raise InvalidArgument(EINVAL, "port: 1 to 65535")
        out = ctypes.c_void_p()
        _check(_lib.zmesh_stream_open(self._h(), host.encode(), port, isolation.encode(),
                                      _ms(timeout), ctypes.byref(out)))
        return Stream(out.value, self)

    def status(self) -> dict:
        s = _Status()
        _check(_lib.zmesh_node_status(self._h(), ctypes.byref(s)))
        out = {name: getattr(s, name) for name, _ in _Status._fields_}
        out["running"] = bool(s.running)
        out["version"], out["node_id"] = s.version.decode(), s.node_id.decode()
        return out

    def metrics(self) -> str:
        """Every node's metrics in the Prometheus text format."""
        out = ctypes.c_void_p()
        _check(_lib.zmesh_node_metrics(self._h(), ctypes.byref(out)))
        try:
            return ctypes.string_at(out).decode()
        finally:
            _lib.zmesh_free(out)

    def stop(self) -> None:
        _check(_lib.zmesh_node_stop(self._h()))

    def close(self) -> None:
        """Stops the node and frees it; later calls raise Stopped."""
        if self._handle:
            handle, self._handle = self._handle, None
            _lib.zmesh_node_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Stream:
    """A stream through a circuit: bytes in order, back-pressure on write."""

    def __init__(self, handle: int, node: Node):
        self._handle = ctypes.c_void_p(handle)
        self._node = node  # the stream's node must outlive it
        self._callback = None

    def _h(self) -> ctypes.c_void_p:
        if not self._handle:
            raise Closed(ECLOSED, "the stream handle was freed")
        return self._handle

    def read(self, size: int = 65536, timeout=None) -> bytes:
        """Up to `size` bytes; b"" at the end of the stream."""
        buf = ctypes.create_string_buffer(size)
        got = ctypes.c_size_t()
        _check(_lib.zmesh_stream_read(self._h(), buf, size, _ms(timeout), ctypes.byref(got)))
        return buf.raw[:got.value]

    def read_all(self, timeout=None, limit: int = 64 << 20) -> bytes:
        parts, total = [], 0
        while True:
            chunk = self.read(65536, timeout)
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > limit:
                raise TooBig(ETOOBIG, "the stream is longer than the limit")
            parts.append(chunk)

    def write(self, data: bytes, timeout=None) -> None:
        """All of `data`, waiting for room; Timeout says how much went in `written`."""
        data = bytes(data)
        written = ctypes.c_size_t()
        rc = _lib.zmesh_stream_write(self._h(), data, len(data), _ms(timeout),
                                     ctypes.byref(written))
        try:
            _check(rc)
        except Timeout as e:
            e.written = written.value
            raise

    def try_write(self, data: bytes) -> int:
        """Takes what fits now; returns how many bytes."""
        written = ctypes.c_size_t()
        rc = _lib.zmesh_stream_write(self._h(), bytes(data), len(data), 0, ctypes.byref(written))
        if rc != ETIMEOUT:
            _check(rc)
        return written.value

    def finish(self) -> None:
        _check(_lib.zmesh_stream_finish(self._h()))

    def close(self) -> None:
        if self._handle:
            _check(_lib.zmesh_stream_close(self._handle))

    @property
    def is_open(self) -> bool:
        return bool(self._handle) and _lib.zmesh_stream_is_open(self._handle) == 1

    def set_callback(self, fn) -> None:
        """fn(event) on the node's thread (READABLE, WRITABLE, CLOSED); None clears it."""
        callback = _STREAM_CALLBACK(lambda user, stream, event: fn(event)) if fn else \
            _STREAM_CALLBACK()
        _check(_lib.zmesh_stream_set_callback(self._h(), callback, None))
        self._callback = callback  # ctypes must keep it alive while set

    def free(self) -> None:
        if self._handle:
            handle, self._handle = self._handle, None
            _lib.zmesh_stream_free(handle)
            self._callback = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()

    def __del__(self):
        self.free()


class AsyncStream:
    """A Stream for asyncio: reads and writes wait on the stream's events, not a thread."""

    def __init__(self, stream: Stream, loop: asyncio.AbstractEventLoop = None):
        self.stream = stream
        self._loop = loop or asyncio.get_running_loop()
        self._event = asyncio.Event()
        stream.set_callback(lambda _event: self._loop.call_soon_threadsafe(self._event.set))

    @classmethod
    async def open(cls, node: Node, host: str, port: int, timeout=60.0) -> "AsyncStream":
        loop = asyncio.get_running_loop()
        stream = await loop.run_in_executor(None, node.open_stream, host, port, timeout)
        return cls(stream, loop)

    async def _wait(self) -> None:
        await self._event.wait()
        self._event.clear()

    async def read(self, size: int = 65536) -> bytes:
        while True:
            self._event.clear()
            try:
                return self.stream.read(size, timeout=0)
            except Timeout:
                await self._wait()

    async def write(self, data: bytes) -> None:
        view = memoryview(bytes(data))
        while view:
            self._event.clear()
            n = self.stream.try_write(view)
            view = view[n:]
            if view:
                await self._wait()

    async def read_all(self, limit: int = 64 << 20) -> bytes:
        parts, total = [], 0
        while chunk := await self.read():
            total += len(chunk)
            if total > limit:
                raise TooBig(ETOOBIG, "the stream is longer than the limit")
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        self.stream.set_callback(None)
        self.stream.free()
