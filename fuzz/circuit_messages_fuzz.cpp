// Arbitrary bytes through every circuit and stream parser: relay cell bodies peeled by a
// relay and opened by a client, CREATE/CREATED/EXTEND/EXTENDED/relay message codecs,
// stream DATA and ACK payloads, stream resumption, relay messages into a client's and an
// exit's stream multiplexer (BEGIN with tokens, ATTACH, ATTACHED...), and exit policy
// rules and targets.
#include <cstdint>
#include <cstring>

#include "zmesh/circuit/messages.hpp"
#include "zmesh/circuit/relay_crypto.hpp"
#include "zmesh/exit/policy.hpp"
#include "zmesh/stream/mux.hpp"

using namespace zmesh;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const circuit::LayerKey key(
        {*crypto::SymmetricKey::from(Bytes(32, 7)), *crypto::SymmetricKey::from(Bytes(32, 8))});
    ByteView in{data, size};
    circuit::Body body{};
    std::memcpy(body.data(), data, std::min(size, body.size()));
    link::ReplayWindow window;
    (void)circuit::peel_forward(key, window, body);
    std::memcpy(body.data(), data, std::min(size, body.size()));
    const circuit::LayerKey* hops[] = {&key, &key};
    link::ReplayWindow windows[2];
    (void)circuit::open_backward(hops, windows, body);
    (void)circuit::decode_create(in);
    (void)circuit::decode_created(in);
    (void)circuit::decode_extend(in);
    (void)circuit::decode_extended(in);
    if (size >= circuit::kPayloadSize) (void)circuit::decode_relay(in.first(circuit::kPayloadSize));
    static stream::Stream s;
    std::vector<stream::Outgoing> out;
    auto now = stream::Clock::now();
    (void)s.on_data(in, now, out);
    (void)s.on_ack(in, now);
    s.poll(now, 4, out);
    stream::Stream moved;
    (void)moved.resume(in, now);
    moved.poll(now, 4, out);
    if (size >= 3) {
        // command (1) | stream (2) | data, into both ends of a stream multiplexer.
        static stream::StreamMux exit_mux(stream::StreamMux::Side::exit);
        static stream::StreamMux client_mux(stream::StreamMux::Side::client);
        circuit::RelayMessage m{static_cast<circuit::RelayCommand>(1 + data[0] % 13),
                                load_u16_be(data + 1), Bytes(data + 3, data + size)};
        stream::MuxOutput mo;
        exit_mux.on_message(m, now, mo);
        client_mux.on_message(m, now, mo);
        exit_mux.poll(now, mo);
        if (exit_mux.size() > 512) exit_mux = stream::StreamMux(stream::StreamMux::Side::exit);
    }
    std::string text(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 300));
    (void)exit::ExitPolicy::parse({text}, false);
    return 0;
}
