#include "services/provenance/runner.h"

#include <iostream>

#include "absl/time/clock.h"

namespace lodestone::provenance {

ProjectorRunner::ProjectorRunner(Projector& projector, EventSource& source, RunnerOptions options)
    : projector_(projector), source_(source), options_(options) {
  applied_ = projector_.next_position();
}

ProjectorRunner::~ProjectorRunner() { Stop(); }

void ProjectorRunner::Start() {
  applied_ = projector_.next_position();
  thread_ = std::thread([this] { Run(); });
  timeout_thread_ = std::thread([this] { RunTimeouts(); });
}

void ProjectorRunner::Stop() {
  if (stopping_.exchange(true)) return;
  source_.Cancel();
  {
    std::lock_guard lock(mu_);
    timeout_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (timeout_thread_.joinable()) timeout_thread_.join();
  // Whoever still waits learns that the position was not reached.
  std::multimap<uint64_t, Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    waiters.swap(waiters_);
  }
  for (auto& [position, waiter] : waiters) waiter.callback(false);
}

absl::Status ProjectorRunner::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

absl::Status ProjectorRunner::WhenApplied(uint64_t position, absl::Time deadline,
                                          std::function<void(bool)> callback) {
  {
    std::lock_guard lock(mu_);
    if (applied_.load() < position) {
      if (waiters_.size() >= options_.max_waiters) {
        return absl::ResourceExhaustedError("too many queries waiting for a ledger position");
      }
      waiters_.emplace(position, Waiter{position, deadline, std::move(callback)});
      timeout_cv_.notify_all();
      return absl::OkStatus();
    }
  }
  callback(true);
  return absl::OkStatus();
}

void ProjectorRunner::WakeReached() {
  std::vector<std::function<void(bool)>> ready;
  {
    std::lock_guard lock(mu_);
    const uint64_t applied = applied_.load();
    auto end = waiters_.upper_bound(applied);
    for (auto it = waiters_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second.callback));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& callback : ready) callback(true);
}

void ProjectorRunner::RunTimeouts() {
  std::unique_lock lock(mu_);
  while (!stopping_.load()) {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [position, waiter] : waiters_) next = std::min(next, waiter.deadline);
    if (next == absl::InfiniteFuture()) {
      timeout_cv_.wait_for(lock, std::chrono::seconds(1));
    } else {
      timeout_cv_.wait_for(
          lock, absl::ToChronoMilliseconds(std::max(next - absl::Now(), absl::ZeroDuration())));
    }
    const absl::Time now = absl::Now();
    std::vector<std::function<void(bool)>> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.callback));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (auto& callback : expired) callback(false);
    lock.lock();
  }
}

void ProjectorRunner::Run() {
  while (!stopping_.load()) {
    auto events =
        source_.Read(projector_.next_position(), options_.max_batch_events, options_.poll_wait);
    if (!events.ok()) {
      // The ledger is unreachable (the source reconnects by itself): try again.
      continue;
    }
    if (events->empty()) continue;
    const absl::Time start = absl::Now();
    absl::Status status;
    for (const auto& event : *events) {
      if (event.position() < projector_.next_position()) continue;  // already folded
      status = projector_.Apply(event);
      if (!status.ok()) break;
    }
    if (status.ok()) status = projector_.Commit();
    if (!status.ok()) {
      std::cerr << "provenance: projector stopped: " << status << std::endl;
      std::lock_guard lock(mu_);
      health_ = status;
      return;
    }
    applied_ = projector_.next_position();
    if (batch_listener_) batch_listener_(events->size(), absl::Now() - start);
    WakeReached();
  }
}

}  // namespace lodestone::provenance
