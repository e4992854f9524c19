#include "services/ledger/txn_state_store.h"

#include "absl/strings/str_cat.h"
#include "lodestone/v1/state.pb.h"
#include "services/codec/event_codec.h"

namespace lodestone::ledger {
namespace {

namespace d = ::lodestone::domain;
namespace pb = ::lodestone::v1::internal;

// Key prefixes of the state space. Persisted: never change.
constexpr std::string_view kParty = "p/";
constexpr std::string_view kFacility = "f/";
constexpr std::string_view kLot = "l/";
constexpr std::string_view kShipment = "s/";
constexpr std::string_view kLicence = "c/";
constexpr std::string_view kTransformation = "t/";
constexpr std::string_view kRetracted = "r/";
constexpr std::string_view kRole = "o/";        // + domain::RoleKey; present (empty value) = held
constexpr std::string_view kSigningKey = "k/";  // + domain::SigningKeyKey

std::string Key(std::string_view prefix, std::string_view id) {
  std::string key;
  key.reserve(prefix.size() + id.size());
  key.append(prefix).append(id);
  return key;
}

template <typename Proto>
absl::StatusOr<std::optional<Proto>> Load(storage::Txn& txn, std::string_view prefix,
                                          std::string_view id) {
  auto value = txn.GetState(Key(prefix, id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<Proto>();
  Proto proto;
  if (!proto.ParseFromString(**value)) {
    return absl::DataLossError("write model: cannot parse state " + Key(prefix, id));
  }
  return std::optional<Proto>(std::move(proto));
}

template <typename Proto>
absl::Status Store(storage::Txn& txn, std::string_view prefix, std::string_view id,
                   const Proto& proto) {
  txn.PutState(Key(prefix, id), proto.SerializeAsString());
  return absl::OkStatus();
}

template <typename To, typename From>
To Cast(From value) {
  return static_cast<To>(static_cast<int>(value));
}

}  // namespace

absl::StatusOr<std::optional<d::PartyState>> TxnStateStore::GetParty(std::string_view id) {
  auto proto = Load<pb::PartyState>(txn_, kParty, id);
  if (!proto.ok()) return proto.status();
  if (!proto->has_value()) return std::optional<d::PartyState>();
  const auto& p = **proto;
  return std::optional<d::PartyState>(
      d::PartyState{p.name(), p.country(), p.parent_party_id(), Cast<d::EntityStatus>(p.status()),
                    p.created_by_event_id(), p.active_signing_keys()});
}

absl::Status TxnStateStore::PutParty(std::string_view id, const d::PartyState& s) {
  pb::PartyState p;
  p.set_name(s.name);
  p.set_country(s.country);
  p.set_parent_party_id(s.parent_party_id);
  p.set_status(static_cast<int>(s.status));
  p.set_created_by_event_id(s.created_by_event_id);
  p.set_active_signing_keys(s.active_signing_keys);
  return Store(txn_, kParty, id, p);
}

absl::StatusOr<std::optional<d::FacilityState>> TxnStateStore::GetFacility(std::string_view id) {
  auto proto = Load<pb::FacilityState>(txn_, kFacility, id);
  if (!proto.ok()) return proto.status();
  if (!proto->has_value()) return std::optional<d::FacilityState>();
  const auto& p = **proto;
  return std::optional<d::FacilityState>(d::FacilityState{
      p.operator_party_id(), p.country(), p.subdivision(), Cast<d::FacilityKind>(p.kind()),
      Cast<d::EntityStatus>(p.status()), p.created_by_event_id()});
}

std::string TxnStateStore::FacilityStateKey(std::string_view id) { return Key(kFacility, id); }

absl::StatusOr<std::string> TxnStateStore::DecodeFacilityOperator(
    const std::optional<std::string>& value) {
  if (!value.has_value()) return std::string();
  pb::FacilityState p;
  if (!p.ParseFromString(*value)) {
    return absl::DataLossError("write model: cannot parse a facility state");
  }
  return p.operator_party_id();
}

absl::Status TxnStateStore::PutFacility(std::string_view id, const d::FacilityState& s) {
  pb::FacilityState p;
  p.set_operator_party_id(s.operator_party_id);
  p.set_country(s.country);
  p.set_subdivision(s.subdivision);
  p.set_kind(Cast<v1::FacilityKind>(s.kind));
  p.set_status(static_cast<int>(s.status));
  p.set_created_by_event_id(s.created_by_event_id);
  return Store(txn_, kFacility, id, p);
}

absl::StatusOr<std::optional<d::LotState>> TxnStateStore::GetLot(std::string_view id) {
  auto proto = Load<pb::LotState>(txn_, kLot, id);
  if (!proto.ok()) return proto.status();
  if (!proto->has_value()) return std::optional<d::LotState>();
  const auto& p = **proto;
  return std::optional<d::LotState>(d::LotState{
      Cast<d::Material>(p.material()), p.hs_code(), p.mass_g(), p.remaining_g(), p.facility_id(),
      p.shipment_id(), Cast<d::LotStatus>(p.status()), p.created_by_event_id()});
}

absl::Status TxnStateStore::PutLot(std::string_view id, const d::LotState& s) {
  pb::LotState p;
  p.set_material(Cast<v1::Material>(s.material));
  p.set_hs_code(s.hs_code);
  p.set_mass_g(s.mass_g);
  p.set_remaining_g(s.remaining_g);
  p.set_facility_id(s.facility_id);
  p.set_shipment_id(s.shipment_id);
  p.set_status(static_cast<int>(s.status));
  p.set_created_by_event_id(s.created_by_event_id);
  return Store(txn_, kLot, id, p);
}

absl::StatusOr<std::optional<d::ShipmentState>> TxnStateStore::GetShipment(std::string_view id) {
  auto proto = Load<pb::ShipmentState>(txn_, kShipment, id);
  if (!proto.ok()) return proto.status();
  if (!proto->has_value()) return std::optional<d::ShipmentState>();
  const auto& p = **proto;
  d::ShipmentState s;
  for (const auto& item : p.items()) s.items.push_back({item.lot_id(), item.mass_g()});
  s.from_facility_id = p.from_facility_id();
  s.to_facility_id = p.to_facility_id();
  s.export_licence_id = p.export_licence_id();
  s.status = Cast<d::ShipmentStatus>(p.status());
  s.dispatched_by_event_id = p.dispatched_by_event_id();
  s.arrived_by_event_id = p.arrived_by_event_id();
  return std::optional<d::ShipmentState>(std::move(s));
}

absl::Status TxnStateStore::PutShipment(std::string_view id, const d::ShipmentState& s) {
  pb::ShipmentState p;
  for (const auto& item : s.items) {
    auto* x = p.add_items();
    x->set_lot_id(item.lot_id);
    x->set_mass_g(item.mass_g);
  }
  p.set_from_facility_id(s.from_facility_id);
  p.set_to_facility_id(s.to_facility_id);
  p.set_export_licence_id(s.export_licence_id);
  p.set_status(static_cast<int>(s.status));
  p.set_dispatched_by_event_id(s.dispatched_by_event_id);
  p.set_arrived_by_event_id(s.arrived_by_event_id);
  return Store(txn_, kShipment, id, p);
}

absl::StatusOr<std::optional<d::LicenceState>> TxnStateStore::GetLicence(std::string_view id) {
  auto proto = Load<pb::LicenceState>(txn_, kLicence, id);
  if (!proto.ok()) return proto.status();
  if (!proto->has_value()) return std::optional<d::LicenceState>();
  const auto& p = **proto;
  return std::optional<d::LicenceState>(
      d::LicenceState{p.issuing_country(), p.exporter_party_id(), p.quantity_g(),
                      Cast<d::EntityStatus>(p.status()), p.created_by_event_id()});
}

absl::Status TxnStateStore::PutLicence(std::string_view id, const d::LicenceState& s) {
  pb::LicenceState p;
  p.set_issuing_country(s.issuing_country);
  p.set_exporter_party_id(s.exporter_party_id);
  p.set_quantity_g(s.quantity_g);
  p.set_status(static_cast<int>(s.status));
  p.set_created_by_event_id(s.created_by_event_id);
  return Store(txn_, kLicence, id, p);
}

absl::StatusOr<std::optional<std::string>> TxnStateStore::GetTransformation(std::string_view id) {
  return txn_.GetState(Key(kTransformation, id));
}

absl::Status TxnStateStore::PutTransformation(std::string_view id, std::string_view event_id) {
  txn_.PutState(Key(kTransformation, id), event_id);
  return absl::OkStatus();
}

std::string TxnStateStore::SigningKeyStateKey(std::string_view party_id, std::string_view key_id) {
  return Key(kSigningKey, d::SigningKeyKey(party_id, key_id));
}

absl::StatusOr<std::optional<d::SigningKeyState>> TxnStateStore::DecodeSigningKey(
    const std::optional<std::string>& value) {
  if (!value.has_value()) return std::optional<d::SigningKeyState>();
  pb::SigningKeyState p;
  if (!p.ParseFromString(*value)) {
    return absl::DataLossError("write model: cannot parse a signing key state");
  }
  return std::optional<d::SigningKeyState>(
      d::SigningKeyState{p.public_key(), Cast<d::KeyStatus>(p.status()), p.registered_by_event_id(),
                         p.revoked_by_event_id()});
}

absl::StatusOr<std::optional<d::SigningKeyState>> TxnStateStore::GetSigningKey(
    std::string_view party_id, std::string_view key_id) {
  auto value = txn_.GetState(SigningKeyStateKey(party_id, key_id));
  if (!value.ok()) return value.status();
  return DecodeSigningKey(*value);
}

absl::Status TxnStateStore::PutSigningKey(std::string_view party_id, std::string_view key_id,
                                          const d::SigningKeyState& s) {
  pb::SigningKeyState p;
  p.set_public_key(s.public_key);
  p.set_status(static_cast<int>(s.status));
  p.set_registered_by_event_id(s.registered_by_event_id);
  p.set_revoked_by_event_id(s.revoked_by_event_id);
  txn_.PutState(SigningKeyStateKey(party_id, key_id), p.SerializeAsString());
  return absl::OkStatus();
}

std::string TxnStateStore::RoleStateKey(std::string_view party_id, d::Role role,
                                        std::string_view scope) {
  return Key(kRole, d::RoleKey(party_id, role, scope));
}

absl::StatusOr<bool> TxnStateStore::HasRole(std::string_view party_id, d::Role role,
                                            std::string_view scope) {
  auto value = txn_.GetState(RoleStateKey(party_id, role, scope));
  if (!value.ok()) return value.status();
  return value->has_value();
}

absl::Status TxnStateStore::PutRole(std::string_view party_id, d::Role role, std::string_view scope,
                                    bool held) {
  const std::string key = RoleStateKey(party_id, role, scope);
  if (held) {
    txn_.PutState(key, "");
  } else {
    txn_.DeleteState(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<d::Event>> TxnStateStore::FindEvent(std::string_view event_id) {
  auto position = txn_.FindEventId(event_id);
  if (!position.ok()) return position.status();
  if (!position->has_value()) return std::optional<d::Event>();
  auto record = txn_.ReadRecord(**position);
  if (!record.ok()) return record.status();
  v1::Event proto;
  if (!proto.ParseFromString(record->payload)) {
    return absl::DataLossError(absl::StrCat("cannot parse event at position ", **position));
  }
  auto event = codec::EventFromProto(proto);
  if (!event.ok()) return event.status();
  return std::optional<d::Event>(*std::move(event));
}

absl::StatusOr<bool> TxnStateStore::IsRetracted(std::string_view event_id) {
  auto value = txn_.GetState(Key(kRetracted, event_id));
  if (!value.ok()) return value.status();
  return value->has_value();
}

absl::Status TxnStateStore::MarkRetracted(std::string_view event_id) {
  txn_.PutState(Key(kRetracted, event_id), "");
  return absl::OkStatus();
}

}  // namespace lodestone::ledger
