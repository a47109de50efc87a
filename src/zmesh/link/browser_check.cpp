#include "zmesh/link/browser_check.hpp"

#include <charconv>

namespace zmesh::link {

std::string browser_check_page(std::string_view script) {
    std::string page =
        R"(<!doctype html><html><head><meta charset="utf-8"><title>zmesh</title></head>
<body>running<script>
let reported = false;
function report(text) {
  if (reported) return;
  reported = true;
  document.body.textContent = text;
  fetch('/zmesh-result?' + encodeURIComponent(text));
}
function randomMessage(max) {
  const size = 1 + Math.floor(Math.random() * max);
  const m = new Uint8Array(size);
  for (let o = 0; o < size; o += 65536) crypto.getRandomValues(m.subarray(o, Math.min(size, o + 65536)));
  return m;
}
)";
    page += script;
    page += "\n</script></body></html>\n";
    return page;
}

boost::beast::http::response<boost::beast::http::string_body> plain_response(
    unsigned version, boost::beast::http::status status, const char* type, std::string body) {
    namespace http = boost::beast::http;
    http::response<http::string_body> res{status, version};
    if (!body.empty()) res.set(http::field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    res.keep_alive(false);
    return res;
}

std::string decode_report(std::string_view q) {
    std::string text;
    for (std::size_t i = 0; i < q.size() && text.size() < 200; ++i) {
        char ch = q[i];
        if (ch == '%' && i + 2 < q.size()) {
            unsigned v = 0;
            std::from_chars(q.data() + i + 1, q.data() + i + 3, v, 16);
            ch = static_cast<char>(v);
            i += 2;
        }
        if (ch >= 0x20 && ch < 0x7f) text += ch;
    }
    return text;
}

}  // namespace zmesh::link
