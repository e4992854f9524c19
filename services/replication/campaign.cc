#include "services/replication/campaign.h"

#include <utility>

namespace lodestone::replication {
namespace {

constexpr absl::Duration kCampaignTimeout = absl::Seconds(2);

}  // namespace

Campaign::Campaign(const ReplicatedNodeOptions& options, const NodeKeys& keys, EtcdClient& client,
                   NodeState& state, LockApplyFn lock_apply, CatchUpFn catch_up,
                   StepDownFn step_down, ResyncFn resync)
    : options_(options),
      keys_(keys),
      client_(client),
      state_(state),
      lock_apply_(std::move(lock_apply)),
      catch_up_(std::move(catch_up)),
      step_down_(std::move(step_down)),
      resync_(std::move(resync)) {}

Campaign::~Campaign() { Join(); }

void Campaign::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Campaign::Join() {
  canceller_.Cancel();
  if (thread_.joinable()) thread_.join();
}

std::optional<LeaderKey> Campaign::key() const {
  std::lock_guard lock(mu_);
  return leader_key_;
}

int64_t Campaign::lease_id() const {
  std::lock_guard lock(mu_);
  return lease_.id;
}

std::string Campaign::leader_id() const {
  std::lock_guard lock(mu_);
  return leader_id_;
}

std::string Campaign::leader_address() {
  {
    std::lock_guard lock(mu_);
    if (!leader_address_.empty()) return leader_address_;
  }
  auto leader = client_.Leader(keys_.Election());
  if (!leader.ok()) return "";
  const size_t newline = leader->value.find('\n');
  return newline == std::string::npos ? "" : leader->value.substr(newline + 1);
}

void Campaign::Loop() {
  for (;;) {
    if (state_.stopping()) break;
    if (!EnsureLease()) {
      state_.SleepUnlessStopping(kRetryPause);
      continue;
    }
    CampaignOnce();
  }
  std::optional<LeaderKey> key;
  {
    std::lock_guard lock(mu_);
    key = std::exchange(leader_key_, std::nullopt);
  }
  if (key.has_value()) (void)client_.Resign(*key);
}

// One campaign; if won, leads until deposed, then resigns and drops the lease.
void Campaign::CampaignOnce() {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_.id;
  }
  // The campaign value: "<node_id>\n<advertise_address>".
  auto key = client_.Campaign(keys_.Election(), lease,
                              options_.node_id + "\n" + options_.advertise_address,
                              kCampaignTimeout, &canceller_);
  if (!key.ok()) {
    // A timed-out campaign resumes with the same lease; anything else starts afresh.
    if (!absl::IsDeadlineExceeded(key.status())) DropLease();
    return;
  }
  {
    std::lock_guard lock(mu_);
    leader_key_ = *key;
  }
  if (CatchUpAsNewLeader()) {
    LogNode(options_.node_id, "leads with fencing token " + std::to_string(key->rev) +
                                  " from sequence " + std::to_string(state_.applied_sequence()));
    state_.WaitWhileLeading();  // until deposed (a lost lease deposes: see EnsureLease)
  }
  (void)client_.Resign(*key);
  {
    std::lock_guard lock(mu_);
    leader_key_.reset();
    state_.StepDown();
  }
  DropLease();  // a deposed leader follows with a new lease
}

bool Campaign::EnsureLease() {
  {
    std::lock_guard lock(mu_);
    if (keeper_ != nullptr && !lease_lost_) return true;
  }
  DropLease();
  auto lease = client_.GrantLease(options_.lease_ttl);
  if (!lease.ok()) return false;
  std::unique_ptr<LeaseKeeper> keeper = client_.KeepAlive(*lease, [this](const absl::Status&) {
    std::lock_guard lock(mu_);
    lease_lost_ = true;
    if (state_.StepDown()) resync_();
  });
  std::lock_guard lock(mu_);
  lease_ = *lease;
  keeper_ = std::move(keeper);
  return true;
}

void Campaign::DropLease() {
  std::unique_ptr<LeaseKeeper> keeper;
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    keeper = std::move(keeper_);
    lease = std::exchange(lease_.id, 0);
  }
  keeper.reset();  // joins its thread; outside mu_, which its callback takes
  if (lease != 0) (void)client_.RevokeLease(lease);
  std::lock_guard lock(mu_);
  lease_lost_ = false;
}

bool Campaign::CatchUpAsNewLeader() {
  std::unique_lock<std::mutex> apply_lock = lock_apply_();
  int64_t committed = 0;
  auto sequence = client_.Get(keys_.Sequence());
  if (sequence.ok()) {
    if (!ParseSequence(sequence->value, committed)) return false;
  } else if (!absl::IsNotFound(sequence.status())) {
    return false;
  }
  if (!catch_up_()) return false;
  // etcd's Campaign can return after the campaign key was deleted (its lease expired while it
  // waited): lead only if the election names this very key.
  auto leader = client_.Leader(keys_.Election());
  std::lock_guard lock(mu_);
  if (!leader.ok() || !leader_key_.has_value() || leader->key != leader_key_->key) return false;
  if (lease_lost_) return false;
  return state_.TryLead(committed);
}

void Campaign::ObserveLeader() {
  auto leader = client_.Leader(keys_.Election());
  std::string id;
  if (leader.ok()) {
    id = leader->value.substr(0, leader->value.find('\n'));
  } else if (!absl::IsNotFound(leader.status())) {
    return;  // unknown: keep what was seen
  }
  bool changed = false;
  bool deposed = false;
  {
    std::lock_guard lock(mu_);
    changed = !id.empty() && id != leader_id_;
    leader_id_ = id;
    const size_t newline = leader.ok() ? leader->value.find('\n') : std::string::npos;
    leader_address_ = newline == std::string::npos ? "" : leader->value.substr(newline + 1);
    // A leader whose key is no longer the election's (deleted with an expired lease) has been
    // replaced: its commits would be fenced anyway; it stops claiming the role now.
    deposed = state_.role() == NodeRole::kLeader && leader_key_.has_value() &&
              (!leader.ok() || leader->key != leader_key_->key);
  }
  if (changed && options_.observer != nullptr) options_.observer->OnLeaderChange();
  if (deposed) step_down_("the election names another leader");
}

}  // namespace lodestone::replication
