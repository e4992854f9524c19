#include "services/domain/in_memory_state_store.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/domain/rules.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

template <typename State>
std::optional<State> Lookup(const absl::flat_hash_map<std::string, State>& map,
                            std::string_view id) {
  auto it = map.find(ToAbsl(id));
  if (it == map.end()) return std::nullopt;
  return it->second;
}

template <typename State>
void Store(absl::flat_hash_map<std::string, State>& map, std::string_view id, const State& state) {
  map.insert_or_assign(std::string(id), state);
}

}  // namespace

absl::StatusOr<std::optional<PartyState>> InMemoryStateStore::GetParty(std::string_view id) {
  return Lookup(parties_, id);
}
absl::Status InMemoryStateStore::PutParty(std::string_view id, const PartyState& state) {
  Store(parties_, id, state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FacilityState>> InMemoryStateStore::GetFacility(std::string_view id) {
  return Lookup(facilities_, id);
}
absl::Status InMemoryStateStore::PutFacility(std::string_view id, const FacilityState& state) {
  Store(facilities_, id, state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LotState>> InMemoryStateStore::GetLot(std::string_view id) {
  return Lookup(lots_, id);
}
absl::Status InMemoryStateStore::PutLot(std::string_view id, const LotState& state) {
  Store(lots_, id, state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ShipmentState>> InMemoryStateStore::GetShipment(std::string_view id) {
  return Lookup(shipments_, id);
}
absl::Status InMemoryStateStore::PutShipment(std::string_view id, const ShipmentState& state) {
  Store(shipments_, id, state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LicenceState>> InMemoryStateStore::GetLicence(std::string_view id) {
  return Lookup(licences_, id);
}
absl::Status InMemoryStateStore::PutLicence(std::string_view id, const LicenceState& state) {
  Store(licences_, id, state);
  return absl::OkStatus();
}

absl::StatusOr<bool> InMemoryStateStore::HasRole(std::string_view party_id, Role role,
                                                 std::string_view scope) {
  return roles_.contains(RoleKey(party_id, role, scope));
}
absl::Status InMemoryStateStore::PutRole(std::string_view party_id, Role role,
                                         std::string_view scope, bool held) {
  if (held) {
    roles_.insert(RoleKey(party_id, role, scope));
  } else {
    roles_.erase(RoleKey(party_id, role, scope));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SigningKeyState>> InMemoryStateStore::GetSigningKey(
    std::string_view party_id, std::string_view key_id) {
  return Lookup(keys_, SigningKeyKey(party_id, key_id));
}
absl::Status InMemoryStateStore::PutSigningKey(std::string_view party_id, std::string_view key_id,
                                               const SigningKeyState& state) {
  Store(keys_, SigningKeyKey(party_id, key_id), state);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> InMemoryStateStore::GetTransformation(
    std::string_view id) {
  return Lookup(transformations_, id);
}
absl::Status InMemoryStateStore::PutTransformation(std::string_view id, std::string_view event_id) {
  Store(transformations_, id, std::string(event_id));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Event>> InMemoryStateStore::FindEvent(std::string_view event_id) {
  return Lookup(events_, event_id);
}

absl::StatusOr<bool> InMemoryStateStore::IsRetracted(std::string_view event_id) {
  return retracted_.contains(ToAbsl(event_id));
}

absl::Status InMemoryStateStore::MarkRetracted(std::string_view event_id) {
  retracted_.insert(std::string(event_id));
  return absl::OkStatus();
}

absl::Status InMemoryStateStore::RecordEvent(const Event& event) {
  const auto [it, inserted] = events_.try_emplace(event.event_id, event);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("event '", event.event_id, "' is already recorded"));
  }
  return absl::OkStatus();
}

bool operator==(const InMemoryStateStore& a, const InMemoryStateStore& b) {
  return a.parties_ == b.parties_ && a.facilities_ == b.facilities_ && a.lots_ == b.lots_ &&
         a.shipments_ == b.shipments_ && a.licences_ == b.licences_ &&
         a.transformations_ == b.transformations_ && a.events_ == b.events_ &&
         a.retracted_ == b.retracted_ && a.roles_ == b.roles_ && a.keys_ == b.keys_;
}

absl::Status ApplyAndRecord(const Event& event, InMemoryStateStore& store,
                            const Authority& authority) {
  InMemoryStateStore snapshot = store;
  absl::Status status = ApplyEvent(event, store, authority);
  if (status.ok()) status = store.RecordEvent(event);
  if (!status.ok()) store = std::move(snapshot);
  return status;
}

}  // namespace lodestone::domain
