#include "services/provenance/compliance_queries.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"
#include "services/domain/codes.h"
#include "services/domain/compliance.h"
#include "services/domain/string_view_compat.h"
#include "services/provenance/profile_codec.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;
using v1::views::LotView;
using v1::views::ShipmentView;
using v1::views::TransformationView;

constexpr const char* kLotRuleSets[] = {"dfars", "china-re-0.1pct", "uflpa"};
constexpr size_t kMaxPathSearchNodes = 10000;
constexpr int kMaxDeclaredValues = 64;

class ViewPartyDirectory final : public d::PartyDirectory {
 public:
  explicit ViewPartyDirectory(const ViewStore& views) : views_(views) {}
  std::optional<std::string> ParentOf(std::string_view party_id) const override {
    auto party = views_.Get<v1::views::PartyView>(keys::Party(party_id));
    if (!party.ok() || !party->has_value() || (*party)->parent_party_id().empty()) {
      return std::nullopt;
    }
    return (*party)->parent_party_id();
  }

 private:
  const ViewStore& views_;
};

absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

d::Material DomainMaterial(v1::Material material) {
  return static_cast<d::Material>(static_cast<int>(material));
}

// The request's declared values by lot id. Each names a lot of the check (`lot_ids`; "" is the
// checked lot in a lot check) at most once and is valid (domain ValidateDeclaredValue);
// otherwise InvalidArgument naming the entry, and nothing is evaluated.
absl::StatusOr<absl::flat_hash_map<std::string, d::DeclaredValue>> DeclaredValues(
    const v1::CheckComplianceRequest& request, const std::vector<std::string>& lot_ids) {
  absl::flat_hash_map<std::string, d::DeclaredValue> out;
  if (request.declared_values_size() > kMaxDeclaredValues) {
    return absl::InvalidArgumentError(absl::StrCat(
        request.declared_values_size(), " declared_values, at most ", kMaxDeclaredValues));
  }
  for (int i = 0; i < request.declared_values_size(); ++i) {
    const auto& in = request.declared_values(i);
    const auto invalid = [i](auto&&... parts) {
      return absl::InvalidArgumentError(absl::StrCat("declared_values[", i, "]: ", parts...));
    };
    std::string lot_id = in.lot_id();
    if (lot_id.empty() && request.subject_case() == v1::CheckComplianceRequest::kLotId) {
      lot_id = request.lot_id();
    }
    if (std::find(lot_ids.begin(), lot_ids.end(), lot_id) == lot_ids.end()) {
      return invalid("lot '", d::ToAbsl(lot_id), "' is not ",
                     request.subject_case() == v1::CheckComplianceRequest::kLotId
                         ? "the checked lot"
                         : "an item of the checked shipment");
    }
    if (in.content_size() > static_cast<int>(d::kMaxDeclaredContent)) {
      return invalid(in.content_size(), " content lines, at most ", d::kMaxDeclaredContent);
    }
    d::DeclaredValue value{in.value_minor(), in.currency(), {}};
    value.content.reserve(in.content_size());
    for (const auto& line : in.content()) {
      value.content.push_back(
          {line.country(), DomainMaterial(line.material()), line.value_minor()});
    }
    if (absl::Status status = d::ValidateDeclaredValue(value); !status.ok()) {
      return invalid(status.message());
    }
    if (!out.emplace(lot_id, std::move(value)).second) {
      return invalid("a second declared value for lot '", d::ToAbsl(lot_id), "'");
    }
  }
  return out;
}

const d::DeclaredValue* DeclaredFor(
    const absl::flat_hash_map<std::string, d::DeclaredValue>& declared, const std::string& lot_id) {
  auto it = declared.find(lot_id);
  return it == declared.end() ? nullptr : &it->second;
}

std::string FacilityCountry(const ViewStore& views, const std::string& facility_id) {
  auto facility = views.Get<v1::views::FacilityView>(keys::Facility(facility_id));
  if (!facility.ok() || !facility->has_value()) return "";
  return (*facility)->country();
}

// The facts of a shipment as dispatched: item profiles at the dispatch position.
struct ShipmentFactsHolder {
  std::vector<d::OriginProfile> profiles;
  d::ShipmentFacts facts;
};

