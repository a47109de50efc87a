// The public APIs (include/zmesh/zmesh.h, zmesh.hpp) through libzmesh.so, as an application
// links them: bad input of every kind gets an error code and a message, never a crash;
// streams carry real bytes to a loopback echo server through a testnet's circuits.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmesh/zmesh.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <zmesh/zmesh.hpp>

namespace {

// A TCP echo server on 127.0.0.1: every connection gets back what it sends, until EOF.
class EchoServer {
  public:
    EchoServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            throw std::runtime_error("echo server: cannot listen");
        }
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~EchoServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
        for (auto& t : connections_) t.join();
    }
    std::uint16_t port() const { return port_; }

  private:
    void serve() {
        while (!stop_) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            connections_.emplace_back([c] {
                char buf[65536];
                for (;;) {
                    ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    for (ssize_t off = 0; off < n;) {
                        ssize_t w = ::write(c, buf + off, static_cast<std::size_t>(n - off));
                        if (w <= 0) break;
                        off += w;
                    }
                }
                ::close(c);
            });
        }
    }
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<std::thread> connections_;
};

std::string last_error() {
    return zmesh_last_error();
}

TEST(ApiNullHandles, every_function_refuses_null_with_a_message) {
    char buf[8];
    size_t n = 7;
    zmesh_status status;
    char* text = nullptr;
    EXPECT_EQ(zmesh_node_wait_ready(nullptr, 0), ZMESH_EINVAL);
    EXPECT_NE(last_error(), "");
    EXPECT_EQ(zmesh_node_stop(nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_node_status(nullptr, &status), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_node_metrics(nullptr, &text), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_node_set_event_callback(nullptr, nullptr, nullptr), ZMESH_EINVAL);
    zmesh_stream* s = reinterpret_cast<zmesh_stream*>(&n);  // must be overwritten with NULL
    EXPECT_EQ(zmesh_stream_open(nullptr, "127.0.0.1", 80, nullptr, 0, &s), ZMESH_EINVAL);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(zmesh_stream_read(nullptr, buf, sizeof buf, 0, &n), ZMESH_EINVAL);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(zmesh_stream_write(nullptr, buf, sizeof buf, 0, nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_finish(nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_close(nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_set_callback(nullptr, nullptr, nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_is_open(nullptr), 0);
    EXPECT_EQ(zmesh_testnet_start(nullptr, nullptr), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_client_start(nullptr, 1, 3, nullptr), ZMESH_EINVAL);
    zmesh_node_free(nullptr);
    zmesh_stream_free(nullptr);
    zmesh_free(nullptr);
    zmesh_testnet_options_init(nullptr);
    EXPECT_STREQ(zmesh_strerror(ZMESH_ETIMEOUT), "timeout");
    EXPECT_STREQ(zmesh_strerror(12345), "unknown error");
}

TEST(ApiStart, bad_client_settings_are_refused) {
    zmesh_node* node = reinterpret_cast<zmesh_node*>(&node);
    EXPECT_EQ(zmesh_client_start(nullptr, 0, 3, &node), ZMESH_EINVAL);
    EXPECT_EQ(node, nullptr);
    const char* junk[] = {"not a bootstrap line"};
    EXPECT_EQ(zmesh_client_start(junk, 1, 3, &node), ZMESH_EINVAL);
    EXPECT_NE(last_error().find("bootstrap"), std::string::npos) << last_error();
    const char* null_line[] = {nullptr};
    EXPECT_EQ(zmesh_client_start(null_line, 1, 3, &node), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_client_start(junk, 1, 99, &node), ZMESH_EINVAL);
    zmesh_testnet_options o;
    zmesh_testnet_options_init(&o);
    o.relays = -4;
    EXPECT_EQ(zmesh_testnet_start(&o, &node), ZMESH_EINVAL);
    EXPECT_EQ(node, nullptr);
}

TEST(ApiCpp, empty_handles_throw_invalid) {
    zmesh::Node node;
    zmesh::Stream stream;
    EXPECT_FALSE(node);
    EXPECT_FALSE(node.running());
    EXPECT_FALSE(stream.is_open());
    auto code_of = [](auto&& f) {
        try {
            f();
        } catch (const zmesh::Error& e) {
            EXPECT_NE(std::string(e.what()), "");
            return e.code();
        }
        return 0;
    };
    EXPECT_EQ(code_of([&] { node.wait_ready(); }), ZMESH_EINVAL);
    EXPECT_EQ(code_of([&] { node.open_stream("127.0.0.1", 80); }), ZMESH_EINVAL);
    EXPECT_EQ(code_of([&] { node.status(); }), ZMESH_EINVAL);
    EXPECT_EQ(code_of([&] { stream.write("x"); }), ZMESH_EINVAL);
    char b[4];
    EXPECT_EQ(code_of([&] { stream.read(b, sizeof b); }), ZMESH_EINVAL);
    EXPECT_EQ(code_of([&] { stream.close(); }), ZMESH_EINVAL);
    EXPECT_EQ(code_of([] {
                  zmesh::TestnetOptions o;
                  o.hops = 1;
                  zmesh::Node::start_testnet(o);
              }),
              ZMESH_EINVAL);
}

// One testnet for the tests that need a network (starting one takes seconds).
class ApiNetwork : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        echo_ = new EchoServer();
        ASSERT_EQ(zmesh_testnet_start(nullptr, &node_), ZMESH_OK) << last_error();
        ASSERT_EQ(zmesh_node_wait_ready(node_, 60000), ZMESH_OK) << last_error();
    }
    static void TearDownTestSuite() {
        zmesh_node_free(node_);
        node_ = nullptr;
        delete echo_;
    }
    zmesh_stream* open_echo() {
        zmesh_stream* s = nullptr;
        EXPECT_EQ(zmesh_stream_open(node_, "127.0.0.1", echo_->port(), nullptr, 30000, &s),
                  ZMESH_OK)
            << last_error();
        return s;
    }
    static zmesh_node* node_;
    static EchoServer* echo_;
};
zmesh_node* ApiNetwork::node_ = nullptr;
EchoServer* ApiNetwork::echo_ = nullptr;

TEST_F(ApiNetwork, echoes_bytes_through_a_circuit) {
    zmesh_stream* s = open_echo();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(zmesh_stream_is_open(s), 1);
    std::string sent(300000, '\0');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 131 + 7);
    size_t written = 0;
    ASSERT_EQ(zmesh_stream_write(s, sent.data(), sent.size(), 30000, &written), ZMESH_OK)
        << last_error();
    EXPECT_EQ(written, sent.size());
    std::string back;
    char buf[8192];
    while (back.size() < sent.size()) {
        size_t got = 0;
        ASSERT_EQ(zmesh_stream_read(s, buf, sizeof buf, 30000, &got), ZMESH_OK) << last_error();
        ASSERT_GT(got, 0u);
        back.append(buf, got);
    }
    EXPECT_EQ(back, sent);
    // Half-close: the echo server sees EOF and closes, so reading reaches the end.
    ASSERT_EQ(zmesh_stream_finish(s), ZMESH_OK) << last_error();
    size_t got = 1;
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 30000, &got), ZMESH_OK) << last_error();
    EXPECT_EQ(got, 0u);
    zmesh_stream_free(s);

    zmesh_status st;
    ASSERT_EQ(zmesh_node_status(node_, &st), ZMESH_OK);
    EXPECT_EQ(st.running, 1);
    EXPECT_GE(st.circuits_built, 1u);
    EXPECT_GE(st.streams_opened, 1u);
    EXPECT_GT(std::strlen(st.node_id), 0u);
    char* text = nullptr;
    ASSERT_EQ(zmesh_node_metrics(node_, &text), ZMESH_OK);
    EXPECT_NE(std::string(text).find("node=\"client\""), std::string::npos);
    zmesh_free(text);
}

