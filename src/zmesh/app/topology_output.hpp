#pragma once
// What `zmesh topology` does with the picture once it is drawn: SVG from Graphviz's `dot`
// (a child process fed on standard input), and files replaced atomically.

#include <string>
#include <string_view>

namespace zmesh::app {

struct Rendered {
    std::string svg;
    std::string error;  // empty on success; else one sentence for a person
};

// Runs `program -Tsvg` (searched on PATH) with the DOT text on its standard input and
// returns its standard output. Fails when the program is missing (saying to install
// Graphviz), is killed, or exits non-zero (with the first line it printed on stderr).
Rendered render_svg(std::string_view dot_text, const std::string& program = "dot");

// Writes `text` to `path` through a temporary file in the same directory (mode 0644,
// synced), then renames it over `path`: readers see the old file or the whole new one.
// Empty on success, else why.
std::string write_file_atomically(const std::string& path, std::string_view text);

}  // namespace zmesh::app
