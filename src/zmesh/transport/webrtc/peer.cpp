#include "zmesh/transport/webrtc/peer.hpp"

#include <arpa/inet.h>
#include <nice/agent.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <usrsctp.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>

namespace zmesh::transport::webrtc {

namespace asio = boost::asio;

namespace {

// SCTP packets of up to 1300 bytes: a whole 1232-byte link packet (with SCTP's 28 bytes
// of headers) in one packet, one DTLS record and one datagram of about 1350 bytes with
// the DTLS, UDP and IP headers. That fits any path of the common 1500-byte MTU (and
// PPPoE and most tunnels); at 1200, WebRTC's conservative size, every link packet took
// two of each and the link ran at two thirds of the speed.
constexpr int kSctpMtu = 1300;
constexpr int kDtlsMtu = 1400;
constexpr guint kDtlsTimerMs = 50;
constexpr std::size_t kMaxQueued = 1u << 20;  // bytes waiting for the glib thread

// --- the glib thread libnice runs on ----------------------------------------------------

class GlibThread {
  public:
    static GlibThread& get() {
        static GlibThread t;
        return t;
    }
    GMainContext* context() const { return ctx_; }
    // Runs `fn` on the glib thread (soon, never inline).
    void invoke(std::function<void()> fn) {
        auto* heap = new std::function<void()>(std::move(fn));
        GSource* s = g_idle_source_new();
        g_source_set_callback(
            s,
            [](gpointer p) -> gboolean {
                (*static_cast<std::function<void()>*>(p))();
                return G_SOURCE_REMOVE;
            },
            heap, [](gpointer p) { delete static_cast<std::function<void()>*>(p); });
        g_source_attach(s, ctx_);
        g_source_unref(s);
    }

  private:
    GlibThread() : ctx_(g_main_context_new()), loop_(g_main_loop_new(ctx_, FALSE)) {
        thread_ = std::thread([this] {
            g_main_context_push_thread_default(ctx_);
            g_main_loop_run(loop_);
            g_main_context_pop_thread_default(ctx_);
        });
    }
    ~GlibThread() {
        g_main_loop_quit(loop_);
        g_main_context_wakeup(ctx_);
        if (thread_.joinable()) thread_.join();
        g_main_loop_unref(loop_);
        g_main_context_unref(ctx_);
    }
    GMainContext* ctx_;
    GMainLoop* loop_;
    std::thread thread_;
};

// --- usrsctp, once per process ---------------------------------------------------------

int sctp_output(void* addr, void* buffer, std::size_t length, std::uint8_t, std::uint8_t);

void usrsctp_setup() {
    static std::once_flag once;
    std::call_once(once, [] {
        usrsctp_init(0, &sctp_output, nullptr);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_pr_enable(1);
        usrsctp_sysctl_set_sctp_asconf_enable(0);
        usrsctp_sysctl_set_sctp_auto_asconf(0);
        usrsctp_sysctl_set_sctp_rto_initial_default(1000);
        usrsctp_sysctl_set_sctp_rto_min_default(100);
        usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
        usrsctp_sysctl_set_sctp_init_rto_max_default(5000);
        usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    });
}

// The registry usrsctp's callbacks find their connection in (by the number registered as
// the SCTP "address"): a connection that closed is gone from it, so late callbacks from
// usrsctp's threads drop their data instead of touching freed memory.
// Never destroyed: usrsctp's threads outlive static destruction at exit.
std::mutex& registry_mu = *new std::mutex;
auto& registry = *new std::unordered_map<std::uintptr_t, std::shared_ptr<PeerConnection::Impl>>;
std::atomic<std::uintptr_t> next_id{1};

std::shared_ptr<PeerConnection::Impl> find(std::uintptr_t id) {
    std::lock_guard lock(registry_mu);
    auto it = registry.find(id);
    return it == registry.end() ? nullptr : it->second;
}

std::string ssl_error() {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    return buf;
}

}  // namespace

// --- certificate ---------------------------------------------------------------------

std::shared_ptr<Certificate> Certificate::generate(const std::string& name, int days) {
    std::shared_ptr<Certificate> c(new Certificate());
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    if (key == nullptr || x == nullptr) {
        EVP_PKEY_free(key);
        X509_free(x);
        throw std::runtime_error("cannot make a key");
    }
    c->key_ = key;
    c->x509_ = x;
    std::uint8_t serial[8];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
    X509_set_pubkey(x, key);
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, subject);
    unsigned len = 0;
    if (X509_sign(x, key, EVP_sha256()) <= 0 ||
        X509_digest(x, EVP_sha256(), c->fingerprint_.data(), &len) != 1 || len != 32)
        throw std::runtime_error("cannot make a self-signed certificate");
    return c;
}

