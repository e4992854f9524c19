#include "services/replication/replicated_node.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "storage/merkle.h"

namespace lodestone::replication {
namespace {

using v1::internal::NodeProgress;
using v1::internal::ReplicatedBatch;
using v1::internal::ReplicationWindow;

constexpr size_t kMaxQueuedEvents = 1024;
constexpr absl::Duration kCampaignTimeout = absl::Seconds(2);
constexpr absl::Duration kRetryPause = absl::Milliseconds(100);
// A follower whose applied sequence stays behind P/sequence this long watches again.
constexpr absl::Duration kWatchStall = absl::Seconds(2);

bool ParseSequence(std::string_view text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

std::string RandomBatchId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string id(16, '\0');
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t bits = rng();
    for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<char>(bits >> (8 * j));
  }
  return id;
}

absl::Status CheckNodeId(const std::string& node_id, bool allow_empty) {
  if (node_id.empty() && !allow_empty) {
    return absl::InvalidArgumentError("a replicated node needs a node id");
  }
  if (node_id.find('/') != std::string::npos || node_id.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("a node id may not contain '/' or a newline");
  }
  return absl::OkStatus();
}

void Log(const std::string& node_id, const std::string& message) {
  std::cerr << "lodestone-replication: node " << node_id << ": " << message << std::endl;
}

}  // namespace

const char* NodeRoleName(NodeRole role) {
  switch (role) {
    case NodeRole::kStopped:
      return "stopped";
    case NodeRole::kFollower:
      return "follower";
    case NodeRole::kLeader:
      return "leader";
    case NodeRole::kCatchingUp:
      return "catching_up";
  }
  return "unknown";
}

// --- construction -----------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ReplicatedNode>> ReplicatedNode::Create(
    ReplicatedNodeOptions options, ledger::Ledger& ledger) {
  if (options.cluster.empty())
    return absl::InvalidArgumentError("a replicated node needs a cluster");
  if (auto status = CheckNodeId(options.node_id, /*allow_empty=*/true); !status.ok()) {
    return status;
  }
  if (options.min_durable_copies < 1 || options.window_min_batches < 0) {
    return absl::InvalidArgumentError(
        "min_durable_copies must be at least 1 and window_min_batches not negative");
  }
  auto client = EtcdClient::Create({.endpoints = options.etcd_endpoints});
  if (!client.ok()) return client.status();
  return std::unique_ptr<ReplicatedNode>(
      new ReplicatedNode(std::move(options), ledger, *std::move(client)));
}

ReplicatedNode::ReplicatedNode(ReplicatedNodeOptions options, ledger::Ledger& ledger,
                               std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)),
      ledger_(ledger),
      hook_([this](ReplicatedBatch& batch) { return Replicate(batch); }),
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

absl::Status ReplicatedNode::SetAdvertiseAddress(std::string address) {
  std::lock_guard lock(mu_);
  if (started_) return absl::FailedPreconditionError("the node was started already");
  if (options_.node_id.empty()) options_.node_id = address;
  options_.advertise_address = std::move(address);
  return CheckNodeId(options_.node_id, /*allow_empty=*/false);
}

absl::Status ReplicatedNode::Start() {
  if (auto status = CheckNodeId(options_.node_id, /*allow_empty=*/false); !status.ok()) {
    return status;
  }
  auto recorded = AppliedSequence(ledger_.log());
  if (!recorded.ok()) return recorded.status();
  {
    std::lock_guard lock(mu_);
    if (started_) return absl::FailedPreconditionError("the node was started already");
    started_ = true;
    role_ = NodeRole::kFollower;
    applied_sequence_ = *recorded;
  }
  if (auto status = ledger_.SetReplicationHook(&hook_); !status.ok()) {
    std::lock_guard lock(mu_);
    started_ = false;
    role_ = NodeRole::kStopped;
    return status;
  }
  absl::StatusOr<int64_t> revision;
  {
    std::lock_guard apply_lock(apply_mu_);
    revision = CatchUp();
  }
  int64_t watch_from = 0;  // 0: from now
  if (revision.ok()) {
    watch_from = *revision + 1;
  } else {
    // etcd is not reachable yet (e.g. still starting), or no peer could help yet: serve reads,
    // and let the follow loop catch up (retrying) while the watcher connects; batches seen
    // twice are skipped.
    std::lock_guard lock(mu_);
    resync_ = true;
  }
  watcher_ = client_->Watch(Key("batches/"), watch_from,
                            [this](const WatchEvent& event) { OnWatchEvent(event); });
  follow_thread_ = std::thread([this] { FollowLoop(); });
  campaign_thread_ = std::thread([this] { CampaignLoop(); });
  housekeeping_thread_ = std::thread([this] { HousekeepingLoop(); });
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
  (void)ledger_.SetReplicationHook(nullptr);  // waits for a Replicate in flight
  canceller_.Cancel();
  if (campaign_thread_.joinable()) campaign_thread_.join();
  if (housekeeping_thread_.joinable()) housekeeping_thread_.join();
  if (follow_thread_.joinable()) follow_thread_.join();  // it alone replaces the watcher
  if (watcher_ != nullptr) watcher_->Stop();
  DropLease();
}

