// LedgerService.Backup: an online backup of this node's log, for nodes and the administrator.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/codec/backup_codec.h"
#include "services/ledger/ledger_service.h"
#include "services/rpc/grpc_status.h"
#include "storage/backup.h"

namespace lodestone::ledger {

grpc::ServerUnaryReactor* LedgerServiceImpl::Backup(grpc::CallbackServerContext* context,
                                                    const v1::BackupRequest* /*request*/,
                                                    v1::BackupResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto refuse = [reactor](const absl::Status& status) {
    reactor->Finish(rpc::ToGrpcStatus(status));
    return reactor;
  };
  if (identity_.has_value()) {
    auto caller = rpc::CallerFromContext(*context, *identity_);
    if (!caller.ok()) return refuse(caller.status());
    const bool node_or_admin = caller->kind != rpc::Caller::Kind::kParty ||
                               (!ledger_.options().authority.admin_party.empty() &&
                                caller->id == ledger_.options().authority.admin_party);
    if (!node_or_admin) {
      return refuse(absl::PermissionDeniedError(
          absl::StrCat("party '", caller->id,
                       "' may not back the ledger up: Backup is for ledger nodes and "
                       "the administrator")));
    }
  }
  if (backups_ == nullptr) {
    return refuse(absl::FailedPreconditionError(
        "this node has no backup directory (start it with --backup_dir)"));
  }
  absl::Status started =
      backups_->Start([reactor, response](absl::StatusOr<storage::BackupSummary> summary) {
        if (!summary.ok()) {
          reactor->Finish(rpc::ToGrpcStatus(summary.status()));
          return;
        }
        codec::BackupSummaryToProto(*summary, response);
        response->set_min_log_size(summary->min_log_size);
        reactor->Finish(grpc::Status::OK);
      });
  if (!started.ok()) return refuse(started);
  return reactor;
}

}  // namespace lodestone::ledger