Certificate::~Certificate() {
    X509_free(static_cast<X509*>(x509_));
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

// --- the connection --------------------------------------------------------------------

struct PeerConnection::Impl : std::enable_shared_from_this<Impl> {
    std::weak_ptr<PeerConnection> owner;
    PeerStats stats_;  // lives as long as any thread may count in it
    std::atomic<bool>* open = nullptr;
    asio::any_io_executor ex;
    PeerConfig cfg;
    std::shared_ptr<Certificate> cert;
    bool offerer = false;
    Callbacks cb;
    std::uintptr_t id = 0;
    std::atomic<bool> closed{false};

    // ICE: glib thread only.
    NiceAgent* agent = nullptr;
    guint stream = 0;
    GSource* timer = nullptr;

    // Shared between the glib thread, usrsctp's threads and the executor. out_mu (taken
    // first) keeps DTLS records in order from SSL_write to the socket: SCTP takes records
    // that arrive out of order for losses, and this channel does not retransmit.
    std::mutex out_mu;
    std::mutex mu;
    bool gathered = false;
    std::optional<Description> remote;
    std::function<void(Result<std::string>)> want_description;
    bool dtls_client = false;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    BIO* in_bio = nullptr;
    std::vector<Bytes> datagrams;                        // written by the DTLS layer, to be sent
    std::array<std::uint8_t, 16 * 1024 + 256> read_buf;  // one DTLS record's plaintext
    bool dtls_done = false;

    // SCTP: the socket is made and fed data on the glib thread; DCEP replies go from the
    // executor.
    std::mutex sock_mu;
    struct socket* sock = nullptr;
    std::uint16_t channel = 0;  // stream id of our data channel
    bool channel_known = false;
    ChannelType channel_type = ChannelType::rexmit_unordered;  // as its opener asked
    std::uint32_t channel_reliability = 0;
    // Messages waiting for the glib thread, which makes every usrsctp_sendv call: usrsctp
    // serialises its calls on global locks, and sending from the executor while the glib
    // thread fed it input cost more in lock hand-offs than the sending itself.
    std::mutex q_mu;
    std::vector<Bytes> send_q;
    std::size_t q_bytes = 0;
    bool drain_scheduled = false;
    void drain();
    // Reassembly of a message delivered in parts (usrsctp's thread).
    std::mutex part_mu;
    Bytes partial;
    bool discarding = false;

    ~Impl() {
        if (ssl) SSL_free(ssl);  // frees its BIOs
        if (ctx) SSL_CTX_free(ctx);
    }

    // Runs `fn(owner)` on the executor while the connection is still open.
    template <class F>
    void post(F fn) {
        asio::post(ex, [w = owner, fn = std::move(fn)]() mutable {
            if (auto pc = w.lock(); pc && !pc->impl_->closed.load()) fn(*pc);
        });
    }
    void fail(std::string why) {
        post([why = std::move(why)](PeerConnection& pc) {
            auto on_closed = pc.impl_->cb.on_closed;
            pc.close();
            if (on_closed) on_closed(why);
        });
    }

    // ICE (glib thread) ---------------------------------------------------------------
    void setup_ice();
    void gathering_done();
    void maybe_describe();  // with mu held
    void apply_remote();
    void ice_state(guint state);
    void ice_receive(const std::uint8_t* data, std::size_t len);
    void send_datagrams(std::vector<Bytes>& out);
    void teardown_ice();

    // DTLS -------------------------------------------------------------------------
    bool start_dtls();  // with mu held
    void dtls_timer();
    void dtls_up();

    // SCTP ---------------------------------------------------------------------------
    void sctp_out(const std::uint8_t* data, std::size_t len);
    void sctp_in(Bytes data, const sctp_rcvinfo& rcv, int flags);
    void sctp_notification(const Bytes& data);
    void dcep(const Bytes& data, std::uint16_t sid);
    bool sctp_send(std::uint16_t sid, std::uint32_t ppid, ByteView data, ChannelType type);
};

namespace {

int sctp_output(void* addr, void* buffer, std::size_t length, std::uint8_t, std::uint8_t) {
    if (auto impl = find(reinterpret_cast<std::uintptr_t>(addr)))
        impl->sctp_out(static_cast<const std::uint8_t*>(buffer), length);
    return 0;
}

int sctp_receive(struct socket*, union sctp_sockstore, void* data, std::size_t len,
                 struct sctp_rcvinfo rcv, int flags, void* ulp) {
    if (data == nullptr) return 1;
    Bytes bytes(static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + len);
    std::free(data);
    if (auto impl = find(reinterpret_cast<std::uintptr_t>(ulp)))
        impl->sctp_in(std::move(bytes), rcv, flags);
    return 1;
}

// DTLS datagrams out: a BIO that keeps each write as one datagram.
BIO_METHOD* datagram_bio_method() {
    static BIO_METHOD* m = [] {
        BIO_METHOD* b = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "zmesh-dtls");
        BIO_meth_set_create(b, [](BIO* bio) {
            BIO_set_init(bio, 1);
            return 1;
        });
        BIO_meth_set_write(b, [](BIO* bio, const char* data, int len) {
            auto* out = static_cast<std::vector<Bytes>*>(BIO_get_data(bio));
            if (out == nullptr || len < 0) return -1;
            out->emplace_back(data, data + len);
            return len;
        });
        BIO_meth_set_ctrl(b, [](BIO*, int cmd, long, void*) -> long {
            switch (cmd) {
                case BIO_CTRL_FLUSH:
                    return 1;
                case BIO_CTRL_DGRAM_QUERY_MTU:
                    return kDtlsMtu;
                case BIO_CTRL_WPENDING:
                case BIO_CTRL_PENDING:
                    return 0;
                default:
                    return 0;
            }
        });
        return b;
    }();
    return m;
}

}  // namespace

