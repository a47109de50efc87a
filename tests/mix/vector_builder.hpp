#pragma once
// Builds one Sphinx vector (inputs, every draw of randomness, the packet, each hop's
// result) as JSON. make_vectors.cpp writes them; vectors_test.cpp rebuilds each from the
// file's inputs and draws and compares the whole object.

#include <nlohmann/json.hpp>

#include "mix/test_rng.hpp"
#include "zmesh/mix/sphinx.hpp"

namespace zmesh::mix::test {

struct VectorInput {
    std::string name;
    bool surb = false;
    std::vector<crypto::NodeId> nodes;
    std::vector<crypto::X25519Secret> secrets;
    std::vector<std::uint32_t> delays_ms;
    Address destination;
    Bytes message;
};

inline std::string hex(ByteView b) {
    return to_hex(b);
}
inline Bytes unhex(const nlohmann::json& j) {
    auto b = from_hex(j.get<std::string>());
    if (!b) throw std::runtime_error("bad hex in vector");
    return *b;
}

// `rng` supplies the draws; they are recorded in the vector through `draws`.
inline nlohmann::json build_vector(const VectorInput& in, const RandomFill& rng,
                                   const std::vector<Bytes>& draws) {
    nlohmann::json v;
    v["name"] = in.name;
    v["kind"] = in.surb ? "surb" : "forward";
    std::vector<Hop> path;
    for (std::size_t i = 0; i < in.nodes.size(); ++i) {
        const auto kp = crypto::X25519KeyPair::from_secret(in.secrets[i]);
        path.push_back(Hop{in.nodes[i], kp.pub, std::chrono::milliseconds(in.delays_ms[i])});
        v["hops"].push_back({{"node", hex(in.nodes[i].view())},
                             {"mix_secret", hex(in.secrets[i].view())},
                             {"mix_public", hex(kp.pub.view())},
                             {"delay_ms", in.delays_ms[i]}});
    }
    v["destination"] = hex(in.destination.view());
    v["message"] = hex(in.message);
    std::optional<SurbSecrets> secrets;
    Packet packet;
    if (in.surb) {
        auto s = create_surb(path, in.destination, rng);
        if (!s) throw std::runtime_error("create_surb failed");
        v["surb_id"] = hex(s->secrets.id.view());
        v["surb_header"] = hex(s->surb.header);
        v["surb_payload_key"] = hex(s->surb.payload_key.view());
        secrets = s->secrets;
        auto c = use_surb(s->surb, in.message);
        if (!c) throw std::runtime_error("use_surb failed");
        packet = c->packet;
    } else {
        auto c = create_packet(path, in.destination, in.message, rng);
        if (!c) throw std::runtime_error("create_packet failed");
        packet = c->packet;
    }
    v["rng"] = nlohmann::json::array();
    for (const auto& d : draws) v["rng"].push_back(hex(d));
    v["packet"] = hex(packet);
    v["steps"] = nlohmann::json::array();
    for (std::size_t i = 0; i < in.nodes.size(); ++i) {
        auto r = process_packet(in.secrets[i], packet, detail::no_replay_check);
        if (!r) throw std::runtime_error("process_packet failed: " + r.error().message());
        nlohmann::json step{{"tag", hex(r->tag.view())}};
        if (const auto* f = std::get_if<Forward>(&r->action)) {
            step["action"] = "forward";
            step["next"] = hex(f->next.view());
            step["delay_ms"] = f->delay.count();
            step["packet"] = hex(f->packet);
            packet = f->packet;
        } else if (const auto* d = std::get_if<Deliver>(&r->action)) {
            step["action"] = "deliver";
            step["destination"] = hex(d->destination.view());
            step["delay_ms"] = d->delay.count();
            step["message"] = hex(d->message);
        } else {
            const auto& dr = std::get<DeliverReply>(r->action);
            step["action"] = "deliver_reply";
            step["destination"] = hex(dr.destination.view());
            step["delay_ms"] = dr.delay.count();
            step["surb_id"] = hex(dr.surb_id.view());
            step["payload"] = hex(dr.payload);
            auto opened = open_surb_reply(*secrets, dr.payload);
            if (!opened) throw std::runtime_error("open_surb_reply failed");
            step["opened"] = hex(*opened);
        }
        v["steps"].push_back(step);
    }
    return v;
}

// The inputs of a vector from its JSON (the file's, or the generator's own).
inline VectorInput input_of(const nlohmann::json& v) {
    VectorInput in;
    in.name = v.at("name").get<std::string>();
    in.surb = v.at("kind") == "surb";
    for (const auto& h : v.at("hops")) {
        in.nodes.push_back(*crypto::NodeId::from(unhex(h.at("node"))));
        in.secrets.push_back(*crypto::X25519Secret::from(unhex(h.at("mix_secret"))));
        in.delays_ms.push_back(h.at("delay_ms").get<std::uint32_t>());
    }
    in.destination = *Address::from(unhex(v.at("destination")));
    in.message = unhex(v.at("message"));
    return in;
}

}  // namespace zmesh::mix::test
