#pragma once
// The control API's messages from a node's plain structs: the gRPC service holds no logic
// of its own, it translates what node::Node reports.

#include <string>
#include <vector>

#include "zmesh/control/v1/control.pb.h"
#include "zmesh/node/metrics.hpp"
#include "zmesh/node/node.hpp"

namespace zmesh::control {

namespace v1 = ::zmesh::control::v1;

// What the daemon knows and the node does not.
struct DaemonFacts {
    std::uint32_t pid = 0;
    std::string user;
    std::string config_file;
    std::uint64_t reloads = 0;
    bool seccomp = false;
    std::vector<node::Listener> listeners;  // the front ends' (SOCKS5, metrics, control)
};

v1::NodeStatus to_proto(const node::Status& n, const DaemonFacts& d);
v1::ListCircuitsResponse to_proto(const std::vector<node::CircuitInfo>& list);
v1::ListStreamsResponse to_proto(const std::vector<node::StreamInfo>& list);
v1::ListPeersResponse to_proto(const std::vector<node::PeerInfo>& list);
v1::ListRelaysResponse to_proto(const std::vector<node::RelayInfo>& list);
// The snapshot in the format asked for, with its content type.
v1::GetMetricsResponse render(const node::Snapshot& snap, v1::GetMetricsRequest::Format f);

}  // namespace zmesh::control
