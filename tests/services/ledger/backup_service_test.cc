// LedgerService.Backup over mutual TLS on a real server on port 0: nodes and the
// administrator back the ledger up, a party may not, a caller without identity is
// UNAUTHENTICATED, a node without a backup directory says so; the backup restores.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_service.h"
#include "services/loadgen/workload.h"
#include "services/rpc/identity.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "storage/backup.h"
#include "tests/services/rpc/party_credentials.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::ledger {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;

grpc::Status Backup(v1::LedgerService::Stub& stub, v1::BackupResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return stub.Backup(&context, v1::BackupRequest(), response);
}

TEST(BackupServiceTest, NodesAndTheAdministratorBackUpPartiesMayNot) {
  testing::TempDir dir;
  std::string error;
  testing::TestPki pki;
  ASSERT_TRUE(testing::MakeTestPki(dir.path(), &pki, &error)) << error;
  auto tls = rpc::ProgramTransportFromFlags({pki.server_cert, pki.server_key, pki.ca_cert});
  ASSERT_TRUE(tls.ok()) << tls.status();
  auto identity = rpc::ProgramIdentityOptions(true, "loopback");
  ASSERT_TRUE(identity.ok());
  LedgerOptions options;
  options.log.path = dir.Sub("ledger");
  options.log.sync = false;
  options.authority.admin_party = "adm";
  auto ledger = Ledger::Open(options);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  std::vector<domain::Event> world;
  for (const auto& event : lg::MineSetup("m", "AU")) {
    auto converted = codec::EventFromProto(event);
    ASSERT_TRUE(converted.ok()) << converted.status();
    world.push_back(*std::move(converted));
  }
  ASSERT_TRUE((*ledger)->AppendAndWait({world, {}, "adm"}).ok());
  const storage::Head head = (*ledger)->log().GetHead();

  auto runner = storage::BackupRunner::ForLog((*ledger)->log(),
                                              {.directory = dir.Sub("backups"), .max_kept = 2});
  LedgerServiceImpl service(**ledger, nullptr);
  service.RequireAttestation(*identity);
  service.EnableBackups(runner.get());
  LedgerServiceImpl no_backups(**ledger, nullptr);  // a node started without --backup_dir
  no_backups.RequireAttestation(*identity);
  auto server = rpc::StartServer("127.0.0.1:0", {&service}, {}, {tls->server, ""});
  ASSERT_TRUE(server.ok()) << server.status();
  auto other = rpc::StartServer("127.0.0.1:0", {&no_backups}, {}, {tls->server, ""});
  ASSERT_TRUE(other.ok()) << other.status();
  auto stub_for = [&](int port, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    return v1::LedgerService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), credentials));
  };

  v1::BackupResponse response;
  auto admin = stub_for(server->port, testing::PartyCredentials(pki, "adm", 4001));
  grpc::Status status = Backup(*admin, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.backup_id(), 1u);
  EXPECT_EQ(response.min_log_size(), head.size);
  EXPECT_GT(response.size_bytes(), 0u);
  EXPECT_EQ(response.backups_kept(), 1u);

  auto node = stub_for(server->port,
                       testing::IdentityCredentials(pki, "node-n2", "urn:lodestone:node:n2", 4002));
  status = Backup(*node, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.backup_id(), 2u);

  auto party = stub_for(server->port, testing::PartyCredentials(pki, "m-party", 4003));
  status = Backup(*party, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("nodes and the administrator"));
  auto anonymous = stub_for(server->port, testing::AnonymousCredentials(pki));
  EXPECT_EQ(Backup(*anonymous, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto admin_elsewhere = stub_for(other->port, testing::PartyCredentials(pki, "adm", 4004));
  status = Backup(*admin_elsewhere, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("--backup_dir"));

  // What the RPC wrote restores and verifies, with the head it was taken at.
  auto restored = storage::RestoreLog(dir.Sub("backups"), 1, {.path = dir.Sub("restored")});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->head.size, head.size);
  EXPECT_EQ(restored->head.root, head.root);

  service.Shutdown();
  no_backups.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  other->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  runner->Stop();
}

}  // namespace
}  // namespace lodestone::ledger
