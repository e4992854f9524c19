// The replication side of the ledger's hook (docs/replication.md sections 3-5): a commit group
// becomes a lodestone.v1.internal.ReplicatedBatch (one etcd value), a committed batch becomes
// the ledger's CommittedBatch, and the sequence of the last applied batch is kept in the log's
// state, written atomically with the batch's records.
#ifndef LODESTONE_SERVICES_REPLICATION_REPLICATED_BATCH_H_
#define LODESTONE_SERVICES_REPLICATION_REPLICATED_BATCH_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lodestone/v1/state.pb.h"
#include "services/ledger/ledger.h"
#include "storage/log.h"

namespace lodestone::replication {

// The state key of the last applied batch sequence (decimal); outside the write model's key
// spaces (one letter and a slash). On disk since the first distributed build: never change it.
inline constexpr std::string_view kSequenceStateKey = "~replication/sequence";

// The batch a group's staged records make (no sequence, batch id or leader yet).
v1::internal::ReplicatedBatch BatchFromGroup(const storage::Txn& txn, absl::Time commit_time);

// The ledger's form of a committed batch: its records, and its `sequence` (if any) as the
// state written with them.
ledger::CommittedBatch ToCommittedBatch(v1::internal::ReplicatedBatch batch);

// Applies a batch another node committed (Ledger::ApplyCommitted). `done` runs once.
void ApplyReplicated(ledger::Ledger& ledger, v1::internal::ReplicatedBatch batch,
                     std::function<void(absl::Status)> done);
absl::Status ApplyReplicatedAndWait(ledger::Ledger& ledger, v1::internal::ReplicatedBatch batch);

// The `sequence` of the last applied batch that carried one (0: none).
absl::StatusOr<int64_t> AppliedSequence(const storage::Log& log);

// The ledger's hook over a function of ReplicatedBatch: builds the batch from the group, calls
// `replicate` (which may set the batch's `sequence`, e.g. after a fenced etcd commit), and
// stages that sequence with the group. The group is written only if `replicate` returns OK.
class BatchReplicationHook final : public ledger::ReplicationHook {
 public:
  using ReplicateFn = std::function<absl::Status(v1::internal::ReplicatedBatch&)>;
  explicit BatchReplicationHook(ReplicateFn replicate) : replicate_(std::move(replicate)) {}

  absl::Status BeforeCommit(storage::Txn& txn, absl::Time commit_time) override;

 private:
  const ReplicateFn replicate_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_REPLICATED_BATCH_H_
