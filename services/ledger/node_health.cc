#include "services/ledger/node_health.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace lodestone::ledger {
namespace {

// The log's write failure as appends get it.
absl::Status FromWriteFailure(const absl::Status& failure) {
  if (absl::IsResourceExhausted(failure)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this node's disk is full: ", failure.message()));
  }
  if (absl::IsDataLoss(failure)) {
    return absl::DataLossError(absl::StrCat("this node's log is damaged: ", failure.message()));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "this node's log failed a write (", failure.ToString(),
      ") and takes no appends until the node restarts; an append in flight then may or may not "
      "be written: re-send it, with the same event ids, after the restart or to another node"));
}

// The replication's stop as appends get it.
absl::Status FromReplication(const absl::Status& stopped) {
  const std::string message =
      absl::StrCat("this node stopped applying the cluster's batches: ", stopped.message());
  if (absl::IsDataLoss(stopped)) return absl::DataLossError(message);
  return absl::FailedPreconditionError(message);
}

}  // namespace

NodeHealth::NodeHealth(storage::Log& log, std::function<absl::Status()> replication)
    : log_(log), replication_(std::move(replication)) {}

NodeHealth::~NodeHealth() { Stop(); }

absl::Status NodeHealth::Check() const {
  if (absl::Status failure = log_.WriteFailure(); !failure.ok()) {
    return FromWriteFailure(failure);
  }
  if (replication_) {
    if (absl::Status stopped = replication_(); !stopped.ok()) return FromReplication(stopped);
  }
  return absl::OkStatus();
}

void NodeHealth::Watch(std::function<void(const absl::Status&)> changed, absl::Duration interval) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this, changed = std::move(changed), interval]() mutable {
    Run(std::move(changed), interval);
  });
}

void NodeHealth::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void NodeHealth::Run(std::function<void(const absl::Status&)> changed, absl::Duration interval) {
  absl::Status reported = Check();
  changed(reported);
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoMilliseconds(interval), [this] { return stopping_; })) {
    lock.unlock();
    if (absl::IsResourceExhausted(log_.WriteFailure())) log_.ResumeWrites().IgnoreError();
    absl::Status now = Check();
    if (now.code() != reported.code()) {
      changed(now);
      reported = std::move(now);
    }
    lock.lock();
  }
}

}  // namespace lodestone::ledger
