// Crash safety: a real lodestone-ledger process appends under concurrent load with synced
// commits and is killed with SIGKILL at random moments, many times. After every restart each
// acknowledged event is present exactly once at its acknowledged position, no batch is partly
// visible, the new log extends every head observed before the crash (consistency proof checked
// by an independent verifier), and finally the hash chain and Merkle root verify on disk.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
#include "storage/log.h"
#include "tests/support/child_process.h"
#include "tests/support/rfc6962_verifier.h"
#include "tests/support/temp_dir.h"

namespace lodestone {
namespace {

namespace lg = ::lodestone::loadgen;

constexpr int kIterations = 12;
constexpr int kClients = 6;

struct Batch {
  std::vector<std::string> event_ids;
  bool acked = false;
  std::vector<uint64_t> positions;  // when acked
};

class LedgerProcess {
 public:
  LedgerProcess(const std::string& data_dir) {
    EXPECT_TRUE(child_.Start({LODESTONE_LEDGER_BINARY, "--listen=127.0.0.1:0",
                              "--metrics_listen=127.0.0.1:0", "--data_dir=" + data_dir}));
    auto line = child_.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
    EXPECT_TRUE(line.has_value()) << child_.output();
    if (!line) return;
    const auto at = line->find("port ") + 5;
    port_ = std::stoi(line->substr(at));
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }
  std::unique_ptr<v1::LedgerService::Stub> NewStub() {
    return v1::LedgerService::NewStub(channel_);
  }
  testing::ChildProcess& child() { return child_; }
  bool ok() const { return port_ > 0; }

 private:
  testing::ChildProcess child_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

grpc::Status Append(v1::LedgerService::Stub& stub, const std::vector<v1::Event>& events,
                    v1::AppendResponse* response) {
  v1::AppendRequest request;
  for (const auto& e : events) *request.add_events() = e;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub.Append(&context, request, response);
}

std::vector<v1::StoredEvent> ReadEverything(v1::LedgerService::Stub& stub) {
  std::vector<v1::StoredEvent> events;
  uint64_t next = 0;
  while (true) {
    v1::ReadAllRequest request;
    request.set_from_position(next);
    request.set_max_events(1000);
    v1::ReadAllResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub.ReadAll(&context, request, &response).ok());
    if (response.events_size() == 0) break;
    for (auto& e : *response.mutable_events()) events.push_back(std::move(e));
    next = response.next_position();
  }
  return events;
}

v1::Head GetHead(v1::LedgerService::Stub& stub) {
  v1::Head head;
  grpc::ClientContext context;
  EXPECT_TRUE(stub.GetHead(&context, v1::GetHeadRequest(), &head).ok());
  return head;
}

void CheckLog(v1::LedgerService::Stub& stub, const std::vector<Batch>& batches,
              const std::vector<v1::Head>& observed_heads) {
  const auto events = ReadEverything(stub);
  std::map<std::string, uint64_t> position_of;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].position(), i) << "positions are dense";
    ASSERT_TRUE(position_of.emplace(events[i].event().event_id(), i).second)
        << "event id appears twice: " << events[i].event().event_id();
  }
  for (const auto& batch : batches) {
    size_t present = 0;
    for (const auto& id : batch.event_ids) present += position_of.count(id);
    ASSERT_TRUE(present == 0 || present == batch.event_ids.size())
        << "batch partly visible: " << present << " of " << batch.event_ids.size();
    if (present > 0) {
      // A batch occupies consecutive positions, in order.
      for (size_t i = 1; i < batch.event_ids.size(); ++i) {
        ASSERT_EQ(position_of[batch.event_ids[i]], position_of[batch.event_ids[0]] + i);
      }
    }
    if (!batch.acked) continue;
    ASSERT_EQ(present, batch.event_ids.size()) << "acknowledged batch lost: " << batch.event_ids[0];
    for (size_t i = 0; i < batch.event_ids.size(); ++i) {
      ASSERT_EQ(position_of[batch.event_ids[i]], batch.positions[i])
          << "acknowledged event moved: " << batch.event_ids[i];
    }
  }
  // The log after the crash extends every head a client saw before it.
  const v1::Head head = GetHead(stub);
  for (const auto& old : observed_heads) {
    v1::GetConsistencyProofRequest request;
    request.set_old_size(old.size());
    request.set_new_size(head.size());
    v1::ConsistencyProof proof;
    grpc::ClientContext context;
    ASSERT_TRUE(stub.GetConsistencyProof(&context, request, &proof).ok());
    std::vector<std::string> path(proof.path().begin(), proof.path().end());
    ASSERT_TRUE(testing::VerifyConsistency(old.size(), head.size(), old.root_hash(),
                                           head.root_hash(), path))
        << "head of size " << old.size() << " is not a prefix of the recovered log";
  }
}

