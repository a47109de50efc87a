#pragma once
// Wiping containers, strong key types and constant-time comparison.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "zmesh/core/bytes.hpp"

namespace zmesh::crypto {

// Initialises libsodium once; every entry point that needs it calls this.
void ensure_init();

void wipe(void* p, std::size_t n) noexcept;
inline void wipe(MutByteView v) noexcept {
    wipe(v.data(), v.size());
}

// Constant-time equality of two equal-length views; false when lengths differ.
bool ct_equal(ByteView a, ByteView b) noexcept;

template <class T>
struct WipingAllocator {
    using value_type = T;
    WipingAllocator() = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept {
        wipe(p, n * sizeof(T));
        std::allocator<T>{}.deallocate(p, n);
    }
    template <class U>
    bool operator==(const WipingAllocator<U>&) const noexcept {
        return true;
    }
};

// Variable-length secret bytes, wiped when freed.
using SecureBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

// Public fixed-size value with a type of its own (keys, ids, nonces).
template <class Tag, std::size_t N>
struct Fixed {
    static constexpr std::size_t size_bytes = N;
    ByteArray<N> bytes{};

    std::uint8_t* data() { return bytes.data(); }
    const std::uint8_t* data() const { return bytes.data(); }
    static constexpr std::size_t size() { return N; }
    ByteView view() const { return bytes; }
    static std::optional<Fixed> from(ByteView v) {
        if (v.size() != N) return std::nullopt;
        Fixed f;
        std::copy(v.begin(), v.end(), f.bytes.begin());
        return f;
    }
    bool operator==(const Fixed&) const = default;
    bool operator<(const Fixed& o) const { return bytes < o.bytes; }
};

// Secret fixed-size value: wiped on destruction and before reuse; no operator==.
template <class Tag, std::size_t N>
class Secret {
  public:
    static constexpr std::size_t size_bytes = N;
    Secret() = default;
    Secret(const Secret& o) : bytes_(o.bytes_) {}
    Secret& operator=(const Secret& o) {
        if (this != &o) bytes_ = o.bytes_;
        return *this;
    }
    ~Secret() { wipe(bytes_.data(), N); }

    std::uint8_t* data() { return bytes_.data(); }
    const std::uint8_t* data() const { return bytes_.data(); }
    static constexpr std::size_t size() { return N; }
    ByteView view() const { return bytes_; }
    MutByteView mut_view() { return bytes_; }
    static std::optional<Secret> from(ByteView v) {
        if (v.size() != N) return std::nullopt;
        Secret s;
        std::copy(v.begin(), v.end(), s.bytes_.begin());
        return s;
    }
    bool ct_equals(const Secret& o) const { return ct_equal(view(), o.view()); }

  private:
    ByteArray<N> bytes_{};
};

using X25519Public = Fixed<struct X25519PublicTag, 32>;
using X25519Secret = Secret<struct X25519SecretTag, 32>;
using Ed25519Public = Fixed<struct Ed25519PublicTag, 32>;
using Ed25519Seed = Secret<struct Ed25519SeedTag, 32>;
using Ed25519Signature = Fixed<struct Ed25519SignatureTag, 64>;
using SymmetricKey = Secret<struct SymmetricKeyTag, 32>;
using SharedSecret = Secret<struct SharedSecretTag, 32>;
using AeadNonce = Fixed<struct AeadNonceTag, 12>;
using XAeadNonce = Fixed<struct XAeadNonceTag, 24>;

void random_bytes(MutByteView out);

template <class T>
T random_value() {
    T v;
    random_bytes(MutByteView{v.data(), T::size()});
    return v;
}

}  // namespace zmesh::crypto
