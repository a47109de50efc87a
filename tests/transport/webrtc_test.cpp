// WebRTC pieces: session descriptions and DCEP (pure), then two real peer connections
// (libnice ICE on 127.0.0.1, OpenSSL DTLS, usrsctp SCTP) in one process.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <random>
#include <set>

#include "zmesh/transport/webrtc/dcep.hpp"
#include "zmesh/transport/webrtc/peer.hpp"
#include "zmesh/transport/webrtc/sdp.hpp"

namespace zmesh::transport::webrtc {
namespace {

// An offer as Chromium 156 writes it for one data channel (candidates added).
const char* kChromiumOffer =
    "v=0\r\n"
    "o=- 2269955246972640315 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=candidate:3711346476 1 udp 2122260223 127.0.0.1 51234 typ host generation 0 network-id 1\r\n"
    "a=candidate:1234567890 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0\r\n"
    "a=ice-ufrag:Y+1z\r\n"
    "a=ice-pwd:omxh/316nNOAGqwkgFYCpbJq\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "7D:75:44:81:7F:E8:03:AC:45:29:EC:D8:06:6E:5B:C0:E5:F7:8D:0B:BE:F9:EE:C9:E4:2C:80:26:3D:DA:2E:"
    "81\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

TEST(Sdp, ReadsChromiumOffer) {
    std::string why;
    auto d = parse_sdp(kChromiumOffer, &why);
    ASSERT_TRUE(d) << why;
    EXPECT_EQ(d->ice_ufrag, "Y+1z");
    EXPECT_EQ(d->ice_pwd, "omxh/316nNOAGqwkgFYCpbJq");
    EXPECT_EQ(d->setup, DtlsRole::actpass);
    EXPECT_EQ(d->mid, "0");
    EXPECT_EQ(d->sctp_port, 5000);
    EXPECT_EQ(d->max_message_size, 256u * 1024);
    EXPECT_EQ(d->fingerprint[0], 0x7D);
    EXPECT_EQ(d->fingerprint[31], 0x81);
    ASSERT_EQ(d->candidates.size(), 2u);
    EXPECT_EQ(d->candidates[0].substr(0, 21), "candidate:3711346476 ");
}

TEST(Sdp, WritesWhatItReads) {
    Description d;
    d.ice_ufrag = "abcd";
    d.ice_pwd = "0123456789abcdefghijkl+/";
    for (std::size_t i = 0; i < 32; ++i) d.fingerprint[i] = static_cast<std::uint8_t>(i * 7);
    d.setup = DtlsRole::active;
    d.mid = "data";
    d.candidates = {"candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host"};
    auto back = parse_sdp(write_sdp(d, 42));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->ice_ufrag, d.ice_ufrag);
    EXPECT_EQ(back->ice_pwd, d.ice_pwd);
    EXPECT_EQ(back->fingerprint, d.fingerprint);
    EXPECT_EQ(back->setup, DtlsRole::active);
    EXPECT_EQ(back->mid, "data");
    EXPECT_EQ(back->candidates, d.candidates);
    EXPECT_EQ(fingerprint_text(d.fingerprint).size(), 95u);
    EXPECT_EQ(parse_fingerprint(fingerprint_text(d.fingerprint)), d.fingerprint);
}

TEST(Sdp, RefusesWhatItCannotUse) {
    auto refused = [](const std::string& sdp, const std::string& reason) {
        std::string why;
        auto d = parse_sdp(sdp, &why);
        EXPECT_FALSE(d) << reason;
        EXPECT_NE(why.find(reason), std::string::npos) << "got: " << why;
    };
    std::string offer = kChromiumOffer;
    refused("", "empty");
    refused("hello\r\n", "not an SDP line");
    refused(replace(offer, "v=0", "v=1"), "v=0");
    refused(replace(offer, "a=fingerprint:sha-256", "a=fingerprint:sha-1"), "fingerprint");
    refused(replace(offer, "7D:75:44", "7D:75:4"), "fingerprint");
    refused(replace(offer, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                    "m=audio 9 RTP/SAVPF 111"),
            "no webrtc-datachannel");
    refused(replace(offer, "a=ice-pwd:omxh/316nNOAGqwkgFYCpbJq", "a=ice-pwd:short"), "ice-pwd");
    refused(replace(offer, "a=ice-ufrag:Y+1z", "a=ice-ufrag:Y+1z\"<x>"), "ice-ufrag");
    refused(replace(offer, "a=setup:actpass", "a=setup:sideways"), "setup");
    refused(replace(offer, "a=sctp-port:5000", "a=sctp-port:70000"), "sctp-port");
    std::string many = offer;
    for (int i = 0; i < 40; ++i)
        many += "a=candidate:" + std::to_string(i) + " 1 udp 1 127.0.0.1 1 typ host\r\n";
    refused(many, "too many candidates");
    refused(offer + "a=x:" + std::string(2000, 'y') + "\r\n", "line over");
    std::string huge = offer;
    while (huge.size() <= kMaxSdpSize) huge += "a=x:" + std::string(500, 'y') + "\r\n";
    refused(huge, "over 16 KiB");
}

TEST(Dcep, OpenRoundTripAndRefusals) {
    ChannelOpen o;
    o.type = ChannelType::rexmit_unordered;
    o.priority = 256;
    o.reliability = 3;
    o.label = "zmesh";
    o.protocol = "cells";
    auto b = encode_open(o);
    ASSERT_EQ(b.size(), 12u + 5 + 5);
    EXPECT_EQ(b[0], kDcepOpen);
    auto back = parse_open(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type, ChannelType::rexmit_unordered);
    EXPECT_TRUE(back->unordered());
    EXPECT_EQ(back->priority, 256);
    EXPECT_EQ(back->reliability, 3u);
    EXPECT_EQ(back->label, "zmesh");
    EXPECT_EQ(back->protocol, "cells");
    EXPECT_EQ(parse_open(ByteView(b).first(11)).error(), make_error_code(Errc::truncated));
    Bytes bad_type = b;
    bad_type[1] = 0x7f;
    EXPECT_EQ(parse_open(bad_type).error(), make_error_code(Errc::malformed));
    Bytes long_label = b;
    long_label.push_back(0);
    EXPECT_EQ(parse_open(long_label).error(), make_error_code(Errc::bad_length));
    Bytes huge = b;
    store_u16_be(&huge[8], 5000);
    EXPECT_EQ(parse_open(huge).error(), make_error_code(Errc::oversized));
    EXPECT_EQ(parse_open(encode_ack()).error(), make_error_code(Errc::truncated));
}

// --- two real peer connections ------------------------------------------------------

struct Side {
    std::shared_ptr<PeerConnection> pc;
    bool open = false;
    std::string closed;
    std::vector<Bytes> got;
};

PeerConfig loopback(std::size_t max_message = 64 * 1024) {
    PeerConfig c;
    c.local_addresses = {"127.0.0.1"};
    c.max_message = max_message;
    return c;
}

class PeerPair : public ::testing::Test {
  protected:
    boost::asio::io_context io;
    Side a, b;  // a offers, b answers

