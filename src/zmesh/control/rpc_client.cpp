#include "zmesh/control/rpc_client.hpp"

#include <grpcpp/grpcpp.h>

#include "zmesh/control/v1/control.grpc.pb.h"

namespace zmesh::control {

namespace {
constexpr int kMaxReplyBytes = 64 << 20;
}  // namespace

struct ControlClient::Stub {
    std::unique_ptr<v1::Control::Stub> stub;
};

ControlClient::ControlClient(std::string target, std::string token)
    : target_(std::move(target)), token_(std::move(token)), stub_(std::make_unique<Stub>()) {
    std::string uri = target_.starts_with("/") ? "unix:" + target_ : target_;
    // ListRelays of a node knowing 10,000 relays with families can pass gRPC's 4 MiB default.
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxReplyBytes);
    channel_ = grpc::CreateCustomChannel(uri, grpc::InsecureChannelCredentials(), args);
    stub_->stub = v1::Control::NewStub(channel_);
}

ControlClient::~ControlClient() = default;

namespace {

void prepare(grpc::ClientContext& ctx, const std::string& token, bool deadline) {
    if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace

CallResult ControlClient::explain(const grpc::Status& st) const {
    if (st.ok()) return {};
    switch (st.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return {false, "no zmesh daemon answers at " + target_ +
                               " (is `zmesh node` running? --control names another socket)"};
        case grpc::StatusCode::ABORTED:  // the daemon is shutting down
            return {false, st.error_message()};
        case grpc::StatusCode::UNAUTHENTICATED:
            return {false, "the daemon refused the control token: " + st.error_message()};
        default:
            return {false, "the daemon answered: " + st.error_message()};
    }
}

template <class Req, class Resp, class Method>
CallResult ControlClient::unary(Method method, const Req& req, Resp& out) {
    grpc::ClientContext ctx;
    prepare(ctx, token_, true);
    return explain(((*stub_->stub).*method)(&ctx, req, &out));
}

CallResult ControlClient::status(v1::NodeStatus& out) {
    return unary(&v1::Control::Stub::GetStatus, v1::GetStatusRequest{}, out);
}
CallResult ControlClient::circuits(v1::ListCircuitsResponse& out) {
    return unary(&v1::Control::Stub::ListCircuits, v1::ListCircuitsRequest{}, out);
}
CallResult ControlClient::streams(v1::ListStreamsResponse& out) {
    return unary(&v1::Control::Stub::ListStreams, v1::ListStreamsRequest{}, out);
}
CallResult ControlClient::peers(v1::ListPeersResponse& out) {
    return unary(&v1::Control::Stub::ListPeers, v1::ListPeersRequest{}, out);
}
CallResult ControlClient::relays(v1::ListRelaysResponse& out) {
    return unary(&v1::Control::Stub::ListRelays, v1::ListRelaysRequest{}, out);
}
CallResult ControlClient::new_identity(v1::NewIdentityResponse& out) {
    return unary(&v1::Control::Stub::NewIdentity, v1::NewIdentityRequest{}, out);
}
CallResult ControlClient::close_circuit(std::uint64_t id, v1::CloseCircuitResponse& out) {
    v1::CloseCircuitRequest req;
    req.set_id(id);
    return unary(&v1::Control::Stub::CloseCircuit, req, out);
}
CallResult ControlClient::metrics(v1::GetMetricsRequest::Format format,
                                  v1::GetMetricsResponse& out) {
    v1::GetMetricsRequest req;
    req.set_format(format);
    return unary(&v1::Control::Stub::GetMetrics, req, out);
}

CallResult ControlClient::events(const std::function<bool(const v1::Event&)>& on_event) {
    grpc::ClientContext ctx;
    prepare(ctx, token_, false);
    auto reader = stub_->stub->Events(&ctx, v1::EventsRequest{});
    v1::Event e;
    while (reader->Read(&e)) {
        if (!on_event(e)) {
            ctx.TryCancel();
            break;
        }
    }
    auto st = reader->Finish();
    if (st.error_code() == grpc::StatusCode::CANCELLED) return {};
    return explain(st);
}

}  // namespace zmesh::control
