#include "services/replication/window_compactor.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "lodestone/v1/state.pb.h"
#include "storage/merkle.h"

namespace lodestone::replication {

using v1::internal::NodeProgress;
using v1::internal::ReplicatedBatch;
using v1::internal::ReplicationWindow;

std::optional<int64_t> CompactionCut(std::vector<int64_t> applied_sequences,
                                     const CompactionPolicy& policy, int64_t window_first,
                                     int64_t own_applied_sequence) {
  if (policy.min_durable_copies < 1 ||
      applied_sequences.size() < static_cast<size_t>(policy.min_durable_copies)) {
    return std::nullopt;
  }
  std::sort(applied_sequences.begin(), applied_sequences.end(), std::greater<int64_t>());
  const int64_t cut = applied_sequences[policy.min_durable_copies - 1] - policy.window_min_batches;
  if (cut < window_first || cut + 1 > own_applied_sequence) return std::nullopt;
  return cut;
}

WindowCompactor::WindowCompactor(CompactionPolicy policy, ReplicationObserver* observer,
                                 const NodeKeys& keys, EtcdClient& client,
                                 const ledger::Ledger& ledger, NodeState& state, KeyFn key,
                                 StepDownFn step_down)
    : policy_(policy),
      observer_(observer),
      keys_(keys),
      client_(client),
      ledger_(ledger),
      state_(state),
      key_(std::move(key)),
      step_down_(std::move(step_down)) {}

absl::Status WindowCompactor::Compact() {
  auto listing = client_.GetPrefix(keys_.Nodes(), kMaxPageKeys, "");
  if (!listing.ok()) return listing.status();
  std::vector<int64_t> applied;
  for (const KeyValue& kv : listing->kvs) {
    NodeProgress progress;
    if (progress.ParseFromString(kv.value)) applied.push_back(progress.applied_sequence());
  }
  if (applied.size() < static_cast<size_t>(policy_.min_durable_copies)) return absl::OkStatus();
  int64_t first = 1;
  if (auto value = client_.Get(keys_.Window()); value.ok()) {
    ReplicationWindow window;
    if (!window.ParseFromString(value->value)) return absl::DataLossError("P/window");
    first = window.first_sequence();
  } else if (!absl::IsNotFound(value.status())) {
    return value.status();
  }
  const std::optional<LeaderKey> key = key_();
  const int64_t own = state_.applied_sequence();
  state_.SetWindowFirst(first);
  const std::optional<int64_t> cut = CompactionCut(std::move(applied), policy_, first, own);
  if (!cut.has_value() || !key.has_value()) return absl::OkStatus();
  auto next = client_.Get(keys_.Batch(*cut + 1));
  if (!next.ok()) return next.status();
  ReplicatedBatch batch;
  if (!batch.ParseFromString(next->value)) return absl::DataLossError("batch does not parse");
  const uint64_t m = batch.first_position();
  auto root = ledger_.log().RootAt(m);
  if (!root.ok()) return root.status();
  storage::Hash chain{};
  if (m > 0) {
    auto record = ledger_.log().ReadRecord(m - 1);
    if (!record.ok()) return record.status();
    chain = record->chain;
  }
  ReplicationWindow window;
  window.set_first_sequence(*cut + 1);
  window.set_first_position(m);
  window.set_root_before(std::string(root->begin(), root->end()));
  window.set_prev_chain(std::string(chain.begin(), chain.end()));
  auto result = client_.FencedTxn(*key, {},
                                  {TxnOp::Put(keys_.Window(), window.SerializeAsString()),
                                   TxnOp::DeleteRange(keys_.Batch(first), keys_.Batch(*cut + 1))});
  if (!result.ok()) return result.status();
  if (!result->succeeded) {
    if (observer_ != nullptr) observer_->OnFencingRejection();
    step_down_("fenced compaction rejected");
    return absl::OkStatus();
  }
  state_.SetWindowFirst(*cut + 1);
  if (observer_ != nullptr) observer_->OnCompaction(*cut + 1 - first);
  if (auto status = client_.Compact(result->revision);
      !status.ok() && !absl::IsOutOfRange(status)) {
    return status;
  }
  return absl::OkStatus();
}

}  // namespace lodestone::replication
