#!/usr/bin/env python3
"""Independent re-computation of zmesh's Sphinx packets (docs/mix.md).

Written from the format description, not from the C++: X25519 and ChaCha20 come from
OpenSSL (python3-cryptography), BLAKE2b from hashlib. For every vector it builds the
packet again from the inputs and the recorded draws of randomness, unwraps it hop by hop
with the mix secrets, and compares every intermediate packet, tag and delivered result
with the C++-made values. It also checks that tampering is caught where the format says.

usage: sphinx_crosscheck.py tests/vectors/sphinx/sphinx.json
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

PACKET = 1195
HOPS = 5
ALPHA = 32
MAC = 16
ADDR = 32
BLOCK = 1 + ADDR + 4 + MAC  # 53
BETA = HOPS * BLOCK
HEADER = ALPHA + BETA + MAC
PAYLOAD = PACKET - HEADER
AUTH = 16
RELAY, DELIVER, DELIVER_REPLY = 1, 2, 3
MAX_DELAY_MS = 30_000  # the protocol maximum per hop (limits.hpp kMaxDelay)
P = 2**255 - 19


class Fail(Exception):
    pass


def x25519(scalar: bytes, point: bytes) -> bytes:
    # OpenSSL clamps the scalar and masks the top bit of the point, as RFC 7748 says; it
    # raises on an all-zero result.
    return X25519PrivateKey.from_private_bytes(scalar).exchange(X25519PublicKey.from_public_bytes(point))


def x25519_base(scalar: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    pub = X25519PrivateKey.from_private_bytes(scalar).public_key()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def chacha20(key: bytes, data: bytes) -> bytes:
    # cryptography's 16-byte nonce is the 32-bit block counter (little endian) then the
    # 96-bit IETF nonce: counter 0, nonce 0.
    enc = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    return enc.update(data) + enc.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def kdf(s: bytes, label: str, size: int, extra: bytes = b"") -> bytes:
    return hashlib.blake2b(label.encode() + extra, key=s, digest_size=size).digest()


def keys(s: bytes, alpha: bytes) -> dict:
    pi = kdf(s, "zmesh-sphinx-v1 pi1", 64) + kdf(s, "zmesh-sphinx-v1 pi2", 64)
    return {
        "rho": kdf(s, "zmesh-sphinx-v1 rho", 32),
        "mu": kdf(s, "zmesh-sphinx-v1 mu", 32),
        "pi": [pi[0:32], pi[32:64], pi[64:96], pi[96:128]],
        "tag": kdf(s, "zmesh-sphinx-v1 tag", 32),
        "blind": kdf(s, "zmesh-sphinx-v1 blind", 32, alpha),
    }


def mac(mu: bytes, alpha: bytes, beta: bytes) -> bytes:
    return hashlib.blake2b(alpha + beta, key=mu, digest_size=MAC).digest()


def stream(rho: bytes) -> bytes:
    return chacha20(rho, bytes(BETA + BLOCK))


def h(k: bytes, data: bytes) -> bytes:
    return hashlib.blake2b(data, key=k, digest_size=32).digest()


def lioness_enc(k, block: bytes) -> bytes:
    left, right = block[:32], block[32:]
    right = chacha20(xor(left, k[0]), right)
    left = xor(left, h(k[1], right))
    right = chacha20(xor(left, k[2]), right)
    left = xor(left, h(k[3], right))
    return left + right


def lioness_dec(k, block: bytes) -> bytes:
    left, right = block[:32], block[32:]
    left = xor(left, h(k[3], right))
    right = chacha20(xor(left, k[2]), right)
    left = xor(left, h(k[1], right))
    right = chacha20(xor(left, k[0]), right)
    return left + right


def routing_block(flag: int, address: bytes, delay: int, last: bytes) -> bytes:
    return bytes([flag]) + address + delay.to_bytes(4, "big") + last


def encode_message(message: bytes) -> bytes:
    body = bytes(AUTH) + len(message).to_bytes(2, "big") + message
    return body + bytes(PAYLOAD - len(body))


def decode_message(p: bytes) -> bytes:
    if p[:AUTH] != bytes(AUTH):
        raise Fail("payload integrity")
    n = int.from_bytes(p[AUTH:AUTH + 2], "big")
    body = p[AUTH + 2:]
    if n > len(body) or any(body[n:]):
        raise Fail("payload padding")
    return body[:n]


def build_header(hops, flag, destination, last, draws):
    """The sender's computation, in the order of docs/mix.md (draw 0: x; draw 1: padding)."""
    n = len(hops)
    x = draws.pop(0)
    alphas, secrets, ks = [x25519_base(x)], [], []
    blinds = []
    for i, hop in enumerate(hops):
        # Secret the long way round: x, then every earlier blinding factor, applied to Y_i.
        s = x25519(x, hop["mix_public"])
        for b in blinds:
            s = x25519(b, s)
        k = keys(s, alphas[i])
        secrets.append(s)
        ks.append(k)
        blinds.append(k["blind"])
        if i + 1 < n:
            alphas.append(x25519(k["blind"], alphas[i]))
    filler = b""
    for i in range(n - 1):
        filler = xor(filler + bytes(BLOCK), stream(ks[i]["rho"])[BETA + BLOCK - len(filler) - BLOCK:])
    pad_len = (HOPS - n) * BLOCK
    pad = draws.pop(0) if pad_len else b""
    if len(pad) != pad_len:
        raise Fail("padding draw size")
    plain = routing_block(flag, destination, hops[-1]["delay_ms"], last) + pad
    beta = xor(plain, stream(ks[-1]["rho"])[:len(plain)]) + filler
    assert len(beta) == BETA
    gamma = mac(ks[-1]["mu"], alphas[-1], beta)
    for i in range(n - 2, -1, -1):
        block = routing_block(RELAY, hops[i + 1]["node"], hops[i]["delay_ms"], gamma)
        beta = xor(block + beta[:BETA - BLOCK], stream(ks[i]["rho"])[:BETA])
        gamma = mac(ks[i]["mu"], alphas[i], beta)
    return alphas[0] + beta + gamma, [k["pi"] for k in ks]


