// Issue 16, findings 5 and 6, at the circuit layer: EXTEND to internal addresses, to the
// relay itself or back to the previous hop is refused (unless a test network allows
// private addresses); onion keys rotate with an overlap, then the old key is refused;
// circuits are replaced at their maximum lifetime. Relays and a client run as pure state
// machines over an in-memory network, with a virtual clock.
#include <gtest/gtest.h>

#include <deque>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/circuit/extend_policy.hpp"
#include "zmesh/circuit/relay_table.hpp"

namespace zmesh::circuit {
namespace {

namespace ip = boost::asio::ip;
using std::chrono::hours;
using std::chrono::seconds;

link::LinkAddress udp_at(const char* address) {
    return {link::TransportKind::udp, {ip::make_address(address), 7000}};
}

// Node 0 is the client, node i > 0 relay i - 1; a node's PeerRef for a neighbour is that
// neighbour's number + 1. Link requests reach the relay whose link key they name.
class KeyNet {
  public:
    KeyNet(std::size_t relays, RelayConfig base, ClientConfig client = {}) : client_(client) {
        for (std::size_t i = 0; i < relays; ++i) {
            auto r = std::make_unique<Relay>();
            RelayConfig cfg = base;
            cfg.id = r->identity.node_id();
            cfg.onion = r->onion;
            cfg.link_key = r->identity.link.pub;
            cfg.exit = true;
            r->table = std::make_unique<RelayTable>(cfg);
            r->table->set_peer_key_lookup([this](PeerRef p) -> std::optional<crypto::X25519Public> {
                if (p < 2 || p - 2 >= relays_.size()) return std::nullopt;  // the client
                return relays_[p - 2]->identity.link.pub;
            });
            relays_.push_back(std::move(r));
        }
    }

    PathHop hop(std::size_t relay, const char* address = "198.51.99.1") const {
        const Relay& r = *relays_[relay];
        PathHop p;
        p.hop.id = r.identity.node_id();
        p.hop.link_key = r.identity.link.pub;
        p.hop.addresses = {udp_at(address)};
        p.onion = r.table->onion_keys().current().pub;
        return p;
    }

    RelayTable& relay(std::size_t i) { return *relays_[i]->table; }
    ClientTable& client() { return client_; }

    // Builds and runs the network until quiet; the handle, whatever became of it.
    CircuitHandle build(std::vector<PathHop> path, bool one_hop = false) {
        ClientOutput out;
        auto h = client_.build(std::move(path), now, out, one_hop);
        EXPECT_TRUE(h);
        take_client(out);
        run();
        return h ? *h : 0;
    }

    void tick(Duration d) {
        now += d;
        for (std::size_t i = 0; i < relays_.size(); ++i) {
            RelayOutput out;
            relays_[i]->table->on_tick(now, out);
            take(static_cast<int>(i) + 1, out);
        }
        ClientOutput out;
        client_.on_tick(now, out);
        take_client(out);
        run();
    }

    const ClientEvent* last_event() const { return events.empty() ? nullptr : &events.back(); }

    std::vector<ClientEvent> events;
    std::vector<std::pair<int, NextHop>> links_asked;  // by relays: (relay node, next hop)
    TimePoint now{hours(1)};

  private:
    struct Relay {
        crypto::Identity identity = crypto::Identity::generate();
        crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
        std::unique_ptr<RelayTable> table;
    };
    struct Wire {
        int to;
        int from;
        wire::Cell cell;
    };

    int node_of(const crypto::X25519Public& link_key) const {
        for (std::size_t i = 0; i < relays_.size(); ++i)
            if (relays_[i]->identity.link.pub == link_key) return static_cast<int>(i) + 1;
        return -1;
    }
    void take(int node, RelayOutput& out) {
        for (auto& c : out.cells) wire_.push_back({static_cast<int>(c.to) - 1, node, c.cell});
        for (auto& l : out.links) requests_.push_back({node, l});
        out.clear();
    }
    void take_client(ClientOutput& out) {
        for (auto& c : out.cells) wire_.push_back({static_cast<int>(c.to) - 1, 0, c.cell});
        for (auto& l : out.links) requests_.push_back({0, l});
        for (auto& e : out.events) events.push_back(e);
        out.clear();
    }
    void run() {
        while (!wire_.empty() || !requests_.empty()) {
            if (!requests_.empty()) {
                auto [node, req] = requests_.front();
                requests_.pop_front();
                int target = node_of(req.hop.link_key);
                if (node == 0) {
                    ClientOutput out;
                    client_.on_link_ready(req.request, static_cast<PeerRef>(target + 1), now, out);
                    take_client(out);
                } else {
                    links_asked.emplace_back(node, req.hop);
                    RelayOutput out;
                    if (target < 0)
                        relays_[node - 1]->table->on_link_failed(req.request, out);
                    else
                        relays_[node - 1]->table->on_link_ready(
                            req.request, static_cast<PeerRef>(target + 1), now, out);
                    take(node, out);
                }
                continue;
            }
            Wire w = wire_.front();
            wire_.pop_front();
            if (w.to == 0) {
                ClientOutput out;
                client_.on_cell(static_cast<PeerRef>(w.from + 1), w.cell, now, out);
                take_client(out);
            } else {
                RelayOutput out;
                relays_[w.to - 1]->table->on_cell(static_cast<PeerRef>(w.from + 1), w.cell, now,
                                                  out);
                take(w.to, out);
            }
        }
    }

