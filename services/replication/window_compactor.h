// Window compaction (docs/replication.md section 8): the leader drops from etcd the batches
// enough nodes have made durable, after writing the trust anchors (P/window) a node behind the
// window verifies a peer's records against.
#ifndef LODESTONE_SERVICES_REPLICATION_WINDOW_COMPACTOR_H_
#define LODESTONE_SERVICES_REPLICATION_WINDOW_COMPACTOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/ledger/ledger.h"
#include "services/replication/etcd_client.h"
#include "services/replication/node_common.h"
#include "services/replication/node_state.h"

namespace lodestone::replication {

struct CompactionPolicy {
  int min_durable_copies = 2;         // nodes that must have applied a batch before it may go
  int64_t window_min_batches = 1000;  // kept below that point, for briefly absent followers
};

// The compaction cut: the last batch sequence etcd may drop, given the applied sequences the
// nodes published, the window's first sequence and the leader's own applied sequence. Batches
// [window_first, cut] may go and the window then starts at cut + 1, which the leader must have
// applied itself (it anchors the window there). nullopt: nothing may go (fewer nodes than
// min_durable_copies, or the durable point minus window_min_batches is below window_first).
std::optional<int64_t> CompactionCut(std::vector<int64_t> applied_sequences,
                                     const CompactionPolicy& policy, int64_t window_first,
                                     int64_t own_applied_sequence);

class WindowCompactor {
 public:
  using KeyFn = std::function<std::optional<LeaderKey>()>;
  using StepDownFn = std::function<void(const std::string& why)>;

  WindowCompactor(CompactionPolicy policy, ReplicationObserver* observer, const NodeKeys& keys,
                  EtcdClient& client, const ledger::Ledger& ledger, NodeState& state, KeyFn key,
                  StepDownFn step_down);

  // One round, on the housekeeping thread while leader. A fenced rejection steps down.
  absl::Status Compact();

 private:
  const CompactionPolicy policy_;
  ReplicationObserver* const observer_;
  const NodeKeys& keys_;
  EtcdClient& client_;
  const ledger::Ledger& ledger_;
  NodeState& state_;
  const KeyFn key_;
  const StepDownFn step_down_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_WINDOW_COMPACTOR_H_
