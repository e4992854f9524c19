#include "services/provenance/projector.h"

#include <algorithm>
#include <queue>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"
#include "services/domain/string_view_compat.h"
#include "services/provenance/profile_codec.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;
using v1::views::LotView;
using v1::views::ShipmentView;
using v1::views::TransformationView;

// Downstream edges followed per lot during a recomputation; far above any real fan-out.
constexpr size_t kMaxDownstreamEdges = 1'000'000;

absl::Status Inconsistent(std::string_view what) {
  return absl::InternalError(
      absl::StrCat("provenance views do not follow the ledger: ", d::ToAbsl(what)));
}

template <typename Message>
absl::StatusOr<Message> Require(const ViewStore& views, const std::string& key) {
  auto value = views.Get<Message>(key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Inconsistent(absl::StrCat("missing ", d::ToAbsl(key)));
  return **value;
}

int64_t EventMicros(const v1::Event& event) { return codec::MicrosFloor(event.event_time()); }

v1::LotStatus StatusAfterConsumption(const LotView& lot) {
  if (lot.status() == v1::LOT_STATUS_ACTIVE && lot.remaining_g() == 0) {
    return v1::LOT_STATUS_DEPLETED;
  }
  if (lot.status() == v1::LOT_STATUS_DEPLETED && lot.remaining_g() > 0) {
    return v1::LOT_STATUS_ACTIVE;
  }
  return lot.status();
}

absl::StatusOr<d::OriginProfile> UnknownProfile(const LotView& lot,
                                                const d::FacilityInfo& facility) {
  d::LotRegistered registered;
  registered.lot_id = "unknown";
  registered.material = static_cast<d::Material>(static_cast<int>(lot.material()));
  registered.hs_code = lot.hs_code();
  registered.mass_g = std::max<int64_t>(lot.mass_g(), 1);
  return d::OriginOfRegistered(registered, facility);
}

template <typename Payload>
absl::StatusOr<Payload> DomainPayload(const v1::Event& event) {
  auto decoded = codec::EventFromProto(event);
  if (!decoded.ok()) return decoded.status();
  if (!std::holds_alternative<Payload>(decoded->payload)) {
    return Inconsistent(absl::StrCat("event ", d::ToAbsl(event.event_id()), " payload"));
  }
  return std::get<Payload>(std::move(decoded->payload));
}

// What the event index keeps of an event: the ids a retraction needs to find the views it
// touched (transformations and dispatches are read back from their own views).
void IndexedEvent(const v1::Event& event, v1::Event* out) {
  out->set_event_id(event.event_id());
  switch (event.payload_case()) {
    case v1::Event::kPartyRegistered:
      out->mutable_party_registered()->set_party_id(event.party_registered().party_id());
      break;
    case v1::Event::kFacilityRegistered:
      out->mutable_facility_registered()->set_facility_id(
          event.facility_registered().facility_id());
      break;
    case v1::Event::kExportLicenceGranted:
      out->mutable_export_licence_granted()->set_licence_id(
          event.export_licence_granted().licence_id());
      break;
    case v1::Event::kLotExtracted:
      out->mutable_lot_extracted()->set_lot_id(event.lot_extracted().lot_id());
      break;
    case v1::Event::kLotRegistered:
      out->mutable_lot_registered()->set_lot_id(event.lot_registered().lot_id());
      break;
    case v1::Event::kLotTransformed:
      out->mutable_lot_transformed()->set_transformation_id(
          event.lot_transformed().transformation_id());
      break;
    case v1::Event::kShipmentDispatched:
      out->mutable_shipment_dispatched()->set_shipment_id(
          event.shipment_dispatched().shipment_id());
      break;
    case v1::Event::kShipmentArrived:
      *out->mutable_shipment_arrived() = event.shipment_arrived();
      break;
    case v1::Event::kEventRetracted:
      out->mutable_event_retracted()->set_retracted_event_id(
          event.event_retracted().retracted_event_id());
      break;
    case v1::Event::kRoleGranted:
    case v1::Event::kRoleRevoked:  // authority, not material: nothing to look up later
    case v1::Event::kSigningKeyRegistered:
    case v1::Event::kSigningKeyRevoked:
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
}

std::string PayloadKind(const v1::Event& event) {
  const auto* field = v1::Event::descriptor()->FindFieldByNumber(event.payload_case());
  return field == nullptr ? "" : field->name();
}

// A lot whose creation was retracted, declared again, keeps its place in the creation order
// (its consumers were created after it), what was consumed from it, and what happened to it
// since: its arrivals (so its route) and where they took it.
void InheritFromRetracted(const LotView& old, LotView& lot) {
  lot.set_created_position(old.created_position());
  lot.set_remaining_g(lot.mass_g() - (old.mass_g() - old.remaining_g()));
  lot.set_status(StatusAfterConsumption(lot));
  *lot.mutable_arrivals() = old.arrivals();
  if (!old.arrivals().empty()) {
    lot.set_facility_id(old.arrivals(old.arrivals_size() - 1).facility_id());
  }
}

void RemoveFlags(ViewStore& views, ShipmentView& shipment) {
  for (const auto& flag : shipment.flags()) {
    views.DeleteRaw(keys::Flag(codec::MicrosFloor(flag.time()), flag.position(), flag.rule_set(),
                               flag.rule_id()));
  }
  shipment.clear_flags();
}

}  // namespace

absl::StatusOr<d::FacilityInfo> LoadFacilityInfo(const ViewStore& views,
                                                 const std::string& facility_id) {
  auto found = views.GetFacility(facility_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Inconsistent("missing facility " + facility_id);
  const v1::views::FacilityView* facility = &**found;
  d::FacilityInfo info;
  info.country = facility->country();
  info.subdivision = facility->subdivision();
  info.operator_party_id = facility->operator_party_id();
  info.kind = static_cast<d::FacilityKind>(static_cast<int>(facility->kind()));
  return info;
}

absl::StatusOr<d::OriginProfile> ProfileAt(const ViewStore& views, const LotView& lot,
                                           uint64_t position) {
  // Without arrivals the base profile is not stored separately: it is the profile.
  auto decoded =
      DecodeProfile(lot.base_profile_bin().empty() ? lot.profile_bin() : lot.base_profile_bin());
  if (!decoded.ok()) return decoded.status();
  d::OriginProfile profile = *std::move(decoded);
  for (const auto& arrival : lot.arrivals()) {
    if (arrival.position() >= position) break;
    auto facility = LoadFacilityInfo(views, arrival.facility_id());
    if (!facility.ok()) return facility.status();
    auto moved = d::OriginAfterArrival(std::move(profile), *facility);
    if (!moved.ok()) return moved.status();
    profile = *std::move(moved);
  }
  return profile;
}

absl::StatusOr<std::vector<d::OriginProfile>> TransformationOutputs(
    const ViewStore& views, const TransformationView& transformation,
    const std::vector<LotView>* loaded_inputs) {
  const auto& t = transformation.event();
  auto facility = LoadFacilityInfo(views, t.facility_id());
  if (!facility.ok()) return facility.status();
  std::vector<d::OriginProfile> input_profiles;
  input_profiles.reserve(t.inputs_size());
  std::vector<d::TrackedInput> inputs;
  inputs.reserve(t.inputs_size());
  for (int i = 0; i < t.inputs_size(); ++i) {
    const auto& input = t.inputs(i);
    absl::StatusOr<LotView> input_lot = loaded_inputs != nullptr
                                            ? absl::StatusOr<LotView>((*loaded_inputs)[i])
                                            : Require<LotView>(views, keys::Lot(input.lot_id()));
    if (!input_lot.ok()) return input_lot.status();
    auto profile = ProfileAt(views, *input_lot, transformation.position());
    if (!profile.ok()) return profile.status();
    input_profiles.push_back(*std::move(profile));
    inputs.push_back({input.lot_id(), input_lot->hs_code(), input.mass_g(), nullptr});
  }
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i].profile = &input_profiles[i];
  v1::Event wrapper;
  *wrapper.mutable_lot_transformed() = t;
  auto decoded = DomainPayload<d::LotTransformed>(wrapper);
  if (!decoded.ok()) return decoded.status();
  return d::OriginOfTransformed(decoded->process, *facility, inputs, decoded->untracked_inputs,
                                decoded->outputs);
}

Projector::Projector(ViewStore& views, ShipmentFlagger flagger)
    : views_(views), flagger_(std::move(flagger)) {}

absl::Status Projector::Open() {
  auto checkpoint = views_.ReadCheckpoint();
  if (!checkpoint.ok()) return checkpoint.status();
  next_position_ = *checkpoint;
  return absl::OkStatus();
}

absl::Status Projector::Commit() { return views_.Commit(next_position_); }

absl::Status Projector::Apply(const v1::StoredEvent& stored) {
  if (stored.position() != next_position_) {
    return absl::FailedPreconditionError(
        absl::StrCat("projector expects position ", next_position_, ", got ", stored.position()));
  }
  views_.SetWritePosition(stored.position());
  if (auto status = ApplyPayload(stored); !status.ok()) {
    return absl::Status(
        status.code(), absl::StrCat("position ", stored.position(), " event '",
                                    d::ToAbsl(stored.event().event_id()), "': ", status.message()));
  }
  v1::views::EventEntry entry;
  entry.set_position(stored.position());
  IndexedEvent(stored.event(), entry.mutable_event());
  views_.Put(keys::Event(stored.event().event_id()), entry);
  v1::views::PositionEntry at;
  at.set_event_id(stored.event().event_id());
  at.set_subject(stored.event().subject());
  at.set_kind(PayloadKind(stored.event()));
  if (stored.event().has_event_retracted()) {
    at.set_retracted_event_id(stored.event().event_retracted().retracted_event_id());
  }
  views_.Put(keys::PositionEvent(stored.position()), at);
  ++next_position_;
  ++stats_.events_applied;
  return absl::OkStatus();
}

absl::Status Projector::ApplyPayload(const v1::StoredEvent& stored) {
  const v1::Event& event = stored.event();
  const uint64_t position = stored.position();
  switch (event.payload_case()) {
    case v1::Event::kPartyRegistered: {
      const auto& p = event.party_registered();
      v1::views::PartyView view;
      view.set_name(p.name());
      view.set_country(p.country());
      view.set_parent_party_id(p.parent_party_id());
      views_.Put(keys::Party(p.party_id()), view);
      return absl::OkStatus();
    }
    case v1::Event::kFacilityRegistered: {
      const auto& p = event.facility_registered();
      v1::views::FacilityView view;
      view.set_operator_party_id(p.operator_party_id());
      view.set_country(p.country());
      view.set_subdivision(p.subdivision());
      view.set_kind(p.kind());
      view.set_name(p.name());
      views_.Put(keys::Facility(p.facility_id()), view);
      return absl::OkStatus();
    }
    case v1::Event::kExportLicenceGranted: {
      const auto& p = event.export_licence_granted();
      v1::views::LicenceView view;
      view.set_issuing_country(p.issuing_country());
      view.set_exporter_party_id(p.exporter_party_id());
      *view.mutable_hs_codes() = p.hs_codes();
      *view.mutable_materials() = p.materials();
      view.set_quantity_g(p.quantity_g());
      // Rounded inwards to whole microseconds, so that a licence is never judged valid at an
      // instant it was not (dispatch times are rounded down).
      view.set_valid_from_micros(p.has_valid_from() ? codec::MicrosCeil(p.valid_from())
                                                    : std::numeric_limits<int64_t>::min());
      view.set_valid_until_micros(p.has_valid_until() ? codec::MicrosFloor(p.valid_until())
                                                      : std::numeric_limits<int64_t>::max());
      views_.Put(keys::Licence(p.licence_id()), view);
      return absl::OkStatus();
    }
    case v1::Event::kLotExtracted: {
      const auto& p = event.lot_extracted();
      LotView lot;
      lot.set_material(p.material());
      lot.set_hs_code(p.hs_code());
      lot.set_mass_g(p.mass_g());
      lot.set_facility_id(p.facility_id());
      *lot.mutable_extracted() = p;
      return OnLotCreated(p.lot_id(), event, position, std::move(lot));
    }
    case v1::Event::kLotRegistered: {
      const auto& p = event.lot_registered();
      LotView lot;
      lot.set_material(p.material());
      lot.set_hs_code(p.hs_code());
      lot.set_mass_g(p.mass_g());
      lot.set_facility_id(p.facility_id());
      *lot.mutable_registered() = p;
      return OnLotCreated(p.lot_id(), event, position, std::move(lot));
    }
    case v1::Event::kLotTransformed:
      return OnTransformed(event, position);
    case v1::Event::kShipmentDispatched:
      return OnDispatched(stored);
    case v1::Event::kShipmentArrived:
      return OnArrived(stored);
    case v1::Event::kEventRetracted:
      return OnRetracted(event, position);
    case v1::Event::kRoleGranted:
      // Auditors read every provenance answer unredacted (read_rule.h); the other roles are the
      // write side's concern.
      if (event.role_granted().role() == v1::ROLE_AUDITOR) {
        views_.PutRaw(keys::Auditor(event.role_granted().party_id()), "");
      }
      return absl::OkStatus();
    case v1::Event::kRoleRevoked:
      if (event.role_revoked().role() == v1::ROLE_AUDITOR) {
        views_.DeleteRaw(keys::Auditor(event.role_revoked().party_id()));
      }
      return absl::OkStatus();
    case v1::Event::kSigningKeyRegistered:
    case v1::Event::kSigningKeyRevoked:
      return absl::OkStatus();  // who may say what: the write side's concern, no origin view
    case v1::Event::PAYLOAD_NOT_SET:
      return Inconsistent("event without payload");
  }
  return absl::OkStatus();
}

absl::Status Projector::OnLotCreated(const std::string& lot_id, const v1::Event& event,
                                     uint64_t position, LotView lot) {
  auto existing = views_.Get<LotView>(keys::Lot(lot_id));
  if (!existing.ok()) return existing.status();
  lot.set_status(v1::LOT_STATUS_ACTIVE);
  lot.set_created_by_event_id(event.event_id());
  lot.set_remaining_g(lot.mass_g());
  lot.set_created_position(position);
  const bool redeclared = existing->has_value();
  if (redeclared) {
    InheritFromRetracted(**existing, lot);
  }
  if (redeclared) {
    // Everything downstream of the lot depends on its new source.
    views_.Put(keys::Lot(lot_id), lot);
    return Recompute({lot_id});
  }
  if (auto status = RecomputeLot(lot_id, lot); !status.ok()) return status;
  views_.Put(keys::Lot(lot_id), lot);
  return absl::OkStatus();
}

absl::Status Projector::OnTransformed(const v1::Event& event, uint64_t position) {
  const auto& p = event.lot_transformed();
  TransformationView transformation;
  transformation.set_event_id(event.event_id());
  transformation.set_position(position);
  *transformation.mutable_event() = p;
  views_.Put(keys::Transformation(p.transformation_id()), transformation);
  std::vector<LotView> inputs;  // read once: for the mass update and for the origin math
  inputs.reserve(p.inputs_size());
  for (const auto& input : p.inputs()) {
    auto lot = Require<LotView>(views_, keys::Lot(input.lot_id()));
    if (!lot.ok()) return lot.status();
    lot->set_remaining_g(lot->remaining_g() - input.mass_g());
    lot->set_status(StatusAfterConsumption(*lot));
    views_.Put(keys::Lot(input.lot_id()), *lot);
    views_.PutRaw(keys::Downstream(input.lot_id(), 't', p.transformation_id()), "");
    inputs.push_back(*std::move(lot));
  }
  auto profiles = TransformationOutputs(views_, transformation, &inputs);
  if (!profiles.ok()) return profiles.status();
  std::vector<std::string> redeclared;
  for (int i = 0; i < p.outputs_size(); ++i) {
    const auto& output = p.outputs(i);
    LotView lot;
    lot.set_material(output.material());
    lot.set_hs_code(output.hs_code());
    lot.set_mass_g(output.mass_g());
    lot.set_facility_id(p.facility_id());
    lot.set_transformation_id(p.transformation_id());
    auto existing = views_.Get<LotView>(keys::Lot(output.lot_id()));
    if (!existing.ok()) return existing.status();
    lot.set_status(v1::LOT_STATUS_ACTIVE);
    lot.set_created_by_event_id(event.event_id());
    lot.set_remaining_g(output.mass_g());
    lot.set_created_position(position);
    if (existing->has_value()) {
      InheritFromRetracted(**existing, lot);
      redeclared.push_back(output.lot_id());
    }
    lot.set_profile_bin(EncodeProfile((*profiles)[i]));
    views_.Put(keys::Lot(output.lot_id()), lot);
  }
  if (redeclared.empty()) return absl::OkStatus();
  return Recompute(redeclared);
}

absl::Status Projector::OnDispatched(const v1::StoredEvent& stored) {
  const v1::Event& event = stored.event();
  const auto& p = event.shipment_dispatched();
  ShipmentView shipment;
  *shipment.mutable_dispatched() = p;
  shipment.set_dispatched_event_id(event.event_id());
  shipment.set_dispatched_position(stored.position());
  shipment.set_dispatched_micros(EventMicros(event));
  if (stored.late()) shipment.set_late_recorded_micros(codec::MicrosFloor(stored.commit_time()));
  shipment.set_status("dispatched");
  for (const auto& item : p.items()) {
    auto lot = Require<LotView>(views_, keys::Lot(item.lot_id()));
    if (!lot.ok()) return lot.status();
    lot->set_shipment_id(p.shipment_id());
    lot->set_status(v1::LOT_STATUS_IN_TRANSIT);
    views_.Put(keys::Lot(item.lot_id()), *lot);
    views_.PutRaw(keys::Downstream(item.lot_id(), 's', p.shipment_id()), "");
  }
  views_.Put(keys::Shipment(p.shipment_id()), shipment);
  if (auto status = ReevaluateShipment(p.shipment_id()); !status.ok()) return status;
  if (!p.export_licence_id().empty()) {
    auto licence = Require<v1::views::LicenceView>(views_, keys::Licence(p.export_licence_id()));
    if (!licence.ok()) return licence.status();
    int64_t mass = 0;
    for (const auto& item : p.items()) mass += item.mass_g();
    licence->set_used_g(licence->used_g() + mass);
    views_.Put(keys::Licence(p.export_licence_id()), *licence);
  }
  return absl::OkStatus();
}

absl::Status Projector::OnArrived(const v1::StoredEvent& stored) {
  const v1::Event& event = stored.event();
  const auto& p = event.shipment_arrived();
  auto shipment = Require<ShipmentView>(views_, keys::Shipment(p.shipment_id()));
  if (!shipment.ok()) return shipment.status();
  shipment->set_arrived_event_id(event.event_id());
  shipment->set_arrived_position(stored.position());
  shipment->set_arrived_micros(EventMicros(event));
  shipment->set_status("arrived");
  views_.Put(keys::Shipment(p.shipment_id()), *shipment);
  auto destination = LoadFacilityInfo(views_, p.facility_id());
  if (!destination.ok()) return destination.status();
  for (const auto& item : shipment->dispatched().items()) {
    auto lot = Require<LotView>(views_, keys::Lot(item.lot_id()));
    if (!lot.ok()) return lot.status();
    lot->set_facility_id(p.facility_id());
    lot->clear_shipment_id();
    lot->set_status(v1::LOT_STATUS_ACTIVE);
    lot->set_status(StatusAfterConsumption(*lot));
    auto* arrival = lot->add_arrivals();
    arrival->set_shipment_id(p.shipment_id());
    arrival->set_facility_id(p.facility_id());
    arrival->set_position(stored.position());
    auto current = DecodeProfile(lot->profile_bin());
    if (!current.ok()) return current.status();
    auto moved = d::OriginAfterArrival(*std::move(current), *destination);
    if (!moved.ok()) return moved.status();
    if (lot->base_profile_bin().empty()) lot->set_base_profile_bin(lot->profile_bin());
    lot->set_profile_bin(EncodeProfile(*moved));
    views_.Put(keys::Lot(item.lot_id()), *lot);
    if (!destination->operator_party_id.empty()) {
      v1::views::Receipt receipt;
      receipt.set_shipment_id(p.shipment_id());
      receipt.set_lot_id(item.lot_id());
      receipt.set_mass_g(item.mass_g());
      views_.Put(keys::Receipt(destination->operator_party_id, EventMicros(event),
                               stored.position(), item.lot_id()),
                 receipt);
    }
  }
  return absl::OkStatus();
}

absl::Status Projector::OnRetracted(const v1::Event& event, uint64_t /*position*/) {
  const std::string& target_id = event.event_retracted().retracted_event_id();
  auto entry = Require<v1::views::EventEntry>(views_, keys::Event(target_id));
  if (!entry.ok()) return entry.status();
  entry->set_retracted(true);
  views_.Put(keys::Event(target_id), *entry);
  const v1::Event& target = entry->event();
  auto mark_retracted = [this](const std::string& key, auto view) -> absl::Status {
    auto value = Require<decltype(view)>(views_, key);
    if (!value.ok()) return value.status();
    value->set_retracted(true);
    views_.Put(key, *value);
    return absl::OkStatus();
  };
  auto release_lot = [this](const std::string& lot_id) -> absl::Status {
    auto lot = Require<LotView>(views_, keys::Lot(lot_id));
    if (!lot.ok()) return lot.status();
    lot->clear_source();
    lot->set_status(v1::LOT_STATUS_RETRACTED);
    views_.Put(keys::Lot(lot_id), *lot);
    return absl::OkStatus();
  };
  switch (target.payload_case()) {
    case v1::Event::kPartyRegistered:
      return mark_retracted(keys::Party(target.party_registered().party_id()),
                            v1::views::PartyView());
    case v1::Event::kFacilityRegistered:
      return mark_retracted(keys::Facility(target.facility_registered().facility_id()),
                            v1::views::FacilityView());
    case v1::Event::kExportLicenceGranted:
      return mark_retracted(keys::Licence(target.export_licence_granted().licence_id()),
                            v1::views::LicenceView());
    case v1::Event::kLotExtracted:
    case v1::Event::kLotRegistered: {
      const std::string lot_id = target.has_lot_extracted() ? target.lot_extracted().lot_id()
                                                            : target.lot_registered().lot_id();
      if (auto status = release_lot(lot_id); !status.ok()) return status;
      return Recompute({lot_id});
    }
    case v1::Event::kLotTransformed: {
      auto transformation = Require<TransformationView>(
          views_, keys::Transformation(target.lot_transformed().transformation_id()));
      if (!transformation.ok()) return transformation.status();
      const v1::LotTransformed t = transformation->event();
      transformation->set_retracted(true);
      views_.Put(keys::Transformation(t.transformation_id()), *transformation);
      for (const auto& input : t.inputs()) {
        auto lot = Require<LotView>(views_, keys::Lot(input.lot_id()));
        if (!lot.ok()) return lot.status();
        lot->set_remaining_g(lot->remaining_g() + input.mass_g());
        lot->set_status(StatusAfterConsumption(*lot));
        views_.Put(keys::Lot(input.lot_id()), *lot);
        views_.DeleteRaw(keys::Downstream(input.lot_id(), 't', t.transformation_id()));
      }
      std::vector<std::string> outputs;
      for (const auto& output : t.outputs()) {
        auto lot = Require<LotView>(views_, keys::Lot(output.lot_id()));
        if (!lot.ok()) return lot.status();
        if (lot->transformation_id() != t.transformation_id()) continue;  // re-declared since
        if (auto status = release_lot(output.lot_id()); !status.ok()) return status;
        outputs.push_back(output.lot_id());
      }
      return Recompute(outputs);
    }
    case v1::Event::kShipmentDispatched: {
      auto shipment =
          Require<ShipmentView>(views_, keys::Shipment(target.shipment_dispatched().shipment_id()));
      if (!shipment.ok()) return shipment.status();
      const v1::ShipmentDispatched s = shipment->dispatched();
      RemoveFlags(views_, *shipment);
      shipment->set_status("retracted");
      views_.Put(keys::Shipment(s.shipment_id()), *shipment);
      for (const auto& item : s.items()) {
        auto lot = Require<LotView>(views_, keys::Lot(item.lot_id()));
        if (!lot.ok()) return lot.status();
        if (lot->shipment_id() == s.shipment_id()) {
          lot->clear_shipment_id();
          lot->set_status(v1::LOT_STATUS_ACTIVE);
          lot->set_status(StatusAfterConsumption(*lot));
          views_.Put(keys::Lot(item.lot_id()), *lot);
        }
        views_.DeleteRaw(keys::Downstream(item.lot_id(), 's', s.shipment_id()));
      }
      if (!s.export_licence_id().empty()) {
        auto licence =
            Require<v1::views::LicenceView>(views_, keys::Licence(s.export_licence_id()));
        if (!licence.ok()) return licence.status();
        int64_t mass = 0;
        for (const auto& item : s.items()) mass += item.mass_g();
        licence->set_used_g(licence->used_g() - mass);
        views_.Put(keys::Licence(s.export_licence_id()), *licence);
      }
      return absl::OkStatus();
    }
    case v1::Event::kShipmentArrived: {
      const auto& a = target.shipment_arrived();
      auto shipment = Require<ShipmentView>(views_, keys::Shipment(a.shipment_id()));
      if (!shipment.ok()) return shipment.status();
      auto destination = LoadFacilityInfo(views_, a.facility_id());
      if (!destination.ok()) return destination.status();
      std::vector<std::string> lots;
      for (const auto& item : shipment->dispatched().items()) {
        auto lot = Require<LotView>(views_, keys::Lot(item.lot_id()));
        if (!lot.ok()) return lot.status();
        auto* arrivals = lot->mutable_arrivals();
        arrivals->erase(std::remove_if(arrivals->begin(), arrivals->end(),
                                       [&](const v1::views::Arrival& arrival) {
                                         return arrival.shipment_id() == a.shipment_id();
                                       }),
                        arrivals->end());
        lot->set_facility_id(shipment->dispatched().from_facility_id());
        lot->set_shipment_id(a.shipment_id());
        lot->set_status(v1::LOT_STATUS_IN_TRANSIT);
        views_.Put(keys::Lot(item.lot_id()), *lot);
        if (!destination->operator_party_id.empty()) {
          views_.DeleteRaw(keys::Receipt(destination->operator_party_id, shipment->arrived_micros(),
                                         shipment->arrived_position(), item.lot_id()));
        }
        lots.push_back(item.lot_id());
      }
      shipment->clear_arrived_event_id();
      shipment->set_arrived_position(0);
      shipment->set_arrived_micros(0);
      shipment->set_status("dispatched");
      views_.Put(keys::Shipment(a.shipment_id()), *shipment);
      return Recompute(lots);
    }
    case v1::Event::kRoleGranted:
    case v1::Event::kRoleRevoked:
    case v1::Event::kSigningKeyRegistered:
    case v1::Event::kSigningKeyRevoked:
      return Inconsistent("retraction of a role or key event (the write model refuses it)");
    case v1::Event::kEventRetracted:
    case v1::Event::PAYLOAD_NOT_SET:
      return Inconsistent("retraction of a retraction");
  }
  return absl::OkStatus();
}

absl::Status Projector::Recompute(const std::vector<std::string>& seeds) {
  // 1. The lots downstream of the seeds (the seeds included), with their children among them.
  // Creation positions are not a topological order: a retracted lot declared again keeps its
  // old place (before its consumers) but may be made from lots created later.
  absl::flat_hash_map<std::string, std::vector<std::string>> children;
  std::set<std::string> shipments;
  std::vector<std::string> pending(seeds.begin(), seeds.end());
  while (!pending.empty()) {
    const std::string id = std::move(pending.back());
    pending.pop_back();
    if (children.contains(id)) continue;
    std::vector<std::string>& out = children[id];
    const std::string prefix = keys::DownstreamPrefix(id);
    auto edges = views_.Keys(prefix, kMaxDownstreamEdges);
    if (!edges.ok()) return edges.status();
    for (const auto& edge : *edges) {
      const char kind = edge[prefix.size()];
      const std::string child = edge.substr(prefix.size() + 1);
      if (kind == 's') {
        shipments.insert(child);
        continue;
      }
      auto transformation = Require<TransformationView>(views_, keys::Transformation(child));
      if (!transformation.ok()) return transformation.status();
      if (transformation->retracted()) continue;
      for (const auto& output : transformation->event().outputs()) {
        auto lot = Require<LotView>(views_, keys::Lot(output.lot_id()));
        if (!lot.ok()) return lot.status();
        if (lot->transformation_id() != child) continue;
        out.push_back(output.lot_id());
        pending.push_back(output.lot_id());
      }
    }
  }
  // 2. Every lot after all of its parents among them (Kahn's order), the earliest created
  // first among those ready, so the order is the same on every replica and rebuild.
  absl::flat_hash_map<std::string, size_t> parents;
  for (const auto& [id, out] : children) {
    for (const auto& child : out) ++parents[child];
  }
  using Item = std::pair<uint64_t, std::string>;  // (created position, lot id)
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> ready;
  auto push = [&](const std::string& id) -> absl::Status {
    auto lot = Require<LotView>(views_, keys::Lot(id));
    if (!lot.ok()) return lot.status();
    ready.emplace(lot->created_position(), id);
    return absl::OkStatus();
  };
  for (const auto& [id, out] : children) {
    if (!parents.contains(id)) {
      if (auto status = push(id); !status.ok()) return status;
    }
  }
  size_t recomputed = 0;
  while (!ready.empty()) {
    const std::string id = ready.top().second;
    ready.pop();
    auto lot = Require<LotView>(views_, keys::Lot(id));
    if (!lot.ok()) return lot.status();
    if (auto status = RecomputeLot(id, *lot); !status.ok()) return status;
    views_.Put(keys::Lot(id), *lot);
    ++stats_.lots_recomputed;
    ++recomputed;
    for (const auto& child : children[id]) {
      if (--parents[child] == 0) {
        if (auto status = push(child); !status.ok()) return status;
      }
    }
  }
  if (recomputed != children.size()) {
    return Inconsistent(absl::StrCat("the lineage below ", seeds.front(), " loops: ",
                                     children.size() - recomputed, " lots not recomputed"));
  }
  for (const auto& shipment : shipments) {
    if (auto status = ReevaluateShipment(shipment); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Projector::RecomputeLot(const std::string& lot_id, LotView& lot) {
  // The lot's current facility when its source is gone; its source facility otherwise.
  absl::StatusOr<d::OriginProfile> base;
  switch (lot.source_case()) {
    case LotView::kExtracted: {
      auto mine = LoadFacilityInfo(views_, lot.extracted().facility_id());
      if (!mine.ok()) return mine.status();
      base =
          d::OriginOfExtracted(static_cast<d::Material>(static_cast<int>(lot.material())), *mine);
      break;
    }
    case LotView::kRegistered: {
      auto facility = LoadFacilityInfo(views_, lot.registered().facility_id());
      if (!facility.ok()) return facility.status();
      v1::Event wrapper;
      *wrapper.mutable_lot_registered() = lot.registered();
      auto registered = DomainPayload<d::LotRegistered>(wrapper);
      if (!registered.ok()) return registered.status();
      base = d::OriginOfRegistered(*registered, *facility);
      break;
    }
    case LotView::kTransformationId: {
      auto transformation =
          Require<TransformationView>(views_, keys::Transformation(lot.transformation_id()));
      if (!transformation.ok()) return transformation.status();
      auto outputs = TransformationOutputs(views_, *transformation);
      if (!outputs.ok()) return outputs.status();
      const auto& t = transformation->event();
      for (int i = 0; i < t.outputs_size(); ++i) {
        if (t.outputs(i).lot_id() == lot_id) base = (*outputs)[i];
      }
      if (!base.ok()) return Inconsistent(absl::StrCat("lot ", d::ToAbsl(lot_id), " output"));
      break;
    }
    case LotView::SOURCE_NOT_SET: {
      auto facility = LoadFacilityInfo(views_, lot.facility_id());
      if (!facility.ok()) return facility.status();
      base = UnknownProfile(lot, *facility);
      break;
    }
  }
  if (!base.ok()) return base.status();
  if (lot.arrivals().empty()) {
    lot.clear_base_profile_bin();
    lot.set_profile_bin(EncodeProfile(*base));
    return absl::OkStatus();
  }
  lot.set_base_profile_bin(EncodeProfile(*base));
  auto current = ProfileAt(views_, lot, std::numeric_limits<uint64_t>::max());
  if (!current.ok()) return current.status();
  lot.set_profile_bin(EncodeProfile(*current));
  return absl::OkStatus();
}

absl::Status Projector::ReevaluateShipment(const std::string& shipment_id) {
  if (!flagger_) return absl::OkStatus();
  auto shipment = Require<ShipmentView>(views_, keys::Shipment(shipment_id));
  if (!shipment.ok()) return shipment.status();
  if (shipment->status() == "retracted") return absl::OkStatus();
  RemoveFlags(views_, *shipment);
  for (auto& flag : flagger_(views_, *shipment)) {
    views_.Put(keys::Flag(codec::MicrosFloor(flag.time()), flag.position(), flag.rule_set(),
                          flag.rule_id()),
               flag);
    ++stats_.flags_raised;
    ++stats_.flags_raised_by_rule_set[flag.rule_set()];
    *shipment->add_flags() = std::move(flag);
  }
  views_.Put(keys::Shipment(shipment_id), *shipment);
  return absl::OkStatus();
}

}  // namespace lodestone::provenance
