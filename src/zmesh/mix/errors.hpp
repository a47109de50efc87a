#pragma once
// Why the mix layer refused a packet: one reason per counter a node keeps internally.
//
// Exported metrics (and anything another node can observe) must NOT show bad_payload on
// its own: a first hop that tags a payload could watch a last hop's bad_payload counter
// to confirm where the message went. Fold bad_payload (with bad_routing and bad_delay)
// into one general "dropped after the MAC" counter before exporting (docs/mix.md).

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
    cache_full,        // the key's replay cache is at capacity (or could not be allocated)
    bad_path,          // create: no hops, more than kMaxHops, or a delay beyond kMaxDelay
    message_too_long,  // create: more than kMaxMessageSize bytes
    rate_limited,      // the key's admission budget is spent: only this excess packet is refused
    bad_delay,         // the routing block asks for a delay beyond kMaxDelay (tag recorded)
    bad_config,        // keyring settings out of range, or no replay check given
    surb_used,         // open_surb_reply: these SURB secrets opened a reply already
};

const std::error_category& mix_category() noexcept;

inline std::error_code make_error_code(MixErrc e) noexcept {
    return {static_cast<int>(e), mix_category()};
}

}  // namespace zmesh::mix

template <>
struct std::is_error_code_enum<zmesh::mix::MixErrc> : std::true_type {};
