#pragma once
// Errors as values: every parser and protocol step returns Result<T>.

#include <boost/system/result.hpp>
#include <system_error>

namespace zmesh {

enum class Errc {
    ok = 0,
    truncated,          // input shorter than its format requires
    oversized,          // input longer than a limit allows
    malformed,          // a field holds a value the format forbids
    bad_length,         // a key, nonce or message of the wrong size
    auth_failed,        // an AEAD tag, MAC or signature did not verify
    replayed,           // a counter seen before or below the window
    bad_state,          // the operation is not allowed in this state
    weak_key,           // a Diffie-Hellman result of all zeros
    unknown_peer,       // no session for this index or key
    rate_limited,       // dropped to protect the node under load
    exhausted,          // a table, queue or counter reached its limit
    io_error,           // a file or socket operation failed
    permission_denied,  // a key file readable by others
    unsupported,        // an algorithm or version this build does not offer
};

const std::error_category& zmesh_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), zmesh_category()};
}

template <class T>
using Result = boost::system::result<T, std::error_code>;

using Status = Result<void>;

}  // namespace zmesh

template <>
struct std::is_error_code_enum<zmesh::Errc> : std::true_type {};
