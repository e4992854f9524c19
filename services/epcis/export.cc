#include "services/epcis/export.h"

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "services/epcis/vocabulary.h"

namespace lodestone::epcis {
namespace {

using http::Json;

std::string TimeText(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

Json Quantity(const std::string& epc_class, domain::Grams grams) {
  return {{"epcClass", epc_class}, {"quantity", grams}, {"uom", "GRM"}};
}

Json Location(const std::string& facility_id) { return {{"id", IdToUri("facility", facility_id)}}; }

Json ShipmentTransaction(const std::string& shipment_id) {
  return Json::array({{{"type", "desadv"}, {"bizTransaction", IdToUri("shipment", shipment_id)}}});
}

// The members every exported event has.
Json Common(const std::string& type, const domain::Event& first, absl::Time record_time) {
  Json event = Json::object();
  event["type"] = type;
  event["eventID"] = ExportedEventId(first);
  event["eventTime"] = TimeText(first.event_time);
  event["eventTimeZoneOffset"] = "+00:00";
  event["recordTime"] = TimeText(record_time);
  event["lodestone:actor"] = IdToUri("party", first.actor);
  if (!first.epcis_event_hash.empty()) event["lodestone:eventHash"] = first.epcis_event_hash;
  return event;
}

// An ObjectEvent of no instance EPCs with its action, bizStep and bizLocation.
Json ObjectEvent(const domain::Event& first, absl::Time record_time, const std::string& action,
                 const std::string& biz_step, const std::string& facility_id) {
  Json event = Common("ObjectEvent", first, record_time);
  event["epcList"] = Json::array();
  event["action"] = action;
  event["bizStep"] = biz_step;
  event["bizLocation"] = Location(facility_id);
  return event;
}

// A commissioning of the lots of `group` (LotExtracted and LotRegistered events).
std::optional<Json> Commissioning(const std::vector<domain::Event>& group, absl::Time record_time) {
  Json quantities = Json::array();
  Json classes = Json::array();
  std::string facility;
  for (const domain::Event& part : group) {
    std::string lot, hs_code, country;
    domain::Material material = domain::Material::kUnspecified;
    domain::Grams grams = 0;
    if (const auto* extracted = std::get_if<domain::LotExtracted>(&part.payload)) {
      lot = extracted->lot_id;
      material = extracted->material;
      hs_code = extracted->hs_code;
      grams = extracted->mass_g;
      facility = extracted->facility_id;
    } else if (const auto* registered = std::get_if<domain::LotRegistered>(&part.payload)) {
      lot = registered->lot_id;
      material = registered->material;
      hs_code = registered->hs_code;
      grams = registered->mass_g;
      facility = registered->facility_id;
      country = registered->origin_country;
    } else {
      return std::nullopt;
    }
    const std::string epc_class = IdToUri("lot", lot);
    quantities.push_back(Quantity(epc_class, grams));
    Json entry = {{"epcClass", epc_class},
                  {"material", std::string(MaterialToName(material))},
                  {"hsCode", hs_code}};
    if (!country.empty()) entry["country"] = country;
    classes.push_back(std::move(entry));
  }
  Json event = ObjectEvent(group.front(), record_time, "ADD", "commissioning", facility);
  event["quantityList"] = std::move(quantities);
  event["lodestone:classes"] = std::move(classes);
  return event;
}

Json Dispatch(const domain::Event& first, const domain::ShipmentDispatched& shipment,
              absl::Time record_time) {
  Json event = ObjectEvent(first, record_time, "OBSERVE", "shipping", shipment.from_facility_id);
  Json quantities = Json::array();
  for (const auto& item : shipment.items) {
    quantities.push_back(Quantity(IdToUri("lot", item.lot_id), item.mass_g));
  }
  event["quantityList"] = std::move(quantities);
  event["bizTransactionList"] = ShipmentTransaction(shipment.shipment_id);
  event["sourceList"] = Json::array(
      {{{"type", "location"}, {"source", IdToUri("facility", shipment.from_facility_id)}}});
  event["destinationList"] = Json::array(
      {{{"type", "location"}, {"destination", IdToUri("facility", shipment.to_facility_id)}}});
  event["lodestone:declaredOrigin"] = shipment.declared_origin;
  event["lodestone:declaredHsCode"] = shipment.declared_hs_code;
  if (!shipment.export_licence_id.empty()) {
    event["lodestone:exportLicence"] = shipment.export_licence_id;
  }
  if (!shipment.customs_entry.empty()) event["lodestone:customsEntry"] = shipment.customs_entry;
  return event;
}

Json Arrival(const domain::Event& first, const domain::ShipmentArrived& arrived,
             absl::Time record_time) {
  Json event = ObjectEvent(first, record_time, "OBSERVE", "receiving", arrived.facility_id);
  event["bizTransactionList"] = ShipmentTransaction(arrived.shipment_id);
  event["destinationList"] = Json::array(
      {{{"type", "location"}, {"destination", IdToUri("facility", arrived.facility_id)}}});
  if (!arrived.customs_entry.empty()) event["lodestone:customsEntry"] = arrived.customs_entry;
  return event;
}

Json Transformation(const domain::Event& first, const domain::LotTransformed& transformed,
                    absl::Time record_time) {
  Json event = Common("TransformationEvent", first, record_time);
  event["bizLocation"] = Location(transformed.facility_id);
  event["lodestone:process"] = std::string(ProcessToName(transformed.process));
  Json inputs = Json::array();
  Json classes = Json::array();
  for (const auto& input : transformed.inputs) {
    inputs.push_back(Quantity(IdToUri("lot", input.lot_id), input.mass_g));
  }
  // An untracked input has no class of its own: a class per input, named for its material.
  for (size_t i = 0; i < transformed.untracked_inputs.size(); ++i) {
    const auto& input = transformed.untracked_inputs[i];
    const std::string epc_class = absl::StrCat(
        "urn:lodestone:untracked:", std::string(MaterialToName(input.material)), ":", i);
    inputs.push_back(Quantity(epc_class, input.mass_g));
    Json entry = {{"epcClass", epc_class},
                  {"material", std::string(MaterialToName(input.material))}};
    if (!input.country.empty()) entry["country"] = input.country;
    classes.push_back(std::move(entry));
  }
  Json outputs = Json::array();
  for (const auto& output : transformed.outputs) {
    const std::string epc_class = IdToUri("lot", output.lot_id);
    outputs.push_back(Quantity(epc_class, output.mass_g));
    classes.push_back({{"epcClass", epc_class},
                       {"material", std::string(MaterialToName(output.material))},
                       {"hsCode", output.hs_code}});
  }
  if (!inputs.empty()) event["inputQuantityList"] = std::move(inputs);
  event["outputQuantityList"] = std::move(outputs);
  event["lodestone:classes"] = std::move(classes);
  return event;
}

}  // namespace

Json ExportContext() {
  return Json::array({"https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                      {{"lodestone", "urn:lodestone:epcis:v1:"}}});
}

bool SameEpcisEvent(const domain::Event& a, const domain::Event& b) {
  return !a.epcis_event_hash.empty() && a.epcis_event_hash == b.epcis_event_hash &&
         a.epcis_event_id == b.epcis_event_id && a.payload.index() == b.payload.index();
}

std::string ExportedEventId(const domain::Event& event) {
  if (!event.epcis_event_id.empty()) return event.epcis_event_id;
  if (!event.epcis_event_hash.empty()) return event.epcis_event_hash;
  return absl::StrCat("urn:lodestone:event:", event.event_id);
}

std::optional<Json> ExportEvent(const std::vector<domain::Event>& group, absl::Time record_time) {
  if (group.empty()) return std::nullopt;
  const domain::Event& first = group.front();
  if (std::holds_alternative<domain::LotExtracted>(first.payload) ||
      std::holds_alternative<domain::LotRegistered>(first.payload)) {
    return Commissioning(group, record_time);
  }
  if (group.size() != 1) return std::nullopt;
  if (const auto* shipment = std::get_if<domain::ShipmentDispatched>(&first.payload)) {
    return Dispatch(first, *shipment, record_time);
  }
  if (const auto* arrived = std::get_if<domain::ShipmentArrived>(&first.payload)) {
    return Arrival(first, *arrived, record_time);
  }
  if (const auto* transformed = std::get_if<domain::LotTransformed>(&first.payload)) {
    return Transformation(first, *transformed, record_time);
  }
  return std::nullopt;
}

std::optional<Json> ExportRetraction(const std::vector<domain::Event>& retractions,
                                     const std::vector<domain::Event>& originals,
                                     const std::vector<std::string>& corrective_ids,
                                     absl::Time record_time) {
  if (retractions.empty()) return std::nullopt;
  const auto* retracted = std::get_if<domain::EventRetracted>(&retractions.front().payload);
  if (retracted == nullptr) return std::nullopt;
  auto event = ExportEvent(originals, record_time);
  if (!event) return std::nullopt;
  const domain::Event& first = retractions.front();
  // A captured declaration keeps its own eventID (as a rule the original's); a native
  // retraction is declared under its original's.
  if (!first.epcis_event_hash.empty()) (*event)["eventID"] = ExportedEventId(first);
  (*event)["lodestone:actor"] = IdToUri("party", first.actor);
  if (first.epcis_event_hash.empty()) {
    event->erase("lodestone:eventHash");
  } else {
    (*event)["lodestone:eventHash"] = first.epcis_event_hash;
  }
  Json declaration = {
      {"declarationTime", TimeText(first.event_time)},
      {"reason", retracted->reason == domain::RetractionReason::kDidNotOccur ? "did_not_occur"
                                                                             : "incorrect_data"}};
  if (!corrective_ids.empty()) declaration["correctiveEventIDs"] = corrective_ids;
  (*event)["errorDeclaration"] = std::move(declaration);
  return event;
}

ExportedFacts FactsOf(const std::vector<domain::Event>& group) {
  ExportedFacts facts;
  for (const domain::Event& event : group) {
    std::visit(
        [&](const auto& payload) {
          using T = std::decay_t<decltype(payload)>;
          if constexpr (std::is_same_v<T, domain::LotExtracted> ||
                        std::is_same_v<T, domain::LotRegistered>) {
            facts.lots.push_back(payload.lot_id);
            facts.biz_location = payload.facility_id;
            facts.biz_step = "commissioning";
            facts.event_type = "ObjectEvent";
          } else if constexpr (std::is_same_v<T, domain::ShipmentDispatched>) {
            for (const auto& item : payload.items) facts.lots.push_back(item.lot_id);
            facts.biz_location = payload.from_facility_id;
            facts.biz_step = "shipping";
            facts.event_type = "ObjectEvent";
          } else if constexpr (std::is_same_v<T, domain::ShipmentArrived>) {
            facts.biz_location = payload.facility_id;
            facts.biz_step = "receiving";
            facts.event_type = "ObjectEvent";
          } else if constexpr (std::is_same_v<T, domain::LotTransformed>) {
            for (const auto& input : payload.inputs) facts.lots.push_back(input.lot_id);
            for (const auto& output : payload.outputs) facts.lots.push_back(output.lot_id);
            facts.biz_location = payload.facility_id;
            facts.event_type = "TransformationEvent";
          }
        },
        event.payload);
  }
  return facts;
}

}  // namespace lodestone::epcis
