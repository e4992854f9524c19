// A provenance replica following a ledger over gRPC: folds what the ledger's Subscribe stream
// delivers, and catches up after the ledger's server goes away and comes back; over mutual TLS.
// The remote source hashes the bytes it receives: an event whose bytes are not those committed
// (they do not chain) is never passed on.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_service.h"
#include "services/loadgen/workload.h"
#include "services/provenance/provenance_node.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::provenance {
namespace {

namespace lg = ::lodestone::loadgen;

class RemoteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    service_ = std::make_unique<ledger::LedgerServiceImpl>(*ledger_, nullptr);
    StartLedgerServer("127.0.0.1:0");
  }

  void TearDown() override {
    if (node_) node_->Stop();
    StopLedgerServer();
    service_.reset();
    ledger_.reset();
  }

  void StartLedgerServer(const std::string& address, const rpc::ServerTransport& transport = {}) {
    if (server_) StopLedgerServer();
    auto server = rpc::StartServer(address, {service_.get()}, {}, transport);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    port_ = server->port;
  }

  void StopLedgerServer() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now());  // cancels the Subscribe stream
    server_.reset();
  }

  void Append(std::vector<v1::Event> events) {
    ledger::AppendBatch batch;
    for (const auto& proto : events) batch.events.push_back(*codec::EventFromProto(proto));
    auto outcome = ledger_->AppendAndWait(std::move(batch));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  // Waits (bounded by the node's read-your-writes wait) for the views to reach the log size.
  bool CaughtUp(int seconds = 20) {
    const uint64_t size = ledger_->log().GetHead().size;
    for (int attempt = 0; attempt < seconds; ++attempt) {
      std::promise<bool> reached;
      auto future = reached.get_future();
      auto status = node_->runner().WhenApplied(size, absl::Now() + absl::Seconds(1),
                                                [&reached](bool ok) { reached.set_value(ok); });
      if (!status.ok()) return false;
      if (future.get()) return true;
    }
    return false;
  }

  testing::TempDir dir_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ledger::LedgerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<ProvenanceNode> node_;
};

// The programs' TLS setup (rpc::ProgramTransportFromFlags): the ledger requires client
// certificates; provenance follows it with its own certificate.
TEST_F(RemoteSourceTest, FollowsTheLedgerOverMutualTls) {
  std::string error;
  testing::TestPki pki;
  ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki, &error)) << error;
  auto ledger_tls = rpc::ProgramTransportFromFlags({pki.server_cert, pki.server_key, pki.ca_cert});
  ASSERT_TRUE(ledger_tls.ok()) << ledger_tls.status();
  StartLedgerServer("127.0.0.1:0", {ledger_tls->server, ""});
  Append(lg::MineSetup("m", "AU"));

  NodeOptions options;
  options.store.path = dir_.Sub("views");
  options.store.sync = false;
  RemoteSourceOptions source;
  source.ledger_address = absl::StrCat("127.0.0.1:", port_);
  source.backoff_initial = absl::Milliseconds(20);
  source.backoff_max = absl::Milliseconds(200);

  // Plain text to the TLS ledger: nothing arrives.
  {
    auto node = ProvenanceNode::Open(options, std::make_unique<RemoteLedgerSource>(source));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    node_->Start();
    EXPECT_FALSE(CaughtUp(/*seconds=*/2));
    EXPECT_EQ(node_->runner().applied_position(), 0u);
    node_->Stop();
    node_.reset();
  }
  // With the provenance program's certificate: follows.
  auto provenance_tls =
      rpc::ProgramTransportFromFlags({pki.client_cert, pki.client_key, pki.ca_cert});
  ASSERT_TRUE(provenance_tls.ok()) << provenance_tls.status();
  source.credentials = provenance_tls->client;
  auto node = ProvenanceNode::Open(options, std::make_unique<RemoteLedgerSource>(source));
  ASSERT_TRUE(node.ok()) << node.status();
  node_ = *std::move(node);
  node_->Start();
  ASSERT_TRUE(CaughtUp());
  EXPECT_EQ(node_->runner().applied_position(), ledger_->log().GetHead().size);
}

