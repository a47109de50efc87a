#pragma once
// The CLI's side of the control API: one connection to a daemon, each call with a
// deadline and, on TCP, the bearer token.

#include <functional>
#include <memory>
#include <string>

#include "zmesh/control/v1/control.pb.h"

namespace grpc {
class Channel;
class Status;
}  // namespace grpc

namespace zmesh::control {

namespace v1 = ::zmesh::control::v1;

struct CallResult {
    bool ok = true;
    std::string error;  // a sentence for the user when !ok
};

class ControlClient {
  public:
    // target: a socket path (absolute) or a loopback HOST:PORT (then `token` is sent).
    ControlClient(std::string target, std::string token);
    ~ControlClient();

    CallResult status(v1::NodeStatus& out);
    CallResult circuits(v1::ListCircuitsResponse& out);
    CallResult streams(v1::ListStreamsResponse& out);
    CallResult peers(v1::ListPeersResponse& out);
    CallResult relays(v1::ListRelaysResponse& out);
    CallResult new_identity(v1::NewIdentityResponse& out);
    CallResult close_circuit(std::uint64_t id, v1::CloseCircuitResponse& out);
    CallResult metrics(v1::GetMetricsRequest::Format format, v1::GetMetricsResponse& out);
    // Calls on_event for each event until it returns false or the daemon ends the stream.
    CallResult events(const std::function<bool(const v1::Event&)>& on_event);

    const std::string& target() const { return target_; }

  private:
    template <class Req, class Resp, class Method>
    CallResult unary(Method method, const Req& req, Resp& out);
    CallResult explain(const grpc::Status& st) const;

    std::string target_;
    std::string token_;
    std::shared_ptr<grpc::Channel> channel_;
    struct Stub;
    std::unique_ptr<Stub> stub_;
};

}  // namespace zmesh::control
