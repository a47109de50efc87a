#include "zmesh/transport/webrtc/sdp.hpp"

#include <cctype>
#include <charconv>

namespace zmesh::transport::webrtc {
namespace {

constexpr std::size_t kMaxLine = 1024;
constexpr std::size_t kMaxCredential = 256;

const char* role_text(DtlsRole r) {
    switch (r) {
        case DtlsRole::active:
            return "active";
        case DtlsRole::passive:
            return "passive";
        default:
            return "actpass";
    }
}

bool starts(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

Result<Description> refuse(std::string* why, std::string reason) {
    if (why) *why = std::move(reason);
    return Errc::malformed;
}

// ICE credentials are ice-char (RFC 8839: ALPHA / DIGIT / "+" / "/").
bool ice_chars(std::string_view s) {
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
    }
    return true;
}

}  // namespace

std::string fingerprint_text(const ByteArray<32>& f) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(32 * 3);
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (i) out += ':';
        out += hex[f[i] >> 4];
        out += hex[f[i] & 15];
    }
    return out;
}

std::optional<ByteArray<32>> parse_fingerprint(std::string_view text) {
    if (text.size() != 32 * 3 - 1) return std::nullopt;
    ByteArray<32> f{};
    for (std::size_t i = 0; i < 32; ++i) {
        if (i && text[i * 3 - 1] != ':') return std::nullopt;
        auto pair = from_hex(text.substr(i * 3, 2));
        if (!pair) return std::nullopt;
        f[i] = (*pair)[0];
    }
    return f;
}

std::string write_sdp(const Description& d, std::uint64_t session_id) {
    std::string s;
    s += "v=0\r\n";
    s += "o=zmesh " + std::to_string(session_id) + " 1 IN IP4 127.0.0.1\r\n";
    s += "s=-\r\nt=0 0\r\n";
    s += "a=group:BUNDLE " + d.mid + "\r\n";
    s += "a=msid-semantic: WMS\r\n";
    s += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    s += "c=IN IP4 0.0.0.0\r\n";
    for (const auto& c : d.candidates) s += "a=" + c + "\r\n";
    if (!d.candidates.empty()) s += "a=end-of-candidates\r\n";
    s += "a=ice-ufrag:" + d.ice_ufrag + "\r\n";
    s += "a=ice-pwd:" + d.ice_pwd + "\r\n";
    s += "a=fingerprint:sha-256 " + fingerprint_text(d.fingerprint) + "\r\n";
    s += std::string("a=setup:") + role_text(d.setup) + "\r\n";
    s += "a=mid:" + d.mid + "\r\n";
    s += "a=sctp-port:" + std::to_string(d.sctp_port) + "\r\n";
    s += "a=max-message-size:" + std::to_string(d.max_message_size) + "\r\n";
    return s;
}

Result<Description> parse_sdp(std::string_view sdp, std::string* why) {
    if (sdp.size() > kMaxSdpSize) return refuse(why, "description over 16 KiB");
    Description d;
    bool version = false, data_section = false, have_fp = false, have_setup = false;
    bool in_data = false;
    std::string session_ufrag, session_pwd;
    std::optional<ByteArray<32>> session_fp;
    while (!sdp.empty()) {
        auto eol = sdp.find('\n');
        std::string_view line = sdp.substr(0, eol);
        sdp = eol == std::string_view::npos ? std::string_view{} : sdp.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.size() > kMaxLine) return refuse(why, "line over 1024 bytes");
        if (line.size() < 2 || line[1] != '=') return refuse(why, "not an SDP line");
        if (!version) {
            if (line != "v=0") return refuse(why, "does not start with v=0");
            version = true;
            continue;
        }
        if (line[0] == 'm') {
            in_data = false;
            if (starts(line, "m=application ") &&
                line.find("UDP/DTLS/SCTP webrtc-datachannel") != std::string_view::npos) {
                if (data_section) return refuse(why, "more than one data section");
                data_section = in_data = true;
            }
            continue;
        }
        if (line[0] != 'a') continue;
        std::string_view a = line.substr(2);
        // Session-level attributes apply to the data section unless it overrides them.
        bool session = !data_section;
        if (!session && !in_data) continue;  // another media section: not ours
        if (starts(a, "ice-ufrag:")) {
            auto v = a.substr(10);
            if (v.size() < 4 || v.size() > kMaxCredential || !ice_chars(v))
                return refuse(why, "bad ice-ufrag");
            (session ? session_ufrag : d.ice_ufrag) = std::string(v);
        } else if (starts(a, "ice-pwd:")) {
            auto v = a.substr(8);
            if (v.size() < 22 || v.size() > kMaxCredential || !ice_chars(v))
                return refuse(why, "bad ice-pwd");
            (session ? session_pwd : d.ice_pwd) = std::string(v);
        } else if (starts(a, "fingerprint:")) {
            auto v = a.substr(12);
            auto sp = v.find(' ');
            if (sp == std::string_view::npos) return refuse(why, "bad fingerprint");
            std::string alg(v.substr(0, sp));
            for (auto& c : alg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (alg != "sha-256") continue;  // others may follow; we check SHA-256
            auto fp = parse_fingerprint(v.substr(sp + 1));
            if (!fp) return refuse(why, "bad sha-256 fingerprint");
            if (session) {
                session_fp = fp;
            } else {
                d.fingerprint = *fp;
                have_fp = true;
            }
        } else if (session) {
            continue;
        } else if (starts(a, "setup:")) {
            auto v = a.substr(6);
            if (v == "actpass")
                d.setup = DtlsRole::actpass;
            else if (v == "active")
                d.setup = DtlsRole::active;
            else if (v == "passive")
                d.setup = DtlsRole::passive;
            else
                return refuse(why, "bad setup role");
            have_setup = true;
        } else if (starts(a, "mid:")) {
            auto v = a.substr(4);
            if (v.empty() || v.size() > 32) return refuse(why, "bad mid");
            d.mid = std::string(v);
        } else if (starts(a, "sctp-port:")) {
            auto v = a.substr(10);
            unsigned port = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
            if (ec != std::errc{} || p != v.data() + v.size() || port == 0 || port > 65535)
                return refuse(why, "bad sctp-port");
            d.sctp_port = static_cast<std::uint16_t>(port);
        } else if (starts(a, "max-message-size:")) {
            auto v = a.substr(17);
            std::uint64_t size = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), size);
            if (ec != std::errc{} || p != v.data() + v.size())
                return refuse(why, "bad max-message-size");
            // 0 means "no limit" (RFC 8841); we never send more than our own limit anyway.
            d.max_message_size = size == 0 || size > kMaxMessageSize ? kMaxMessageSize : size;
        } else if (starts(a, "candidate:")) {
            if (d.candidates.size() >= kMaxCandidates) return refuse(why, "too many candidates");
            d.candidates.emplace_back(a);
        }
    }
    if (!version) return refuse(why, "empty description");
    if (!data_section) return refuse(why, "no webrtc-datachannel section");
    if (d.ice_ufrag.empty()) d.ice_ufrag = session_ufrag;
    if (d.ice_pwd.empty()) d.ice_pwd = session_pwd;
    if (!have_fp && session_fp) {
        d.fingerprint = *session_fp;
        have_fp = true;
    }
    if (d.ice_ufrag.empty() || d.ice_pwd.empty()) return refuse(why, "no ICE credentials");
    if (!have_fp) return refuse(why, "no sha-256 certificate fingerprint");
    if (!have_setup) d.setup = DtlsRole::actpass;
    return d;
}

}  // namespace zmesh::transport::webrtc
