#include "services/replication/leader_committer.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lodestone::replication {
namespace {

using v1::internal::ReplicatedBatch;

std::string RandomBatchId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string id(16, '\0');
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t bits = rng();
    for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<char>(bits >> (8 * j));
  }
  return id;
}

}  // namespace

LeaderCommitter::LeaderCommitter(const ReplicatedNodeOptions& options, const NodeKeys& keys,
                                 EtcdClient& client, const ledger::Ledger& ledger, NodeState& state,
                                 KeyFn key, LeaderAddressFn leader_address, StepDownFn step_down)
    : options_(options),
      keys_(keys),
      client_(client),
      ledger_(ledger),
      state_(state),
      key_(std::move(key)),
      leader_address_(std::move(leader_address)),
      step_down_(std::move(step_down)) {}

void LeaderCommitter::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void LeaderCommitter::Settle(bool committed, uint64_t end) {
  std::lock_guard lock(mu_);
  commit_in_flight_ = false;
  if (committed) own_write_end_ = end;
  cv_.notify_all();
}

absl::Status LeaderCommitter::Commit(ReplicatedBatch& batch) {
  LeaderKey key;
  int64_t sequence = 0;
  const NodeState::Snapshot state = state_.Get();
  if (state.role == NodeRole::kLeader) {
    if (std::optional<LeaderKey> current = key_(); current.has_value()) {
      key = *current;
      sequence = state.applied_sequence + 1;
    }
  }
  if (sequence != 0) {
    // The previous batch was this node's own: the log must have grown by it. If it did not,
    // the local write failed after etcd committed (the log must be reopened); committing more
    // would put batches at wrong positions into the shared history. (own_sequence_ and
    // own_write_end_ change only on this thread.)
    int64_t own_sequence = 0;
    uint64_t own_write_end = 0;
    {
      std::lock_guard lock(mu_);
      own_sequence = own_sequence_;
      own_write_end = own_write_end_;
    }
    if (own_sequence == state.applied_sequence && batch.first_position() != own_write_end) {
      return state_.FailLeader(absl::DataLossError(absl::StrCat(
          "the local write of batch ", own_sequence, " failed (log size ", batch.first_position(),
          ", expected ", own_write_end, "): restart the node")));
    }
  }
  if (sequence == 0) {
    return absl::UnavailableError("not the leader; the leader is " + leader_address_());
  }
  {
    std::lock_guard lock(mu_);
    commit_in_flight_ = true;
  }
  batch.set_sequence(sequence);
  batch.set_batch_id(RandomBatchId());
  batch.set_leader_node_id(options_.node_id);
  batch.set_leader_rev(key.rev);
  const std::string value = batch.SerializeAsString();
  const std::string sequence_key = keys_.Sequence();
  const std::vector<Compare> compares = {
      sequence == 1 ? Compare::VersionEquals(sequence_key, 0)
                    : Compare::ValueEquals(sequence_key, std::to_string(sequence - 1))};
  const std::vector<TxnOp> ops = {TxnOp::Put(keys_.Batch(sequence), value),
                                  TxnOp::Put(sequence_key, std::to_string(sequence))};
  const absl::Time deadline = absl::Now() + options_.commit_resolve_timeout;
  for (;;) {
    const absl::Time start = absl::Now();
    auto result = client_.FencedTxn(key, compares, ops);
    if (result.ok() && result->succeeded) {
      if (options_.observer != nullptr) {
        options_.observer->OnCommit(absl::Now() - start, batch.records_size(), value.size());
      }
      break;
    }
    if (!result.ok() && !Retryable(result.status())) {
      Settle(false, 0);
      return result.status();  // refused before it was sent, or by etcd's validation
    }
    // Rejected (the fence or the sequence compare failed; or an earlier attempt of this very
    // batch got in) or ambiguous: find out what is committed at `sequence`.
    const absl::Status resolved = ResolveCommit(sequence, batch.batch_id(), deadline);
    if (resolved.ok()) break;  // ours
    if (absl::IsNotFound(resolved) && !result.ok() && absl::Now() < deadline) continue;
    if (result.ok() && options_.observer != nullptr) options_.observer->OnFencingRejection();
    step_down_(result.ok() ? "fenced commit rejected"
                           : "commit outcome unknown: " + std::string(resolved.message()));
    Settle(false, 0);
    return absl::UnavailableError(
        absl::StrCat("not the leader any more (",
                     result.ok() ? "fencing rejected the commit" : "etcd unreachable", ")"));
  }
  state_.CommittedOwn(sequence);
  {
    std::lock_guard lock(mu_);
    own_sequence_ = sequence;
  }
  Settle(true, batch.first_position() + batch.records_size());
  return absl::OkStatus();
}

bool LeaderCommitter::WaitForOwnCommit() {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return false;
    if (!commit_in_flight_ && ledger_.log().GetHead().size >= own_write_end_) return true;
    if (absl::Now() >= deadline) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(2));
  }
}

absl::Status LeaderCommitter::ResolveCommit(int64_t sequence, const std::string& batch_id,
                                            absl::Time deadline) {
  for (;;) {
    auto got = client_.Get(keys_.Batch(sequence));
    if (got.ok()) {
      ReplicatedBatch committed;
      if (!committed.ParseFromString(got->value)) {
        return absl::DataLossError("batch " + std::to_string(sequence) + " does not parse");
      }
      return committed.batch_id() == batch_id
                 ? absl::OkStatus()
                 : absl::AbortedError("another batch is committed at our sequence");
    }
    if (absl::IsNotFound(got.status())) {
      int64_t committed = 0;
      auto current = client_.Get(keys_.Sequence());
      if (current.ok() && !ParseSequence(current->value, committed)) {
        return absl::DataLossError("P/sequence does not parse");
      }
      if (current.ok() || absl::IsNotFound(current.status())) {
        return committed < sequence ? absl::NotFoundError("nothing committed at our sequence")
                                    : absl::AbortedError("the sequence moved past ours");
      }
      got = current.status();
    }
    if (!Retryable(got.status())) return got.status();
    if (absl::Now() + kRetryPause >= deadline) {
      return absl::DeadlineExceededError("etcd did not answer: " +
                                         std::string(got.status().message()));
    }
    if (state_.SleepUnlessStopping(kRetryPause)) return absl::CancelledError("stopping");
  }
}

}  // namespace lodestone::replication
