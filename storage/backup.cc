#include "storage/backup.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/backup_engine.h"
#include "services/base/status_macros.h"
#include "storage/log_internal.h"
#include "storage/rocks_util.h"

namespace lodestone::storage {
namespace {

constexpr char kMinLogSizeKey[] = "min_log_size=";      // a log's backup
constexpr char kCheckpointKey[] = "views_checkpoint=";  // a view store's

std::string Metadata(BackupKind kind, uint64_t min_size) {
  return absl::StrCat(kind == BackupKind::kLog ? kMinLogSizeKey : kCheckpointKey, min_size);
}

BackupSummary Summarize(const rocksdb::BackupInfo& info) {
  BackupSummary summary;
  summary.id = info.backup_id;
  absl::string_view text(info.app_metadata.data(), info.app_metadata.size());
  uint64_t size = 0;
  if (absl::ConsumePrefix(&text, kCheckpointKey))
    summary.kind = BackupKind::kViews;
  else
    absl::ConsumePrefix(&text, kMinLogSizeKey);
  if (absl::SimpleAtoi(text, &size)) summary.min_log_size = size;
  summary.size_bytes = info.size;
  summary.files = info.number_files;
  summary.created = absl::FromUnixSeconds(info.timestamp);
  return summary;
}

rocksdb::BackupEngineOptions EngineOptions(const std::string& directory) {
  rocksdb::BackupEngineOptions options(directory);
  options.sync = true;  // a backup is durable when it is reported
  options.share_table_files = true;
  options.share_files_with_checksum = true;
  options.max_background_operations = 1;  // copying must not starve the node
  options.max_valid_backups_to_open = 1000;
  return options;
}

std::set<std::string> FilesOf(const std::vector<rocksdb::BackupInfo>& infos) {
  std::set<std::string> files;
  for (const rocksdb::BackupInfo& info : infos) {
    for (const rocksdb::BackupFileInfo& file : info.file_details)
      files.insert(file.relative_filename);
  }
  return files;
}

// Backs `db` up. `min_size` is read by `min_size_fn` after the engine opened and before the
// copy begins: everything it counts is in the backup.
absl::StatusOr<BackupSummary> BackupDatabase(rocksdb::DB* db, BackupKind kind,
                                             const std::function<uint64_t()>& min_size_fn,
                                             const BackupOptions& options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("no backup directory");
  if (options.max_kept < 1 || options.max_kept > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("backups to keep must be 1..1000, not ", options.max_kept));
  }
  if (db == nullptr) return absl::InvalidArgumentError("not a store opened by storage/");
  const absl::Time start = absl::Now();
  LODESTONE_RETURN_IF_ERROR(CreateDirectories(nullptr, options.directory));
  rocksdb::BackupEngine* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngine::Open(EngineOptions(options.directory), rocksdb::Env::Default(), &raw),
      absl::StrCat("open backup directory ", options.directory)));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  std::vector<rocksdb::BackupInfo> before;
  engine->GetBackupInfo(&before, /*include_file_details=*/true);
  for (const rocksdb::BackupInfo& info : before) {
    if (Summarize(info).kind != kind) {
      return absl::FailedPreconditionError(absl::StrCat(
          options.directory, " holds backups of another kind of store (a log's or views')"));
    }
  }
  const std::set<std::string> shared = FilesOf(before);

  const uint64_t min_size = min_size_fn();
  rocksdb::CreateBackupOptions create;
  // A log: the WAL is copied, one consistent instant for all column families. A view store
  // (one column family, not synced): its memtable is flushed, which is that instant.
  create.flush_before_backup = kind == BackupKind::kViews;
  rocksdb::BackupID id = 0;
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(engine->CreateNewBackupWithMetadata(create, db, Metadata(kind, min_size), &id),
                absl::StrCat("back up into ", options.directory)));
  rocksdb::BackupInfo info;
  LODESTONE_RETURN_IF_ERROR(FromRocks(engine->GetBackupInfo(id, &info, true), "read backup"));
  BackupSummary summary = Summarize(info);
  for (const rocksdb::BackupFileInfo& file : info.file_details) {
    if (!shared.contains(file.relative_filename)) summary.new_bytes += file.size;
  }
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(engine->PurgeOldBackups(options.max_kept), "purge old backups"));
  std::vector<rocksdb::BackupInfo> after;
  engine->GetBackupInfo(&after);
  summary.kept = static_cast<uint32_t>(after.size());
  summary.duration = absl::Now() - start;
  return summary;
}

