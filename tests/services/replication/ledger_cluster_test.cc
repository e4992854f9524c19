// Three lodestone-ledger processes in distributed mode over a real 3-member etcd cluster: the
// leader is SIGKILLed under load; a new leader serves within seconds; every acknowledged append
// is present exactly once, in the same order, on every surviving and restarted node, and all
// nodes end with the same Merkle root.
#include "tests/support/ledger_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/history_checker.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace lodestone {
namespace {

namespace lg = ::lodestone::loadgen;

std::vector<std::string> EventIds(v1::LedgerService::Stub& stub) {
  std::vector<std::string> ids;
  for (const auto& entry : testing::ReadNodeLog(stub, "").entries) ids.push_back(entry.event_id);
  return ids;
}

class LedgerClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.Start()) << etcd_.error();
    cluster_ = std::make_unique<testing::LedgerCluster>(
        testing::LedgerClusterOptions{.binary = LODESTONE_LEDGER_BINARY,
                                      .root_dir = dir_.path(),
                                      .etcd_endpoints = etcd_.endpoints(),
                                      .lease_ttl_ms = 1500});
    ASSERT_TRUE(cluster_->Start()) << cluster_->error();
  }

  // Appends through whichever node leads: a follower forwards, or answers UNAVAILABLE while no
  // leader is known, and the append is retried on the next node.
  grpc::Status Append(const std::vector<v1::Event>& events, v1::AppendResponse* response) {
    return cluster_->AppendWithRetry(events, response, std::chrono::seconds(20), &history_);
  }

  testing::TempDir dir_;
  testing::EtcdCluster etcd_;
  std::unique_ptr<testing::LedgerCluster> cluster_;
  testing::HistoryChecker history_;
  std::vector<std::string> acked_;  // acknowledged event ids, in acknowledgement order
};

TEST_F(LedgerClusterTest, LeaderSigkillLosesNoAcknowledgedAppend) {
  const auto converge = std::chrono::seconds(10);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU"), &response).ok());
  acked_ = {"m-e-party", "m-e-mine"};
  for (int i = 0; i < 30; ++i) {
    const std::string id = absl::StrCat("e", i);
    ASSERT_TRUE(Append({lg::LotExtracted(id, absl::StrCat("L", i), "m-mine",
                                         v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)},
                       &response)
                    .ok());
    acked_.push_back(id);
  }
  ASSERT_TRUE(cluster_->WaitConverged({0, 1, 2}, converge));
  // Every node accepts appends: followers forward them to the leader.
  for (int i = 0; i < 3; ++i) {
    v1::AppendRequest request;
    *request.add_events() =
        lg::PartyRegistered(absl::StrCat("via-", i), absl::StrCat("via-party-", i), "AU");
    v1::AppendResponse r;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto status = cluster_->node(i).stub()->Append(&context, request, &r);
    ASSERT_TRUE(status.ok()) << "node " << i << ": " << status.error_message();
    history_.RecordAck(cluster_->node(i).node_id(), {absl::StrCat("via-", i)}, r);
    acked_.push_back(absl::StrCat("via-", i));
  }
  ASSERT_TRUE(cluster_->WaitConverged({0, 1, 2}, converge));
  // The leader: the node the etcd election names.
  const int leader = cluster_->LeaderByElection();
  ASSERT_GE(leader, 0);
  // The leader, and only it, says so in its metrics.
  for (int i = 0; i < 3; ++i) {
    auto is_leader = cluster_->node(i).Metric("lodestone_replication_is_leader");
    ASSERT_TRUE(is_leader.has_value()) << "node " << i;
    EXPECT_EQ(*is_leader, i == leader ? 1 : 0) << "node " << i;
    EXPECT_EQ(cluster_->node(i).Metric("lodestone_replication_role{role=\"leader\"}"),
              i == leader ? 1 : 0)
        << "node " << i;
    EXPECT_EQ(cluster_->node(i).Metric("lodestone_replication_lag_batches"), 0) << "node " << i;
    // GetHead says the same: this node's role, the leader, how far it applied.
    auto head = cluster_->node(i).Head();
    ASSERT_TRUE(head.has_value() && head->has_node()) << "node " << i;
    EXPECT_EQ(head->node().node_id(), cluster_->node(i).node_id());
    EXPECT_EQ(head->node().role(), i == leader ? "leader" : "follower");
    EXPECT_TRUE(testing::WaitUntil([&] {
      auto h = cluster_->node(i).Head();
      return h.has_value() && h->node().leader_id() == cluster_->node(leader).node_id();
    }));
    EXPECT_EQ(head->node().applied_sequence(), head->node().committed_sequence());
    // The live exposition of a distributed node passes promtool's lint.
    auto body = cluster_->node(i).Metrics();
    ASSERT_TRUE(body.has_value());
    const std::string file = dir_.Sub(absl::StrCat("metrics-", i, ".txt"));
    {
      std::ofstream out(file);
      out << *body;
    }
    EXPECT_EQ(std::system(("promtool check metrics < " + file + " >/dev/null").c_str()), 0)
        << *body;
    for (const char* family :
         {"lodestone_replication_leader_changes_total",
          "lodestone_replication_fencing_rejections_total",
          "lodestone_replication_catchup_rejections_total", "lodestone_replication_window_batches",
          "lodestone_replication_committed_sequence", "lodestone_replication_applied_sequence"}) {
      EXPECT_NE(body->find(family), std::string::npos) << family;
    }
  }
  // The leader's commits were timed.
  EXPECT_GT(
      cluster_->node(leader).Metric("lodestone_replication_etcd_txn_seconds_count").value_or(0), 0);
  // SIGKILL the leader, then keep appending through whoever leads next.
  cluster_->node(leader).Kill();
  const auto killed_at = std::chrono::steady_clock::now();
  bool first_after = true;
  for (int i = 30; i < 60; ++i) {
    const std::string id = absl::StrCat("e", i);
    auto status = Append({lg::LotExtracted(id, absl::StrCat("L", i), "m-mine",
                                           v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)},
                         &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (first_after) {
      first_after = false;
      const auto failover = std::chrono::steady_clock::now() - killed_at;
      EXPECT_LT(failover, std::chrono::seconds(10)) << "failover took too long";
    }
    acked_.push_back(id);
  }
  ASSERT_TRUE(cluster_->WaitConverged(cluster_->Live(), converge));
  // The killed node comes back on its data directory and catches up.
  ASSERT_TRUE(cluster_->node(leader).Start()) << cluster_->node(leader).error();
  ASSERT_TRUE(cluster_->WaitConverged({0, 1, 2}, converge));
  for (int i = 0; i < 3; ++i) {
    const auto ids = EventIds(*cluster_->node(i).stub());
    std::map<std::string, int> count;
    for (const auto& id : ids) ++count[id];
    size_t last = 0;
    for (const auto& id : acked_) {
      ASSERT_EQ(count[id], 1) << "node " << i << ": acknowledged " << id << " not exactly once";
      const size_t at = std::find(ids.begin(), ids.end(), id) - ids.begin();
      ASSERT_GE(at, last) << "node " << i << ": acknowledged appends out of order at " << id;
      last = at;
    }
  }
  const auto report = cluster_->CheckHistory(history_);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.acknowledged_events, acked_.size()) << report.Summary();
}

}  // namespace
}  // namespace lodestone