def process(secret: bytes, packet: bytes):
    if len(packet) != PACKET:
        raise Fail("size")
    alpha, beta, gamma = packet[:ALPHA], packet[ALPHA:ALPHA + BETA], packet[ALPHA + BETA:HEADER]
    try:
        s = x25519(secret, alpha)
    except ValueError:
        raise Fail("weak key")
    k = keys(s, alpha)
    if mac(k["mu"], alpha, beta) != gamma:
        raise Fail("mac")
    routing = xor(beta + bytes(BLOCK), stream(k["rho"]))
    flag, address = routing[0], routing[1:1 + ADDR]
    delay = int.from_bytes(routing[1 + ADDR:5 + ADDR], "big")
    last = routing[5 + ADDR:BLOCK]
    if delay > MAX_DELAY_MS:
        raise Fail("delay")
    payload = lioness_dec(k["pi"], packet[HEADER:])
    step = {"tag": k["tag"].hex(), "delay_ms": delay}
    if flag == RELAY:
        step.update(action="forward", next=address.hex(),
                    packet=(x25519(k["blind"], alpha) + routing[BLOCK:] + last + payload).hex())
    elif flag == DELIVER:
        # The last hop's view of the rest of the routing information: random padding and
        # filler, no run of zeros that would tell it how many hops came before.
        if bytes(16) in routing[BLOCK:]:
            raise Fail("zero run after the last block")
        if any(last):
            raise Fail("routing")
        step.update(action="deliver", destination=address.hex(), message=decode_message(payload).hex())
    elif flag == DELIVER_REPLY:
        step.update(action="deliver_reply", destination=address.hex(), surb_id=last.hex(), payload=payload.hex())
    else:
        raise Fail("routing flag")
    return step


