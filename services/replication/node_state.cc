#include "services/replication/node_state.h"

#include <algorithm>
#include <string>
#include <utility>

namespace lodestone::replication {

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

absl::Status NodeState::Start(int64_t applied_sequence) {
  std::lock_guard lock(mu_);
  if (started_) return absl::FailedPreconditionError("the node was started already");
  started_ = true;
  role_ = NodeRole::kFollower;
  applied_sequence_ = applied_sequence;
  return absl::OkStatus();
}

bool NodeState::Stop() {
  std::lock_guard lock(mu_);
  if (!started_ || stopping_) return false;
  stopping_ = true;
  role_ = NodeRole::kStopped;
  cv_.notify_all();
  return true;
}

bool NodeState::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

bool NodeState::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool NodeState::SleepUnlessStopping(absl::Duration pause) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(pause), [this] { return stopping_; });
}

NodeState::Snapshot NodeState::Get() const {
  std::lock_guard lock(mu_);
  return Snapshot{role_, applied_sequence_, committed_sequence_, window_first_};
}

NodeRole NodeState::role() const {
  std::lock_guard lock(mu_);
  return role_;
}

int64_t NodeState::applied_sequence() const {
  std::lock_guard lock(mu_);
  return applied_sequence_;
}

absl::Status NodeState::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

bool NodeState::StepDown() {
  std::lock_guard lock(mu_);
  if (role_ != NodeRole::kLeader) return false;
  role_ = NodeRole::kFollower;
  cv_.notify_all();
  return true;
}

void NodeState::WaitWhileLeading() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || role_ != NodeRole::kLeader; });
}

bool NodeState::TryLead(int64_t committed) {
  std::lock_guard lock(mu_);
  if (stopping_ || !status_.ok() || applied_sequence_ != committed) return false;
  role_ = NodeRole::kLeader;
  committed_sequence_ = committed;
  return true;
}

absl::Status NodeState::FailLeader(absl::Status status) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
  role_ = NodeRole::kFollower;
  cv_.notify_all();
  return status_;
}

void NodeState::CommittedOwn(int64_t sequence) {
  std::lock_guard lock(mu_);
  applied_sequence_ = sequence;
  committed_sequence_ = std::max(committed_sequence_, sequence);
}

absl::StatusOr<bool> NodeState::IsNext(int64_t sequence) const {
  std::lock_guard lock(mu_);
  if (!status_.ok()) return status_;
  if (sequence <= applied_sequence_) return false;
  if (sequence > applied_sequence_ + 1) {
    return absl::FailedPreconditionError("gap: batch " + std::to_string(sequence) + " after " +
                                         std::to_string(applied_sequence_));
  }
  return true;
}

void NodeState::Applied(int64_t sequence) {
  std::lock_guard lock(mu_);
  applied_sequence_ = sequence;
  committed_sequence_ = std::max(committed_sequence_, sequence);
}

bool NodeState::StopApplying(absl::Status status) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  status_ = std::move(status);
  return true;
}

void NodeState::Diverged(absl::Status status) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
}

void NodeState::AppliedAtLeast(int64_t sequence) {
  std::lock_guard lock(mu_);
  applied_sequence_ = std::max(applied_sequence_, sequence);
}

void NodeState::SawCommitted(int64_t sequence) {
  std::lock_guard lock(mu_);
  committed_sequence_ = std::max(committed_sequence_, sequence);
}

void NodeState::SetWindowFirst(int64_t first) {
  std::lock_guard lock(mu_);
  window_first_ = first;
}

NodeRole NodeState::BeginCatchUp() {
  std::lock_guard lock(mu_);
  return std::exchange(role_, NodeRole::kCatchingUp);
}

void NodeState::EndCatchUp(NodeRole previous) {
  std::lock_guard lock(mu_);
  if (role_ == NodeRole::kCatchingUp) role_ = previous;
}

}  // namespace lodestone::replication
