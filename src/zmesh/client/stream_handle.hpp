#pragma once
// A client stream that is not bound to a TCP socket: the application reads and writes it
// itself. Back-pressure: write() takes only what the stream's send buffer has room for
// and on_writable() says when there is room again; bytes wait in the stream (within its
// receive window) until read().
//
// Every function and callback runs on the node's executor. Calls after the stream ended
// are harmless: writes take nothing, reads return what was left.

#include <cstdint>
#include <functional>
#include <string>

#include "zmesh/core/bytes.hpp"

namespace zmesh::client {

class StreamHandle {
  public:
    virtual ~StreamHandle() = default;

    virtual std::uint64_t circuit() const = 0;
    virtual std::uint16_t id() const = 0;

    // Copies up to out.size() received bytes out of the stream; 0 when none are waiting
    // (then see at_eof() and is_open()).
    virtual std::size_t read(MutByteView out) = 0;
    // Takes as many bytes of `data` as there is room for; 0 when the buffer is full (wait
    // for on_writable) or the stream no longer sends.
    virtual std::size_t write(ByteView data) = 0;
    // Room in the send buffer now, in bytes.
    virtual std::size_t writable() const = 0;
    // The other end finished sending and every byte was read.
    virtual bool at_eof() const = 0;
    // Neither ended nor closed.
    virtual bool is_open() const = 0;

    // Ends this direction once the queued bytes are sent (a half-close: reading goes on).
    virtual void finish() = 0;
    // Ends the stream now in both directions; queued bytes are dropped.
    virtual void close() = 0;

    // Bytes to read, or the other end finished.
    virtual void on_readable(std::function<void()> handler) = 0;
    // Room to write again after a write() that took less than asked.
    virtual void on_writable(std::function<void()> handler) = 0;
    // The stream ended: "done" when both ends finished cleanly, else why.
    virtual void on_closed(std::function<void(const std::string& reason)> handler) = 0;
};

}  // namespace zmesh::client
