#include "services/replication/replicated_node.h"

#include <charconv>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

namespace lodestone::replication {
namespace {

using v1::internal::ReplicatedBatch;

constexpr size_t kMaxQueuedEvents = 1024;
constexpr absl::Duration kCampaignTimeout = absl::Seconds(2);
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

bool ParseSequence(std::string_view text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace

// --- NodeSlot ---------------------------------------------------------------------------------

absl::Status NodeSlot::Replicate(const ReplicatedBatch& batch) {
  std::lock_guard lock(mu_);
  if (node_ == nullptr) return absl::UnavailableError("no replicated node is running");
  return node_->Replicate(batch);
}

void NodeSlot::Set(ReplicatedNode* node) {
  std::lock_guard lock(mu_);
  node_ = node;
}

// --- construction -----------------------------------------------------------------------------

ReplicatedNode::ReplicateFn ReplicatedNode::ReplicateHook(std::shared_ptr<NodeSlot> slot) {
  return [slot = std::move(slot)](const ReplicatedBatch& batch) { return slot->Replicate(batch); };
}

absl::StatusOr<std::unique_ptr<ReplicatedNode>> ReplicatedNode::Create(
    ReplicatedNodeOptions options, ledger::Ledger& ledger, std::shared_ptr<NodeSlot> slot) {
  if (options.node_id.empty() || options.cluster.empty() || slot == nullptr) {
    return absl::InvalidArgumentError("a replicated node needs a node id, a cluster and a slot");
  }
  auto client = EtcdClient::Create({.endpoints = options.etcd_endpoints});
  if (!client.ok()) return client.status();
  return std::unique_ptr<ReplicatedNode>(
      new ReplicatedNode(std::move(options), ledger, std::move(slot), *std::move(client)));
}

ReplicatedNode::ReplicatedNode(ReplicatedNodeOptions options, ledger::Ledger& ledger,
                               std::shared_ptr<NodeSlot> slot, std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)),
      ledger_(ledger),
      slot_(std::move(slot)),
      client_(std::move(client)) {}

ReplicatedNode::~ReplicatedNode() { Stop(); }

std::string ReplicatedNode::Key(const std::string& suffix) const {
  return "/lodestone/" + options_.cluster + "/" + suffix;
}

std::string ReplicatedNode::BatchKey(int64_t sequence) const {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(sequence));
  return Key("batches/") + digits;
}

std::string ReplicatedNode::NodeValue() const {
  return options_.node_id + "\n" + options_.advertise_address;
}

// --- lifecycle --------------------------------------------------------------------------------

absl::Status ReplicatedNode::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return absl::FailedPreconditionError("the node was started already");
    started_ = true;
    role_ = NodeRole::kFollower;
  }
  slot_->Set(this);
  absl::StatusOr<int64_t> revision;
  {
    std::lock_guard apply_lock(apply_mu_);
    revision = CatchUp();
  }
  int64_t watch_from = 0;  // 0: from now
  if (revision.ok()) {
    watch_from = *revision + 1;
  } else {
    // etcd is not reachable yet (e.g. still starting): serve reads, and let the follow loop
    // catch up (retrying) while the watcher connects; batches seen twice are skipped.
    std::lock_guard lock(mu_);
    resync_ = true;
  }
  watcher_ = client_->Watch(Key("batches/"), watch_from,
                            [this](const WatchEvent& event) { OnWatchEvent(event); });
  follow_thread_ = std::thread([this] { FollowLoop(); });
  campaign_thread_ = std::thread([this] { CampaignLoop(); });
  return absl::OkStatus();
}

void ReplicatedNode::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    role_ = NodeRole::kStopped;
    cv_.notify_all();
  }
  slot_->Set(nullptr);  // waits for a Replicate in flight
  canceller_.Cancel();
  if (campaign_thread_.joinable()) campaign_thread_.join();
  if (watcher_ != nullptr) watcher_->Stop();
  if (follow_thread_.joinable()) follow_thread_.join();
  DropLease();
}

// --- accessors --------------------------------------------------------------------------------

NodeRole ReplicatedNode::role() const {
  std::lock_guard lock(mu_);
  return role_;
}

std::string ReplicatedNode::leader_address() {
  auto leader = client_->Leader(Key("election"));
  if (!leader.ok()) return "";
  const size_t newline = leader->value.find('\n');
  return newline == std::string::npos ? "" : leader->value.substr(newline + 1);
}

uint64_t ReplicatedNode::applied_position() const { return ledger_.log().GetHead().size; }

int64_t ReplicatedNode::applied_sequence() const {
  std::lock_guard lock(mu_);
  return applied_sequence_;
}

