#pragma once
// A node's circuit layer on its live links: routes cells between the links and the
// relay and client circuit tables, opens links to next hops on request (IK between
// relays, NK from a client to its first hop; over the hop's addresses in the node's
// transport order, the next one when a link fails to open) and runs the tables' timers.

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <unordered_map>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/circuit/relay_table.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/link/link_set.hpp"

namespace zmesh::circuit {

// How a client names a relay it knows: identity, onion key and where its links listen.
PathHop make_path_hop(const crypto::Identity& identity, const crypto::X25519Public& onion,
                      std::vector<link::LinkAddress> addresses);
PathHop make_path_hop(const crypto::NodeId& id, const crypto::X25519Public& link_key,
                      const crypto::X25519Public& onion, std::vector<link::LinkAddress> addresses);

struct NodeConfig {
    RelayConfig relay;  // id, onion key, exit role, limits
    ClientConfig client;
    // A link not open this long is given up for the peer's next transport, if it has one
    // (a blocked UDP port never answers; the link layer alone would wait a minute).
    Duration link_attempt_timeout = std::chrono::seconds(5);
    // A transport that failed to reach a peer is tried last for that peer this long.
    Duration failed_transport_memory = std::chrono::minutes(10);
};

// Transports that recently failed per peer, at most this many remembered.
inline constexpr std::size_t kMaxFailedTransports = 4096;

class CircuitNode {
  public:
    using ClientHandler = std::function<void(const ClientEvent&)>;
    using ExitHandler = std::function<void(const LinkCircuit&, const RelayMessage&)>;
    using ClosedHandler = std::function<void(const LinkCircuit&)>;

    CircuitNode(link::LinkSet& links, NodeConfig config);
    ~CircuitNode();
    CircuitNode(const CircuitNode&) = delete;
    CircuitNode& operator=(const CircuitNode&) = delete;

    void start();
    void stop();
    // Graceful end: every client circuit closed and every relayed circuit destroyed, with
    // DESTROY cells handed to the links (which still have to send them).
    void shutdown();
    void set_require_post_quantum(bool on);

    // Client role.
    // `one_hop_ok`: a one-relay circuit, for directory fetches from a bootstrap node only
    // (it shows the client's address to that relay, as an HTTP fetch would).
    Result<CircuitHandle> build(std::vector<PathHop> path, bool one_hop_ok = false);
    Status send(CircuitHandle h, const RelayMessage& m);
    void close(CircuitHandle h);
    void on_client_event(ClientHandler h) { client_handler_ = std::move(h); }

    // Exit role: messages that end here, answers, and circuits that went away.
    void on_exit_message(ExitHandler h) { exit_handler_ = std::move(h); }
    void on_exit_closed(ClosedHandler h) { closed_handler_ = std::move(h); }
    // Relay role: the onion keys changed, a new one made or a replaced one erased (publish
    // and store them: relay().onion_keys()).
    void on_onion_keys_changed(std::function<void()> h) { keys_handler_ = std::move(h); }
    Status exit_reply(const LinkCircuit& c, const RelayMessage& m);

    const RelayTable& relay() const { return relay_; }
    RelayTable& relay() { return relay_; }
    const ClientTable& client() const { return client_; }
    link::LinkSet& link() { return link_; }

  private:
    void on_cell(link::SessionId s, const wire::Cell& cell);
    void on_link_event(const link::LinkEvent& ev);
    void request_link(bool from_client, const LinkRequest& req);
    struct Waiting;
    // Tries the addresses left in `w` until a connect starts; false when none did.
    bool connect_next(Waiting& w);
    void link_failed(const Waiting& w);
    void give_up_slow_links(TimePoint now);
    // Recently failed transports of that peer last, the rest in the node's order.
    std::vector<link::LinkAddress> addresses_to_try(const NextHop& hop, TimePoint now) const;
    void remember_failure(const Waiting& w, TimePoint now);
    void flush();
    void tick();

    link::LinkSet& link_;
    Duration link_attempt_timeout_;
    Duration failed_transport_memory_;
    std::map<std::pair<crypto::X25519Public, link::TransportKind>, TimePoint> failed_transports_;
    RelayTable relay_;
    ClientTable client_;
    RelayOutput relay_out_;
    ClientOutput client_out_;
    ClientHandler client_handler_;
    ExitHandler exit_handler_;
    ClosedHandler closed_handler_;
    std::function<void()> keys_handler_;
    // Established sessions by the peer's static key, and requests waiting for a session.
    std::unordered_map<link::SessionId, crypto::X25519Public> session_keys_;
    struct Waiting {
        bool from_client = false;
        std::uint64_t request = 0;
        crypto::X25519Public key;
        std::vector<link::LinkAddress> left;         // addresses not tried yet, best first
        std::optional<link::TransportKind> current;  // of the attempt under way, if any
        TimePoint started{};
    };
    std::unordered_multimap<link::SessionId, Waiting> waiting_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
    bool flushing_ = false;
};

}  // namespace zmesh::circuit
