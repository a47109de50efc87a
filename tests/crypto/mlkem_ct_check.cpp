// Constant-time check of ML-KEM, run under valgrind memcheck (the "ctgrind" technique):
// every secret input is marked undefined, so any branch or memory index that depends on
// a secret is reported as a use of uninitialised data. valgrind's exit code decides.
#include <valgrind/memcheck.h>

#include <cstdio>

#include "zmesh/crypto/mlkem/mlkem.hpp"

using namespace zmesh;
using namespace zmesh::crypto;

static void secret(const void* p, std::size_t n) {
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}
static void reveal(const void* p, std::size_t n) {
    VALGRIND_MAKE_MEM_DEFINED(p, n);
}

static int check(const mlkem::Params& p) {
    Bytes d(32, 0x11), z(32, 0x22), m(32, 0x33);
    secret(d.data(), d.size());
    secret(z.data(), z.size());
    auto kp = mlkem::keygen_from_seed(p, d, z);
    if (!kp) return 1;
    // The encapsulation key, its hash and the key's public part are public.
    reveal(kp->ek.data(), kp->ek.size());
    std::size_t pke = 384 * static_cast<std::size_t>(p.k);
    reveal(kp->dk.data() + pke, kp->ek.size() + 32);

    secret(m.data(), m.size());
    auto e = mlkem::encaps_derand(p, kp->ek, m);
    if (!e) return 1;
    reveal(e->ciphertext.data(), e->ciphertext.size());  // sent in the clear

    auto k = mlkem::decaps(p, {kp->dk.data(), kp->dk.size()}, e->ciphertext);
    // Implicit rejection path too: a ciphertext that does not re-encrypt.
    Bytes bad = e->ciphertext;
    bad[0] ^= 1;
    auto k2 = mlkem::decaps(p, {kp->dk.data(), kp->dk.size()}, bad);
    if (!k || !k2) return 1;
    reveal(k->data(), k->size());
    reveal(e->key.data(), e->key.size());
    reveal(k2->data(), k2->size());
    if (!k->ct_equals(e->key) || k2->ct_equals(e->key)) {
        std::printf("%s: wrong result\n", p.name);
        return 1;
    }
    std::printf("%s: keygen, encaps, decaps (and rejection) ran with secrets undefined\n", p.name);
    return 0;
}

int main() {
    crypto::ensure_init();
    return check(mlkem::kMlKem768) | check(mlkem::kMlKem1024);
}
