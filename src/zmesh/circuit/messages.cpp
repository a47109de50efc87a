#include "zmesh/circuit/messages.hpp"

#include <algorithm>

namespace zmesh::circuit {
namespace {

bool known_type(std::uint16_t t) {
    return known_handshake(t);
}

}  // namespace

Result<Create> decode_create(ByteView body) {
    if (body.size() < 4) return Errc::truncated;
    std::uint16_t type = load_u16_be(body.data());
    std::size_t total = load_u16_be(body.data() + 2);
    if (!known_type(type)) return Errc::unsupported;
    if (total == 0 || total > kMaxHandshakeSize) return Errc::malformed;
    std::size_t here = std::min(total, body.size() - 4);
    return Create{static_cast<HandshakeType>(type),
                  Bytes(body.begin() + 4, body.begin() + 4 + static_cast<std::ptrdiff_t>(here)),
                  total};
}

std::vector<wire::Cell> encode_create_cells(std::uint32_t circuit_id, HandshakeType type,
                                            ByteView handshake) {
    std::vector<wire::Cell> cells;
    if (handshake.size() > kMaxHandshakeSize) return cells;
    wire::Cell first{};
    wire::set_cell_header(first, circuit_id, wire::CellCommand::create);
    std::uint8_t* body = first.data() + wire::kCellHeaderSize;
    store_u16_be(body, static_cast<std::uint16_t>(type));
    store_u16_be(body + 2, static_cast<std::uint16_t>(handshake.size()));
    std::size_t n = std::min(handshake.size(), wire::kCellBodySize - 4);
    std::copy_n(handshake.begin(), n, body + 4);
    cells.push_back(first);
    for (std::size_t at = n; at < handshake.size();) {
        wire::Cell more{};
        wire::set_cell_header(more, circuit_id, wire::CellCommand::create_continue);
        std::uint8_t* b = more.data() + wire::kCellHeaderSize;
        std::size_t m = std::min(handshake.size() - at, wire::kCellBodySize - 2);
        store_u16_be(b, static_cast<std::uint16_t>(m));
        std::copy_n(handshake.begin() + static_cast<std::ptrdiff_t>(at), m, b + 2);
        cells.push_back(more);
        at += m;
    }
    return cells;
}

Result<Bytes> decode_create_continue(ByteView body) {
    if (body.size() < 2) return Errc::truncated;
    std::size_t len = load_u16_be(body.data());
    if (len == 0 || len > body.size() - 2) return Errc::malformed;
    return Bytes(body.begin() + 2, body.begin() + 2 + static_cast<std::ptrdiff_t>(len));
}

Status encode_created(const Created& c, MutByteView body) {
    if (c.handshake.size() + 2 > body.size()) return Errc::oversized;
    std::fill(body.begin(), body.end(), 0);
    store_u16_be(body.data(), static_cast<std::uint16_t>(c.handshake.size()));
    std::copy(c.handshake.begin(), c.handshake.end(), body.begin() + 2);
    return {};
}

Result<Created> decode_created(ByteView body) {
    if (body.size() < 2) return Errc::truncated;
    std::size_t len = load_u16_be(body.data());
    if (len > body.size() - 2) return Errc::malformed;
    return Created{Bytes(body.begin() + 2, body.begin() + 2 + len)};
}

const char* to_string(DestroyReason r) {
    switch (r) {
        case DestroyReason::none:
            return "none";
        case DestroyReason::protocol:
            return "protocol violation";
        case DestroyReason::integrity:
            return "integrity check failed";
        case DestroyReason::resource:
            return "out of resources";
        case DestroyReason::connect_failed:
            return "next hop unreachable";
        case DestroyReason::finished:
            return "closed";
        case DestroyReason::timeout:
            return "timed out";
        case DestroyReason::handshake:
            return "handshake failed";
        case DestroyReason::shutdown:
            return "node shutting down";
        case DestroyReason::refused:
            return "not a relay";
        case DestroyReason::extend_refused:
            return "extend refused";
        case DestroyReason::lifetime:
            return "circuit lifetime reached";
    }
    return "unknown";
}

Status encode_relay(const RelayMessage& m, MutByteView payload) {
    if (payload.size() != kPayloadSize) return Errc::bad_length;
    if (m.data.size() > kMaxRelayData) return Errc::oversized;
    std::fill(payload.begin(), payload.end(), 0);
    payload[8] = static_cast<std::uint8_t>(m.command);
    store_u16_be(payload.data() + 9, m.stream);
    store_u16_be(payload.data() + 11, static_cast<std::uint16_t>(m.data.size()));
    std::copy(m.data.begin(), m.data.end(), payload.begin() + kRelayHeaderSize);
    return {};
}

Result<RelayMessage> decode_relay(ByteView payload) {
    if (payload.size() != kPayloadSize) return Errc::bad_length;
    if (!std::all_of(payload.begin(), payload.begin() + 8, [](std::uint8_t b) { return b == 0; }))
        return Errc::malformed;
    std::uint8_t cmd = payload[8];
    if (cmd < 1 || cmd > kMaxRelayCommand) return Errc::malformed;
    std::size_t len = load_u16_be(payload.data() + 11);
    if (len > kMaxRelayData) return Errc::malformed;
    RelayMessage m;
    m.command = static_cast<RelayCommand>(cmd);
    m.stream = load_u16_be(payload.data() + 9);
    m.data.assign(payload.begin() + kRelayHeaderSize, payload.begin() + kRelayHeaderSize + len);
    return m;
}

std::vector<RelayMessage> split_relay(const RelayMessage& m) {
    if (m.data.size() <= kMaxRelayData) return {m};
    constexpr std::size_t kChunk = kMaxRelayData - 3;
    std::vector<RelayMessage> out;
    for (std::size_t at = 0; at < m.data.size(); at += kChunk) {
        std::size_t n = std::min(kChunk, m.data.size() - at);
        RelayMessage f{RelayCommand::fragment, m.stream, Bytes(3 + n)};
        store_u16_be(f.data.data(), static_cast<std::uint16_t>(m.data.size()));
        f.data[2] = static_cast<std::uint8_t>(m.command);
        std::copy_n(m.data.begin() + static_cast<std::ptrdiff_t>(at), n, f.data.begin() + 3);
        out.push_back(std::move(f));
    }
    return out;
}

Result<std::optional<RelayMessage>> Reassembler::add(const RelayMessage& f) {
    if (f.command != RelayCommand::fragment || f.data.size() < 4) return Errc::malformed;
    std::size_t total = load_u16_be(f.data.data());
    std::uint8_t cmd = f.data[2];
    if (total <= kMaxRelayData || total > kMaxReassembled || cmd == 0 ||
        cmd == static_cast<std::uint8_t>(RelayCommand::fragment) || cmd > kMaxRelayCommand)
        return Errc::malformed;
    if (data_.empty()) {
        total_ = total;
        command_ = cmd;
        stream_ = f.stream;
    } else if (total != total_ || cmd != command_ || f.stream != stream_) {
        return Errc::malformed;
    }
    if (data_.size() + f.data.size() - 3 > total_) return Errc::oversized;
    data_.insert(data_.end(), f.data.begin() + 3, f.data.end());
    if (data_.size() < total_) return std::optional<RelayMessage>{};
    RelayMessage m{static_cast<RelayCommand>(command_), stream_, std::move(data_)};
    data_.clear();
    return std::optional<RelayMessage>{std::move(m)};
}

// EXTEND: id(32) link_key(32) address(16) port(2) type(2) length(2) handshake
Bytes encode_extend(const Extend& e) {
    std::size_t n = std::min(e.next.addresses.size(), kMaxHopAddresses);
    // The fixed part in a buffer of its largest size (GCC 12 misreads appends to an empty
    // vector as overflows), then the handshake.
    std::array<std::uint8_t, kExtendFixed + kMaxHopAddresses * kExtendAddressSize> head{};
    std::size_t at = 0;
    auto put = [&](ByteView v) {
        std::copy(v.begin(), v.end(), head.begin() + static_cast<std::ptrdiff_t>(at));
        at += v.size();
    };
    put(e.next.id.view());
    put(e.next.link_key.view());
    head[at++] = static_cast<std::uint8_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& a = e.next.addresses[i];
        head[at++] = static_cast<std::uint8_t>(a.kind);
        put(link::ip_bytes(a.at.ip));
        store_u16_be(head.data() + at, a.at.port);
        at += 2;
    }
    store_u16_be(head.data() + at, static_cast<std::uint16_t>(e.type));
    store_u16_be(head.data() + at + 2, static_cast<std::uint16_t>(e.handshake.size()));
    at += 4;
    Bytes out(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(at));
    out.insert(out.end(), e.handshake.begin(), e.handshake.end());
    return out;
}

