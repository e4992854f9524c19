// The follower (docs/replication.md sections 6 and 8): watches P/batches and applies them in
// sequence order through the ledger's rules; re-reads from etcd after a gap, an overflowing
// watch queue or a stalled watch; catches up from a peer, verified, when the next batch is
// below etcd's window. Owns the watcher, its event queue and the apply lock.
#ifndef LODESTONE_SERVICES_REPLICATION_FOLLOWER_APPLIER_H_
#define LODESTONE_SERVICES_REPLICATION_FOLLOWER_APPLIER_H_

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
#include "services/replication/node_common.h"
#include "services/replication/node_state.h"
#include "services/replication/peer_catch_up.h"

namespace lodestone::replication {

class FollowerApplier {
 public:
  // False if this node's own commit as leader has not settled (LeaderCommitter).
  using WaitForOwnCommitFn = std::function<bool()>;

  FollowerApplier(const ReplicatedNodeOptions& options, const NodeKeys& keys, EtcdClient& client,
                  ledger::Ledger& ledger, NodeState& state, WaitForOwnCommitFn wait_for_own_commit);
  ~FollowerApplier();  // Join()

  // Serialises applies (the follow thread, the initial catch-up, a new leader's catch-up).
  std::unique_lock<std::mutex> LockApply() { return std::unique_lock(apply_mu_); }
  // Reads and applies P/batches after the applied sequence, from a peer first if they are
  // below the window (LockApply held); returns the revision of the first page read.
  absl::StatusOr<int64_t> CatchUp();

  // Watches P/batches from `revision` (0: from now) and starts the follow thread.
  void Start(int64_t revision);
  void Stop();  // wakes the follow thread and the watcher's callback
  void Join();  // joins the follow thread, then stops the watcher

  // Re-read from etcd before the next watched batch (a deposed leader, a gap).
  void RequestResync();
  // Housekeeping: a follower that stays behind P/sequence for a while without applying
  // anything replaces its watch.
  void CheckWatch();

 private:
  void OnWatchEvent(const WatchEvent& event);
  void Loop();
  // Applies a watched batch, or (no event) re-reads from etcd; apply lock held.
  void Follow(const std::optional<WatchEvent>& event);
  absl::Status CatchUpFromPeers(const v1::internal::ReplicationWindow& window);
  // Applies the batch if it is the next one. FAILED_PRECONDITION for a gap (the caller
  // re-reads); a batch that cannot be applied here stops applying (NodeState::status()).
  absl::Status ApplyOne(int64_t sequence, const std::string& value);
  std::unique_ptr<Watcher> NewWatcher(int64_t revision);

  const ReplicatedNodeOptions& options_;  // identity complete before Start
  const NodeKeys& keys_;
  EtcdClient& client_;
  ledger::Ledger& ledger_;
  NodeState& state_;
  const WaitForOwnCommitFn wait_for_own_commit_;

  std::mutex apply_mu_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<WatchEvent> events_;  // bounded by kMaxQueuedEvents; overflow -> resync
  bool resync_ = false;
  bool rewatch_ = false;  // the watch seems stuck: the follow thread replaces it
  // Watchdog (housekeeping thread): the applied sequence and since when it has been behind.
  int64_t watchdog_sequence_ = -1;
  absl::Time watchdog_since_ = absl::InfiniteFuture();

  std::unique_ptr<Watcher> watcher_;  // replaced by the follow thread only
  std::thread thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_FOLLOWER_APPLIER_H_
