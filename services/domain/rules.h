// The write-side rules: what the ledger accepts. Pure functions of the event and the write
// model; no clock, randomness or I/O beyond the StateStore.
#ifndef LODESTONE_SERVICES_DOMAIN_RULES_H_
#define LODESTONE_SERVICES_DOMAIN_RULES_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/domain/event.h"
#include "services/domain/state_store.h"

namespace lodestone::domain {

// Limits on one event. Larger events are rejected as kMalformed.
inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxTextBytes = 1024;
inline constexpr size_t kMaxTransformationInputs = 1000;
inline constexpr size_t kMaxTransformationOutputs = 1000;
inline constexpr size_t kMaxShipmentItems = 1000;
inline constexpr size_t kMaxLicenceCodes = 100;
inline constexpr Grams kMaxMassG = int64_t{1} << 52;   // ~4.5 billion tonnes; keeps sums exact
inline constexpr size_t kMaxCorrectiveEventIds = 100;  // per EventRetracted
inline constexpr size_t kMaxAffiliateDepth = 64;       // parent-party chain walked on registration
// Ancestors walked when a retracted lot that was consumed is re-declared as a transformation
// output (to refuse a lineage loop); a larger ancestry is refused (kLineageCycle).
inline constexpr size_t kMaxLineageCheckLots = 100000;

// The entity kinds a subject may name.
inline constexpr std::string_view kSubjectKinds[] = {"party", "facility", "lot", "shipment",
                                                     "licence"};

// True when `id` is 1..kMaxIdBytes bytes of [A-Za-z0-9._:/-]: the rule for event ids and for
// party, facility, lot, shipment, licence and transformation ids.
bool IsWellFormedId(std::string_view id);

// An EPCIS eventID kept on a captured event: 1..kMaxEpcisEventIdBytes printable ASCII bytes.
inline constexpr size_t kMaxEpcisEventIdBytes = 512;
// True for a CBV 2.0 canonical event hash: "ni:///sha-256;<64 lower-case hex>?ver=CBV2.0".
bool IsEpcisEventHash(std::string_view hash);

// A parsed subject "<kind>/<id>": views into the parsed string.
struct SubjectRef {
  std::string_view kind;
  std::string_view id;
};
// The kind and id of `subject`, or std::nullopt when the kind is not one of kSubjectKinds or the
// id is not well formed. The id may itself contain '/': the kind ends at the first one.
std::optional<SubjectRef> ParseSubject(std::string_view subject);

// Stateless checks: envelope (event id, time, subject, actor), enums not UNSPECIFIED, ISO country
// and subdivision codes, HS codes, masses > 0 and <= kMaxMassG, limits, the subject names an
// entity the event concerns, outputs not heavier than inputs. Messages name the event id and
// the field, e.g. "event 'e-7': inputs[1].mass_g must be > 0".
absl::Status ValidateEvent(const Event& event);

// The times the ledger accepts: event times and licence validity bounds from 1900-01-01T00:00:00Z
// (no real shipment or licence is older) to 9999-12-31T23:59:59.999999999Z (the end of what
// RFC 3339 and protobuf's Timestamp represent), and no event time later than the commit time
// plus a skew. Times are stored exactly as sent; anything outside is refused, never clamped.
absl::Time EarliestAcceptedTime();  // 1900-01-01T00:00:00Z
absl::Time LatestAcceptedTime();    // 9999-12-31T23:59:59.999999999Z
inline constexpr absl::Duration kDefaultMaxFutureSkew = absl::Minutes(5);
// An event committed more than this after its event_time is late: accepted, marked
// (StoredEvent.late), and judged by time-dependent rules at both times (compliance.h).
inline constexpr absl::Duration kDefaultLateAfter = absl::Hours(7 * 24);
inline bool IsLate(absl::Time event_time, absl::Time commit_time, absl::Duration late_after) {
  return commit_time - event_time > late_after;
}

// Admission checks judged once, by the ledger that commits `event`, against that commit's time:
// the accepted time range above, and `event_time <= commit_time + max_future_skew` (a client's
// event time is a claim; the ledger's commit time is the trusted clock). kMalformed
// (INVALID_ARGUMENT) otherwise. Replicas applying a committed batch do not judge it again: the
// commit was the judgement.
absl::Status CheckEventTimes(const Event& event, absl::Time commit_time,
                             absl::Duration max_future_skew);

// Who holds authority outside the ledger's own data (docs/security.md).
struct Authority {
  // The bootstrap administrator party (--admin_party): may append anything on behalf of any
  // party, grant and revoke roles, retract any event. Empty: none.
  std::string admin_party;
};

// Checks `event` against the write model and applies its effects to `store`. Calls
// ValidateEvent first, then authorizes an attested event (`attested_by` set): the attester is
// the actor, a delegate of it, or the administrator, and the actor may say this (registrar for
// parties, facilities and roles; operator of the facility for lots, dispatches and arrivals;
// licensing authority of the issuing country for licences; only its own events retracted).
// Denials are kPermissionDenied (PERMISSION_DENIED) naming the rule. On error, `store` may hold
// some of this event's writes: the caller rolls them back (the ledger discards the whole batch).
absl::Status ApplyEvent(const Event& event, StateStore& store, const Authority& authority = {});

// Applies the effects of an event that was committed (a replica applying its leader's batch, a
// node replaying committed history) to `store`, without judging it again: no ValidateEvent, no
// authorization, no stateful rule. The commit was the judgement, by the rules of the build that
// made it; a rule tightened since must not stop a replica or a fresh node from applying what was
// accepted then (docs/write-model.md, "Committed events are not judged again"). Only what the
// effects need must exist (the lots a transformation consumes, the shipment that arrives, the
// retracted event, ...): INTERNAL otherwise, as the write model then does not match the log.
absl::Status ApplyCommittedEvent(const Event& event, StateStore& store);

// Read authorization (docs/security.md): whether `party` is party to `event`, so that a partner
// may read it: it appended it (attested_by), it is its actor, the event is about the party
// itself (its registration, roles, keys), it operates a facility the event names (where a lot
// was extracted, registered or transformed, a shipment's origin, destination or arrival), or it
// is a licence's exporter or end user. `operator_of` answers a facility's operator (empty when
// unknown). A retraction concerns the party when the retracted event does (`find_event`).
bool IsPartyTo(const Event& event, std::string_view party,
               const std::function<std::string(std::string_view facility_id)>& operator_of,
               const std::function<std::optional<Event>(std::string_view event_id)>& find_event);

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_RULES_H_
