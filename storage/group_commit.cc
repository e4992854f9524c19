#include "storage/group_commit.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace lodestone::storage {

GroupCommitter::GroupCommitter(Log& log, GroupCommitOptions options)
    : log_(log), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

GroupCommitter::~GroupCommitter() { Stop(); }

absl::Status GroupCommitter::Submit(StageFn stage, DoneFn done) {
  return Enqueue(Request{std::move(stage), std::move(done), std::nullopt});
}

absl::Status GroupCommitter::SubmitAt(absl::Time commit_time, StageFn stage, DoneFn done) {
  return Enqueue(Request{std::move(stage), std::move(done), commit_time});
}

absl::Status GroupCommitter::Enqueue(Request request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("group committer is stopped");
    if (queue_.size() >= options_.max_queue_requests) {
      return absl::ResourceExhaustedError("commit queue is full");
    }
    queue_.push_back(std::move(request));
  }
  cv_.notify_one();
  return absl::OkStatus();
}

void GroupCommitter::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

GroupCommitter::Stats GroupCommitter::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{groups_, requests_, queue_.size()};
}

void GroupCommitter::SetGroupListener(
    std::function<void(size_t, size_t, absl::Duration)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  group_listener_ = std::move(listener);
}

void GroupCommitter::Run() {
  const size_t max_requests = std::max<size_t>(options_.max_group_requests, 1);
  const size_t max_records = std::max<size_t>(options_.max_group_records, 1);
  struct Staged {
    DoneFn done;
    std::optional<absl::Status> rejection;  // set when the request's stage failed
  };
  std::vector<Staged> group;
  group.reserve(max_requests);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
    }
    group.clear();
    std::unique_ptr<Txn> txn = log_.BeginTxn();
    size_t accepted = 0;
    std::optional<absl::Time> fixed_time;  // a request stamped by its submitter commits alone
    {
      std::lock_guard<std::mutex> lock(mu_);
      fixed_time = queue_.front().commit_time;
    }
    // The group's commit time is fixed before anything is staged, so that requests can judge
    // their events against it. Commit times never go back in position order, even if the clock
    // does (a stepped clock, or a new leader whose clock is behind the previous one's). Whole
    // microseconds: what the log stores.
    const absl::Time commit_time = absl::FromUnixMicros(
        absl::ToUnixMicros(fixed_time.value_or(std::max(options_.clock(), log_.GetHead().time))));
    txn->set_commit_time(commit_time);
    bool alone = false;  // a fixed-time request has been taken: the group is closed
    while (group.size() < max_requests && txn->staged_records() < max_records &&
           txn->staged_bytes() < options_.max_group_bytes && !alone) {
      Request request;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) break;
        if (queue_.front().commit_time.has_value() != fixed_time.has_value()) break;
        request = std::move(queue_.front());
        queue_.pop_front();
      }
      alone = request.commit_time.has_value();
      txn->SetSavePoint();
      absl::Status status = request.stage(*txn);
      if (status.ok()) {
        txn->PopSavePoint();
        ++accepted;
        group.push_back(Staged{std::move(request.done), std::nullopt});
      } else {
        txn->RollbackToSavePoint();
        group.push_back(Staged{std::move(request.done), std::move(status)});
      }
    }

    const size_t records = txn->staged_records();
    absl::Status commit_status;
    absl::Duration commit_duration;
    if (accepted > 0) {
      const absl::Time start = absl::Now();
      // A group stamped by its submitter (a follower applying its leader's batch) has been
      // replicated already.
      if (options_.before_commit && records > 0 && !fixed_time.has_value()) {
        commit_status = options_.before_commit(*txn, commit_time);
      }
      if (commit_status.ok()) commit_status = log_.Commit(*txn, commit_time);
      commit_duration = absl::Now() - start;
    }
    std::function<void(size_t, size_t, absl::Duration)> listener;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (accepted > 0) ++groups_;
      requests_ += group.size();
      listener = group_listener_;
    }
    // In submission order; a rejected request hears its own status after the group committed.
    for (Staged& staged : group) {
      if (staged.done) staged.done(staged.rejection.value_or(commit_status));
    }
    if (listener) listener(group.size(), commit_status.ok() ? records : 0, commit_duration);
  }
}

}  // namespace lodestone::storage
