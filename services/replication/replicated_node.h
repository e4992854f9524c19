// One ledger node of the distributed mode (docs/replication.md sections 3-7): it campaigns for
// leadership in etcd; as leader it commits every group the ledger hands to
// LedgerOptions::replicate with one fenced etcd Txn; as follower it applies the batches in etcd
// in sequence order. It does not own the Ledger.
//
// etcd keys under P = /lodestone/<cluster>/:
//   P/election            v3election name; the campaign value is "<node_id>\n<advertise_address>"
//   P/sequence            last committed batch sequence, decimal (absent: 0)
//   P/batches/<20 digits> a serialized lodestone.v1.internal.ReplicatedBatch; the sequence is
//                         the key's number (the value carries no header yet)
//
// The ledger calls its replicate hook for ApplyReplicated groups too; the node recognises the
// batch it is applying (same first position, commit time and event ids) and lets it through.
// Limits of this first cut: the applied sequence is in memory (a restarted node re-reads every
// batch and skips those below its log size, unverified); an etcd error on commit is ambiguous
// (the next commit's sequence compare then fails, the node steps down and re-reads); a
// compacted watch is not resumed.
#ifndef LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
#define LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_

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

namespace lodestone::replication {

struct ReplicatedNodeOptions {
  std::string etcd_endpoints;
  std::string cluster = "default";
  std::string node_id;
  std::string advertise_address;
  absl::Duration lease_ttl = absl::Seconds(2);
};

enum class NodeRole { kStopped, kFollower, kLeader };

class ReplicatedNode;

// Lets the ledger's replicate hook exist before the node: the hook forwards to the node set
// here, or fails with UNAVAILABLE while none is. The node sets and clears itself.
class NodeSlot {
 public:
  absl::Status Replicate(const v1::internal::ReplicatedBatch& batch);

 private:
  friend class ReplicatedNode;
  void Set(ReplicatedNode* node);
  std::mutex mu_;  // held during a Replicate call, so clearing waits for it
  ReplicatedNode* node_ = nullptr;
};

class ReplicatedNode {
 public:
  using ReplicateFn = std::function<absl::Status(const v1::internal::ReplicatedBatch&)>;

  // The function to put in LedgerOptions::replicate; `slot` is later given to Create.
  static ReplicateFn ReplicateHook(std::shared_ptr<NodeSlot> slot);

  static absl::StatusOr<std::unique_ptr<ReplicatedNode>> Create(ReplicatedNodeOptions options,
                                                                ledger::Ledger& ledger,
                                                                std::shared_ptr<NodeSlot> slot);
  ~ReplicatedNode();  // Stop()
  ReplicatedNode(const ReplicatedNode&) = delete;
  ReplicatedNode& operator=(const ReplicatedNode&) = delete;

  // Catches up from etcd, starts following and campaigning.
  absl::Status Start();
  // Resigns if leader, revokes the lease, joins every thread. Idempotent.
  void Stop();

  // Called on the ledger's committer thread for every group.
  absl::Status Replicate(const v1::internal::ReplicatedBatch& batch);

  NodeRole role() const;
  std::string leader_address();       // from etcd; empty when unknown
  uint64_t applied_position() const;  // the ledger's log size
  int64_t applied_sequence() const;
  int64_t lease_id() const;     // the current lease (0: none), for tests
  absl::Status status() const;  // non-OK once applying stopped (gap, divergence)

 private:
  ReplicatedNode(ReplicatedNodeOptions options, ledger::Ledger& ledger,
                 std::shared_ptr<NodeSlot> slot, std::unique_ptr<EtcdClient> client);

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

  // Follower thread.
  void FollowLoop();
  void OnWatchEvent(const WatchEvent& event);
  void Follow(const std::optional<WatchEvent>& event);
  // Reads and applies P/batches after the applied sequence (apply_mu_ held); returns the
  // revision of the first page read, or an etcd error.
  absl::StatusOr<int64_t> CatchUp();
  absl::Status ApplyOne(int64_t sequence, const std::string& value);

  const ReplicatedNodeOptions options_;
  ledger::Ledger& ledger_;
  const std::shared_ptr<NodeSlot> slot_;
  const std::unique_ptr<EtcdClient> client_;
  Canceller canceller_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  NodeRole role_ = NodeRole::kStopped;
  std::optional<LeaderKey> leader_key_;
  int64_t applied_sequence_ = 0;
  absl::Status status_;
  bool lease_lost_ = false;
  std::unique_ptr<LeaseKeeper> keeper_;  // touched by the campaign thread and Stop only
  Lease lease_;
  std::deque<WatchEvent> events_;  // bounded by kMaxQueuedEvents; overflow -> resync
  bool resync_ = false;

  std::mutex apply_mu_;  // serialises applies (follower thread, new leader's catch-up)
  std::unique_ptr<Watcher> watcher_;
  std::thread campaign_thread_;
  std::thread follow_thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_REPLICATED_NODE_H_
