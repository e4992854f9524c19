// Online backups of a Log and their restore (RocksDB's BackupEngine: table files shared
// between backups, so each backup copies only what is new; every file checksummed).
//
// A backup is consistent: it is the database as of one instant during the call (the table
// files live then plus the write-ahead log), taken while commits and reads go on. It holds
// at least every record committed before the call began (`min_log_size`); it may hold a few
// more, never part of a commit group. A restore copies a backup into a new directory and
// then opens it as a Log and verifies it end to end (Log::Open checks the stored head, then
// Verify(0) every record's chain, leaf and indexes against the Merkle root) before saying OK.
#ifndef LODESTONE_STORAGE_BACKUP_H_
#define LODESTONE_STORAGE_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/log.h"

namespace lodestone::storage {

struct BackupOptions {
  std::string directory;   // the backup directory (created if missing); not inside the log's
  uint32_t max_kept = 14;  // older backups are purged after a new one (1..1000)
};

struct BackupSummary {
  uint32_t id = 0;
  uint64_t min_log_size = 0;  // the head's size when the backup began
  uint64_t size_bytes = 0;    // of the backup's files, shared ones included
  uint64_t new_bytes = 0;     // of the files no earlier kept backup had
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

// The backups in `directory`, oldest first (min_log_size, size, files, created; new_bytes,
// kept and duration are 0). NOT_FOUND when the directory holds no backup.
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

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_BACKUP_H_
