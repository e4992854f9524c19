// Three in-process ledger nodes replicating through a real 3-member etcd cluster: one leader
// commits every group with a fenced etcd Txn, the followers apply the batches, and all end with
// the same log, Merkle root and chain.
#include "services/replication/replicated_node.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/ledger/ledger.h"
#include "services/loadgen/workload.h"
#include "services/rpc/event_codec.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace lodestone::replication {
namespace {

namespace lg = ::lodestone::loadgen;

using testing::WaitUntil;

ledger::AppendBatch Batch(std::vector<v1::Event> events) {
  ledger::AppendBatch batch;
  for (const auto& e : events) batch.events.push_back(*rpc::EventFromProto(e));
  return batch;
}

ledger::AppendBatch Lot(int i) {
  return Batch({lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                                 v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)});
}

// One ledger node: its own RocksDB, a Ledger whose replicate hook goes to its ReplicatedNode.
struct Node {
  std::shared_ptr<NodeSlot> slot = std::make_shared<NodeSlot>();
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ReplicatedNode> node;

  storage::Head head() const { return ledger->log().GetHead(); }
};

class ReplicatedNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start()) << cluster_.error();
    for (int i = 0; i < 3; ++i) {
      auto node = std::make_unique<Node>();
      ledger::LedgerOptions options;
      options.log.path = dir_.Sub(absl::StrCat("node", i));
      options.log.sync = false;
      options.replicate = ReplicatedNode::ReplicateHook(node->slot);
      auto ledger = ledger::Ledger::Open(options);
      ASSERT_TRUE(ledger.ok()) << ledger.status();
      node->ledger = *std::move(ledger);
      ReplicatedNodeOptions node_options;
      node_options.etcd_endpoints = cluster_.endpoints();
      node_options.cluster = "test";
      node_options.node_id = absl::StrCat("n", i);
      node_options.advertise_address = absl::StrCat("node", i, ":7000");
      auto replicated = ReplicatedNode::Create(node_options, *node->ledger, node->slot);
      ASSERT_TRUE(replicated.ok()) << replicated.status();
      node->node = *std::move(replicated);
      ASSERT_TRUE(node->node->Start().ok());
      nodes_.push_back(std::move(node));
    }
  }

  void TearDown() override {
    for (auto& node : nodes_) {
      if (node == nullptr) continue;
      node->node.reset();
      node->ledger.reset();
    }
  }

  // The single leader among the live nodes, once there is exactly one.
  int WaitForLeader() {
    int leader = -1;
    WaitUntil([&] {
      int count = 0;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i] != nullptr && nodes_[i]->node->role() == NodeRole::kLeader) {
          leader = static_cast<int>(i);
          ++count;
        }
      }
      return count == 1;
    });
    return leader;
  }

  // Every live node holds the same head with `size` records.
  bool Converged(uint64_t size) {
    return WaitUntil([&] {
      const Node* first = nullptr;
      for (const auto& node : nodes_) {
        if (node == nullptr) continue;
        const storage::Head head = node->head();
        if (head.size != size) return false;
        if (first == nullptr) {
          first = node.get();
          continue;
        }
        const storage::Head other = first->head();
        if (head.root != other.root || head.chain != other.chain) return false;
      }
      return true;
    });
  }

  // The event ids of a node's log in order.
  std::vector<std::string> EventIds(const Node& node) {
    std::vector<std::string> ids;
    auto records = node.ledger->log().ReadAll(0, node.head().size + 1, size_t{64} << 20);
    EXPECT_TRUE(records.ok()) << records.status();
    if (records.ok()) {
      for (const auto& record : *records) ids.push_back(record.event_id);
    }
    return ids;
  }

  // Appends the mine setup and `lots` lots [from, from + lots) through `leader`.
  void AppendLots(int leader, int from, int lots, std::vector<std::string>& acked) {
    for (int i = from; i < from + lots; ++i) {
      auto outcome = nodes_[leader]->ledger->AppendAndWait(Lot(i));
      ASSERT_TRUE(outcome.ok()) << outcome.status();
      acked.push_back(absl::StrCat("e", i));
    }
  }

  void AppendSetup(int leader, std::vector<std::string>& acked) {
    ledger::AppendBatch setup = Batch(lg::MineSetup("m", "AU"));
    for (const auto& e : setup.events) acked.push_back(e.event_id);
    auto outcome = nodes_[leader]->ledger->AppendAndWait(std::move(setup));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  testing::EtcdCluster cluster_;
  lodestone::testing::TempDir dir_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ReplicatedNodeTest, LeaderReplicatesAndFollowersRefuseAppends) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  std::vector<std::string> acked;
  AppendSetup(leader, acked);
  AppendLots(leader, 0, 30, acked);
  ASSERT_TRUE(Converged(acked.size()));
  // A follower's own append passes its write model (it has the mine), then the hook refuses it.
  for (int i = 0; i < 3; ++i) {
    if (i == leader) continue;
    auto refused = nodes_[i]->ledger->AppendAndWait(Lot(1000 + i));
    EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
    EXPECT_NE(refused.status().message().find("node" + std::to_string(leader) + ":7000"),
              std::string::npos)
        << refused.status();
  }
  AppendLots(leader, 30, 5, acked);
  // Concurrent appends: the committer groups them; each group is one etcd batch.
  std::vector<std::future<absl::StatusOr<ledger::AppendOutcome>>> pending;
  for (int i = 35; i < 75; ++i) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<ledger::AppendOutcome>>>();
    pending.push_back(promise->get_future());
    nodes_[leader]->ledger->Append(Lot(i),
                                   [promise](absl::StatusOr<ledger::AppendOutcome> outcome) {
                                     promise->set_value(std::move(outcome));
                                   });
  }
  std::vector<std::pair<uint64_t, std::string>> concurrent;
  for (int i = 0; i < static_cast<int>(pending.size()); ++i) {
    auto outcome = pending[i].get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    concurrent.emplace_back(outcome->results[0].position, absl::StrCat("e", 35 + i));
  }
  std::sort(concurrent.begin(), concurrent.end());
  for (const auto& [position, id] : concurrent) acked.push_back(id);
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) {
    EXPECT_EQ(EventIds(*node), acked);
    EXPECT_TRUE(node->node->status().ok()) << node->node->status();
  }
}