// --- accessors --------------------------------------------------------------------------------

NodeRole ReplicatedNode::role() const {
  std::lock_guard lock(mu_);
  return role_;
}

std::string ReplicatedNode::leader_address() {
  {
    std::lock_guard lock(mu_);
    if (!leader_address_.empty()) return leader_address_;
  }
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

ReplicationStatus ReplicatedNode::GetStatus() const {
  std::lock_guard lock(mu_);
  return ReplicationStatus{role_, leader_id_, applied_sequence_,
                           std::max(committed_sequence_, applied_sequence_), window_first_};
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

absl::Status ReplicatedNode::Replicate(ReplicatedBatch& batch) {
  LeaderKey key;
  int64_t sequence = 0;
  {
    std::lock_guard lock(mu_);
    if (role_ == NodeRole::kLeader && leader_key_.has_value()) {
      key = *leader_key_;
      sequence = applied_sequence_ + 1;
    }
    // The previous batch was this node's own: the log must have grown by it. If it did not,
    // the local write failed after etcd committed (the log must be reopened); committing more
    // would put batches at wrong positions into the shared history.
    if (sequence != 0 && own_sequence_ == applied_sequence_ &&
        batch.first_position() != own_write_end_) {
      status_ = absl::DataLossError(absl::StrCat(
          "the local write of batch ", own_sequence_, " failed (log size ", batch.first_position(),
          ", expected ", own_write_end_, "): restart the node"));
      role_ = NodeRole::kFollower;
      cv_.notify_all();
      return status_;
    }
  }
  if (sequence == 0) {
    return absl::UnavailableError("not the leader; the leader is " + leader_address());
  }
  {
    std::lock_guard lock(mu_);
    commit_in_flight_ = true;
  }
  auto settle = [this](bool committed, uint64_t end) {
    std::lock_guard lock(mu_);
    commit_in_flight_ = false;
    if (committed) own_write_end_ = end;
    cv_.notify_all();
  };
  batch.set_sequence(sequence);
  batch.set_batch_id(RandomBatchId());
  batch.set_leader_node_id(options_.node_id);
  batch.set_leader_rev(key.rev);
  const std::string value = batch.SerializeAsString();
  const std::string sequence_key = Key("sequence");
  const std::vector<Compare> compares = {
      sequence == 1 ? Compare::VersionEquals(sequence_key, 0)
                    : Compare::ValueEquals(sequence_key, std::to_string(sequence - 1))};
  const std::vector<TxnOp> ops = {TxnOp::Put(BatchKey(sequence), value),
                                  TxnOp::Put(sequence_key, std::to_string(sequence))};
  const absl::Time deadline = absl::Now() + options_.commit_resolve_timeout;
  for (;;) {
    const absl::Time start = absl::Now();
    auto result = client_->FencedTxn(key, compares, ops);
    if (result.ok() && result->succeeded) {
      if (options_.observer != nullptr) {
        options_.observer->OnCommit(absl::Now() - start, batch.records_size(), value.size());
      }
      break;
    }
    if (!result.ok() && !Retryable(result.status())) {
      settle(false, 0);
      return result.status();  // refused before it was sent, or by etcd's validation
    }
    // Rejected (the fence or the sequence compare failed; or an earlier attempt of this very
    // batch got in) or ambiguous: find out what is committed at `sequence`.
    const absl::Status resolved = ResolveCommit(sequence, batch.batch_id(), deadline);
    if (resolved.ok()) break;  // ours
    if (absl::IsNotFound(resolved) && !result.ok() && absl::Now() < deadline) continue;
    if (result.ok() && options_.observer != nullptr) options_.observer->OnFencingRejection();
    StepDown(result.ok() ? "fenced commit rejected"
                         : "commit outcome unknown: " + std::string(resolved.message()));
    settle(false, 0);
    return absl::UnavailableError(
        absl::StrCat("not the leader any more (",
                     result.ok() ? "fencing rejected the commit" : "etcd unreachable", ")"));
  }
  {
    std::lock_guard lock(mu_);
    applied_sequence_ = sequence;
    own_sequence_ = sequence;
    committed_sequence_ = std::max(committed_sequence_, sequence);
  }
  settle(true, batch.first_position() + batch.records_size());
  return absl::OkStatus();
}

bool ReplicatedNode::WaitForOwnCommit() {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return false;
    if (!commit_in_flight_ && ledger_.log().GetHead().size >= own_write_end_) return true;
    if (absl::Now() >= deadline) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(2));
  }
}