void PeerConnection::Impl::setup_ice() {
    NiceAgent* a = nice_agent_new_full(GlibThread::get().context(), NICE_COMPATIBILITY_RFC5245,
                                       NICE_AGENT_OPTION_NONE);
    g_object_set(a, "controlling-mode", offerer ? TRUE : FALSE, "ice-tcp", FALSE, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(a), "upnp"))
        g_object_set(a, "upnp", FALSE, nullptr);  // never ask the router to open ports
    if (!cfg.stun_host.empty())
        g_object_set(a, "stun-server", cfg.stun_host.c_str(), "stun-server-port",
                     guint{cfg.stun_port}, nullptr);
    for (const auto& local : cfg.local_addresses) {
        NiceAddress addr;
        nice_address_init(&addr);
        if (nice_address_set_from_string(&addr, local.c_str()))
            nice_agent_add_local_address(a, &addr);
    }
    stream = nice_agent_add_stream(a, 1);
    nice_agent_set_stream_name(a, stream, "application");
    for (const auto& t : cfg.turn)
        nice_agent_set_relay_info(a, stream, 1, t.host.c_str(), t.port, t.user.c_str(),
                                  t.password.c_str(), NICE_RELAY_TYPE_TURN_UDP);
    nice_agent_attach_recv(
        a, stream, 1, GlibThread::get().context(),
        [](NiceAgent*, guint, guint, guint len, gchar* buf, gpointer p) {
            static_cast<Impl*>(p)->ice_receive(reinterpret_cast<const std::uint8_t*>(buf), len);
        },
        this);
    g_signal_connect(a, "candidate-gathering-done", G_CALLBACK(+[](NiceAgent*, guint, gpointer p) {
                         static_cast<Impl*>(p)->gathering_done();
                     }),
                     this);
    g_signal_connect(a, "component-state-changed",
                     G_CALLBACK(+[](NiceAgent*, guint, guint, guint state, gpointer p) {
                         static_cast<Impl*>(p)->ice_state(state);
                     }),
                     this);
    {
        std::lock_guard lock(mu);  // other threads read it to send
        agent = a;
    }
    if (!nice_agent_gather_candidates(a, stream)) fail("cannot gather ICE candidates");
}

