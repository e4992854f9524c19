// The election (docs/replication.md section 4): the campaign thread keeps a lease, campaigns in
// etcd's v3election, and as the winner catches up on everything committed before it leads
// until deposed; the housekeeping thread observes who leads. Owns the lease, its keeper and the
// campaign key.
#ifndef LODESTONE_SERVICES_REPLICATION_CAMPAIGN_H_
#define LODESTONE_SERVICES_REPLICATION_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/replication/etcd_client.h"
#include "services/replication/node_common.h"
#include "services/replication/node_state.h"

namespace lodestone::replication {

class Campaign {
 public:
  // The follower's apply lock, and its catch-up (called with that lock held; true if done).
  using LockApplyFn = std::function<std::unique_lock<std::mutex>()>;
  using CatchUpFn = std::function<bool()>;
  using StepDownFn = std::function<void(const std::string& why)>;
  using ResyncFn = std::function<void()>;

  Campaign(const ReplicatedNodeOptions& options, const NodeKeys& keys, EtcdClient& client,
           NodeState& state, LockApplyFn lock_apply, CatchUpFn catch_up, StepDownFn step_down,
           ResyncFn resync);
  ~Campaign();  // Join()

  void Start();  // the campaign thread
  // After NodeState::Stop: cancels a campaign in progress and joins the thread (which resigns).
  void Join();
  // Drops the keeper and revokes the lease (after Join).
  void DropLease();

  std::optional<LeaderKey> key() const;  // the key while campaigning has won, else nullopt
  int64_t lease_id() const;              // 0: none
  std::string leader_id() const;         // as last observed; empty when none
  // The leader's address as last observed, else asked of etcd; empty when unknown.
  std::string leader_address();
  // Housekeeping: reads the election's leader; a leader whose key is no longer the election's
  // steps down.
  void ObserveLeader();

 private:
  void Loop();
  void CampaignOnce();
  bool EnsureLease();
  // A new leader applies everything committed before it serves (docs/replication.md section 7).
  bool CatchUpAsNewLeader();

  const ReplicatedNodeOptions& options_;  // identity complete before Start
  const NodeKeys& keys_;
  EtcdClient& client_;
  NodeState& state_;
  const LockApplyFn lock_apply_;
  const CatchUpFn catch_up_;
  const StepDownFn step_down_;
  const ResyncFn resync_;
  Canceller canceller_;

  // Lock order: mu_ before NodeState's (TryLead and the lease callback's StepDown hold mu_, so
  // a lease lost while the node becomes leader is never missed).
  mutable std::mutex mu_;
  std::optional<LeaderKey> leader_key_;
  bool lease_lost_ = false;
  Lease lease_;
  std::string leader_id_;
  std::string leader_address_;           // cached from the election (housekeeping); empty: ask etcd
  std::unique_ptr<LeaseKeeper> keeper_;  // touched by the campaign thread and Join only
  std::thread thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_CAMPAIGN_H_
