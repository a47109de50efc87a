#pragma once
// How the exit opens its outgoing connections (docs/exits.md). The exit service picks a
// Dialer per destination (ExitService::dialer_for): names under .onion and .i2p go to the
// proxy configured for them, or are refused; other destinations go to exit.upstream when
// set, else straight out. A new way out (another kind of proxy, a relay in front of the
// exit) is another Dialer and a line in dialer_for; the stream code does not change.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>

#include "zmesh/exit/policy.hpp"
#include "zmesh/exit/upstream.hpp"
#include "zmesh/stream/mux.hpp"

namespace zmesh::exit {

struct ExitStats;

// A connected socket whose next byte is the destination's, or why there is none.
struct Dialed {
    std::optional<boost::asio::ip::tcp::socket> socket;
    stream::EndReason failure = stream::EndReason::connect_refused;
};

class Dialer {
  public:
    virtual ~Dialer() = default;
    // Runs on the exit's executor; never throws.
    virtual boost::asio::awaitable<Dialed> dial(const Target& t) = 0;
};

// Straight to the destination: the name resolved here, the policy checked on every
// address, each tried in turn.
class DirectDialer final : public Dialer {
  public:
    DirectDialer(const ExitPolicy& policy, std::chrono::milliseconds timeout, ExitStats& stats)
        : policy_(policy), timeout_(timeout), stats_(stats) {}
    boost::asio::awaitable<Dialed> dial(const Target& t) override;

  private:
    const ExitPolicy& policy_;
    std::chrono::milliseconds timeout_;
    ExitStats& stats_;
};

// Through a SOCKS5 or HTTP CONNECT proxy, which resolves the name. The policy is checked
// on what is known here: the address when the destination is one, else the port.
// `timeout` bounds the connection to the proxy and its whole answer.
class ProxyDialer final : public Dialer {
  public:
    ProxyDialer(ProxyAddress proxy, const ExitPolicy& policy, std::chrono::milliseconds timeout,
                ExitStats& stats)
        : proxy_(std::move(proxy)), policy_(policy), timeout_(timeout), stats_(stats) {}
    boost::asio::awaitable<Dialed> dial(const Target& t) override;
    const ProxyAddress& proxy() const { return proxy_; }

  private:
    ProxyAddress proxy_;
    const ExitPolicy& policy_;
    std::chrono::milliseconds timeout_;
    ExitStats& stats_;
};

}  // namespace zmesh::exit