absl::StatusOr<std::unique_ptr<ShipmentFactsHolder>> LoadShipmentFacts(
    const ViewStore& views, const std::string& shipment_id, const ShipmentView& shipment) {
  auto holder = std::make_unique<ShipmentFactsHolder>();
  const auto& dispatched = shipment.dispatched();
  d::ShipmentFacts& facts = holder->facts;
  facts.shipment_id = shipment_id;
  facts.from_country = FacilityCountry(views, dispatched.from_facility_id());
  facts.to_country = FacilityCountry(views, dispatched.to_facility_id());
  facts.declared_origin = dispatched.declared_origin();
  facts.declared_hs_code = dispatched.declared_hs_code();
  facts.dispatch_time = FromMicros(shipment.dispatched_micros());
  if (shipment.late_recorded_micros() != 0) {
    facts.late_recorded_time = FromMicros(shipment.late_recorded_micros());
  }
  auto from = views.Get<v1::views::FacilityView>(keys::Facility(dispatched.from_facility_id()));
  if (!from.ok()) return from.status();
  if (from->has_value()) facts.exporter_party_id = (*from)->operator_party_id();
  if (!dispatched.export_licence_id().empty()) {
    auto licence = views.Get<v1::views::LicenceView>(keys::Licence(dispatched.export_licence_id()));
    if (!licence.ok()) return licence.status();
    if (licence->has_value() && !(*licence)->retracted()) {
      const auto& l = **licence;
      d::LicenceFacts lf;
      lf.licence_id = dispatched.export_licence_id();
      lf.issuing_country = l.issuing_country();
      lf.exporter_party_id = l.exporter_party_id();
      lf.hs_codes.assign(l.hs_codes().begin(), l.hs_codes().end());
      for (int m : l.materials()) lf.materials.push_back(static_cast<d::Material>(m));
      lf.quantity_g = l.quantity_g();
      // The view's running total includes this shipment once it has been folded.
      int64_t mass = 0;
      for (const auto& item : dispatched.items()) mass += item.mass_g();
      lf.used_before_g = std::max<int64_t>(0, l.used_g() - mass);
      lf.valid_from = l.valid_from_micros() == std::numeric_limits<int64_t>::min()
                          ? absl::InfinitePast()
                          : FromMicros(l.valid_from_micros());
      lf.valid_until = l.valid_until_micros() == std::numeric_limits<int64_t>::max()
                           ? absl::InfiniteFuture()
                           : FromMicros(l.valid_until_micros());
      facts.licence = std::move(lf);
    }
  }
  holder->profiles.reserve(dispatched.items_size());
  std::vector<LotView> lots;
  for (const auto& item : dispatched.items()) {
    auto lot = views.Get<LotView>(keys::Lot(item.lot_id()));
    if (!lot.ok()) return lot.status();
    if (!lot->has_value()) return absl::InternalError("shipped lot missing from the views");
    auto profile = ProfileAt(views, **lot, shipment.dispatched_position());
    if (!profile.ok()) return profile.status();
    holder->profiles.push_back(*std::move(profile));
    lots.push_back(**std::move(lot));
  }
  for (int i = 0; i < dispatched.items_size(); ++i) {
    facts.items.push_back({dispatched.items(i).lot_id(), DomainMaterial(lots[i].material()),
                           lots[i].hs_code(), dispatched.items(i).mass_g(), &holder->profiles[i]});
  }
  return holder;
}

void EvidenceToProto(const d::Evidence& evidence, v1::Evidence* out) {
  if (evidence.stage.has_value()) out->set_stage(StageToProto(*evidence.stage));
  out->set_key(evidence.key);
  out->set_share(evidence.share);
  out->set_note(evidence.note);
}

void VerdictToProto(const d::Verdict& verdict, v1::Verdict* out) {
  out->set_rule_set(verdict.rule_set);
  out->set_rule_id(verdict.rule_id);
  out->set_outcome(static_cast<v1::Verdict::Outcome>(static_cast<int>(verdict.outcome) + 1));
  out->set_in_force(verdict.in_force);
  out->set_would_fail(verdict.would_fail);
  out->set_basis(std::string(d::ShareBasisName(verdict.basis)));
  out->set_summary(verdict.summary);
  for (const auto& evidence : verdict.evidence) EvidenceToProto(evidence, out->add_evidence());
}

