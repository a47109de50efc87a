"""The Python package over libzmesh.so: errors raise with the library's message; a page
served on loopback comes back byte for byte through a testnet's 3-hop circuits, with
blocking streams and with asyncio."""
import asyncio
import ctypes
import functools
import hashlib
import http.server
import os
import tempfile
import threading
import unittest

import zmesh


class BadInput(unittest.TestCase):
    def test_null_handles_get_codes_from_the_c_api(self):
        lib = zmesh._lib
        self.assertEqual(lib.zmesh_node_stop(None), zmesh.EINVAL)
        self.assertIn("null", lib.zmesh_last_error().decode())
        got = ctypes.c_size_t()
        self.assertEqual(lib.zmesh_stream_read(None, None, 0, 0, ctypes.byref(got)), zmesh.EINVAL)
        lib.zmesh_node_free(None)
        lib.zmesh_stream_free(None)

    def test_bad_client_settings_raise_with_the_message(self):
        with self.assertRaises(zmesh.InvalidArgument) as caught:
            zmesh.Node.client(["not a bootstrap line"])
        self.assertEqual(caught.exception.code, zmesh.EINVAL)
        self.assertIn("bootstrap", str(caught.exception))
        with self.assertRaises(zmesh.InvalidArgument):
            zmesh.Node.client([])
        with self.assertRaises(zmesh.InvalidArgument):
            zmesh.Node.testnet(relays=-1)

    def test_version(self):
        self.assertRegex(zmesh.version(), r"^\d+\.\d+\.\d+$")


class Network(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.page = os.urandom(700_001)
        with open(os.path.join(cls.dir.name, "page.bin"), "wb") as f:
            f.write(cls.page)
        handler = functools.partial(QuietHandler, directory=cls.dir.name)
        cls.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.http.serve_forever, daemon=True).start()
        cls.port = cls.http.server_address[1]
        cls.node = zmesh.Node.testnet(relays=5, exits=2, hops=3)
        cls.node.wait_ready(timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.node.close()
        cls.http.shutdown()
        cls.dir.cleanup()

    def request(self) -> bytes:
        return f"GET /page.bin HTTP/1.0\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode()

    def body(self, response: bytes) -> bytes:
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200"), head[:40])
        return body

    def test_fetches_a_page_through_a_circuit(self):
        with self.node.open_stream("127.0.0.1", self.port, timeout=60) as s:
            self.assertTrue(s.is_open)
            s.write(self.request(), timeout=30)
            body = self.body(s.read_all(timeout=60))
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(self.page).digest())
        status = self.node.status()
        self.assertTrue(status["running"])
        self.assertGreaterEqual(status["circuits_built"], 1)
        self.assertIn("zmesh_", self.node.metrics())

    def test_asyncio_stream(self):
        async def fetch():
            s = await zmesh.AsyncStream.open(self.node, "127.0.0.1", self.port)
            try:
                await s.write(self.request())
                return await asyncio.wait_for(s.read_all(), 60)
            finally:
                s.close()

        self.assertEqual(self.body(asyncio.run(fetch())), self.page)

    def test_closed_stream_and_oversized_write_raise(self):
        s = self.node.open_stream("127.0.0.1", self.port, timeout=60)
        with self.assertRaises(zmesh.TooBig) as caught:
            s.write(b"\0" * (zmesh.MAX_WRITE + 1))
        self.assertIn("at most", str(caught.exception))
        with self.assertRaises(zmesh.Timeout):
            s.read(timeout=0)
        s.close()
        with self.assertRaises(zmesh.Closed):
            s.write(b"x", timeout=1)
        with self.assertRaises(zmesh.Closed):
            s.read(timeout=1)
        s.free()
        with self.assertRaises(zmesh.Closed):
            s.read()
        with self.assertRaises(zmesh.InvalidArgument):
            self.node.open_stream("127.0.0.1", 0)
        with self.assertRaises(zmesh.InvalidArgument):
            self.node.open_stream("", 80)


class Stopped(unittest.TestCase):
    def test_calls_after_stop_raise_stopped(self):
        node = zmesh.Node.testnet(relays=4)
        node.stop()
        node.stop()  # idempotent
        with self.assertRaises(zmesh.Stopped) as caught:
            node.open_stream("127.0.0.1", 80, timeout=1)
        self.assertIn("stopped", str(caught.exception))
        with self.assertRaises(zmesh.Stopped):
            node.status()
        node.close()
        with self.assertRaises(zmesh.Stopped):
            node.wait_ready()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    unittest.main()