    void make(PeerConfig ca, PeerConfig cb) {
        for (auto* s : {&a, &b}) {
            PeerConnection::Callbacks cbs;
            cbs.on_open = [s] { s->open = true; };
            cbs.on_message = [s](Bytes m) { s->got.push_back(std::move(m)); };
            cbs.on_closed = [s](const std::string& why) { s->closed = why; };
            s->pc = PeerConnection::create(io.get_executor(), s == &a ? ca : cb,
                                           Certificate::generate(), s == &a, std::move(cbs));
        }
    }
    template <class F>
    bool run_until(F done, int seconds = 15) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        while (!done() && std::chrono::steady_clock::now() < end) {
            io.run_for(std::chrono::milliseconds(10));
            io.restart();
        }
        return done();
    }
    std::string description(Side& s) {
        std::optional<Result<std::string>> r;
        s.pc->local_description([&](Result<std::string> x) { r = std::move(x); });
        EXPECT_TRUE(run_until([&] { return r.has_value(); }));
        return r && *r ? **r : std::string{};
    }
    // Offer/answer, with `edit` applied to the answer on its way to the offerer.
    void signal(const std::function<std::string(std::string)>& edit = nullptr) {
        std::string offer = description(a);
        std::string why;
        ASSERT_TRUE(b.pc->set_remote(offer, &why)) << why;
        std::string answer = description(b);
        if (edit) answer = edit(answer);
        ASSERT_TRUE(a.pc->set_remote(answer, &why)) << why;
    }
    void TearDown() override {
        for (auto* s : {&a, &b})
            if (s->pc) s->pc->close();
    }
};