TEST_F(ApiNetwork, bad_stream_arguments_are_refused) {
    zmesh_stream* s = nullptr;
    EXPECT_EQ(zmesh_stream_open(node_, "127.0.0.1", 0, nullptr, 1000, &s), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_open(node_, "", 80, nullptr, 1000, &s), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_open(node_, nullptr, 80, nullptr, 1000, &s), ZMESH_EINVAL);
    std::string long_host(300, 'a');
    EXPECT_EQ(zmesh_stream_open(node_, long_host.c_str(), 80, nullptr, 1000, &s), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_open(node_, "127.0.0.1", 80, nullptr, 1000, nullptr), ZMESH_EINVAL);
    EXPECT_EQ(s, nullptr);

    s = open_echo();
    ASSERT_NE(s, nullptr);
    std::vector<char> huge(ZMESH_MAX_WRITE + 1);
    size_t written = 5;
    EXPECT_EQ(zmesh_stream_write(s, huge.data(), huge.size(), 0, &written), ZMESH_ETOOBIG);
    EXPECT_EQ(written, 0u);
    EXPECT_NE(last_error().find("at most"), std::string::npos) << last_error();
    EXPECT_EQ(zmesh_stream_write(s, nullptr, 10, 0, nullptr), ZMESH_EINVAL);
    char buf[4];
    size_t got = 0;
    EXPECT_EQ(zmesh_stream_read(s, nullptr, 10, 0, &got), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_read(s, buf, 0, 0, &got), ZMESH_EINVAL);
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 0, nullptr), ZMESH_EINVAL);
    // Nothing sent, nothing to read: a zero timeout does not wait.
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 0, &got), ZMESH_ETIMEOUT);
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 50, &got), ZMESH_ETIMEOUT);
    zmesh_stream_free(s);
}

