#include "services/ledger/backup_runner.h"

#include <utility>

namespace lodestone::ledger {

BackupRunner::BackupRunner(storage::Log& log, storage::BackupOptions options)
    : log_(log), options_(std::move(options)) {}

BackupRunner::~BackupRunner() { Stop(); }

absl::Status BackupRunner::Start(DoneFn done) {
  std::lock_guard lock(mu_);
  if (stopped_) return absl::UnavailableError("the node is shutting down");
  if (running_) {
    return absl::ResourceExhaustedError("a backup is already running (one at a time)");
  }
  running_ = true;
  if (thread_.joinable()) thread_.join();  // the previous one, finished
  thread_ = std::thread([this, done = std::move(done)] {
    absl::StatusOr<storage::BackupSummary> outcome = storage::BackupLog(log_, options_);
    {
      std::lock_guard lock(mu_);
      running_ = false;
    }
    done(std::move(outcome));
  });
  return absl::OkStatus();
}

void BackupRunner::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

}  // namespace lodestone::ledger
