// Runs online backups of the ledger's log (storage/backup.h) off the gRPC threads, one at a
// time.
#ifndef LODESTONE_SERVICES_LEDGER_BACKUP_RUNNER_H_
#define LODESTONE_SERVICES_LEDGER_BACKUP_RUNNER_H_

#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/backup.h"
#include "storage/log.h"

namespace lodestone::ledger {

class BackupRunner {
 public:
  using DoneFn = std::function<void(absl::StatusOr<storage::BackupSummary>)>;

  BackupRunner(storage::Log& log, storage::BackupOptions options);
  ~BackupRunner();  // waits for a running backup
  BackupRunner(const BackupRunner&) = delete;
  BackupRunner& operator=(const BackupRunner&) = delete;

  // Starts a backup on the runner's thread; `done` is called there with its outcome.
  // RESOURCE_EXHAUSTED (and `done` is not called) while another backup runs; UNAVAILABLE after
  // Stop.
  absl::Status Start(DoneFn done);
  void Stop();  // refuses new backups, waits for a running one

 private:
  storage::Log& log_;
  const storage::BackupOptions options_;
  std::mutex mu_;
  bool running_ = false;
  bool stopped_ = false;
  std::thread thread_;  // the last backup's
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_BACKUP_RUNNER_H_