int64_t ReplicatedNode::lease_id() const {
  std::lock_guard lock(mu_);
  return lease_.id;
}

absl::Status ReplicatedNode::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

// --- the leader's commit ----------------------------------------------------------------------

absl::Status ReplicatedNode::Replicate(const ReplicatedBatch& batch) {
  LeaderKey key;
  int64_t sequence = 0;
  {
    std::lock_guard lock(mu_);
    if (role_ == NodeRole::kLeader && leader_key_.has_value()) {
      key = *leader_key_;
      sequence = applied_sequence_ + 1;
    }
  }
  if (sequence == 0) {
    return absl::UnavailableError("not the leader; the leader is " + leader_address());
  }
  const std::string sequence_key = Key("sequence");
  std::vector<Compare> compares = {
      sequence == 1 ? Compare::VersionEquals(sequence_key, 0)
                    : Compare::ValueEquals(sequence_key, std::to_string(sequence - 1))};
  const std::vector<TxnOp> ops = {TxnOp::Put(BatchKey(sequence), batch.SerializeAsString()),
                                  TxnOp::Put(sequence_key, std::to_string(sequence))};
  auto result = client_->FencedTxn(key, std::move(compares), ops);
  if (!result.ok()) {
    if (!Retryable(result.status())) return result.status();
    // Ambiguous: the batch may be in etcd. The next commit's sequence compare then fails and
    // this node steps down and resynchronises (a batch id to resolve it is planned).
    return absl::UnavailableError("etcd commit outcome unknown: " +
                                  std::string(result.status().message()));
  }
  if (!result->succeeded) {
    StepDown("fenced commit rejected");
    return absl::UnavailableError("not the leader any more (fence or sequence compare failed)");
  }
  std::lock_guard lock(mu_);
  applied_sequence_ = sequence;
  return absl::OkStatus();
}

void ReplicatedNode::StepDown(const std::string& /*why*/) {
  std::lock_guard lock(mu_);
  if (role_ != NodeRole::kLeader) return;
  role_ = NodeRole::kFollower;
  resync_ = true;
  cv_.notify_all();
}

// --- election ---------------------------------------------------------------------------------

void ReplicatedNode::CampaignLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) break;
    }
    if (!EnsureLease()) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, absl::ToChronoMilliseconds(kRetryPause), [this] { return stopping_; });
      continue;
    }
    CampaignOnce();
  }
  std::optional<LeaderKey> key;
  {
    std::lock_guard lock(mu_);
    key = std::exchange(leader_key_, std::nullopt);
  }
  if (key.has_value()) (void)client_->Resign(*key);
}

// One campaign; if won, leads until deposed, then resigns and drops the lease.
void ReplicatedNode::CampaignOnce() {
  auto key =
      client_->Campaign(Key("election"), lease_.id, NodeValue(), kCampaignTimeout, &canceller_);
  if (!key.ok()) {
    // A timed-out campaign resumes with the same lease; anything else starts afresh.
    if (!absl::IsDeadlineExceeded(key.status())) DropLease();
    return;
  }
  {
    std::lock_guard lock(mu_);
    leader_key_ = *key;
  }
  if (CatchUpAsNewLeader()) LeadUntilDeposed();
  (void)client_->Resign(*key);
  {
    std::lock_guard lock(mu_);
    leader_key_.reset();
    if (role_ == NodeRole::kLeader) role_ = NodeRole::kFollower;
  }
  DropLease();  // a deposed leader follows with a new lease
}

bool ReplicatedNode::EnsureLease() {
  {
    std::lock_guard lock(mu_);
    if (keeper_ != nullptr && !lease_lost_) return true;
  }
  DropLease();
  auto lease = client_->GrantLease(options_.lease_ttl);
  if (!lease.ok()) return false;
  std::unique_ptr<LeaseKeeper> keeper = client_->KeepAlive(*lease, [this](const absl::Status&) {
    std::lock_guard lock(mu_);
    lease_lost_ = true;
    if (role_ == NodeRole::kLeader) {
      role_ = NodeRole::kFollower;
      resync_ = true;
    }
    cv_.notify_all();
  });
  std::lock_guard lock(mu_);
  lease_ = *lease;
  keeper_ = std::move(keeper);
  return true;
}

void ReplicatedNode::DropLease() {
  std::unique_ptr<LeaseKeeper> keeper;
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    keeper = std::move(keeper_);
    lease = std::exchange(lease_.id, 0);
  }
  keeper.reset();  // joins its thread; outside mu_, which its callback takes
  if (lease != 0) (void)client_->RevokeLease(lease);
  std::lock_guard lock(mu_);
  lease_lost_ = false;
}

