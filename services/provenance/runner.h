// Runs the projector on its own thread: reads the ledger from an EventSource, folds, commits,
// and wakes queries waiting for a position (read-your-writes).
#ifndef LODESTONE_SERVICES_PROVENANCE_RUNNER_H_
#define LODESTONE_SERVICES_PROVENANCE_RUNNER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/provenance/event_source.h"
#include "services/provenance/projector.h"

namespace lodestone::provenance {

struct RunnerOptions {
  size_t max_batch_events = 5000;  // events folded per commit
  absl::Duration poll_wait = absl::Milliseconds(200);
  size_t max_waiters = 10000;  // queries waiting for a position; more: RESOURCE_EXHAUSTED
};

class ProjectorRunner {
 public:
  // Called once per committed batch, on the runner thread: (events, batch duration, lag).
  using BatchListener = std::function<void(size_t, absl::Duration)>;

  ProjectorRunner(Projector& projector, EventSource& source, RunnerOptions options = {});
  ~ProjectorRunner();

  void Start();
  void Stop();

  // Events folded and committed (what queries see).
  uint64_t applied_position() const { return applied_.load(); }
  // OK while folding; the error that stopped the projector otherwise.
  absl::Status health() const;

  // Runs `callback(true)` once applied_position() >= position, or `callback(false)` at
  // `deadline`; inline when already reached. Callbacks run on the runner's threads: they must
  // be short and must not block. RESOURCE_EXHAUSTED when too many are waiting.
  absl::Status WhenApplied(uint64_t position, absl::Time deadline,
                           std::function<void(bool)> callback);

  void SetBatchListener(BatchListener listener) { batch_listener_ = std::move(listener); }

 private:
  void Run();
  void RunTimeouts();
  void WakeReached();

  Projector& projector_;
  EventSource& source_;
  const RunnerOptions options_;
  std::atomic<uint64_t> applied_{0};
  std::atomic<bool> stopping_{false};
  BatchListener batch_listener_;
  mutable std::mutex mu_;
  std::condition_variable timeout_cv_;
  absl::Status health_;
  struct Waiter {
    uint64_t position;
    absl::Time deadline;
    std::function<void(bool)> callback;
  };
  std::multimap<uint64_t, Waiter> waiters_;  // by position
  std::thread thread_;
  std::thread timeout_thread_;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_RUNNER_H_
