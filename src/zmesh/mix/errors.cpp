#include "zmesh/mix/errors.hpp"

#include <string>

namespace zmesh::mix {
namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "zmesh.mix"; }
    std::string message(int ev) const override {
        switch (static_cast<MixErrc>(ev)) {
            case MixErrc::ok:
                return "ok";
            case MixErrc::truncated:
                return "packet truncated";
            case MixErrc::oversized:
                return "packet oversized";
            case MixErrc::weak_key:
                return "low-order group element";
            case MixErrc::bad_mac:
                return "header MAC does not verify";
            case MixErrc::bad_routing:
                return "malformed routing block";
            case MixErrc::bad_payload:
                return "payload integrity check failed";
            case MixErrc::replayed:
                return "packet replayed";
            case MixErrc::cache_full:
                return "replay cache full";
            case MixErrc::bad_path:
                return "invalid path";
            case MixErrc::message_too_long:
                return "message too long";
            case MixErrc::rate_limited:
                return "mix key admission budget spent";
            case MixErrc::bad_delay:
                return "per-hop delay above the protocol maximum";
            case MixErrc::bad_config:
                return "invalid mix configuration";
            case MixErrc::surb_used:
                return "SURB already used";
        }
        return "unknown mix error";
    }
};

}  // namespace

const std::error_category& mix_category() noexcept {
    static const Category c;
    return c;
}

}  // namespace zmesh::mix
