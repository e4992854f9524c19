#include "services/replication/replicated_batch.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lodestone::replication {
namespace {

void StageSequence(storage::Txn& txn, const v1::internal::ReplicatedBatch& batch) {
  if (batch.sequence() > 0) {
    txn.PutState(kSequenceStateKey, std::to_string(batch.sequence()));
  }
}

}  // namespace

v1::internal::ReplicatedBatch BatchFromGroup(const storage::Txn& txn, absl::Time commit_time) {
  v1::internal::ReplicatedBatch batch;
  batch.set_first_position(txn.base_position());
  batch.set_commit_time_micros(absl::ToUnixMicros(commit_time));
  for (auto& record : txn.StagedRecords()) {
    auto* out = batch.add_records();
    out->set_event_id(std::move(record.event_id));
    out->set_subject(std::move(record.subject));
    out->set_payload(std::move(record.payload));
  }
  return batch;
}

ledger::CommittedBatch ToCommittedBatch(v1::internal::ReplicatedBatch batch) {
  ledger::CommittedBatch out;
  out.first_position = batch.first_position();
  out.commit_time = absl::FromUnixMicros(batch.commit_time_micros());
  out.records.reserve(batch.records_size());
  for (auto& record : *batch.mutable_records()) {
    out.records.push_back({std::move(*record.mutable_event_id()),
                           std::move(*record.mutable_subject()),
                           std::move(*record.mutable_payload())});
  }
  if (batch.sequence() > 0) {
    out.state.emplace_back(std::string(kSequenceStateKey), std::to_string(batch.sequence()));
  }
  return out;
}

void ApplyReplicated(ledger::Ledger& ledger, v1::internal::ReplicatedBatch batch,
                     std::function<void(absl::Status)> done) {
  ledger.ApplyCommitted(ToCommittedBatch(std::move(batch)), std::move(done));
}

absl::Status ApplyReplicatedAndWait(ledger::Ledger& ledger, v1::internal::ReplicatedBatch batch) {
  return ledger.ApplyCommittedAndWait(ToCommittedBatch(std::move(batch)));
}

absl::StatusOr<int64_t> AppliedSequence(const storage::Log& log) {
  auto value = log.GetState(kSequenceStateKey);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return 0;
  int64_t sequence = 0;
  if (!absl::SimpleAtoi(**value, &sequence) || sequence < 0) {
    return absl::DataLossError(absl::StrCat("bad replication sequence '", **value, "'"));
  }
  return sequence;
}

absl::Status BatchReplicationHook::BeforeCommit(storage::Txn& txn, absl::Time commit_time) {
  v1::internal::ReplicatedBatch batch = BatchFromGroup(txn, commit_time);
  if (auto status = replicate_(batch); !status.ok()) return status;
  StageSequence(txn, batch);
  return absl::OkStatus();
}

}  // namespace lodestone::replication
