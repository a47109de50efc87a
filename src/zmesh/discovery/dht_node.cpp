#include "zmesh/discovery/dht_node.hpp"

#include <opendht/dhtrunner.h>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <stdexcept>

namespace zmesh::discovery {
namespace {

const dht::InfoHash& relay_key() {
    static const dht::InfoHash key = dht::InfoHash::get("zmesh relay descriptors v1");
    return key;
}

dht::SockAddr to_sockaddr(const link::SocketAddress& a) {
    boost::asio::ip::udp::endpoint ep(a.ip, a.port);
    return dht::SockAddr(ep.data(), static_cast<socklen_t>(ep.size()));
}

}  // namespace

DhtNode::DhtNode(boost::asio::any_io_executor ex, const link::SocketAddress& bind)
    : ex_(std::move(ex)),
      runner_(std::make_unique<dht::DhtRunner>()),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
    dht::DhtRunner::Config config;
    config.dht_config.node_config.network = static_cast<dht::NetId>(kDhtNetwork);
    config.dht_config.node_config.max_store_size = 16 * 1024 * 1024;
    config.dht_config.node_config.max_store_keys = 1024;
    config.threaded = true;
    if (bind.ip.is_v4())
        config.bind4 = to_sockaddr(bind);
    else
        config.bind6 = to_sockaddr(bind);
    try {
        runner_->run(config, {});
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("cannot start the DHT: ") + e.what());
    }
}

DhtNode::~DhtNode() {
    stop();
}

void DhtNode::bootstrap(const std::vector<link::SocketAddress>& nodes) {
    std::vector<dht::SockAddr> addrs;
    for (const auto& n : nodes) addrs.push_back(to_sockaddr(n));
    if (!addrs.empty()) runner_->bootstrap(std::move(addrs));
}

link::SocketAddress DhtNode::local_address() const {
    auto sa = runner_->getBound(AF_INET);
    if (!sa) sa = runner_->getBound(AF_INET6);
    boost::asio::ip::udp::endpoint ep;
    std::memcpy(ep.data(), sa.get(), std::min<std::size_t>(sa.getLength(), sizeof(sockaddr_in6)));
    return {ep.address(), ep.port()};
}

void DhtNode::publish(const crypto::NodeId& id, const Bytes& descriptor) {
    // The value id comes from the node id, so a relay's newer descriptor replaces its older.
    dht::Value::Id vid = 0;
    for (int i = 0; i < 8; ++i) vid = (vid << 8) | id.bytes[static_cast<std::size_t>(i)];
    auto value = std::make_shared<dht::Value>(descriptor.data(), descriptor.size());
    value->id = vid;
    runner_->put(relay_key(), value, dht::DoneCallbackSimple{}, dht::time_point::max(), true);
}

void DhtNode::lookup(std::function<void(Bytes)> each) {
    auto seen = std::make_shared<std::atomic<std::size_t>>(0);
    auto alive = alive_;
    auto ex = ex_;
    runner_->get(
        relay_key(),
        [seen, alive, ex, each](const std::vector<std::shared_ptr<dht::Value>>& values) {
            for (const auto& v : values) {
                if (!*alive || seen->fetch_add(1) >= kMaxDhtValuesPerLookup) return false;
                if (v->data.size() > 4096) continue;  // not a descriptor: left for the check
                Bytes bytes(v->data.begin(), v->data.end());
                boost::asio::post(ex, [each, alive, bytes = std::move(bytes)]() mutable {
                    if (*alive) each(std::move(bytes));
                });
            }
            return true;
        },
        dht::DoneCallbackSimple{});
}

std::size_t DhtNode::good_nodes() const {
    return runner_->getNodesStats(AF_INET).good_nodes + runner_->getNodesStats(AF_INET6).good_nodes;
}

void DhtNode::stop() {
    if (!runner_ || !*alive_) return;
    *alive_ = false;
    runner_->join();
}

}  // namespace zmesh::discovery
