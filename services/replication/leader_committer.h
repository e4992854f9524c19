// The leader's commit (docs/replication.md section 5): every group the ledger hands to the hook
// becomes one fenced etcd Txn at the next sequence; an ambiguous answer is resolved by the
// batch id before the leader steps down. It also tracks the leader's own commit until its
// local write lands, so that applies never read a log size that write is about to change.
#ifndef LODESTONE_SERVICES_REPLICATION_LEADER_COMMITTER_H_
#define LODESTONE_SERVICES_REPLICATION_LEADER_COMMITTER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lodestone/v1/state.pb.h"
#include "services/ledger/ledger.h"
#include "services/replication/etcd_client.h"
#include "services/replication/node_common.h"
#include "services/replication/node_state.h"

namespace lodestone::replication {

class LeaderCommitter {
 public:
  // The current campaign key (nullopt: none); the leader's address for error messages; the
  // node's step-down (role and resync).
  using KeyFn = std::function<std::optional<LeaderKey>()>;
  using LeaderAddressFn = std::function<std::string()>;
  using StepDownFn = std::function<void(const std::string& why)>;

  LeaderCommitter(const ReplicatedNodeOptions& options, const NodeKeys& keys, EtcdClient& client,
                  const ledger::Ledger& ledger, NodeState& state, KeyFn key,
                  LeaderAddressFn leader_address, StepDownFn step_down);

  // On the ledger's committer thread: stamps the batch (sequence, batch id, leader) and commits
  // it in etcd. UNAVAILABLE when not the leader or the outcome could not be established (the
  // node then steps down and learns the outcome as a follower).
  absl::Status Commit(v1::internal::ReplicatedBatch& batch);

  // False if this node's own commit has not settled within 10 s (or it is stopping).
  bool WaitForOwnCommit();

  void Stop();  // wakes WaitForOwnCommit

 private:
  // After an ambiguous commit: OK if batch `sequence` in etcd is ours, NOT_FOUND if nothing is
  // committed at `sequence` (the Txn may be retried), ABORTED if another batch is.
  absl::Status ResolveCommit(int64_t sequence, const std::string& batch_id, absl::Time deadline);
  void Settle(bool committed, uint64_t end);

  const ReplicatedNodeOptions& options_;  // identity complete before Start
  const NodeKeys& keys_;
  EtcdClient& client_;
  const ledger::Ledger& ledger_;
  NodeState& state_;
  const KeyFn key_;
  const LeaderAddressFn leader_address_;
  const StepDownFn step_down_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  // The leader's own commit: in flight in etcd, then the log size its local write reaches.
  bool commit_in_flight_ = false;
  int64_t own_sequence_ = 0;  // the last batch this node committed as leader
  uint64_t own_write_end_ = 0;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_LEADER_COMMITTER_H_
