#include "services/replication/follower_applier.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "grpcpp/create_channel.h"
#include "services/replication/replicated_batch.h"

namespace lodestone::replication {
namespace {

using v1::internal::NodeProgress;
using v1::internal::ReplicatedBatch;
using v1::internal::ReplicationWindow;

constexpr size_t kMaxQueuedEvents = 1024;
// A follower whose applied sequence stays behind P/sequence this long watches again.
constexpr absl::Duration kWatchStall = absl::Seconds(2);

}  // namespace

FollowerApplier::FollowerApplier(const ReplicatedNodeOptions& options, const NodeKeys& keys,
                                 EtcdClient& client, ledger::Ledger& ledger, NodeState& state,
                                 WaitForOwnCommitFn wait_for_own_commit)
    : options_(options),
      keys_(keys),
      client_(client),
      ledger_(ledger),
      state_(state),
      wait_for_own_commit_(std::move(wait_for_own_commit)) {}

FollowerApplier::~FollowerApplier() {
  Stop();
  Join();
}

std::unique_ptr<Watcher> FollowerApplier::NewWatcher(int64_t revision) {
  return client_.Watch(keys_.Batches(), revision,
                       [this](const WatchEvent& event) { OnWatchEvent(event); });
}

void FollowerApplier::Start(int64_t revision) {
  watcher_ = NewWatcher(revision);
  thread_ = std::thread([this] { Loop(); });
}

void FollowerApplier::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

void FollowerApplier::Join() {
  if (thread_.joinable()) thread_.join();  // it alone replaces the watcher
  if (watcher_ != nullptr) watcher_->Stop();
}

void FollowerApplier::RequestResync() {
  std::lock_guard lock(mu_);
  resync_ = true;
  cv_.notify_all();
}

void FollowerApplier::OnWatchEvent(const WatchEvent& event) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || events_.size() < kMaxQueuedEvents; });
  if (stopping_) return;
  events_.push_back(event);
  cv_.notify_all();
}

void FollowerApplier::Loop() {
  for (;;) {
    std::optional<WatchEvent> event;
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
    }
    if (!state_.status().ok()) continue;
    const bool leader = state_.role() == NodeRole::kLeader;
    if (event.has_value() && event->type == WatchEvent::Type::kCompacted) {
      // The watcher has stopped (or seems stuck on a silent etcd member): watch again from now
      // and re-read from etcd, so nothing committed in between is missed (batches seen twice
      // are skipped).
      watcher_.reset();
      watcher_ = NewWatcher(0);
      RequestResync();
      continue;
    }
    if (leader) continue;  // its own batches
    std::unique_lock apply_lock = LockApply();
    if (state_.role() == NodeRole::kLeader) continue;  // became leader while waiting for it
    Follow(event);
  }
}

void FollowerApplier::Follow(const std::optional<WatchEvent>& event) {
  if (!event.has_value()) {
    if (auto revision = CatchUp(); !revision.ok()) {
      {
        std::lock_guard lock(mu_);
        resync_ = true;  // etcd or every peer unreachable: retry after a pause
      }
      state_.SleepUnlessStopping(kRetryPause);
    }
    return;
  }
  if (event->type != WatchEvent::Type::kPut) return;  // deletes are compaction
  const std::string prefix = keys_.Batches();
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

absl::StatusOr<int64_t> FollowerApplier::CatchUp() {
  if (!wait_for_own_commit_()) {
    return absl::UnavailableError("this node's own commit has not settled");
  }
  auto window_value = client_.Get(keys_.Window());
  if (window_value.ok()) {
    ReplicationWindow window;
    if (!window.ParseFromString(window_value->value) || window.first_sequence() < 1) {
      return absl::DataLossError("P/window does not parse");
    }
    state_.SetWindowFirst(window.first_sequence());
    if (state_.applied_sequence() + 1 < window.first_sequence()) {
      if (auto status = CatchUpFromPeers(window); !status.ok()) return status;
    }
  } else if (!absl::IsNotFound(window_value.status())) {
    return window_value.status();
  }
  const std::string prefix = keys_.Batches();
  std::string from = keys_.Batch(state_.applied_sequence() + 1);
  int64_t first_revision = 0;
  for (;;) {
    auto page = client_.GetPrefix(prefix, kMaxPageKeys, from);
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

absl::Status FollowerApplier::CatchUpFromPeers(const ReplicationWindow& window) {
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
        absl::Status status = absl::DataLossError("this log differs from the committed history");
        state_.Diverged(status);
        return status;
      }
    }
    state_.AppliedAtLeast(below);
    return absl::OkStatus();
  }
  auto listing = client_.GetPrefix(keys_.Nodes(), kMaxPageKeys, "");
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
  const NodeRole previous = state_.BeginCatchUp();
  LogNode(options_.node_id, "is behind the window (needs records from " + std::to_string(size) +
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
      state_.AppliedAtLeast(below);
      state_.EndCatchUp(previous);
      LogNode(options_.node_id, "caught up from " + peer.node_id() + " to position " +
                                    std::to_string(window.first_position()));
      return status;
    }
    LogNode(options_.node_id, "catch-up from " + peer.node_id() + " failed: " + status.ToString());
    if (absl::IsDataLoss(status) && options_.observer != nullptr) {
      options_.observer->OnCatchUpRejection();
    }
    if (absl::IsInternal(status)) {
      state_.Diverged(status);  // this node cannot apply the committed history: stop applying
      break;
    }
    last = status;
  }
  state_.EndCatchUp(previous);
  return last;
}

absl::Status FollowerApplier::ApplyOne(int64_t sequence, const std::string& value) {
  if (!wait_for_own_commit_()) {
    return absl::UnavailableError("this node's own commit has not settled");
  }
  auto next = state_.IsNext(sequence);
  if (!next.ok()) return next.status();
  if (!*next) return absl::OkStatus();
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
  if (status.ok()) {
    state_.Applied(sequence);
  } else if (fatal) {
    if (state_.StopApplying(status)) {
      LogNode(options_.node_id, "stops applying: " + status.ToString());
    }
  } else {
    std::lock_guard lock(mu_);
    resync_ = true;
  }
  return status;
}

void FollowerApplier::CheckWatch() {
  const NodeState::Snapshot state = state_.Get();
  std::lock_guard lock(mu_);
  const absl::Time now = absl::Now();
  if (state.role != NodeRole::kFollower || state.committed_sequence <= state.applied_sequence ||
      state.applied_sequence != watchdog_sequence_) {
    watchdog_sequence_ = state.applied_sequence;
    watchdog_since_ = now;
    return;
  }
  if (now - watchdog_since_ >= kWatchStall) {
    rewatch_ = true;
    watchdog_since_ = now;
    cv_.notify_all();
  }
}

}  // namespace lodestone::replication