TEST(CrashTest, AcknowledgedEventsSurviveSigkillExactlyOnceInOrder) {
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("ledger");
  std::mt19937_64 rng(20261129);
  std::vector<Batch> batches;
  std::mutex batches_mu;
  std::vector<v1::Head> observed_heads;
  uint64_t total_acked = 0;

  {
    LedgerProcess ledger(data_dir);
    ASSERT_TRUE(ledger.ok());
    auto stub = ledger.NewStub();
    v1::AppendResponse response;
    ASSERT_TRUE(Append(*stub, lg::MineSetup("crash", "AU"), &response).ok());
    ledger.child().Signal(SIGKILL);
    ledger.child().Wait();
  }

  for (int iteration = 0; iteration < kIterations; ++iteration) {
    LedgerProcess ledger(data_dir);
    ASSERT_TRUE(ledger.ok()) << "restart " << iteration;
    {
      auto stub = ledger.NewStub();
      ASSERT_NO_FATAL_FAILURE(CheckLog(*stub, batches, observed_heads))
          << "after crash " << iteration;
      observed_heads.clear();
    }
    // Load until a random number of acknowledgements, then SIGKILL mid-stream.
    const uint64_t kill_after = std::uniform_int_distribution<uint64_t>(20, 250)(rng);
    std::atomic<uint64_t> acks{0};
    std::atomic<bool> killed{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        auto stub = ledger.NewStub();
        std::mt19937_64 client_rng(iteration * 100 + c);
        for (int seq = 0; !killed.load(); ++seq) {
          const int size = std::uniform_int_distribution<int>(1, 5)(client_rng);
          std::vector<v1::Event> events;
          Batch batch;
          for (int i = 0; i < size; ++i) {
            const std::string lot = absl::StrCat("i", iteration, "-c", c, "-s", seq, "-", i);
            events.push_back(lg::LotExtracted("e-" + lot, lot, "crash-mine",
                                              v1::MATERIAL_ANTIMONY_ORE, "261710", 1000));
            batch.event_ids.push_back("e-" + lot);
          }
          size_t index;
          {
            std::lock_guard lock(batches_mu);
            index = batches.size();
            batches.push_back(batch);
          }
          v1::AppendResponse response;
          if (!Append(*stub, events, &response).ok()) continue;
          {
            std::lock_guard lock(batches_mu);
            batches[index].acked = true;
            for (const auto& r : response.results())
              batches[index].positions.push_back(r.position());
          }
          if (acks.fetch_add(1) + 1 == kill_after) {
            std::lock_guard lock(batches_mu);
            observed_heads.push_back(GetHead(*stub));
            ledger.child().Signal(SIGKILL);
            killed = true;
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    ledger.child().Wait();
    total_acked += acks.load();
  }

  // A last clean restart and SIGTERM: the process exits 0, then the files verify on their own.
  {
    LedgerProcess ledger(data_dir);
    ASSERT_TRUE(ledger.ok());
    auto stub = ledger.NewStub();
    ASSERT_NO_FATAL_FAILURE(CheckLog(*stub, batches, observed_heads));
    ledger.child().Signal(SIGTERM);
    const int status = ledger.child().Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ledger.child().output();
  }
  storage::LogOptions options;
  options.path = data_dir;
  auto log = storage::Log::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE((*log)->Verify().ok());
  EXPECT_GT(total_acked, static_cast<uint64_t>(kIterations) * 20);
}

}  // namespace
}  // namespace lodestone
