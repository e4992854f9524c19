// One ledger node of the distributed mode (docs/replication.md): it campaigns for leadership in
// etcd; as leader it commits every group the ledger hands to its replication hook with one
// fenced etcd Txn (resolving ambiguous answers by the batch id), and compacts etcd's window of
// batches once enough nodes hold them; as follower it applies the batches in sequence order,
// and catches up from a peer ledger node, verified, when it is behind the window. It does not
// own the Ledger.
//
// It composes four units, each with its own state and lock, sharing NodeState (role,
// sequences): LeaderCommitter (leader_committer.h), Campaign (campaign.h), FollowerApplier
// (follower_applier.h) and WindowCompactor (window_compactor.h); its housekeeping thread
// publishes progress, observes the leader, watches the watch and compacts.
//
// etcd keys under P = /lodestone/<cluster>/:
//   P/election            v3election name; the campaign value is "<node_id>\n<advertise_address>"
//   P/sequence            last committed batch sequence, decimal (absent: 0)
//   P/batches/<20 digits> a serialized lodestone.v1.internal.ReplicatedBatch
//   P/window              a serialized ReplicationWindow (absent: nothing was compacted)
//   P/nodes/<node_id>     a serialized NodeProgress, published by each node after it applies
#ifndef LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
#define LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lodestone/v1/state.pb.h"
#include "services/ledger/ledger.h"
#include "services/replication/campaign.h"
#include "services/replication/etcd_client.h"
#include "services/replication/follower_applier.h"
#include "services/replication/leader_committer.h"
#include "services/replication/node_common.h"
#include "services/replication/node_state.h"
#include "services/replication/peer_catch_up.h"
#include "services/replication/replicated_batch.h"
#include "services/replication/window_compactor.h"

namespace lodestone::replication {

struct ReplicationStatus {
  NodeRole role = NodeRole::kStopped;
  std::string leader_id;           // as last seen in etcd; empty when none
  int64_t applied_sequence = 0;    // last batch applied here
  int64_t committed_sequence = 0;  // P/sequence as last seen
  int64_t window_first = 1;        // oldest batch etcd holds, as last seen
};

class ReplicatedNode {
 public:
  // `ledger` must be opened with LedgerOptions::replicated and outlive the node. The node id
  // and the advertise address may be left empty until SetAdvertiseAddress.
  static absl::StatusOr<std::unique_ptr<ReplicatedNode>> Create(ReplicatedNodeOptions options,
                                                                ledger::Ledger& ledger);
  ~ReplicatedNode();  // Stop()
  ReplicatedNode(const ReplicatedNode&) = delete;
  ReplicatedNode& operator=(const ReplicatedNode&) = delete;

  // For a program that binds its port after creating the node: the address other nodes reach
  // this one at, and its node id if none was given. Before Start only.
  absl::Status SetAdvertiseAddress(std::string address);

  // Reads the applied sequence from the ledger, sets itself as the ledger's replication hook,
  // catches up from etcd (or a peer), starts following, campaigning and housekeeping. Serves
  // reads even while etcd is unreachable.
  absl::Status Start();
  // Clears the ledger's hook, resigns if leader, revokes the lease, joins every thread.
  // Idempotent.
  void Stop();

  // Called (through the ledger's hook) on the committer thread for every group: stamps the
  // batch (sequence, batch id, leader) and commits it in etcd. UNAVAILABLE when not the leader
  // or the outcome could not be established (the node then steps down and learns the outcome
  // as a follower).
  absl::Status Replicate(v1::internal::ReplicatedBatch& batch);

  NodeRole role() const;
  const std::string& node_id() const { return options_.node_id; }
  std::string leader_address();       // cached from etcd's election; empty when unknown
  uint64_t applied_position() const;  // the ledger's log size
  int64_t applied_sequence() const;
  ReplicationStatus GetStatus() const;
  int64_t lease_id() const;     // the current lease (0: none), for tests
  absl::Status status() const;  // non-OK once applying stopped (divergence)

 private:
  ReplicatedNode(ReplicatedNodeOptions options, ledger::Ledger& ledger,
                 std::unique_ptr<EtcdClient> client);

  void StepDown(const std::string& why);  // leader -> follower, re-read from etcd

  // Housekeeping thread: publishes progress, observes the leader, checks the watch, compacts
  // (leader only).
  void HousekeepingLoop();
  void PublishProgress();

  ReplicatedNodeOptions options_;  // identity completed before Start, then constant
  ledger::Ledger& ledger_;
  const NodeKeys keys_;
  const std::unique_ptr<EtcdClient> client_;
  BatchReplicationHook hook_;
  NodeState state_;
  LeaderCommitter committer_;
  FollowerApplier follower_;
  Campaign campaign_;
  WindowCompactor compactor_;
  int64_t published_sequence_ = -1;  // housekeeping thread only
  std::thread housekeeping_thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
