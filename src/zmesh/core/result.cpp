#include "zmesh/core/result.hpp"

#include <string>

namespace zmesh {
namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "zmesh"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::ok:
                return "ok";
            case Errc::truncated:
                return "input truncated";
            case Errc::oversized:
                return "input exceeds a limit";
            case Errc::malformed:
                return "malformed input";
            case Errc::bad_length:
                return "wrong length";
            case Errc::auth_failed:
                return "authentication failed";
            case Errc::replayed:
                return "replayed or too old";
            case Errc::bad_state:
                return "not allowed in this state";
            case Errc::weak_key:
                return "weak or low-order key";
            case Errc::unknown_peer:
                return "unknown peer or session";
            case Errc::rate_limited:
                return "rate limited";
            case Errc::exhausted:
                return "limit reached";
            case Errc::io_error:
                return "I/O error";
            case Errc::permission_denied:
                return "permission denied";
            case Errc::unsupported:
                return "unsupported";
        }
        return "unknown zmesh error";
    }
};

}  // namespace

const std::error_category& zmesh_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace zmesh