TEST_F(ApiNetwork, a_closed_stream_refuses_reads_and_writes) {
    zmesh_stream* s = open_echo();
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(zmesh_stream_close(s), ZMESH_OK);
    EXPECT_EQ(zmesh_stream_close(s), ZMESH_OK);  // idempotent
    EXPECT_EQ(zmesh_stream_is_open(s), 0);
    char buf[4] = {1, 2, 3, 4};
    size_t n = 0;
    EXPECT_EQ(zmesh_stream_write(s, buf, sizeof buf, 1000, &n), ZMESH_ECLOSED);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 1000, &n), ZMESH_ECLOSED);
    EXPECT_NE(last_error(), "");
    EXPECT_EQ(zmesh_stream_finish(s), ZMESH_ECLOSED);
    zmesh_stream_free(s);
}

struct CallbackProbe {
    std::atomic<int> readable{0};
    std::atomic<int> blocking_result{1};
    std::atomic<int> good_reads{0};
    std::atomic<size_t> bytes{0};
};

TEST_F(ApiNetwork, callbacks_run_on_the_node_thread_and_may_not_block) {
    zmesh_stream* s = open_echo();
    ASSERT_NE(s, nullptr);
    CallbackProbe probe;
    auto cb = [](void* user, zmesh_stream* stream, zmesh_stream_event e) {
        auto* p = static_cast<CallbackProbe*>(user);
        if (e != ZMESH_STREAM_READABLE) return;
        char buf[64];
        size_t got = 0;
        p->blocking_result = zmesh_stream_read(stream, buf, sizeof buf, 1000, &got);
        if (zmesh_stream_read(stream, buf, sizeof buf, 0, &got) == ZMESH_OK) p->good_reads++;
        p->bytes += got;
        p->readable++;
    };
    ASSERT_EQ(zmesh_stream_set_callback(s, cb, &probe), ZMESH_OK);
    ASSERT_EQ(zmesh_stream_write(s, "ping", 4, 10000, nullptr), ZMESH_OK);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (probe.bytes < 4 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(probe.bytes, 4u);
    EXPECT_EQ(probe.blocking_result, ZMESH_EWOULDBLOCK);
    EXPECT_GE(probe.good_reads, 1);
    zmesh_stream_free(s);  // clears the callback: probe may go
}

// The C++ handles: a node runs until its last copy goes, and a stream carries bytes both
// ways (an Impl copied while being made once stopped the node at once).
TEST(ApiCpp, a_node_runs_until_its_last_handle_goes_and_streams_carry_bytes) {
    EchoServer echo;
    zmesh::TestnetOptions o;
    o.relays = 4;
    zmesh::Node node = zmesh::Node::start_testnet(o);
    ASSERT_TRUE(node.running());
    {
        zmesh::Node copy = node;  // a second handle, gone at the end of this block
        EXPECT_TRUE(copy.running());
    }
    ASSERT_TRUE(node.running());
    node.wait_ready(std::chrono::seconds(60));
    zmesh::Stream stream = node.open_stream("127.0.0.1", echo.port(), std::chrono::seconds(30));
    {
        zmesh::Stream other = stream;
        EXPECT_TRUE(other.is_open());
    }
    ASSERT_TRUE(stream.is_open());
    std::string sent(100000, 'z');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 + 3);
    stream.write(sent, std::chrono::seconds(30));
    stream.finish();
    EXPECT_EQ(stream.read_all(std::chrono::seconds(30)), sent);
    EXPECT_GE(node.status().streams_opened, 1u);
    node.stop();
    EXPECT_FALSE(node.running());
}

