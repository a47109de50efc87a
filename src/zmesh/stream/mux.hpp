#pragma once
// Many streams on one circuit, at either end. Opens and closes streams (BEGIN,
// CONNECTED, END), hands DATA and ACK messages to each stream, and shares the
// circuit's window among them (circuit-level flow control). Pure: relay messages and
// time in, relay messages and events out.

#include <map>
#include <memory>
#include <set>
#include <string>

#include "zmesh/stream/stream.hpp"

namespace zmesh::stream {

enum class EndReason : std::uint8_t {
    done = 1,             // closed normally
    refused = 2,          // the exit policy forbids the destination
    connect_refused = 3,  // the destination refused the connection
    unreachable = 4,      // no route to the destination
    resolve_failed = 5,   // the name did not resolve
    timeout = 6,
    protocol = 7,  // a malformed message
    aborted = 8,   // closed by one end without finishing
    resource = 9,  // too many streams
    expired = 10,  // ATTACH for a stream the exit no longer keeps
    // Exits with an upstream proxy (docs/exits.md); a client that predates these reads
    // them as a general failure.
    host_unreachable = 11,  // the upstream found no route to the host (or .onion service)
    upstream_failed = 12,   // the exit's upstream proxy failed or could not be reached
    // Client only, never sent: no known exit reaches this kind of name (.onion, .i2p).
    no_exit = 13,
};
const char* to_string(EndReason r);

inline constexpr std::size_t kMaxTargetLength = 255;
inline constexpr std::size_t kMaxStreamsPerCircuit = 1024;

// The relay commands of the stream layer: what an end of streams (the exit) subscribes to
// (circuit::CircuitNode::subscribe_messages).
inline const circuit::RelayCommandSet kStreamCommands{
    circuit::RelayCommand::begin,     circuit::RelayCommand::connected,
    circuit::RelayCommand::data,      circuit::RelayCommand::end,
    circuit::RelayCommand::ack,       circuit::RelayCommand::attach,
    circuit::RelayCommand::attached,  circuit::RelayCommand::repair,
    circuit::RelayCommand::fec_report};

// Names a stream across circuits, known only to the client and the exit (it travels
// inside the onion layers). BEGIN carries it after the target: target | 0 | token.
using ResumeToken = ByteArray<16>;

struct MuxEvent {
    enum class Kind {
        begin,      // exit: the client asks for `target`; answer accept() or refuse()
        connected,  // client: the exit connected the stream
        ended,      // the stream is gone (reason says why)
        readable,   // bytes are waiting in read()
        attach,     // exit: the client moves stream `token` to this circuit as `stream`;
                    // answer adopt() or decline_attach()
        resumed,    // client: the exit took the stream over on this circuit
    };
    Kind kind;
    std::uint16_t stream = 0;
    std::string target;
    EndReason reason = EndReason::done;
    // ended: bytes the application read from the stream, and the time from the first to
    // the last DATA received (a throughput measurement when the stream carried enough).
    std::uint64_t bytes_received = 0;
    Duration receive_time{};
    std::optional<ResumeToken> token;  // begin (when resumable) and attach
    Bytes peer_state;                  // attach: the client's receive state
};

// A stream taken off its circuit, with everything needed to continue it on another.
struct DetachedStream {
    std::unique_ptr<Stream> stream;
    std::optional<ResumeToken> token;
    TimePoint first_data{};
    TimePoint last_data{};
};

struct MuxOutput {
    std::vector<circuit::RelayMessage> messages;
    std::vector<MuxEvent> events;
    void clear() {
        messages.clear();
        events.clear();
    }
};

struct StreamInfo {
    std::uint16_t id = 0;
    bool open = false;  // CONNECTED (else still opening)
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
};

class StreamMux {
  public:
    enum class Side { client, exit };
    StreamMux(Side side, StreamConfig config = {}, std::size_t circuit_window = 4096);

