#include "zmesh/crypto/mlkem/mlkem.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "zmesh/crypto/hash.hpp"

// Under valgrind's constant-time check secrets are marked undefined; values that are
// public by design (ρ, published in ek) are declared defined again. Outside valgrind
// this is a few no-op instructions.
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define ZMESH_DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)
#else
#define ZMESH_DECLASSIFY(p, n) ((void)0)
#endif

namespace zmesh::crypto::mlkem {
namespace {

constexpr int kN = 256;
constexpr std::uint32_t kQ = 3329;
constexpr int kMaxK = 4;

using Poly = std::array<std::uint16_t, kN>;  // coefficients in [0, q)

// ζ^BitRev7(i) mod q for i = 0..127, ζ = 17 (FIPS 203, 4.3).
constexpr std::array<std::uint16_t, 128> make_zetas() {
    std::array<std::uint16_t, 128> z{};
    for (int i = 0; i < 128; ++i) {
        int rev = 0;
        for (int b = 0; b < 7; ++b) rev |= ((i >> b) & 1) << (6 - b);
        std::uint32_t v = 1;
        for (int e = 0; e < rev; ++e) v = v * 17 % kQ;
        z[i] = static_cast<std::uint16_t>(v);
    }
    return z;
}
constexpr auto kZetas = make_zetas();

// ζ^(2·BitRev7(i)+1) for the base-case multiplications.
constexpr std::array<std::uint16_t, 128> make_gammas() {
    std::array<std::uint16_t, 128> g{};
    for (int i = 0; i < 128; ++i) {
        std::uint32_t z = kZetas[i];
        g[i] = static_cast<std::uint16_t>(z * z % kQ * 17 % kQ);
    }
    return g;
}
constexpr auto kGammas = make_gammas();

// Division by q without a divide instruction. `x % kQ` and `x / kQ` usually compile to a
// multiply and shift, but not always (GCC at -Os emits `div`, whose time depends on the
// operands: the KyberSlash timing leak), so every reduction of a secret value is written
// out as Barrett's method: an estimate floor(x·m / 2^k) of x / q with m = floor(2^k / q),
// which is x / q or one less, then one constant-time correction.
constexpr int kBarrettShift = 40;
constexpr std::uint64_t kBarrettM = (std::uint64_t{1} << kBarrettShift) / kQ;
constexpr std::uint32_t kMaxReduceInput = std::uint32_t{1} << 26;  // every caller stays below

constexpr std::uint32_t divide_q(std::uint32_t x) {
    auto est = static_cast<std::uint32_t>((std::uint64_t{x} * kBarrettM) >> kBarrettShift);
    std::uint32_t rest = x - est * kQ;  // in [0, 2q)
    // rest >= q exactly when q - 1 - rest is negative: add its sign bit.
    return est + ((kQ - 1 - rest) >> 31);
}

// The estimate is monotonic in x and the quotient is constant on [j·q, (j+1)·q), so checking
// both ends of every such interval proves divide_q exact on [0, kMaxReduceInput).
constexpr bool divide_q_exact() {
    for (std::uint32_t j = 0; j * kQ < kMaxReduceInput; ++j) {
        std::uint32_t last = std::min((j + 1) * kQ, kMaxReduceInput) - 1;
        if (divide_q(j * kQ) != j || divide_q(last) != j) return false;
    }
    return true;
}
static_assert(divide_q_exact());

inline std::uint16_t reduce(std::uint32_t x) {
    return static_cast<std::uint16_t>(x - divide_q(x) * kQ);
}
// For inputs in [0, q): subtract q, then add it back if the result went negative, using
// the sign bit as a mask (no branch).
inline std::uint16_t csub_q(std::int32_t x) {
    x -= static_cast<std::int32_t>(kQ);
    x += (x >> 31) & static_cast<std::int32_t>(kQ);
    return static_cast<std::uint16_t>(x);
}
inline std::uint16_t add(std::uint16_t a, std::uint16_t b) {
    return csub_q(std::int32_t{a} + b);
}
inline std::uint16_t sub(std::uint16_t a, std::uint16_t b) {
    return csub_q(std::int32_t{a} - b + static_cast<std::int32_t>(kQ));
}
inline std::uint16_t mul(std::uint16_t a, std::uint16_t b) {
    return reduce(std::uint32_t{a} * b);
}

void ntt(Poly& f) {  // Algorithm 9
    int i = 1;
    for (int len = 128; len >= 2; len /= 2) {
        for (int start = 0; start < kN; start += 2 * len) {
            std::uint16_t zeta = kZetas[i++];
            for (int j = start; j < start + len; ++j) {
                std::uint16_t t = mul(zeta, f[j + len]);
                f[j + len] = sub(f[j], t);
                f[j] = add(f[j], t);
            }
        }
    }
}

void ntt_inverse(Poly& f) {  // Algorithm 10
    int i = 127;
    for (int len = 2; len <= 128; len *= 2) {
        for (int start = 0; start < kN; start += 2 * len) {
            std::uint16_t zeta = kZetas[i--];
            for (int j = start; j < start + len; ++j) {
                std::uint16_t t = f[j];
                f[j] = add(t, f[j + len]);
                f[j + len] = mul(zeta, sub(f[j + len], t));
            }
        }
    }
    for (auto& c : f) c = mul(c, 3303);  // 128^-1 mod q
}

// Algorithms 11 and 12, accumulated: acc += f ∘ g in the NTT domain. Products stay in
// 32 bits (q² · 2 < 2³²) and below kMaxReduceInput, so each output needs only two
// reductions.
void multiply_add(Poly& acc, const Poly& f, const Poly& g) {
    for (int i = 0; i < 128; ++i) {
        std::uint32_t a0 = f[2 * i], a1 = f[2 * i + 1], b0 = g[2 * i], b1 = g[2 * i + 1];
        std::uint32_t c0 = a0 * b0 + std::uint32_t{mul(reduce(a1 * b1), kGammas[i])};
        std::uint32_t c1 = a0 * b1 + a1 * b0;
        acc[2 * i] = reduce(acc[2 * i] + c0);          // < q + q² + q < 2^26
        acc[2 * i + 1] = reduce(acc[2 * i + 1] + c1);  // < q + 2q² < 2^26
    }
}

void poly_add(Poly& a, const Poly& b) {
    for (int i = 0; i < kN; ++i) a[i] = add(a[i], b[i]);
}

// Algorithm 5 (ByteEncode_d); d = 12 stores values < q, smaller d stores d-bit values.
void byte_encode(int d, const Poly& f, std::uint8_t* out) {
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t o = 0;
    for (int i = 0; i < kN; ++i) {
        acc |= std::uint32_t{f[i]} << bits;
        bits += d;
        while (bits >= 8) {
            out[o++] = static_cast<std::uint8_t>(acc);
            acc >>= 8;
            bits -= 8;
        }
    }
}

// Algorithm 6 (ByteDecode_d), without the reduction mod q for d = 12 (callers check it).
void byte_decode(int d, const std::uint8_t* in, Poly& f) {
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t o = 0;
    std::uint32_t mask = (1u << d) - 1;
    for (int i = 0; i < kN; ++i) {
        while (bits < d) {
            acc |= std::uint32_t{in[o++]} << bits;
            bits += 8;
        }
        f[i] = static_cast<std::uint16_t>(acc & mask);
        acc >>= d;
        bits -= d;
    }
}

// Compress_d(x) = round(2^d / q · x) mod 2^d, by integer arithmetic (no data branches).
std::uint16_t compress(int d, std::uint16_t x) {
    std::uint32_t y = divide_q((std::uint32_t{x} << d) + kQ / 2);  // < 2^11 · q + q < 2^26
    return static_cast<std::uint16_t>(y & ((1u << d) - 1));
}

std::uint16_t decompress(int d, std::uint16_t y) {
    return static_cast<std::uint16_t>((std::uint32_t{y} * kQ + (1u << (d - 1))) >> d);
}

// Algorithm 7: rejection sampling from SHAKE128(ρ || j || i). The input is public.
// OpenSSL 3.0 cannot continue a squeeze, so the whole stream is requested at once and
// requested again, longer, in the rare case it runs short.
void sample_ntt(const std::uint8_t* rho, std::uint8_t j, std::uint8_t i, Poly& a) {
    std::uint8_t seed[34];
    std::memcpy(seed, rho, 32);
    seed[32] = j;
    seed[33] = i;
    // Three SHAKE128 blocks give 336 candidates, enough for 256 draws all but ~1% of the time.
    std::array<std::uint8_t, 168 * 3> first;
    Bytes longer;
    for (std::size_t len = first.size();; len *= 2) {
        std::uint8_t* stream = first.data();
        if (len > first.size()) {
            longer.resize(len);
            stream = longer.data();
        }
        shake128({seed, sizeof seed}, {stream, len});
        int n = 0;
        for (std::size_t p = 0; p + 3 <= len && n < kN; p += 3) {
            std::uint16_t d1 =
                static_cast<std::uint16_t>(stream[p] | ((stream[p + 1] & 0x0f) << 8));
            std::uint16_t d2 =
                static_cast<std::uint16_t>((stream[p + 1] >> 4) | (stream[p + 2] << 4));
            if (d1 < kQ) a[n++] = d1;
            if (d2 < kQ && n < kN) a[n++] = d2;
        }
        if (n == kN) return;
    }
}

// Algorithm 8: centred binomial distribution from PRF_η(s, b) = SHAKE256(s || b, 64η).
void sample_cbd(int eta, const std::uint8_t* s, std::uint8_t b, Poly& f) {
    std::uint8_t input[33];
    std::memcpy(input, s, 32);
    input[32] = b;
    std::uint8_t buf[64 * 3];
    std::size_t len = 64 * static_cast<std::size_t>(eta);
    shake256({input, sizeof input}, {buf, len});
    if (eta == 2) {
        // Eight coefficients per 32-bit word: sum bit pairs, then x - y per nibble.
        for (int w = 0; w < kN / 8; ++w) {
            std::uint32_t t = std::uint32_t{buf[4 * w]} | (std::uint32_t{buf[4 * w + 1]} << 8) |
                              (std::uint32_t{buf[4 * w + 2]} << 16) |
                              (std::uint32_t{buf[4 * w + 3]} << 24);
            std::uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
            for (int j = 0; j < 8; ++j) {
                std::uint32_t x = (d >> (4 * j)) & 3;
                std::uint32_t y = (d >> (4 * j + 2)) & 3;
                f[8 * w + j] = reduce(x + kQ - y);
            }
        }
    } else {
        for (int i = 0; i < kN; ++i) {
            std::uint32_t x = 0;
            std::uint32_t y = 0;
            for (int j = 0; j < eta; ++j) {
                int bx = 2 * i * eta + j;
                int by = 2 * i * eta + eta + j;
                x += (buf[bx >> 3] >> (bx & 7)) & 1;
                y += (buf[by >> 3] >> (by & 7)) & 1;
            }
            f[i] = reduce(x + kQ - y);
        }
    }
    wipe(buf, sizeof buf);
    wipe(input, sizeof input);
}

struct Matrix {
    std::array<std::array<Poly, kMaxK>, kMaxK> a;  // a[i][j] = SampleNTT(ρ || j || i)
};

void expand_matrix(const Params& p, const std::uint8_t* rho, Matrix& m) {
    for (int i = 0; i < p.k; ++i)
        for (int j = 0; j < p.k; ++j)
            sample_ntt(rho, static_cast<std::uint8_t>(j), static_cast<std::uint8_t>(i), m.a[i][j]);
}

using PolyVec = std::array<Poly, kMaxK>;

void wipe_polys(PolyVec& v) {
    wipe(v.data(), sizeof v);
}

// K-PKE.KeyGen (Algorithm 13), writing ek_PKE and dk_PKE.
void pke_keygen(const Params& p, ByteView d, std::uint8_t* ek, std::uint8_t* dk_pke) {
    std::uint8_t g_in[33];
    std::memcpy(g_in, d.data(), 32);
    g_in[32] = static_cast<std::uint8_t>(p.k);
    auto g = sha3_512({g_in, sizeof g_in});
    const std::uint8_t* rho = g.data();
    const std::uint8_t* sigma = g.data() + 32;
    ZMESH_DECLASSIFY(g.data(), 32);  // ρ is public: it is part of ek
    Matrix a;
    expand_matrix(p, rho, a);
    PolyVec s{}, e{}, t{};
    std::uint8_t n = 0;
    for (int i = 0; i < p.k; ++i) sample_cbd(p.eta1, sigma, n++, s[i]);
    for (int i = 0; i < p.k; ++i) sample_cbd(p.eta1, sigma, n++, e[i]);
    for (int i = 0; i < p.k; ++i) {
        ntt(s[i]);
        ntt(e[i]);
    }
    for (int i = 0; i < p.k; ++i) {
        t[i] = e[i];
        for (int j = 0; j < p.k; ++j) multiply_add(t[i], a.a[i][j], s[j]);
        byte_encode(12, t[i], ek + 384 * i);
        byte_encode(12, s[i], dk_pke + 384 * i);
    }
    std::memcpy(ek + 384 * p.k, rho, 32);
    wipe_polys(s);
    wipe_polys(e);
    wipe(g);
    wipe(g_in, sizeof g_in);
}

// K-PKE.Encrypt (Algorithm 14). ek must already have passed the modulus check.
void pke_encrypt(const Params& p, ByteView ek, const std::uint8_t* m, const std::uint8_t* r,
                 std::uint8_t* c) {
    PolyVec t{};
    for (int i = 0; i < p.k; ++i) byte_decode(12, ek.data() + 384 * i, t[i]);
    Matrix a;
    expand_matrix(p, ek.data() + 384 * p.k, a);
    PolyVec y{}, e1{}, u{};
    Poly e2{}, v{}, mu{};
    std::uint8_t n = 0;
    for (int i = 0; i < p.k; ++i) sample_cbd(p.eta1, r, n++, y[i]);
    for (int i = 0; i < p.k; ++i) sample_cbd(p.eta2, r, n++, e1[i]);
    sample_cbd(p.eta2, r, n++, e2);
    for (int i = 0; i < p.k; ++i) ntt(y[i]);
    for (int i = 0; i < p.k; ++i) {
        u[i] = Poly{};
        for (int j = 0; j < p.k; ++j) multiply_add(u[i], a.a[j][i], y[j]);  // Âᵀ ∘ ŷ
        ntt_inverse(u[i]);
        poly_add(u[i], e1[i]);
    }
    for (int j = 0; j < p.k; ++j) multiply_add(v, t[j], y[j]);
    ntt_inverse(v);
    poly_add(v, e2);
    for (int i = 0; i < kN; ++i) {
        std::uint16_t bit = (m[i >> 3] >> (i & 7)) & 1;
        mu[i] = decompress(1, bit);
    }
    poly_add(v, mu);
    for (int i = 0; i < p.k; ++i) {
        Poly cu;
        for (int x = 0; x < kN; ++x) cu[x] = compress(p.du, u[i][x]);
        byte_encode(p.du, cu, c + 32 * p.du * i);
    }
    Poly cv;
    for (int x = 0; x < kN; ++x) cv[x] = compress(p.dv, v[x]);
    byte_encode(p.dv, cv, c + 32 * p.du * p.k);
    wipe_polys(y);
    wipe_polys(e1);
    wipe(e2.data(), sizeof e2);
    wipe(mu.data(), sizeof mu);
    wipe(v.data(), sizeof v);
}

// K-PKE.Decrypt (Algorithm 15).
void pke_decrypt(const Params& p, const std::uint8_t* dk_pke, const std::uint8_t* c,
                 std::uint8_t* m) {
    PolyVec u{}, s{};
    Poly v{}, w{};
    for (int i = 0; i < p.k; ++i) {
        byte_decode(p.du, c + 32 * p.du * i, u[i]);
        for (auto& x : u[i]) x = decompress(p.du, x);
        ntt(u[i]);
        byte_decode(12, dk_pke + 384 * i, s[i]);
    }
    byte_decode(p.dv, c + 32 * p.du * p.k, v);
    for (auto& x : v) x = decompress(p.dv, x);
    for (int i = 0; i < p.k; ++i) {
        // dk_PKE holds values < 2^12; reduce so arithmetic stays in [0, q).
        for (auto& x : s[i]) x = reduce(x);
        multiply_add(w, s[i], u[i]);
    }
    ntt_inverse(w);
    std::memset(m, 0, 32);
    for (int i = 0; i < kN; ++i) {
        std::uint16_t bit = compress(1, sub(v[i], w[i]));
        m[i >> 3] = static_cast<std::uint8_t>(m[i >> 3] | (bit << (i & 7)));
    }
    wipe_polys(s);
    wipe(w.data(), sizeof w);
}

// FIPS 203 7.2: every coefficient of the encoded t̂ must be below q.
bool ek_modulus_ok(const Params& p, ByteView ek) {
    for (int i = 0; i < p.k; ++i) {
        Poly f;
        byte_decode(12, ek.data() + 384 * i, f);
        for (auto x : f)
            if (x >= kQ) return false;  // public data: a branch is fine
    }
    return true;
}

}  // namespace

Result<KeyPair> keygen_from_seed(const Params& p, ByteView d, ByteView z) {
    if (d.size() != kSeedSize || z.size() != kSeedSize) return Errc::bad_length;
    KeyPair kp;
    kp.ek.resize(p.ek_size());
    kp.dk.resize(p.dk_size());
    std::size_t pke = 384 * static_cast<std::size_t>(p.k);
    pke_keygen(p, d, kp.ek.data(), kp.dk.data());
    std::memcpy(kp.dk.data() + pke, kp.ek.data(), kp.ek.size());
    auto h = sha3_256(kp.ek);
    std::memcpy(kp.dk.data() + pke + kp.ek.size(), h.data(), 32);
    std::memcpy(kp.dk.data() + pke + kp.ek.size() + 32, z.data(), 32);
    return kp;
}

KeyPair keygen(const Params& p) {
    Secret<struct SeedTag, 64> seeds;
    random_bytes(seeds.mut_view());
    return *keygen_from_seed(p, seeds.view().first(32), seeds.view().subspan(32));
}

Result<Encapsulation> encaps_derand(const Params& p, ByteView ek, ByteView m) {
    if (ek.size() != p.ek_size() || m.size() != kSeedSize) return Errc::bad_length;
    if (!ek_modulus_ok(p, ek)) return Errc::malformed;
    std::uint8_t g_in[64];
    std::memcpy(g_in, m.data(), 32);
    auto h = sha3_256(ek);
    std::memcpy(g_in + 32, h.data(), 32);
    auto g = sha3_512({g_in, sizeof g_in});  // (K, r)
    Encapsulation out;
    out.ciphertext.resize(p.ct_size());
    pke_encrypt(p, ek, m.data(), g.data() + 32, out.ciphertext.data());
    std::memcpy(out.key.data(), g.data(), 32);
    wipe(g);
    wipe(g_in, sizeof g_in);
    return out;
}

Result<Encapsulation> encaps(const Params& p, ByteView ek) {
    Secret<struct MTag, 32> m;
    random_bytes(m.mut_view());
    return encaps_derand(p, ek, m.view());
}

Result<SharedSecret> decaps(const Params& p, ByteView dk, ByteView c) {
    if (dk.size() != p.dk_size() || c.size() != p.ct_size()) return Errc::bad_length;
    std::size_t pke = 384 * static_cast<std::size_t>(p.k);
    ByteView ek = dk.subspan(pke, p.ek_size());
    ByteView h = dk.subspan(pke + p.ek_size(), 32);
    ByteView z = dk.subspan(pke + p.ek_size() + 32, 32);
    auto hek = sha3_256(ek);
    if (!ct_equal(hek, h)) return Errc::malformed;  // 7.3 hash check (public data)
    std::uint8_t g_in[64];
    pke_decrypt(p, dk.data(), c.data(), g_in);  // m'
    std::memcpy(g_in + 32, h.data(), 32);
    auto g = sha3_512({g_in, sizeof g_in});  // (K', r')
    // K̄ = J(z || c)
    SecureBytes zc(z.begin(), z.end());
    zc.insert(zc.end(), c.begin(), c.end());
    SharedSecret reject;
    shake256({zc.data(), zc.size()}, reject.mut_view());
    Bytes c2(p.ct_size());
    pke_encrypt(p, ek, g_in, g.data() + 32, c2.data());
    // Constant-time: equal is 0xff.. when c == c', 0 otherwise; select without a branch.
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < c.size(); ++i) diff |= static_cast<std::uint8_t>(c[i] ^ c2[i]);
    std::uint8_t equal = static_cast<std::uint8_t>((static_cast<unsigned>(diff) - 1u) >> 8);
    SharedSecret k;
    for (std::size_t i = 0; i < 32; ++i)
        k.data()[i] = static_cast<std::uint8_t>((g[i] & equal) | (reject.data()[i] & ~equal));
    wipe(g);
    wipe(g_in, sizeof g_in);
    return k;
}

}  // namespace zmesh::crypto::mlkem