Result<Extend> decode_extend(ByteView d) {
    if (d.size() < kExtendFixed) return Errc::truncated;
    Extend e;
    e.next.id = *crypto::NodeId::from(d.first(32));
    e.next.link_key = *crypto::X25519Public::from(d.subspan(32, 32));
    std::size_t n = d[64];
    if (n == 0 || n > kMaxHopAddresses) return Errc::malformed;
    std::size_t fixed = kExtendFixed + n * kExtendAddressSize;
    if (d.size() < fixed) return Errc::truncated;
    const std::uint8_t* at = d.data() + 65;
    for (std::size_t i = 0; i < n; ++i, at += kExtendAddressSize) {
        if (at[0] == 0) return Errc::malformed;
        link::LinkAddress a;
        a.kind = static_cast<link::TransportKind>(at[0]);
        a.at.ip = link::ip_from_bytes(at + 1);
        a.at.port = load_u16_be(at + 17);
        e.next.addresses.push_back(a);
    }
    std::uint16_t type = load_u16_be(at);
    std::size_t len = load_u16_be(at + 2);
    if (!known_type(type)) return Errc::unsupported;
    if (len != d.size() - fixed) return Errc::malformed;
    e.type = static_cast<HandshakeType>(type);
    e.handshake.assign(d.begin() + static_cast<std::ptrdiff_t>(fixed), d.end());
    return e;
}

Bytes encode_extended(const Extended& e) {
    Bytes out(2 + e.handshake.size());
    store_u16_be(out.data(), static_cast<std::uint16_t>(e.handshake.size()));
    std::copy(e.handshake.begin(), e.handshake.end(), out.begin() + 2);
    return out;
}

Result<Extended> decode_extended(ByteView d) {
    if (d.size() < 2) return Errc::truncated;
    std::size_t len = load_u16_be(d.data());
    if (len != d.size() - 2) return Errc::malformed;
    return Extended{Bytes(d.begin() + 2, d.end())};
}

}  // namespace zmesh::circuit
