#include "zmesh/link/reassembly.hpp"

#include <algorithm>

namespace zmesh::link {

SourceKey source_of(ByteView a) {
    SourceKey key{};
    if (a.size() < key.size()) {
        std::copy(a.begin(), a.end(), key.begin());
        return key;
    }
    bool connection = a[0] == 0xff;
    bool v4_mapped = std::all_of(a.begin(), a.begin() + 10, [](auto b) { return b == 0; }) &&
                     a[10] == 0xff && a[11] == 0xff;
    // A connection number sits in bytes 1..8; IPv4 is the whole (mapped) address; IPv6
    // is cut to its /64.
    std::size_t keep = connection ? 9 : v4_mapped ? 16 : 8;
    std::copy_n(a.begin(), keep, key.begin());
    return key;
}

Reassembly::Added Reassembly::add(const SourceKey& source, const HandshakeHeader& h, ByteView part,
                                  TimePoint now) {
    Added result;
    Partial* p = table_.find(source, h.sender);
    if (p == nullptr) {
        Partial fresh;
        fresh.count = h.fragments;
        fresh.started = now;
        p = &table_.insert(source, h.sender, std::move(fresh));
    }
    if (p->count != h.fragments || h.fragment >= p->count) {
        result.inconsistent = true;
        table_.erase(source, h.sender);
        return result;
    }
    Bytes& slot = p->parts[h.fragment];
    if (slot.empty()) ++p->have;
    slot.assign(part.begin(), part.end());  // a retransmission may replace it
    if (p->have < p->count) return result;
    Bytes whole;
    for (std::size_t i = 0; i < p->count; ++i)
        whole.insert(whole.end(), p->parts[i].begin(), p->parts[i].end());
    table_.erase(source, h.sender);
    result.whole = std::move(whole);
    return result;
}

void Reassembly::expire(TimePoint now, Duration lifetime) {
    table_.erase_if([&](const Partial& p) { return now - p.started >= lifetime; });
}

std::optional<TimePoint> Reassembly::next_expiry(Duration lifetime) const {
    std::optional<TimePoint> next;
    table_.for_each([&](const Partial& p) {
        if (!next || p.started + lifetime < *next) next = p.started + lifetime;
    });
    return next;
}

}  // namespace zmesh::link
