#include "services/epcis/mapping.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/domain/rules.h"
#include "services/epcis/event_hash.h"
#include "services/epcis/vocabulary.h"

namespace lodestone::epcis {
namespace {

using http::Json;
using http::PointerAppend;

// A refusal while mapping one event: the pointer is relative to the event.
struct Refusal {
  std::string pointer;
  std::string reason;
};

// JSON-LD prefixes in force: the standard EPCIS context's (for the few terms the mapping reads)
// overridden by the document's and the event's own @context objects.
using PrefixMap = std::map<std::string, std::string>;

// The full IRI of a key: "prefix:local" through the prefixes, an IRI as it is, a bare term as
// "" (bare terms are the standard's own).
std::string ExpandKey(const std::string& key, const PrefixMap& prefixes) {
  const size_t colon = key.find(':');
  if (colon == std::string::npos) return "";
  if (auto it = prefixes.find(key.substr(0, colon)); it != prefixes.end()) {
    return it->second + key.substr(colon + 1);
  }
  return key;
}

// The members of `object` whose key expands to kLodestoneNamespace + term, by term.
std::map<std::string, std::pair<std::string, const Json*>> LodestoneTerms(
    const Json& object, const PrefixMap& prefixes) {
  std::map<std::string, std::pair<std::string, const Json*>> terms;
  if (!object.is_object()) return terms;
  for (const auto& [key, value] : object.items()) {
    const std::string iri = ExpandKey(key, prefixes);
    if (iri.starts_with(kLodestoneNamespace)) {
      terms[iri.substr(kLodestoneNamespace.size())] = {key, &value};
    }
  }
  return terms;
}

// The value of `object`'s member whose key expands to `iri` (or is `bare`).
const Json* MemberByIri(const Json& object, const PrefixMap& prefixes, std::string_view iri,
                        std::string* key_out) {
  if (!object.is_object()) return nullptr;
  for (const auto& [key, value] : object.items()) {
    if (ExpandKey(key, prefixes) == iri) {
      *key_out = key;
      return &value;
    }
  }
  return nullptr;
}

class EventMapper {
 public:
  EventMapper(const http::ParsedJson& document, const Json& event, std::string pointer,
              PrefixMap prefixes, const MappingOptions& options, std::string event_hash)
      : event_hash_(std::move(event_hash)),
        document_(document),
        event_(event),
        pointer_(std::move(pointer)),
        prefixes_(std::move(prefixes)),
        options_(options) {
    terms_ = LodestoneTerms(event_, prefixes_);
  }

  std::optional<Refusal> Map(std::vector<domain::Event>* out) {
    const std::string type = event_.value("type", "");
    base_id_ = EventIdFromEpcis(event_.contains("eventID") && event_["eventID"].is_string()
                                    ? event_["eventID"].get<std::string>()
                                    : event_hash_);
    if (auto refusal = ParseTime(event_, "eventTime", &event_time_)) return refusal;
    if (auto refusal = Actor()) return refusal;
    std::vector<domain::Event> events;
    std::optional<Refusal> refusal;
    if (type == "ObjectEvent") {
      refusal = ObjectEvent(&events);
    } else if (type == "TransformationEvent") {
      refusal = TransformationEvent(&events);
    } else {
      refusal = Refuse("/type", absl::StrCat(type,
                                             " has no Lodestone meaning: Lodestone records masses "
                                             "of lots, their transformations and shipments "
                                             "(docs/epcis.md)"));
    }
    if (refusal) return refusal;
    if (event_.contains("errorDeclaration")) return Retractions(events, out);
    for (auto& event : events) out->push_back(std::move(event));
    return std::nullopt;
  }

 private:
  Refusal Refuse(std::string pointer, std::string reason) const {
    return Refusal{std::move(pointer), std::move(reason)};
  }

  std::optional<Refusal> ParseTime(const Json& object, const std::string& key, absl::Time* time,
                                   const std::string& at = "") const {
    if (!object.contains(key) || !object[key].is_string()) {
      return Refuse(at + "/" + key, "required");
    }
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, object[key].get<std::string>(), time, &error)) {
      return Refuse(at + "/" + key, absl::StrCat("not an RFC 3339 date-time: ", error));
    }
    return std::nullopt;
  }

