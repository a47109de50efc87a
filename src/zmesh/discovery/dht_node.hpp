#pragma once
// zmesh's own DHT: an OpenDHT node (Kademlia) in every node that enables it, on a private
// network id so it never mixes with the public OpenDHT network. Relays store their signed
// descriptor under one well-known key; clients read every value under it and verify each
// descriptor themselves, so DHT nodes can withhold entries but not forge them.
// OpenDHT runs its own threads; results are handed to the node's executor.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "zmesh/core/bytes.hpp"
#include "zmesh/crypto/identity.hpp"
#include "zmesh/link/service.hpp"

namespace dht {
class DhtRunner;
}

namespace zmesh::discovery {

inline constexpr std::uint64_t kDhtNetwork = 0x7a6d657368;  // "zmesh"
inline constexpr std::size_t kMaxDhtValuesPerLookup = 4096;

class DhtNode {
  public:
    // Throws std::runtime_error when the port cannot be bound.
    DhtNode(boost::asio::any_io_executor ex, const link::SocketAddress& bind);
    ~DhtNode();
    DhtNode(const DhtNode&) = delete;
    DhtNode& operator=(const DhtNode&) = delete;

    void bootstrap(const std::vector<link::SocketAddress>& nodes);
    link::SocketAddress local_address() const;
    // Stores (and keeps storing) this relay's descriptor; a newer one replaces it.
    void publish(const crypto::NodeId& id, const Bytes& descriptor);
    // Reads every descriptor under the relay key; `each` runs on the executor per value,
    // at most kMaxDhtValuesPerLookup per lookup.
    void lookup(std::function<void(Bytes)> each);
    std::size_t good_nodes() const;
    // Leaves the network and joins OpenDHT's threads: no callback runs afterwards.
    void stop();

  private:
    boost::asio::any_io_executor ex_;
    std::unique_ptr<dht::DhtRunner> runner_;
    std::shared_ptr<std::atomic<bool>> alive_;
};

}  // namespace zmesh::discovery
