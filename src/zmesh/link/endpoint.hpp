#pragma once
// The link endpoint: every link session of one node on one transport, as a pure state
// machine. Packets and the time go in; packets to send, delivered cells and events come
// out. The I/O around it (UDP, TCP) lives in transport-specific drivers.

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "zmesh/link/cookie.hpp"
#include "zmesh/link/limits.hpp"
#include "zmesh/link/noise/handshake.hpp"
#include "zmesh/link/packet.hpp"
#include "zmesh/link/reassembly.hpp"
#include "zmesh/link/replay_window.hpp"
#include "zmesh/link/stats.hpp"

namespace zmesh::link {

// Where a packet came from or goes to: IPv6 (or v4-mapped) address and port for UDP, a
// connection number for TCP. The endpoint only compares it and feeds it to cookies.
struct PeerAddress {
    ByteArray<18> bytes{};
    bool operator==(const PeerAddress&) const = default;
    auto operator<=>(const PeerAddress&) const = default;
};

using SessionId = std::uint64_t;

struct Outgoing {
    PeerAddress to;
    Packet packet;
};

struct Delivered {
    SessionId session = 0;
    wire::Cell cell;
};

struct LinkEvent {
    enum class Kind { established, rekeyed, closed };
    Kind kind;
    SessionId session;
    std::optional<crypto::X25519Public> remote_static;  // known for IK and XK peers
};

struct Output {
    std::vector<Outgoing> packets;
    std::vector<Delivered> cells;
    std::vector<LinkEvent> events;
    void clear() {
        packets.clear();
        cells.clear();
        events.clear();
    }
};

struct EndpointConfig {
    crypto::X25519KeyPair static_key;
    noise::Suite suite;  // used for handshakes this endpoint starts
    LinkLimits limits;
    // Handshakes this endpoint starts mix in ML-KEM-768 (Noise HFS): recorded traffic
    // stays confidential against a future quantum computer.
    bool hybrid = true;
    // Refuse peers whose handshakes are classical only.
    bool require_post_quantum = false;
};

class Endpoint {
  public:
    explicit Endpoint(EndpointConfig config);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    // Starts a session to a peer whose static key is known. NK keeps this side anonymous.
    Result<SessionId> connect(const PeerAddress& to, const crypto::X25519Public& remote_static,
                              noise::Pattern pattern, TimePoint now, Output& out);
    // Any packet from the transport. Bad input is dropped and counted, never thrown.
    void on_packet(const PeerAddress& from, ByteView packet, TimePoint now, Output& out);
    // Queues the cell until the session has keys; fails when the queue is full.
    Status send_cell(SessionId id, const wire::Cell& cell, TimePoint now, Output& out);
    // Timers: retransmission, rekey, keepalive, dead-peer detection, expiry.
    void on_tick(TimePoint now, Output& out);
    // When on_tick() next has work; nullopt when no timer runs (no sessions, no partial
    // handshakes). Never later than the true next timer; it may be earlier (a keepalive
    // postponed by traffic since it was computed), and then on_tick() at that time does
    // nothing and the next call gives the time after. Cached: data packets do not rescan
    // the sessions.
    std::optional<TimePoint> next_deadline();
    void close(SessionId id, Output& out);

    bool established(SessionId id) const;
    std::size_t session_count() const { return sessions_.size(); }
    // What a session looks like from outside, for the control API.
    struct SessionInfo {
        SessionId id = 0;
        PeerAddress address;
        bool initiator = false;
        bool established = false;
        bool hybrid = false;
        std::optional<crypto::X25519Public> remote_static;  // unknown for anonymous NK peers
        TimePoint created{};
        TimePoint last_received{};
    };
    std::vector<SessionInfo> sessions() const;
    const LinkStats& stats() const { return stats_; }
    const crypto::X25519Public& static_public() const { return cfg_.static_key.pub; }
    // Session ids start after `base` (a node with several transports gives each endpoint
    // its own range). Before the first session only.
    void set_session_id_base(SessionId base) {
        if (sessions_.empty()) next_session_id_ = base + 1;
    }
    // May change while running (SIGHUP); applies to handshakes that arrive afterwards.
    void set_require_post_quantum(bool on) { cfg_.require_post_quantum = on; }

  private:
    struct Keypair;
    struct Pending;
    struct Session;

    Session* find(SessionId id);
    const Session* find(SessionId id) const;
    std::uint32_t allocate_index(SessionId id);
    Session* session_for_index(std::uint32_t index);
    void release_index(std::uint32_t index);
    void drop_keypair(std::unique_ptr<Keypair>& kp);
    void remove_session(Session& s, Output& out, bool announce);

    Status start_handshake(Session& s, TimePoint now, Output& out);
    void send_handshake(Session& s, TimePoint now, Output& out);
    void on_handshake(const PeerAddress& from, const HandshakeView& hs, TimePoint now, Output& out);
    void on_initiation(const PeerAddress& from, const HandshakeView& hs, TimePoint now,
                       Output& out);
    void process_initiation(const PeerAddress& from, const HandshakeHeader& h, ByteView message,
                            TimePoint now, Output& out);
    void on_response(const PeerAddress& from, const HandshakeView& hs, TimePoint now, Output& out);
    void on_final(const PeerAddress& from, const HandshakeView& hs, TimePoint now, Output& out);
    void on_cookie(const CookieView& c, TimePoint now, Output& out);
    void on_data(const PeerAddress& from, const DataView& d, TimePoint now, Output& out);
    std::unique_ptr<Keypair> make_keypair(const noise::HandshakeState& hs, std::uint32_t local,
                                          std::uint32_t remote, TimePoint now);
    void activate(Session& s, std::unique_ptr<Keypair> kp, TimePoint now, Output& out);
    bool usable(const Session& s, TimePoint now) const;
    void send_link_cell(Session& s, wire::CellCommand cmd, TimePoint now, Output& out);
    void seal_cell(Session& s, Keypair& kp, const wire::Cell& cell, TimePoint now, Output& out);
    void flush_queue(Session& s, TimePoint now, Output& out);
    bool under_load(const HandshakeHeader& h, TimePoint now);
    void tick_session(Session& s, TimePoint now, Output& out, std::vector<SessionId>& dead);

    EndpointConfig cfg_;
    CookieChecker checker_;
    std::unordered_map<SessionId, std::unique_ptr<Session>> sessions_;
    std::unordered_map<std::uint32_t, SessionId> indices_;
    SessionId next_session_id_ = 1;
    std::size_t half_open_ = 0;
    // First messages arriving in fragments, by source and sender index.
    Reassembly partials_;
    TimePoint load_window_start_{};
    std::uint32_t load_window_count_ = 0;
    LinkStats stats_;
    // next_deadline(): kept until something that can bring a timer closer happens.
    std::optional<TimePoint> compute_deadline() const;
    std::optional<TimePoint> deadline_;
    bool deadline_dirty_ = true;
};

}  // namespace zmesh::link