TEST_F(ReplicatedNodeTest, FailsOverWhenTheLeaderStops) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  std::vector<std::string> acked;
  AppendSetup(leader, acked);
  AppendLots(leader, 0, 15, acked);
  ASSERT_TRUE(Converged(acked.size()));

  nodes_[leader]->node.reset();  // Stop(): resigns
  nodes_[leader]->ledger.reset();
  nodes_[leader].reset();
  const auto stopped = std::chrono::steady_clock::now();
  const int next = WaitForLeader();
  ASSERT_GE(next, 0);
  ASSERT_NE(next, leader);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::seconds(3));
  AppendLots(next, 15, 15, acked);
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) {
    if (node == nullptr) continue;
    EXPECT_EQ(EventIds(*node), acked);
  }
}

TEST_F(ReplicatedNodeTest, ADeposedLeaderCannotCommit) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  std::vector<std::string> acked;
  AppendSetup(leader, acked);
  AppendLots(leader, 0, 10, acked);
  ASSERT_TRUE(Converged(acked.size()));

  // Its lease "expires": revoked behind its back, which deletes its campaign key.
  auto client = EtcdClient::Create({.endpoints = cluster_.endpoints()});
  ASSERT_TRUE(client.ok()) << client.status();
  const int64_t lease = nodes_[leader]->node->lease_id();
  ASSERT_NE(lease, 0);
  ASSERT_TRUE((*client)->RevokeLease(lease).ok());

  const uint64_t before = nodes_[leader]->head().size;
  auto refused = nodes_[leader]->ledger->AppendAndWait(Lot(500));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(nodes_[leader]->head().size, before);

  // Someone leads again (possibly the same node, with a new lease) and appends continue.
  int next = -1;
  ASSERT_TRUE(WaitUntil([&] {
    next = WaitForLeader();
    return next >= 0;
  }));
  ASSERT_TRUE(WaitUntil([&] {
    auto outcome = nodes_[next]->ledger->AppendAndWait(Lot(10));
    return outcome.ok();
  }));
  acked.push_back("e10");
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) EXPECT_EQ(EventIds(*node), acked);
}

TEST_F(ReplicatedNodeTest, FollowersStopAtAGapAndReportIt) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  std::vector<std::string> acked;
  AppendSetup(leader, acked);
  ASSERT_TRUE(Converged(acked.size()));
  const int64_t sequence = nodes_[leader]->node->applied_sequence();
  ASSERT_EQ(sequence, 1);

  // A batch that starts past the followers' log end (written behind the leader's back).
  v1::internal::ReplicatedBatch gap;
  gap.set_first_position(acked.size() + 5);
  auto client = EtcdClient::Create({.endpoints = cluster_.endpoints()});
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(
      (*client)->Put("/lodestone/test/batches/00000000000000000002", gap.SerializeAsString()).ok());
  for (int i = 0; i < 3; ++i) {
    if (i == leader) continue;
    ASSERT_TRUE(WaitUntil([&] { return !nodes_[i]->node->status().ok(); }));
    EXPECT_TRUE(absl::IsFailedPrecondition(nodes_[i]->node->status())) << nodes_[i]->node->status();
    EXPECT_EQ(nodes_[i]->head().size, acked.size());
  }
}

}  // namespace
}  // namespace lodestone::replication
