// Honest health: a real ledger on a fault-injection file system behind a real server on port 0.
// A log poisoned by a failed write, a full disk or a stopped replication turns the gRPC health
// status to NOT_SERVING, says why in GetHead and the metrics, and appends get a status that
// retrying does not fix (never UNAVAILABLE); reads keep working; a full disk comes back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "rocksdb/env.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/ledger/ledger_service.h"
#include "services/ledger/node_health.h"
#include "services/loadgen/workload.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "storage/fault_injection_fs.h"
#include "tests/support/http_get.h"
#include "tests/support/temp_dir.h"

namespace lodestone::ledger {
namespace {

namespace lg = ::lodestone::loadgen;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = storage::NewFaultInjectionEnv(file_system_);
    LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = true;
    options.log.env = env_.get();
    auto ledger = Ledger::Open(options, &metrics_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    health_ = std::make_unique<NodeHealth>(ledger_->log(), [this] {
      std::lock_guard lock(mu_);
      return replication_;
    });
    metrics_.AttachHealth(health_.get());
    auto endpoint = rpc::MetricsEndpoint::Start("127.0.0.1:0");
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = *std::move(endpoint);
    metrics_.Register(*endpoint_);
    service_ = std::make_unique<LedgerServiceImpl>(*ledger_, &metrics_);
    service_->SetHealth(health_.get());
    auto server = rpc::StartServer("127.0.0.1:0", {service_.get()}, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    health_->Watch([this](const absl::Status& status) { server_.SetServing(status.ok()); },
                   absl::Milliseconds(10));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_.port),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::LedgerService::NewStub(channel_);
    health_stub_ = grpc::health::v1::Health::NewStub(channel_);
  }
  void TearDown() override {
    health_->Stop();
    service_->Shutdown();
    server_.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    ledger_.reset();
  }

  grpc::Status Append(std::vector<v1::Event> events) {
    v1::AppendRequest request;
    for (auto& event : events) *request.add_events() = std::move(event);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::AppendResponse response;
    return stub_->Append(&context, request, &response);
  }
  grpc::Status AppendLot(int i) {
    return Append({lg::LotExtracted(absl::StrCat("e-lot-", i), absl::StrCat("lot-", i), "m-mine",
                                    v1::MATERIAL_ANTIMONY_ORE, "261710", 1000)});
  }
  v1::Head Head() {
    grpc::ClientContext context;
    v1::Head head;
    EXPECT_TRUE(stub_->GetHead(&context, v1::GetHeadRequest(), &head).ok());
    return head;
  }
  HealthCheckResponse::ServingStatus Health() {
    grpc::ClientContext context;
    HealthCheckResponse response;
    EXPECT_TRUE(
        health_stub_->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok());
    return response.status();
  }
  // The watcher polls every 10 ms: waits (at most 10 s) for it to publish `wanted`.
  bool HealthBecomes(HealthCheckResponse::ServingStatus wanted) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Health() == wanted) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  std::string Metrics() {
    auto body = testing::HttpGet(endpoint_->port(), "/metrics");
    return body.value_or("");
  }
  void SetReplication(absl::Status status) {
    std::lock_guard lock(mu_);
    replication_ = std::move(status);
  }

  testing::TempDir dir_;
  std::shared_ptr<storage::FaultInjectionFileSystem> file_system_ =
      std::make_shared<storage::FaultInjectionFileSystem>();
  std::unique_ptr<rocksdb::Env> env_;
  LedgerMetrics metrics_;
  std::unique_ptr<Ledger> ledger_;
  std::mutex mu_;
  absl::Status replication_;
  std::unique_ptr<NodeHealth> health_;
  std::unique_ptr<rpc::MetricsEndpoint> endpoint_;
  std::unique_ptr<LedgerServiceImpl> service_;
  rpc::StartedServer server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
};

TEST_F(HealthTest, APoisonedLogIsNotServingAndAppendsGetFailedPrecondition) {
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU")).ok());
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
  EXPECT_TRUE(Head().health().serving());
  EXPECT_THAT(Metrics(), HasSubstr("lodestone_ledger_serving 1"));
  const uint64_t size = Head().size();

  file_system_->CutNow();  // the disk dies: the next write fails with an I/O error
  // The append whose commit failed gets what every later one will: not UNAVAILABLE.
  grpc::Status failed = AppendLot(0);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << failed.error_message();
  EXPECT_THAT(failed.error_message(), HasSubstr("until the node restarts"));
  ASSERT_TRUE(HealthBecomes(HealthCheckResponse::NOT_SERVING));
  failed = AppendLot(1);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << failed.error_message();

  const v1::Head head = Head();  // reads keep working, and say why
  EXPECT_EQ(head.size(), size);
  EXPECT_FALSE(head.health().serving());
  EXPECT_EQ(head.health().code(), "FAILED_PRECONDITION");
  EXPECT_THAT(head.health().reason(), HasSubstr("failed a write"));
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("lodestone_ledger_serving 0"));
  EXPECT_THAT(metrics, HasSubstr("lodestone_ledger_health_code 9"));
}

TEST_F(HealthTest, AFullDiskIsResourceExhaustedAndTheNodeComesBackWithSpace) {
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU")).ok());
  file_system_->SetDiskFull(true);
  const grpc::Status refused = AppendLot(0);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  ASSERT_TRUE(HealthBecomes(HealthCheckResponse::NOT_SERVING));
  EXPECT_EQ(Head().health().code(), "RESOURCE_EXHAUSTED");
  EXPECT_THAT(Metrics(), HasSubstr("lodestone_ledger_health_code 8"));
  EXPECT_EQ(AppendLot(0).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Space returns: the watcher resumes the log with no append needed, then appends work.
  file_system_->SetDiskFull(false);
  ASSERT_TRUE(HealthBecomes(HealthCheckResponse::SERVING));
  EXPECT_TRUE(Head().health().serving());
  const grpc::Status appended = AppendLot(0);
  EXPECT_TRUE(appended.ok()) << appended.error_message();
  EXPECT_THAT(Metrics(), HasSubstr("lodestone_ledger_serving 1"));
}

TEST_F(HealthTest, AStoppedReplicationIsNotServingWithItsReason) {
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU")).ok());
  // What ReplicatedNode::status() says once a follower cannot apply a committed batch.
  SetReplication(absl::DataLossError("batch 12 does not chain onto this node's log"));
  ASSERT_TRUE(HealthBecomes(HealthCheckResponse::NOT_SERVING));
  grpc::Status refused = AppendLot(0);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DATA_LOSS) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("stopped applying"));
  EXPECT_EQ(Head().health().code(), "DATA_LOSS");

  // A replication that stopped for another reason: FAILED_PRECONDITION, never UNAVAILABLE.
  SetReplication(absl::UnavailableError("gap before batch 40"));
  refused = AppendLot(0);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();

  SetReplication(absl::OkStatus());
  ASSERT_TRUE(HealthBecomes(HealthCheckResponse::SERVING));
  EXPECT_TRUE(AppendLot(0).ok());
}

}  // namespace
}  // namespace lodestone::ledger
