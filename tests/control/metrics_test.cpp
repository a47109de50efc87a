#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "zmesh/control/metrics.hpp"
#include "zmesh/node/collect.hpp"

namespace zmesh::control {
namespace {

using node::collect_link;
using node::collect_relay;

TEST(Metrics, prometheus_text_has_help_type_and_escaped_labels) {
    Snapshot s;
    s.add("zmesh_x_total", "Things\nthat \\ happened.", MetricType::counter,
          {{"node", "a\"b\\c\nd"}}, 3);
    s.add("zmesh_x_total", "ignored", MetricType::counter, {{"node", "e"}}, 4.5);
    s.add("zmesh_open", "Open now.", MetricType::gauge, {}, 7);
    std::string t = to_prometheus(s);
    EXPECT_EQ(t,
              "# HELP zmesh_x_total Things\\nthat \\\\ happened.\n"
              "# TYPE zmesh_x_total counter\n"
              "zmesh_x_total{node=\"a\\\"b\\\\c\\nd\"} 3\n"
              "zmesh_x_total{node=\"e\"} 4.5\n"
              "# HELP zmesh_open Open now.\n"
              "# TYPE zmesh_open gauge\n"
              "zmesh_open 7\n");
}

TEST(Metrics, json_and_influx_renderings) {
    Snapshot s;
    s.add("zmesh_y_total", "Y.", MetricType::counter, {{"node", "relay 1,x=y"}}, 12);
    auto j = nlohmann::json::parse(to_json(s));
    EXPECT_EQ(j["metrics"][0]["name"], "zmesh_y_total");
    EXPECT_EQ(j["metrics"][0]["type"], "counter");
    EXPECT_EQ(j["metrics"][0]["samples"][0]["labels"]["node"], "relay 1,x=y");
    EXPECT_EQ(j["metrics"][0]["samples"][0]["value"], 12);
    EXPECT_EQ(to_influx(s, 1700000000000000000LL),
              "zmesh_y_total,node=relay\\ 1\\,x\\=y value=12 1700000000000000000\n");
}

TEST(Metrics, names_are_validated) {
    Snapshot s;
    EXPECT_THROW(s.add("9bad", "", MetricType::gauge, {}, 1), std::invalid_argument);
    EXPECT_THROW(s.add("bad-name", "", MetricType::gauge, {}, 1), std::invalid_argument);
    EXPECT_THROW(s.add("ok", "", MetricType::gauge, {{"__reserved", "x"}}, 1),
                 std::invalid_argument);
    EXPECT_TRUE(valid_name("zmesh_a_b9"));
}

TEST(Metrics, link_and_relay_counters_become_families) {
    Snapshot s;
    link::LinkStats ls;
    ls.packets_in = 5;
    ls.drop_duplicate = 2;
    collect_link(s, ls, 3, {100, 200}, {{"node", "n"}});
    circuit::RelayStats rs;
    rs.drop_integrity = 1;
    collect_relay(s, rs, 4, {{"node", "n"}});
    circuit::ClientStats cs;
    cs.watermark_closed = 6;
    collect_client(s, cs, 1, {{"node", "n"}});
    std::string t = to_prometheus(s);
    EXPECT_NE(t.find("zmesh_link_packets_in_total{node=\"n\"} 5\n"), std::string::npos);
    EXPECT_NE(t.find("zmesh_link_drop_duplicate_total{node=\"n\"} 2\n"), std::string::npos);
    EXPECT_NE(t.find("zmesh_link_sessions{node=\"n\"} 3\n"), std::string::npos);
    EXPECT_NE(t.find("zmesh_relay_drop_integrity_total{node=\"n\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("zmesh_relay_circuits{node=\"n\"} 4\n"), std::string::npos);
    EXPECT_NE(t.find("zmesh_client_watermark_closed_total{node=\"n\"} 6\n"), std::string::npos);
}

}  // namespace
}  // namespace zmesh::control
