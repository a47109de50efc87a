#include "zmesh/link/endpoint.hpp"

#include <algorithm>

#include "zmesh/crypto/aead.hpp"
#include "zmesh/crypto/hash.hpp"

namespace zmesh::link {

using noise::HandshakeState;
using noise::Pattern;
using noise::Role;

namespace {

constexpr std::uint8_t kPayloadVersion = 1;
constexpr std::uint8_t kFlagRekey = 1;
constexpr std::size_t kBindingSize = 16;
constexpr std::size_t kRekeySeqSize = 8;
constexpr std::size_t kRekeyPayloadSize = 2 + kRekeySeqSize + kBindingSize;

std::uint8_t suite_byte(noise::Suite s) {
    return static_cast<std::uint8_t>((static_cast<std::uint8_t>(s.cipher) << 4) |
                                     static_cast<std::uint8_t>(s.hash));
}

std::optional<noise::Suite> parse_suite(std::uint8_t b) {
    auto cipher = static_cast<crypto::AeadAlg>(b >> 4);
    auto hash = static_cast<crypto::HashAlg>(b & 0xf);
    bool cipher_ok =
        cipher == crypto::AeadAlg::chacha20_poly1305 || cipher == crypto::AeadAlg::aes256_gcm;
    bool hash_ok = hash == crypto::HashAlg::sha256 || hash == crypto::HashAlg::blake2b;
    if (!cipher_ok || !hash_ok) return std::nullopt;
    return noise::Suite{cipher, hash};
}

std::optional<Pattern> parse_pattern(std::uint8_t b) {
    b = static_cast<std::uint8_t>(b & ~kPatternHybrid);
    if (b < 1 || b > 3) return std::nullopt;
    return static_cast<Pattern>(b);
}

// A rekey handshake proves it comes from the holder of the session being rekeyed:
// MAC(binding secret of the current keys, initiator ephemeral | attempt number). The
// attempt number grows with every rekey message the initiator writes in the session, so
// the responder can tell a replayed message 1 from a new one.
ByteArray<kBindingSize> rekey_binding(const crypto::SymmetricKey& secret, ByteView ephemeral,
                                      std::uint64_t seq) {
    Bytes in(ephemeral.begin(), ephemeral.end());
    in.resize(in.size() + kRekeySeqSize);
    store_u64_be(in.data() + ephemeral.size(), seq);
    ByteArray<kBindingSize> out;
    crypto::blake2b(out, in, secret.view());
    return out;
}

}  // namespace

struct Endpoint::Keypair {
    crypto::AeadKey send;
    crypto::AeadKey recv;
    crypto::AeadAlg alg;
    std::uint32_t local_index = 0;
    std::uint32_t remote_index = 0;
    std::uint64_t send_counter = 0;
    ReplayWindow replay;
    TimePoint born;
    crypto::SymmetricKey binding;
    bool confirmed = false;        // a packet from the peer arrived on these keys
    TimePoint confirm_retry_at{};  // initiator: when to nudge again if unconfirmed
    int nudges = 0;
    bool rekey_asked = false;  // responder: sent a rekey request for these keys
};

struct Endpoint::Pending {
    std::optional<HandshakeState> hs;
    std::uint32_t local_index = 0;
    std::uint32_t remote_index = 0;
    bool rekey = false;
    TimePoint born{};
};

struct Endpoint::Session {
    SessionId id = 0;
    PeerAddress addr;
    Role role = Role::initiator;
    Pattern pattern = Pattern::IK;
    noise::Suite suite;
    bool hybrid = false;
    std::optional<crypto::X25519Public> remote_static;
    CookieStamp cookies;
    std::optional<Pending> pending;
    std::unique_ptr<Keypair> current;
    std::unique_ptr<Keypair> previous;
    std::unique_ptr<Keypair> next;
    std::optional<Packet> last_final;  // XK message 3, resent while unconfirmed
    std::deque<wire::Cell> queue;
    TimePoint created{};
    TimePoint first_attempt{};
    TimePoint next_retry{};
    Duration backoff{};
    TimePoint last_sent{};
    TimePoint last_received{};
    bool ever_established = false;
    bool rekey_requested = false;
    // Rekey message 1 attempt numbers: the last one written (initiator) or accepted
    // (responder); a responder takes only higher ones.
    std::uint64_t rekey_seq = 0;
};

Endpoint::Endpoint(EndpointConfig config)
    : cfg_(std::move(config)), checker_(cfg_.static_key.pub, cfg_.limits.timers.cookie_lifetime) {}

Endpoint::~Endpoint() = default;

Endpoint::Session* Endpoint::find(SessionId id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

const Endpoint::Session* Endpoint::find(SessionId id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

bool Endpoint::established(SessionId id) const {
    const Session* s = find(id);
    return s != nullptr && s->current != nullptr;
}

std::vector<Endpoint::SessionInfo> Endpoint::sessions() const {
    std::vector<SessionInfo> out;
    out.reserve(sessions_.size());
    for (const auto& [id, s] : sessions_)
        out.push_back({id, s->addr, s->role == Role::initiator, s->current != nullptr, s->hybrid,
                       s->remote_static, s->created, s->last_received});
    return out;
}

std::uint32_t Endpoint::allocate_index(SessionId id) {
    std::uint32_t index = 0;
    do {
        crypto::random_bytes(MutByteView{reinterpret_cast<std::uint8_t*>(&index), sizeof index});
    } while (index == 0 || indices_.contains(index));
    indices_.emplace(index, id);
    return index;
}

Endpoint::Session* Endpoint::session_for_index(std::uint32_t index) {
    auto it = indices_.find(index);
    return it == indices_.end() ? nullptr : find(it->second);
}

void Endpoint::release_index(std::uint32_t index) {
    indices_.erase(index);
}

void Endpoint::drop_keypair(std::unique_ptr<Keypair>& kp) {
    if (kp) release_index(kp->local_index);
    kp.reset();
}

void Endpoint::remove_session(Session& s, Output& out, bool announce) {
    if (s.pending) release_index(s.pending->local_index);
    if (s.role == Role::responder && !s.ever_established) --half_open_;
    drop_keypair(s.current);
    drop_keypair(s.previous);
    drop_keypair(s.next);
    // An initiator hears of a connect that failed; a responder only of sessions it had.
    if (announce && (s.ever_established || s.role == Role::initiator))
        out.events.push_back({LinkEvent::Kind::closed, s.id, s.remote_static});
    if (announce && s.role == Role::initiator && !s.ever_established) ++stats_.connect_failures;
    sessions_.erase(s.id);
}

void Endpoint::close(SessionId id, Output& out) {
    if (Session* s = find(id)) remove_session(*s, out, true);
}

// ---- initiator -----------------------------------------------------------------------------

Result<SessionId> Endpoint::connect(const PeerAddress& to, const crypto::X25519Public& remote,
                                    Pattern pattern, TimePoint now, Output& out) {
    if (sessions_.size() >= kMaxSessions) return Errc::exhausted;
    auto s = std::make_unique<Session>();
    s->id = next_session_id_++;
    s->addr = to;
    s->role = Role::initiator;
    s->pattern = pattern;
    s->suite = cfg_.suite;
    s->hybrid = cfg_.hybrid;
    s->remote_static = remote;
    s->cookies = CookieStamp(remote, cfg_.limits.timers.cookie_lifetime);
    s->created = now;
    deadline_dirty_ = true;
    SessionId id = s->id;
    Session& ref = *s;
    sessions_.emplace(id, std::move(s));
    if (auto st = start_handshake(ref, now, out); !st) {
        remove_session(ref, out, false);
        return st.error();
    }
    ++stats_.connects;
    return id;
}

Status Endpoint::start_handshake(Session& s, TimePoint now, Output& out) {
    if (!s.pending) {
        s.pending = Pending{};
        s.pending->local_index = allocate_index(s.id);
    }
    s.pending->rekey = s.current != nullptr;
    s.first_attempt = now;
    s.backoff = cfg_.limits.timers.handshake_retry;
    send_handshake(s, now, out);
    return {};
}

// Each attempt is a fresh message 1 with a fresh ephemeral.
void Endpoint::send_handshake(Session& s, TimePoint now, Output& out) {
    Pending& p = *s.pending;
    // An attempt that cannot be written (a peer key of low order, say) still counts: the
    // next one waits for the backoff, and give-up ends the session, instead of the retry
    // time staying in the past and the driver's timer firing at once, again and again.
    s.next_retry = now + s.backoff;
    noise::HandshakeConfig hc;
    hc.pattern = s.pattern;
    hc.suite = s.suite;
    hc.role = Role::initiator;
    hc.hybrid = s.hybrid;
    hc.remote_static = s.remote_static;
    if (s.pattern != Pattern::NK) hc.local_static = cfg_.static_key;
    hc.ephemeral = crypto::X25519KeyPair::generate();

    std::uint32_t receiver = 0;
    Bytes payload{kPayloadVersion, 0};
    if (p.rekey && s.current) {
        // Only the holder of this session's keys may rekey it, and each attempt only once.
        payload[1] = kFlagRekey;
        payload.resize(2 + kRekeySeqSize);
        store_u64_be(payload.data() + 2, ++s.rekey_seq);
        auto binding = rekey_binding(s.current->binding, hc.ephemeral->pub.view(), s.rekey_seq);
        payload.insert(payload.end(), binding.begin(), binding.end());
        receiver = s.current->remote_index;
    }
    auto hs = HandshakeState::create(std::move(hc));
    if (!hs) return;
    p.hs = std::move(*hs);
    auto msg = p.hs->write_message(payload);
    if (!msg) return;

    // A hybrid first message (it carries a 1184-byte ML-KEM key) takes two packets.
    std::size_t count = (msg->size() + kMaxNoiseMessage - 1) / kMaxNoiseMessage;
    if (count == 0 || count > kMaxFragments) return;
    auto pattern_byte = static_cast<std::uint8_t>(static_cast<std::uint8_t>(s.pattern) |
                                                  (s.hybrid ? kPatternHybrid : 0));
    for (std::size_t i = 0; i < count; ++i) {
        HandshakeHeader h{0,
                          suite_byte(s.suite),
                          pattern_byte,
                          p.local_index,
                          receiver,
                          static_cast<std::uint8_t>(i),
                          static_cast<std::uint8_t>(count)};
        std::size_t at = i * kMaxNoiseMessage;
        auto packet = build_handshake(
            h, ByteView{*msg}.subspan(at, std::min(kMaxNoiseMessage, msg->size() - at)));
        if (!packet) return;
        s.cookies.stamp(*packet, now);
        out.packets.push_back({s.addr, *packet});
        ++stats_.packets_out;
    }
    ++stats_.handshakes_started;
    s.last_sent = now;
}

// ---- packet dispatch -----------------------------------------------------------------------

void Endpoint::on_packet(const PeerAddress& from, ByteView packet, TimePoint now, Output& out) {
    ++stats_.packets_in;
    auto parsed = parse_packet(packet);
    if (!parsed) {
        ++stats_.drop_malformed;
        return;
    }
    // Handshakes and cookies start and end timers; data only postpones them (on_data marks
    // what does more).
    if (!std::holds_alternative<DataView>(*parsed)) deadline_dirty_ = true;
    if (auto* hs = std::get_if<HandshakeView>(&*parsed)) {
        on_handshake(from, *hs, now, out);
    } else if (auto* c = std::get_if<CookieView>(&*parsed)) {
        on_cookie(*c, now, out);
    } else {
        on_data(from, std::get<DataView>(*parsed), now, out);
    }
}

void Endpoint::on_handshake(const PeerAddress& from, const HandshakeView& hs, TimePoint now,
                            Output& out) {
    if (hs.header.step != 0 && hs.header.fragments != 1) {
        ++stats_.drop_malformed;  // only first messages are ever fragmented
        return;
    }
    switch (hs.header.step) {
        case 0:
            on_initiation(from, hs, now, out);
            break;
        case 1:
            on_response(from, hs, now, out);
            break;
        case 2:
            on_final(from, hs, now, out);
            break;
        default:
            ++stats_.drop_malformed;
            break;
    }
}

// Under load, initiations must carry a cookie (mac2), which spoofed sources never get.
// Load is a rate of initiations (first fragments: each costs the Diffie-Hellman and
// ML-KEM work of one handshake, the other fragments only a MAC and a table slot), or a
// reassembly or half-open table that is filling up.
bool Endpoint::under_load(const HandshakeHeader& h, TimePoint now) {
    if (now - load_window_start_ >= seconds(1)) {
        load_window_start_ = now;
        load_window_count_ = 0;
    }
    if (h.fragment == 0) ++load_window_count_;
    return load_window_count_ > cfg_.limits.handshake_load_threshold ||
           partials_.size() >= kPartialsLoadMark || half_open_ >= kHalfOpenLoadMark;
}

// ---- responder -----------------------------------------------------------------------------

void Endpoint::on_initiation(const PeerAddress& from, const HandshakeView& hs, TimePoint now,
                             Output& out) {
    if (!checker_.mac1_valid(hs)) {
        ++stats_.drop_bad_mac1;
        return;
    }
    if (under_load(hs.header, now) && !checker_.mac2_valid(hs, from.bytes, now)) {
        out.packets.push_back({from, checker_.make_reply(hs, from.bytes, now)});
        ++stats_.packets_out;
        ++stats_.cookies_sent;
        ++stats_.drop_under_load;
        return;
    }
    if (hs.header.fragments == 1) {
        process_initiation(from, hs.header, hs.message, now, out);
        return;
    }
    // Reassemble a fragmented first message; every fragment passed the mac checks above.
    ++stats_.fragments_in;
    auto added = partials_.add(source_of(from.bytes), hs.header, hs.message, now);
    stats_.partials_evicted = partials_.evicted();
    if (added.inconsistent) {
        ++stats_.drop_malformed;
        return;
    }
    if (added.whole) process_initiation(from, hs.header, *added.whole, now, out);
}

void Endpoint::process_initiation(const PeerAddress& from, const HandshakeHeader& header,
                                  ByteView message, TimePoint now, Output& out) {
    HandshakeView hs;  // the fields used below
    hs.header = header;
    hs.message = message;
    auto suite = parse_suite(hs.header.suite);
    auto pattern = parse_pattern(hs.header.pattern);
    bool hybrid = (hs.header.pattern & kPatternHybrid) != 0;
    if (!suite || !pattern) {
        ++stats_.drop_refused;
        return;
    }
    if (cfg_.require_post_quantum && !hybrid) {
        ++stats_.drop_classical_refused;
        return;
    }
    Session* existing = nullptr;
    if (hs.header.receiver != 0) {
        existing = session_for_index(hs.header.receiver);
        if (existing == nullptr || existing->role != Role::responder ||
            existing->pattern != *pattern || existing->hybrid != hybrid || !existing->current) {
            ++stats_.drop_unknown_index;
            return;
        }
    } else if (sessions_.size() >= kMaxSessions || half_open_ >= kMaxPendingResponders) {
        ++stats_.drop_table_full;
        return;
    }

    noise::HandshakeConfig hc;
    hc.pattern = *pattern;
    hc.suite = *suite;
    hc.role = Role::responder;
    hc.hybrid = hybrid;
    hc.local_static = cfg_.static_key;
    auto state = HandshakeState::create(std::move(hc));
    if (!state) return;
    auto payload = state->read_message(hs.message);
    if (!payload || payload->size() < 2 || (*payload)[0] != kPayloadVersion) {
        ++stats_.drop_handshake_failed;
        return;
    }
    bool rekey = ((*payload)[1] & kFlagRekey) != 0;
    if (rekey != (existing != nullptr)) {
        ++stats_.drop_handshake_failed;
        return;
    }
    if (rekey) {
        if (payload->size() != kRekeyPayloadSize) {
            ++stats_.drop_handshake_failed;
            return;
        }
        std::uint64_t seq = load_u64_be(payload->data() + 2);
        auto expected =
            rekey_binding(existing->current->binding, state->remote_ephemeral()->view(), seq);
        // IK names the peer now and must name the same one; XK does so in message 3;
        // NK peers are anonymous and the binding alone ties the rekey to the session.
        bool same_peer =
            *pattern != Pattern::IK || (state->remote_static() && existing->remote_static &&
                                        *state->remote_static() == *existing->remote_static);
        if (!crypto::ct_equal(expected, ByteView{*payload}.subspan(2 + kRekeySeqSize)) ||
            !same_peer) {
            ++stats_.drop_handshake_failed;
            return;
        }
        // A copy of a message 1 already answered (replayed, from anywhere, or duplicated
        // by the network) must not displace the keys it led to.
        if (seq <= existing->rekey_seq) {
            ++stats_.drop_replayed_rekey;
            return;
        }
        existing->rekey_seq = seq;
    }
    Bytes reply{kPayloadVersion, 0};
    auto msg = state->write_message(reply);
    if (!msg) return;

    Session* s = existing;
    if (s == nullptr) {
        auto fresh = std::make_unique<Session>();
        fresh->id = next_session_id_++;
        fresh->role = Role::responder;
        fresh->pattern = *pattern;
        fresh->suite = *suite;
        fresh->hybrid = hybrid;
        fresh->created = now;
        fresh->addr = from;
        fresh->last_received = now;
        s = fresh.get();
        sessions_.emplace(s->id, std::move(fresh));
        ++half_open_;
    }
    if (s->pending) release_index(s->pending->local_index);
    s->pending.reset();
    std::uint32_t local = allocate_index(s->id);

    HandshakeHeader h{1, hs.header.suite, hs.header.pattern, local, hs.header.sender};
    auto packet = build_handshake(h, *msg);
    if (!packet) return;
    out.packets.push_back({from, *packet});
    ++stats_.packets_out;
    // A rekey moves the session's address only once a packet arrives on the new keys
    // (message 3 for XK, the first data packet otherwise). Until then the answer goes to
    // where the message came from (the initiator may have roamed) and to where the
    // session is, so a copy raced ahead from elsewhere still reaches the initiator.
    if (existing && from != s->addr) {
        out.packets.push_back({s->addr, *packet});
        ++stats_.packets_out;
    }

    if (state->complete()) {
        // NK/IK: keys are ready, but used for sending only once the initiator proves it has
        // them by sending on them (a replayed message 1 thus never displaces working keys).
        if (!existing) s->remote_static = state->remote_static();
        drop_keypair(s->next);
        s->next = make_keypair(*state, local, hs.header.sender, now);
        ++stats_.handshakes_completed;
    } else {
        s->pending = Pending{std::move(*state), local, hs.header.sender, rekey, now};
    }
}

void Endpoint::on_final(const PeerAddress& from, const HandshakeView& hs, TimePoint now,
                        Output& out) {
    if (!checker_.mac1_valid(hs)) {
        ++stats_.drop_bad_mac1;
        return;
    }
    Session* s = session_for_index(hs.header.receiver);
    if (s == nullptr || s->role != Role::responder || !s->pending ||
        s->pending->local_index != hs.header.receiver || s->pending->hs->message_index() != 2) {
        ++stats_.drop_unknown_index;
        return;
    }
    auto payload = s->pending->hs->read_message(hs.message);
    if (!payload || payload->size() < 1 || (*payload)[0] != kPayloadVersion) {
        ++stats_.drop_handshake_failed;
        return;
    }
    const auto& remote = s->pending->hs->remote_static();
    if (s->pending->rekey && (!remote || !s->remote_static || !(*remote == *s->remote_static))) {
        ++stats_.drop_handshake_failed;
        return;
    }
    s->remote_static = remote;
    s->addr = from;
    s->last_received = now;
    Pending p = std::move(*s->pending);
    s->pending.reset();
    ++stats_.handshakes_completed;
    // Message 3 itself proves the initiator holds the keys: use them at once.
    activate(*s, make_keypair(*p.hs, p.local_index, p.remote_index, now), now, out);
    send_link_cell(*s, wire::CellCommand::padding, now, out);
}

// ---- initiator -----------------------------------------------------------------------------

void Endpoint::on_response(const PeerAddress& from, const HandshakeView& hs, TimePoint now,
                           Output& out) {
    Session* s = session_for_index(hs.header.receiver);
    if (s == nullptr || s->role != Role::initiator || !s->pending ||
        s->pending->local_index != hs.header.receiver || s->pending->hs->message_index() != 1) {
        ++stats_.drop_unknown_index;
        return;
    }
    Pending& p = *s->pending;
    auto payload = p.hs->read_message(hs.message);
    if (!payload || payload->size() < 1 || (*payload)[0] != kPayloadVersion) {
        ++stats_.drop_handshake_failed;
        return;
    }
    s->addr = from;
    s->last_received = now;
    s->last_final.reset();
    if (!p.hs->complete()) {  // XK: message 3 carries our static key
        auto msg = p.hs->write_message(Bytes{kPayloadVersion, 0});
        if (!msg) return;
        HandshakeHeader h{2, hs.header.suite, hs.header.pattern, p.local_index, hs.header.sender};
        auto packet = build_handshake(h, *msg);
        if (!packet) return;
        s->cookies.stamp(*packet, now);
        out.packets.push_back({s->addr, *packet});
        ++stats_.packets_out;
        s->last_final = *packet;
    }
    auto kp = make_keypair(*p.hs, p.local_index, hs.header.sender, now);
    stats_.handshake_seconds.observe(std::chrono::duration<double>(now - p.born).count());
    s->pending.reset();
    ++stats_.handshakes_completed;
    activate(*s, std::move(kp), now, out);
    // Confirms the keys to the responder, which waits for a packet on them.
    send_link_cell(*s, wire::CellCommand::padding, now, out);
}

void Endpoint::on_cookie(const CookieView& c, TimePoint now, Output& out) {
    Session* s = session_for_index(c.receiver);
    if (s == nullptr || s->role != Role::initiator || !s->pending ||
        s->pending->local_index != c.receiver) {
        ++stats_.drop_unknown_index;
        return;
    }
    if (!s->cookies.take_reply(c, now)) {
        ++stats_.drop_auth_failed;
        return;
    }
    ++stats_.cookies_received;
    ++stats_.handshake_retransmits;
    send_handshake(*s, now, out);  // again, now with mac2
}

// ---- keys ----------------------------------------------------------------------------------

std::unique_ptr<Endpoint::Keypair> Endpoint::make_keypair(const HandshakeState& hs,
                                                          std::uint32_t local, std::uint32_t remote,
                                                          TimePoint now) {
    auto keys = hs.split();
    auto binding = hs.binding_secret();
    auto alg = keys->send.alg();
    auto kp = std::unique_ptr<Keypair>(new Keypair{crypto::AeadKey(alg, keys->send.key()),
                                                   crypto::AeadKey(alg, keys->recv.key()), alg});
    kp->local_index = local;
    kp->remote_index = remote;
    kp->born = now;
    kp->binding = *binding;
    return kp;
}

void Endpoint::activate(Session& s, std::unique_ptr<Keypair> kp, TimePoint now, Output& out) {
    kp->confirmed = s.role == Role::responder;
    kp->confirm_retry_at = now + cfg_.limits.timers.handshake_retry;
    drop_keypair(s.previous);
    s.previous = std::move(s.current);
    s.current = std::move(kp);
    if (!s.ever_established) {
        s.ever_established = true;
        if (s.role == Role::responder) --half_open_;
        out.events.push_back({LinkEvent::Kind::established, s.id, s.remote_static});
    } else {
        ++stats_.rekeys;
        out.events.push_back({LinkEvent::Kind::rekeyed, s.id, s.remote_static});
    }
    flush_queue(s, now, out);
}

bool Endpoint::usable(const Session& s, TimePoint now) const {
    const auto& t = cfg_.limits.timers;
    return s.current && now - s.current->born < t.reject_after &&
           s.current->send_counter < t.reject_after_packets;
}

// ---- data ----------------------------------------------------------------------------------

void Endpoint::seal_cell(Session& s, Keypair& kp, const wire::Cell& cell, TimePoint now,
                         Output& out) {
    Outgoing& o = out.packets.emplace_back();
    o.to = s.addr;
    write_data_header(o.packet, kp.remote_index, kp.send_counter);
    auto nonce = noise::CipherState::encode_nonce(kp.alg, kp.send_counter);
    ++kp.send_counter;
    if (kp.send_counter >= cfg_.limits.timers.rekey_after_packets) deadline_dirty_ = true;
    (void)kp.send.seal(
        nonce, ByteView{o.packet.data(), wire::kLinkHeaderSize}, cell,
        MutByteView{o.packet.data() + wire::kLinkHeaderSize, wire::kCellSize + wire::kLinkTagSize});
    ++stats_.packets_out;
    s.last_sent = now;
}

void Endpoint::send_link_cell(Session& s, wire::CellCommand cmd, TimePoint now, Output& out) {
    if (!usable(s, now)) return;
    wire::Cell c{};
    wire::set_cell_header(c, wire::kLinkCircuitId, cmd);
    seal_cell(s, *s.current, c, now, out);
    if (cmd == wire::CellCommand::padding) ++stats_.keepalives_out;
}

void Endpoint::flush_queue(Session& s, TimePoint now, Output& out) {
    while (!s.queue.empty() && usable(s, now)) {
        seal_cell(s, *s.current, s.queue.front(), now, out);
        ++stats_.cells_out;
        s.queue.pop_front();
    }
}

Status Endpoint::send_cell(SessionId id, const wire::Cell& cell, TimePoint now, Output& out) {
    Session* s = find(id);
    if (s == nullptr) return Errc::unknown_peer;
    if (usable(*s, now) && s->queue.empty()) {
        seal_cell(*s, *s->current, cell, now, out);
        ++stats_.cells_out;
        return {};
    }
    if (s->queue.size() >= kMaxQueuedCells) {
        ++stats_.drop_queue_full;
        return Errc::exhausted;
    }
    s->queue.push_back(cell);
    deadline_dirty_ = true;
    if (s->role == Role::initiator && !s->pending) return start_handshake(*s, now, out);
    return {};
}

void Endpoint::on_data(const PeerAddress& from, const DataView& d, TimePoint now, Output& out) {
    Session* s = session_for_index(d.receiver);
    Keypair* kp = nullptr;
    if (s != nullptr) {
        for (auto* cand : {s->current.get(), s->next.get(), s->previous.get()})
            if (cand != nullptr && cand->local_index == d.receiver) kp = cand;
    }
    if (kp == nullptr) {
        ++stats_.drop_unknown_index;
        return;
    }
    if (now - kp->born >= cfg_.limits.timers.reject_after) {
        ++stats_.drop_expired_key;
        return;
    }
    switch (kp->replay.check(d.counter)) {
        case ReplayWindow::Verdict::duplicate:
            ++stats_.drop_duplicate;
            return;
        case ReplayWindow::Verdict::too_old:
            ++stats_.drop_too_old;
            return;
        case ReplayWindow::Verdict::fresh:
            break;
    }
    Delivered& del = out.cells.emplace_back();
    auto nonce = noise::CipherState::encode_nonce(kp->alg, d.counter);
    if (!kp->recv.open(nonce, d.header, d.sealed, del.cell)) {
        out.cells.pop_back();
        ++stats_.drop_auth_failed;
        return;
    }
    kp->replay.accept(d.counter);
    s->addr = from;  // roaming: answer where authenticated packets come from
    s->last_received = now;
    if (kp != s->current.get() || !kp->confirmed) deadline_dirty_ = true;  // keys confirmed
    if (kp == s->next.get()) {
        activate(*s, std::move(s->next), now, out);
        send_link_cell(*s, wire::CellCommand::padding, now, out);  // confirms to the initiator
    } else if (!kp->confirmed) {
        kp->confirmed = true;
        s->last_final.reset();
    }
    del.session = s->id;
    if (wire::cell_circuit_id(del.cell) != wire::kLinkCircuitId) {
        ++stats_.cells_in;
        return;
    }
    auto cmd = wire::cell_command(del.cell);
    out.cells.pop_back();
    deadline_dirty_ = true;  // a link cell: a rekey request, say
    if (cmd == wire::CellCommand::padding) {
        ++stats_.keepalives_in;
    } else if (cmd == wire::CellCommand::rekey_request && s->role == Role::initiator) {
        s->rekey_requested = true;
    }
}

// ---- timers --------------------------------------------------------------------------------

void Endpoint::on_tick(TimePoint now, Output& out) {
    deadline_dirty_ = true;
    partials_.expire(now, cfg_.limits.timers.handshake_retry_max);
    std::vector<SessionId> dead;
    for (auto& [id, s] : sessions_) tick_session(*s, now, out, dead);
    for (SessionId id : dead)
        if (Session* s = find(id)) remove_session(*s, out, true);
}

void Endpoint::tick_session(Session& s, TimePoint now, Output& out, std::vector<SessionId>& dead) {
    const auto& t = cfg_.limits.timers;
    if (s.role == Role::initiator && s.pending && now >= s.next_retry) {
        if (now - s.first_attempt >= t.handshake_give_up) {
            ++stats_.sessions_failed;
            dead.push_back(s.id);
            return;
        }
        s.backoff = std::min(s.backoff * 2, t.handshake_retry_max);
        ++stats_.handshake_retransmits;
        send_handshake(s, now, out);
    }
    if (s.role == Role::responder) {
        if (!s.ever_established && now - s.created >= t.half_open_lifetime) {
            dead.push_back(s.id);
            return;
        }
        if (s.pending && now - s.pending->born >= t.half_open_lifetime) {
            release_index(s.pending->local_index);
            s.pending.reset();
        }
        if (s.next && now - s.next->born >= t.half_open_lifetime) drop_keypair(s.next);
    }
    if (s.role == Role::initiator && s.current && !s.current->confirmed &&
        now >= s.current->confirm_retry_at) {
        if (++s.current->nudges > 4) {
            // The responder never answered on the new keys: start over.
            drop_keypair(s.current);
            start_handshake(s, now, out);
        } else {
            if (s.last_final) {
                out.packets.push_back({s.addr, *s.last_final});
                ++stats_.packets_out;
            }
            send_link_cell(s, wire::CellCommand::padding, now, out);
            s.current->confirm_retry_at = now + t.handshake_retry * (1 << s.current->nudges);
        }
    }
    if (s.role == Role::initiator && s.current && !s.pending &&
        (now - s.current->born >= t.rekey_after ||
         s.current->send_counter >= t.rekey_after_packets || s.rekey_requested)) {
        s.rekey_requested = false;
        start_handshake(s, now, out);
    }
    if (s.role == Role::responder && s.current && !s.current->rekey_asked &&
        (s.current->send_counter >= t.rekey_after_packets ||
         now - s.current->born >= t.rekey_after + t.handshake_retry_max)) {
        s.current->rekey_asked = true;
        send_link_cell(s, wire::CellCommand::rekey_request, now, out);
    }
    if (s.previous && now - s.previous->born >= t.reject_after) drop_keypair(s.previous);
    if (s.current && now - s.current->born >= t.reject_after) drop_keypair(s.current);
    if (s.current && s.current->confirmed && now - s.last_sent >= t.keepalive)
        send_link_cell(s, wire::CellCommand::padding, now, out);
    if (s.ever_established && now - s.last_received >= t.dead_after) {
        ++stats_.sessions_dead;
        dead.push_back(s.id);
    }
}

// The times tick_session() and on_tick() compare with. A deadline that has passed is one
// on_tick() acts on at once; every one it acts on moves or goes away, so the timer never
// spins.
std::optional<TimePoint> Endpoint::compute_deadline() const {
    const auto& t = cfg_.limits.timers;
    auto next = partials_.next_expiry(t.handshake_retry_max);
    auto at = [&](TimePoint p) {
        if (!next || p < *next) next = p;
    };
    for (const auto& [id, sp] : sessions_) {
        const Session& s = *sp;
        if (s.role == Role::initiator && s.pending) at(s.next_retry);
        if (s.role == Role::responder) {
            if (!s.ever_established) at(s.created + t.half_open_lifetime);
            if (s.pending) at(s.pending->born + t.half_open_lifetime);
            if (s.next) at(s.next->born + t.half_open_lifetime);
        }
        if (s.current) {
            const Keypair& k = *s.current;
            bool worn = k.send_counter >= t.rekey_after_packets;
            if (s.role == Role::initiator && !k.confirmed) at(k.confirm_retry_at);
            if (s.role == Role::initiator && !s.pending)
                at(s.rekey_requested || worn ? TimePoint::min() : k.born + t.rekey_after);
            if (s.role == Role::responder && !k.rekey_asked)
                at(worn ? TimePoint::min() : k.born + t.rekey_after + t.handshake_retry_max);
            at(k.born + t.reject_after);
            // A keepalive goes only on keys still usable (else the rekey comes first).
            if (k.confirmed && k.send_counter < t.reject_after_packets)
                at(s.last_sent + t.keepalive);
        }
        if (s.previous) at(s.previous->born + t.reject_after);
        if (s.ever_established) at(s.last_received + t.dead_after);
    }
    return next;
}

std::optional<TimePoint> Endpoint::next_deadline() {
    if (deadline_dirty_) {
        deadline_ = compute_deadline();
        deadline_dirty_ = false;
    }
    return deadline_;
}

}  // namespace zmesh::link
