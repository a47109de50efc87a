#pragma once
// One WebRTC data-channel connection, as browsers make them (RFC 8825 family):
// ICE (RFC 8445) through libnice, DTLS 1.2 through OpenSSL with the peer's certificate
// checked against the fingerprint of its session description, SCTP (RFC 8261) through
// usrsctp over the DTLS records, and one data channel opened with DCEP (RFC 8832).
//
// Threads: libnice runs on one glib thread for the process, usrsctp on its own; what they
// deliver is posted to the Asio executor given at creation, where every callback runs.
// send() may be called from that executor at any time.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/core/result.hpp"
#include "zmesh/transport/webrtc/dcep.hpp"
#include "zmesh/transport/webrtc/sdp.hpp"

namespace zmesh::transport::webrtc {

struct TurnServer {
    std::string host;  // IP address (libnice does not resolve names)
    std::uint16_t port = 3478;
    std::string user;
    std::string password;
};

struct PeerConfig {
    // Addresses to gather host candidates on. Empty: every interface but loopback, as
    // browsers do. Tests and loopback networks give {"127.0.0.1"}.
    std::vector<std::string> local_addresses;
    std::string stun_host;  // IP address of a STUN server; empty: none
    std::uint16_t stun_port = 3478;
    std::vector<TurnServer> turn;
    std::size_t max_message = 64 * 1024;     // larger messages are refused both ways
    std::size_t max_send_buffer = 4u << 20;  // SCTP send buffer, bytes
    std::string label = "zmesh";             // of the channel we open as offerer
};

// A self-signed ECDSA P-256 certificate (a DTLS identity, or a TLS one for a node
// without its own) and its SHA-256 fingerprint.
class Certificate {
  public:
    static std::shared_ptr<Certificate> generate(const std::string& name = "WebRTC", int days = 30);
    ~Certificate();
    const ByteArray<32>& fingerprint() const { return fingerprint_; }
    void* x509() const { return x509_; }
    void* key() const { return key_; }

  private:
    Certificate() = default;
    void* x509_ = nullptr;  // X509*
    void* key_ = nullptr;   // EVP_PKEY*
    ByteArray<32> fingerprint_{};
};

struct PeerStats {
    std::atomic<std::uint64_t> messages_in{0}, messages_out{0};
    std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0};
    std::atomic<std::uint64_t> send_drops{0};        // buffer full, too large, not open
    std::atomic<std::uint64_t> refused_messages{0};  // oversized or unknown payload type
};

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
  public:
    struct Callbacks {
        std::function<void()> on_open;                      // the data channel is open
        std::function<void(Bytes)> on_message;              // a binary message
        std::function<void(const std::string&)> on_closed;  // why; once, then nothing
    };

    // The offerer controls ICE and opens the data channel; the answerer waits for it.
    static std::shared_ptr<PeerConnection> create(boost::asio::any_io_executor ex,
                                                  PeerConfig config,
                                                  std::shared_ptr<Certificate> cert, bool offerer,
                                                  Callbacks callbacks);
    ~PeerConnection();
    PeerConnection(const PeerConnection&) = delete;
    PeerConnection& operator=(const PeerConnection&) = delete;

    // Gathers candidates, then calls `done` (on the executor) with our description:
    // an offer, or an answer once set_remote() has been given the offer.
    void local_description(std::function<void(Result<std::string>)> done);
    // The peer's description; refused (with the reason) when unusable.
    Status set_remote(std::string_view sdp, std::string* why = nullptr);
    // Sends one binary message on the channel, unordered and without retransmission.
    // False when it was dropped (not open yet, over max_message, send buffer full).
    bool send(ByteView message);
    bool is_open() const { return open_.load(); }
    // Tears everything down; on_closed is not called after this.
    void close();
    const PeerStats& stats() const;

    struct Impl;

  private:
    PeerConnection() = default;
    std::shared_ptr<Impl> impl_;
    std::atomic<bool> open_{false};
};

}  // namespace zmesh::transport::webrtc
