#pragma once
// Link service over WebRTC data channels: to an observer, the ICE/DTLS/SCTP traffic of a
// video call's data channel. Each neighbour is one peer connection (see
// transport/webrtc/peer.hpp) carrying link packets, one per message, on an unordered
// channel without retransmission: a lost packet costs the stream layer a repair or a
// resend, never head-of-line blocking in the link.
//
// Signaling: a node that accepts WebRTC links listens for WebSocket connections on its
// signaling address (HTTP upgrade on `signal_path`). A dialer sends {"type":"offer",
// "sdp":...} with all its candidates, the node answers {"type":"answer","sdp":...} (or
// {"type":"error","reason":...}) and the WebSocket closes; ICE, DTLS and SCTP then run
// directly between the two. A node's advertised WebRTC address is its signaling address.
//
// The browser check (test_page non-empty) serves a page that exchanges binary messages
// with an echo over a WebSocket and over an RTCPeerConnection data channel, and reports
// its verdict back to the node's log.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <deque>
#include <memory>
#include <unordered_map>

#include "zmesh/core/clock.hpp"
#include "zmesh/link/service.hpp"
#include "zmesh/transport/webrtc/peer.hpp"

namespace zmesh::link {

inline constexpr std::size_t kMaxSignalMessage = 32 * 1024;
inline constexpr std::size_t kMaxRtcQueued = 256;  // packets waiting for the channel to open

struct WebRtcOptions {
    std::string signal_path = "/zmesh-rtc";
    transport::webrtc::PeerConfig peer;  // local addresses, STUN and TURN servers
    std::string test_page;               // browser check page; empty: off
    // Signaling inside TLS (wss://), as a web application's would be: the listener's
    // certificate (null: plain ws://), and whether to connect with TLS. Every node of a
    // network must agree on it.
    std::shared_ptr<boost::asio::ssl::context> server_tls;
    bool connect_tls = false;
};

class WebRtcLink final : public LinkService {
  public:
    WebRtcLink(asio::any_io_executor ex, EndpointConfig config, const SocketAddress& listen,
               WebRtcOptions options);
    ~WebRtcLink() override;
    void start() override;
    void stop() override;
    // `to` is the peer's signaling address.
    Result<SessionId> connect(const SocketAddress& to, const crypto::X25519Public& key,
                              noise::Pattern pattern) override;
    SocketAddress local_address() const override;
    TransportKind transport_kind() const override {
        return opt_.connect_tls || opt_.server_tls ? TransportKind::webrtc_tls
                                                   : TransportKind::webrtc;
    }
    std::vector<std::pair<std::string_view, std::uint64_t>> transport_counters() const override;
    std::optional<SocketAddress> peer_address(const PeerAddress& p) const override;
    std::size_t connection_count() const { return peers_.size(); }
    // Signaling requests refused: wrong path, bad or oversized offers, bad descriptions.
    std::uint64_t refused_requests() const { return refused_; }
    // Peer connections that failed (ICE, DTLS fingerprint, SCTP) or timed out opening.
    std::uint64_t failed_connections() const { return failed_; }
    const std::string& fingerprint() const { return fingerprint_; }

  private:
    struct Peer {
        std::uint64_t id = 0;
        std::shared_ptr<transport::webrtc::PeerConnection> pc;
        SocketAddress remote;
        bool echo = false;  // the browser check's echo, not a link neighbour
        std::deque<Bytes> queued;
        std::unique_ptr<zmesh::Timer> deadline;  // until the channel opens
    };
    void transmit(std::vector<Outgoing>& packets) override;
    std::shared_ptr<Peer> make_peer(bool offerer, bool echo, SocketAddress remote);
    void drop(std::uint64_t id, const std::string& why);
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(asio::ip::tcp::socket socket);
    template <class Stream>
    asio::awaitable<void> serve_on(Stream stream, SocketAddress remote);
    template <class Ws>
    asio::awaitable<std::optional<std::string>> signal_over(Ws& ws, const SocketAddress& to,
                                                            const std::string& offer,
                                                            std::string& why);
    asio::awaitable<void> dial(std::shared_ptr<Peer> p, SocketAddress to);
    asio::awaitable<void> open_deadline(std::shared_ptr<Peer> p);

    WebRtcOptions opt_;
    std::shared_ptr<transport::webrtc::Certificate> cert_;
    std::string fingerprint_;
    std::shared_ptr<boost::asio::ssl::context> client_tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::unordered_map<std::uint64_t, std::shared_ptr<Peer>> peers_;
    std::uint64_t next_peer_ = 1;
    std::uint64_t refused_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t closed_refused_ = 0;  // counts of connections that closed
    std::uint64_t closed_send_drops_ = 0;
};

}  // namespace zmesh::link
