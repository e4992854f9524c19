#include "services/codec/event_codec.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace lodestone::codec {
namespace {

namespace d = ::lodestone::domain;

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

template <typename To, typename From>
To EnumCast(From value) {
  return static_cast<To>(static_cast<int>(value));
}

absl::StatusOr<absl::Time> OptionalTime(bool has, const google::protobuf::Timestamp& ts,
                                        absl::Time absent) {
  if (!has) return absent;
  return TimeFromProto(ts);
}

d::PartyRegistered FromProto(const v1::PartyRegistered& p) {
  return {p.party_id(), p.name(), p.country(), p.parent_party_id()};
}

d::FacilityRegistered FromProto(const v1::FacilityRegistered& p) {
  return {p.facility_id(),
          p.operator_party_id(),
          p.country(),
          p.subdivision(),
          EnumCast<d::FacilityKind>(p.kind()),
          p.name()};
}

d::LotExtracted FromProto(const v1::LotExtracted& p) {
  return {p.lot_id(), EnumCast<d::Material>(p.material()), p.hs_code(), p.mass_g(),
          p.facility_id()};
}

d::LotRegistered FromProto(const v1::LotRegistered& p) {
  return {p.lot_id(),      EnumCast<d::Material>(p.material()),
          p.hs_code(),     p.mass_g(),
          p.facility_id(), p.origin_country(),
          p.value_minor(), p.currency()};
}

d::LotTransformed FromProto(const v1::LotTransformed& p) {
  d::LotTransformed out;
  out.transformation_id = p.transformation_id();
  out.facility_id = p.facility_id();
  out.process = EnumCast<d::Process>(p.process());
  out.inputs.reserve(p.inputs_size());
  for (const auto& in : p.inputs()) out.inputs.push_back({in.lot_id(), in.mass_g()});
  out.untracked_inputs.reserve(p.untracked_inputs_size());
  for (const auto& in : p.untracked_inputs()) {
    out.untracked_inputs.push_back(
        {EnumCast<d::Material>(in.material()), in.mass_g(), in.country()});
  }
  out.outputs.reserve(p.outputs_size());
  for (const auto& o : p.outputs()) {
    out.outputs.push_back({o.lot_id(), EnumCast<d::Material>(o.material()), o.hs_code(), o.mass_g(),
                           o.value_minor(), o.currency()});
  }
  return out;
}

d::ShipmentDispatched FromProto(const v1::ShipmentDispatched& p) {
  d::ShipmentDispatched out;
  out.shipment_id = p.shipment_id();
  out.items.reserve(p.items_size());
  for (const auto& item : p.items()) out.items.push_back({item.lot_id(), item.mass_g()});
  out.from_facility_id = p.from_facility_id();
  out.to_facility_id = p.to_facility_id();
  out.declared_origin = p.declared_origin();
  out.declared_hs_code = p.declared_hs_code();
  out.export_licence_id = p.export_licence_id();
  out.customs_entry = p.customs_entry();
  return out;
}

d::ShipmentArrived FromProto(const v1::ShipmentArrived& p) {
  return {p.shipment_id(), p.facility_id(), p.customs_entry()};
}

absl::StatusOr<d::ExportLicenceGranted> FromProto(const v1::ExportLicenceGranted& p) {
  d::ExportLicenceGranted out;
  out.licence_id = p.licence_id();
  out.issuing_country = p.issuing_country();
  out.exporter_party_id = p.exporter_party_id();
  out.hs_codes.assign(p.hs_codes().begin(), p.hs_codes().end());
  for (int m : p.materials()) out.materials.push_back(static_cast<d::Material>(m));
  out.quantity_g = p.quantity_g();
  out.end_user_party_id = p.end_user_party_id();
  out.end_user_country = p.end_user_country();
  auto from = OptionalTime(p.has_valid_from(), p.valid_from(), absl::InfinitePast());
  if (!from.ok()) return from.status();
  auto until = OptionalTime(p.has_valid_until(), p.valid_until(), absl::InfiniteFuture());
  if (!until.ok()) return until.status();
  out.valid_from = *from;
  out.valid_until = *until;
  return out;
}

// RoleGranted and RoleRevoked carry the same fields.
template <typename To, typename From>
To RoleFromProto(const From& p) {
  return {p.party_id(), EnumCast<d::Role>(p.role()), p.country(), p.principal_party_id()};
}

template <typename To, typename From>
void RoleToProto(const From& e, To* p) {
  p->set_party_id(e.party_id);
  p->set_role(EnumCast<v1::Role>(e.role));
  p->set_country(e.country);
  p->set_principal_party_id(e.principal_party_id);
}

d::EventRetracted FromProto(const v1::EventRetracted& p) {
  d::EventRetracted out;
  out.retracted_event_id = p.retracted_event_id();
  out.reason = EnumCast<d::RetractionReason>(p.reason());
  out.corrective_event_ids.assign(p.corrective_event_ids().begin(), p.corrective_event_ids().end());
  out.note = p.note();
  return out;
}

void ToProto(const d::PartyRegistered& e, v1::PartyRegistered* p) {
  p->set_party_id(e.party_id);
  p->set_name(e.name);
  p->set_country(e.country);
  p->set_parent_party_id(e.parent_party_id);
}

void ToProto(const d::FacilityRegistered& e, v1::FacilityRegistered* p) {
  p->set_facility_id(e.facility_id);
  p->set_operator_party_id(e.operator_party_id);
  p->set_country(e.country);
  p->set_subdivision(e.subdivision);
  p->set_kind(EnumCast<v1::FacilityKind>(e.kind));
  p->set_name(e.name);
}

void ToProto(const d::LotExtracted& e, v1::LotExtracted* p) {
  p->set_lot_id(e.lot_id);
  p->set_material(EnumCast<v1::Material>(e.material));
  p->set_hs_code(e.hs_code);
  p->set_mass_g(e.mass_g);
  p->set_facility_id(e.facility_id);
}

void ToProto(const d::LotRegistered& e, v1::LotRegistered* p) {
  p->set_lot_id(e.lot_id);
  p->set_material(EnumCast<v1::Material>(e.material));
  p->set_hs_code(e.hs_code);
  p->set_mass_g(e.mass_g);
  p->set_facility_id(e.facility_id);
  p->set_origin_country(e.origin_country);
  p->set_value_minor(e.value_minor);
  p->set_currency(e.currency);
}

void ToProto(const d::LotTransformed& e, v1::LotTransformed* p) {
  p->set_transformation_id(e.transformation_id);
  p->set_facility_id(e.facility_id);
  p->set_process(EnumCast<v1::Process>(e.process));
  for (const auto& in : e.inputs) {
    auto* x = p->add_inputs();
    x->set_lot_id(in.lot_id);
    x->set_mass_g(in.mass_g);
  }
  for (const auto& in : e.untracked_inputs) {
    auto* x = p->add_untracked_inputs();
    x->set_material(EnumCast<v1::Material>(in.material));
    x->set_mass_g(in.mass_g);
    x->set_country(in.country);
  }
  for (const auto& o : e.outputs) {
    auto* x = p->add_outputs();
    x->set_lot_id(o.lot_id);
    x->set_material(EnumCast<v1::Material>(o.material));
    x->set_hs_code(o.hs_code);
    x->set_mass_g(o.mass_g);
    x->set_value_minor(o.value_minor);
    x->set_currency(o.currency);
  }
}

void ToProto(const d::ShipmentDispatched& e, v1::ShipmentDispatched* p) {
  p->set_shipment_id(e.shipment_id);
  for (const auto& item : e.items) {
    auto* x = p->add_items();
    x->set_lot_id(item.lot_id);
    x->set_mass_g(item.mass_g);
  }
  p->set_from_facility_id(e.from_facility_id);
  p->set_to_facility_id(e.to_facility_id);
  p->set_declared_origin(e.declared_origin);
  p->set_declared_hs_code(e.declared_hs_code);
  p->set_export_licence_id(e.export_licence_id);
  p->set_customs_entry(e.customs_entry);
}

void ToProto(const d::ShipmentArrived& e, v1::ShipmentArrived* p) {
  p->set_shipment_id(e.shipment_id);
  p->set_facility_id(e.facility_id);
  p->set_customs_entry(e.customs_entry);
}

void ToProto(const d::ExportLicenceGranted& e, v1::ExportLicenceGranted* p) {
  p->set_licence_id(e.licence_id);
  p->set_issuing_country(e.issuing_country);
  p->set_exporter_party_id(e.exporter_party_id);
  for (const auto& code : e.hs_codes) p->add_hs_codes(code);
  for (auto m : e.materials) p->add_materials(EnumCast<v1::Material>(m));
  p->set_quantity_g(e.quantity_g);
  p->set_end_user_party_id(e.end_user_party_id);
  p->set_end_user_country(e.end_user_country);
  if (e.valid_from != absl::InfinitePast()) TimeToProto(e.valid_from, p->mutable_valid_from());
  if (e.valid_until != absl::InfiniteFuture()) {
    TimeToProto(e.valid_until, p->mutable_valid_until());
  }
}

void ToProto(const d::EventRetracted& e, v1::EventRetracted* p) {
  p->set_retracted_event_id(e.retracted_event_id);
  p->set_reason(EnumCast<v1::RetractionReason>(e.reason));
  for (const auto& id : e.corrective_event_ids) p->add_corrective_event_ids(id);
  p->set_note(e.note);
}

}  // namespace

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp out of range: seconds=", ts.seconds(), " nanos=", ts.nanos()));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void TimeToProto(absl::Time time, google::protobuf::Timestamp* ts) {
  // Exact for every time TimeFromProto accepts: whole seconds (rounded down), then the
  // nanoseconds within that second. (absl::ToUnixNanos would saturate outside 1677..2262.)
  const int64_t seconds = absl::ToUnixSeconds(time);
  const int64_t nanos = absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds));
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(nanos));
}

