// ledger_soak: the distributed mode under load and a seeded random schedule of faults (`make
// soak`, ops/soak.sh). A 3-member etcd cluster and 3 lodestone-ledger processes (1.5 s leases);
// concurrent appenders retry each append with the same event ids on any node (some walk away
// after an error, leaving outcomes unknown); one fault at a time, each healed before the next:
//   leader_kill    SIGKILL the leader, restart it on its data once another node serves
//   leader_pause   SIGSTOP the leader past its lease, SIGCONT once another node serves
//   follower_kill  SIGKILL a follower, restart it on its data
//   etcd_kill      SIGKILL an etcd member (half the time the raft leader), restart it
// Never more than one etcd member or ledger down; 1.5-3.5 s of steady load between faults, each
// fault held a few seconds (100 faults take about 10 minutes). After every fault the appends
// must continue; every 25 faults and at the end the history checker reads every node's log.
// Prints the faults by kind, appends acknowledged, unknown outcomes and anomalies; exits non-zero
// on any anomaly, stall or failure to converge.
//
// Environment: SOAK_FAULTS (100), SOAK_SEED (random; printed), SOAK_CLIENTS (4), SOAK_PAUSE_MS
// (20, between a client's appends), SOAK_WINDOW (100: the ledgers' --window_min_batches, small so
// that etcd's window moves past killed followers and they catch up from peers), SOAK_DIR (the
// parent of the ledgers' data; kept on failure).
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/loadgen/workload.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/history_checker.h"
#include "tests/support/ledger_cluster.h"
#include "tests/support/wait_until.h"

namespace lodestone {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kLeaseTtlMs = 1500;
constexpr int kCheckEvery = 25;

enum Kind { kLeaderKill, kLeaderPause, kFollowerKill, kEtcdKill, kKinds };
constexpr std::array<const char*, kKinds> kKindNames = {"leader_kill", "leader_pause",
                                                        "follower_kill", "etcd_kill"};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::strtoull(value, nullptr, 10);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Soak {
 public:
  Soak(uint64_t seed, int faults, int clients, int pause_ms, int window, std::string root)
      : window_(window),
        seed_(seed),
        faults_(faults),
        clients_(clients),
        pause_ms_(pause_ms),
        root_(std::move(root)),
        rng_(seed) {}

  int Run() {
    std::printf(
        "soak: seed %llu (SOAK_SEED=%llu replays the schedule), %d faults, %d clients, "
        "lease %d ms, window %d batches, data in %s\n",
        static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_), faults_,
        clients_, kLeaseTtlMs, window_, root_.c_str());
    std::fflush(stdout);
    if (!etcd_.Start()) return Fail("etcd did not start: " + etcd_.error());
    cluster_ = std::make_unique<testing::LedgerCluster>(testing::LedgerClusterOptions{
        .binary = LODESTONE_LEDGER_BINARY,
        .root_dir = root_,
        .etcd_endpoints = etcd_.endpoints(),
        .lease_ttl_ms = kLeaseTtlMs,
        .extra_flags = {"--window_min_batches=" + std::to_string(window_)},
        .stderr_to_files = true});
    if (!cluster_->Start()) return Fail("the ledgers did not start: " + cluster_->error());
    v1::AppendResponse response;
    if (!cluster_->AppendWithRetry(loadgen::MineSetup("m", "AU"), &response, seconds(30), &history_)
             .ok()) {
      return Fail("the setup append failed");
    }
    load_ = std::make_unique<testing::AppendLoad>(
        *cluster_, history_,
        testing::AppendLoadOptions{.clients = clients_,
                                   .max_events_per_append = 4,
                                   .prefix = "soak",
                                   .facility = "m-mine",
                                   .attempt_deadline = milliseconds(2000),
                                   .pause = milliseconds(pause_ms_),
                                   .abandon_probability = 0.1,
                                   .seed = seed_});
    load_->Start();
    if (!load_->WaitForAcks(0, 20, seconds(30))) return Fail("no appends acknowledged");

    started_ = Clock::now();
    for (int f = 1; f <= faults_; ++f) {
      InjectOne(f);
      if (f % kCheckEvery == 0 && f < faults_) IntermediateCheck(f);
    }
    const double soak_seconds = Seconds(Clock::now() - started_);

    load_->Stop();
    for (int i = 0; i < cluster_->size(); ++i) {
      if (!cluster_->node(i).running()) cluster_->node(i).Start();
    }
    const bool converged = cluster_->WaitConverged(seconds(60));
    if (!converged) Problem("the nodes did not converge within 60 s after the load stopped");
    const testing::HistoryReport report = cluster_->CheckHistory(history_);
    anomalies_ += report.anomaly_count;

    std::printf("\n== soak summary (seed %llu)\n", static_cast<unsigned long long>(seed_));
    std::printf("faults injected: %d in %.0f s:", faults_, soak_seconds);
    for (int k = 0; k < kKinds; ++k) std::printf(" %s %d", kKindNames[k], by_kind_[k]);
    std::printf("\n");
    if (!failovers_.empty()) {
      std::sort(failovers_.begin(), failovers_.end());
      std::printf(
          "leader faults, first acknowledgement after the fault: median %.2f s, max %.2f s\n",
          failovers_[failovers_.size() / 2], failovers_.back());
    }
    std::printf("appends acknowledged: %llu (%llu events; %llu failed attempts retried)\n",
                static_cast<unsigned long long>(load_->acknowledged()),
                static_cast<unsigned long long>(load_->acknowledged_events()),
                static_cast<unsigned long long>(load_->failed_attempts()));
    std::printf("unknown outcomes: %zu (%zu committed, %zu not); rejected: %zu\n",
                report.unknown_appends, report.unknown_present, report.unknown_absent,
                report.rejected_appends);
    std::printf("final log: %llu events on %zu nodes, converged: %s\n",
                static_cast<unsigned long long>(report.log_size), report.nodes,
                converged ? "yes" : "NO");
    std::printf("stalls (appends not continuing after a fault): %d\n", stalls_);
    std::printf("anomalies found: %zu\n", anomalies_);
    std::cout << report.Summary() << std::endl;
    for (const auto& problem : problems_) std::printf("  problem: %s\n", problem.c_str());
    const bool ok = anomalies_ == 0 && stalls_ == 0 && converged && report.rejected_appends == 0;
    std::printf("soak: %s\n", ok ? "PASSED" : "FAILED");
    return ok ? 0 : 1;
  }

