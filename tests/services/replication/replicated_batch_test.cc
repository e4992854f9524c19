// The replication building block of the distributed mode: every group the leader commits is
// shipped as a batch; a follower re-applies it through the same rules with the leader's commit
// time and ends with the same positions, events, hash chain and Merkle root.
#include "services/replication/replicated_batch.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <vector>

#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/loadgen/workload.h"
#include "tests/support/temp_dir.h"

namespace lodestone::replication {
namespace {

namespace lg = ::lodestone::loadgen;
using ledger::AppendBatch;
using ledger::Ledger;
using ledger::LedgerOptions;
using v1::internal::ReplicatedBatch;

AppendBatch Batch(std::vector<v1::Event> events) {
  AppendBatch batch;
  for (const auto& e : events) batch.events.push_back(*codec::EventFromProto(e));
  return batch;
}

// `hook` null: a local ledger (a follower).
std::unique_ptr<Ledger> OpenLedger(const std::string& path, BatchReplicationHook* hook) {
  LedgerOptions options;
  options.log.path = path;
  options.log.sync = false;
  options.replicated = hook != nullptr;
  auto ledger = Ledger::Open(options);
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  if (hook != nullptr) {
    EXPECT_TRUE((*ledger)->SetReplicationHook(hook).ok());
  }
  return *std::move(ledger);
}

class ReplicatedBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hook_ = std::make_unique<BatchReplicationHook>([this](ReplicatedBatch& batch) {
      std::lock_guard lock(mu_);
      if (!fail_next_.ok()) return std::exchange(fail_next_, absl::OkStatus());
      shipped_.push_back(batch);
      return absl::OkStatus();
    });
    leader_ = OpenLedger(dir_.Sub("leader"), hook_.get());
    follower_ = OpenLedger(dir_.Sub("follower"), nullptr);
  }

  testing::TempDir dir_;
  std::unique_ptr<BatchReplicationHook> hook_;
  std::mutex mu_;
  std::vector<ReplicatedBatch> shipped_;
  absl::Status fail_next_;
  std::unique_ptr<Ledger> leader_;
  std::unique_ptr<Ledger> follower_;
};

TEST_F(ReplicatedBatchTest, FollowerApplyingShippedBatchesHasTheLeadersLogToTheByte) {
  ASSERT_TRUE(leader_->AppendAndWait(Batch(lg::MineSetup("m", "AU"))).ok());
  ASSERT_TRUE(leader_
                  ->AppendAndWait(Batch({lg::FacilityRegistered("e-wh", "wh", "m-party", "TH",
                                                                v1::FACILITY_KIND_WAREHOUSE)}))
                  .ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(leader_
                    ->AppendAndWait(Batch(
                        {lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                                          v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)}))
                    .ok());
  }
  ASSERT_TRUE(
      leader_
          ->AppendAndWait(Batch(
              {lg::LotTransformed("t1", "T1", "m-mine", v1::PROCESS_SMELTING,
                                  {{"L0", 1000}, {"L1", 1001}},
                                  {{"O1", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1500}}),
               lg::ShipmentDispatched("d1", "S1", {{"O1", 1500}}, "m-mine", "wh", "AU", "282580"),
               lg::ShipmentArrived("a1", "S1", "wh")}))
          .ok());
  // A rejected append ships nothing; a retried one neither.
  EXPECT_FALSE(leader_
                   ->AppendAndWait(Batch({lg::LotTransformed(
                       "t2", "T2", "m-mine", v1::PROCESS_SMELTING, {{"L2", 5000}},
                       {{"O2", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1}})}))
                   .ok());
  auto retried = leader_->AppendAndWait(
      Batch({lg::LotExtracted("e3", "L3", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1003)}));
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(retried->duplicate);
  // A retraction with its correction.
  ASSERT_TRUE(
      leader_
          ->AppendAndWait(Batch(
              {lg::EventRetracted("x4", "lot/L4", "e4"),
               lg::LotExtracted("e4b", "L4", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 2000)}))
          .ok());

  std::vector<ReplicatedBatch> batches;
  {
    std::lock_guard lock(mu_);
    batches = shipped_;
  }
  ASSERT_EQ(batches.size(), 24u);  // one per accepted append; none for the rejected or the retry
  for (const auto& batch : batches) {
    ASSERT_TRUE(ApplyReplicatedAndWait(*follower_, batch).ok());
  }
  const storage::Head leader = leader_->log().GetHead();
  const storage::Head follower = follower_->log().GetHead();
  EXPECT_EQ(follower.size, leader.size);
  EXPECT_EQ(follower.root, leader.root);
  EXPECT_EQ(follower.chain, leader.chain);
  EXPECT_EQ(follower.time, leader.time);
  auto a = leader_->log().ReadAll(0, 1000, 1 << 24);
  auto b = follower_->log().ReadAll(0, 1000, 1 << 24);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].payload, (*b)[i].payload);
    EXPECT_EQ((*a)[i].stream_version, (*b)[i].stream_version);
    EXPECT_EQ((*a)[i].commit_time, (*b)[i].commit_time);
  }
  // The follower's write model followed too: the corrected lot holds its new mass.
  auto over = follower_->AppendAndWait(
      Batch({lg::LotTransformed("t9", "T9", "m-mine", v1::PROCESS_SMELTING, {{"L4", 2001}},
                                {{"O9", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1}})}));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReplicatedBatchTest, FollowerRefusesGapsReplaysAndBatchesItsRulesReject) {
  ASSERT_TRUE(leader_->AppendAndWait(Batch(lg::MineSetup("m", "AU"))).ok());
  ASSERT_TRUE(leader_
                  ->AppendAndWait(Batch({lg::LotExtracted(
                      "e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 10)}))
                  .ok());
  ASSERT_EQ(shipped_.size(), 2u);
  EXPECT_EQ(ApplyReplicatedAndWait(*follower_, shipped_[1]).code(),
            absl::StatusCode::kFailedPrecondition);  // a gap
  ASSERT_TRUE(ApplyReplicatedAndWait(*follower_, shipped_[0]).ok());
  EXPECT_EQ(ApplyReplicatedAndWait(*follower_, shipped_[0]).code(),
            absl::StatusCode::kFailedPrecondition);  // a replay
  ReplicatedBatch forged = shipped_[1];
  v1::Event event =
      lg::LotExtracted("e1", "L1", "no-such-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 10);
  forged.mutable_records(0)->set_payload(event.SerializeAsString());
  EXPECT_EQ(ApplyReplicatedAndWait(*follower_, forged).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(follower_->log().GetHead().size, 2u);  // nothing of the forged batch
  ASSERT_TRUE(ApplyReplicatedAndWait(*follower_, shipped_[1]).ok());
  EXPECT_EQ(follower_->log().GetHead().root, leader_->log().GetHead().root);
}

TEST_F(ReplicatedBatchTest, AGroupThatCannotBeReplicatedIsNotAcknowledgedNorWritten) {
  ASSERT_TRUE(leader_->AppendAndWait(Batch(lg::MineSetup("m", "AU"))).ok());
  {
    std::lock_guard lock(mu_);
    fail_next_ = absl::UnavailableError("fenced: no longer the leader");
  }
  auto outcome = leader_->AppendAndWait(
      Batch({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 10)}));
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(leader_->log().GetHead().size, 2u);
  // The same append succeeds once replication works again.
  ASSERT_TRUE(leader_
                  ->AppendAndWait(Batch({lg::LotExtracted(
                      "e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 10)}))
                  .ok());
  EXPECT_EQ(leader_->log().GetHead().size, 3u);
}

}  // namespace
}  // namespace lodestone::replication
