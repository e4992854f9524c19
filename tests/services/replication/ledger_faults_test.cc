// Fault tests of the distributed mode with real processes (docs/replication.md section 9): each
// test starts a 3-member etcd cluster and 3 lodestone-ledger processes, drives concurrent
// appenders (each retries a failed append with the same event ids on the next node), injects one
// fault, and ends with the history checker: every acknowledged append exactly once at its
// acknowledged position, one history on every node, and the same head and Merkle root once
// converged.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
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
constexpr char kIsLeader[] = "lodestone_replication_is_leader";
constexpr char kFencingRejections[] = "lodestone_replication_fencing_rejections_total";
constexpr char kRoleFollower[] = "lodestone_replication_role{role=\"follower\"}";
constexpr char kRoleLeader[] = "lodestone_replication_role{role=\"leader\"}";

class LedgerFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.Start()) << etcd_.error();
    cluster_ = std::make_unique<testing::LedgerCluster>(
        testing::LedgerClusterOptions{.binary = LODESTONE_LEDGER_BINARY,
                                      .root_dir = dir_.path(),
                                      .etcd_endpoints = etcd_.endpoints(),
                                      .lease_ttl_ms = kLeaseTtlMs});
    ASSERT_TRUE(cluster_->Start()) << cluster_->error();
    v1::AppendResponse response;
    const auto status =
        cluster_->AppendWithRetry(lg::MineSetup("m", "AU"), &response, seconds(20), &history_);
    ASSERT_TRUE(status.ok()) << status.error_message();
    leader_ = cluster_->WaitForLeader(seconds(10));
    ASSERT_GE(leader_, 0) << "no leader: " << cluster_->DescribeLeadership();
  }

  void StartLoad() {
    load_ = std::make_unique<testing::AppendLoad>(
        *cluster_, history_,
        testing::AppendLoadOptions{.clients = 4,
                                   .max_events_per_append = 3,
                                   .prefix = "load",
                                   .facility = "m-mine",
                                   .attempt_deadline = milliseconds(2000),
                                   .abandon_probability = 0.2});
    load_->Start();
    ASSERT_TRUE(load_->WaitForAcks(0, 20, seconds(15))) << "no appends acknowledged";
  }

  // Stops the load, waits until every node has the same head, and checks the history (also when
  // they did not converge: the report then says how they differ).
  void StopLoadAndCheck() {
    load_->Stop();
    EXPECT_EQ(load_->rejected(), 0u) << "a valid append was refused: " << load_->last_rejection();
    EXPECT_TRUE(cluster_->WaitConverged(seconds(20))) << "the nodes did not converge";
    const testing::HistoryReport report = cluster_->CheckHistory(history_);
    std::cout << report.Summary() << std::endl;
    EXPECT_TRUE(report.ok()) << report.Summary();
    EXPECT_EQ(report.nodes, 3u);
    EXPECT_GT(report.acknowledged_appends, 50u);
  }

  testing::TempDir dir_;
  testing::EtcdCluster etcd_;
  std::unique_ptr<testing::LedgerCluster> cluster_;
  testing::HistoryChecker history_;
  std::unique_ptr<testing::AppendLoad> load_;  // destroyed (stopped) before the cluster
  int leader_ = -1;
};

// One client that sends appends only to one node, one after another, each with a long deadline,
// and remembers when each was in flight and how it ended. It does not retry: an append that
// fails is recorded with an unknown outcome.
class PinnedClient {
 public:
  struct Attempt {
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point end;
    grpc::StatusCode code;
    std::string id;
  };

