#include <gtest/gtest.h>

#include "zmesh/control/config.hpp"

namespace zmesh::control {
namespace {

bool has_error(const Loaded& l, const std::string& key, int line, const std::string& part) {
    for (const auto& e : l.errors)
        if (e.key == key && e.line == line && e.message.find(part) != std::string::npos)
            return true;
    return false;
}

TEST(Config, defaults_and_values_from_the_file) {
    auto l = load_config("[circuit]\nhops = 4\n[core]\nroles = [\"relay\", \"exit\"]\n", {}, {});
    ASSERT_TRUE(l.ok()) << l.errors[0].message;
    EXPECT_EQ(l.config.integer("circuit.hops"), 4);
    EXPECT_EQ(std::get<std::vector<std::string>>(l.config.get("core.roles")).size(), 2u);
    EXPECT_EQ(l.config.string("monitoring.prometheus_addr"), "127.0.0.1:9090");  // default
}

TEST(Config, errors_name_key_line_and_what_is_allowed) {
    auto l = load_config(
        "[circuit]\n"
        "hops = 9\n"                         // line 2: out of range
        "idle_timeout_seconds = \"long\"\n"  // line 3: wrong type
        "colour = 1\n"                       // line 4: unknown key
        "[core]\n"
        "roles = [\"relay\", \"janitor\"]\n"  // line 6: not allowed
        "[transport]\n"
        "socks_listen = \"nowhere\"\n",  // line 8: bad address
        {}, {});
    EXPECT_FALSE(l.ok());
    EXPECT_TRUE(has_error(l, "circuit.hops", 2, "an integer from 2 to 8"));
    EXPECT_TRUE(has_error(l, "circuit.idle_timeout_seconds", 3, "an integer"));
    EXPECT_TRUE(has_error(l, "circuit.colour", 4, "unknown option"));
    EXPECT_TRUE(has_error(l, "core.roles", 6, "client relay exit bootstrap"));
    EXPECT_TRUE(has_error(l, "transport.socks_listen", 8, "HOST:PORT"));
}

TEST(Config, family_takes_node_ids_in_base32_or_hex_and_at_most_sixteen) {
    std::string b32(52, 'a'), hex(64, '0');
    auto ok = load_config("[core]\nfamily = [\"" + b32 + "\", \"" + hex + "\"]\n", {}, {});
    EXPECT_TRUE(ok.ok()) << ok.errors[0].message;
    auto typo = load_config("[core]\nfamily = [\"" + b32.substr(1) + "\"]\n", {}, {});
    EXPECT_TRUE(has_error(typo, "core.family", 2, "is neither"));
    std::string many = "[core]\nfamily = [";
    for (int i = 0; i < 17; ++i) many += "\"" + hex + "\",";
    auto too_many = load_config(many + "]\n", {}, {});
    EXPECT_TRUE(has_error(too_many, "core.family", 2, "at most 16"));
}

TEST(Config, show_hides_a_proxy_password) {
    auto l = load_config("[exit]\nupstream = \"socks5://alice:s3cret@127.0.0.1:1080\"\n", {}, {});
    ASSERT_TRUE(l.ok()) << l.errors[0].message;
    auto shown = render_config(l.config, false);
    EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
    EXPECT_NE(shown.find("socks5://alice:***@127.0.0.1:1080"), std::string::npos) << shown;
}

TEST(Config, path_weights_must_sum_to_one) {
    auto l = load_config("[circuit]\nweight_latency = 0.5\n", {}, {});
    EXPECT_FALSE(l.ok());
    EXPECT_TRUE(has_error(l, "circuit.weight_*", 0, "add up to 1"));
    auto ok = load_config("[circuit]\nweight_latency = 0.5\nweight_diversity = 0.0\n", {}, {});
    EXPECT_TRUE(ok.ok());
}

TEST(Config, environment_then_flags_override_the_file) {
    Environment env{{"ZMESH_CIRCUIT_HOPS", "5"}, {"ZMESH_CRYPTO_REQUIRE_POST_QUANTUM", "true"}};
    auto l = load_config("[circuit]\nhops = 4\n", env, {"circuit.hops=6"});
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l.config.integer("circuit.hops"), 6);
    EXPECT_TRUE(l.config.boolean("crypto.require_post_quantum"));
    auto bad = load_config("", {{"ZMESH_CIRCUIT_HOPS", "many"}}, {"nope.key=1", "circuit.hops=1"});
    EXPECT_TRUE(has_error(bad, "circuit.hops", 0, "ZMESH_CIRCUIT_HOPS must be an integer"));
    EXPECT_TRUE(has_error(bad, "nope.key", 0, "known option"));
    EXPECT_TRUE(has_error(bad, "circuit.hops", 0, "an integer from 2 to 8"));
}

TEST(Config, broken_toml_is_reported_with_its_line) {
    auto l = load_config("[circuit]\nhops = = 3\n", {}, {});
    ASSERT_EQ(l.errors.size(), 1u);
    EXPECT_EQ(l.errors[0].line, 2);
    EXPECT_NE(l.errors[0].message.find("not valid TOML"), std::string::npos);
}

TEST(Config, init_file_round_trips_and_show_prints_explicit_values) {
    auto text = default_config_file();
    auto l = load_config(text, {}, {});
    ASSERT_TRUE(l.ok()) << (l.errors.empty() ? "" : l.errors[0].message);
    for (const auto& o : options())
        EXPECT_NE(text.find(o.key + " = "), std::string::npos) << o.name();
    auto c = load_config("[circuit]\nhops = 5\n", {}, {});
    auto shown = render_config(c.config, false);
    EXPECT_EQ(shown.find("prometheus_addr"), std::string::npos);
    EXPECT_NE(shown.find("hops = 5"), std::string::npos);
    auto again = load_config(render_config(c.config, true), {}, {});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again.config.integer("circuit.hops"), 5);
}

}  // namespace
}  // namespace zmesh::control