    std::vector<std::unique_ptr<Relay>> relays_;
    ClientTable client_;
    std::deque<Wire> wire_;
    std::deque<std::pair<int, LinkRequest>> requests_;
};

// --- EXTEND ---------------------------------------------------------------------------

// The attack: a client asks its first relay to extend to an address inside the relay's
// own network. The relay must not even try to open the link.
void expect_extend_refused(KeyNet& net, std::vector<PathHop> path, const char* what) {
    auto asked = net.links_asked.size();
    auto refused = net.relay(0).stats().refused_extend;
    CircuitHandle h = net.build(std::move(path));
    EXPECT_FALSE(net.client().is_built(h)) << what;
    ASSERT_NE(net.last_event(), nullptr) << what;
    EXPECT_EQ(net.last_event()->kind, ClientEvent::Kind::failed) << what;
    EXPECT_EQ(net.last_event()->reason, DestroyReason::extend_refused) << what;
    EXPECT_EQ(net.relay(0).stats().refused_extend, refused + 1) << what;
    EXPECT_EQ(net.links_asked.size(), asked) << what << ": the relay tried to connect";
    EXPECT_EQ(net.relay(0).size(), 0u) << what << ": the circuit was not destroyed";
}

const char* const kInternal[] = {
    "127.0.0.1",   "127.8.9.10", "10.1.2.3",       "172.16.0.9", "192.168.1.1",
    "169.254.3.4", "100.64.0.1", "0.0.0.0",        "::1",        "::",
    "fe80::1",     "fd00::7",    "::ffff:10.0.0.1"};

TEST(Hardening, extend_to_internal_addresses_is_refused_by_default) {
    KeyNet net(2, RelayConfig{});
    for (const char* address : kInternal)
        expect_extend_refused(net, {net.hop(0), net.hop(1, address)}, address);
    // A public address is extended to.
    CircuitHandle h = net.build({net.hop(0), net.hop(1)});
    EXPECT_TRUE(net.client().is_built(h));
}

TEST(Hardening, extend_keeps_only_the_public_addresses_of_a_mixed_hop) {
    KeyNet net(2, RelayConfig{});
    PathHop next = net.hop(1);
    next.hop.addresses = {udp_at("127.0.0.1"), udp_at("198.51.99.7"), udp_at("10.0.0.2")};
    CircuitHandle h = net.build({net.hop(0), next});
    EXPECT_TRUE(net.client().is_built(h));
    ASSERT_EQ(net.links_asked.size(), 1u);
    EXPECT_EQ(net.links_asked[0].second.addresses,
              std::vector<link::LinkAddress>{udp_at("198.51.99.7")});
}

TEST(Hardening, extend_to_the_relay_itself_or_the_previous_hop_is_refused) {
    for (bool allow_private : {false, true}) {
        RelayConfig base;
        base.allow_private_addresses = allow_private;
        KeyNet net(3, base);
        // The relay itself, by id and by link key under another id.
        expect_extend_refused(net, {net.hop(0), net.hop(0)}, "itself");
        PathHop twin = net.hop(0);
        twin.hop.id = crypto::Identity::generate().node_id();
        expect_extend_refused(net, {net.hop(0), twin}, "its link key");
        // Back to the previous hop: relay 1 (after relay 0) asked to extend to relay 0.
        auto asked = net.links_asked.size();
        CircuitHandle h = net.build({net.hop(0), net.hop(1), net.hop(0)});
        EXPECT_FALSE(net.client().is_built(h));
        EXPECT_EQ(net.last_event()->reason, DestroyReason::extend_refused);
        EXPECT_EQ(net.relay(1).stats().refused_extend, 1u);
        EXPECT_EQ(net.links_asked.size(), asked + 1);  // relay 0 reached relay 1, no more
        EXPECT_EQ(net.relay(0).size() + net.relay(1).size(), 0u);
    }
}

TEST(Hardening, extend_to_private_addresses_is_allowed_when_configured) {
    RelayConfig base;
    base.allow_private_addresses = true;  // a test network on one machine
    KeyNet net(2, base);
    for (const char* address : {"127.0.0.1", "10.1.2.3", "192.168.1.1", "fe80::1"}) {
        CircuitHandle h = net.build({net.hop(0), net.hop(1, address)});
        EXPECT_TRUE(net.client().is_built(h)) << address;
    }
    EXPECT_EQ(net.relay(0).stats().refused_extend, 0u);
}

TEST(ExtendPolicy, checks_identity_before_addresses) {
    ExtendContext ctx{crypto::Identity::generate().node_id(), std::nullopt, std::nullopt, false};
    NextHop hop{ctx.self_id, {}, {udp_at("198.51.99.1")}};
    EXPECT_EQ(check_extend(hop, ctx), ExtendRefusal::self);
    hop.id = crypto::Identity::generate().node_id();
    EXPECT_EQ(check_extend(hop, ctx), ExtendRefusal::none);
    ctx.previous_link_key = hop.link_key;
    EXPECT_EQ(check_extend(hop, ctx), ExtendRefusal::previous_hop);
    ctx.previous_link_key.reset();
    hop.addresses = {udp_at("127.0.0.1")};
    EXPECT_EQ(check_extend(hop, ctx), ExtendRefusal::private_address);
    EXPECT_TRUE(hop.addresses.empty());
}

// --- onion key rotation ---------------------------------------------------------------

TEST(Hardening, create_to_a_replaced_onion_key_works_during_the_overlap_only) {
    RelayConfig base;
    base.onion_policy = {hours(24), hours(12)};
    KeyNet net(1, base);
    net.tick(seconds(1));  // the first tick dates the key
    PathHop old_hop = net.hop(0);
    ASSERT_TRUE(net.client().is_built(net.build({old_hop}, true)));

    net.tick(hours(24));  // rotated: a new key is current, the old one still accepted
    EXPECT_EQ(net.relay(0).stats().onion_key_rotations, 1u);
    EXPECT_NE(net.hop(0).onion, old_hop.onion);
    EXPECT_TRUE(net.client().is_built(net.build({old_hop}, true)));
    EXPECT_TRUE(net.client().is_built(net.build({net.hop(0)}, true)));

    net.tick(hours(11));  // still inside the overlap
    EXPECT_TRUE(net.client().is_built(net.build({old_hop}, true)));

    net.tick(hours(1));  // overlap over: the old key is erased and refused
    EXPECT_EQ(net.relay(0).onion_keys().find(old_hop.onion), nullptr);
    auto refused = net.relay(0).stats().refused_onion_key;
    CircuitHandle h = net.build({old_hop}, true);
    EXPECT_FALSE(net.client().is_built(h));
    EXPECT_EQ(net.last_event()->reason, DestroyReason::handshake);
    EXPECT_EQ(net.relay(0).stats().refused_onion_key, refused + 1);
    EXPECT_TRUE(net.client().is_built(net.build({net.hop(0)}, true)));
}

TEST(OnionKeys, rotate_on_schedule_and_hold_a_bounded_number) {
    TimePoint t0{hours(100)};
    OnionKeys keys(crypto::X25519KeyPair::generate(), t0, {hours(1), hours(10)});
    EXPECT_FALSE(keys.on_tick(t0 + std::chrono::minutes(59)));
    std::vector<crypto::X25519Public> seen{keys.current().pub};
    for (int i = 1; i <= 8; ++i) {
        EXPECT_TRUE(keys.on_tick(t0 + hours(i)));
        seen.push_back(keys.current().pub);
        EXPECT_LE(keys.size(), kMaxOnionKeys);
        EXPECT_NE(keys.find(seen[seen.size() - 2]), nullptr);  // the one just replaced
    }
    EXPECT_EQ(keys.find(seen.front()), nullptr);  // dropped to stay within kMaxOnionKeys
    EXPECT_EQ(keys.rotations(), 8u);
    OnionKeys fixed(crypto::X25519KeyPair::generate(), t0, {Duration::zero(), hours(1)});
    EXPECT_FALSE(fixed.on_tick(t0 + hours(10000)));  // rotation off
}

// --- circuit lifetime -----------------------------------------------------------------

TEST(Hardening, circuits_are_closed_at_their_maximum_lifetime) {
    ClientConfig cc;
    cc.max_lifetime = std::chrono::minutes(10);
    cc.stall_after = Duration::zero();  // no liveness probes in this test
    RelayConfig base;
    base.idle_timeout = hours(5);
    KeyNet net(3, base, cc);
    CircuitHandle h = net.build({net.hop(0), net.hop(1), net.hop(2)});
    ASSERT_TRUE(net.client().is_built(h));
    net.tick(std::chrono::minutes(9));
    EXPECT_TRUE(net.client().is_built(h));
    net.tick(std::chrono::minutes(1));
    EXPECT_FALSE(net.client().is_built(h));
    ASSERT_NE(net.last_event(), nullptr);
    // Reported as `closed` (not `finished`): the client pool moves its streams to a new
    // circuit to the same exit, as when a relay dies; every relay forgot the circuit.
    EXPECT_EQ(net.last_event()->kind, ClientEvent::Kind::closed);
    EXPECT_EQ(net.last_event()->reason, DestroyReason::lifetime);
    EXPECT_EQ(net.last_event()->failed_hop, 3u);  // no relay is blamed
    EXPECT_EQ(net.client().stats().expired, 1u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(net.relay(i).size(), 0u);
}

}  // namespace
}  // namespace zmesh::circuit
