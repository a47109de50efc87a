#pragma once
// The repair rate from measured loss (zMesh's adaptive Tetrys): the receiver reports the
// fraction of source symbols it missed; the sender keeps a smoothed estimate and sends
// enough repair for it with a margin (bursts need more than the average), within the
// configured bounds, and the minimum when loss is below the threshold.

#include "zmesh/fec/tetrys.hpp"

namespace zmesh::fec {

class AdaptiveRate {
  public:
    explicit AdaptiveRate(const TetrysConfig& cfg);
    // A report: the fraction of source symbols lost since the last one. Returns the rate.
    double on_loss(double fraction);
    double rate() const { return rate_; }
    double smoothed_loss() const { return loss_; }

  private:
    TetrysConfig cfg_;
    double loss_ = 0;
    double rate_;
    bool first_ = true;
};

}  // namespace zmesh::fec