// A lineage path from `lot_id` upstream to where `stage` happened in `country` (a transformation
// of that stage at a facility there, or for mining an extracted lot from a mine there).
std::vector<std::string> FindPath(const ViewStore& views, const std::string& lot_id, d::Stage stage,
                                  const std::string& country) {
  struct Step {
    std::string id;
    bool is_lot;
    size_t parent;
  };
  std::vector<Step> steps{{lot_id, true, SIZE_MAX}};
  std::deque<size_t> queue{0};
  absl::flat_hash_set<std::string> seen{"L" + lot_id};
  auto path_to = [&](size_t index) {
    std::vector<std::string> path;
    for (size_t i = index; i != SIZE_MAX; i = steps[i].parent) path.push_back(steps[i].id);
    std::reverse(path.begin(), path.end());  // from the checked lot upstream
    return path;
  };
  while (!queue.empty() && steps.size() < kMaxPathSearchNodes) {
    const size_t index = queue.front();
    queue.pop_front();
    const Step step = steps[index];
    if (step.is_lot) {
      auto lot = views.Get<LotView>(keys::Lot(step.id));
      if (!lot.ok() || !lot->has_value()) continue;
      if ((*lot)->has_extracted() && stage == d::Stage::kMining &&
          FacilityCountry(views, (*lot)->extracted().facility_id()) == country) {
        return path_to(index);
      }
      if ((*lot)->has_transformation_id() &&
          seen.insert("T" + (*lot)->transformation_id()).second) {
        steps.push_back({(*lot)->transformation_id(), false, index});
        queue.push_back(steps.size() - 1);
      }
      continue;
    }
    auto transformation = views.Get<TransformationView>(keys::Transformation(step.id));
    if (!transformation.ok() || !transformation->has_value()) continue;
    const auto& t = (*transformation)->event();
    const auto process_stage = d::StageOf(static_cast<d::Process>(static_cast<int>(t.process())));
    if (process_stage == stage && FacilityCountry(views, t.facility_id()) == country) {
      return path_to(index);
    }
    for (const auto& input : t.inputs()) {
      if (seen.insert("L" + input.lot_id()).second) {
        steps.push_back({input.lot_id(), true, index});
        queue.push_back(steps.size() - 1);
      }
    }
  }
  return {};
}

std::vector<const d::RuleSet*> ChooseRuleSets(
    const google::protobuf::RepeatedPtrField<std::string>& names,
    std::span<const char* const> defaults, absl::Status* status) {
  std::vector<const d::RuleSet*> sets;
  if (names.empty()) {
    for (const char* name : defaults) sets.push_back(d::FindRuleSet(name));
    return sets;
  }
  for (const auto& name : names) {
    const d::RuleSet* set = d::FindRuleSet(name);
    if (set == nullptr) {
      *status =
          absl::InvalidArgumentError(absl::StrCat("unknown rule set '", d::ToAbsl(name), "'"));
      return {};
    }
    sets.push_back(set);
  }
  return sets;
}

