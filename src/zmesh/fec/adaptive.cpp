#include "zmesh/fec/adaptive.hpp"

#include <algorithm>
#include <cmath>

namespace zmesh::fec {

AdaptiveRate::AdaptiveRate(const TetrysConfig& cfg) : cfg_(cfg), rate_(cfg.repair_rate) {}

double AdaptiveRate::on_loss(double fraction) {
    if (!std::isfinite(fraction)) return rate_;
    fraction = std::clamp(fraction, 0.0, 1.0);
    // Rises fast, falls slowly: a burst should not find the rate just lowered.
    double weight = first_ || fraction > loss_ ? 0.5 : 0.1;
    loss_ = first_ ? fraction : loss_ + weight * (fraction - loss_);
    first_ = false;
    if (!cfg_.adaptive) return rate_;
    double wanted = loss_ < cfg_.loss_threshold ? cfg_.min_repair_rate : 2 * loss_ + 0.02;
    rate_ = std::clamp(wanted, cfg_.min_repair_rate, cfg_.max_repair_rate);
    return rate_;
}

}  // namespace zmesh::fec
