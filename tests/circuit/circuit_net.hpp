#pragma once
// An in-memory network of relays and one client for circuit tests: cells pass through a
// queue in order, a test may tamper with or drop any of them, and the exits echo what
// they receive.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <set>

#include "zmesh/circuit/client_table.hpp"
#include "zmesh/circuit/relay_table.hpp"

namespace zmesh::circuit::testing_net {

using std::chrono::seconds;

struct RelayNode {
    crypto::Identity identity = crypto::Identity::generate();
    crypto::X25519KeyPair onion = crypto::X25519KeyPair::generate();
    std::unique_ptr<RelayTable> table;
    PathHop path_hop() const {
        PathHop p;
        p.hop.id = identity.node_id();
        p.hop.link_key = identity.link.pub;
        p.hop.addresses = {
            {link::TransportKind::udp, {boost::asio::ip::address_v4::loopback(), 7000}}};
        p.onion = onion.pub;
        return p;
    }
};

struct Wire {
    int to;
    int from;
    wire::Cell cell;
};

// Node 0 is the client, node i > 0 is relays[i - 1]. A node's PeerRef for a neighbour
// is that neighbour's number + 1.
class Net {
  public:
    explicit Net(std::size_t n, RelayConfig base = {}, ClientConfig client_cfg = {})
        : relays(n), client(client_cfg) {
        for (auto& r : relays) {
            RelayConfig cfg = base;
            cfg.id = r.identity.node_id();
            cfg.onion = r.onion;
            cfg.exit = true;
            cfg.allow_private_addresses = true;  // the paths name 127.0.0.1
            r.table = std::make_unique<RelayTable>(cfg);
        }
    }

    std::vector<PathHop> path(std::size_t n) const {
        std::vector<PathHop> p;
        for (std::size_t i = 0; i < n; ++i) p.push_back(relays[i].path_hop());
        return p;
    }

    int node_of(const crypto::NodeId& id) const {
        for (std::size_t i = 0; i < relays.size(); ++i)
            if (relays[i].identity.node_id() == id) return static_cast<int>(i) + 1;
        return -1;
    }

    void take(int node, RelayOutput& out) {
        for (auto& c : out.cells) wire_.push_back({static_cast<int>(c.to) - 1, node, c.cell});
        for (auto& l : out.links) link_requests_.push_back({node, l});
        for (auto& d : out.delivered) {
            delivered.push_back(d.message);
            if (echo) {
                RelayOutput reply;
                RelayMessage back = d.message;
                EXPECT_TRUE(relays[node - 1].table->send_backward(d.circuit, back, now, reply));
                take(node, reply);
            }
        }
        out.clear();
    }

    void take_client(ClientOutput& out) {
        for (auto& c : out.cells) wire_.push_back({static_cast<int>(c.to) - 1, 0, c.cell});
        for (auto& l : out.links) link_requests_.push_back({0, l});
        for (auto& e : out.events) events.push_back(e);
        out.clear();
    }

    void run() {
        while (!wire_.empty() || !link_requests_.empty()) {
            if (!link_requests_.empty()) {
                auto [node, req] = link_requests_.front();
                link_requests_.pop_front();
                int target = node_of(req.hop.id);
                if (node == 0) {
                    ClientOutput out;
                    if (target < 0)
                        client.on_link_failed(req.request, out);
                    else
                        client.on_link_ready(req.request, static_cast<PeerRef>(target + 1), now,
                                             out);
                    take_client(out);
                } else {
                    RelayOutput out;
                    auto& t = *relays[node - 1].table;
                    if (target < 0 || unreachable.contains(target))
                        t.on_link_failed(req.request, out);
                    else
                        t.on_link_ready(req.request, static_cast<PeerRef>(target + 1), now, out);
                    take(node, out);
                }
                continue;
            }
            Wire w = wire_.front();
            wire_.pop_front();
            if (tamper && !tamper(w)) continue;
            deliver(w);
        }
    }

    void deliver(const Wire& w) {
        if (w.to == 0) {
            ClientOutput out;
            client.on_cell(static_cast<PeerRef>(w.from + 1), w.cell, now, out);
            take_client(out);
        } else {
            RelayOutput out;
            relays[w.to - 1].table->on_cell(static_cast<PeerRef>(w.from + 1), w.cell, now, out);
            take(w.to, out);
        }
    }

    CircuitHandle build(std::size_t hops) {
        ClientOutput out;
        auto h = client.build(path(hops), now, out);
        EXPECT_TRUE(h);
        take_client(out);
        run();
        return h ? *h : 0;
    }

    void send(CircuitHandle h, const RelayMessage& m) {
        ClientOutput out;
        EXPECT_TRUE(client.send(h, m, now, out));
        take_client(out);
        run();
    }

    // A PING to every hop of a built circuit, and everything that follows.
    void probe(CircuitHandle h) {
        ClientOutput out;
        EXPECT_TRUE(client.probe(h, now, out));
        take_client(out);
        run();
    }

    // A tick, and a check of the deadlines the tables report: a tick before its table's
    // deadline has nothing to do (a driver sleeping until the deadline misses nothing).
    void tick(Duration d) {
        now += d;
        for (std::size_t i = 0; i < relays.size(); ++i) {
            auto due = relays[i].table->next_deadline();
            auto size = relays[i].table->size();
            auto rotations = relays[i].table->stats().onion_key_rotations;
            RelayOutput out;
            relays[i].table->on_tick(now, out);
            if (!due || now < *due) {
                EXPECT_TRUE(out.cells.empty() && out.closed.empty() && out.links.empty() &&
                            relays[i].table->size() == size &&
                            relays[i].table->stats().onion_key_rotations == rotations)
                    << "relay " << i << ": a tick before the deadline had work";
            }
            take(static_cast<int>(i) + 1, out);
        }
        auto due = client.next_deadline();
        auto probes = client.stats().probes_sent;
        ClientOutput out;
        client.on_tick(now, out);
        if (!due || now < *due) {
            EXPECT_TRUE(out.cells.empty() && out.events.empty() &&
                        client.stats().probes_sent == probes)
                << "client: a tick before the deadline had work";
        }
        take_client(out);
        run();
    }

    int count(ClientEvent::Kind k) const {
        return static_cast<int>(std::count_if(events.begin(), events.end(),
                                              [k](const ClientEvent& e) { return e.kind == k; }));
    }
    const ClientEvent* last(ClientEvent::Kind k) const {
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->kind == k) return &*it;
        return nullptr;
    }
    std::size_t relay_circuits() const {
        std::size_t n = 0;
        for (const auto& r : relays) n += r.table->size();
        return n;
    }

    std::vector<RelayNode> relays;
    ClientTable client;
    std::vector<ClientEvent> events;
    std::vector<RelayMessage> delivered;
    std::set<int> unreachable;
    std::function<bool(Wire&)> tamper;
    bool echo = true;
    TimePoint now{seconds(100)};

  private:
    std::deque<Wire> wire_;
    std::deque<std::pair<int, LinkRequest>> link_requests_;
};

inline RelayMessage data_message(std::uint16_t stream, std::size_t size, std::uint8_t seed) {
    RelayMessage m{RelayCommand::data, stream, Bytes(size)};
    for (std::size_t i = 0; i < size; ++i) m.data[i] = static_cast<std::uint8_t>(seed + i * 7);
    return m;
}

}  // namespace zmesh::circuit::testing_net
