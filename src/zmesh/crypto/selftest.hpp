#pragma once
// Known-answer self-tests of every primitive zmesh uses. `zmesh crypto selftest` prints
// them; nodes run them at start-up and refuse to run if one fails (a miscompiled or
// corrupted build must not carry anyone's traffic).

#include <string>
#include <vector>

namespace zmesh::crypto {

struct SelftestResult {
    std::string name;
    bool ok;
};

std::vector<SelftestResult> run_selftest();
bool selftest_passes();

}  // namespace zmesh::crypto