absl::Status AddLotVerdicts(const ViewStore& views, const std::string& lot_id, const LotView& lot,
                            const std::vector<const d::RuleSet*>& sets, absl::Time as_of,
                            const d::DeclaredValue* declared,
                            v1::CheckComplianceResponse* response) {
  auto decoded = DecodeProfile(lot.profile_bin());
  if (!decoded.ok()) return decoded.status();
  const d::OriginProfile profile = *std::move(decoded);
  d::LotFacts facts{lot_id, DomainMaterial(lot.material()), lot.hs_code(), profile, std::nullopt};
  if (declared != nullptr) facts.declared_value = *declared;
  ViewPartyDirectory parties(views);
  for (const d::RuleSet* set : sets) {
    for (const auto& verdict : d::EvaluateLot(*set, facts, parties, as_of)) {
      auto* out = response->add_verdicts();
      VerdictToProto(verdict, out);
      if (verdict.outcome == d::Outcome::kFail) response->set_any_failed(true);
      for (int i = 0; i < out->evidence_size(); ++i) {
        const auto& evidence = verdict.evidence[i];
        if (!evidence.stage.has_value() || evidence.key.size() != 2) continue;
        for (auto& id : FindPath(views, lot_id, *evidence.stage, evidence.key)) {
          out->mutable_evidence(i)->add_lineage_path(std::move(id));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

ShipmentFlagger MakeShipmentFlagger() {
  return [](ViewStore& views, const ShipmentView& shipment) {
    std::vector<v1::Flag> flags;
    const std::string& id = shipment.dispatched().shipment_id();
    auto holder = LoadShipmentFacts(views, id, shipment);
    if (!holder.ok()) return flags;
    for (const char* name : kFlaggingRuleSets) {
      const d::RuleSet* set = d::FindRuleSet(name);
      if (set == nullptr) continue;
      for (const auto& verdict : d::EvaluateShipment(*set, (*holder)->facts)) {
        if (verdict.outcome != d::Outcome::kFail) continue;
        v1::Flag flag;
        flag.set_rule_set(verdict.rule_set);
        flag.set_rule_id(verdict.rule_id);
        flag.set_subject("shipment/" + id);
        flag.set_summary(verdict.summary);
        codec::MicrosToProto(shipment.dispatched_micros(), flag.mutable_time());
        flag.set_position(shipment.dispatched_position());
        std::set<std::string> countries{(*holder)->facts.from_country, (*holder)->facts.to_country};
        if (!(*holder)->facts.declared_origin.empty()) {
          countries.insert((*holder)->facts.declared_origin);
        }
        for (const auto& evidence : verdict.evidence) {
          // Evidence keys are countries, regions, parties or lot ids: only countries count.
          if (d::IsCountryCode(evidence.key)) countries.insert(evidence.key);
        }
        // The traced customs origin of what it carries (e.g. CN for Chinese goods re-exported
        // through a third country), so that filtering flags by country finds them.
        for (const auto& item : (*holder)->facts.items) {
          if (item.profile != nullptr && d::IsCountryCode(item.profile->customs_origin)) {
            countries.insert(item.profile->customs_origin);
          }
        }
        for (const auto& country : countries) {
          if (!country.empty()) flag.add_countries(country);
        }
        if (!(*holder)->facts.items.empty()) {
          flag.set_material(
              static_cast<v1::Material>(static_cast<int>((*holder)->facts.items[0].material)));
        }
        flags.push_back(std::move(flag));
      }
    }
    return flags;
  };
}

absl::Status CheckCompliance(const Queries& queries, const v1::CheckComplianceRequest& request,
                             v1::CheckComplianceResponse* response) {
  if (request.at_position() != 0) {
    return AtPositionOf(queries, request, [&](const Queries& at, const auto& here) {
      return CheckCompliance(at, here, response);
    });
  }
  if (!request.has_as_of()) return absl::InvalidArgumentError("as_of is required");
  auto as_of = codec::TimeFromProto(request.as_of());
  if (!as_of.ok()) return as_of.status();
  const ViewStore& views = queries.views();
  absl::Status status;
  if (request.subject_case() == v1::CheckComplianceRequest::kLotId) {
    auto lot = views.Get<LotView>(keys::Lot(request.lot_id()));
    if (!lot.ok()) return lot.status();
    if (!lot->has_value()) {
      return absl::NotFoundError(absl::StrCat("no lot '", d::ToAbsl(request.lot_id()), "'"));
    }
    auto sets = ChooseRuleSets(request.rule_sets(), kLotRuleSets, &status);
    if (!status.ok()) return status;
    auto declared = DeclaredValues(request, {request.lot_id()});
    if (!declared.ok()) return declared.status();
    return AddLotVerdicts(views, request.lot_id(), **lot, sets, *as_of,
                          DeclaredFor(*declared, request.lot_id()), response);
  }
  if (request.subject_case() != v1::CheckComplianceRequest::kShipmentId) {
    return absl::InvalidArgumentError("give a lot_id or a shipment_id");
  }
  auto shipment = views.Get<ShipmentView>(keys::Shipment(request.shipment_id()));
  if (!shipment.ok()) return shipment.status();
  if (!shipment->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no shipment '", d::ToAbsl(request.shipment_id()), "'"));
  }
  std::vector<const char*> all(std::begin(kFlaggingRuleSets), std::end(kFlaggingRuleSets));
  all.insert(all.end(), std::begin(kLotRuleSets), std::end(kLotRuleSets));
  auto sets = ChooseRuleSets(request.rule_sets(), all, &status);
  if (!status.ok()) return status;
  std::vector<std::string> item_ids;
  for (const auto& item : (*shipment)->dispatched().items()) item_ids.push_back(item.lot_id());
  auto declared = DeclaredValues(request, item_ids);
  if (!declared.ok()) return declared.status();
  auto holder = LoadShipmentFacts(views, request.shipment_id(), **shipment);
  if (!holder.ok()) return holder.status();
  for (const d::RuleSet* set : sets) {
    const bool shipment_level =
        std::any_of(set->rules.begin(), set->rules.end(),
                    [](const auto& r) { return d::LevelOf(r.kind) == d::RuleLevel::kShipment; });
    if (shipment_level) {
      for (const auto& verdict : d::EvaluateShipment(*set, (*holder)->facts)) {
        VerdictToProto(verdict, response->add_verdicts());
        if (verdict.outcome == d::Outcome::kFail) response->set_any_failed(true);
      }
      continue;
    }
    for (const auto& item : (*shipment)->dispatched().items()) {
      auto lot = views.Get<LotView>(keys::Lot(item.lot_id()));
      if (!lot.ok()) return lot.status();
      if (!lot->has_value()) continue;
      if (auto status = AddLotVerdicts(views, item.lot_id(), **lot, {set}, *as_of,
                                       DeclaredFor(*declared, item.lot_id()), response);
          !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status GetExposure(const Queries& queries, const v1::GetExposureRequest& request,
                         v1::GetExposureResponse* response) {
  if (request.at_position() != 0) {
    return AtPositionOf(queries, request, [&](const Queries& at, const auto& here) {
      return GetExposure(at, here, response);
    });
  }
  if (request.party_id().empty()) return absl::InvalidArgumentError("party_id is required");
  if (!request.has_from_time() || !request.has_to_time()) {
    return absl::InvalidArgumentError("from_time and to_time are required");
  }
  auto from = codec::TimeFromProto(request.from_time());
  auto to = codec::TimeFromProto(request.to_time());
  if (!from.ok()) return from.status();
  if (!to.ok()) return to.status();
  if (*to <= *from) return absl::InvalidArgumentError("to_time must be after from_time");
  absl::Time as_of = *to;
  if (request.has_as_of()) {
    auto parsed = codec::TimeFromProto(request.as_of());
    if (!parsed.ok()) return parsed.status();
    as_of = *parsed;
  }
  const ViewStore& views = queries.views();
  auto party = views.Get<v1::views::PartyView>(keys::Party(request.party_id()));
  if (!party.ok()) return party.status();
  if (!party->has_value()) {
    return absl::NotFoundError(absl::StrCat("no party '", d::ToAbsl(request.party_id()), "'"));
  }
  const std::string prefix = keys::ReceiptPrefix(request.party_id());
  const std::string start = keys::Receipt(request.party_id(), absl::ToUnixMicros(*from), 0, "");
  const std::string end = keys::Receipt(request.party_id(), absl::ToUnixMicros(*to), 0, "");
  const size_t limit = queries.limits().max_receipts;
  bool cut_short = false;
  auto entries = views.ScanCommitted(prefix, start, limit + 1, &cut_short);
  if (!entries.ok()) return entries.status();
  // At a position the scan may stop on its version budget before `end`.
  if (cut_short && views.at_position() != 0 && entries->size() <= limit &&
      (entries->empty() || entries->back().first < end)) {
    response->set_truncated(true);
  }
  std::vector<d::OriginProfile> profiles;
  std::vector<d::Grams> masses;
  std::map<int, int64_t> material_mass;  // the portfolio's material: the one received most
  profiles.reserve(entries->size());
  for (const auto& [key, value] : *entries) {
    if (key >= end) break;
    if (profiles.size() >= limit) {
      response->set_truncated(true);
      break;
    }
    v1::views::Receipt receipt;
    if (!receipt.ParseFromString(value)) return absl::DataLossError("receipt does not parse");
    auto lot = views.Get<LotView>(keys::Lot(receipt.lot_id()));
    if (!lot.ok()) return lot.status();
    if (!lot->has_value()) continue;
    const uint64_t position =
        keys::ParseBigEndian64(std::string_view(key).substr(prefix.size() + 8, 8));
    auto profile = ProfileAt(views, **lot, position + 1);
    if (!profile.ok()) return profile.status();
    profiles.push_back(*std::move(profile));
    masses.push_back(receipt.mass_g());
    material_mass[(*lot)->material()] += receipt.mass_g();
  }
  std::vector<std::pair<const d::OriginProfile*, d::Grams>> weighted;
  int64_t total = 0;
  for (size_t i = 0; i < profiles.size(); ++i) {
    weighted.emplace_back(&profiles[i], masses[i]);
    total += masses[i];
  }
  response->set_received_mass_g(total);
  response->set_received_lots(static_cast<uint32_t>(profiles.size()));
  if (weighted.empty()) return absl::OkStatus();
  auto portfolio = d::AggregateProfiles(weighted);
  if (!portfolio.ok()) return portfolio.status();
  ProfileToProto(*portfolio, response->mutable_portfolio());
  const d::RuleSet* crma = d::FindRuleSet("eu-crma");
  if (crma != nullptr) {
    auto dominant =
        std::max_element(material_mass.begin(), material_mass.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    d::PortfolioFacts facts{absl::StrCat(d::ToAbsl(request.party_id())),
                            static_cast<d::Material>(dominant->first), *portfolio, total};
    for (const auto& verdict : d::EvaluatePortfolio(*crma, facts, as_of)) {
      VerdictToProto(verdict, response->add_verdicts());
    }
  }
  return absl::OkStatus();
}

}  // namespace lodestone::provenance
