#include "zmesh/crypto/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "zmesh/crypto/hash.hpp"

namespace zmesh::crypto {
namespace {

constexpr std::string_view kMagic = "zmesh-identity-v1";
constexpr std::size_t kMaxFileSize = 4096;

std::string checksum(std::string_view body) {
    ByteArray<16> sum;
    blake2b(sum, as_bytes(body));
    return to_hex(sum);
}

std::string hex_secret(ByteView v) {
    SecureBytes tmp(v.begin(), v.end());
    return to_hex(ByteView{tmp.data(), tmp.size()});
}

template <class S>
Result<S> parse_secret_line(std::string_view line, std::string_view key) {
    if (line.size() != key.size() + 1 + 2 * S::size() || line.substr(0, key.size()) != key ||
        line[key.size()] != ' ')
        return Errc::malformed;
    auto raw = from_hex(line.substr(key.size() + 1));
    if (!raw) return Errc::malformed;
    auto s = S::from(*raw);
    wipe(*raw);
    return *s;
}

}  // namespace

Identity Identity::generate() {
    return Identity{Ed25519KeyPair::generate(), X25519KeyPair::generate()};
}

NodeId Identity::node_id() const {
    return node_id_of(signing.pub);
}

NodeId node_id_of(const Ed25519Public& signing) {
    NodeId id;
    Bytes input(as_bytes("zmesh node id").begin(), as_bytes("zmesh node id").end());
    input.insert(input.end(), signing.bytes.begin(), signing.bytes.end());
    blake2b(id.bytes, input);
    return id;
}

std::string node_id_string(const NodeId& id) {
    return to_base32(id.view());
}

std::optional<NodeId> parse_node_id(std::string_view text) {
    auto bytes = text.size() == 2 * NodeId::size() ? from_hex(text) : from_base32(text);
    if (!bytes) return std::nullopt;
    return NodeId::from(*bytes);
}

std::string encode_identity(const Identity& id) {
    std::string body;
    body += kMagic;
    body += "\ned25519-seed " + hex_secret(id.signing.seed.view());
    body += "\nx25519-secret " + hex_secret(id.link.secret.view());
    body += "\n";
    std::string out = "# zmesh identity key: secret, keep mode 0600 and never share it\n";
    out += body + "check " + checksum(body) + "\n";
    return out;
}

Result<Identity> decode_identity(std::string_view text) {
    if (text.size() > kMaxFileSize) return Errc::oversized;
    std::vector<std::string_view> lines;
    std::size_t body_start = std::string_view::npos;
    std::size_t check_start = std::string_view::npos;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) return Errc::truncated;  // last line must end
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line[0] != '#') {
            if (lines.empty()) body_start = pos;
            if (line.starts_with("check ")) check_start = pos;
            lines.push_back(line);
        }
        pos = end + 1;
    }
    if (lines.empty() || lines[0] != kMagic)
        return lines.empty() ? Errc::truncated : Errc::malformed;
    if (lines.size() < 4 || check_start == std::string_view::npos) return Errc::truncated;
    if (lines.size() > 4 || !lines[3].starts_with("check ")) return Errc::malformed;
    std::string_view body = text.substr(body_start, check_start - body_start);
    std::string expected = checksum(body);
    std::string_view got = lines[3].substr(6);
    if (!ct_equal(as_bytes(expected), as_bytes(got))) return Errc::auth_failed;

    auto seed = parse_secret_line<Ed25519Seed>(lines[1], "ed25519-seed");
    if (!seed) return seed.error();
    auto link = parse_secret_line<X25519Secret>(lines[2], "x25519-secret");
    if (!link) return link.error();
    return Identity{Ed25519KeyPair::from_seed(*seed), X25519KeyPair::from_secret(*link)};
}

Status write_private_file(const std::filesystem::path& path, std::string_view text, bool replace) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Errc::io_error;
    bool ok = ::fchmod(fd, 0600) == 0 &&
              ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
    if (!ok) {
        ::unlink(tmp.c_str());
        return Errc::io_error;
    }
    // link() fails if the target exists, which gives "no overwrite" atomically.
    int rc = replace ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) return err == EEXIST ? Errc::bad_state : Errc::io_error;
    return {};
}

Result<std::string> read_private_file(const std::filesystem::path& path, std::size_t max_size) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errc::io_error;
    struct stat st {};
    Errc error = Errc::io_error;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        error = Errc::io_error;
    else if ((st.st_mode & 077) != 0)
        error = Errc::permission_denied;
    else if (st.st_size > static_cast<off_t>(max_size))
        error = Errc::oversized;
    else {
        std::string text(static_cast<std::size_t>(st.st_size), '\0');
        ssize_t n = ::read(fd, text.data(), text.size());
        ::close(fd);
        if (n != st.st_size) return Errc::io_error;
        return text;
    }
    ::close(fd);
    return error;
}

Status write_identity_file(const std::filesystem::path& path, const Identity& id, bool force) {
    std::string text = encode_identity(id);
    auto st = write_private_file(path, text, force);
    wipe(MutByteView{reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
    return st;
}

Result<Identity> read_identity_file(const std::filesystem::path& path) {
    auto text = read_private_file(path, kMaxFileSize);
    if (!text) return text.error();
    auto id = decode_identity(*text);
    wipe(MutByteView{reinterpret_cast<std::uint8_t*>(text->data()), text->size()});
    return id;
}

}  // namespace zmesh::crypto
