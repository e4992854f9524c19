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

TEST_F(ReplicatedBatchTest, FollowerRefusesGapsReplaysAndBatchesItCannotApply) {
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
  // A record whose bytes name another event than the record does.
  ReplicatedBatch forged = shipped_[1];
  forged.mutable_records(0)->set_payload(
      lg::LotExtracted("e2", "L2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 10)
          .SerializeAsString());
  EXPECT_EQ(ApplyReplicatedAndWait(*follower_, forged).code(), absl::StatusCode::kDataLoss);
  // Effects that cannot be applied here: the write model does not match the log.
  forged = shipped_[1];
  forged.mutable_records(0)->set_payload(
      lg::LotTransformed("e1", "T1", "m-mine", v1::PROCESS_SMELTING, {{"no-such-lot", 5}},
                         {{"O1", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1}})
          .SerializeAsString());
  forged.mutable_records(0)->set_subject("facility/m-mine");
  EXPECT_EQ(ApplyReplicatedAndWait(*follower_, forged).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(follower_->log().GetHead().size, 2u);  // nothing of the forged batches
  ASSERT_TRUE(ApplyReplicatedAndWait(*follower_, shipped_[1]).ok());
  EXPECT_EQ(follower_->log().GetHead().root, leader_->log().GetHead().root);
}

// The commit was the judgement: batches committed under looser rules (an older build) are
// applied by a follower and replayed by a fresh node although today's rules refuse every one of
// their events, and the write model they leave behind is the one today's appends are judged on.
TEST_F(ReplicatedBatchTest, ACommittedBatchIsNotJudgedAgainByRulesTightenedSince) {
  ASSERT_TRUE(leader_->AppendAndWait(Batch(lg::MineSetup("m", "AU"))).ok());
  ASSERT_TRUE(leader_
                  ->AppendAndWait(Batch({lg::LotExtracted(
                      "e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000)}))
                  .ok());
  for (const auto& batch : shipped_) ASSERT_TRUE(ApplyReplicatedAndWait(*follower_, batch).ok());

  // What an older build accepted: a country code since withdrawn from the accepted list, a
  // registration by an attester that is no registrar (authorization came later), and a partial
  // shipment of a lot (today: split first).
  v1::Event withdrawn_country = lg::PartyRegistered("old-1", "kosovo-co", "XK");
  v1::Event unauthorized =
      lg::FacilityRegistered("old-2", "wh", "m-party", "TH", v1::FACILITY_KIND_WAREHOUSE);
  unauthorized.set_attested_by("intruder");
  v1::Event partial =
      lg::ShipmentDispatched("old-3", "S1", {{"L1", 400}}, "m-mine", "wh", "AU", "261710");
  const std::vector<v1::Event> old_events = {withdrawn_country, unauthorized, partial};
  // Today's rules refuse each of them as a new append.
  EXPECT_EQ(follower_->AppendAndWait(Batch({withdrawn_country})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(follower_->AppendAndWait(Batch({unauthorized})).status().code(),
            absl::StatusCode::kPermissionDenied);
  ledger::CommittedBatch old;
  old.first_position = follower_->log().GetHead().size;
  old.commit_time = absl::FromUnixMicros(1767225600000000);
  for (const auto& e : old_events) {
    old.records.push_back({e.event_id(), e.subject(), e.SerializeAsString()});
  }
  ASSERT_TRUE(follower_->ApplyCommittedAndWait(old).ok());
  EXPECT_EQ(follower_->log().GetHead().size, old.first_position + 3);
  auto stored = follower_->log().ReadRecord(old.first_position + 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->payload, unauthorized.SerializeAsString());  // the committed bytes, as sent

  // A fresh node replays the whole history, group by group, to the same head.
  auto fresh = OpenLedger(dir_.Sub("fresh"), nullptr);
  auto records = follower_->log().ReadAll(0, 1000, 1 << 24);
  ASSERT_TRUE(records.ok());
  for (size_t begin = 0; begin < records->size();) {
    ledger::CommittedBatch group;
    group.first_position = (*records)[begin].position;
    group.commit_time = (*records)[begin].commit_time;
    size_t end = begin;
    for (; end < records->size() && (*records)[end].commit_time == group.commit_time; ++end) {
      const storage::Record& r = (*records)[end];
      group.records.push_back({r.event_id, r.subject, r.payload});
    }
    ASSERT_TRUE(fresh->ApplyCommittedAndWait(std::move(group)).ok()) << "at " << begin;
    begin = end;
  }
  EXPECT_EQ(fresh->log().GetHead().root, follower_->log().GetHead().root);
  EXPECT_EQ(fresh->log().GetHead().chain, follower_->log().GetHead().chain);

  // Both hold the effects: the shipment is in transit to the warehouse, whose registration was
  // applied, so its arrival is accepted by today's rules; the lot cannot be shipped again.
  for (Ledger* node : {follower_.get(), fresh.get()}) {
    EXPECT_EQ(node->AppendAndWait(Batch({lg::ShipmentDispatched("new-1", "S2", {{"L1", 1000}},
                                                                "m-mine", "wh", "AU", "261710")}))
                  .status()
                  .code(),
              absl::StatusCode::kFailedPrecondition);
    auto arrived = node->AppendAndWait(Batch({lg::ShipmentArrived("new-2", "S1", "wh")}));
    EXPECT_TRUE(arrived.ok()) << arrived.status();
  }
}

// Idempotency compares stored bytes, and a retry of an event whose stored bytes another encoder
// wrote (the same fields in another order) is still the same fact, not a conflict.
TEST_F(ReplicatedBatchTest, ARetryOfAnEventStoredInAnotherEncodingIsADuplicate) {
  const std::vector<v1::Event> setup = lg::MineSetup("m", "AU");
  ledger::CommittedBatch committed;
  committed.first_position = 0;
  committed.commit_time = absl::Now();
  for (const auto& e : setup) {
    v1::Event id_only;
    id_only.set_event_id(e.event_id());
    v1::Event rest = e;
    rest.clear_event_id();
    const std::string reordered = rest.SerializeAsString() + id_only.SerializeAsString();
    ASSERT_NE(reordered, codec::DeterministicEventBytes(e));
    committed.records.push_back({e.event_id(), e.subject(), reordered});
  }
  ASSERT_TRUE(follower_->ApplyCommittedAndWait(committed).ok());
  auto retried = follower_->AppendAndWait(Batch(setup));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->duplicate);
  EXPECT_EQ(follower_->log().GetHead().size, setup.size());
  std::vector<v1::Event> changed = setup;
  changed[0].set_actor("someone-else");
  EXPECT_EQ(follower_->AppendAndWait(Batch(changed)).status().code(),
            absl::StatusCode::kAlreadyExists);
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
