#include "services/domain/errors.h"

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

constexpr Rejection kAllRejections[] = {
    Rejection::kMalformed,         Rejection::kUnknownEntity, Rejection::kInsufficientMass,
    Rejection::kWrongLocation,     Rejection::kMassBalance,   Rejection::kLineageCycle,
    Rejection::kAlreadyExists,     Rejection::kWrongState,    Rejection::kVersionConflict,
    Rejection::kDuplicateConflict, Rejection::kBatchTooLarge, Rejection::kOverloaded,
    Rejection::kPermissionDenied,
};

constexpr std::string_view kInternalLabel = "internal";

}  // namespace

absl::StatusCode CodeOf(Rejection rejection) {
  switch (rejection) {
    case Rejection::kMalformed:
    case Rejection::kMassBalance:
    case Rejection::kLineageCycle:
    case Rejection::kBatchTooLarge:
      return absl::StatusCode::kInvalidArgument;
    case Rejection::kUnknownEntity:
      return absl::StatusCode::kNotFound;
    case Rejection::kInsufficientMass:
    case Rejection::kWrongLocation:
    case Rejection::kWrongState:
      return absl::StatusCode::kFailedPrecondition;
    case Rejection::kAlreadyExists:
    case Rejection::kDuplicateConflict:
      return absl::StatusCode::kAlreadyExists;
    case Rejection::kVersionConflict:
      return absl::StatusCode::kAborted;
    case Rejection::kOverloaded:
      return absl::StatusCode::kResourceExhausted;
    case Rejection::kPermissionDenied:
      return absl::StatusCode::kPermissionDenied;
  }
  return absl::StatusCode::kInternal;  // a value outside the enum: a bug, never OK
}

std::string_view LabelOf(Rejection rejection) {
  switch (rejection) {
    case Rejection::kMalformed:
      return "malformed";
    case Rejection::kUnknownEntity:
      return "unknown_entity";
    case Rejection::kInsufficientMass:
      return "insufficient_mass";
    case Rejection::kWrongLocation:
      return "wrong_location";
    case Rejection::kMassBalance:
      return "mass_balance";
    case Rejection::kLineageCycle:
      return "lineage_cycle";
    case Rejection::kAlreadyExists:
      return "already_exists";
    case Rejection::kWrongState:
      return "wrong_state";
    case Rejection::kVersionConflict:
      return "version_conflict";
    case Rejection::kDuplicateConflict:
      return "duplicate_conflict";
    case Rejection::kBatchTooLarge:
      return "batch_too_large";
    case Rejection::kOverloaded:
      return "overloaded";
    case Rejection::kPermissionDenied:
      return "permission_denied";
  }
  return kInternalLabel;
}

absl::Status Reject(Rejection rejection, std::string_view message) {
  absl::Status status(CodeOf(rejection), ToAbsl(message));
  status.SetPayload(ToAbsl(kRejectionPayloadUrl), absl::Cord(ToAbsl(LabelOf(rejection))));
  return status;
}

std::optional<Rejection> RejectionOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const auto payload = status.GetPayload(ToAbsl(kRejectionPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  for (Rejection rejection : kAllRejections) {
    if (*payload == ToAbsl(LabelOf(rejection))) return rejection;
  }
  return std::nullopt;
}

std::string_view RejectionLabel(const absl::Status& status) {
  const std::optional<Rejection> rejection = RejectionOf(status);
  return rejection.has_value() ? LabelOf(*rejection) : kInternalLabel;
}

}  // namespace lodestone::domain
