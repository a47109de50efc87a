// The entry proxy's SOCKS5 and HTTP CONNECT parsers on arbitrary client bytes, fed in
// arbitrary pieces. Besides not crashing: the outcome does not depend on how the bytes
// were split, buffers stay bounded, and every accepted target is a well-formed host:port.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "zmesh/app/http_connect.hpp"
#include "zmesh/app/socks5.hpp"

using namespace zmesh;
namespace s5 = zmesh::app::socks5;
namespace hc = zmesh::app::http_connect;

namespace {

// Everything the client would see and what the proxy would do.
struct Transcript {
    std::string sent;
    std::string outcome;
    std::string rest;
    bool operator==(const Transcript&) const = default;
};

// Feeds `data` in pieces whose sizes come from `split` (0: all at once).
Transcript socks(ByteView data, ByteView split) {
    s5::Parser p;
    Transcript t;
    std::size_t at = 0, k = 0;
    while (at < data.size()) {
        std::size_t n = split.empty() ? data.size() : 1 + split[k++ % split.size()] % 64;
        n = std::min(n, data.size() - at);
        if (!p.feed(data.subspan(at, n))) {
            t.outcome = "overflow";
            return t;
        }
        at += n;
        for (;;) {
            auto s = p.poll();
            t.sent.append(s.bytes.begin(), s.bytes.end());
            if (s.kind == s5::Step::Kind::need_more) break;
            if (s.kind == s5::Step::Kind::send) continue;
            if (s.kind == s5::Step::Kind::close) {
                t.outcome = s.bad ? "close-bad" : "close";
                return t;
            }
            if (!hc::valid_target(s.request.target) ||
                s.request.isolation.size() > s5::kMaxIsolationKey)
                std::abort();
            t.outcome = "request " + s.request.target + " " + s.request.isolation;
            auto rest = p.take_rest();
            t.rest.assign(rest.begin(), rest.end());
            t.rest.append(reinterpret_cast<const char*>(data.data()) + at, data.size() - at);
            return t;
        }
    }
    t.outcome = "need_more";
    return t;
}

Transcript http(ByteView data, ByteView split) {
    hc::Parser p;
    Transcript t;
    std::size_t at = 0, k = 0;
    while (at < data.size()) {
        std::size_t n = split.empty() ? data.size() : 1 + split[k++ % split.size()] % 64;
        n = std::min(n, data.size() - at);
        auto s = p.feed(data.subspan(at, n));
        at += n;
        if (s.kind == hc::Step::Kind::need_more) continue;
        if (s.kind == hc::Step::Kind::error) {
            t.outcome = std::string(s.status);
            return t;
        }
        if (!hc::valid_target(s.target)) std::abort();
        t.outcome = "request " + s.target;
        auto rest = p.take_rest();
        t.rest.assign(rest.begin(), rest.end());
        t.rest.append(reinterpret_cast<const char*>(data.data()) + at, data.size() - at);
        return t;
    }
    t.outcome = "need_more";
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || size > s5::kMaxBuffered) return 0;
    // First byte: which parser; the next few: the sizes of the pieces.
    bool is_http = data[0] & 1;
    std::size_t nsplit = std::min<std::size_t>((data[0] >> 1) % 8, size - 1);
    ByteView split(data + 1, nsplit);
    ByteView input(data + 1 + nsplit, size - 1 - nsplit);
    auto whole = is_http ? http(input, {}) : socks(input, {});
    auto pieces = is_http ? http(input, split.empty() ? ByteView(data, 1) : split)
                          : socks(input, split.empty() ? ByteView(data, 1) : split);
    if (!(whole == pieces)) std::abort();
    return 0;
}