void PeerConnection::Impl::gathering_done() {
    std::lock_guard lock(mu);
    gathered = true;
    maybe_describe();
}

void PeerConnection::Impl::maybe_describe() {
    if (!want_description || !gathered || (!offerer && !remote)) return;
    Description d;
    gchar *ufrag = nullptr, *pwd = nullptr;
    nice_agent_get_local_credentials(agent, stream, &ufrag, &pwd);
    d.ice_ufrag = ufrag ? ufrag : "";
    d.ice_pwd = pwd ? pwd : "";
    g_free(ufrag);
    g_free(pwd);
    GSList* cands = nice_agent_get_local_candidates(agent, stream, 1);
    for (GSList* i = cands; i && d.candidates.size() < kMaxCandidates; i = i->next) {
        gchar* line =
            nice_agent_generate_local_candidate_sdp(agent, static_cast<NiceCandidate*>(i->data));
        if (line && std::strncmp(line, "a=", 2) == 0) d.candidates.emplace_back(line + 2);
        g_free(line);
    }
    g_slist_free_full(cands, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
    d.fingerprint = cert->fingerprint();
    d.max_message_size = cfg.max_message;
    if (offerer) {
        d.setup = DtlsRole::actpass;
    } else {
        d.mid = remote->mid;
        d.setup = dtls_client ? DtlsRole::active : DtlsRole::passive;
    }
    std::uint64_t session = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&session), sizeof session);
    auto done = std::move(want_description);
    want_description = nullptr;
    asio::post(ex, [done = std::move(done), sdp = write_sdp(d, session >> 2)] { done(sdp); });
}

void PeerConnection::Impl::apply_remote() {
    std::lock_guard lock(mu);
    if (!agent || !remote) return;
    nice_agent_set_remote_credentials(agent, stream, remote->ice_ufrag.c_str(),
                                      remote->ice_pwd.c_str());
    GSList* list = nullptr;
    for (const auto& c : remote->candidates) {
        std::string line = "a=" + c;
        NiceCandidate* nc = nice_agent_parse_remote_candidate_sdp(agent, stream, line.c_str());
        if (nc == nullptr) continue;  // an mDNS name, TCP, or something we cannot use
        if (nc->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
            nice_candidate_free(nc);
            continue;
        }
        list = g_slist_append(list, nc);
    }
    if (list) nice_agent_set_remote_candidates(agent, stream, 1, list);
    g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
    maybe_describe();
}

void PeerConnection::Impl::ice_state(guint state) {
    if (state == NICE_COMPONENT_STATE_FAILED) {
        fail("ICE failed: no candidate pair answered");
        return;
    }
    if (state != NICE_COMPONENT_STATE_CONNECTED && state != NICE_COMPONENT_STATE_READY) return;
    std::vector<Bytes> out;
    std::lock_guard order(out_mu);  // datagrams leave in the order DTLS numbered them
    {
        std::lock_guard lock(mu);
        if (!start_dtls()) return;
        out.swap(datagrams);
    }
    send_datagrams(out);
}

