// A backup's summary (storage/backup.h) as the wire's answers: the fields that
// LedgerService.Backup's BackupResponse and ProvenanceService.BackupViews' BackupViewsResponse
// share, in one place.
#ifndef LODESTONE_SERVICES_CODEC_BACKUP_CODEC_H_
#define LODESTONE_SERVICES_CODEC_BACKUP_CODEC_H_

#include "absl/time/time.h"
#include "storage/backup.h"

namespace lodestone::codec {

// Sets backup_id, size_bytes, new_bytes, backups_kept and duration_seconds; the caller sets
// what the summary's min_log_size means for its store (min_log_size, min_checkpoint).
template <typename Response>
void BackupSummaryToProto(const storage::BackupSummary& summary, Response* response) {
  response->set_backup_id(summary.id);
  response->set_size_bytes(summary.size_bytes);
  response->set_new_bytes(summary.new_bytes);
  response->set_backups_kept(summary.kept);
  response->set_duration_seconds(absl::ToDoubleSeconds(summary.duration));
}

}  // namespace lodestone::codec

#endif  // LODESTONE_SERVICES_CODEC_BACKUP_CODEC_H_