int64_t MicrosFloor(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;  // nanos >= 0: rounds down
}

int64_t MicrosCeil(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + (ts.nanos() + 999) / 1000;
}

void MicrosToProto(int64_t micros, google::protobuf::Timestamp* ts) {
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {  // C++ division truncates toward zero; a Timestamp's nanos are never negative
    rem += 1000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::StatusOr<domain::Event> EventFromProto(const v1::Event& proto) {
  d::Event event;
  event.event_id = proto.event_id();
  event.subject = proto.subject();
  event.actor = proto.actor();
  event.attested_by = proto.attested_by();
  event.epcis_event_id = proto.epcis_event_id();
  event.epcis_event_hash = proto.epcis_event_hash();
  if (proto.has_event_time()) {
    auto time = TimeFromProto(proto.event_time());
    if (!time.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event '", proto.event_id(), "': event_time: ", time.status().message()));
    }
    event.event_time = *time;
  }
  switch (proto.payload_case()) {
    case v1::Event::kPartyRegistered:
      event.payload = FromProto(proto.party_registered());
      break;
    case v1::Event::kFacilityRegistered:
      event.payload = FromProto(proto.facility_registered());
      break;
    case v1::Event::kLotExtracted:
      event.payload = FromProto(proto.lot_extracted());
      break;
    case v1::Event::kLotRegistered:
      event.payload = FromProto(proto.lot_registered());
      break;
    case v1::Event::kLotTransformed:
      event.payload = FromProto(proto.lot_transformed());
      break;
    case v1::Event::kShipmentDispatched:
      event.payload = FromProto(proto.shipment_dispatched());
      break;
    case v1::Event::kShipmentArrived:
      event.payload = FromProto(proto.shipment_arrived());
      break;
    case v1::Event::kExportLicenceGranted: {
      auto licence = FromProto(proto.export_licence_granted());
      if (!licence.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event '", proto.event_id(),
                         "': export_licence_granted: ", licence.status().message()));
      }
      event.payload = *std::move(licence);
      break;
    }
    case v1::Event::kEventRetracted:
      event.payload = FromProto(proto.event_retracted());
      break;
    case v1::Event::kRoleGranted:
      event.payload = RoleFromProto<d::RoleGranted>(proto.role_granted());
      break;
    case v1::Event::kRoleRevoked:
      event.payload = RoleFromProto<d::RoleRevoked>(proto.role_revoked());
      break;
    case v1::Event::kSigningKeyRegistered: {
      const auto& k = proto.signing_key_registered();
      event.payload =
          d::SigningKeyRegistered{k.party_id(), k.key_id(), k.public_key(), k.replaces_key_id()};
      break;
    }
    case v1::Event::kSigningKeyRevoked:
      event.payload = d::SigningKeyRevoked{proto.signing_key_revoked().party_id(),
                                           proto.signing_key_revoked().key_id()};
      break;
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  if (proto.has_signature()) {
    event.signature = {proto.signature().key_id(), proto.signature().signature()};
  }
  return event;
}

void EventToProto(const domain::Event& event, v1::Event* proto) {
  proto->Clear();
  proto->set_event_id(event.event_id);
  if (event.event_time != absl::InfinitePast()) {
    TimeToProto(event.event_time, proto->mutable_event_time());
  }
  proto->set_subject(event.subject);
  proto->set_actor(event.actor);
  proto->set_attested_by(event.attested_by);
  proto->set_epcis_event_id(event.epcis_event_id);
  proto->set_epcis_event_hash(event.epcis_event_hash);
  std::visit(
      [proto](const auto& payload) {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, d::PartyRegistered>) {
          ToProto(payload, proto->mutable_party_registered());
        } else if constexpr (std::is_same_v<T, d::FacilityRegistered>) {
          ToProto(payload, proto->mutable_facility_registered());
        } else if constexpr (std::is_same_v<T, d::LotExtracted>) {
          ToProto(payload, proto->mutable_lot_extracted());
        } else if constexpr (std::is_same_v<T, d::LotRegistered>) {
          ToProto(payload, proto->mutable_lot_registered());
        } else if constexpr (std::is_same_v<T, d::LotTransformed>) {
          ToProto(payload, proto->mutable_lot_transformed());
        } else if constexpr (std::is_same_v<T, d::ShipmentDispatched>) {
          ToProto(payload, proto->mutable_shipment_dispatched());
        } else if constexpr (std::is_same_v<T, d::ShipmentArrived>) {
          ToProto(payload, proto->mutable_shipment_arrived());
        } else if constexpr (std::is_same_v<T, d::ExportLicenceGranted>) {
          ToProto(payload, proto->mutable_export_licence_granted());
        } else if constexpr (std::is_same_v<T, d::EventRetracted>) {
          ToProto(payload, proto->mutable_event_retracted());
        } else if constexpr (std::is_same_v<T, d::RoleGranted>) {
          RoleToProto(payload, proto->mutable_role_granted());
        } else if constexpr (std::is_same_v<T, d::RoleRevoked>) {
          RoleToProto(payload, proto->mutable_role_revoked());
        } else if constexpr (std::is_same_v<T, d::SigningKeyRegistered>) {
          v1::SigningKeyRegistered* k = proto->mutable_signing_key_registered();
          k->set_party_id(payload.party_id);
          k->set_key_id(payload.key_id);
          k->set_public_key(payload.public_key);
          k->set_replaces_key_id(payload.replaces_key_id);
        } else if constexpr (std::is_same_v<T, d::SigningKeyRevoked>) {
          proto->mutable_signing_key_revoked()->set_party_id(payload.party_id);
          proto->mutable_signing_key_revoked()->set_key_id(payload.key_id);
        }
      },
      event.payload);
  if (!event.signature.empty()) {
    proto->mutable_signature()->set_key_id(event.signature.key_id);
    proto->mutable_signature()->set_signature(event.signature.signature);
  }
}