// With mu held. False when DTLS cannot start (yet, or at all).
bool PeerConnection::Impl::start_dtls() {
    if (ssl) return true;
    if (!remote) return false;
    ctx = SSL_CTX_new(DTLS_method());
    if (!ctx) return false;
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx,
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384");
    // Any certificate is accepted here; its fingerprint is checked against the peer's
    // description as soon as the handshake completes, before anything is read.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
    if (SSL_CTX_use_certificate(ctx, static_cast<X509*>(cert->x509())) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, static_cast<EVP_PKEY*>(cert->key())) != 1) {
        fail("DTLS certificate refused: " + ssl_error());
        return false;
    }
    ssl = SSL_new(ctx);
    in_bio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_bio, -1);
    BIO* out_bio = BIO_new(datagram_bio_method());
    BIO_set_data(out_bio, &datagrams);
    SSL_set_bio(ssl, in_bio, out_bio);
    DTLS_set_link_mtu(ssl, kDtlsMtu);
    if (dtls_client) {
        SSL_set_connect_state(ssl);
        SSL_do_handshake(ssl);
    } else {
        SSL_set_accept_state(ssl);
    }
    timer = g_timeout_source_new(kDtlsTimerMs);
    g_source_set_callback(
        timer,
        [](gpointer p) -> gboolean {
            static_cast<Impl*>(p)->dtls_timer();
            return G_SOURCE_CONTINUE;
        },
        this, nullptr);
    g_source_attach(timer, GlibThread::get().context());
    return true;
}

void PeerConnection::Impl::dtls_timer() {
    std::vector<Bytes> out;
    std::lock_guard order(out_mu);  // datagrams leave in the order DTLS numbered them
    {
        std::lock_guard lock(mu);
        if (!ssl || dtls_done) return;
        if (DTLSv1_handle_timeout(ssl) < 0) {
            fail("DTLS handshake timed out");
            return;
        }
        out.swap(datagrams);
    }
    send_datagrams(out);
}

// Not with mu held; from any thread (nice_agent_send is thread-safe).
void PeerConnection::Impl::send_datagrams(std::vector<Bytes>& out) {
    if (out.empty()) return;
    NiceAgent* a = nullptr;
    {
        std::lock_guard lock(mu);
        if (agent) a = static_cast<NiceAgent*>(g_object_ref(agent));
    }
    if (a) {
        for (auto& d : out)
            if (nice_agent_send(a, stream, 1, static_cast<guint>(d.size()),
                                reinterpret_cast<const gchar*>(d.data())) < 0)
                ++stats_.send_drops;
        g_object_unref(a);
    }
    out.clear();
}

void PeerConnection::Impl::ice_receive(const std::uint8_t* data, std::size_t len) {
    // RFC 7983: DTLS records start with 20..63; STUN never reaches us (libnice takes it).
    if (len == 0 || data[0] < 20 || data[0] > 63 || closed.load()) return;
    std::vector<Bytes> plain;
    std::vector<Bytes> out;
    std::unique_lock order(out_mu);  // datagrams leave in the order DTLS numbered them
    bool became_up = false;
    {
        std::lock_guard lock(mu);
        if (!start_dtls()) return;
        BIO_write(in_bio, data, static_cast<int>(len));
        if (!dtls_done) {
            int r = SSL_do_handshake(ssl);
            if (r == 1) {
                X509* peer = SSL_get1_peer_certificate(ssl);
                ByteArray<32> fp{};
                unsigned n = 0;
                bool match = peer && X509_digest(peer, EVP_sha256(), fp.data(), &n) == 1 &&
                             n == 32 &&
                             CRYPTO_memcmp(fp.data(), remote->fingerprint.data(), 32) == 0;
                X509_free(peer);
                if (!match) {
                    fail("DTLS certificate does not match the fingerprint in the description");
                    return;
                }
                dtls_done = became_up = true;
            } else if (int e = SSL_get_error(ssl, r);
                       e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                out.swap(datagrams);
                fail("DTLS handshake failed: " + ssl_error());
                return;
            }
        }
        if (dtls_done) {
            for (;;) {
                int r = SSL_read(ssl, read_buf.data(), static_cast<int>(read_buf.size()));
                if (r <= 0) {
                    int e = SSL_get_error(ssl, r);
                    if (e == SSL_ERROR_ZERO_RETURN) {
                        fail("the peer closed DTLS");
                        return;
                    }
                    ERR_clear_error();
                    break;
                }
                plain.emplace_back(read_buf.begin(), read_buf.begin() + r);
            }
        }
        out.swap(datagrams);
    }
    send_datagrams(out);
    order.unlock();  // SCTP below may answer at once, through sctp_out
    if (became_up) dtls_up();
    for (auto& p : plain) usrsctp_conninput(reinterpret_cast<void*>(id), p.data(), p.size(), 0);
}

