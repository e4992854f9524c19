// The write model: the state the ledger validates events against, behind an interface so that
// the domain knows nothing of where it is kept. The ledger keeps it in the same RocksDB write as
// the events; tests use InMemoryStateStore.
#ifndef LODESTONE_SERVICES_DOMAIN_STATE_STORE_H_
#define LODESTONE_SERVICES_DOMAIN_STATE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/domain/event.h"

namespace lodestone::domain {

// Persisted enums: never renumber.
enum class EntityStatus : int {
  kActive = 1,
  kRetracted = 2,  // its creating event was retracted; the id may be registered again
};

enum class LotStatus : int {
  kActive = 1,     // at `facility_id`, `remaining_g` available
  kInTransit = 2,  // on shipment `shipment_id`
  kRetracted = 3,  // its creating event was retracted; the id may be declared again
};

enum class ShipmentStatus : int {
  kDispatched = 1,
  kArrived = 2,
  kRetracted = 3,
};

struct PartyState {
  std::string name;
  std::string country;
  std::string parent_party_id;
  EntityStatus status = EntityStatus::kActive;
  std::string created_by_event_id;
  uint32_t active_signing_keys = 0;  // registered, not revoked: its events must be signed
  friend bool operator==(const PartyState&, const PartyState&) = default;
};

struct FacilityState {
  std::string operator_party_id;
  std::string country;
  std::string subdivision;
  FacilityKind kind = FacilityKind::kUnspecified;
  EntityStatus status = EntityStatus::kActive;
  std::string created_by_event_id;
  friend bool operator==(const FacilityState&, const FacilityState&) = default;
};

struct LotState {
  Material material = Material::kUnspecified;
  std::string hs_code;
  Grams mass_g = 0;         // mass when created
  Grams remaining_g = 0;    // mass not yet consumed by transformations
  std::string facility_id;  // where it is (the origin facility while in transit)
  std::string shipment_id;  // set while in transit
  LotStatus status = LotStatus::kActive;
  std::string created_by_event_id;
  friend bool operator==(const LotState&, const LotState&) = default;
};

struct ShipmentState {
  std::vector<ShipmentItem> items;
  std::string from_facility_id;
  std::string to_facility_id;
  std::string export_licence_id;
  ShipmentStatus status = ShipmentStatus::kDispatched;
  std::string dispatched_by_event_id;
  std::string arrived_by_event_id;
  friend bool operator==(const ShipmentState&, const ShipmentState&) = default;
};

struct LicenceState {
  std::string issuing_country;
  std::string exporter_party_id;
  Grams quantity_g = 0;
  EntityStatus status = EntityStatus::kActive;
  std::string created_by_event_id;
  friend bool operator==(const LicenceState&, const LicenceState&) = default;
};

enum class KeyStatus : int {
  kActive = 1,
  kRevoked = 2,
};

struct SigningKeyState {
  std::string public_key;
  KeyStatus status = KeyStatus::kActive;
  std::string registered_by_event_id;
  std::string revoked_by_event_id;  // empty while active
  friend bool operator==(const SigningKeyState&, const SigningKeyState&) = default;
};

// A party's key as one string: party id, 0x00, key id. Persisted by the ledger's store.
inline std::string SigningKeyKey(std::string_view party_id, std::string_view key_id) {
  std::string key(party_id);
  key.push_back('\0');
  key.append(key_id);
  return key;
}

// A role held by a party, as one string: party id, 0x00, the role's number, 0x00, scope (ids never
// hold 0x00). Persisted by the ledger's store: never change.
inline std::string RoleKey(std::string_view party_id, Role role, std::string_view scope) {
  std::string key(party_id);
  key.push_back('\0');
  key += std::to_string(static_cast<int>(role));
  key.push_back('\0');
  key.append(scope);
  return key;
}

// Reads see every write made earlier through the same store, including earlier events of the
// batch being validated. Errors from the store (I/O, corruption) are returned unchanged.
class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual absl::StatusOr<std::optional<PartyState>> GetParty(std::string_view id) = 0;
  virtual absl::Status PutParty(std::string_view id, const PartyState& state) = 0;
  virtual absl::StatusOr<std::optional<FacilityState>> GetFacility(std::string_view id) = 0;
  virtual absl::Status PutFacility(std::string_view id, const FacilityState& state) = 0;
  virtual absl::StatusOr<std::optional<LotState>> GetLot(std::string_view id) = 0;
  virtual absl::Status PutLot(std::string_view id, const LotState& state) = 0;
  virtual absl::StatusOr<std::optional<ShipmentState>> GetShipment(std::string_view id) = 0;
  virtual absl::Status PutShipment(std::string_view id, const ShipmentState& state) = 0;
  virtual absl::StatusOr<std::optional<LicenceState>> GetLicence(std::string_view id) = 0;
  virtual absl::Status PutLicence(std::string_view id, const LicenceState& state) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetTransformation(std::string_view id) = 0;
  // Records that transformation `id` was made by event `event_id`.
  virtual absl::Status PutTransformation(std::string_view id, std::string_view event_id) = 0;

  // Whether `party_id` holds `role` with `scope` (the licensing authority's country, the
  // delegate's principal party, empty for the other roles), and grant or revoke it.
  virtual absl::StatusOr<bool> HasRole(std::string_view party_id, Role role,
                                       std::string_view scope) = 0;
  virtual absl::Status PutRole(std::string_view party_id, Role role, std::string_view scope,
                               bool held) = 0;

  // A signing key registered for `party_id` under `key_id` (active or revoked).
  virtual absl::StatusOr<std::optional<SigningKeyState>> GetSigningKey(std::string_view party_id,
                                                                       std::string_view key_id) = 0;
  virtual absl::Status PutSigningKey(std::string_view party_id, std::string_view key_id,
                                     const SigningKeyState& state) = 0;

  // An event accepted earlier (committed, or earlier in the current batch), by event id.
  virtual absl::StatusOr<std::optional<Event>> FindEvent(std::string_view event_id) = 0;
  virtual absl::StatusOr<bool> IsRetracted(std::string_view event_id) = 0;
  virtual absl::Status MarkRetracted(std::string_view event_id) = 0;
};

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_STATE_STORE_H_
