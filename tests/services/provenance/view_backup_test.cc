// Backups of the views (ProvenanceService.BackupViews) while the ledger grows: a store restored
// from one opens at its checkpoint, resumes folding there, and answers as the original replica.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "storage/backup.h"
#include "tests/services/provenance/provenance_fixture.h"

namespace lodestone::provenance {
namespace {

using google::protobuf::util::MessageDifferencer;

class ViewBackupTest : public ProvenanceTest {
 protected:
  void SetUp() override {
    ProvenanceTest::SetUp();
    StopNode();  // the fixture's node has no backups
    StartNode("views", {}, dir_.Sub("backups"));
  }

  grpc::Status BackupViews(v1::BackupViewsResponse* response) {
    grpc::ClientContext context;
    return stub_->BackupViews(&context, v1::BackupViewsRequest(), response);
  }
};

TEST_F(ViewBackupTest, RestoredViewsResumeFromTheirCheckpointAndEqualTheOriginal) {
  Facility("m-mine", "AU", v1::FACILITY_KIND_MINE);
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("m-smelter", "AU", v1::FACILITY_KIND_SMELTER);
  MixedHistory(0);
  AppendDemo();
  WaitCaughtUp();
  const uint64_t backed_up_at = LogSize();
  v1::BackupViewsResponse backup;
  grpc::Status status = BackupViews(&backup);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(backup.backup_id(), 1u);
  EXPECT_EQ(backup.min_checkpoint(), backed_up_at);
  EXPECT_GT(backup.size_bytes(), 0u);
  EXPECT_EQ(backup.backups_kept(), 1u);

  // The ledger grows after the backup: the restored views must fold the rest.
  for (int round = 1; round < 4; ++round) MixedHistory(round);
  WaitCaughtUp();
  const v1::Lot blend = GetLot("r3-blend");
  StopNode();

  storage::KvOptions options;
  options.path = dir_.Sub("restored");
  auto restored = storage::RestoreKvStore(dir_.Sub("backups"), 0, options);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->min_checkpoint, backed_up_at);

  StartNode("restored");
  WaitCaughtUp();
  EXPECT_TRUE(MessageDifferencer::Equals(GetLot("r3-blend"), blend));
  StopNode();
  // Byte for byte the views of the replica that never stopped.
  const auto original = DumpViews("views");
  const auto resumed = DumpViews("restored");
  ASSERT_FALSE(original.empty());
  EXPECT_EQ(resumed.size(), original.size());
  EXPECT_TRUE(resumed == original) << "restored-and-resumed views differ from the original";
}

TEST_F(ViewBackupTest, RestoredStoreOpensAtItsCheckpointNotAtZero) {
  AppendDemo();
  WaitCaughtUp();
  v1::BackupViewsResponse backup;
  ASSERT_TRUE(BackupViews(&backup).ok());
  StopNode();
  storage::KvOptions options;
  options.path = dir_.Sub("restored");
  ASSERT_TRUE(storage::RestoreKvStore(dir_.Sub("backups"), 0, options).ok());
  NodeOptions node_options;
  node_options.store.path = options.path;
  auto node = ProvenanceNode::Open(
      node_options,
      std::make_unique<LocalLogSource>(
          ledger_->log(),
          [this](std::function<void()> wake) { return ledger_->WakeOnCommit(std::move(wake)); },
          ledger_->options().late_after));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)->runner().applied_position(), backup.min_checkpoint());
}

TEST_F(ViewBackupTest, RefusedWithoutABackupDirectory) {
  StopNode();
  StartNode("views");  // no backup directory
  v1::BackupViewsResponse backup;
  grpc::Status status = BackupViews(&backup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
}

}  // namespace
}  // namespace lodestone::provenance