 private:
  int Fail(const std::string& why) {
    std::printf("soak: FAILED: %s\n", why.c_str());
    return 1;
  }
  void Problem(const std::string& what) {
    problems_.push_back(what);
    std::printf("  ! %s\n", what.c_str());
    std::fflush(stdout);
  }
  milliseconds Uniform(int min_ms, int max_ms) {
    return milliseconds(std::uniform_int_distribution<int>(min_ms, max_ms)(rng_));
  }
  // Appends continue: `count` acknowledgements after `since` within `timeout`; else a stall.
  bool Progress(uint64_t since, uint64_t count, milliseconds timeout, const std::string& what) {
    if (load_->WaitForAcks(since, count, timeout)) return true;
    ++stalls_;
    Problem(absl::StrCat("stall: ", what, ": fewer than ", count, " appends acknowledged in ",
                         timeout.count(), " ms"));
    return false;
  }
  // A restarted node has caught up with the log size another node had when it restarted.
  void WaitCaughtUp(int node, const std::string& what) {
    uint64_t target = 0;
    for (int i : cluster_->Live()) {
      if (i == node) continue;
      if (auto head = cluster_->node(i).Head()) target = std::max<uint64_t>(target, head->size());
    }
    if (!testing::WaitUntil(
            [&] {
              auto head = cluster_->node(node).Head();
              return head.has_value() && head->size() >= target;
            },
            seconds(30))) {
      ++stalls_;
      Problem(absl::StrCat("stall: ", what, ": node", node, " did not catch up to ", target,
                           " within 30 s"));
    }
  }

