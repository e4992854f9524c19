// The state a ReplicatedNode's units share (role, sequences, window start, the divergence
// status, stopping), under its own lock. A leaf: it calls nothing while holding its lock, so any
// unit may call it while holding its own.
#ifndef LODESTONE_SERVICES_REPLICATION_NODE_STATE_H_
#define LODESTONE_SERVICES_REPLICATION_NODE_STATE_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lodestone::replication {

enum class NodeRole { kStopped, kFollower, kLeader, kCatchingUp };
const char* NodeRoleName(NodeRole role);

class NodeState {
 public:
  struct Snapshot {
    NodeRole role = NodeRole::kStopped;
    int64_t applied_sequence = 0;    // last batch applied here
    int64_t committed_sequence = 0;  // P/sequence as last seen (or committed here)
    int64_t window_first = 1;        // oldest batch etcd holds, as last seen
  };

  // Follower, from `applied_sequence`; FAILED_PRECONDITION if started before.
  absl::Status Start(int64_t applied_sequence);
  // Role stopped, stopping set, sleepers woken; false if not started or stopped already.
  bool Stop();
  bool started() const;
  bool stopping() const;
  // Sleeps `pause` unless stopping (or it begins); true when stopping.
  bool SleepUnlessStopping(absl::Duration pause);

  Snapshot Get() const;
  NodeRole role() const;
  int64_t applied_sequence() const;
  absl::Status status() const;  // non-OK once applying stopped (divergence)

  // Leader -> follower; false (and no change) when not the leader.
  bool StepDown();
  // Returns once stopping or no longer the leader.
  void WaitWhileLeading();
  // A new leader that caught up to `committed`: leads unless stopping, diverged, or not at
  // `committed`.
  bool TryLead(int64_t committed);
  // A leader whose own write failed after its etcd commit: stops applying, follows.
  absl::Status FailLeader(absl::Status status);
  // The leader committed `sequence` in etcd.
  void CommittedOwn(int64_t sequence);

  // Follower apply: the diverged status if applying stopped; false if batch `sequence` is
  // applied already; FAILED_PRECONDITION for a gap; true if it is the next one.
  absl::StatusOr<bool> IsNext(int64_t sequence) const;
  void Applied(int64_t sequence);
  // A batch that cannot be applied here stops applying, unless stopping (then false).
  bool StopApplying(absl::Status status);
  void Diverged(absl::Status status);  // stops applying, unconditionally
  // Records reached by other means (below the window): at least `sequence` is applied.
  void AppliedAtLeast(int64_t sequence);
  void SawCommitted(int64_t sequence);
  void SetWindowFirst(int64_t first);
  // Catching up from a peer: the previous role, restored by EndCatchUp if still catching up.
  NodeRole BeginCatchUp();
  void EndCatchUp(NodeRole previous);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  NodeRole role_ = NodeRole::kStopped;
  int64_t applied_sequence_ = 0;
  int64_t committed_sequence_ = 0;
  int64_t window_first_ = 1;
  absl::Status status_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_NODE_STATE_H_