  const Json* Term(const std::string& name, std::string* pointer) const {
    auto it = terms_.find(name);
    if (it == terms_.end()) return nullptr;
    *pointer = PointerAppend("", it->second.first);
    return it->second.second;
  }

  std::optional<Refusal> TermString(const std::string& name, std::string* value,
                                    bool required) const {
    std::string pointer;
    const Json* term = Term(name, &pointer);
    if (term == nullptr) {
      if (required) {
        return Refuse("", absl::StrCat("the Lodestone extension lodestone:", name,
                                       " is required here (namespace ",
                                       std::string(kLodestoneNamespace), ")"));
      }
      return std::nullopt;
    }
    if (!term->is_string()) return Refuse(pointer, "must be a string");
    *value = term->get<std::string>();
    return std::nullopt;
  }

  std::optional<Refusal> Actor() {
    actor_ = options_.default_actor;
    std::string value;
    if (auto refusal = TermString("actor", &value, false)) return refusal;
    if (value.empty()) return std::nullopt;
    auto party = PartyId(value);
    if (!party.ok()) return Refuse("", std::string(party.status().message()));
    actor_ = party->has_value() ? **party : value;
    return std::nullopt;
  }

  domain::Event Envelope(std::string id, std::string subject, domain::Payload payload) const {
    domain::Event event;
    event.event_id = std::move(id);
    event.event_time = event_time_;
    event.subject = std::move(subject);
    event.actor = actor_;
    event.payload = std::move(payload);
    return event;
  }

  std::optional<Refusal> Location(const std::string& key, std::string* facility) const {
    if (!event_.contains(key) || !event_[key].is_object() || !event_[key].contains("id")) {
      return Refuse("/" + key, "required: the facility (an SGLN or a GS1 Digital Link)");
    }
    auto id = FacilityId(event_[key]["id"].get<std::string>());
    if (!id.ok()) return Refuse("/" + key + "/id", std::string(id.status().message()));
    if (!id->has_value()) {
      return Refuse("/" + key + "/id",
                    "not an SGLN, a GLN Digital Link or urn:lodestone:facility:");
    }
    *facility = **id;
    return std::nullopt;
  }

  // Material, HS code and country of a class: its entry in lodestone:classes, else the ilmd.
  struct ClassData {
    std::optional<domain::Material> material;
    std::string hs_code;
    std::string country;
  };
  std::optional<Refusal> ClassInfo(const std::string& epc_class, ClassData* data) const {
    const Json* ilmd = event_.contains("ilmd") ? &event_["ilmd"] : nullptr;
    const auto read = [&](const Json& object, const std::string& at,
                          bool plain_keys) -> std::optional<Refusal> {
      const auto get = [&](const std::string& name, std::string* value) -> std::optional<Refusal> {
        const Json* found = nullptr;
        std::string key = name;
        if (plain_keys) {
          if (object.contains(name)) found = &object[name];
        } else {
          found = MemberByIri(object, prefixes_,
                              absl::StrCat(std::string(kLodestoneNamespace), name), &key);
        }
        if (found == nullptr) return std::nullopt;
        if (!found->is_string()) return Refuse(PointerAppend(at, key), "must be a string");
        *value = found->get<std::string>();
        return std::nullopt;
      };
      std::string material;
      if (auto r = get("material", &material)) return r;
      if (!material.empty()) {
        data->material = MaterialFromName(material);
        if (!data->material) {
          return Refuse(at, absl::StrCat("unknown material '", material,
                                         "' (antimony_oxide, rare_earth_metal, ...)"));
        }
      }
      if (auto r = get("hsCode", &data->hs_code)) return r;
      if (auto r = get("country", &data->country)) return r;
      return std::nullopt;
    };
    if (ilmd != nullptr && ilmd->is_object()) {
      if (auto r = read(*ilmd, "/ilmd", false)) return r;
      std::string key;
      if (const Json* origin =
              MemberByIri(*ilmd, prefixes_, "urn:epcglobal:cbv:mda#countryOfOrigin", &key)) {
        if (!origin->is_string()) return Refuse(PointerAppend("/ilmd", key), "must be a string");
        data->country = origin->get<std::string>();
      }
    }
    std::string pointer;
    if (const Json* classes = Term("classes", &pointer)) {
      if (!classes->is_array()) return Refuse(pointer, "must be an array");
      for (size_t i = 0; i < classes->size(); ++i) {
        const Json& entry = (*classes)[i];
        if (!entry.is_object()) return Refuse(PointerAppend(pointer, i), "must be an object");
        if (entry.value("epcClass", "") != epc_class) continue;
        if (auto r = read(entry, PointerAppend(pointer, i), true)) return r;
      }
    }
    return std::nullopt;
  }

