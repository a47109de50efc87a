#pragma once
// The exit role: streams that end at this node are connected to their destinations.
// Names are resolved here, never at the client; the policy is checked on the resolved
// addresses (so a name cannot smuggle a private address past it).

#include <map>
#include <memory>

#include "zmesh/circuit/node.hpp"
#include "zmesh/exit/policy.hpp"
#include "zmesh/stream/driver.hpp"

namespace zmesh::exit {

struct ExitStats {
    std::uint64_t streams_opened = 0;
    std::uint64_t refused_policy = 0;
    std::uint64_t resolve_failed = 0;
    std::uint64_t connect_failed = 0;
};

struct ExitConfig {
    ExitPolicy policy;
    std::chrono::milliseconds connect_timeout{10000};
    stream::StreamConfig stream;
};

// "host:port" or "[v6]:port"; nullopt when malformed. Port 0 is refused unless allowed
// (a listen address may ask for any port; a destination may not).
struct Target {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<Target> parse_target(std::string_view text, bool allow_port_zero = false);

class ExitService {
  public:
    ExitService(circuit::CircuitNode& node, ExitConfig config);
    // For connections opened afterwards (SIGHUP).
    void set_policy(ExitPolicy policy) { cfg_.policy = std::move(policy); }
    const ExitStats& stats() const { return stats_; }
    std::size_t circuits() const { return drivers_.size(); }

  private:
    std::shared_ptr<stream::MuxDriver> driver_for(const circuit::LinkCircuit& lc);
    void on_begin(const circuit::LinkCircuit& lc, std::uint16_t id, const std::string& target);

    circuit::CircuitNode& node_;
    ExitConfig cfg_;
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::shared_ptr<stream::MuxDriver>> drivers_;
    ExitStats stats_;
};

}  // namespace zmesh::exit