// A new leader applies everything committed before it serves (docs/replication.md section 7).
bool ReplicatedNode::CatchUpAsNewLeader() {
  std::lock_guard apply_lock(apply_mu_);
  int64_t committed = 0;
  auto sequence = client_->Get(Key("sequence"));
  if (sequence.ok()) {
    if (!ParseSequence(sequence->value, committed)) return false;
  } else if (!absl::IsNotFound(sequence.status())) {
    return false;
  }
  if (!CatchUp().ok()) return false;
  std::lock_guard lock(mu_);
  if (stopping_ || lease_lost_ || !status_.ok() || applied_sequence_ != committed) return false;
  role_ = NodeRole::kLeader;
  return true;
}

void ReplicatedNode::LeadUntilDeposed() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || lease_lost_ || role_ != NodeRole::kLeader; });
}

// --- following --------------------------------------------------------------------------------

void ReplicatedNode::OnWatchEvent(const WatchEvent& event) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || events_.size() < kMaxQueuedEvents; });
  if (stopping_) return;
  events_.push_back(event);
  cv_.notify_all();
}

void ReplicatedNode::FollowLoop() {
  for (;;) {
    std::optional<WatchEvent> event;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || resync_ || !events_.empty(); });
      if (stopping_) return;
      if (!std::exchange(resync_, false)) {
        event = std::move(events_.front());
        events_.pop_front();
      }
      cv_.notify_all();
      if (role_ == NodeRole::kLeader || !status_.ok()) continue;
    }
    std::lock_guard apply_lock(apply_mu_);
    if (role() == NodeRole::kLeader) continue;  // became leader while waiting for apply_mu_
    Follow(event);
  }
}

// Applies a watched batch, or (no event, compaction) re-reads from etcd; apply_mu_ held.
void ReplicatedNode::Follow(const std::optional<WatchEvent>& event) {
  if (!event.has_value() || event->type == WatchEvent::Type::kCompacted) {
    if (!CatchUp().ok()) {
      std::unique_lock lock(mu_);
      resync_ = true;  // etcd unreachable: retry after a pause
      cv_.wait_for(lock, absl::ToChronoMilliseconds(kRetryPause), [this] { return stopping_; });
    }
    return;
  }
  if (event->type != WatchEvent::Type::kPut) return;
  const std::string prefix = Key("batches/");
  int64_t sequence = 0;
  if (event->key.compare(0, prefix.size(), prefix) != 0 ||
      !ParseSequence(std::string_view(event->key).substr(prefix.size()), sequence)) {
    return;
  }
  (void)ApplyOne(sequence, event->value);
}

absl::StatusOr<int64_t> ReplicatedNode::CatchUp() {
  const std::string prefix = Key("batches/");
  std::string from = BatchKey(applied_sequence() + 1);
  int64_t first_revision = 0;
  for (;;) {
    auto page = client_->GetPrefix(prefix, kMaxPageKeys, from);
    if (!page.ok()) return page.status();
    if (first_revision == 0) first_revision = page->revision;
    for (const KeyValue& kv : page->kvs) {
      int64_t sequence = 0;
      if (!ParseSequence(std::string_view(kv.key).substr(prefix.size()), sequence)) continue;
      if (auto status = ApplyOne(sequence, kv.value); !status.ok()) return first_revision;
    }
    if (!page->more || page->kvs.empty()) return first_revision;
    from = page->kvs.back().key + '\0';
  }
}

// Applies the batch if it is the next one; a gap or a rejected batch stops applying (status()).
absl::Status ReplicatedNode::ApplyOne(int64_t sequence, const std::string& value) {
  {
    std::lock_guard lock(mu_);
    if (!status_.ok()) return status_;
    if (sequence <= applied_sequence_) return absl::OkStatus();
  }
  ReplicatedBatch batch;
  absl::Status status;
  const uint64_t size = ledger_.log().GetHead().size;
  if (!batch.ParseFromString(value)) {
    status = absl::DataLossError("batch " + std::to_string(sequence) + " does not parse");
  } else if (batch.first_position() > size) {
    status = absl::FailedPreconditionError("gap: batch " + std::to_string(sequence) +
                                           " starts at " + std::to_string(batch.first_position()) +
                                           " but the log holds " + std::to_string(size));
  } else if (batch.first_position() == size) {
    // The ledger does not hand batches it applies for a leader back to Replicate.
    status = ledger_.ApplyReplicatedAndWait(batch);
  }
  std::lock_guard lock(mu_);
  if (status.ok()) {
    applied_sequence_ = sequence;  // applied, or its records were here already
  } else if (!stopping_) {
    status_ = status;
  }
  return status;
}

}  // namespace lodestone::replication
