#include "zmesh/app/topology_output.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "zmesh/control/topology.hpp"

namespace zmesh::app {
namespace {

namespace fs = std::filesystem;

bool have_dot() {
    return std::system("command -v dot > /dev/null 2>&1") == 0;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class TempDir {
  public:
    TempDir() {
        std::string t = (fs::temp_directory_path() / "zmesh-topo-XXXXXX").string();
        path_ = ::mkdtemp(t.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

TEST(TopologyOutput, atomic_write_replaces_the_file_with_mode_0644) {
    TempDir d;
    auto file = d.path() / "net.svg";
    std::ofstream(file) << "old";
    ::chmod(file.c_str(), 0600);
    mode_t old_mask = ::umask(0077);
    auto why = write_file_atomically(file.string(), "new picture");
    ::umask(old_mask);
    ASSERT_EQ(why, "");
    EXPECT_EQ(slurp(file), "new picture");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    // No temporary file left beside it.
    EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator{}), 1);
}

TEST(TopologyOutput, atomic_write_fails_cleanly) {
    TempDir d;
    auto why = write_file_atomically((d.path() / "missing" / "net.svg").string(), "x");
    EXPECT_NE(why.find("cannot write in"), std::string::npos) << why;
    fs::create_directory(d.path() / "dir");
    why = write_file_atomically((d.path() / "dir").string(), "x");  // a directory is in the way
    EXPECT_NE(why.find("cannot replace"), std::string::npos) << why;
    EXPECT_TRUE(fs::is_directory(d.path() / "dir"));
    EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator{}), 1);
}

TEST(TopologyOutput, missing_graphviz_is_one_clear_sentence) {
    auto r = render_svg("digraph { a -> b }", "zmesh-no-such-dot-program");
    EXPECT_TRUE(r.svg.empty());
    EXPECT_NE(r.error.find("not installed (apt-get install graphviz)"), std::string::npos)
        << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos);
}

TEST(TopologyOutput, a_failing_renderer_is_reported) {
    auto r = render_svg("digraph { a -> b }", "false");
    EXPECT_TRUE(r.svg.empty());
    EXPECT_NE(r.error.find("false failed (exit 1)"), std::string::npos) << r.error;
}

TEST(TopologyOutput, dot_renders_svg_and_reports_syntax_errors) {
    if (!have_dot()) GTEST_SKIP() << "Graphviz is not installed";
    auto ok = render_svg("digraph { a -> b }");
    ASSERT_EQ(ok.error, "");
    EXPECT_NE(ok.svg.find("<svg"), std::string::npos);
    EXPECT_NE(ok.svg.find("</svg>"), std::string::npos);
    auto bad = render_svg("digraph { a -> ");
    EXPECT_TRUE(bad.svg.empty());
    EXPECT_NE(bad.error.find("dot failed (exit 1)"), std::string::npos) << bad.error;
    EXPECT_NE(bad.error.find("syntax error"), std::string::npos) << bad.error;
}

// Far more than a pipe's 64 KiB each way: feeding and draining must not deadlock. And the
// odd names the builder escapes must reach the SVG as text.
TEST(TopologyOutput, a_large_topology_with_odd_names_renders) {
    if (!have_dot()) GTEST_SKIP() << "Graphviz is not installed";
    control::Topology t;
    for (int i = 0; i < 400; ++i) {
        control::TopologyRelay r;
        r.id = std::string(60, 'a') + std::to_string(1000 + i);
        r.addresses = {"udp://10." + std::to_string(i % 7) + ".1." + std::to_string(i % 250) +
                       ":7000"};
        r.exit = i % 5 == 0;
        r.latency_ms = i;
        t.relays.push_back(r);
    }
    t.relays[3].id = "odd \"name\" \\N <b>&";
    t.circuits.push_back({1, true, {t.relays[0].id, t.relays[3].id, t.relays[5].id}});
    auto dot = control::topology_dot(t);
    ASSERT_GT(dot.size(), 128u * 1024);
    auto r = render_svg(dot);
    ASSERT_EQ(r.error, "");
    EXPECT_GT(r.svg.size(), 128u * 1024);
    EXPECT_NE(r.svg.find(t.relays[399].id), std::string::npos);
    EXPECT_NE(r.svg.find("odd &quot;name&quot; \\N &lt;b&gt;&amp;"), std::string::npos);
}

}  // namespace
}  // namespace zmesh::app
