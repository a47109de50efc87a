#pragma once
// Descriptors over HTTP. A bootstrap node serves
//   GET  /zmesh/v1/bundle            every descriptor it knows, signed with its identity key
//   GET  /zmesh/v1/descriptors.txt   the same, one readable line per relay (for operators)
//   POST /zmesh/v1/descriptor        a relay publishing its own signed descriptor
// and relays and clients use http_request() to publish and fetch. Bounded everywhere:
// request headers, bodies, response sizes, connections and time.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string>

#include "zmesh/core/bytes.hpp"
#include "zmesh/discovery/directory.hpp"
#include "zmesh/link/service.hpp"

namespace zmesh::discovery {

class DirectoryServer {
  public:
    using Now = std::function<std::uint64_t()>;
    // `dir` and `signer` must outlive the server; all on the executor's thread.
    DirectoryServer(boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& at,
                    Directory& dir, const crypto::Identity& signer, Now now);
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void stop();
    std::uint64_t requests() const { return requests_; }
    std::uint64_t bad_requests() const { return bad_requests_; }

  private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::ip::tcp::acceptor acceptor_;
    Directory& dir_;
    const crypto::Identity& signer_;
    Now now_;
    std::size_t connections_ = 0;
    std::uint64_t requests_ = 0;
    std::uint64_t bad_requests_ = 0;
};

struct HttpResponse {
    int status = 0;
    Bytes body;
};

// One request with Connection: close; nullopt on a network error, a timeout (10 s) or a
// response larger than `max_body`.
boost::asio::awaitable<std::optional<HttpResponse>> http_request(boost::asio::ip::tcp::endpoint to,
                                                                 std::string method,
                                                                 std::string path, Bytes body,
                                                                 std::size_t max_body);

// A descriptor address as a socket address, and back.
link::SocketAddress to_socket_address(const Address& a);
Address to_address(TransportKind transport, const link::SocketAddress& at);
inline link::LinkAddress to_link_address(const Address& a) {
    return {a.transport, to_socket_address(a)};
}
inline Address to_address(const link::LinkAddress& a) {
    return to_address(a.kind, a.at);
}

// One line per relay: node id, flags, addresses, expiry.
std::string describe(const Directory& dir);

}  // namespace zmesh::discovery