std::string DeterministicEventBytes(const v1::Event& proto) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string CanonicalEventBytes(const domain::Event& event) {
  v1::Event proto;
  EventToProto(event, &proto);
  return DeterministicEventBytes(proto);
}

std::string SignedMessage(const domain::Event& event) {
  v1::Event proto;
  EventToProto(event, &proto);
  proto.clear_signature();
  return SignedMessage(proto);
}

std::string SignedMessage(const v1::Event& proto) {
  std::string message(kSignatureContext);
  if (proto.has_signature()) {
    v1::Event unsigned_event = proto;
    unsigned_event.clear_signature();
    message += DeterministicEventBytes(unsigned_event);
  } else {
    message += DeterministicEventBytes(proto);
  }
  return message;
}

absl::StatusOr<std::string> SignedMessageOfStoredBytes(std::string_view stored, v1::Event* event) {
  if (!event->ParseFromArray(stored.data(), static_cast<int>(stored.size()))) {
    return absl::DataLossError("the stored bytes are not an event");
  }
  std::string message(kSignatureContext);
  if (!event->has_signature()) {
    message.append(stored);
    return message;
  }
  // The trailing field: tag (field 100, length-delimited), length, the signature message.
  std::string field;
  {
    google::protobuf::io::StringOutputStream stream(&field);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    const std::string body = event->signature().SerializeAsString();
    constexpr uint32_t kLengthDelimited = 2;  // the protobuf wire type
    out.WriteTag((static_cast<uint32_t>(v1::Event::kSignatureFieldNumber) << 3) | kLengthDelimited);
    out.WriteVarint32(static_cast<uint32_t>(body.size()));
    out.WriteString(body);
  }
  if (stored.size() < field.size() || stored.substr(stored.size() - field.size()) != field) {
    return absl::DataLossError("the event's signature is not the last field of its stored bytes");
  }
  message.append(stored.substr(0, stored.size() - field.size()));
  return message;
}

}  // namespace lodestone::codec
