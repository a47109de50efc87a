// The answers of an exit's upstream proxy (SOCKS5 and HTTP CONNECT) as the handshake
// reads them: never more than it asks for, any bytes, any split; it must end connected
// or failed, never crash or ask for bytes past its bound.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "zmesh/exit/upstream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    auto proxy = zmesh::exit::parse_proxy_address(
        data[0] & 1 ? "http://127.0.0.1:8080"
                    : (data[0] & 2 ? "socks5://u:p@127.0.0.1:1080" : "socks5://127.0.0.1:1080"));
    zmesh::exit::ProxyHandshake hs(*proxy, data[0] & 4 ? "example.onion" : "192.0.2.1", 80);
    zmesh::ByteView in(data + 1, size - 1);
    std::size_t read = 0;
    while (!in.empty() && hs.state() == zmesh::exit::ProxyHandshake::State::running) {
        (void)hs.take_output();
        auto n = std::min(hs.wanted(), in.size());
        if (n == 0) std::abort();  // running yet asking for nothing
        hs.feed(in.subspan(0, n));
        in = in.subspan(n);
        read += n;
        if (read > zmesh::exit::kMaxProxyResponse + 16) std::abort();
    }
    return 0;
}
