// The exit codes of the programs (lodestone-server, -ledger, -provenance), one per thing an
// operator does about it (docs/operations.md, "Exit codes"), so that an orchestrator or a
// runbook can tell "fix the flags" from "restore from a backup" without reading the log.
#ifndef LODESTONE_SERVICES_RPC_EXIT_CODES_H_
#define LODESTONE_SERVICES_RPC_EXIT_CODES_H_

#include "absl/status/status.h"

namespace lodestone::rpc {

inline constexpr int kExitStopped = 0;        // stopped by SIGTERM/SIGINT after draining
inline constexpr int kExitUnavailable = 1;    // a port or a peer was unavailable: retry
inline constexpr int kExitBadConfig = 2;      // flags or files given are wrong: fix them
inline constexpr int kExitNeedsOperator = 3;  // the data directory needs an action (a rebuild,
                                              // a migration, another directory)
inline constexpr int kExitDataLoss = 4;       // stored data failed a check: restore a backup
inline constexpr int kExitDiskFull = 5;       // no space: free some, then start again

// The exit code of a program that could not start (or must stop) because of `status`.
inline int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitStopped;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitBadConfig;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      return kExitNeedsOperator;
    case absl::StatusCode::kDataLoss:
      return kExitDataLoss;
    case absl::StatusCode::kResourceExhausted:
      return kExitDiskFull;
    default:
      return kExitUnavailable;
  }
}

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_EXIT_CODES_H_
