// A StateStore kept in hash maps: for tests, and for modules that replay events without the
// ledger's RocksDB (the load generator's oracle, the provenance tests).
//
// ApplyEvent never records the event it applies (the ledger's store finds events through its log
// index), so a caller of ApplyEvent on this store calls RecordEvent(event) once ApplyEvent has
// succeeded, or uses ApplyAndRecord(), which does both and rolls back on a rejection.
//
// Not thread-safe. Copyable: a copy is a snapshot, and operator== compares whole states, which is
// how tests check that a rejected event changed nothing.
#ifndef LODESTONE_SERVICES_DOMAIN_IN_MEMORY_STATE_STORE_H_
#define LODESTONE_SERVICES_DOMAIN_IN_MEMORY_STATE_STORE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/domain/event.h"
#include "services/domain/rules.h"
#include "services/domain/state_store.h"

namespace lodestone::domain {

class InMemoryStateStore : public StateStore {
 public:
  InMemoryStateStore() = default;
  InMemoryStateStore(const InMemoryStateStore&) = default;
  InMemoryStateStore& operator=(const InMemoryStateStore&) = default;
  InMemoryStateStore(InMemoryStateStore&&) = default;
  InMemoryStateStore& operator=(InMemoryStateStore&&) = default;
  ~InMemoryStateStore() override = default;

  absl::StatusOr<std::optional<PartyState>> GetParty(std::string_view id) override;
  absl::Status PutParty(std::string_view id, const PartyState& state) override;
  absl::StatusOr<std::optional<FacilityState>> GetFacility(std::string_view id) override;
  absl::Status PutFacility(std::string_view id, const FacilityState& state) override;
  absl::StatusOr<std::optional<LotState>> GetLot(std::string_view id) override;
  absl::Status PutLot(std::string_view id, const LotState& state) override;
  absl::StatusOr<std::optional<ShipmentState>> GetShipment(std::string_view id) override;
  absl::Status PutShipment(std::string_view id, const ShipmentState& state) override;
  absl::StatusOr<std::optional<LicenceState>> GetLicence(std::string_view id) override;
  absl::Status PutLicence(std::string_view id, const LicenceState& state) override;
  absl::StatusOr<std::optional<std::string>> GetTransformation(std::string_view id) override;
  absl::Status PutTransformation(std::string_view id, std::string_view event_id) override;

  absl::StatusOr<bool> HasRole(std::string_view party_id, Role role,
                               std::string_view scope) override;
  absl::Status PutRole(std::string_view party_id, Role role, std::string_view scope,
                       bool held) override;

  absl::StatusOr<std::optional<SigningKeyState>> GetSigningKey(std::string_view party_id,
                                                               std::string_view key_id) override;
  absl::Status PutSigningKey(std::string_view party_id, std::string_view key_id,
                             const SigningKeyState& state) override;

  // Finds events recorded with RecordEvent.
  absl::StatusOr<std::optional<Event>> FindEvent(std::string_view event_id) override;
  absl::StatusOr<bool> IsRetracted(std::string_view event_id) override;
  absl::Status MarkRetracted(std::string_view event_id) override;

  // Records an accepted event so that FindEvent finds it. Call it after ApplyEvent succeeded.
  // ALREADY_EXISTS when an event with this id was recorded before (the ledger's idempotency check
  // happens before ApplyEvent; here a second record is a caller bug).
  absl::Status RecordEvent(const Event& event);

  // Number of recorded events.
  size_t event_count() const { return events_.size(); }

  // Equal when every map and the recorded events are equal.
  friend bool operator==(const InMemoryStateStore& a, const InMemoryStateStore& b);

 private:
  absl::flat_hash_map<std::string, PartyState> parties_;
  absl::flat_hash_map<std::string, FacilityState> facilities_;
  absl::flat_hash_map<std::string, LotState> lots_;
  absl::flat_hash_map<std::string, ShipmentState> shipments_;
  absl::flat_hash_map<std::string, LicenceState> licences_;
  absl::flat_hash_map<std::string, std::string> transformations_;  // id -> event id
  absl::flat_hash_map<std::string, Event> events_;                 // event id -> event
  absl::flat_hash_set<std::string> retracted_;                     // event ids
  absl::flat_hash_set<std::string> roles_;                         // RoleKey of held roles
  absl::flat_hash_map<std::string, SigningKeyState> keys_;         // SigningKeyKey -> state
};

// ApplyEvent(event, store), then RecordEvent(event) on success. On any error the store is
// restored to its state before the call (a snapshot copy: meant for tests and small replays, not
// for hot paths).
absl::Status ApplyAndRecord(const Event& event, InMemoryStateStore& store,
                            const Authority& authority = {});

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_IN_MEMORY_STATE_STORE_H_