// DTLS is up (glib thread): the SCTP association starts over it; both ends connect and
// SCTP resolves the collision (RFC 8841 section 9.3).
void PeerConnection::Impl::dtls_up() {
    std::lock_guard lock(sock_mu);
    if (closed.load() || sock) return;
    struct socket* s = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &sctp_receive, nullptr, 0,
                                      reinterpret_cast<void*>(id));
    if (!s) {
        fail("cannot open an SCTP socket");
        return;
    }
    usrsctp_set_non_blocking(s, 1);
    linger lg{1, 0};
    usrsctp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int on = 1;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    sctp_assoc_value reset{};
    reset.assoc_id = SCTP_ALL_ASSOC;
    reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
    for (std::uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT}) {
        sctp_event ev{};
        ev.se_assoc_id = SCTP_ALL_ASSOC;
        ev.se_type = type;
        ev.se_on = 1;
        usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    sctp_initmsg init{};
    init.sinit_num_ostreams = 1024;
    init.sinit_max_instreams = 1024;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    sctp_paddrparams pp{};
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = kSctpMtu;
    usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
    int buf = static_cast<int>(cfg.max_send_buffer);
    usrsctp_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    usrsctp_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(kSctpPort);
    local.sconn_addr = reinterpret_cast<void*>(id);
    sockaddr_conn peer = local;
    peer.sconn_port = htons(remote ? remote->sctp_port : kSctpPort);
    if (usrsctp_bind(s, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
        usrsctp_close(s);
        fail("cannot bind the SCTP socket");
        return;
    }
    sock = s;
    int r = usrsctp_connect(s, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
    if (r < 0 && errno != EINPROGRESS) fail("SCTP connect failed");
}

void PeerConnection::Impl::sctp_out(const std::uint8_t* data, std::size_t len) {
    std::vector<Bytes> out;
    std::lock_guard order(out_mu);  // datagrams leave in the order DTLS numbered them
    {
        std::lock_guard lock(mu);
        if (!ssl || !dtls_done) return;
        if (SSL_write(ssl, data, static_cast<int>(len)) <= 0) ERR_clear_error();
        out.swap(datagrams);
    }
    // nice_agent_send is safe from any thread.
    send_datagrams(out);
}

void PeerConnection::Impl::sctp_in(Bytes data, const sctp_rcvinfo& rcv, int flags) {
    if (flags & MSG_NOTIFICATION) {
        sctp_notification(data);
        return;
    }
    {
        std::lock_guard lock(part_mu);
        if (!(flags & MSG_EOR)) {  // a part; the rest follows
            if (!discarding && partial.size() + data.size() <= cfg.max_message + 64) {
                partial.insert(partial.end(), data.begin(), data.end());
            } else {
                discarding = true;
                partial.clear();
            }
            return;
        }
        if (discarding || !partial.empty()) {
            bool drop = discarding || partial.size() + data.size() > cfg.max_message + 64;
            partial.insert(partial.end(), data.begin(), data.end());
            data.swap(partial);
            partial.clear();
            discarding = false;
            if (drop) {
                ++stats_.refused_messages;
                return;
            }
        }
    }
    std::uint32_t ppid = ntohl(rcv.rcv_ppid);
    std::uint16_t sid = rcv.rcv_sid;
    switch (ppid) {
        case kPpidDcep:
            post([data = std::move(data), sid](PeerConnection& pc) { pc.impl_->dcep(data, sid); });
            return;
        case kPpidBinary:
        case kPpidBinaryEmpty:
            if (ppid == kPpidBinaryEmpty) data.clear();
            if (data.size() > cfg.max_message) {
                ++stats_.refused_messages;
                return;
            }
            ++stats_.messages_in;
            stats_.bytes_in += data.size();
            post([data = std::move(data)](PeerConnection& pc) mutable {
                if (pc.impl_->cb.on_message) pc.impl_->cb.on_message(std::move(data));
            });
            return;
        default:
            ++stats_.refused_messages;  // text messages and deprecated partial types
    }
}

void PeerConnection::Impl::sctp_notification(const Bytes& data) {
    if (data.size() < sizeof(sctp_notification::sctp_tlv)) return;
    sctp_notification::sctp_tlv h;
    std::memcpy(&h, data.data(), sizeof h);
    if (h.sn_type != SCTP_ASSOC_CHANGE || data.size() < sizeof(sctp_assoc_change)) return;
    sctp_assoc_change ac;
    std::memcpy(&ac, data.data(), sizeof ac);
    if (ac.sac_state == SCTP_COMM_UP) {
        if (!offerer) return;  // the offerer opens the channel
        post([](PeerConnection& pc) {
            auto& i = *pc.impl_;
            // DTLS client takes even stream ids, server odd (RFC 8832 section 6).
            i.channel = i.dtls_client ? 0 : 1;
            i.channel_known = true;
            ChannelOpen o;
            o.type = ChannelType::rexmit_unordered;
            o.reliability = 0;
            o.label = i.cfg.label;
            i.channel_type = o.type;
            i.channel_reliability = o.reliability;
            if (!i.sctp_send(i.channel, kPpidDcep, encode_open(o), ChannelType::reliable))
                i.fail("cannot open the data channel");
        });
    } else if (ac.sac_state == SCTP_COMM_LOST || ac.sac_state == SCTP_SHUTDOWN_COMP ||
               ac.sac_state == SCTP_CANT_STR_ASSOC) {
        fail("SCTP association ended");
    }
}

// A DCEP message on the executor.
void PeerConnection::Impl::dcep(const Bytes& data, std::uint16_t sid) {
    if (data.empty()) return;
    if (data[0] == kDcepAck) {
        if (offerer && channel_known && sid == channel && !open->exchange(true) && cb.on_open)
            cb.on_open();
        return;
    }
    auto o = parse_open(data);
    if (!o) {
        ++stats_.refused_messages;
        return;
    }
    if (offerer || channel_known) return;  // one channel per connection: ours
    channel = sid;
    channel_known = true;
    channel_type = o->type;
    channel_reliability = o->reliability;
    sctp_send(sid, kPpidDcep, encode_ack(), ChannelType::reliable);
    if (!open->exchange(true) && cb.on_open) cb.on_open();
}

bool PeerConnection::Impl::sctp_send(std::uint16_t sid, std::uint32_t ppid, ByteView data,
                                     ChannelType type) {
    std::lock_guard lock(sock_mu);
    if (!sock) return false;
    sctp_sendv_spa spa{};
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    auto t = static_cast<std::uint8_t>(type);
    if (t & 0x80) spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    if ((t & 0x7f) != 0) {  // partially reliable: a number of retransmissions or a lifetime
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = (t & 0x7f) == 0x01 ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = channel_reliability;
    }
    static const std::uint8_t zero = 0;  // an empty message goes as one byte (RFC 8831)
    const void* p = data.empty() ? &zero : data.data();
    std::size_t n = data.empty() ? 1 : data.size();
    return usrsctp_sendv(sock, p, n, nullptr, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0) >= 0;
}

// Glib thread: everything send() queued goes to SCTP.
void PeerConnection::Impl::drain() {
    std::vector<Bytes> q;
    {
        std::lock_guard lock(q_mu);
        q.swap(send_q);
        q_bytes = 0;
        drain_scheduled = false;
    }
    for (const auto& m : q) {
        if (closed.load()) return;
        if (!sctp_send(channel, kPpidBinary, m, channel_type)) ++stats_.send_drops;
    }
}

void PeerConnection::Impl::teardown_ice() {
    if (timer) {
        g_source_destroy(timer);
        g_source_unref(timer);
        timer = nullptr;
    }
    NiceAgent* a = nullptr;
    {
        std::lock_guard lock(mu);
        std::swap(a, agent);
    }
    if (a) {
        nice_agent_attach_recv(a, stream, 1, GlibThread::get().context(), nullptr, nullptr);
        g_signal_handlers_disconnect_by_data(a, this);
        nice_agent_remove_stream(a, stream);
        g_object_unref(a);
    }
}

// --- the public face --------------------------------------------------------------------

std::shared_ptr<PeerConnection> PeerConnection::create(asio::any_io_executor ex, PeerConfig config,
                                                       std::shared_ptr<Certificate> cert,
                                                       bool offerer, Callbacks callbacks) {
    usrsctp_setup();
    std::shared_ptr<PeerConnection> pc(new PeerConnection());
    auto impl = std::make_shared<Impl>();
    impl->owner = pc;
    impl->open = &pc->open_;
    impl->ex = std::move(ex);
    impl->cfg = std::move(config);
    impl->cert = std::move(cert);
    impl->offerer = offerer;
    impl->cb = std::move(callbacks);
    impl->id = next_id.fetch_add(1);
    // The offerer's role is settled by the answer; an answerer connects (a=setup:active).
    impl->dtls_client = !offerer;
    {
        std::lock_guard lock(registry_mu);
        registry.emplace(impl->id, impl);
    }
    usrsctp_register_address(reinterpret_cast<void*>(impl->id));
    pc->impl_ = impl;
    GlibThread::get().invoke([impl] {
        if (!impl->closed.load()) impl->setup_ice();
    });
    return pc;
}

PeerConnection::~PeerConnection() {
    close();
}

const PeerStats& PeerConnection::stats() const {
    return impl_->stats_;
}

void PeerConnection::local_description(std::function<void(Result<std::string>)> done) {
    auto impl = impl_;
    {
        std::lock_guard lock(impl->mu);
        impl->want_description = std::move(done);
    }
    GlibThread::get().invoke([impl] {
        std::lock_guard lock(impl->mu);
        if (impl->agent) impl->maybe_describe();
    });
}

Status PeerConnection::set_remote(std::string_view sdp, std::string* why) {
    auto d = parse_sdp(sdp, why);
    if (!d) return d.error();
    auto impl = impl_;
    {
        std::lock_guard lock(impl->mu);
        if (impl->remote) {
            if (why) *why = "a description was already given";
            return Errc::bad_state;
        }
        if (impl->offerer) {
            if (d->setup == DtlsRole::actpass) {
                if (why) *why = "an answer must say a=setup:active or passive";
                return Errc::malformed;
            }
            impl->dtls_client = d->setup == DtlsRole::passive;
        } else {
            impl->dtls_client = d->setup != DtlsRole::active;
        }
        impl->remote = std::move(*d);
    }
    GlibThread::get().invoke([impl] { impl->apply_remote(); });
    return {};
}

bool PeerConnection::send(ByteView message) {
    auto& i = *impl_;
    if (!open_.load() || message.size() > i.cfg.max_message || i.closed.load()) {
        ++i.stats_.send_drops;
        return false;
    }
    bool schedule = false;
    {
        std::lock_guard lock(i.q_mu);
        if (i.q_bytes + message.size() > kMaxQueued) {
            ++i.stats_.send_drops;
            return false;
        }
        i.send_q.emplace_back(message.begin(), message.end());
        i.q_bytes += message.size();
        schedule = !std::exchange(i.drain_scheduled, true);
    }
    if (schedule) GlibThread::get().invoke([impl = impl_] { impl->drain(); });
    ++i.stats_.messages_out;
    i.stats_.bytes_out += message.size();
    return true;
}

void PeerConnection::close() {
    if (!impl_ || impl_->closed.exchange(true)) return;
    auto impl = impl_;
    open_.store(false);
    {
        std::lock_guard lock(registry_mu);
        registry.erase(impl->id);
    }
    {
        std::lock_guard lock(impl->sock_mu);
        if (impl->sock) {
            usrsctp_close(impl->sock);
            impl->sock = nullptr;
        }
    }
    usrsctp_deregister_address(reinterpret_cast<void*>(impl->id));
    GlibThread::get().invoke([impl] { impl->teardown_ice(); });
}

}  // namespace zmesh::transport::webrtc
