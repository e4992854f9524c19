// ledger_failover_bench: failover time of the distributed mode, for `make bench` (ops/bench.sh,
// part replicated). Starts a 3-member etcd cluster and 3 lodestone-ledger processes, keeps a
// light load going (one client, one event per append, a pause between appends), then repeatedly
// SIGKILLs the leader and measures the time from the kill to the first acknowledged append sent
// after the kill through a surviving node; restarts the killed node and lets it catch up before
// the next kill. Prints each failover, the median and the maximum, and checks the history at the
// end (exit status 1 on an anomaly). Asserts nothing about the times.
//
// Flags: --kills=N (5), --lease_ttl_ms=MS (1500), --data_dir=DIR (parent of the ledgers' data,
// default the system temporary directory).
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

struct Flags {
  int kills = 5;
  int lease_ttl_ms = 1500;
  std::string data_dir;
};

bool Parse(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = absl::StrCat("--", name, "=");
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("kills")) {
      flags.kills = std::atoi(v);
    } else if (const char* v = value("lease_ttl_ms")) {
      flags.lease_ttl_ms = std::atoi(v);
    } else if (const char* v = value("data_dir")) {
      flags.data_dir = v;
    } else {
      std::fprintf(stderr, "usage: %s [--kills=N] [--lease_ttl_ms=MS] [--data_dir=DIR]\n", argv[0]);
      return false;
    }
  }
  return flags.kills > 0 && flags.lease_ttl_ms > 0;
}

int Run(const Flags& flags, const std::string& root) {
  testing::EtcdCluster etcd;
  if (!etcd.Start()) {
    std::printf("failover: etcd did not start: %s\n", etcd.error().c_str());
    return 1;
  }
  testing::LedgerCluster cluster({.binary = LODESTONE_LEDGER_BINARY,
                                  .root_dir = root,
                                  .etcd_endpoints = etcd.endpoints(),
                                  .lease_ttl_ms = flags.lease_ttl_ms,
                                  .stderr_to_files = true});
  if (!cluster.Start()) {
    std::printf("failover: the ledgers did not start: %s\n", cluster.error().c_str());
    return 1;
  }
  testing::HistoryChecker history;
  v1::AppendResponse response;
  if (!cluster.AppendWithRetry(loadgen::MineSetup("m", "AU"), &response, seconds(30), &history)
           .ok()) {
    std::printf("failover: the setup append failed\n");
    return 1;
  }
  testing::AppendLoad load(cluster, history,
                           {.clients = 1,
                            .max_events_per_append = 1,
                            .prefix = "light",
                            .facility = "m-mine",
                            .attempt_deadline = milliseconds(2000),
                            .pause = milliseconds(20)});
  load.Start();
  std::vector<double> failovers;
  for (int k = 1; k <= flags.kills; ++k) {
    const int leader = cluster.WaitForLeader(seconds(30));
    if (leader < 0 || !load.WaitForAcks(load.acknowledged(), 10, seconds(30))) {
      std::printf("failover: no leader or no load before kill %d\n", k);
      return 1;
    }
    testing::LedgerNode& killed = cluster.node(leader);
    killed.Kill();
    const auto killed_at = Clock::now();
    // Probe: fresh appends through the survivors, one after another, until one is acknowledged.
    double failover = -1;
    int answered = -1;
    for (int n = 0; Clock::now() - killed_at < seconds(60); ++n) {
      const int node = (leader + 1 + n % 2) % 3;
      const std::string id = absl::StrCat("probe-", k, "-", n);
      v1::AppendRequest request;
      *request.add_events() = loadgen::LotExtracted(id, id + "-lot", "m-mine",
                                                    v1::MATERIAL_ANTIMONY_ORE, "261710", 1000);
      history.RecordAttempt({id});
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + milliseconds(500));
      v1::AppendResponse r;
      const grpc::Status status = cluster.node(node).stub()->Append(&context, request, &r);
      if (status.ok()) {
        failover = std::chrono::duration<double>(Clock::now() - killed_at).count();
        answered = node;
        history.RecordAck(cluster.node(node).node_id(), {id}, r);
        break;
      }
      history.RecordUnknown(cluster.node(node).node_id(), {id}, status.error_message());
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (failover < 0) {
      std::printf("failover %d: no append acknowledged within 60 s of the kill\n", k);
      return 1;
    }
    failovers.push_back(failover);
    const int next = cluster.WaitForLeader(seconds(10));
    std::printf(
        "failover %d: %.3f s (killed leader %s; first acknowledgement through %s; new "
        "leader %s)\n",
        k, failover, killed.node_id().c_str(), cluster.node(answered).node_id().c_str(),
        next < 0 ? "?" : cluster.node(next).node_id().c_str());
    std::fflush(stdout);
    if (!killed.Start()) {
      std::printf("failover: restart failed: %s\n", killed.error().c_str());
      return 1;
    }
    // It catches up with what the others held when it came back.
    uint64_t target = 0;
    for (int i : cluster.Live()) {
      if (auto head = cluster.node(i).Head(); head && i != leader) {
        target = std::max<uint64_t>(target, head->size());
      }
    }
    if (!testing::WaitUntil(
            [&] {
              auto head = killed.Head();
              return head.has_value() && head->size() >= target;
            },
            seconds(30))) {
      std::printf("failover: the restarted node did not catch up within 30 s\n");
      return 1;
    }
  }
  load.Stop();
  std::vector<double> sorted = failovers;
  std::sort(sorted.begin(), sorted.end());
  std::printf("failover over %d leader kills (lease %d ms): median %.3f s, max %.3f s\n",
              flags.kills, flags.lease_ttl_ms, sorted[sorted.size() / 2], sorted.back());
  if (!cluster.WaitConverged(seconds(30))) {
    std::printf("failover: the nodes did not converge\n");
    return 1;
  }
  const testing::HistoryReport report = cluster.CheckHistory(history);
  std::printf("history check: %s\n", report.ok() ? "no anomalies" : report.Summary().c_str());
  return report.ok() ? 0 : 1;
}

}  // namespace
}  // namespace lodestone

int main(int argc, char** argv) {
  lodestone::Flags flags;
  if (!lodestone::Parse(argc, argv, flags)) return 2;
  std::string pattern = (flags.data_dir.empty() ? std::filesystem::temp_directory_path()
                                                : std::filesystem::path(flags.data_dir)) /
                        "lodestone-failover-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("failover: mkdtemp");
    return 1;
  }
  const int rc = lodestone::Run(flags, pattern);
  if (rc == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(pattern, ignored);
  } else {
    std::printf("failover: data and the ledgers' stderr kept in %s\n", pattern.c_str());
  }
  return rc;
}