absl::Status ReplicatedNode::ResolveCommit(int64_t sequence, const std::string& batch_id,
                                           absl::Time deadline) {
  for (;;) {
    auto got = client_->Get(BatchKey(sequence));
    if (got.ok()) {
      ReplicatedBatch committed;
      if (!committed.ParseFromString(got->value)) {
        return absl::DataLossError("batch " + std::to_string(sequence) + " does not parse");
      }
      return committed.batch_id() == batch_id
                 ? absl::OkStatus()
                 : absl::AbortedError("another batch is committed at our sequence");
    }
    if (absl::IsNotFound(got.status())) {
      int64_t committed = 0;
      auto current = client_->Get(Key("sequence"));
      if (current.ok() && !ParseSequence(current->value, committed)) {
        return absl::DataLossError("P/sequence does not parse");
      }
      if (current.ok() || absl::IsNotFound(current.status())) {
        return committed < sequence ? absl::NotFoundError("nothing committed at our sequence")
                                    : absl::AbortedError("the sequence moved past ours");
      }
      got = current.status();
    }
    if (!Retryable(got.status())) return got.status();
    if (absl::Now() + kRetryPause >= deadline) {
      return absl::DeadlineExceededError("etcd did not answer: " +
                                         std::string(got.status().message()));
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, absl::ToChronoMilliseconds(kRetryPause), [this] { return stopping_; })) {
      return absl::CancelledError("stopping");
    }
  }
}

void ReplicatedNode::StepDown(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (role_ != NodeRole::kLeader) return;
    role_ = NodeRole::kFollower;
    resync_ = true;
    cv_.notify_all();
  }
  Log(options_.node_id, "steps down: " + why);
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
  if (CatchUpAsNewLeader()) {
    Log(options_.node_id, "leads with fencing token " + std::to_string(key->rev) +
                              " from sequence " + std::to_string(applied_sequence()));
    LeadUntilDeposed();
  }
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
  // etcd's Campaign can return after the campaign key was deleted (its lease expired while it
  // waited): lead only if the election names this very key.
  auto leader = client_->Leader(Key("election"));
  std::lock_guard lock(mu_);
  if (!leader.ok() || !leader_key_.has_value() || leader->key != leader_key_->key) return false;
  if (stopping_ || lease_lost_ || !status_.ok() || applied_sequence_ != committed) return false;
  role_ = NodeRole::kLeader;
  committed_sequence_ = committed;
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
    bool leader = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || resync_ || rewatch_ || !events_.empty(); });
      if (stopping_) return;
      if (std::exchange(rewatch_, false)) {
        event.emplace();
        event->type = WatchEvent::Type::kCompacted;  // handled alike below
      } else if (!std::exchange(resync_, false)) {
        event = std::move(events_.front());
        events_.pop_front();
      }
      cv_.notify_all();
      if (!status_.ok()) continue;
      leader = role_ == NodeRole::kLeader;
    }
    if (event.has_value() && event->type == WatchEvent::Type::kCompacted) {
      // The watcher has stopped (or seems stuck on a silent etcd member): watch again from now
      // and re-read from etcd, so nothing committed in between is missed (batches seen twice
      // are skipped).
      watcher_.reset();
      watcher_ =
          client_->Watch(Key("batches/"), 0, [this](const WatchEvent& e) { OnWatchEvent(e); });
      std::lock_guard lock(mu_);
      resync_ = true;
      continue;
    }
    if (leader) continue;  // its own batches
    std::lock_guard apply_lock(apply_mu_);
    if (role() == NodeRole::kLeader) continue;  // became leader while waiting for apply_mu_
    Follow(event);
  }
}

