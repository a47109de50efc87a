#pragma once
// The browser interoperability check shared by the WebSocket and WebRTC links: a page a
// headless browser loads from the node, which runs a transport's echo test and reports
// its verdict to "/zmesh-result?TEXT", where the node logs it as "browser test: TEXT".

#include <string>
#include <string_view>

namespace zmesh::link {

inline constexpr std::string_view kReportPrefix = "/zmesh-result?";

// A complete HTML page around `script`, which may call randomMessage(maxSize) (a
// Uint8Array of random bytes and size) and report(text) (once; later calls are ignored).
std::string browser_check_page(std::string_view script);
// The verdict from the query string: printable ASCII, at most 200 characters.
std::string decode_report(std::string_view query);

}  // namespace zmesh::link
