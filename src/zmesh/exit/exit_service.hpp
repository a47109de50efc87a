#pragma once
// The exit role: streams that end at this node are connected to their destinations.
// Names are resolved here, never at the client; the policy is checked on the resolved
// addresses (so a name cannot smuggle a private address past it).

#include <map>
#include <memory>

#include "zmesh/circuit/node.hpp"
#include "zmesh/core/clock.hpp"
#include "zmesh/exit/dialer.hpp"
#include "zmesh/exit/policy.hpp"
#include "zmesh/exit/upstream.hpp"
#include "zmesh/stream/driver.hpp"

namespace zmesh::exit {

struct ExitStats {
    std::uint64_t streams_opened = 0;
    std::uint64_t refused_policy = 0;
    std::uint64_t resolve_failed = 0;
    std::uint64_t connect_failed = 0;
    std::uint64_t streams_parked = 0;      // kept when their circuit died, for the client to resume
    std::uint64_t streams_resumed = 0;     // moved to a new circuit by the client
    std::uint64_t resume_expired = 0;      // parked past the grace period, or pushed out
    std::uint64_t resume_unknown = 0;      // ATTACH naming no stream we keep
    std::uint64_t directory_served = 0;    // bundles sent to streams asking for the directory
    std::uint64_t streams_reset = 0;       // open streams that ended abnormally (either end)
    std::uint64_t upstream_connected = 0;  // streams an upstream proxy connected
    std::uint64_t upstream_failed = 0;     // refused by an upstream proxy, or it failed
    std::uint64_t refused_ability = 0;     // .onion or .i2p names this exit cannot reach
};

struct ExitConfig {
    ExitPolicy policy;
    std::chrono::milliseconds connect_timeout{10000};
    stream::StreamConfig stream;
    // How long the streams of a dead circuit wait for the client to move them to a new
    // circuit (0: not at all), and how many may wait at once.
    std::chrono::seconds resume_grace{30};
    std::size_t max_parked = 4096;
    // false: no destination is ever connected (a bootstrap node that is not an exit).
    bool connect = true;
    // A bootstrap node's signed descriptor bundle, served to streams that ask for
    // kDirectoryTarget (unset: such streams are refused).
    std::function<Bytes()> directory;
    // Upstream proxies (docs/exits.md): .onion names go to `onion_proxy` (a Tor client),
    // .i2p names to `i2p_proxy` (an I2P router); without one such names are refused, never
    // resolved. Every other destination goes through `upstream` when set.
    std::optional<ProxyAddress> onion_proxy;
    std::optional<ProxyAddress> i2p_proxy;
    std::optional<ProxyAddress> upstream;
    // Bounds the connection to a proxy and its answer (an onion service takes a while).
    std::chrono::milliseconds upstream_timeout{60000};
};

// The stream target that asks the last hop for its directory (a bundle of signed relay
// descriptors) instead of a destination; it is not a HOST:PORT, so no real destination can
// be mistaken for it.
inline constexpr std::string_view kDirectoryTarget = "zmesh:directory";

class ExitService {
  public:
    ExitService(circuit::CircuitNode& node, ExitConfig config);
    ~ExitService();
    // For connections opened afterwards (SIGHUP).
    void set_policy(ExitPolicy policy) { cfg_.policy = std::move(policy); }
    const ExitStats& stats() const { return stats_; }
    std::size_t circuits() const { return drivers_.size(); }
    std::size_t parked() const { return parked_count_; }

  private:
    using DriverKey = std::pair<std::uint64_t, std::uint32_t>;  // link peer, circuit id
    using TokenKey = ByteArray<32>;  // SHA-256 of the token: lookups never time the token
    // A stream the client may move: where it lives, or parked between circuits.
    struct Resumable {
        stream::ResumeToken token;
        DriverKey circuit{};
        std::uint16_t stream = 0;
        std::optional<stream::MovedStream> parked;
        stream::TimePoint expires{};
    };
    std::shared_ptr<stream::MuxDriver> driver_for(const circuit::LinkCircuit& lc);
    void on_begin(const circuit::LinkCircuit& lc, std::uint16_t id, const std::string& target);
    // The way out for `host`; null (and the reason) when this exit does not go there.
    Dialer* dialer_for(std::string_view host, stream::EndReason& refusal);
    void on_attach(const circuit::LinkCircuit& lc, const stream::MuxEvent& e);
    void on_circuit_closed(const circuit::LinkCircuit& lc);
    void forget(const DriverKey& circuit, std::uint16_t id);
    void arm_sweep();
    void sweep();

    circuit::CircuitNode& node_;
    ExitConfig cfg_;
    std::map<DriverKey, std::shared_ptr<stream::MuxDriver>> drivers_;
    std::map<TokenKey, Resumable> resumable_;
    std::size_t parked_count_ = 0;
    zmesh::Timer sweep_timer_;
    bool sweep_armed_ = false;
    ExitStats stats_;
    std::unique_ptr<Dialer> direct_;
    std::unique_ptr<Dialer> onion_;
    std::unique_ptr<Dialer> i2p_;
    std::unique_ptr<Dialer> upstream_;
    // Last: they end first, so nothing reaches a service being destroyed.
    Subscription messages_;
    Subscription closed_;
};

}  // namespace zmesh::exit
