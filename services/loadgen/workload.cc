#include "services/loadgen/workload.h"

namespace lodestone::loadgen {
namespace {

v1::Event Envelope(const std::string& event_id, const std::string& subject) {
  v1::Event event;
  event.set_event_id(event_id);
  event.mutable_event_time()->set_seconds(kEventTimeSeconds);
  event.set_subject(subject);
  event.set_actor("loadgen");
  return event;
}

}  // namespace

v1::Event PartyRegistered(const std::string& event_id, const std::string& party_id,
                          const std::string& country) {
  v1::Event event = Envelope(event_id, "party/" + party_id);
  auto* p = event.mutable_party_registered();
  p->set_party_id(party_id);
  p->set_name("Party " + party_id);
  p->set_country(country);
  return event;
}

v1::Event FacilityRegistered(const std::string& event_id, const std::string& facility_id,
                             const std::string& party_id, const std::string& country,
                             v1::FacilityKind kind, const std::string& subdivision) {
  v1::Event event = Envelope(event_id, "facility/" + facility_id);
  auto* p = event.mutable_facility_registered();
  p->set_facility_id(facility_id);
  p->set_operator_party_id(party_id);
  p->set_country(country);
  p->set_subdivision(subdivision);
  p->set_kind(kind);
  p->set_name("Facility " + facility_id);
  return event;
}

v1::Event LotExtracted(const std::string& event_id, const std::string& lot_id,
                       const std::string& facility_id, v1::Material material,
                       const std::string& hs_code, int64_t mass_g) {
  v1::Event event = Envelope(event_id, "lot/" + lot_id);
  auto* p = event.mutable_lot_extracted();
  p->set_lot_id(lot_id);
  p->set_material(material);
  p->set_hs_code(hs_code);
  p->set_mass_g(mass_g);
  p->set_facility_id(facility_id);
  return event;
}

v1::Event LotRegistered(const std::string& event_id, const std::string& lot_id,
                        const std::string& facility_id, v1::Material material,
                        const std::string& hs_code, int64_t mass_g,
                        const std::string& origin_country) {
  v1::Event event = Envelope(event_id, "lot/" + lot_id);
  auto* p = event.mutable_lot_registered();
  p->set_lot_id(lot_id);
  p->set_material(material);
  p->set_hs_code(hs_code);
  p->set_mass_g(mass_g);
  p->set_facility_id(facility_id);
  p->set_origin_country(origin_country);
  return event;
}

v1::Event LotTransformed(const std::string& event_id, const std::string& transformation_id,
                         const std::string& facility_id, v1::Process process,
                         const std::vector<Input>& inputs, const std::vector<Output>& outputs) {
  v1::Event event = Envelope(event_id, "facility/" + facility_id);
  auto* p = event.mutable_lot_transformed();
  p->set_transformation_id(transformation_id);
  p->set_facility_id(facility_id);
  p->set_process(process);
  for (const auto& in : inputs) {
    auto* x = p->add_inputs();
    x->set_lot_id(in.lot_id);
    x->set_mass_g(in.mass_g);
  }
  for (const auto& out : outputs) {
    auto* x = p->add_outputs();
    x->set_lot_id(out.lot_id);
    x->set_material(out.material);
    x->set_hs_code(out.hs_code);
    x->set_mass_g(out.mass_g);
  }
  return event;
}

v1::Event ShipmentDispatched(const std::string& event_id, const std::string& shipment_id,
                             const std::vector<Input>& items, const std::string& from_facility,
                             const std::string& to_facility, const std::string& declared_origin,
                             const std::string& declared_hs_code) {
  v1::Event event = Envelope(event_id, "shipment/" + shipment_id);
  auto* p = event.mutable_shipment_dispatched();
  p->set_shipment_id(shipment_id);
  for (const auto& item : items) {
    auto* x = p->add_items();
    x->set_lot_id(item.lot_id);
    x->set_mass_g(item.mass_g);
  }
  p->set_from_facility_id(from_facility);
  p->set_to_facility_id(to_facility);
  p->set_declared_origin(declared_origin);
  p->set_declared_hs_code(declared_hs_code);
  return event;
}

v1::Event ShipmentArrived(const std::string& event_id, const std::string& shipment_id,
                          const std::string& facility_id) {
  v1::Event event = Envelope(event_id, "shipment/" + shipment_id);
  auto* p = event.mutable_shipment_arrived();
  p->set_shipment_id(shipment_id);
  p->set_facility_id(facility_id);
  return event;
}

v1::Event EventRetracted(const std::string& event_id, const std::string& subject,
                         const std::string& retracted_event_id) {
  v1::Event event = Envelope(event_id, subject);
  auto* p = event.mutable_event_retracted();
  p->set_retracted_event_id(retracted_event_id);
  p->set_reason(v1::RETRACTION_REASON_INCORRECT_DATA);
  return event;
}

namespace {

template <typename RoleEvent>
void SetRole(RoleEvent* p, const std::string& party_id, v1::Role role, const std::string& country,
             const std::string& principal_party_id) {
  p->set_party_id(party_id);
  p->set_role(role);
  p->set_country(country);
  p->set_principal_party_id(principal_party_id);
}

}  // namespace

v1::Event RoleGranted(const std::string& event_id, const std::string& party_id, v1::Role role,
                      const std::string& country, const std::string& principal_party_id) {
  v1::Event event = Envelope(event_id, "party/" + party_id);
  SetRole(event.mutable_role_granted(), party_id, role, country, principal_party_id);
  return event;
}

v1::Event RoleRevoked(const std::string& event_id, const std::string& party_id, v1::Role role,
                      const std::string& country, const std::string& principal_party_id) {
  v1::Event event = Envelope(event_id, "party/" + party_id);
  SetRole(event.mutable_role_revoked(), party_id, role, country, principal_party_id);
  return event;
}

v1::Event SigningKeyRegistered(const std::string& event_id, const std::string& party_id,
                               const std::string& key_id, const std::string& public_key) {
  v1::Event event = Envelope(event_id, "party/" + party_id);
  auto* p = event.mutable_signing_key_registered();
  p->set_party_id(party_id);
  p->set_key_id(key_id);
  p->set_public_key(public_key);
  return event;
}

v1::Event SigningKeyRevoked(const std::string& event_id, const std::string& party_id,
                            const std::string& key_id) {
  v1::Event event = Envelope(event_id, "party/" + party_id);
  auto* p = event.mutable_signing_key_revoked();
  p->set_party_id(party_id);
  p->set_key_id(key_id);
  return event;
}

std::vector<v1::Event> MineSetup(const std::string& prefix, const std::string& country) {
  return {PartyRegistered(prefix + "-e-party", prefix + "-party", country),
          FacilityRegistered(prefix + "-e-mine", prefix + "-mine", prefix + "-party", country,
                             v1::FACILITY_KIND_MINE)};
}

}  // namespace lodestone::loadgen
