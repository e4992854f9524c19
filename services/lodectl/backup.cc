// lodectl backup (through LedgerService.Backup), backups and restore (local: storage/backup.h).
#include "storage/backup.h"

#include <iomanip>
#include <ostream>

#include "absl/strings/escaping.h"
#include "services/lodectl/lodectl.h"
#include "services/rpc/grpc_status.h"

namespace lodestone::lodectl {
namespace {

std::string HexOf(const storage::Hash& hash) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

int RestoreViews(const std::string& directory, uint32_t backup_id, const std::string& data_dir,
                 std::ostream& out) {
  storage::KvOptions options;
  options.path = data_dir;
  options.block_cache_bytes = size_t{16} << 20;
  options.write_buffer_bytes = size_t{16} << 20;
  auto restored = storage::RestoreKvStore(directory, backup_id, options);
  if (!restored.ok()) {
    const int code = ReportError("restore", rpc::ToGrpcStatus(restored.status()));
    return absl::IsDataLoss(restored.status()) ? kVerifyFailed : code;
  }
  out << "restored views backup " << restored->id << " into " << data_dir << ": at least "
      << restored->min_checkpoint << " events folded, every file's checksum verified in "
      << std::fixed << std::setprecision(2) << absl::ToDoubleSeconds(restored->duration)
      << " s; start lodestone-provenance --data_dir=" << data_dir
      << " to fold on from its checkpoint\n";
  return kOk;
}

}  // namespace

int Backup(Client& client, std::ostream& out) {
  v1::BackupResponse response;
  auto status = client.ledger().Backup(client.Context().get(), v1::BackupRequest(), &response);
  if (!status.ok()) return ReportError("backup", status);
  out << "backup " << response.backup_id() << ": at least " << response.min_log_size()
      << " events, " << response.size_bytes() << " bytes (" << response.new_bytes() << " new), "
      << response.backups_kept() << " kept, " << std::fixed << std::setprecision(2)
      << response.duration_seconds() << " s\n";
  return kOk;
}

int BackupViews(Client& client, std::ostream& out) {
  v1::BackupViewsResponse response;
  auto status =
      client.provenance().BackupViews(client.Context().get(), v1::BackupViewsRequest(), &response);
  if (!status.ok()) return ReportError("backup views", status);
  out << "views backup " << response.backup_id() << ": at least " << response.min_checkpoint()
      << " events folded, " << response.size_bytes() << " bytes (" << response.new_bytes()
      << " new), " << response.backups_kept() << " kept, " << std::fixed << std::setprecision(2)
      << response.duration_seconds() << " s\n";
  return kOk;
}

int ListBackups(const std::string& directory, std::ostream& out) {
  auto backups = storage::ListBackups(directory);
  if (!backups.ok()) return ReportError("backups", rpc::ToGrpcStatus(backups.status()));
  for (const storage::BackupSummary& backup : *backups) {
    const bool views = backup.kind == storage::BackupKind::kViews;
    out << (views ? "views backup " : "backup ") << backup.id << ": at least "
        << backup.min_log_size << (views ? " events folded, " : " events, ") << backup.size_bytes
        << " bytes, " << backup.files << " files, "
        << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", backup.created, absl::UTCTimeZone()) << "\n";
  }
  return kOk;
}

int Restore(const std::string& directory, uint32_t backup_id, const std::string& data_dir,
            std::ostream& out) {
  if (auto backups = storage::ListBackups(directory);
      backups.ok() && !backups->empty() && backups->back().kind == storage::BackupKind::kViews) {
    return RestoreViews(directory, backup_id, data_dir, out);
  }
  storage::LogOptions options;
  options.path = data_dir;
  options.block_cache_bytes = size_t{16} << 20;
  options.write_buffer_bytes = size_t{16} << 20;
  auto restored = storage::RestoreLog(directory, backup_id, options);
  if (!restored.ok()) {
    const int code = ReportError("restore", rpc::ToGrpcStatus(restored.status()));
    return absl::IsDataLoss(restored.status()) ? kVerifyFailed : code;
  }
  out << "restored backup " << restored->id << " into " << data_dir << ": size "
      << restored->head.size << ", root " << HexOf(restored->head.root) << ", chain "
      << HexOf(restored->head.chain) << "; head, chain and every record verified in " << std::fixed
      << std::setprecision(2) << absl::ToDoubleSeconds(restored->duration) << " s\n";
  return kOk;
}

}  // namespace lodestone::lodectl
