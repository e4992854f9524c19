#include "services/provenance/read_rule.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;
using v1::views::FacilityView;
using v1::views::LotView;
using v1::views::ShipmentView;
using v1::views::TransformationView;

constexpr std::string_view kUntrackedMarker = "#untracked";

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

// Replaces every whole-id occurrence of `from` in `text` (not inside a longer id).
void ReplaceId(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t at = 0;
  while ((at = text.find(from, at)) != std::string::npos) {
    const size_t end = at + from.size();
    const bool bounded =
        (at == 0 || !IsIdChar(text[at - 1])) && (end == text.size() || !IsIdChar(text[end]));
    if (!bounded) {
      at = end;
      continue;
    }
    text.replace(at, from.size(), to);
    at += to.size();
  }
}

// Where the lot was made: its extraction, registration or transformation facility ("" when its
// creating event was retracted).
absl::StatusOr<std::string> CreatorFacility(const ViewStore& views, const LotView& lot) {
  if (lot.has_extracted()) return lot.extracted().facility_id();
  if (lot.has_registered()) return lot.registered().facility_id();
  if (!lot.has_transformation_id()) return std::string();
  auto t = views.Get<TransformationView>(keys::Transformation(lot.transformation_id()));
  if (!t.ok()) return t.status();
  return t->has_value() ? (*t)->event().facility_id() : std::string();
}

// One answer's redaction for one partner: decides what the partner was party to (with caches)
// and hands out pseudonyms, the same one for the same id within the answer.
class Redactor {
 public:
  Redactor(const ViewStore& views, const std::string& party) : views_(views), party_(party) {}

  absl::StatusOr<bool> Operates(std::string_view facility_id) {
    if (facility_id.empty()) return false;
    auto facility = views_.GetFacility(facility_id);
    if (!facility.ok()) return facility.status();
    return facility->has_value() && (*facility)->operator_party_id() == party_;
  }

  // A facility the partner operates or met as the other end of one of its shipments.
  absl::StatusOr<bool> KnowsFacility(std::string_view facility_id) {
    if (known_facilities_.contains(facility_id)) return true;
    return Operates(facility_id);
  }

  bool KnowsParty(std::string_view party_id) const {
    return party_id == party_ || known_parties_.contains(party_id);
  }

  // The partner dispatched or receives the shipment; its ends become known facilities.
  absl::StatusOr<bool> PartyToShipment(std::string_view shipment_id) {
    if (auto it = shipments_.find(shipment_id); it != shipments_.end()) return it->second;
    auto shipment = views_.Get<ShipmentView>(keys::Shipment(shipment_id));
    if (!shipment.ok()) return shipment.status();
    bool party = false;
    if (shipment->has_value()) {
      const auto& dispatched = (*shipment)->dispatched();
      for (const std::string* end :
           {&dispatched.from_facility_id(), &dispatched.to_facility_id()}) {
        auto operates = Operates(*end);
        if (!operates.ok()) return operates.status();
        party |= *operates;
      }
      if (party) {
        for (const std::string* end :
             {&dispatched.from_facility_id(), &dispatched.to_facility_id()}) {
          if (auto status = Know(*end); !status.ok()) return status;
        }
        for (const auto& item : dispatched.items()) known_lots_.insert(item.lot_id());
      }
    }
    shipments_.emplace(std::string(shipment_id), party);
    return party;
  }

  // The partner holds or has held the lot: it is or was at a facility the partner operates, or
  // on its way to one. Unknown lots: NOT_FOUND.
  absl::StatusOr<bool> HeldLot(std::string_view lot_id) {
    if (known_lots_.contains(lot_id)) return true;
    if (auto it = lots_.find(lot_id); it != lots_.end()) return it->second;
    auto lot = views_.Get<LotView>(keys::Lot(lot_id));
    if (!lot.ok()) return lot.status();
    if (!lot->has_value()) {
      return absl::NotFoundError(absl::StrCat("unknown lot '", d::ToAbsl(lot_id), "'"));
    }
    auto facilities = FacilitiesOf(**lot);
    if (!facilities.ok()) return facilities.status();
    bool held = false;
    for (const auto& facility : *facilities) {
      auto operates = Operates(facility);
      if (!operates.ok()) return operates.status();
      held |= *operates;
    }
    if (!held && !(*lot)->shipment_id().empty()) {
      auto party = PartyToShipment((*lot)->shipment_id());
      if (!party.ok()) return party.status();
      held = *party;
    }
    lots_.emplace(std::string(lot_id), held);
    return held;
  }

