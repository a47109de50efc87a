#pragma once
// Node's insides, shared by node.cpp (assembly, start and stop, discovery loops, paths)
// and node_status.cpp (status, listings, metrics). Not part of the node's interface.

#include <boost/asio/awaitable.hpp>
#include <map>

#include "zmesh/circuit/node.hpp"
#include "zmesh/client/pool.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/discovery/dht_node.hpp"
#include "zmesh/discovery/directory_http.hpp"
#include "zmesh/discovery/observed_bandwidth.hpp"
#include "zmesh/discovery/relay_service.hpp"
#include "zmesh/exit/exit_service.hpp"
#include "zmesh/link/link_set.hpp"
#include "zmesh/link/udp_link.hpp"
#include "zmesh/node/bootstrap_progress.hpp"
#include "zmesh/node/limits.hpp"
#include "zmesh/node/node.hpp"

namespace zmesh::node {

namespace asio = boost::asio;

std::uint64_t unix_now();

class Node::Impl {
  public:
    Impl(asio::any_io_executor ex, Options o) : ex_(std::move(ex)), opts_(std::move(o)) {}

    // node.cpp
    bool start(std::string* error);
    void stop(std::function<void()> done);
    std::vector<std::string> reconfigure(const Options& fresh);
    void emit(Event::Kind kind, std::uint64_t circuit, std::string detail);
    void open_stream(const std::string& host, std::uint16_t port, const std::string& isolation,
                     OpenCallback done);
    std::size_t new_identity();

    // node_bootstrap.cpp: the progress of the start-up, reported by the steps' code.
    std::vector<PlannedStep> bootstrap_plan() const;
    void start_progress();
    void started_progress();  // keys and links done: the rest comes later
    void progress(BootstrapStep step, std::string what);
    void progress_failed(BootstrapStep step, std::string why);
    void report(std::string line, bool stuck);
    void check_enough_relays();

    // node_status.cpp
    Status status() const;
    std::vector<CircuitInfo> circuits() const;
    std::vector<StreamInfo> streams() const;
    std::vector<PeerInfo> peers() const;
    std::vector<RelayInfo> relays() const;
    void collect_metrics(Snapshot& into, const Labels& labels, bool with_fec) const;

    asio::any_io_executor ex_;
    Options opts_;
    zmesh::Clock::time_point started_ = zmesh::Clock::now();
    bool running_ = false;
    bool stopping_ = false;
    bool stopped_ = false;  // links and circuits stopped after the grace
    std::optional<crypto::Identity> identity_;
    std::optional<crypto::Identity> onion_;  // its X25519 key is the onion key
    std::unique_ptr<link::LinkSet> links_;
    link::UdpLink* udp_ = nullptr;
    std::unique_ptr<circuit::CircuitNode> circuits_;
    std::unique_ptr<exit::ExitService> exit_;
    std::shared_ptr<stream::FecCounters> fec_counters_;
    std::unique_ptr<client::ClientPool> pool_;
    // Known relays (configured and from the directory), their scores, blacklist and
    // guards, and path choice.
    discovery::RelayService relays_;
    discovery::Directory& directory_ = relays_.directory();
    std::unique_ptr<discovery::DirectoryServer> directory_server_;
    std::unique_ptr<discovery::DhtNode> dht_;
    std::vector<link::LinkAddress> advertised_;  // where others reach this relay's links
    std::optional<Contact> contact_;
    std::optional<BootstrapNode> bootstrap_;
    // One timer per background loop (a shared one would cancel the other's wait).
    std::unique_ptr<zmesh::Timer> save_timer_;
    std::unique_ptr<zmesh::Timer> publish_timer_;
    std::unique_ptr<zmesh::Timer> fetch_timer_;
    std::unique_ptr<zmesh::Timer> bootstrap_timer_;  // stuck warnings until ready
    std::unique_ptr<zmesh::Timer> bandwidth_timer_;  // relays: samples of bytes carried
    // What this relay has carried (its descriptor's bandwidth), the figure in the last
    // descriptor made and when it was made.
    discovery::ObservedBandwidth observed_;
    std::uint64_t published_bandwidth_ = 0;
    zmesh::Clock::time_point published_at_{};
    std::optional<BootstrapProgress> progress_;  // from the start of start()
    std::function<void(const BootstrapReport&)> bootstrap_handler_;
    std::vector<Listener> listeners_;
    std::map<std::uint64_t, std::function<void(const Event&)>> subscribers_;
    std::uint64_t next_subscription_ = 1;
    std::vector<std::function<void(Snapshot&, const Labels&)>> metric_sources_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for posted work
    // The node's own subscriptions to its circuit layer (relay scoring, onion key files).
    Subscription circuit_results_;
    Subscription onion_keys_sub_;

  private:
    bool open_keys(std::string* error);
    bool start_links(std::string* error);
    void start_circuits();
    void advertise();
    void start_client();
    bool start_discovery(std::string* error);
    stream::StreamConfig stream_config() const;
    std::optional<exit::ExitPolicy> exit_policy() const;
    // The exit abilities this node advertises (discovery::kFlagOnion, ...).
    std::uint8_t exit_abilities() const;
    std::uint32_t reachable_transports() const;
    std::vector<circuit::PathHop> pick_path(const client::PathRequest& req);
    void on_circuit_result(const circuit::ClientEvent& ev);
    void save_peers();
    Bytes make_descriptor();
    void restore_previous_onion_key(zmesh::Clock::time_point current_created);
    void save_onion_keys();
    void set_relays(const std::vector<Contact>& relays);
    asio::awaitable<void> save_loop();
    asio::awaitable<void> publish_loop();
    asio::awaitable<void> bandwidth_loop();
    std::uint64_t bytes_carried() const;
    asio::awaitable<void> fetch_loop();
    asio::awaitable<std::size_t> fetch_from(const BootstrapNode& b);
    asio::awaitable<std::optional<Bytes>> fetch_over_link(const Contact& bootstrap);
    asio::awaitable<bool> sleep(zmesh::Timer& timer, zmesh::Clock::duration d);
    void apply_shaping();
    asio::awaitable<void> bootstrap_watch();
};

}  // namespace zmesh::node