    // Client: asks the exit for a stream to "host:port"; with a token the stream can later
    // move to another circuit to the same exit.
    Result<std::uint16_t> open(const std::string& target, MuxOutput& out,
                               std::optional<ResumeToken> token = std::nullopt);
    // Exit: the connection for a BEGIN succeeded or failed.
    void accept(std::uint16_t id, MuxOutput& out);
    void refuse(std::uint16_t id, EndReason reason, MuxOutput& out);

    std::size_t write(std::uint16_t id, ByteView data);
    std::size_t read(std::uint16_t id, MutByteView out);
    std::size_t send_space(std::uint16_t id) const;
    // No more bytes from this side; the stream ends once both sides are done.
    void shutdown(std::uint16_t id);
    // Ends the stream now, telling the other end.
    void abort(std::uint16_t id, EndReason reason, MuxOutput& out);

    // Moving streams between circuits. detach() takes an open stream off this mux without
    // a word to the other end. Client: reattach() puts it on this (new) circuit under a new
    // id and sends ATTACH; the stream waits for ATTACHED (event `resumed`) or END.
    // Exit: adopt() answers an `attach` event with the stream it names.
    std::optional<DetachedStream> detach(std::uint16_t id);
    Result<std::uint16_t> reattach(DetachedStream s, MuxOutput& out);
    Status adopt(std::uint16_t id, DetachedStream s, ByteView peer_state, TimePoint now,
                 MuxOutput& out);
    void decline_attach(std::uint16_t id, MuxOutput& out);
    std::optional<ResumeToken> token(std::uint16_t id) const;
    std::vector<std::uint16_t> ids() const;

    void on_message(const circuit::RelayMessage& m, TimePoint now, MuxOutput& out);
    void poll(TimePoint now, MuxOutput& out);
    std::optional<TimePoint> next_deadline() const;

    bool contains(std::uint16_t id) const { return entries_.contains(id); }
    // The other end finished sending and everything it sent has been read.
    bool peer_finished(std::uint16_t id) const {
        auto it = entries_.find(id);
        return it != entries_.end() && it->second.stream->peer_finished();
    }
    // In-order bytes waiting to be read.
    std::size_t readable(std::uint16_t id) const {
        auto it = entries_.find(id);
        return it == entries_.end() ? 0 : it->second.stream->readable();
    }
    std::size_t size() const { return entries_.size(); }
    std::vector<StreamInfo> list() const;
    std::size_t in_flight() const;
    std::uint64_t protocol_errors() const { return protocol_errors_; }

  private:
    enum class State { opening, open, attaching };
    struct Entry {
        State state = State::opening;
        std::unique_ptr<Stream> stream;
        std::optional<ResumeToken> token;
        bool announced_readable = false;
        TimePoint first_data{};  // first and last DATA received (throughput measurement)
        TimePoint last_data{};
        bool announced_finished = false;  // the peer's FIN, once all before it was read
    };
    void end(std::uint16_t id, EndReason reason, MuxOutput& out);
    Result<std::uint16_t> next_id();
    void on_begin(const circuit::RelayMessage& m, MuxOutput& out);
    void on_attach(const circuit::RelayMessage& m, MuxOutput& out);
    bool refuse_if_full(std::uint16_t id, MuxOutput& out);

    Side side_;
    StreamConfig cfg_;
    std::size_t circuit_window_;
    // Streams that may have something to do (see Stream::quiet): poll() and
    // next_deadline() look at these only, so a circuit's idle streams cost nothing per
    // pass. Any call that touches a stream puts it here; poll() takes quiet ones out.
    std::set<std::uint16_t> active_;
    std::map<std::uint16_t, Entry> entries_;
    std::uint16_t next_id_ = 1;
    std::uint16_t rr_ = 0;  // round-robin start
    std::uint64_t protocol_errors_ = 0;
};

}  // namespace zmesh::stream