  struct Quantity {
    std::string epc_class;
    std::optional<std::string> lot;  // the lot the class names, if any
    domain::Grams grams = 0;
    std::string pointer;
  };
  std::optional<Refusal> Quantities(const std::string& key, std::vector<Quantity>* out) const {
    if (!event_.contains(key)) return std::nullopt;
    const Json& list = event_[key];
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = PointerAppend("/" + key, i);
      const Json& element = list[i];
      Quantity quantity;
      quantity.pointer = at;
      quantity.epc_class = element.value("epcClass", "");
      if (!element.contains("quantity")) {
        return Refuse(at, "a quantity element without a quantity: Lodestone needs the mass");
      }
      const std::string text = document_.NumberText(pointer_ + at + "/quantity");
      auto grams = GramsFromDecimal(text, element.value("uom", ""));
      if (!grams.ok()) return Refuse(at, std::string(grams.status().message()));
      quantity.grams = *grams;
      auto lot = LotId(quantity.epc_class);
      if (!lot.ok()) return Refuse(at + "/epcClass", std::string(lot.status().message()));
      quantity.lot = *lot;
      out->push_back(std::move(quantity));
    }
    return std::nullopt;
  }

  std::optional<Refusal> NoInstanceEpcs(std::initializer_list<const char*> keys) const {
    for (const char* key : keys) {
      if (event_.contains(key) && !event_[key].empty()) {
        return Refuse(absl::StrCat("/", key),
                      "instance-level EPCs carry no mass: Lodestone needs quantityList entries "
                      "of lot classes (LGTIN) with a mass");
      }
    }
    return std::nullopt;
  }

  std::string BizStep() const { return CbvWord(event_.value("bizStep", ""), "bizstep", "BizStep"); }

  std::string SuffixedId(size_t i, size_t n) const {
    return n == 1 ? base_id_ : absl::StrCat(base_id_, "/", i);
  }

  std::optional<Refusal> ObjectEvent(std::vector<domain::Event>* out) {
    const std::string action = event_.value("action", "");
    const std::string step = BizStep();
    if (action == "ADD" && step == "commissioning") return Commissioning(out);
    if (action == "OBSERVE" && (step == "shipping" || step == "departing")) return Shipping(out);
    if (action == "OBSERVE" && (step == "receiving" || step == "arriving")) return Receiving(out);
    return Refuse(
        "/bizStep",
        absl::StrCat("an ObjectEvent ", action, " with bizStep '", event_.value("bizStep", ""),
                     "' has no Lodestone meaning: ADD commissioning, OBSERVE shipping "
                     "and OBSERVE receiving map (docs/epcis.md)"));
  }

  std::optional<Refusal> Commissioning(std::vector<domain::Event>* out) {
    if (auto r = NoInstanceEpcs({"epcList"})) return r;
    std::string facility;
    if (auto r = Location("bizLocation", &facility)) return r;
    std::vector<Quantity> quantities;
    if (auto r = Quantities("quantityList", &quantities)) return r;
    if (quantities.empty()) return Refuse("/quantityList", "commissioning needs lot masses");
    for (size_t i = 0; i < quantities.size(); ++i) {
      const Quantity& q = quantities[i];
      if (!q.lot) return Refuse(q.pointer + "/epcClass", "not a lot class (LGTIN)");
      ClassData data;
      if (auto r = ClassInfo(q.epc_class, &data)) return r;
      if (!data.material) return Refuse("/ilmd", "lodestone:material is required for a new lot");
      if (data.hs_code.empty())
        return Refuse("/ilmd", "lodestone:hsCode is required for a new lot");
      const std::string subject = absl::StrCat("lot/", *q.lot);
      if (!data.country.empty()) {
        domain::LotRegistered lot;
        lot.lot_id = *q.lot;
        lot.material = *data.material;
        lot.hs_code = data.hs_code;
        lot.mass_g = q.grams;
        lot.facility_id = facility;
        lot.origin_country = data.country;
        out->push_back(Envelope(SuffixedId(i, quantities.size()), subject, lot));
      } else {
        domain::LotExtracted lot;
        lot.lot_id = *q.lot;
        lot.material = *data.material;
        lot.hs_code = data.hs_code;
        lot.mass_g = q.grams;
        lot.facility_id = facility;
        out->push_back(Envelope(SuffixedId(i, quantities.size()), subject, lot));
      }
    }
    return std::nullopt;
  }

  // The shipment id: the first despatch advice, else the first bill of lading.
  std::optional<Refusal> Shipment(std::string* id) const {
    if (event_.contains("bizTransactionList")) {
      const Json& list = event_["bizTransactionList"];
      for (const char* wanted : {"desadv", "bol"}) {
        for (size_t i = 0; i < list.size(); ++i) {
          if (CbvWord(list[i].value("type", ""), "btt", "BTT") != wanted) continue;
          auto shipment = ShipmentId(list[i].value("bizTransaction", ""));
          if (!shipment.ok()) {
            return Refuse(PointerAppend("/bizTransactionList", i),
                          std::string(shipment.status().message()));
          }
          *id = *shipment;
          return std::nullopt;
        }
      }
    }
    return Refuse("/bizTransactionList",
                  "a shipment needs a business transaction of type desadv (despatch advice) or "
                  "bol: it is the shipment's id, shared by its shipping and receiving events");
  }

  std::optional<Refusal> ListLocation(const std::string& key, std::string* facility) const {
    if (event_.contains(key)) {
      const Json& list = event_[key];
      for (size_t i = 0; i < list.size(); ++i) {
        if (CbvWord(list[i].value("type", ""), "sdt", "SDT") != "location") continue;
        const std::string value = list[i].value(key == "sourceList" ? "source" : "destination", "");
        auto id = FacilityId(value);
        const std::string at = PointerAppend("/" + key, i);
        if (!id.ok()) return Refuse(at, std::string(id.status().message()));
        if (!id->has_value()) return Refuse(at, "not an SGLN or GLN Digital Link");
        *facility = **id;
        return std::nullopt;
      }
    }
    return Refuse("/" + key, "needs an entry of type location (the facility)");
  }

  std::optional<Refusal> Shipping(std::vector<domain::Event>* out) {
    if (auto r = NoInstanceEpcs({"epcList"})) return r;
    domain::ShipmentDispatched shipment;
    if (auto r = Shipment(&shipment.shipment_id)) return r;
    if (auto r = ListLocation("sourceList", &shipment.from_facility_id)) return r;
    if (auto r = ListLocation("destinationList", &shipment.to_facility_id)) return r;
    std::vector<Quantity> quantities;
    if (auto r = Quantities("quantityList", &quantities)) return r;
    if (quantities.empty()) return Refuse("/quantityList", "a shipment needs lot masses");
    for (const Quantity& q : quantities) {
      if (!q.lot) return Refuse(q.pointer + "/epcClass", "not a lot class (LGTIN)");
      shipment.items.push_back({*q.lot, q.grams});
    }
    if (auto r = TermString("declaredOrigin", &shipment.declared_origin, true)) return r;
    if (auto r = TermString("declaredHsCode", &shipment.declared_hs_code, true)) return r;
    if (auto r = TermString("exportLicence", &shipment.export_licence_id, false)) return r;
    if (auto r = TermString("customsEntry", &shipment.customs_entry, false)) return r;
    const std::string subject = absl::StrCat("shipment/", shipment.shipment_id);
    out->push_back(Envelope(base_id_, subject, std::move(shipment)));
    return std::nullopt;
  }

  std::optional<Refusal> Receiving(std::vector<domain::Event>* out) {
    domain::ShipmentArrived arrived;
    if (auto r = Shipment(&arrived.shipment_id)) return r;
    if (event_.contains("destinationList")) {
      if (auto r = ListLocation("destinationList", &arrived.facility_id)) return r;
    } else if (auto r = Location("bizLocation", &arrived.facility_id)) {
      return r;
    }
    if (auto r = TermString("customsEntry", &arrived.customs_entry, false)) return r;
    const std::string subject = absl::StrCat("shipment/", arrived.shipment_id);
    out->push_back(Envelope(base_id_, subject, std::move(arrived)));
    return std::nullopt;
  }

  std::optional<Refusal> TransformationEvent(std::vector<domain::Event>* out) {
    if (auto r = NoInstanceEpcs({"inputEPCList", "outputEPCList"})) return r;
    domain::LotTransformed transformed;
    transformed.transformation_id = base_id_;
    if (auto r = Location("bizLocation", &transformed.facility_id)) return r;
    std::string process;
    if (auto r = TermString("process", &process, true)) return r;
    auto parsed = ProcessFromName(process);
    if (!parsed) {
      std::string pointer;
      Term("process", &pointer);
      return Refuse(pointer,
                    absl::StrCat("unknown process '", process, "' (refining, smelting, ...)"));
    }
    transformed.process = *parsed;
    std::vector<Quantity> inputs, outputs;
    if (auto r = Quantities("inputQuantityList", &inputs)) return r;
    if (auto r = Quantities("outputQuantityList", &outputs)) return r;
    for (const Quantity& q : inputs) {
      if (q.lot) {
        transformed.inputs.push_back({*q.lot, q.grams});
        continue;
      }
      ClassData data;
      if (auto r = ClassInfo(q.epc_class, &data)) return r;
      if (!data.material) {
        return Refuse(q.pointer,
                      "an input without a lot is untracked: give its material in "
                      "lodestone:classes");
      }
      transformed.untracked_inputs.push_back({*data.material, q.grams, data.country});
    }
    if (outputs.empty()) return Refuse("/outputQuantityList", "a transformation needs outputs");
    for (const Quantity& q : outputs) {
      if (!q.lot) return Refuse(q.pointer + "/epcClass", "an output must be a lot class (LGTIN)");
      ClassData data;
      if (auto r = ClassInfo(q.epc_class, &data)) return r;
      if (!data.material || data.hs_code.empty()) {
        return Refuse(q.pointer,
                      "an output lot needs lodestone:material and lodestone:hsCode "
                      "(in the ilmd or lodestone:classes)");
      }
      domain::LotOutput output;
      output.lot_id = *q.lot;
      output.material = *data.material;
      output.hs_code = data.hs_code;
      output.mass_g = q.grams;
      transformed.outputs.push_back(std::move(output));
    }
    const std::string subject = absl::StrCat("facility/", transformed.facility_id);
    out->push_back(Envelope(base_id_, subject, std::move(transformed)));
    return std::nullopt;
  }

  // An errorDeclaration: the event as it was originally captured is declared erroneous. Each
  // Lodestone event it mapped to is retracted ("retract:<id>"), in its own stream.
  std::optional<Refusal> Retractions(const std::vector<domain::Event>& originals,
                                     std::vector<domain::Event>* out) {
    const Json& declaration = event_["errorDeclaration"];
    absl::Time declared;
    if (auto r = ParseTime(declaration, "declarationTime", &declared, "/errorDeclaration")) {
      return r;
    }
    domain::RetractionReason reason = domain::RetractionReason::kIncorrectData;
    if (declaration.contains("reason")) {
      const std::string word = CbvWord(declaration.value("reason", ""), "er", "ER");
      if (word == "did_not_occur") {
        reason = domain::RetractionReason::kDidNotOccur;
      } else if (word != "incorrect_data") {
        return Refuse("/errorDeclaration/reason",
                      "Lodestone knows the reasons did_not_occur and incorrect_data");
      }
    }
    std::vector<std::string> corrective;
    if (declaration.contains("correctiveEventIDs")) {
      for (const Json& id : declaration["correctiveEventIDs"]) {
        if (id.is_string()) corrective.push_back(EventIdFromEpcis(id.get<std::string>()));
      }
    }
    for (const domain::Event& original : originals) {
      domain::EventRetracted retracted;
      retracted.retracted_event_id = original.event_id;
      retracted.reason = reason;
      retracted.corrective_event_ids = corrective;
      retracted.note = "EPCIS errorDeclaration";
      std::string id = absl::StrCat("retract:", original.event_id);
      if (!domain::IsWellFormedId(id))
        id = absl::StrCat("retract:sha256:", HexSha256(id).substr(0, 40));
      domain::Event event = Envelope(std::move(id), original.subject, std::move(retracted));
      event.event_time = declared;
      out->push_back(std::move(event));
    }
    return std::nullopt;
  }

  const std::string event_hash_;
  const http::ParsedJson& document_;
  const Json& event_;
  const std::string pointer_;
  const PrefixMap prefixes_;
  const MappingOptions& options_;
  std::map<std::string, std::pair<std::string, const Json*>> terms_;
  std::string base_id_;
  absl::Time event_time_;
  std::string actor_;
};

}  // namespace

