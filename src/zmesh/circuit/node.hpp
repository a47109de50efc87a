#pragma once
// A node's circuit layer on its live links: routes cells between the links and the
// relay and client circuit tables, opens links to next hops on request (IK between
// relays, NK from a client to its first hop; over the hop's addresses in the node's
// transport order, the next one when a link fails to open) and runs the tables' timers.
//
// Timers: the tables report their next deadline (pure), and this node arms one Asio timer
// for the earliest of them and of its link attempts, re-armed after every input that may
// have brought it closer. Nothing is swept periodically: a node without circuits sleeps.
//
// What comes out goes to subscribers (a cell router): the client, the exit, the directory
// and later mix and services each subscribe to what they handle and keep the returned
// Subscription; dropping it unsubscribes. Nobody replaces anyone: every subscriber of an
// event gets it, in subscription order. At most kMaxSubscribers per kind of output.

#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/circuit/relay_table.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/core/subscription.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/link/link_set.hpp"

namespace boost::asio {
class thread_pool;
}

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
    // Threads that compute CREATE handshakes (like Tor's cpuworkers), so relayed cells do
    // not wait behind them; 0: on the node's own thread.
    std::size_t handshake_workers = 0;
};

// Transports that recently failed per peer, at most this many remembered.
inline constexpr std::size_t kMaxFailedTransports = 4096;

class CircuitNode {
  public:
    using ClientHandler = std::function<void(const ClientEvent&)>;
    using MessageHandler = std::function<void(const LinkCircuit&, const RelayMessage&)>;
    using ClosedHandler = std::function<void(const LinkCircuit&)>;
    using KeysHandler = std::function<void()>;

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

    // Subscriptions. Each fails with Errc::exhausted past kMaxSubscribers.
    // Client role: events of every circuit this node builds (built, failed, closed,
    // messages); a consumer picks its own circuits by handle. build() may report at once.
    Result<Subscription> subscribe_client(ClientHandler h);
    // Relay role (exit, directory, services): messages that end at this node, for the
    // commands a consumer handles; answers go back with exit_reply(). A message whose
    // command nobody handles is dropped and counted (unhandled_messages()).
    Result<Subscription> subscribe_messages(RelayCommandSet commands, MessageHandler h);
    // Circuits ending here that went away: consumers forget what they kept for them.
    Result<Subscription> subscribe_closed(ClosedHandler h);
    // The onion keys changed, a new one made or a replaced one erased (publish and store
    // them: relay().onion_keys()).
    Result<Subscription> subscribe_onion_keys(KeysHandler h);
    Status exit_reply(const LinkCircuit& c, const RelayMessage& m);
    std::uint64_t unhandled_messages() const { return unhandled_messages_; }

    const RelayTable& relay() const { return relay_; }
    // Changes through it that may bring a timer closer (onion keys added, a shorter idle
    // timeout) must be followed by reschedule().
    RelayTable& relay() { return relay_; }
    // Options that may change while running (SIGHUP).
    void set_idle_timeout(Duration d);
    // Takes the tables' deadlines again and re-arms the timer.
    void reschedule();
    // The earliest deadline of the tables and the link attempts (what the timer is armed
    // for after the next input); nullopt: none.
    std::optional<TimePoint> next_deadline();
    // When the timer next fires (nullopt: it does not wait), and how often it fired.
    std::optional<TimePoint> armed_deadline() const { return armed_; }
    std::uint64_t timer_wakeups() const { return wakeups_; }
    // Wake-ups that came more than kLateWakeup late and were put off once (see limits.hpp).
    std::uint64_t late_wakeups() const { return late_wakeups_; }
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
    void publish(const RelayOutput& r, const ClientOutput& c);
    // Computes a CREATE's handshake on a worker; the answer comes back to this thread.
    void run_handshake(HandshakeJob job);
    // Arms the timer for the earliest deadline, if earlier than the one it waits for.
    void arm_timer();
    void wait_until(TimePoint at);
    void rescan_relay();  // the relay table's next deadline, exactly
    void on_timer();

    link::LinkSet& link_;
    Duration link_attempt_timeout_;
    Duration failed_transport_memory_;
    std::map<std::pair<crypto::X25519Public, link::TransportKind>, TimePoint> failed_transports_;
    RelayTable relay_;
    ClientTable client_;
    RelayOutput relay_out_;
    ClientOutput client_out_;
    // What flush() works through while handlers fill the two above: swapped, not moved,
    // so their vectors keep their capacity (no allocation per forwarded cell).
    RelayOutput relay_work_;
    ClientOutput client_work_;
    using MessageSubscribers = Subscribers<const LinkCircuit&, const RelayMessage&>;
    Subscribers<const ClientEvent&> client_subs_{kMaxSubscribers};
    std::vector<std::unique_ptr<MessageSubscribers>> message_subs_;  // by relay command
    Subscribers<const LinkCircuit&> closed_subs_{kMaxSubscribers};
    Subscribers<> keys_subs_{kMaxSubscribers};
    std::uint64_t unhandled_messages_ = 0;
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
    zmesh::Timer timer_;
    std::optional<TimePoint> armed_;  // when the timer fires, if it waits
    std::uint64_t wakeups_ = 0;
    TimePoint last_tick_{};    // the timer's last wake-up (kMinTimerGap from the next)
    bool late_grace_ = false;  // this wake-up was put off once for lateness (kLateWakeup)
    TimePoint grace_until_{};  // ... until then
    TimePoint armed_when_{};   // when the pending wait began
    std::uint64_t late_wakeups_ = 0;
    // The relay table's deadline, scanned again only when something other than relay
    // cells passed (relay cells only push idle deadlines later): a relay may hold many
    // circuits. A stale deadline is early, never late: the timer then fires once for
    // nothing and takes the next one.
    std::optional<TimePoint> relay_deadline_;
    bool relay_dirty_ = true;
    bool running_ = false;  // between start() and stop(): the timer may be armed
    std::shared_ptr<char> alive_ = std::make_shared<char>();  // expires with this node
    bool flushing_ = false;
    // Last: joined first, before anything a finished handshake could reach.
    std::unique_ptr<boost::asio::thread_pool> workers_;
};

}  // namespace zmesh::circuit