def check_vector(v) -> int:
    hops = [{"node": bytes.fromhex(h["node"]), "mix_public": bytes.fromhex(h["mix_public"]),
             "secret": bytes.fromhex(h["mix_secret"]), "delay_ms": h["delay_ms"]} for h in v["hops"]]
    for hop in hops:
        if x25519_base(hop["secret"]) != hop["mix_public"]:
            raise Fail("mix public key")
    draws = [bytes.fromhex(d) for d in v["rng"]]
    destination = bytes.fromhex(v["destination"])
    message = bytes.fromhex(v["message"])
    checks = 0
    if v["kind"] == "surb":
        # The SURB id is the first draw, before the header's.
        surb_id = draws.pop(0)
        if len(surb_id) != MAC or surb_id.hex() != v["surb_id"]:
            raise Fail("surb id is not the first draw")
        header, hop_keys = build_header(hops, DELIVER_REPLY, destination, surb_id, draws)
        payload_key = draws.pop(0)
        if header.hex() != v["surb_header"] or payload_key.hex() != v["surb_payload_key"]:
            raise Fail("surb header differs")
        k = [payload_key[i:i + 32] for i in range(0, 128, 32)]
        packet = header + lioness_enc(k, encode_message(message))
    else:
        header, hop_keys = build_header(hops, DELIVER, destination, bytes(MAC), draws)
        payload = encode_message(message)
        for pk in reversed(hop_keys):
            payload = lioness_enc(pk, payload)
        packet = header + payload
    if draws:
        raise Fail("unused draws")
    if packet.hex() != v["packet"]:
        raise Fail("created packet differs")
    checks += 1
    for i, (hop, want) in enumerate(zip(hops, v["steps"], strict=True)):
        got = process(hop["secret"], packet)
        if got["action"] == "deliver_reply":
            # The SURB's creator: put back the hops' layers, remove the replier's.
            p = bytes.fromhex(got["payload"])
            for pk in reversed(hop_keys):
                p = lioness_enc(pk, p)
            got["opened"] = decode_message(lioness_dec(k, p)).hex()
            if got["opened"] != message.hex():
                raise Fail("surb reply differs")
        if got != want:
            raise Fail(f"hop {i} differs: {sorted(k for k in got if got.get(k) != want.get(k))}")
        checks += 1
        # Tampering: a flipped header byte fails this hop's MAC (or is a weak key); a
        # flipped payload byte passes the mixes and breaks the check at the end.
        for pos in (0, 31, ALPHA + 7, ALPHA + BETA - 1, HEADER - 1):
            bad = bytearray(packet)
            bad[pos] ^= 0x80
            try:
                process(hop["secret"], bytes(bad))
                raise Fail(f"hop {i}: tampered header byte {pos} accepted")
            except Fail as e:
                if str(e) not in ("mac", "weak key"):
                    raise
            checks += 1
        if "packet" in want:
            packet = bytes.fromhex(want["packet"])
    if v["kind"] == "forward":
        bad = bytearray(bytes.fromhex(v["packet"]))
        bad[HEADER + 40] ^= 1
        p = bytes(bad)
        try:
            for hop in hops:
                step = process(hop["secret"], p)
                p = bytes.fromhex(step.get("packet", ""))
            raise Fail("tampered payload delivered")
        except Fail as e:
            if str(e) != "payload integrity":
                raise
        checks += 1
    return checks


def expect_fail(reason: str, secret: bytes, packet: bytes) -> int:
    try:
        process(secret, packet)
    except Fail as e:
        if str(e) != reason:
            raise Fail(f"expected {reason}, got {e}")
        return 1
    raise Fail(f"expected {reason}, accepted")


def check_refusals(v) -> int:
    """Inputs the format must refuse, made from a vector's first hop."""
    hop = v["hops"][0]
    secret = bytes.fromhex(hop["mix_secret"])
    packet = bytes.fromhex(v["packet"])
    checks = 0
    # alpha + T for T = (0, 0), the point of order 2: on a Montgomery curve x(P + T) = 1/x(P).
    # Clamping kills T, so the shared secret is the same: only the MAC over alpha's bytes
    # refuses the marked packet.
    u = int.from_bytes(packet[:ALPHA], "little") & ((1 << 255) - 1)
    marked = pow(u, P - 2, P).to_bytes(32, "little")
    if x25519(secret, marked) != x25519(secret, packet[:ALPHA]):
        raise Fail("alpha + small-order point changed the shared secret")
    checks += expect_fail("mac", secret, marked + packet[ALPHA:])
    # Non-canonical encodings u + p (u < 19) give the same shared secret as u: a packet whose
    # MAC verifies with alpha = u fails with the other encoding.
    for small in range(2, 19):
        canonical = small.to_bytes(32, "little")
        other = (small + P).to_bytes(32, "little")
        try:
            s = x25519(secret, canonical)
        except ValueError:
            continue  # a low-order point
        if x25519(secret, other) != s:
            raise Fail("non-canonical alpha changed the shared secret")
        beta = hashlib.shake_256(canonical).digest(BETA)
        body = beta + mac(keys(s, canonical)["mu"], canonical, beta) + packet[HEADER:]
        try:
            process(secret, canonical + body)
        except Fail as e:
            if str(e) == "mac":
                raise Fail("MAC refused the canonical packet")
        checks += expect_fail("mac", secret, other + body)
    # A delay above the maximum, behind a valid MAC (a malicious sender's packet).
    one = [{"node": bytes.fromhex(hop["node"]), "mix_public": bytes.fromhex(hop["mix_public"]),
            "delay_ms": MAX_DELAY_MS + 1}]
    header, pi = build_header(one, DELIVER, bytes(ADDR), bytes(MAC), [bytes(32), bytes(BETA - BLOCK)])
    checks += expect_fail("delay", secret, header + lioness_enc(pi[0], encode_message(b"x")))
    return checks


def main() -> int:
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    total = 0
    for v in doc["vectors"]:
        try:
            total += check_vector(v) + check_refusals(v)
        except Fail as e:
            print(f"FAIL {v['name']}: {e}")
            return 1
        print(f"ok {v['name']} ({len(v['hops'])} hops)")
    print(f"sphinx cross-check: {len(doc['vectors'])} vectors, {total} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
