#include "services/replication/replicated_node.h"

#include <algorithm>
#include <utility>

namespace lodestone::replication {
namespace {

using v1::internal::NodeProgress;
using v1::internal::ReplicatedBatch;

absl::Status CheckNodeId(const std::string& node_id, bool allow_empty) {
  if (node_id.empty() && !allow_empty) {
    return absl::InvalidArgumentError("a replicated node needs a node id");
  }
  if (node_id.find('/') != std::string::npos || node_id.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("a node id may not contain '/' or a newline");
  }
  return absl::OkStatus();
}

}  // namespace

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
  auto client = EtcdClient::Create(
      {.endpoints = options.etcd_endpoints, .tls_credentials = options.etcd_credentials});
  if (!client.ok()) return client.status();
  return std::unique_ptr<ReplicatedNode>(
      new ReplicatedNode(std::move(options), ledger, *std::move(client)));
}

ReplicatedNode::ReplicatedNode(ReplicatedNodeOptions options, ledger::Ledger& ledger,
                               std::unique_ptr<EtcdClient> client)
    : options_(std::move(options)),
      ledger_(ledger),
      keys_(options_.cluster),
      client_(std::move(client)),
      hook_([this](ReplicatedBatch& batch) { return committer_.Commit(batch); }),
      committer_(
          options_, keys_, *client_, ledger_, state_, [this] { return campaign_.key(); },
          [this] { return campaign_.leader_address(); },
          [this](const std::string& why) { StepDown(why); }),
      follower_(options_, keys_, *client_, ledger_, state_,
                [this] { return committer_.WaitForOwnCommit(); }),
      campaign_(
          options_, keys_, *client_, state_, [this] { return follower_.LockApply(); },
          [this] { return follower_.CatchUp().ok(); },
          [this](const std::string& why) { StepDown(why); }, [this] { follower_.RequestResync(); }),
      compactor_(
          CompactionPolicy{options_.min_durable_copies, options_.window_min_batches},
          options_.observer, keys_, *client_, ledger_, state_, [this] { return campaign_.key(); },
          [this](const std::string& why) { StepDown(why); }) {}

ReplicatedNode::~ReplicatedNode() { Stop(); }

void ReplicatedNode::StepDown(const std::string& why) {
  if (!state_.StepDown()) return;
  follower_.RequestResync();
  LogNode(options_.node_id, "steps down: " + why);
}

// --- lifecycle --------------------------------------------------------------------------------

absl::Status ReplicatedNode::SetAdvertiseAddress(std::string address) {
  if (state_.started()) {
    return absl::FailedPreconditionError("the node was started already");
  }
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
  if (auto status = state_.Start(*recorded); !status.ok()) return status;
  if (auto status = ledger_.SetReplicationHook(&hook_); !status.ok()) {
    state_.Stop();
    return status;
  }
  absl::StatusOr<int64_t> revision;
  {
    std::unique_lock apply_lock = follower_.LockApply();
    revision = follower_.CatchUp();
  }
  int64_t watch_from = 0;  // 0: from now
  if (revision.ok()) {
    watch_from = *revision + 1;
  } else {
    // etcd is not reachable yet (e.g. still starting), or no peer could help yet: serve reads,
    // and let the follow loop catch up (retrying) while the watcher connects; batches seen
    // twice are skipped.
    follower_.RequestResync();
  }
  follower_.Start(watch_from);
  campaign_.Start();
  housekeeping_thread_ = std::thread([this] { HousekeepingLoop(); });
  return absl::OkStatus();
}

void ReplicatedNode::Stop() {
  if (!state_.Stop()) return;
  committer_.Stop();
  follower_.Stop();
  (void)ledger_.SetReplicationHook(nullptr);  // waits for a Replicate in flight
  campaign_.Join();                           // cancels a campaign in progress; resigns
  if (housekeeping_thread_.joinable()) housekeeping_thread_.join();
  follower_.Join();
  campaign_.DropLease();
}

// --- accessors --------------------------------------------------------------------------------

absl::Status ReplicatedNode::Replicate(ReplicatedBatch& batch) { return committer_.Commit(batch); }

NodeRole ReplicatedNode::role() const { return state_.role(); }

std::string ReplicatedNode::leader_address() { return campaign_.leader_address(); }

uint64_t ReplicatedNode::applied_position() const { return ledger_.log().GetHead().size; }

int64_t ReplicatedNode::applied_sequence() const { return state_.applied_sequence(); }

ReplicationStatus ReplicatedNode::GetStatus() const {
  const NodeState::Snapshot state = state_.Get();
  return ReplicationStatus{state.role, campaign_.leader_id(), state.applied_sequence,
                           std::max(state.committed_sequence, state.applied_sequence),
                           state.window_first};
}

int64_t ReplicatedNode::lease_id() const { return campaign_.lease_id(); }

absl::Status ReplicatedNode::status() const { return state_.status(); }

// --- housekeeping -----------------------------------------------------------------------------

void ReplicatedNode::HousekeepingLoop() {
  for (;;) {
    if (state_.SleepUnlessStopping(options_.housekeeping_interval)) return;
    PublishProgress();
    campaign_.ObserveLeader();
    follower_.CheckWatch();
    if (state_.role() == NodeRole::kLeader) {
      if (auto status = compactor_.Compact(); !status.ok() && !Retryable(status)) {
        LogNode(options_.node_id, "compaction: " + status.ToString());
      }
    }
  }
}

void ReplicatedNode::PublishProgress() {
  NodeProgress progress;
  progress.set_node_id(options_.node_id);
  progress.set_advertise_address(options_.advertise_address);
  progress.set_applied_sequence(state_.applied_sequence());
  progress.set_applied_position(ledger_.log().GetHead().size);
  progress.set_time_micros(absl::ToUnixMicros(absl::Now()));
  if (progress.applied_sequence() != published_sequence_) {
    if (client_->Put(keys_.Key("nodes/" + options_.node_id), progress.SerializeAsString()).ok()) {
      published_sequence_ = progress.applied_sequence();
    }
  }
  int64_t committed = 0;
  if (auto current = client_->Get(keys_.Sequence());
      current.ok() && ParseSequence(current->value, committed)) {
    state_.SawCommitted(committed);
  }
}

}  // namespace lodestone::replication