// Copies backup `id` (0: the latest) of `directory`, which must be of `kind`, into `path`
// (missing or empty), checking every file's checksum.
absl::StatusOr<BackupSummary> RestoreDatabase(const std::string& directory, uint32_t id,
                                              BackupKind kind, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("no directory to restore into");
  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_empty(path, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not empty: a restore goes into a new directory"));
  }
  LODESTONE_ASSIGN_OR_RETURN(std::vector<BackupSummary> backups, ListBackups(directory));
  const uint32_t wanted = id == 0 ? backups.back().id : id;
  const BackupSummary* chosen = nullptr;
  for (const BackupSummary& backup : backups) {
    if (backup.id == wanted) chosen = &backup;
  }
  if (chosen == nullptr) {
    return absl::NotFoundError(absl::StrCat("no backup ", wanted, " in ", directory));
  }
  if (chosen->kind != kind) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup ", wanted, " of ", directory, " is ",
                     chosen->kind == BackupKind::kLog ? "a ledger log's" : "a view store's",
                     "; restore it with the other command"));
  }
  LODESTONE_RETURN_IF_ERROR(CreateDirectories(nullptr, path));  // and its missing parents
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngineReadOnly::Open(EngineOptions(directory), rocksdb::Env::Default(), &raw),
      absl::StrCat("open backup directory ", directory)));
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  // Checks every file's checksum as it copies (a mismatch is Corruption: DATA_LOSS).
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), wanted, path, path),
                absl::StrCat("restore backup ", wanted, " of ", directory)));
  return *chosen;
}

}  // namespace

absl::StatusOr<BackupSummary> BackupLog(Log& log, const BackupOptions& options) {
  // Every record committed before the head is read is in the backup: the engine takes the
  // live files and the write-ahead log afterwards.
  return BackupDatabase(
      DatabaseOf(log), BackupKind::kLog, [&log] { return log.GetHead().size; }, options);
}

absl::StatusOr<BackupSummary> BackupKvStore(KvStore& store, uint64_t checkpoint,
                                            const BackupOptions& options) {
  return BackupDatabase(
      DatabaseOf(store), BackupKind::kViews, [checkpoint] { return checkpoint; }, options);
}

absl::StatusOr<std::vector<BackupSummary>> ListBackups(const std::string& directory) {
  std::error_code error;
  if (directory.empty() || !std::filesystem::is_directory(directory, error)) {
    return absl::NotFoundError(absl::StrCat("no backup directory '", directory, "'"));
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngineReadOnly::Open(EngineOptions(directory), rocksdb::Env::Default(), &raw),
      absl::StrCat("open backup directory ", directory)));
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  if (infos.empty()) return absl::NotFoundError(absl::StrCat("no backup in ", directory));
  std::vector<BackupSummary> out;
  for (const rocksdb::BackupInfo& info : infos) out.push_back(Summarize(info));
  return out;
}

absl::StatusOr<RestoreSummary> RestoreLog(const std::string& directory, uint32_t id,
                                          const LogOptions& log_options) {
  const absl::Time start = absl::Now();
  LODESTONE_ASSIGN_OR_RETURN(BackupSummary chosen,
                             RestoreDatabase(directory, id, BackupKind::kLog, log_options.path));
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(log_options);
  if (!log.ok()) {
    return absl::DataLossError(absl::StrCat("the restored log at ", log_options.path,
                                            " does not open: ", log.status().ToString()));
  }
  if (absl::Status verified = (*log)->Verify(0); !verified.ok()) {
    return absl::DataLossError(absl::StrCat("the restored log at ", log_options.path,
                                            " does not verify: ", verified.ToString()));
  }
  RestoreSummary summary;
  summary.id = chosen.id;
  summary.head = (*log)->GetHead();
  if (summary.head.size < chosen.min_log_size) {
    return absl::DataLossError(absl::StrCat("the restored log holds ", summary.head.size,
                                            " records; the backup was taken at ",
                                            chosen.min_log_size));
  }
  summary.duration = absl::Now() - start;
  return summary;
}

absl::StatusOr<ViewRestoreSummary> RestoreKvStore(const std::string& directory, uint32_t id,
                                                  const KvOptions& options) {
  const absl::Time start = absl::Now();
  LODESTONE_ASSIGN_OR_RETURN(BackupSummary chosen,
                             RestoreDatabase(directory, id, BackupKind::kViews, options.path));
  if (absl::StatusOr<std::unique_ptr<KvStore>> store = KvStore::Open(options); !store.ok()) {
    return absl::DataLossError(absl::StrCat("the restored view store at ", options.path,
                                            " does not open: ", store.status().ToString()));
  }
  ViewRestoreSummary summary;
  summary.id = chosen.id;
  summary.min_checkpoint = chosen.min_log_size;
  summary.duration = absl::Now() - start;
  return summary;
}

BackupRunner::BackupRunner(BackupFn backup) : backup_(std::move(backup)) {}

std::unique_ptr<BackupRunner> BackupRunner::ForLog(Log& log, BackupOptions options) {
  return std::make_unique<BackupRunner>(
      [&log, options = std::move(options)] { return BackupLog(log, options); });
}

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
    absl::StatusOr<BackupSummary> outcome = backup_();
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

}  // namespace lodestone::storage
