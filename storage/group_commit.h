// Group commit: many concurrent callers, one committer thread, one synced write per group.
// Each request stages its writes into the group's Txn under a savepoint; a request that fails
// is rolled back alone. Knows nothing of what the requests mean.
#ifndef LODESTONE_STORAGE_GROUP_COMMIT_H_
#define LODESTONE_STORAGE_GROUP_COMMIT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/log.h"

namespace lodestone::storage {

struct GroupCommitOptions {
  size_t max_queue_requests = 4096;  // Submit beyond this returns RESOURCE_EXHAUSTED at once
  size_t max_group_requests = 512;   // requests per commit group
  size_t max_group_records = 20000;  // records per commit group (a request is never split)
  // Staged bytes (Txn::staged_bytes) after which a group takes no further request; a group is
  // at most this plus its last request.
  size_t max_group_bytes = SIZE_MAX;
  // Stamps commit times; a group is stamped no earlier than the log's last commit time.
  std::function<absl::Time()> clock = absl::Now;
  // Called with each group's staged Txn and its commit time before the group is written, e.g.
  // to replicate it; it may stage state writes (PutState) that commit with the group, but no
  // records. A non-OK status fails every accepted request of the group with that status and
  // nothing is written. Runs on the committer thread. Not called for SubmitAt groups.
  std::function<absl::Status(Txn& txn, absl::Time commit_time)> before_commit;
};

class GroupCommitter {
 public:
  // `stage` runs on the committer thread, with the group's Txn, inside a savepoint. A non-OK
  // status rolls the request's writes back and is passed to `done`.
  using StageFn = std::function<absl::Status(Txn& txn)>;
  // Runs on the committer thread after the group committed (OK) or failed; keep it short.
  using DoneFn = std::function<void(absl::Status status)>;

  struct Stats {
    uint64_t groups = 0;  // commits (syncs)
    uint64_t requests = 0;
    size_t queue_depth = 0;
  };

  GroupCommitter(Log& log, GroupCommitOptions options);
  ~GroupCommitter();  // Stops: drains queued requests first.

  // Enqueues. RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE after Stop(); `done` is not
  // called in those cases.
  absl::Status Submit(StageFn stage, DoneFn done);
  // As Submit, but the request is committed in a group of its own, stamped `commit_time` (a
  // follower applying a batch the leader committed at that time).
  absl::Status SubmitAt(absl::Time commit_time, StageFn stage, DoneFn done);

  // Stops accepting, commits everything already queued, joins the thread. Idempotent.
  void Stop();

  Stats GetStats() const;

  // Called after each group with (requests in group, records committed, commit duration).
  void SetGroupListener(std::function<void(size_t, size_t, absl::Duration)> listener);

 private:
  struct Request {
    StageFn stage;
    DoneFn done;
    std::optional<absl::Time> commit_time;  // set: a group of its own, stamped with it
  };
  absl::Status Enqueue(Request request);
  void Run();

  Log& log_;
  const GroupCommitOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  uint64_t groups_ = 0;
  uint64_t requests_ = 0;
  std::function<void(size_t, size_t, absl::Duration)> group_listener_;
  std::thread thread_;
};

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_GROUP_COMMIT_H_
