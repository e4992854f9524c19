// Online backups of a Log or a view store (KvStore) and their restore (RocksDB's
// BackupEngine: table files shared between backups, so each backup copies only what is new;
// every file checksummed), and a runner that takes them off the RPC threads, one at a time.
//
// A backup is consistent: it is the database as of one instant during the call (the table
// files live then plus the write-ahead log), taken while commits and reads go on. It holds
// at least every record committed before the call began (`min_log_size`); it may hold a few
// more, never part of a commit group. A restore copies a backup into a new directory and
// then opens it as a Log and verifies it end to end (Log::Open checks the stored head, then
// Verify(0) every record's chain, leaf and indexes against the Merkle root) before saying OK.
//
// A view store's backup is the store as of one instant (its memtables flushed first: one
// column family, so the flush is that instant); it records the checkpoint the caller read
// before it began, and the restored store holds at least that checkpoint. Views are derived
// data: a restored store opens and its owner resumes folding from its checkpoint.
#ifndef LODESTONE_STORAGE_BACKUP_H_
#define LODESTONE_STORAGE_BACKUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/kv_store.h"
#include "storage/log.h"

namespace lodestone::storage {

struct BackupOptions {
  std::string directory;   // the backup directory (created if missing); not inside the log's
  uint32_t max_kept = 14;  // older backups are purged after a new one (1..1000)
};

// What a backup holds.
enum class BackupKind { kLog, kViews };

struct BackupSummary {
  uint32_t id = 0;
  BackupKind kind = BackupKind::kLog;
  // A log's: the head's size when the backup began. A view store's: the checkpoint the caller
  // gave (the events folded when it began).
  uint64_t min_log_size = 0;
  uint64_t size_bytes = 0;  // of the backup's files, shared ones included
  uint64_t new_bytes = 0;   // of the files no earlier kept backup had
  uint32_t files = 0;
  absl::Time created;
  uint32_t kept = 0;  // backups in the directory afterwards
  absl::Duration duration;
};

// Backs `log` up into `options.directory`. Safe alongside the committer and readers; one
// backup of a directory at a time (the caller serialises). INVALID_ARGUMENT: no directory, or
// max_kept out of range, or a Log that Log::Open did not return; RESOURCE_EXHAUSTED: the
// backup disk is full; UNAVAILABLE: other I/O errors (nothing of a failed backup is kept).
absl::StatusOr<BackupSummary> BackupLog(Log& log, const BackupOptions& options);

// Backs the view store `store` up into `options.directory`, recording `checkpoint` (read by
// the caller before the call) as its min_log_size. Same contract as BackupLog otherwise;
// INVALID_ARGUMENT for a store that KvStore::Open did not return.
absl::StatusOr<BackupSummary> BackupKvStore(KvStore& store, uint64_t checkpoint,
                                            const BackupOptions& options);

// The backups in `directory`, oldest first (kind, min_log_size, size, files, created;
// new_bytes, kept and duration are 0). A directory holds the backups of one store. NOT_FOUND when
// the directory holds no backup.
absl::StatusOr<std::vector<BackupSummary>> ListBackups(const std::string& directory);

struct RestoreSummary {
  uint32_t id = 0;
  Head head;  // of the restored, verified log
  absl::Duration duration;
};

// Restores backup `id` (0: the latest) of `directory` into `log_options.path`, which must
// not exist or be an empty directory (FAILED_PRECONDITION otherwise: a restore never
// overwrites a log), then opens and verifies it as described above. NOT_FOUND: no such backup;
// DATA_LOSS: a backup file's checksum, or the restored log, does not verify (the restored
// directory is then left for inspection). Never used on a running node's directory.
absl::StatusOr<RestoreSummary> RestoreLog(const std::string& directory, uint32_t id,
                                          const LogOptions& log_options);

struct ViewRestoreSummary {
  uint32_t id = 0;
  uint64_t min_checkpoint = 0;  // the checkpoint recorded with the backup
  absl::Duration duration;
};

// Restores view-store backup `id` (0: the latest) of `directory` into `options.path` (missing
// or empty, as for RestoreLog) and opens it. NOT_FOUND: no such backup; FAILED_PRECONDITION:
// the backup is a log's; DATA_LOSS: a file's checksum fails or the store does not open.
absl::StatusOr<ViewRestoreSummary> RestoreKvStore(const std::string& directory, uint32_t id,
                                                  const KvOptions& options);

// Runs backups on its own thread, never on an RPC thread, one at a time.
class BackupRunner {
 public:
  using BackupFn = std::function<absl::StatusOr<BackupSummary>()>;
  using DoneFn = std::function<void(absl::StatusOr<BackupSummary>)>;

  explicit BackupRunner(BackupFn backup);
  // Backups of `log` (which must outlive the runner) with `options`.
  static std::unique_ptr<BackupRunner> ForLog(Log& log, BackupOptions options);
  ~BackupRunner();  // waits for a running backup
  BackupRunner(const BackupRunner&) = delete;
  BackupRunner& operator=(const BackupRunner&) = delete;

  // Starts a backup on the runner's thread; `done` is called there with its outcome.
  // RESOURCE_EXHAUSTED (and `done` is not called) while another backup runs; UNAVAILABLE after
  // Stop.
  absl::Status Start(DoneFn done);
  void Stop();  // refuses new backups, waits for a running one

 private:
  const BackupFn backup_;
  std::mutex mu_;
  bool running_ = false;
  bool stopped_ = false;
  std::thread thread_;  // the last backup's
};

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_BACKUP_H_