TEST_F(RemoteSourceTest, FollowsTheLedgerAndCatchesUpAfterItsServerReturns) {
  Append(lg::MineSetup("m", "AU"));
  Append({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000)});
  NodeOptions options;
  options.store.path = dir_.Sub("views");
  options.store.sync = false;
  RemoteSourceOptions source;
  source.ledger_address = absl::StrCat("127.0.0.1:", port_);
  source.backoff_initial = absl::Milliseconds(20);
  source.backoff_max = absl::Milliseconds(200);
  auto node = ProvenanceNode::Open(options, std::make_unique<RemoteLedgerSource>(source));
  ASSERT_TRUE(node.ok()) << node.status();
  node_ = *std::move(node);
  node_->Start();
  ASSERT_TRUE(CaughtUp());
  EXPECT_EQ(node_->runner().applied_position(), 3u);

  // The ledger's server goes away; the ledger keeps appending in-process.
  StopLedgerServer();
  for (int i = 2; i < 60; ++i) {
    Append({lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                             v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)});
  }
  EXPECT_EQ(node_->runner().applied_position(), 3u);
  StartLedgerServer(absl::StrCat("127.0.0.1:", port_));  // back on the same address
  ASSERT_TRUE(CaughtUp());
  EXPECT_EQ(node_->runner().applied_position(), ledger_->log().GetHead().size);

  v1::GetLotRequest request;
  request.set_lot_id("L59");
  v1::GetLotResponse response;
  ASSERT_TRUE(node_->queries().GetLot(request, &response).ok());
  EXPECT_EQ(response.lot().mass_g(), 1059);
  ASSERT_TRUE(node_->runner().health().ok());
}

// Serves a ledger's log over Subscribe (one message, then the stream ends), changing one byte
// of the stored bytes of the event at `damaged_position` in the first `damaged_streams` streams.
class DamagingLedger final : public v1::LedgerService::Service {
 public:
  DamagingLedger(const storage::Log& log, uint64_t damaged_position, int damaged_streams)
      : log_(log), damaged_position_(damaged_position), damaged_left_(damaged_streams) {}

  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    auto records = log_.ReadAll(request->from_position(), 1000, size_t{16} << 20);
    if (!records.ok() || records->empty()) return grpc::Status::OK;
    v1::SubscribeResponse message;
    for (const auto& record : *records) {
      v1::StoredEvent* event = message.add_events();
      if (!codec::RecordToProto(record, event).ok()) return grpc::Status::CANCELLED;
      if (record.position == damaged_position_ && damaged_left_ > 0) {
        --damaged_left_;
        ++damaged_served_;
        // The last byte: the bytes still parse, as another event.
        std::string bytes = event->event_bytes();
        bytes[bytes.size() - 1] ^= 0x01;
        event->set_event_bytes(bytes);
      }
    }
    message.set_log_size(log_.GetHead().size);
    writer->Write(message);
    return grpc::Status::OK;
  }

  int damaged_served() const { return damaged_served_; }

 private:
  const storage::Log& log_;
  const uint64_t damaged_position_;
  std::atomic<int> damaged_left_;
  std::atomic<int> damaged_served_{0};
};

// Reads from 0 until `count` events arrived or `timeout` passed.
std::vector<v1::StoredEvent> ReadUpTo(RemoteLedgerSource& source, size_t count,
                                      absl::Duration timeout) {
  std::vector<v1::StoredEvent> events;
  const absl::Time deadline = absl::Now() + timeout;
  while (events.size() < count && absl::Now() < deadline) {
    auto page = source.Read(events.size(), count - events.size(), absl::Milliseconds(100));
    if (!page.ok()) continue;
    for (auto& event : *page) events.push_back(std::move(event));
  }
  return events;
}

TEST_F(RemoteSourceTest, EventsWhoseBytesDoNotChainAreNeverPassedOn) {
  Append(lg::MineSetup("m", "AU"));
  for (int i = 0; i < 3; ++i) {
    Append({lg::LotExtracted("e" + std::to_string(i), "L" + std::to_string(i), "m-mine",
                             v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)});
  }
  const uint64_t size = ledger_->log().GetHead().size;
  ASSERT_GE(size, 5u);
  auto stored = ledger_->log().ReadAll(0, 1000, size_t{16} << 20);
  ASSERT_TRUE(stored.ok());

  for (const int damaged_streams : {2, 1000}) {
    DamagingLedger damaging(ledger_->log(), 3, damaged_streams);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&damaging);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    RemoteSourceOptions options;
    options.ledger_address = "127.0.0.1:" + std::to_string(port);
    options.backoff_initial = absl::Milliseconds(10);
    options.backoff_max = absl::Milliseconds(50);
    {
      RemoteLedgerSource source(options);
      const std::vector<v1::StoredEvent> events =
          ReadUpTo(source, size, damaged_streams == 2 ? absl::Seconds(20) : absl::Seconds(1));
      EXPECT_GE(damaging.damaged_served(), 1);
      // Healed after the damaged streams; stalled before position 3 while they last.
      ASSERT_EQ(events.size(), damaged_streams == 2 ? size : 3u);
      for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].position(), i);
        EXPECT_EQ(events[i].event_bytes(), (*stored)[i].payload) << "position " << i;
        EXPECT_EQ(events[i].event().SerializeAsString(), (*stored)[i].payload);
      }
    }
    server->Shutdown(std::chrono::system_clock::now());
  }
}

}  // namespace
}  // namespace lodestone::provenance