  PinnedClient(testing::LedgerNode& node, testing::HistoryChecker& history)
      : node_(node), history_(history), thread_([this] { Run(); }) {}
  ~PinnedClient() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t finished() const {
    std::lock_guard lock(mu_);
    return attempts_.size();
  }
  std::vector<Attempt> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  void Run() {
    auto stub = node_.stub();
    for (int n = 0; !stop_; ++n) {
      const std::string id = absl::StrCat("pin-", n);
      v1::AppendRequest request;
      *request.add_events() = lg::LotExtracted(id, id + "-lot", "m-mine", v1::MATERIAL_ANTIMONY_ORE,
                                               "261710", 1000 + n);
      v1::AppendResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + seconds(20));
      const auto start = std::chrono::steady_clock::now();
      const grpc::Status status = stub->Append(&context, request, &response);
      const auto end = std::chrono::steady_clock::now();
      if (status.ok()) {
        history_.RecordAck(node_.node_id(), {id}, response);
      } else {
        history_.RecordUnknown(node_.node_id(), {id}, status.error_message());
      }
      std::lock_guard lock(mu_);
      attempts_.push_back({start, end, status.error_code(), id});
    }
  }

  testing::LedgerNode& node_;
  testing::HistoryChecker& history_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Attempt> attempts_;
  std::thread thread_;
};

// The leader is stopped (SIGSTOP) for about 4 s, past its 1.5 s lease, under load: another node
// leads meanwhile and appends continue; once continued, the old leader steps down, its late
// commits are fenced off (a client with an append in flight to it gets UNAVAILABLE or an
// acknowledgement that is in the log), and it converges to the same head.
TEST_F(LedgerFaultsTest, LeaderPausedPastItsLeaseStepsDownAndConverges) {
  StartLoad();
  const int old_leader = leader_;
  testing::LedgerNode& paused = cluster_->node(old_leader);
  const std::optional<double> fenced_at_start = paused.Metric(kFencingRejections);
  ASSERT_TRUE(fenced_at_start.has_value()) << kFencingRejections << " is not exported";
  const double fenced_before = *fenced_at_start;
  PinnedClient pinned(paused, history_);
  ASSERT_TRUE(WaitUntil([&] { return pinned.finished() >= 3; }, seconds(10)));

  const auto stopped_at = std::chrono::steady_clock::now();
  paused.Pause();
  const int next_leader = cluster_->WaitForLeader(seconds(8), old_leader);
  EXPECT_GE(next_leader, 0) << "no other node took over while the leader was stopped: "
                            << cluster_->DescribeLeadership();
  const uint64_t acked_at_takeover = load_->acknowledged();
  EXPECT_TRUE(load_->WaitForAcks(acked_at_takeover, 20, seconds(5)))
      << "appends did not continue while the leader was stopped";
  std::this_thread::sleep_until(stopped_at + seconds(4));  // the fault's length, not a check
  const auto resumed_at = std::chrono::steady_clock::now();
  paused.Resume();

  // The resumed node steps down and follows; the new leader keeps leading.
  EXPECT_TRUE(WaitUntil([&] { return paused.Metric(kIsLeader) == 0.0; }, seconds(10)))
      << "the resumed node still says it leads: " << cluster_->DescribeLeadership();
  EXPECT_TRUE(WaitUntil(
      [&] { return paused.Metric(kRoleFollower) == 1.0 && paused.Metric(kRoleLeader) == 0.0; },
      seconds(10)))
      << "the resumed node's role is not follower: " << cluster_->DescribeLeadership();
  EXPECT_EQ(cluster_->WaitForLeader(seconds(5), old_leader), next_leader)
      << cluster_->DescribeLeadership();
  const uint64_t acked_at_resume = load_->acknowledged();
  EXPECT_TRUE(load_->WaitForAcks(acked_at_resume, 20, seconds(10)))
      << "appends did not continue after the resume";

  // The pinned client's appends in flight during the stop ended, with UNAVAILABLE or an
  // acknowledgement (which the history check below finds in the log), not a hang or another
  // error.
  ASSERT_TRUE(WaitUntil(
      [&] { return pinned.finished() > 0 && pinned.attempts().back().start > resumed_at; },
      seconds(25)))
      << "the pinned client's append in flight to the stopped leader never ended";
  pinned.Stop();
  int in_flight = 0, unavailable = 0, acknowledged = 0;
  for (const auto& attempt : pinned.attempts()) {
    if (attempt.start > resumed_at || attempt.end < stopped_at) continue;
    ++in_flight;
    if (attempt.code == grpc::StatusCode::UNAVAILABLE) ++unavailable;
    if (attempt.code == grpc::StatusCode::OK) ++acknowledged;
    EXPECT_TRUE(attempt.code == grpc::StatusCode::OK ||
                attempt.code == grpc::StatusCode::UNAVAILABLE)
        << attempt.id << " in flight to the stopped leader ended with code " << attempt.code;
  }
  EXPECT_GE(in_flight, 1) << "the pinned client had no append in flight during the stop";
  // Whether a late commit reached etcd and was fenced off (counted) depends on where the stop
  // caught the node (a commit in flight, appends queued, nothing) and on whether its lease keeper
  // or its committer runs first after SIGCONT; in 10 runs the counter moved in 4 and the pinned
  // append got UNAVAILABLE in 3, the others were acknowledged. Either way nothing acknowledged
  // may be missing: the history check below.
  const std::optional<double> fenced = paused.Metric(kFencingRejections);
  ASSERT_TRUE(fenced.has_value()) << kFencingRejections << " is not exported";
  EXPECT_GE(*fenced, fenced_before);
  std::cout << "stopped leader " << paused.node_id() << ": " << in_flight
            << " pinned appends in flight during the stop, " << unavailable << " UNAVAILABLE, "
            << acknowledged << " acknowledged; fencing rejections " << *fenced - fenced_before
            << std::endl;
  StopLoadAndCheck();
}

