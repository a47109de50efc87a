// ML-KEM's object code must not divide in its own functions: a `div` on a secret value
// takes operand-dependent time (KyberSlash). The library's object file and the same
// source compiled at -Os (where GCC turned `% q` into `div`) are disassembled with objdump
// and every division instruction inside zmesh::crypto::mlkem is reported.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

namespace {

struct Division {
    std::string function;
    std::string instruction;
};

struct Disassembly {
    bool ran = false;
    std::size_t functions = 0;  // ML-KEM functions seen (proves the right object was read)
    std::vector<Division> divisions;
};

// `only_member`: in an archive, the member to read (empty: every object in the file).
Disassembly disassemble(const std::string& file, const std::string& only_member) {
    Disassembly d;
    std::string cmd = std::string(ZMESH_OBJDUMP) + " -d -C --no-show-raw-insn '" + file + "'";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return d;
    static const std::regex member(R"(^(\S+):\s+file format )");
    static const std::regex function(R"(^[0-9a-f]+ <(.*)>:$)");
    // x86 div/idiv (any width suffix), AArch64 udiv/sdiv.
    static const std::regex division(R"(^\s*[0-9a-f]+:\s+(i?div[bwlq]?|[us]div)\s)");
    std::string line, current, in_member;
    bool in_mlkem = false;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
        line = buf;
        if (!line.empty() && line.back() == '\n') line.pop_back();
        std::smatch m;
        if (std::regex_search(line, m, member)) {
            in_member = m[1];
            in_mlkem = false;
            continue;
        }
        if (!only_member.empty() && in_member != only_member) continue;
        if (std::regex_match(line, m, function)) {
            current = m[1];
            in_mlkem = current.find("zmesh::crypto::mlkem::") != std::string::npos;
            if (in_mlkem) ++d.functions;
            continue;
        }
        if (in_mlkem && std::regex_search(line, m, division))
            d.divisions.push_back({current, line});
    }
    d.ran = ::pclose(p) == 0;
    return d;
}

void expect_no_division(const std::string& file, const std::string& member) {
    auto d = disassemble(file, member);
    ASSERT_TRUE(d.ran) << "objdump failed on " << file;
    ASSERT_GT(d.functions, 3u) << "no ML-KEM code found in " << file << " " << member;
    for (const auto& div : d.divisions)
        ADD_FAILURE() << file << " " << member << ": division in " << div.function << ":\n"
                      << div.instruction;
}

}  // namespace

TEST(Hardening, mlkem_library_object_has_no_division_in_secret_code) {
    expect_no_division(ZMESH_CRYPTO_ARCHIVE, "mlkem.cpp.o");
}

TEST(Hardening, mlkem_compiled_at_Os_has_no_division_in_secret_code) {
    expect_no_division(ZMESH_MLKEM_OS_OBJECT, "");
}
