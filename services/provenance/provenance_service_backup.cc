// ProvenanceService.BackupViews: an online backup of this replica's views, for nodes and the
// administrator.
#include <string>

#include "absl/strings/str_cat.h"
#include "services/codec/backup_codec.h"
#include "services/provenance/provenance_service.h"
#include "services/rpc/grpc_status.h"

namespace lodestone::provenance {

grpc::ServerUnaryReactor* ProvenanceServiceImpl::BackupViews(
    grpc::CallbackServerContext* context, const v1::BackupViewsRequest* /*request*/,
    v1::BackupViewsResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto refuse = [reactor](const absl::Status& status) {
    reactor->Finish(rpc::ToGrpcStatus(status));
    return reactor;
  };
  absl::StatusOr<std::string> party = CallingParty(*context);
  if (!party.ok()) return refuse(party.status());
  if (!party->empty() && (options_.admin_party.empty() || *party != options_.admin_party)) {
    return refuse(absl::PermissionDeniedError(
        absl::StrCat("party '", *party,
                     "' may not back the views up: BackupViews is for nodes and the "
                     "administrator")));
  }
  if (backups_ == nullptr) {
    return refuse(absl::FailedPreconditionError(
        "this replica has no backup directory (start it with --backup_dir)"));
  }
  absl::Status started =
      backups_->Start([reactor, response](absl::StatusOr<storage::BackupSummary> summary) {
        if (!summary.ok()) {
          reactor->Finish(rpc::ToGrpcStatus(summary.status()));
          return;
        }
        codec::BackupSummaryToProto(*summary, response);
        response->set_min_checkpoint(summary->min_log_size);
        reactor->Finish(grpc::Status::OK);
      });
  if (!started.ok()) return refuse(started);
  return reactor;
}

}  // namespace lodestone::provenance