  void InjectOne(int f) {
    std::this_thread::sleep_for(Uniform(1500, 3500));  // steady load between faults
    const auto t0 = Clock::now();
    const int leader = cluster_->WaitForLeader(seconds(20));
    if (leader < 0) {
      ++stalls_;
      Problem(
          absl::StrCat("stall: no leader before fault ", f, ": ", cluster_->DescribeLeadership()));
    }
    Kind kind = static_cast<Kind>(rng_() % kKinds);
    if (leader < 0 && (kind == kLeaderKill || kind == kLeaderPause)) kind = kFollowerKill;
    ++by_kind_[kind];
    const std::string name = absl::StrCat("fault ", f, " ", kKindNames[kind]);
    std::string target;
    double recovered = -1;
    const uint64_t acked_before = load_->acknowledged();
    switch (kind) {
      case kLeaderKill: {
        testing::LedgerNode& node = cluster_->node(leader);
        target = node.node_id();
        node.Kill();
        const auto killed = Clock::now();
        if (Progress(load_->acknowledged(), 10, milliseconds(20000), name)) {
          recovered = Seconds(Clock::now() - killed);
          failovers_.push_back(recovered);
        }
        std::this_thread::sleep_for(Uniform(500, 2500));  // down a while longer
        if (!node.Start()) {
          Problem(absl::StrCat(name, ": restart failed: ", node.error()));
        } else {
          WaitCaughtUp(leader, name);
        }
        break;
      }
      case kLeaderPause: {
        testing::LedgerNode& node = cluster_->node(leader);
        target = node.node_id();
        node.Pause();
        const auto paused = Clock::now();
        if (cluster_->WaitForLeader(seconds(15), leader) < 0) {
          ++stalls_;
          Problem(
              absl::StrCat(name, ": no other node took over: ", cluster_->DescribeLeadership()));
        }
        if (Progress(load_->acknowledged(), 10, milliseconds(15000), name)) {
          recovered = Seconds(Clock::now() - paused);
          failovers_.push_back(recovered);
        }
        std::this_thread::sleep_until(
            std::max(Clock::now(), paused + milliseconds(kLeaseTtlMs) + Uniform(500, 2500)));
        node.Resume();
        if (!testing::WaitUntil([&] { return !node.IsLeader(); }, seconds(10))) {
          ++anomalies_;
          Problem(absl::StrCat(name, ": ", target, " still says it leads 10 s after SIGCONT: ",
                               cluster_->DescribeLeadership()));
        }
        break;
      }
      case kFollowerKill: {
        std::vector<int> followers;
        for (int i = 0; i < cluster_->size(); ++i) {
          if (i != leader) followers.push_back(i);
        }
        const int f_node = followers[rng_() % followers.size()];
        testing::LedgerNode& node = cluster_->node(f_node);
        target = node.node_id();
        node.Kill();
        const auto killed = Clock::now();
        if (Progress(load_->acknowledged(), 10, milliseconds(15000), name)) {
          recovered = Seconds(Clock::now() - killed);
        }
        std::this_thread::sleep_for(Uniform(500, 3000));
        if (!node.Start()) {
          Problem(absl::StrCat(name, ": restart failed: ", node.error()));
        } else {
          WaitCaughtUp(f_node, name);
        }
        break;
      }
      case kEtcdKill: {
        int member = (rng_() % 2 == 0) ? etcd_.RaftLeader() : -1;
        if (member < 0) member = static_cast<int>(rng_() % etcd_.size());
        target = absl::StrCat("etcd member ", member);
        etcd_.Kill(member);
        const auto killed = Clock::now();
        if (Progress(load_->acknowledged(), 10, milliseconds(20000), name)) {
          recovered = Seconds(Clock::now() - killed);
        }
        std::this_thread::sleep_for(Uniform(500, 2500));
        if (!etcd_.Restart(member)) {
          Problem(absl::StrCat(name, ": etcd restart failed: ", etcd_.error()));
        }
        break;
      }
      case kKinds:
        break;
    }
    Progress(load_->acknowledged(), 5, milliseconds(15000), name + " (after healing)");
    std::printf(
        "[%3d/%d %4.0fs] %-13s %-14s appends continued after %5.2f s; cycle %5.2f s; acked %llu "
        "(+%llu)\n",
        f, faults_, Seconds(Clock::now() - started_), kKindNames[kind], target.c_str(), recovered,
        Seconds(Clock::now() - t0), static_cast<unsigned long long>(load_->acknowledged()),
        static_cast<unsigned long long>(load_->acknowledged() - acked_before));
    std::fflush(stdout);
  }

  // Every node's log, read under load, against what was acknowledged before it was read (nodes
  // may lag) and what was attempted until it was read.
  void IntermediateCheck(int f) {
    testing::HistoryChecker snapshot(history_);
    const std::vector<testing::NodeLog> logs = cluster_->ReadLogs({0, 1, 2});
    snapshot.AddAttemptsFrom(history_);
    const testing::HistoryReport report = snapshot.Check(logs, {.expect_converged = false});
    anomalies_ += report.anomaly_count;
    std::printf("  check after fault %d: log size %llu, %zu appends acknowledged, anomalies %zu\n",
                f, static_cast<unsigned long long>(report.log_size), report.acknowledged_appends,
                report.anomaly_count);
    if (!report.ok()) std::cout << report.Summary() << std::endl;
    std::fflush(stdout);
  }

  const int window_;
  const uint64_t seed_;
  const int faults_;
  const int clients_;
  const int pause_ms_;
  const std::string root_;
  std::mt19937_64 rng_;
  Clock::time_point started_;
  testing::EtcdCluster etcd_;
  std::unique_ptr<testing::LedgerCluster> cluster_;
  testing::HistoryChecker history_;
  std::unique_ptr<testing::AppendLoad> load_;
  std::array<int, kKinds> by_kind_{};
  std::vector<double> failovers_;
  size_t anomalies_ = 0;
  int stalls_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace
}  // namespace lodestone

int main() {
  const uint64_t seed = lodestone::EnvOr("SOAK_SEED", std::random_device{}());
  const int faults = static_cast<int>(lodestone::EnvOr("SOAK_FAULTS", 100));
  const int clients = static_cast<int>(lodestone::EnvOr("SOAK_CLIENTS", 4));
  const int pause_ms = static_cast<int>(lodestone::EnvOr("SOAK_PAUSE_MS", 20));
  const int window = static_cast<int>(lodestone::EnvOr("SOAK_WINDOW", 100));
  const char* parent = std::getenv("SOAK_DIR");
  std::string pattern =
      (parent != nullptr && *parent != '\0' ? std::filesystem::path(parent)
                                            : std::filesystem::temp_directory_path()) /
      "lodestone-soak-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("soak: mkdtemp");
    return 1;
  }
  int rc;
  {
    lodestone::Soak soak(seed, faults, clients, pause_ms, window, pattern);
    rc = soak.Run();
  }  // every process is killed here
  if (rc == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(pattern, ignored);
  } else {
    std::printf("soak: the ledgers' data and stderr are kept in %s\n", pattern.c_str());
  }
  return rc;
}
