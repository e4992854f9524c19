#include "storage/backup.h"

#include <filesystem>
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

constexpr char kMinLogSizeKey[] = "min_log_size=";

std::string Metadata(uint64_t min_log_size) { return absl::StrCat(kMinLogSizeKey, min_log_size); }

uint64_t MinLogSize(const std::string& metadata) {
  absl::string_view text(metadata.data(), metadata.size());
  uint64_t size = 0;
  if (!absl::ConsumePrefix(&text, kMinLogSizeKey) || !absl::SimpleAtoi(text, &size)) return 0;
  return size;
}

BackupSummary Summarize(const rocksdb::BackupInfo& info) {
  BackupSummary summary;
  summary.id = info.backup_id;
  summary.min_log_size = MinLogSize(info.app_metadata);
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

}  // namespace

absl::StatusOr<BackupSummary> BackupLog(Log& log, const BackupOptions& options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("no backup directory");
  if (options.max_kept < 1 || options.max_kept > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("backups to keep must be 1..1000, not ", options.max_kept));
  }
  rocksdb::DB* db = DatabaseOf(log);
  if (db == nullptr) return absl::InvalidArgumentError("not a Log returned by Log::Open");
  const absl::Time start = absl::Now();
  LODESTONE_RETURN_IF_ERROR(CreateDirectories(nullptr, options.directory));
  rocksdb::BackupEngine* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngine::Open(EngineOptions(options.directory), rocksdb::Env::Default(), &raw),
      absl::StrCat("open backup directory ", options.directory)));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  std::vector<rocksdb::BackupInfo> before;
  engine->GetBackupInfo(&before, /*include_file_details=*/true);
  const std::set<std::string> shared = FilesOf(before);

  // Every record committed before this point is in the backup: the engine takes the live
  // files and the write-ahead log afterwards.
  const uint64_t min_log_size = log.GetHead().size;
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = false;  // the WAL is copied: one consistent instant for all families
  rocksdb::BackupID id = 0;
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(engine->CreateNewBackupWithMetadata(create, db, Metadata(min_log_size), &id),
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
  if (log_options.path.empty()) return absl::InvalidArgumentError("no directory to restore into");
  const absl::Time start = absl::Now();
  std::error_code error;
  if (std::filesystem::exists(log_options.path, error) &&
      !std::filesystem::is_empty(log_options.path, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", log_options.path, "' is not empty: a restore goes into a new directory"));
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
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(FromRocks(
      rocksdb::BackupEngineReadOnly::Open(EngineOptions(directory), rocksdb::Env::Default(), &raw),
      absl::StrCat("open backup directory ", directory)));
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  // Checks every file's checksum as it copies (a mismatch is Corruption: DATA_LOSS).
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), wanted, log_options.path,
                                            log_options.path),
                absl::StrCat("restore backup ", wanted, " of ", directory)));
  engine.reset();

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
  summary.id = wanted;
  summary.head = (*log)->GetHead();
  if (summary.head.size < chosen->min_log_size) {
    return absl::DataLossError(absl::StrCat("the restored log holds ", summary.head.size,
                                            " records; the backup was taken at ",
                                            chosen->min_log_size));
  }
  summary.duration = absl::Now() - start;
  return summary;
}

}  // namespace lodestone::storage
