#pragma once
// A node's long-term identity: an Ed25519 signing key and an X25519 static link key,
// stored together in a 0600 text file with a checksum.

#include <filesystem>
#include <string>

#include "zmesh/core/result.hpp"
#include "zmesh/crypto/keys.hpp"

namespace zmesh::crypto {

using NodeId = Fixed<struct NodeIdTag, 32>;

struct Identity {
    Ed25519KeyPair signing;
    X25519KeyPair link;

    static Identity generate();
    // BLAKE2b-256 over a label and the Ed25519 public key.
    NodeId node_id() const;
};

std::string node_id_string(const NodeId& id);
// A node id as node_id_string writes it (base32) or as 64 hex digits (contact lines).
std::optional<NodeId> parse_node_id(std::string_view text);
// The node id belonging to an Ed25519 identity key.
NodeId node_id_of(const Ed25519Public& signing);

// Writes FILE with mode 0600. Without force an existing file is an error (Errc::bad_state).
Status write_identity_file(const std::filesystem::path& path, const Identity& id, bool force);

// Errors: io_error (missing, unreadable), permission_denied (group or others may read it),
// truncated, malformed, auth_failed (checksum mismatch: the file was altered).
Result<Identity> read_identity_file(const std::filesystem::path& path);

// A file only its owner may read: written 0600 from the start (never readable by others,
// not even for a moment), synced, then put in place atomically; `replace` false makes an
// existing file an error (Errc::bad_state). Also used for tokens and state files.
Status write_private_file(const std::filesystem::path& path, std::string_view text, bool replace);
// Reads such a file (at most max_size bytes). Errors: io_error, permission_denied (group
// or others may read it), oversized.
Result<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_size);

// Serialisation used by the file functions; exposed for tests.
std::string encode_identity(const Identity& id);
Result<Identity> decode_identity(std::string_view text);

}  // namespace zmesh::crypto