// The etcd member that leads etcd's raft is SIGKILLed under load: appends keep being
// acknowledged; it is restarted on its data and appends continue.
TEST_F(LedgerFaultsTest, EtcdMemberKilledAppendsContinue) {
  StartLoad();
  int member = etcd_.RaftLeader();
  if (member < 0) member = 0;
  etcd_.Kill(member);
  const uint64_t acked_at_kill = load_->acknowledged();
  EXPECT_TRUE(load_->WaitForAcks(acked_at_kill, 200, seconds(15)))
      << "appends stopped after etcd member " << member << " was killed ("
      << load_->acknowledged() - acked_at_kill << " acknowledged since)";
  ASSERT_TRUE(etcd_.Restart(member)) << etcd_.error();
  const uint64_t acked_at_restart = load_->acknowledged();
  EXPECT_TRUE(load_->WaitForAcks(acked_at_restart, 20, seconds(10)))
      << "appends stopped after etcd member " << member << " was restarted";
  EXPECT_GE(cluster_->WaitForLeader(seconds(10)), 0) << cluster_->DescribeLeadership();
  StopLoadAndCheck();
}

// A follower is SIGKILLed under load, appends continue, and the follower restarted on its data
// directory catches up to the same head and Merkle root.
TEST_F(LedgerFaultsTest, FollowerKilledAndRestartedCatchesUp) {
  StartLoad();
  const int follower = (leader_ + 1) % 3;
  testing::LedgerNode& node = cluster_->node(follower);
  node.Kill();
  const uint64_t acked_at_kill = load_->acknowledged();
  EXPECT_TRUE(load_->WaitForAcks(acked_at_kill, 300, seconds(20)))
      << "appends stopped after a follower was killed";
  ASSERT_TRUE(node.Start()) << node.error();
  // It reopened its own log (the start line says how much it holds), and catches up under load.
  const std::string output = node.output();
  const size_t restarted = output.rfind("log size ");
  ASSERT_NE(restarted, std::string::npos) << output;
  EXPECT_GT(std::stoull(output.substr(restarted + 9)), 0u) << "restarted with an empty log";
  const auto leader_head = cluster_->node(leader_).Head();
  ASSERT_TRUE(leader_head.has_value());
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto head = node.Head();
        return head.has_value() && head->size() >= leader_head->size();
      },
      seconds(20)))
      << "the restarted follower did not catch up to size " << leader_head->size();
  EXPECT_TRUE(load_->WaitForAcks(load_->acknowledged(), 20, seconds(10)));
  StopLoadAndCheck();
}

}  // namespace
}  // namespace lodestone