std::string EventIdFromEpcis(std::string_view epcis_event_id) {
  std::string id = absl::StrCat("epcis:", std::string(epcis_event_id));
  if (domain::IsWellFormedId(id)) return id;
  return absl::StrCat("epcis:sha256:", HexSha256(epcis_event_id).substr(0, 40));
}

absl::Status MapDocument(const http::ParsedJson& document, const MappingOptions& options,
                         MappedDocument* out, CaptureError* error) {
  const Json& root = document.value;
  PrefixMap prefixes = {{"cbvmda", "urn:epcglobal:cbv:mda#"}};
  if (root.contains("@context")) AddContextPrefixes(root["@context"], prefixes);
  const Json* list = nullptr;
  if (root.contains("epcisBody") && root["epcisBody"].contains("eventList")) {
    list = &root["epcisBody"]["eventList"];
  }
  if (list == nullptr || !list->is_array()) {
    *error = {"mapping", 0, false, "/epcisBody/eventList", "no eventList"};
    return absl::InvalidArgumentError(error->reason);
  }
  out->epcis_events = list->size();
  std::map<std::string, size_t> seen;  // eventID -> index of its first event
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& event = (*list)[i];
    const std::string pointer = PointerAppend("/epcisBody/eventList", i);
    out->event_hashes.push_back(EventHashFromPreHash(EventPreHash(document, i)));
    // Two events of one document with one eventID (or, without one, one canonical hash):
    // ambiguous, unless the second declares the first erroneous (an errorDeclaration keeps the
    // original's eventID and hash).
    const bool has_id =
        event.is_object() && event.contains("eventID") && event["eventID"].is_string();
    if (event.is_object() && !event.contains("errorDeclaration")) {
      const std::string key = has_id ? event["eventID"].get<std::string>() : out->event_hashes[i];
      const auto [it, inserted] = seen.emplace(key, i);
      if (!inserted) {
        *error = {"mapping", i, true, has_id ? pointer + "/eventID" : pointer,
                  has_id ? absl::StrCat("eventID '", it->first, "' is also the id of event ",
                                        it->second, " of this document")
                         : absl::StrCat("event ", it->second,
                                        " of this document is the same event (canonical hash ",
                                        it->first, ")")};
        return absl::InvalidArgumentError(error->reason);
      }
    }
    PrefixMap event_prefixes = prefixes;
    if (event.contains("@context")) AddContextPrefixes(event["@context"], event_prefixes);
    EventMapper mapper(document, event, pointer, std::move(event_prefixes), options,
                       out->event_hashes[i]);
    const size_t before = out->events.size();
    if (auto refusal = mapper.Map(&out->events)) {
      *error = {"mapping", i, true, pointer + refusal->pointer, refusal->reason};
      return absl::InvalidArgumentError(
          absl::StrCat("event ", i, " (", error->pointer, "): ", error->reason));
    }
    // The EPCIS identity travels with each Lodestone event it became, inside what is attested.
    for (size_t k = before; k < out->events.size(); ++k) {
      out->events[k].epcis_event_id = has_id ? event["eventID"].get<std::string>() : "";
      out->events[k].epcis_event_hash = out->event_hashes[i];
    }
    out->source_index.resize(out->events.size(), i);
  }
  return absl::OkStatus();
}

}  // namespace lodestone::epcis
