// A provenance replica following a ledger over gRPC: folds what the ledger's Subscribe stream
// delivers, and catches up after the ledger's server goes away and comes back; over mutual TLS.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "services/codec/event_codec.h"
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

}  // namespace
}  // namespace lodestone::provenance