TEST(ApiStopped, calls_after_stop_get_stopped_and_streams_end) {
    EchoServer echo;
    zmesh_node* node = nullptr;
    zmesh_testnet_options o;
    zmesh_testnet_options_init(&o);
    o.relays = 4;
    ASSERT_EQ(zmesh_testnet_start(&o, &node), ZMESH_OK) << last_error();
    ASSERT_EQ(zmesh_node_wait_ready(node, 60000), ZMESH_OK) << last_error();
    zmesh_stream* s = nullptr;
    ASSERT_EQ(zmesh_stream_open(node, "127.0.0.1", echo.port(), nullptr, 30000, &s), ZMESH_OK)
        << last_error();

    // A reader blocked without a timeout wakes when the node stops.
    std::atomic<int> blocked_result{1};
    std::thread reader([&] {
        char buf[16];
        size_t got = 0;
        blocked_result = zmesh_stream_read(s, buf, sizeof buf, -1, &got);
    });
    ASSERT_EQ(zmesh_node_stop(node), ZMESH_OK) << last_error();
    reader.join();
    EXPECT_NE(blocked_result, ZMESH_OK);
    EXPECT_EQ(zmesh_node_stop(node), ZMESH_OK);  // idempotent

    char buf[4] = {};
    size_t n = 0;
    EXPECT_EQ(zmesh_stream_write(s, buf, sizeof buf, 1000, &n), ZMESH_ESTOPPED);
    EXPECT_EQ(zmesh_stream_read(s, buf, sizeof buf, 1000, &n), ZMESH_ESTOPPED);
    EXPECT_EQ(zmesh_stream_close(s), ZMESH_OK);
    EXPECT_EQ(zmesh_stream_is_open(s), 0);
    zmesh_stream* s2 = nullptr;
    EXPECT_EQ(zmesh_stream_open(node, "127.0.0.1", echo.port(), nullptr, 1000, &s2),
              ZMESH_ESTOPPED);
    zmesh_status st;
    EXPECT_EQ(zmesh_node_status(node, &st), ZMESH_ESTOPPED);
    EXPECT_NE(last_error().find("stopped"), std::string::npos) << last_error();
    EXPECT_EQ(zmesh_node_wait_ready(node, 0), ZMESH_ESTOPPED);
    // Freed in the "wrong" order: the node first, its stream after.
    zmesh_node_free(node);
    zmesh_stream_free(s);

    // The C++ API says the same with exceptions.
    zmesh::TestnetOptions co;
    co.relays = 4;
    auto cpp = zmesh::Node::start_testnet(co);
    cpp.stop();
    try {
        cpp.open_stream("127.0.0.1", echo.port(), std::chrono::seconds(1));
        ADD_FAILURE() << "no exception";
    } catch (const zmesh::Error& e) {
        EXPECT_EQ(e.code(), ZMESH_ESTOPPED);
    }
}

}  // namespace
