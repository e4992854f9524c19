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
#include "google/protobuf/util/time_util.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"
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

// The administrator of the cluster (every node's --admin_party default) registers a signing key,
// signs a batch, revokes the key, and signs another batch with it: every node refuses the second
// batch the same way (followers forward to the leader, which judges it at the batch's position),
// every node's log holds the same events, and a follower killed and restarted replays the
// revocation from its own log and refuses again.
TEST_F(LedgerClusterTest, ARevokedKeyIsRefusedByEveryNodeAndAfterARestart) {
  const std::string admin = "lodestone-admin";
  auto key = crypto::SigningKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string key_id = crypto::KeyId(key->PublicKey());
  auto as_admin = [&](v1::Event event, bool sign) {
    event.set_actor(admin);
    event.set_attested_by(admin);
    *event.mutable_event_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    if (sign) {
      const std::string message = codec::SignedMessage(event);
      event.mutable_signature()->set_key_id(key_id);
      event.mutable_signature()->set_signature(key->Sign(message));
    }
    return event;
  };
  auto extraction = [&](const std::string& id, bool sign) {
    return as_admin(
        lg::LotExtracted(id, "L-" + id, "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000), sign);
  };
  v1::AppendResponse response;
  std::vector<v1::Event> setup;
  for (const auto& event : lg::MineSetup("m", "AU")) setup.push_back(as_admin(event, false));
  setup.push_back(as_admin(lg::PartyRegistered("p-admin", admin, "AU"), false));
  v1::Event registration = lg::SigningKeyRegistered("k-1", admin, key_id, key->PublicKey());
  setup.push_back(as_admin(registration, false));
  ASSERT_TRUE(Append(setup, &response).ok());
  grpc::Status status = Append({extraction("signed-1", true)}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto refused_everywhere = [&](const v1::Event& event, const std::string& why) {
    for (int i = 0; i < cluster_->size(); ++i) {
      v1::AppendRequest request;
      *request.add_events() = event;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::AppendResponse r;
      const grpc::Status s = cluster_->node(i).stub()->Append(&context, request, &r);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << "node" << i << ": " << s.error_message();
      EXPECT_NE(s.error_message().find(why), std::string::npos) << s.error_message();
    }
  };
  refused_everywhere(extraction("unsigned-1", false), "must be signed");

  v1::Event revocation = lg::SigningKeyRevoked("k-2", admin, key_id);
  status = Append({as_admin(revocation, true)}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  refused_everywhere(extraction("signed-2", true), "was revoked by event 'k-2'");

  ASSERT_TRUE(cluster_->WaitConverged(std::chrono::seconds(10)));
  const std::vector<std::string> log = EventIds(*cluster_->node(0).stub());
  for (int i = 1; i < cluster_->size(); ++i) {
    EXPECT_EQ(EventIds(*cluster_->node(i).stub()), log) << "node" << i;
  }
  EXPECT_NE(std::find(log.begin(), log.end(), "signed-1"), log.end());
  EXPECT_NE(std::find(log.begin(), log.end(), "k-2"), log.end());
  EXPECT_EQ(std::find(log.begin(), log.end(), "signed-2"), log.end());
  EXPECT_EQ(std::find(log.begin(), log.end(), "unsigned-1"), log.end());

  // A follower killed and restarted rebuilds its write model from its log: same decision.
  const int leader = cluster_->WaitForLeader(std::chrono::seconds(10));
  ASSERT_GE(leader, 0) << cluster_->DescribeLeadership();
  const int follower = (leader + 1) % cluster_->size();
  cluster_->node(follower).Kill();
  ASSERT_TRUE(cluster_->node(follower).Start()) << cluster_->node(follower).error();
  ASSERT_TRUE(cluster_->WaitConverged(std::chrono::seconds(10)));
  EXPECT_EQ(EventIds(*cluster_->node(follower).stub()), log);
  refused_everywhere(extraction("signed-3", true), "was revoked");
}

}  // namespace
}  // namespace lodestone
