// Why the write side rejects an event: one enum for the domain, mapped to gRPC-compatible
// absl::StatusCode values in one place (errors.cc). The reason travels with the status as a
// payload so that metrics can count rejections by reason without parsing messages.
#ifndef LODESTONE_SERVICES_DOMAIN_ERRORS_H_
#define LODESTONE_SERVICES_DOMAIN_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace lodestone::domain {

enum class Rejection : int {
  kMalformed = 1,      // INVALID_ARGUMENT: a field is missing, malformed or out of range
  kUnknownEntity = 2,  // NOT_FOUND: a referenced party, facility, lot, shipment, licence or event
  kInsufficientMass = 3,    // FAILED_PRECONDITION: consumes or ships more than the lot holds
  kWrongLocation = 4,       // FAILED_PRECONDITION: lot not at the facility, or in transit
  kMassBalance = 5,         // INVALID_ARGUMENT: outputs heavier than all inputs
  kLineageCycle = 6,        // INVALID_ARGUMENT: a lot is both input and output, or repeated
  kAlreadyExists = 7,       // ALREADY_EXISTS: an entity id that is already registered
  kWrongState = 8,          // FAILED_PRECONDITION: e.g. arrival of a shipment that arrived
  kVersionConflict = 9,     // ABORTED: wrong expected stream version
  kDuplicateConflict = 10,  // ALREADY_EXISTS: event id reused with different content
  kBatchTooLarge = 11,      // INVALID_ARGUMENT: too many events or bytes in one append
  kOverloaded = 12,         // RESOURCE_EXHAUSTED: the commit queue is full; retry later
  kPermissionDenied = 13,   // PERMISSION_DENIED: the attester may not say this (security.md)
};

absl::StatusCode CodeOf(Rejection rejection);
// A short stable label for metrics ("unknown_entity", ...).
std::string_view LabelOf(Rejection rejection);

// A status with CodeOf(rejection), the message, and the rejection attached as a payload.
absl::Status Reject(Rejection rejection, std::string_view message);

// The label of the rejection attached to `status`, or "internal" when none is attached.
std::string_view RejectionLabel(const absl::Status& status);

// The type URL of the payload Reject() attaches; its value is LabelOf(rejection).
inline constexpr std::string_view kRejectionPayloadUrl = "type.lodestone.dev/lodestone.Rejection";

// The rejection attached to `status`, or std::nullopt when none is (an OK status, a store error).
std::optional<Rejection> RejectionOf(const absl::Status& status);

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_ERRORS_H_
