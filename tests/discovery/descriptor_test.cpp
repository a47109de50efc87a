#include <gtest/gtest.h>

#include "zmesh/discovery/directory.hpp"

namespace zmesh::discovery {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

Descriptor sample(std::uint64_t published = kNow, std::uint64_t lifetime = 86400) {
    Descriptor d;
    d.link_key = crypto::X25519KeyPair::generate().pub;
    d.onion_key = crypto::X25519KeyPair::generate().pub;
    d.flags = kFlagRelay | kFlagExit;
    d.published = published;
    d.expires = published + lifetime;
    d.bandwidth = 12'500'000;
    Address a;
    a.ip[10] = 0xff;
    a.ip[11] = 0xff;
    a.ip[12] = 127;
    a.ip[15] = 1;
    a.port = 7001;
    d.addresses.push_back(a);
    d.family.push_back(crypto::Identity::generate().node_id());
    d.exit_policy = {"reject *:25", "accept *:*"};
    return d;
}

TEST(Descriptor, signs_verifies_and_round_trips) {
    auto id = crypto::Identity::generate();
    auto d = sample();
    Bytes enc = sign_descriptor(d, id);
    auto v = verify_descriptor(enc, kNow);
    ASSERT_TRUE(v.descriptor) << to_string(v.error);
    EXPECT_EQ(v.descriptor->node_id(), id.node_id());
    EXPECT_EQ(v.descriptor->link_key, d.link_key);
    EXPECT_EQ(v.descriptor->addresses, d.addresses);
    EXPECT_EQ(v.descriptor->exit_policy, d.exit_policy);
    EXPECT_TRUE(v.descriptor->has(kFlagExit));
    EXPECT_EQ(encode_descriptor(*v.descriptor), enc);  // canonical
}

// Exit abilities are flag bits: a descriptor without them (as published before they
// existed) decodes as before; with them, they round-trip; a bit nobody defined is refused.
TEST(Descriptor, exit_abilities_are_flags_and_old_descriptors_still_decode) {
    auto id = crypto::Identity::generate();
    auto old = sample();  // relay | exit, the encoding of earlier versions
    auto v = verify_descriptor(sign_descriptor(old, id), kNow);
    ASSERT_TRUE(v.descriptor);
    EXPECT_FALSE(v.descriptor->has(kFlagOnion) || v.descriptor->has(kFlagI2p) ||
                 v.descriptor->has(kFlagUpstream));
    auto d = sample();
    d.flags |= kFlagOnion | kFlagI2p | kFlagUpstream;
    v = verify_descriptor(sign_descriptor(d, id), kNow);
    ASSERT_TRUE(v.descriptor) << to_string(v.error);
    EXPECT_EQ(v.descriptor->flag_names(),
              (std::vector<std::string>{"relay", "exit", "onion", "i2p", "upstream"}));
    d.flags |= 128;
    EXPECT_FALSE(verify_descriptor(sign_descriptor(d, id), kNow).descriptor);
}

TEST(Descriptor, onion_and_i2p_names_need_their_ability) {
    // ".onion" alone is no service name, but it is not for the DNS either.
    for (const char* h : {"abc.onion", "x.y.ONION", "abc.onion.", "Foo.Onion", ".onion"})
        EXPECT_EQ(ability_needed(h), kFlagOnion) << h;
    for (const char* h : {"zzz.i2p", "a.b32.i2p", "ZZZ.I2P."})
        EXPECT_EQ(ability_needed(h), kFlagI2p) << h;
    for (const char* h : {"onion", "onion.", "i2p", "example.com", "onion.example", "a.onionx",
                          "aonion", "127.0.0.1", "::1", ""})
        EXPECT_EQ(ability_needed(h), 0) << h;
}

TEST(Descriptor, every_flipped_bit_is_rejected) {
    auto id = crypto::Identity::generate();
    auto d = sample();
    Bytes enc = sign_descriptor(d, id);
    for (std::size_t i = 0; i < enc.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            Bytes bad = enc;
            bad[i] ^= static_cast<std::uint8_t>(1 << bit);
            ASSERT_FALSE(verify_descriptor(bad, kNow).descriptor) << "byte " << i << " bit " << bit;
        }
}

TEST(Descriptor, time_window_size_and_form) {
    auto id = crypto::Identity::generate();
    auto d = sample();
    Bytes enc = sign_descriptor(d, id);
    EXPECT_EQ(verify_descriptor(enc, kNow + 86400).error, DescriptorError::expired);
    EXPECT_EQ(verify_descriptor(enc, kNow - kClockSkewSeconds - 1).error,
              DescriptorError::not_yet_valid);
    auto forever = sample(kNow, kMaxLifetimeSeconds + 1);
    EXPECT_EQ(verify_descriptor(sign_descriptor(forever, id), kNow).error,
              DescriptorError::too_long_lived);

    Bytes longer = enc;
    longer.push_back(0);
    EXPECT_EQ(verify_descriptor(longer, kNow).error, DescriptorError::malformed);
    Bytes huge(kMaxDescriptorSize + 1, 0);
    EXPECT_EQ(verify_descriptor(huge, kNow).error, DescriptorError::oversized);
    for (std::size_t n = 0; n < enc.size(); n += 7)
        EXPECT_FALSE(verify_descriptor(ByteView(enc).subspan(0, n), kNow).descriptor);

    auto many = sample();
    for (int i = 0; i < 40; ++i) many.exit_policy.push_back("accept *:80");
    EXPECT_FALSE(verify_descriptor(sign_descriptor(many, id), kNow).descriptor);
    auto no_address = sample();
    no_address.addresses.clear();
    EXPECT_FALSE(verify_descriptor(sign_descriptor(no_address, id), kNow).descriptor);
}

TEST(Directory, keeps_the_newest_counts_everything_and_purges) {
    auto id = crypto::Identity::generate();
    Directory dir;
    auto d1 = sample(kNow);
    auto d2 = sample(kNow + 60);
    Bytes e1 = sign_descriptor(d1, id);
    Bytes e2 = sign_descriptor(d2, id);
    EXPECT_EQ(dir.insert(e1, kNow + 60), Directory::Outcome::accepted);
    EXPECT_EQ(dir.insert(e2, kNow + 60), Directory::Outcome::replaced);
    EXPECT_EQ(dir.insert(e1, kNow + 60), Directory::Outcome::stale);
    Bytes bad = e2;
    bad[bad.size() - 1] ^= 1;
    EXPECT_EQ(dir.insert(bad, kNow + 60), Directory::Outcome::rejected);
    EXPECT_EQ(dir.size(), 1u);
    EXPECT_EQ(dir.entries().begin()->second.descriptor.published, kNow + 60);
    EXPECT_EQ(dir.stats().accepted, 1u);
    EXPECT_EQ(dir.stats().replaced, 1u);
    EXPECT_EQ(dir.stats().stale, 1u);
    EXPECT_EQ(dir.stats().rejected_signature, 1u);
    dir.purge(kNow + 60 + 86400);
    EXPECT_EQ(dir.size(), 0u);
    EXPECT_EQ(dir.stats().purged, 1u);
}

TEST(Directory, bundles_are_checked_against_the_bootstrap_key) {
    auto boot = crypto::Identity::generate();
    Directory served;
    for (int i = 0; i < 5; ++i) {
        auto d = sample();
        served.insert(sign_descriptor(d, crypto::Identity::generate()), kNow);
    }
    Bytes bundle = served.make_bundle(boot, kNow);

    Directory client;
    auto n = client.insert_bundle(bundle, boot.signing.pub, kNow + 10, 3600);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 5u);
    EXPECT_EQ(client.size(), 5u);

    Directory other;
    auto stranger = crypto::Identity::generate();
    EXPECT_FALSE(other.insert_bundle(bundle, stranger.signing.pub, kNow, 3600));     // wrong key
    EXPECT_FALSE(other.insert_bundle(bundle, boot.signing.pub, kNow + 7200, 3600));  // replayed
    Bytes cut = bundle;
    cut.erase(cut.begin() + 40);  // an entry shortened: length fields no longer add up
    EXPECT_FALSE(other.insert_bundle(cut, boot.signing.pub, kNow, 3600));
    Bytes flipped = bundle;
    flipped[20] ^= 1;
    EXPECT_FALSE(other.insert_bundle(flipped, boot.signing.pub, kNow, 3600));
    EXPECT_EQ(other.size(), 0u);
    EXPECT_EQ(other.stats().bundles_rejected, 4u);
}

}  // namespace
}  // namespace zmesh::discovery
