// A rolling upgrade of a 3-node cluster under load (docs/upgrades.md, "Rolling a cluster"): a
// 3-member etcd on loopback and 3 lodestone-ledger processes, concurrent appenders that retry
// with the same event ids, and each node in turn (followers first, the leader last) stopped with
// SIGTERM and started again, with the new build, on its data directory. Afterwards every
// acknowledged append is on every node exactly once, at its acknowledged position, in one
// history with one Merkle root, and that history extends the head noted before the roll.
//
// The nodes run with a small etcd window (--window_min_batches), so that while a node is down
// the others compact past it and it comes back through peer catch-up (records copied from
// another ledger node, verified against etcd's anchors), not only through etcd's batches.
//
// The builds: the nodes start with LODESTONE_PREVIOUS_LEDGER_BINARY when that variable names a
// lodestone-ledger of the previous release (e.g. the last tag's, built apart), and are rolled to
// this build's. Unset (as in `make test`), both are this build's binary: the test then checks
// the procedure (clean stops, leadership moving, catch-up, no lost acknowledgement), and a mixed
// run with a previous binary checks the compatibility of two builds.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/codec/record_codec.h"
#include "services/loadgen/workload.h"
#include "storage/merkle.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/history_checker.h"
#include "tests/support/ledger_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace lodestone {
namespace {

namespace lg = ::lodestone::loadgen;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::WaitUntil;

constexpr int kLeaseTtlMs = 1500;
constexpr uint64_t kAcksPerStep = 30;  // appends acknowledged between two steps of the roll

std::string PreviousBinary() {
  const char* previous = std::getenv("LODESTONE_PREVIOUS_LEDGER_BINARY");
  return previous != nullptr && *previous != '\0' ? previous : LODESTONE_LEDGER_BINARY;
}

// Polls until `node` serves a log at least `size` records long.
bool CaughtUp(const testing::LedgerNode& node, uint64_t size, milliseconds timeout) {
  return WaitUntil(
      [&] {
        auto head = node.Head();
        return head.has_value() && head->size() >= size;
      },
      timeout);
}

TEST(RollingUpgradeTest, ThreeNodesRolledOneByOneUnderLoadLoseNoAcknowledgement) {
  const std::string previous = PreviousBinary();
  const std::string next = LODESTONE_LEDGER_BINARY;
  std::cout << "rolling from " << previous << " to " << next << std::endl;
  testing::TempDir dir;
  testing::EtcdCluster etcd;
  ASSERT_TRUE(etcd.Start()) << etcd.error();
  testing::LedgerCluster cluster(
      testing::LedgerClusterOptions{.binary = previous,
                                    .root_dir = dir.path(),
                                    .etcd_endpoints = etcd.endpoints(),
                                    .lease_ttl_ms = kLeaseTtlMs,
                                    .extra_flags = {"--window_min_batches=20"}});
  ASSERT_TRUE(cluster.Start()) << cluster.error();
  testing::HistoryChecker history;
  v1::AppendResponse response;
  const auto setup =
      cluster.AppendWithRetry(lg::MineSetup("m", "AU"), &response, seconds(20), &history);
  ASSERT_TRUE(setup.ok()) << setup.error_message();
  int leader = cluster.WaitForLeader(seconds(10));
  ASSERT_GE(leader, 0) << "no leader: " << cluster.DescribeLeadership();

  testing::AppendLoad load(cluster, history,
                           testing::AppendLoadOptions{.clients = 4,
                                                      .max_events_per_append = 3,
                                                      .prefix = "roll",
                                                      .facility = "m-mine",
                                                      .attempt_deadline = milliseconds(2000)});
  load.Start();
  ASSERT_TRUE(load.WaitForAcks(0, kAcksPerStep, seconds(20))) << "no appends acknowledged";
  // The head an operator notes before rolling (step 1 of the procedure).
  const std::optional<v1::Head> before = cluster.node(leader).Head();
  ASSERT_TRUE(before.has_value());

  // Followers first, then the leader.
  std::vector<int> order;
  for (int i = 0; i < cluster.size(); ++i) {
    if (i != leader) order.push_back(i);
  }
  order.push_back(leader);
  for (int i : order) {
    testing::LedgerNode& node = cluster.node(i);
    const bool was_leader = i == leader;
    const int status = node.Terminate();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << node.node_id() << " did not stop cleanly on SIGTERM (wait status " << status << ")";
    // The others keep taking appends while it is down (a new leader first, if it led).
    if (was_leader) {
      leader = cluster.WaitForLeader(seconds(15), i);
      ASSERT_GE(leader, 0) << "no new leader after " << node.node_id()
                           << " stopped: " << cluster.DescribeLeadership();
    }
    EXPECT_TRUE(load.WaitForAcks(load.acknowledged(), kAcksPerStep, seconds(20)))
        << "appends stopped while " << node.node_id() << " was down";
    node.SetBinary(next);
    ASSERT_TRUE(node.Start()) << node.error();
    const std::optional<v1::Head> target = cluster.node(leader).Head();
    ASSERT_TRUE(target.has_value());
    EXPECT_TRUE(CaughtUp(node, target->size(), seconds(30)))
        << node.node_id() << " (upgraded) did not catch up to size " << target->size();
    EXPECT_TRUE(load.WaitForAcks(load.acknowledged(), kAcksPerStep, seconds(20)))
        << "appends stopped after " << node.node_id() << " came back";
  }
  leader = cluster.WaitForLeader(seconds(10));
  ASSERT_GE(leader, 0) << cluster.DescribeLeadership();

  load.Stop();
  EXPECT_EQ(load.rejected(), 0u) << "a valid append was refused: " << load.last_rejection();
  EXPECT_TRUE(cluster.WaitConverged(seconds(30))) << "the nodes did not converge";
  const testing::HistoryReport report = cluster.CheckHistory(history);
  std::cout << report.Summary() << std::endl;
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.nodes, 3u);
  EXPECT_GE(report.acknowledged_appends, 6 * kAcksPerStep);
  for (int i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(cluster.node(i).starts(), 2) << cluster.node(i).node_id() << " was not rolled once";
    EXPECT_EQ(cluster.node(i).options().binary, next);
  }

  // The rolled history extends the head noted before (step 4: lodectl verify --head_file).
  const std::optional<v1::Head> after = cluster.node(leader).Head();
  ASSERT_TRUE(after.has_value());
  v1::GetConsistencyProofRequest request;
  request.set_old_size(before->size());
  request.set_new_size(after->size());
  v1::ConsistencyProof proof;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(10));
  const grpc::Status proved =
      cluster.node(leader).stub()->GetConsistencyProof(&context, request, &proof);
  ASSERT_TRUE(proved.ok()) << proved.error_message();
  const auto path = codec::HashesFromBytes(proof.path());
  const auto old_root = codec::HashFromBytes(before->root_hash());
  const auto new_root = codec::HashFromBytes(after->root_hash());
  ASSERT_TRUE(path.has_value() && old_root.has_value() && new_root.has_value());
  EXPECT_TRUE(storage::merkle::VerifyConsistency(before->size(), after->size(), *old_root,
                                                 *new_root, *path))
      << "the log after the roll does not extend the head of size " << before->size();
  std::cout << "rolled 3 nodes: head " << before->size() << " -> " << after->size() << " records, "
            << load.acknowledged() << " appends acknowledged, " << load.failed_attempts()
            << " attempts retried" << std::endl;
}

}  // namespace
}  // namespace lodestone