// Applies a watched batch, or (no event) re-reads from etcd; apply_mu_ held.
void ReplicatedNode::Follow(const std::optional<WatchEvent>& event) {
  if (!event.has_value()) {
    if (auto revision = CatchUp(); !revision.ok()) {
      std::unique_lock lock(mu_);
      resync_ = true;  // etcd or every peer unreachable: retry after a pause
      cv_.wait_for(lock, absl::ToChronoMilliseconds(kRetryPause), [this] { return stopping_; });
    }
    return;
  }
  if (event->type != WatchEvent::Type::kPut) return;  // deletes are compaction
  const std::string prefix = Key("batches/");
  int64_t sequence = 0;
  if (event->key.compare(0, prefix.size(), prefix) != 0 ||
      !ParseSequence(std::string_view(event->key).substr(prefix.size()), sequence)) {
    return;
  }
  if (auto status = ApplyOne(sequence, event->value);
      absl::IsFailedPrecondition(status) || absl::IsUnavailable(status)) {
    std::lock_guard lock(mu_);
    resync_ = true;  // a gap: re-read from etcd (or a peer)
  }
}

absl::StatusOr<int64_t> ReplicatedNode::CatchUp() {
  if (!WaitForOwnCommit()) return absl::UnavailableError("this node's own commit has not settled");
  auto window_value = client_->Get(Key("window"));
  if (window_value.ok()) {
    ReplicationWindow window;
    if (!window.ParseFromString(window_value->value) || window.first_sequence() < 1) {
      return absl::DataLossError("P/window does not parse");
    }
    {
      std::lock_guard lock(mu_);
      window_first_ = window.first_sequence();
    }
    if (applied_sequence() + 1 < window.first_sequence()) {
      if (auto status = CatchUpFromPeers(window); !status.ok()) return status;
    }
  } else if (!absl::IsNotFound(window_value.status())) {
    return window_value.status();
  }
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
      auto status = ApplyOne(sequence, kv.value);
      if (absl::IsFailedPrecondition(status) || absl::IsUnavailable(status)) {
        return status;  // the window moved, or an own commit is unsettled: read again
      }
      if (!status.ok()) return first_revision;  // stopped (status()) or stopping
    }
    if (!page->more || page->kvs.empty()) return first_revision;
    from = page->kvs.back().key + '\0';
  }
}

absl::Status ReplicatedNode::CatchUpFromPeers(const ReplicationWindow& window) {
  const int64_t below = window.first_sequence() - 1;
  const uint64_t size = ledger_.log().GetHead().size;
  if (size >= window.first_position()) {
    // The records are here already (applied before the node recorded sequences): check them
    // against the anchors when they end exactly there; batches in the window below the log
    // size are then skipped by ApplyOne.
    if (size == window.first_position()) {
      auto root = ledger_.log().RootAt(size);
      const storage::Hash chain = ledger_.log().GetHead().chain;
      if (!root.ok() || std::string(root->begin(), root->end()) != window.root_before() ||
          std::string(chain.begin(), chain.end()) != window.prev_chain()) {
        std::lock_guard lock(mu_);
        status_ = absl::DataLossError("this log differs from the committed history");
        return status_;
      }
    }
    std::lock_guard lock(mu_);
    applied_sequence_ = std::max(applied_sequence_, below);
    return absl::OkStatus();
  }
  auto listing = client_->GetPrefix(Key("nodes/"), kMaxPageKeys, "");
  if (!listing.ok()) return listing.status();
  std::vector<NodeProgress> peers;
  for (const KeyValue& kv : listing->kvs) {
    NodeProgress progress;
    if (!progress.ParseFromString(kv.value) || progress.node_id() == options_.node_id ||
        progress.applied_position() < window.first_position() ||
        progress.advertise_address().empty()) {
      continue;
    }
    peers.push_back(std::move(progress));
  }
  std::sort(peers.begin(), peers.end(), [](const NodeProgress& a, const NodeProgress& b) {
    return a.applied_position() > b.applied_position();
  });
  NodeRole previous;
  {
    std::lock_guard lock(mu_);
    previous = std::exchange(role_, NodeRole::kCatchingUp);
  }
  auto restore_role = [&] {
    std::lock_guard lock(mu_);
    if (role_ == NodeRole::kCatchingUp) role_ = previous;
  };
  Log(options_.node_id, "is behind the window (needs records from " + std::to_string(size) +
                            ", etcd holds batches from position " +
                            std::to_string(window.first_position()) + "): catching up from " +
                            std::to_string(peers.size()) + " peer(s)");
  absl::Status last = absl::UnavailableError("no peer has the records below the window");
  for (const NodeProgress& peer : peers) {
    auto credentials = options_.peer_credentials != nullptr ? options_.peer_credentials
                                                            : grpc::InsecureChannelCredentials();
    auto stub =
        v1::LedgerService::NewStub(grpc::CreateChannel(peer.advertise_address(), credentials));
    absl::Status status = CatchUpFromPeer(ledger_, *stub, window, below, options_.catch_up);
    if (status.ok()) {
      {
        std::lock_guard lock(mu_);
        applied_sequence_ = std::max(applied_sequence_, below);
      }
      restore_role();
      Log(options_.node_id, "caught up from " + peer.node_id() + " to position " +
                                std::to_string(window.first_position()));
      return status;
    }
    Log(options_.node_id, "catch-up from " + peer.node_id() + " failed: " + status.ToString());
    if (absl::IsDataLoss(status) && options_.observer != nullptr) {
      options_.observer->OnCatchUpRejection();
    }
    if (absl::IsInternal(status)) {
      std::lock_guard lock(mu_);
      status_ = status;  // this node cannot apply the committed history: stop applying
      break;
    }
    last = status;
  }
  restore_role();
  return last;
}

