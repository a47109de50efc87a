#pragma once
// Why the mix layer refused a packet: one reason per counter a node keeps.

#include <system_error>

namespace zmesh::mix {

enum class MixErrc {
    ok = 0,
    truncated,         // shorter than a Sphinx packet
    oversized,         // longer than a Sphinx packet
    weak_key,          // the group element is of low order (shared secret all zeros)
    bad_mac,           // the header MAC does not verify under any key held (tampered, wrong key)
    bad_routing,       // the routing block decrypted to a flag or field the format forbids
    bad_payload,       // the payload failed its zero-prefix check at delivery (tampered)
    replayed,          // the replay tag was seen before in this key's epoch
    cache_full,        // the epoch's replay cache reached its capacity: rotate the key
    bad_path,          // create: no hops, more than kMaxHops, or a delay beyond 2^32-1 ms
    message_too_long,  // create: more than kMaxMessageSize bytes
};

const std::error_category& mix_category() noexcept;

inline std::error_code make_error_code(MixErrc e) noexcept {
    return {static_cast<int>(e), mix_category()};
}

}  // namespace zmesh::mix

template <>
struct std::is_error_code_enum<zmesh::mix::MixErrc> : std::true_type {};
