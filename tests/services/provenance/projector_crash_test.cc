// The projector survives SIGKILL mid-fold: a real lodestone-provenance process following a real
// lodestone-ledger is killed at random moments while it folds a generated supply chain; after
// every restart it resumes from its checkpoint, and the final views equal, byte for byte, the
// views of a replica that folded the same log once without interruption.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "services/loadgen/graph.h"
#include "storage/kv_store.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace lodestone {
namespace {

int PortOf(testing::ChildProcess& child) {
  auto line = child.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
  if (!line) return 0;
  return std::stoi(line->substr(line->find("port ") + 5));
}

// Applied position reported by the replica (ListFlags answers with it), or -1.
int64_t Applied(v1::ProvenanceService::Stub& stub) {
  v1::ListFlagsRequest request;
  request.set_max_flags(1);
  v1::ListFlagsResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!stub.ListFlags(&context, request, &response).ok()) return -1;
  return static_cast<int64_t>(response.view().applied_position());
}

std::vector<std::pair<std::string, std::string>> Dump(const std::string& path) {
  storage::KvOptions options;
  options.path = path;
  auto store = storage::KvStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  auto all = (*store)->Scan("", "", 100000000, size_t{4} << 30);
  EXPECT_TRUE(all.ok());
  return *all;
}

TEST(ProjectorCrashTest, SigkillMidFoldResumesToTheSameViewsAsAnUninterruptedFold) {
  testing::TempDir dir;
  testing::ChildProcess ledger;
  ASSERT_TRUE(
      ledger.Start({LODESTONE_LEDGER_BINARY, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                    "--sync=false", "--data_dir=" + dir.Sub("ledger")}));
  const int ledger_port = PortOf(ledger);
  ASSERT_GT(ledger_port, 0) << ledger.output();
  const std::string ledger_address = absl::StrCat("127.0.0.1:", ledger_port);
  auto ledger_stub = v1::LedgerService::NewStub(
      grpc::CreateChannel(ledger_address, grpc::InsecureChannelCredentials()));
  loadgen::GraphOptions graph;
  graph.lots = 60000;
  graph.deep_chain = 100;
  std::string error;
  auto summary = loadgen::GenerateGraph(graph, 1000, [&](std::vector<v1::Event> events) {
    v1::AppendRequest request;
    for (auto& e : events) *request.add_events() = std::move(e);
    v1::AppendResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto status = ledger_stub->Append(&context, request, &response);
    if (!status.ok()) error = status.error_message();
    return status.ok();
  });
  ASSERT_TRUE(error.empty()) << error;
  const int64_t size = static_cast<int64_t>(summary.events);

  auto run_replica = [&](const std::string& views, bool kill_midway, std::mt19937_64& rng) {
    testing::ChildProcess replica;
    EXPECT_TRUE(replica.Start({LODESTONE_PROVENANCE_BINARY, "--listen=127.0.0.1:0",
                               "--metrics_listen=127.0.0.1:0", "--data_dir=" + dir.Sub(views),
                               "--ledger_address=" + ledger_address}));
    const int port = PortOf(replica);
    EXPECT_GT(port, 0) << replica.output();
    auto stub = v1::ProvenanceService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    const int64_t start = Applied(*stub);
    // Kill somewhere in the first half of what is left, so that every run has work left.
    const int64_t left = size - start;
    const int64_t kill_at = kill_midway && left > 2
                                ? start + std::uniform_int_distribution<int64_t>(1, left / 2)(rng)
                                : size;
    int64_t applied = start;
    for (int polls = 0; applied < kill_at && polls < 20000; ++polls) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling a live process
      applied = Applied(*stub);
    }
    if (kill_midway) {
      replica.Signal(SIGKILL);
    } else {
      replica.Signal(SIGTERM);
    }
    replica.Wait();
    return std::make_pair(start, applied);
  };

  std::mt19937_64 rng(42);
  int64_t previous = 0;
  for (int crash = 0; crash < 5; ++crash) {
    auto [start, applied] = run_replica("crashed", /*kill_midway=*/true, rng);
    EXPECT_GE(start, previous) << "a restart went back before the last reported checkpoint";
    EXPECT_LT(start, size);
    previous = std::min(applied, start);
  }
  auto [resumed_from, final_applied] = run_replica("crashed", /*kill_midway=*/false, rng);
  EXPECT_EQ(final_applied, size);
  EXPECT_GT(resumed_from, 0);
  auto [zero, clean_applied] = run_replica("clean", /*kill_midway=*/false, rng);
  EXPECT_EQ(zero, 0);
  EXPECT_EQ(clean_applied, size);
  ledger.Signal(SIGTERM);
  ledger.Wait();

  const auto crashed = Dump(dir.Sub("crashed"));
  const auto clean = Dump(dir.Sub("clean"));
  ASSERT_EQ(crashed.size(), clean.size());
  for (size_t i = 0; i < clean.size(); ++i) {
    ASSERT_EQ(crashed[i].first, clean[i].first);
    ASSERT_EQ(crashed[i].second, clean[i].second) << "view " << clean[i].first << " differs";
  }
}

}  // namespace
}  // namespace lodestone