// Applies the batch if it is the next one. FAILED_PRECONDITION for a gap (the caller re-reads);
// a batch that cannot be applied here stops applying (status()).
absl::Status ReplicatedNode::ApplyOne(int64_t sequence, const std::string& value) {
  if (!WaitForOwnCommit()) return absl::UnavailableError("this node's own commit has not settled");
  {
    std::lock_guard lock(mu_);
    if (!status_.ok()) return status_;
    if (sequence <= applied_sequence_) return absl::OkStatus();
    if (sequence > applied_sequence_ + 1) {
      return absl::FailedPreconditionError("gap: batch " + std::to_string(sequence) + " after " +
                                           std::to_string(applied_sequence_));
    }
  }
  ReplicatedBatch batch;
  absl::Status status;
  bool fatal = true;
  const uint64_t size = ledger_.log().GetHead().size;
  const std::string name = "batch " + std::to_string(sequence);
  if (!batch.ParseFromString(value)) {
    status = absl::DataLossError(name + " does not parse");
  } else if (batch.sequence() != 0 && batch.sequence() != sequence) {
    status = absl::DataLossError(name + " says it is " + std::to_string(batch.sequence()));
  } else if (batch.first_position() == size) {
    status = ApplyReplicatedAndWait(ledger_, std::move(batch));
    fatal = !Retryable(status) && !absl::IsResourceExhausted(status);
  } else if (batch.first_position() + batch.records_size() <= size) {
    // Its records are here already (a log from before sequences were recorded).
  } else {
    status =
        absl::DataLossError(name + " starts at position " + std::to_string(batch.first_position()) +
                            " but the log holds " + std::to_string(size) + " records");
  }
  std::lock_guard lock(mu_);
  if (status.ok()) {
    applied_sequence_ = sequence;
    committed_sequence_ = std::max(committed_sequence_, sequence);
  } else if (!stopping_ && fatal) {
    status_ = status;
    Log(options_.node_id, "stops applying: " + status.ToString());
  } else if (!fatal) {
    resync_ = true;
  }
  return status;
}

// --- housekeeping -----------------------------------------------------------------------------

void ReplicatedNode::HousekeepingLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.housekeeping_interval),
                       [this] { return stopping_; })) {
        return;
      }
    }
    PublishProgress();
    ObserveLeader();
    CheckWatch();
    if (role() == NodeRole::kLeader) {
      if (auto status = Compact(); !status.ok() && !Retryable(status)) {
        Log(options_.node_id, "compaction: " + status.ToString());
      }
    }
  }
}

void ReplicatedNode::PublishProgress() {
  NodeProgress progress;
  progress.set_node_id(options_.node_id);
  progress.set_advertise_address(options_.advertise_address);
  {
    std::lock_guard lock(mu_);
    progress.set_applied_sequence(applied_sequence_);
  }
  progress.set_applied_position(ledger_.log().GetHead().size);
  progress.set_time_micros(absl::ToUnixMicros(absl::Now()));
  if (progress.applied_sequence() != published_sequence_) {
    if (client_->Put(Key("nodes/" + options_.node_id), progress.SerializeAsString()).ok()) {
      published_sequence_ = progress.applied_sequence();
    }
  }
  int64_t committed = 0;
  if (auto current = client_->Get(Key("sequence"));
      current.ok() && ParseSequence(current->value, committed)) {
    std::lock_guard lock(mu_);
    committed_sequence_ = std::max(committed_sequence_, committed);
  }
}

