#pragma once
// The sockets of `zmesh bench`: the sink at the far end of the measured circuits and a
// SOCKS5 client for the daemon's entry. Errors are values: one line saying what failed.
//
// The sink protocol (TCP): the client's first byte chooses
//   'D' u64 (big endian): the sink sends that many bytes, then ends its half;
//   'E': the sink sends back every byte it receives, until the client ends.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace zmesh::app::bench {

namespace asio = boost::asio;
using asio::ip::tcp;

// A value, or one line saying what went wrong.
template <class T>
using Outcome = boost::system::result<T, std::string>;

inline constexpr std::uint8_t kDownload = 'D';
inline constexpr std::uint8_t kEcho = 'E';

class Sink {
  public:
    // Listens at once (an exception when it cannot: a start-up error).
    explicit Sink(const tcp::endpoint& at);
    ~Sink();
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    tcp::endpoint endpoint() const { return endpoint_; }
    // Serves on a thread of its own until destroyed.
    void start();
    // Serves on this thread, for ever (`zmesh bench sink`).
    void run();

  private:
    asio::awaitable<void> accept_loop();

    asio::io_context io_;
    tcp::acceptor acceptor_;
    tcp::endpoint endpoint_;
    std::thread thread_;
};

struct SocksRequest {
    tcp::endpoint socks;  // the daemon's SOCKS5 entry
    std::string user;     // with `password`: the isolation key ("hops-N" sets the length)
    std::string password;
    std::string target;  // "host:port", "[v6]:port"
};

// A stream through the daemon to the target, or why not (within `timeout`).
asio::awaitable<Outcome<tcp::socket>> socks_connect(const SocksRequest& r,
                                                    std::chrono::milliseconds timeout);

// A fresh isolation password: each run gets circuits of its own.
std::string fresh_password();

}  // namespace zmesh::app::bench
