// One ledger node of the distributed mode (docs/replication.md): it campaigns for leadership in
// etcd; as leader it commits every group the ledger hands to its replication hook with one
// fenced etcd Txn (resolving ambiguous answers by the batch id), and compacts etcd's window of
// batches once enough nodes hold them; as follower it applies the batches in sequence order,
// and catches up from a peer ledger node, verified, when it is behind the window. It does not
// own the Ledger.
//
// etcd keys under P = /lodestone/<cluster>/:
//   P/election            v3election name; the campaign value is "<node_id>\n<advertise_address>"
//   P/sequence            last committed batch sequence, decimal (absent: 0)
//   P/batches/<20 digits> a serialized lodestone.v1.internal.ReplicatedBatch
//   P/window              a serialized ReplicationWindow (absent: nothing was compacted)
//   P/nodes/<node_id>     a serialized NodeProgress, published by each node after it applies
#ifndef LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
#define LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lodestone/v1/state.pb.h"
#include "services/ledger/ledger.h"
#include "services/replication/etcd_client.h"
#include "services/replication/peer_catch_up.h"
#include "services/replication/replicated_batch.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace lodestone::replication {

// Events for metrics; called on the node's threads (keep it cheap).
class ReplicationObserver {
 public:
  virtual ~ReplicationObserver() = default;
  virtual void OnCommit(absl::Duration etcd_txn, size_t records, size_t bytes) = 0;
  virtual void OnFencingRejection() = 0;
  virtual void OnLeaderChange() = 0;  // the leader this node sees changed
  virtual void OnCatchUpRejection() = 0;
  virtual void OnCompaction(int64_t batches_deleted) = 0;
};

struct ReplicatedNodeOptions {
  std::string etcd_endpoints;
  std::string cluster = "default";
  std::string node_id;
  std::string advertise_address;
  absl::Duration lease_ttl = absl::Seconds(2);
  // Window: etcd drops a batch once `min_durable_copies` nodes report it applied, keeping
  // `window_min_batches` below that point for briefly absent followers.
  int min_durable_copies = 2;
  int64_t window_min_batches = 1000;
  absl::Duration housekeeping_interval = absl::Milliseconds(500);  // progress, compaction
  // How long a leader resolves an ambiguous etcd answer before it steps down.
  absl::Duration commit_resolve_timeout = absl::Seconds(5);
  PeerCatchUpOptions catch_up;
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials;  // null: plaintext
  ReplicationObserver* observer = nullptr;                     // may be null
};

enum class NodeRole { kStopped, kFollower, kLeader, kCatchingUp };
const char* NodeRoleName(NodeRole role);

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

  // Called (through the ledger's hook) on the committer thread for every group: stamps the batch
  // (sequence, batch id, leader) and commits it in etcd. UNAVAILABLE when not the leader or the
  // outcome could not be established (the node then steps down and learns the outcome as a
  // follower).
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

  std::string Key(const std::string& suffix) const;
  std::string BatchKey(int64_t sequence) const;
  std::string NodeValue() const;

  // Campaign thread.
  void CampaignLoop();
  void CampaignOnce();
  bool EnsureLease();
  void DropLease();
  void LeadUntilDeposed();
  bool CatchUpAsNewLeader();
  void StepDown(const std::string& why);
  // After an ambiguous commit: OK if batch `sequence` in etcd is ours, NOT_FOUND if nothing is
  // committed at `sequence` (the Txn may be retried), ABORTED if another batch is.
  absl::Status ResolveCommit(int64_t sequence, const std::string& batch_id, absl::Time deadline);

  // Follower thread.
  void FollowLoop();
  void OnWatchEvent(const WatchEvent& event);
  void Follow(const std::optional<WatchEvent>& event);
  // Reads and applies P/batches after the applied sequence, from a peer first if they are
  // below the window (apply_mu_ held); returns the revision of the first page read.
  absl::StatusOr<int64_t> CatchUp();
  absl::Status CatchUpFromPeers(const v1::internal::ReplicationWindow& window);
  absl::Status ApplyOne(int64_t sequence, const std::string& value);
  // False if this node's own commit has not settled within 10 s (or it is stopping).
  bool WaitForOwnCommit();

  // Housekeeping thread: publishes progress, watches the leader, compacts (leader only).
  void HousekeepingLoop();
  void PublishProgress();
  void ObserveLeader();
  void CheckWatch();
  absl::Status Compact();

  ReplicatedNodeOptions options_;  // identity completed before Start, then constant
  ledger::Ledger& ledger_;
  BatchReplicationHook hook_;
  const std::unique_ptr<EtcdClient> client_;
  Canceller canceller_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  NodeRole role_ = NodeRole::kStopped;
  std::optional<LeaderKey> leader_key_;
  int64_t applied_sequence_ = 0;
  // The leader's own commit: in flight in etcd, then the log size its local write reaches.
  // Applies wait for both (WaitForOwnCommit), so a node that steps down mid-commit never reads
  // a log size its own group is about to change.
  bool commit_in_flight_ = false;
  int64_t own_sequence_ = 0;  // the last batch this node committed as leader
  uint64_t own_write_end_ = 0;
  int64_t committed_sequence_ = 0;
  int64_t window_first_ = 1;
  std::string leader_id_;
  std::string leader_address_;  // cached from the election (housekeeping); empty: ask etcd
  absl::Status status_;
  bool lease_lost_ = false;
  std::unique_ptr<LeaseKeeper> keeper_;  // touched by the campaign thread and Stop only
  Lease lease_;
  std::deque<WatchEvent> events_;  // bounded by kMaxQueuedEvents; overflow -> resync
  bool resync_ = false;
  bool rewatch_ = false;  // the watch seems stuck: the follow thread replaces it
  int64_t published_sequence_ = -1;
  // Watchdog (housekeeping thread): the applied sequence and since when it has been behind.
  int64_t watchdog_sequence_ = -1;
  absl::Time watchdog_since_ = absl::InfiniteFuture();

  std::mutex apply_mu_;  // serialises applies (follower thread, new leader's catch-up)
  std::unique_ptr<Watcher> watcher_;
  std::thread campaign_thread_;
  std::thread follow_thread_;
  std::thread housekeeping_thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