void ReplicatedNode::ObserveLeader() {
  auto leader = client_->Leader(Key("election"));
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
    deposed = role_ == NodeRole::kLeader && leader_key_.has_value() &&
              (!leader.ok() || leader->key != leader_key_->key);
  }
  if (changed && options_.observer != nullptr) options_.observer->OnLeaderChange();
  if (deposed) StepDown("the election names another leader");
}

// The watchdog: a follower that stays behind P/sequence for kWatchStall without applying
// anything replaces its watch (a member that stopped answering keeps a stream open until gRPC
// keepalive gives up, about 15 s).
void ReplicatedNode::CheckWatch() {
  std::lock_guard lock(mu_);
  const absl::Time now = absl::Now();
  if (role_ != NodeRole::kFollower || committed_sequence_ <= applied_sequence_ ||
      applied_sequence_ != watchdog_sequence_) {
    watchdog_sequence_ = applied_sequence_;
    watchdog_since_ = now;
    return;
  }
  if (now - watchdog_since_ >= kWatchStall) {
    rewatch_ = true;
    watchdog_since_ = now;
    cv_.notify_all();
  }
}

// The leader drops the batches enough nodes hold (docs/replication.md section 8).
absl::Status ReplicatedNode::Compact() {
  auto listing = client_->GetPrefix(Key("nodes/"), kMaxPageKeys, "");
  if (!listing.ok()) return listing.status();
  std::vector<int64_t> applied;
  for (const KeyValue& kv : listing->kvs) {
    NodeProgress progress;
    if (progress.ParseFromString(kv.value)) applied.push_back(progress.applied_sequence());
  }
  if (applied.size() < static_cast<size_t>(options_.min_durable_copies)) return absl::OkStatus();
  std::sort(applied.rbegin(), applied.rend());
  const int64_t cut = applied[options_.min_durable_copies - 1] - options_.window_min_batches;
  int64_t first = 1;
  if (auto value = client_->Get(Key("window")); value.ok()) {
    ReplicationWindow window;
    if (!window.ParseFromString(value->value)) return absl::DataLossError("P/window");
    first = window.first_sequence();
  } else if (!absl::IsNotFound(value.status())) {
    return value.status();
  }
  std::optional<LeaderKey> key;
  int64_t own = 0;
  {
    std::lock_guard lock(mu_);
    key = leader_key_;
    own = applied_sequence_;
    window_first_ = first;
  }
  if (cut < first || cut + 1 > own || !key.has_value()) return absl::OkStatus();
  auto next = client_->Get(BatchKey(cut + 1));
  if (!next.ok()) return next.status();
  ReplicatedBatch batch;
  if (!batch.ParseFromString(next->value)) return absl::DataLossError("batch does not parse");
  const uint64_t m = batch.first_position();
  auto root = ledger_.log().RootAt(m);
  if (!root.ok()) return root.status();
  storage::Hash chain{};
  if (m > 0) {
    auto record = ledger_.log().ReadRecord(m - 1);
    if (!record.ok()) return record.status();
    chain = record->chain;
  }
  ReplicationWindow window;
  window.set_first_sequence(cut + 1);
  window.set_first_position(m);
  window.set_root_before(std::string(root->begin(), root->end()));
  window.set_prev_chain(std::string(chain.begin(), chain.end()));
  auto result = client_->FencedTxn(*key, {},
                                   {TxnOp::Put(Key("window"), window.SerializeAsString()),
                                    TxnOp::DeleteRange(BatchKey(first), BatchKey(cut + 1))});
  if (!result.ok()) return result.status();
  if (!result->succeeded) {
    if (options_.observer != nullptr) options_.observer->OnFencingRejection();
    StepDown("fenced compaction rejected");
    return absl::OkStatus();
  }
  {
    std::lock_guard lock(mu_);
    window_first_ = cut + 1;
  }
  if (options_.observer != nullptr) options_.observer->OnCompaction(cut + 1 - first);
  if (auto status = client_->Compact(result->revision);
      !status.ok() && !absl::IsOutOfRange(status)) {
    return status;
  }
  return absl::OkStatus();
}

}  // namespace lodestone::replication
