#pragma once
// HTTP CONNECT (RFC 9110 section 9.3.6) for the entry proxy: pure and incremental. The
// request header is read up to its blank line, at most kMaxHeader bytes; only CONNECT to
// "host:port" is served. Bytes after the header are the client's first data.

#include <string>
#include <string_view>

#include "zmesh/core/bytes.hpp"

namespace zmesh::app::http_connect {

inline constexpr std::size_t kMaxHeader = 8192;

struct Step {
    enum class Kind {
        need_more,  // read more bytes and feed them
        request,    // open `target`, then answer with response("200 Connection established")
        error,      // answer with response(status), then close
    };
    Kind kind = Kind::need_more;
    std::string target;  // request: "host:port" or "[v6]:port"
    std::string_view status;
};

class Parser {
  public:
    // Appends bytes and parses once the header is complete. A header over kMaxHeader
    // bytes is an error (431); later calls return the same step.
    Step feed(ByteView bytes);
    // Bytes after the header's blank line (after `request` only).
    Bytes take_rest();

  private:
    Step parse(std::size_t header_end);
    Bytes buf_;
    std::size_t header_end_ = 0;  // after "\r\n\r\n"; 0: not seen yet
    Step result_;
    bool finished_ = false;
};

// "HTTP/1.1 <status>\r\n\r\n"
std::string response(std::string_view status);

// "host:port" with a valid host name, IPv4 or bracketed IPv6 address and a port in 1-65535.
bool valid_target(std::string_view target);

}  // namespace zmesh::app::http_connect