TEST_F(PeerPair, OpensAndCarriesMessagesBothWays) {
    make(loopback(), loopback());
    signal();
    ASSERT_TRUE(run_until([&] { return a.open && b.open; })) << a.closed << " / " << b.closed;
    // The channel does not retransmit, so a burst larger than the UDP socket buffers loses
    // messages (the link's stream layer recovers those); here each pair of messages goes
    // when the last has arrived, and every one must arrive intact.
    auto text = [](const Bytes& m) { return std::string(m.begin(), m.end()); };
    std::multiset<std::string> sent_ab, sent_ba;
    std::mt19937 rng(7);
    for (std::size_t i = 1; i <= 40; ++i) {
        for (auto [from, sent] : {std::pair{&a, &sent_ab}, std::pair{&b, &sent_ba}}) {
            Bytes m(1 + rng() % 8000);
            for (auto& x : m) x = static_cast<std::uint8_t>(rng());
            ASSERT_TRUE(from->pc->send(m));
            sent->insert(text(m));
        }
        ASSERT_TRUE(run_until([&] { return a.got.size() == i && b.got.size() == i; }))
            << i << ": " << a.got.size() << " " << b.got.size();
    }
    std::multiset<std::string> got_b, got_a;
    for (auto& m : b.got) got_b.insert(text(m));
    for (auto& m : a.got) got_a.insert(text(m));
    EXPECT_EQ(got_b, sent_ab);
    EXPECT_EQ(got_a, sent_ba);
    EXPECT_EQ(a.pc->stats().messages_out.load(), 40u);
    EXPECT_EQ(b.pc->stats().messages_in.load(), 40u);
    EXPECT_TRUE(a.closed.empty());
}

TEST_F(PeerPair, RefusesOversizedMessages) {
    make(loopback(64 * 1024), loopback(16 * 1024));
    signal();
    ASSERT_TRUE(run_until([&] { return a.open && b.open; })) << a.closed << " / " << b.closed;
    EXPECT_FALSE(b.pc->send(Bytes(16 * 1024 + 1)));  // over its own limit: not sent
    EXPECT_EQ(b.pc->stats().send_drops.load(), 1u);
    ASSERT_TRUE(a.pc->send(Bytes(40 * 1024, 1)));  // over b's: b drops it and counts it
    ASSERT_TRUE(a.pc->send(Bytes(100, 2)));        // and goes on
    ASSERT_TRUE(run_until([&] { return !b.got.empty(); }));
    EXPECT_EQ(b.got.front(), Bytes(100, 2));
    EXPECT_EQ(b.pc->stats().refused_messages.load(), 1u);
    EXPECT_TRUE(b.closed.empty());
}

TEST_F(PeerPair, WrongFingerprintIsRefused) {
    make(loopback(), loopback());
    // An attacker in the signaling path swaps the answer's certificate fingerprint.
    signal([](std::string answer) {
        auto at = answer.find("a=fingerprint:sha-256 ") + 22;
        answer[at] = answer[at] == 'A' ? 'B' : 'A';
        return answer;
    });
    ASSERT_TRUE(run_until([&] { return !a.closed.empty(); }));
    EXPECT_NE(a.closed.find("fingerprint"), std::string::npos) << a.closed;
    EXPECT_FALSE(a.open);
    EXPECT_FALSE(a.pc->send(Bytes(10)));
}

TEST_F(PeerPair, BadDescriptionsAreRefused) {
    make(loopback(), loopback());
    std::string why;
    EXPECT_FALSE(b.pc->set_remote("v=0\r\nm=audio 9 RTP/AVP 0\r\n", &why));
    EXPECT_NE(why.find("webrtc-datachannel"), std::string::npos) << why;
    std::string offer = description(a);
    // An "answer" that still says actpass is refused by the offerer.
    EXPECT_FALSE(a.pc->set_remote(offer, &why));
    EXPECT_NE(why.find("setup"), std::string::npos) << why;
    ASSERT_TRUE(b.pc->set_remote(offer, &why)) << why;
    EXPECT_FALSE(b.pc->set_remote(offer, &why));  // only once
}

}  // namespace
}  // namespace zmesh::transport::webrtc
