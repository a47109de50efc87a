#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "zmesh/crypto/identity.hpp"

namespace zmesh::crypto {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "zmesh-test-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

void write_all(const fs::path& p, const std::string& s, mode_t mode) {
    std::ofstream(p) << s;
    ::chmod(p.c_str(), mode);
}

TEST(Identity, file_round_trips_with_mode_0600) {
    TempDir dir;
    auto id = Identity::generate();
    auto file = dir.path / "node.key";
    ASSERT_TRUE(write_identity_file(file, id, false));
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto back = read_identity_file(file);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->signing.pub, id.signing.pub);
    EXPECT_EQ(back->link.pub, id.link.pub);
    EXPECT_EQ(back->node_id(), id.node_id());
}

TEST(Identity, refuses_to_overwrite_without_force) {
    TempDir dir;
    auto file = dir.path / "node.key";
    auto first = Identity::generate();
    ASSERT_TRUE(write_identity_file(file, first, false));
    auto st = write_identity_file(file, Identity::generate(), false);
    EXPECT_EQ(st.error(), make_error_code(Errc::bad_state));
    EXPECT_EQ(read_identity_file(file)->link.pub, first.link.pub);
    auto second = Identity::generate();
    ASSERT_TRUE(write_identity_file(file, second, true));
    EXPECT_EQ(read_identity_file(file)->link.pub, second.link.pub);
}

TEST(Identity, rejects_readable_by_others) {
    TempDir dir;
    auto file = dir.path / "node.key";
    write_all(file, encode_identity(Identity::generate()), 0644);
    EXPECT_EQ(read_identity_file(file).error(), make_error_code(Errc::permission_denied));
    ::chmod(file.c_str(), 0640);
    EXPECT_EQ(read_identity_file(file).error(), make_error_code(Errc::permission_denied));
    ::chmod(file.c_str(), 0600);
    EXPECT_TRUE(read_identity_file(file));
}

TEST(Identity, detects_corruption_and_truncation) {
    std::string good = encode_identity(Identity::generate());
    ASSERT_TRUE(decode_identity(good));
    // Change one hex digit of the seed.
    std::string corrupt = good;
    auto at = corrupt.find("ed25519-seed ") + 13;
    corrupt[at] = corrupt[at] == '0' ? '1' : '0';
    EXPECT_EQ(decode_identity(corrupt).error(), make_error_code(Errc::auth_failed));
    // Every proper prefix fails cleanly.
    for (std::size_t n = 0; n < good.size(); ++n) {
        auto r = decode_identity(std::string_view(good).substr(0, n));
        EXPECT_FALSE(r) << "prefix of " << n << " bytes";
    }
    EXPECT_EQ(decode_identity(good.substr(0, good.size() / 2)).error(),
              make_error_code(Errc::truncated));
    EXPECT_EQ(decode_identity("hello\n").error(), make_error_code(Errc::malformed));
    EXPECT_EQ(decode_identity(std::string(10000, 'x')).error(), make_error_code(Errc::oversized));
}

TEST(Identity, missing_file_is_an_io_error) {
    EXPECT_EQ(read_identity_file("/nonexistent/zmesh.key").error(),
              make_error_code(Errc::io_error));
}

}  // namespace
}  // namespace zmesh::crypto