  // Makes the lot's shipments the partner was party to known (their ends, their items).
  absl::Status LearnShipmentsOf(std::string_view lot_id) {
    auto lot = views_.Get<LotView>(keys::Lot(lot_id));
    if (!lot.ok()) return lot.status();
    if (!lot->has_value()) return absl::OkStatus();
    std::vector<std::string> shipments;
    for (const auto& arrival : (*lot)->arrivals()) shipments.push_back(arrival.shipment_id());
    if (!(*lot)->shipment_id().empty()) shipments.push_back((*lot)->shipment_id());
    for (const auto& shipment : shipments) {
      if (auto party = PartyToShipment(shipment); !party.ok()) return party.status();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> PartyToTransformation(std::string_view transformation_id) {
    auto transformation = views_.Get<TransformationView>(keys::Transformation(transformation_id));
    if (!transformation.ok()) return transformation.status();
    if (!transformation->has_value()) return false;
    return Operates((*transformation)->event().facility_id());
  }

  absl::Status Lot(std::string& id) {
    if (id.empty()) return absl::OkStatus();
    auto held = HeldLot(id);
    if (held.ok() && *held) return absl::OkStatus();
    if (!held.ok() && !absl::IsNotFound(held.status())) return held.status();
    id = Pseudonym("lot", id);
    return absl::OkStatus();
  }

  absl::Status Facility(std::string& id) {
    if (id.empty()) return absl::OkStatus();
    auto known = KnowsFacility(id);
    if (!known.ok()) return known.status();
    if (!*known) id = Pseudonym("facility", id);
    return absl::OkStatus();
  }

  void Party(std::string& id) {
    if (!id.empty() && !KnowsParty(id)) id = Pseudonym("party", id);
  }

  absl::Status Shipment(std::string& id) {
    if (id.empty()) return absl::OkStatus();
    auto party = PartyToShipment(id);
    if (!party.ok()) return party.status();
    if (!*party) id = Pseudonym("shipment", id);
    return absl::OkStatus();
  }

  absl::Status Transformation(std::string& id) {
    if (id.empty()) return absl::OkStatus();
    auto party = PartyToTransformation(id);
    if (!party.ok()) return party.status();
    if (!*party) id = Pseudonym("transformation", id);
    return absl::OkStatus();
  }

  // An event id stated at `facility_id`: kept when the partner knows that facility.
  absl::Status Event(std::string& id, std::string_view facility_id) {
    if (id.empty()) return absl::OkStatus();
    auto known = KnowsFacility(facility_id);
    if (!known.ok()) return known.status();
    if (!*known) id = Pseudonym("event", id);
    return absl::OkStatus();
  }

  // A lineage id: a lot, a transformation or a transformation's untracked input.
  absl::Status Lineage(std::string& id) {
    if (const size_t marker = id.find(kUntrackedMarker); marker != std::string::npos) {
      std::string transformation = id.substr(0, marker);
      const std::string suffix = id.substr(marker);
      if (auto status = Transformation(transformation); !status.ok()) return status;
      id = transformation + suffix;
      return absl::OkStatus();
    }
    auto lot = views_.GetRaw(keys::Lot(id));
    if (!lot.ok()) return lot.status();
    if (lot->has_value()) return Lot(id);
    return Transformation(id);
  }

  // A share or evidence key: a country, a region, or a party.
  absl::Status Key(std::string& key) {
    if (key.empty() || key == party_) return absl::OkStatus();
    auto party = views_.GetRaw(keys::Party(key));
    if (!party.ok()) return party.status();
    if (party->has_value()) Party(key);
    return absl::OkStatus();
  }

  void Profile(v1::OriginProfile& profile) {
    for (auto& share : *profile.mutable_parties()) Party(*share.mutable_key());
  }

  absl::Status Verdict(v1::Verdict& verdict) {
    for (auto& evidence : *verdict.mutable_evidence()) {
      if (auto status = Key(*evidence.mutable_key()); !status.ok()) return status;
      for (auto& step : *evidence.mutable_lineage_path()) {
        if (auto status = Lineage(step); !status.ok()) return status;
      }
    }
    return absl::OkStatus();
  }

  // The redacted ids in free text (summaries name parties and lots): called after the
  // structured fields, so that it knows every pseudonym handed out.
  void Text(std::string& text) const {
    for (const auto& [original, pseudonym] : text_ids_) ReplaceId(text, original, pseudonym);
  }

 private:
  absl::Status Know(std::string_view facility_id) {
    if (facility_id.empty()) return absl::OkStatus();
    known_facilities_.insert(std::string(facility_id));
    auto facility = views_.GetFacility(facility_id);
    if (!facility.ok()) return facility.status();
    if (facility->has_value()) known_parties_.insert((*facility)->operator_party_id());
    return absl::OkStatus();
  }

  // Every facility the lot has been at: where it was made, where it is, and each arrival.
  absl::StatusOr<std::vector<std::string>> FacilitiesOf(const LotView& lot) {
    auto made_at = CreatorFacility(views_, lot);
    if (!made_at.ok()) return made_at.status();
    std::vector<std::string> facilities{*made_at, lot.facility_id()};
    for (const auto& arrival : lot.arrivals()) facilities.push_back(arrival.facility_id());
    return facilities;
  }

  std::string Pseudonym(std::string_view kind, const std::string& original) {
    auto [it, inserted] = pseudonyms_.try_emplace(absl::StrCat(d::ToAbsl(kind), "\n", original));
    if (inserted) {
      it->second = absl::StrCat("redacted:", d::ToAbsl(kind), ":", ++counts_[std::string(kind)]);
      text_ids_.emplace_back(original, it->second);
    }
    return it->second;
  }

  const ViewStore& views_;
  const std::string& party_;
  std::map<std::string, bool, std::less<>> lots_;
  std::map<std::string, bool, std::less<>> shipments_;
  std::set<std::string, std::less<>> known_lots_;
  std::set<std::string, std::less<>> known_facilities_;
  std::set<std::string, std::less<>> known_parties_;
  std::map<std::string, std::string, std::less<>> pseudonyms_;  // kind "\n" id -> pseudonym
  std::map<std::string, int, std::less<>> counts_;
  std::vector<std::pair<std::string, std::string>> text_ids_;  // id -> pseudonym, for Text
};

// A lot as a partner sees it (GetLot, a lot's history).
absl::Status RedactLot(const ViewStore& views, Redactor& r, v1::Lot& lot) {
  if (auto status = r.LearnShipmentsOf(lot.lot_id()); !status.ok()) return status;
  // The creating event is the partner's to see when it made the lot (or received it from its
  // maker); otherwise its id names upstream custody.
  auto view = views.Get<LotView>(keys::Lot(lot.lot_id()));
  if (!view.ok()) return view.status();
  if (view->has_value()) {
    auto made_at = CreatorFacility(views, **view);
    if (!made_at.ok()) return made_at.status();
    if (auto status = r.Event(*lot.mutable_created_by_event_id(), *made_at); !status.ok()) {
      return status;
    }
  }
  if (auto status = r.Facility(*lot.mutable_facility_id()); !status.ok()) return status;
  r.Party(*lot.mutable_custodian_party_id());
  if (auto status = r.Shipment(*lot.mutable_shipment_id()); !status.ok()) return status;
  r.Profile(*lot.mutable_profile());
  return absl::OkStatus();
}

// A shipment as a partner sees it (GetShipment, a shipment's history); flag texts are left to
// the caller (Text after every structured field).
absl::Status RedactShipment(Redactor& r, v1::Shipment& shipment) {
  if (auto party = r.PartyToShipment(shipment.shipment_id()); !party.ok()) return party.status();
  for (auto& item : *shipment.mutable_items()) {
    if (auto status = r.Lot(*item.mutable_lot_id()); !status.ok()) return status;
    r.Profile(*item.mutable_profile());
  }
  return absl::OkStatus();
}

absl::Status Denied(std::string_view party, std::string_view what) {
  return absl::PermissionDeniedError(
      absl::StrCat("party '", d::ToAbsl(party), "' may not ask about ", d::ToAbsl(what),
                   ": a partner asks about lots it holds or has held, shipments it dispatched or "
                   "receives, and its own exposure (auditors read everything)"));
}

}  // namespace

absl::StatusOr<Reader> ReadRule::PartyReader(const std::string& party) const {
  if (party == admin_party_) return Reader{};
  auto auditor = views_.GetRaw(keys::Auditor(party));
  if (!auditor.ok()) return auditor.status();
  if (auditor->has_value()) return Reader{};
  return Reader{party};
}

absl::Status ReadRule::MayAskAboutLot(const Reader& reader, std::string_view lot_id) const {
  if (reader.unrestricted() || lot_id.empty()) return absl::OkStatus();
  Redactor redactor(views_, reader.party);
  auto held = redactor.HeldLot(lot_id);
  if (!held.ok()) return held.status();
  if (*held) return absl::OkStatus();
  return Denied(reader.party, absl::StrCat("lot '", d::ToAbsl(lot_id), "'"));
}

absl::Status ReadRule::MayAskAboutShipment(const Reader& reader,
                                           std::string_view shipment_id) const {
  if (reader.unrestricted() || shipment_id.empty()) return absl::OkStatus();
  auto shipment = views_.GetRaw(keys::Shipment(shipment_id));
  if (!shipment.ok()) return shipment.status();
  if (!shipment->has_value()) {
    return absl::NotFoundError(absl::StrCat("unknown shipment '", d::ToAbsl(shipment_id), "'"));
  }
  Redactor redactor(views_, reader.party);
  auto party = redactor.PartyToShipment(shipment_id);
  if (!party.ok()) return party.status();
  if (*party) return absl::OkStatus();
  return Denied(reader.party, absl::StrCat("shipment '", d::ToAbsl(shipment_id), "'"));
}

absl::Status ReadRule::MayAskAboutParty(const Reader& reader, std::string_view party_id) const {
  if (reader.unrestricted() || party_id == reader.party) return absl::OkStatus();
  return Denied(reader.party, absl::StrCat("the exposure of party '", d::ToAbsl(party_id), "'"));
}

absl::Status ReadRule::MayAsk(const Reader& reader,
                              const v1::CheckComplianceRequest& request) const {
  if (request.has_shipment_id()) return MayAskAboutShipment(reader, request.shipment_id());
  return MayAskAboutLot(reader, request.lot_id());
}

absl::Status ReadRule::Redact(const Reader& reader, v1::GetLotResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  return RedactLot(views_, r, *response.mutable_lot());
}

absl::Status ReadRule::Redact(const Reader& reader, v1::TraceOriginResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  r.Profile(*response.mutable_profile());
  for (auto& node : *response.mutable_nodes()) {
    if (node.kind() == v1::LineageNode::KIND_LOT) {
      if (auto status = r.LearnShipmentsOf(node.id()); !status.ok()) return status;
    }
  }
  for (auto& node : *response.mutable_nodes()) {
    if (auto status = r.Lineage(*node.mutable_id()); !status.ok()) return status;
    if (auto status = r.Facility(*node.mutable_facility_id()); !status.ok()) return status;
  }
  for (auto& edge : *response.mutable_edges()) {
    if (auto status = r.Lineage(*edge.mutable_from_id()); !status.ok()) return status;
    if (auto status = r.Lineage(*edge.mutable_to_id()); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::TraceDownstreamResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  for (auto& shipment : *response.mutable_shipments()) {
    if (auto party = r.PartyToShipment(shipment.shipment_id()); !party.ok()) return party.status();
  }
  for (auto& lot : *response.mutable_lots()) {
    if (auto status = r.Lot(*lot.mutable_lot_id()); !status.ok()) return status;
    if (auto status = r.Facility(*lot.mutable_facility_id()); !status.ok()) return status;
  }
  for (auto& shipment : *response.mutable_shipments()) {
    if (auto status = r.Shipment(*shipment.mutable_shipment_id()); !status.ok()) return status;
    if (auto status = r.Lot(*shipment.mutable_lot_id()); !status.ok()) return status;
    if (auto status = r.Facility(*shipment.mutable_to_facility_id()); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::GetShipmentResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  v1::Shipment& shipment = *response.mutable_shipment();
  if (auto status = RedactShipment(r, shipment); !status.ok()) return status;
  for (auto& flag : *shipment.mutable_flags()) r.Text(*flag.mutable_summary());
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::ListFlagsResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  google::protobuf::RepeatedPtrField<v1::Flag> kept;
  for (auto& flag : *response.mutable_flags()) {
    const std::string_view subject = flag.subject();
    absl::StatusOr<bool> readable = false;
    if (subject.starts_with("shipment/")) {
      readable = r.PartyToShipment(subject.substr(9));
    } else if (subject.starts_with("lot/")) {
      readable = r.HeldLot(subject.substr(4));
      if (!readable.ok() && absl::IsNotFound(readable.status())) readable = false;
    }
    if (!readable.ok()) return readable.status();
    if (*readable) *kept.Add() = std::move(flag);
  }
  *response.mutable_flags() = std::move(kept);
  for (auto& flag : *response.mutable_flags()) r.Text(*flag.mutable_summary());
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::CheckComplianceResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  for (auto& verdict : *response.mutable_verdicts()) {
    if (auto status = r.Verdict(verdict); !status.ok()) return status;
  }
  for (auto& verdict : *response.mutable_verdicts()) r.Text(*verdict.mutable_summary());
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::GetExposureResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  r.Profile(*response.mutable_portfolio());
  for (auto& verdict : *response.mutable_verdicts()) {
    if (auto status = r.Verdict(verdict); !status.ok()) return status;
  }
  for (auto& verdict : *response.mutable_verdicts()) r.Text(*verdict.mutable_summary());
  return absl::OkStatus();
}

absl::Status ReadRule::Redact(const Reader& reader, v1::GetHistoryResponse& response) const {
  if (reader.unrestricted()) return absl::OkStatus();
  Redactor r(views_, reader.party);
  for (auto& entry : *response.mutable_entries()) {
    // The event that made a version is named when it concerns a lot the partner held or a
    // shipment it is party to; a change made upstream (say, a retracted extraction) shows as
    // a pseudonymous event of its kind.
    const std::string_view subject = entry.subject();
    absl::StatusOr<bool> own = false;
    if (subject.starts_with("shipment/")) {
      own = r.PartyToShipment(subject.substr(9));
    } else if (subject.starts_with("lot/")) {
      own = r.HeldLot(subject.substr(4));
      if (!own.ok() && absl::IsNotFound(own.status())) own = false;
    }
    if (!own.ok()) return own.status();
    if (!*own) {
      if (auto status = r.Event(*entry.mutable_event_id(), ""); !status.ok()) return status;
      if (auto status = r.Event(*entry.mutable_retracted_event_id(), ""); !status.ok()) {
        return status;
      }
      entry.set_subject("redacted");
    }
    if (entry.has_lot()) {
      if (auto status = RedactLot(views_, r, *entry.mutable_lot()); !status.ok()) return status;
    }
    if (entry.has_shipment()) {
      if (auto status = RedactShipment(r, *entry.mutable_shipment()); !status.ok()) return status;
    }
    for (auto& verdict : *entry.mutable_verdicts()) {
      if (auto status = r.Verdict(verdict); !status.ok()) return status;
    }
  }
  for (auto& entry : *response.mutable_entries()) {
    if (entry.has_shipment()) {
      for (auto& flag : *entry.mutable_shipment()->mutable_flags()) r.Text(*flag.mutable_summary());
    }
    for (auto& verdict : *entry.mutable_verdicts()) r.Text(*verdict.mutable_summary());
  }
  return absl::OkStatus();
}

}  // namespace lodestone::provenance
