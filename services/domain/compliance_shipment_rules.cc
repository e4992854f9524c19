// The shipment-level compliance rules (transshipment, export licence, export ban) and
// EvaluateShipment.
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/domain/codes.h"
#include "services/domain/compliance.h"
#include "services/domain/compliance_internal.h"
#include "services/domain/origin.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

using compliance_internal::AlwaysInForce;
using compliance_internal::Assemble;
using compliance_internal::Contains;
using compliance_internal::ContainsCountry;
using compliance_internal::Covers;
using compliance_internal::DayText;
using compliance_internal::Finding;
using compliance_internal::Join;
using compliance_internal::MaterialList;
using compliance_internal::MaterialName;
using compliance_internal::NotApplicable;
using compliance_internal::Percent;
using compliance_internal::Quoted;
using compliance_internal::SaturatingAdd;
using compliance_internal::WindowAt;

// ---- Shipment rules ----

Grams ShipmentMass(const ShipmentFacts& s) {
  Grams total = 0;
  for (const ShipmentItemFacts& item : s.items) {
    if (item.mass_g > 0) total = SaturatingAdd(total, item.mass_g);
  }
  return total;
}

std::string ShipmentText(const ShipmentFacts& s) {
  return absl::StrCat("shipment ", Quoted(s.shipment_id), " (", s.from_country, " -> ",
                      s.to_country, ")");
}

Finding Transshipment(const ShipmentFacts& s) {
  const std::string what = ShipmentText(s);
  const std::string& declared = s.declared_origin;
  if (declared.empty()) return NotApplicable(absl::StrCat(what, " declares no origin"));
  // Origin is declared to customs when goods cross a border; a domestic move declares nothing.
  if (!s.from_country.empty() && s.from_country == s.to_country) {
    return NotApplicable(absl::StrCat(what, " does not leave ", s.from_country));
  }
  const Grams total = ShipmentMass(s);
  if (total <= 0) return NotApplicable(absl::StrCat(what, " has no items"));
  // Customs origin ("" untraced) -> grams and lots.
  std::map<std::string, std::pair<Grams, std::vector<std::string>>> by_origin;
  Finding f;
  std::vector<std::string> stored_only;
  for (const ShipmentItemFacts& item : s.items) {
    if (item.mass_g <= 0) continue;
    const std::string origin = item.profile == nullptr ? "" : item.profile->customs_origin;
    auto& [grams, lots] = by_origin[origin];
    grams = SaturatingAdd(grams, item.mass_g);
    lots.push_back(item.lot_id);
    if (item.profile == nullptr) continue;
    const double held = std::max(RouteShare(*item.profile, declared, RouteRole::kStored),
                                 RouteShare(*item.profile, declared, RouteRole::kTransited));
    const double worked = RouteShare(*item.profile, declared, RouteRole::kMined) +
                          RouteShare(*item.profile, declared, RouteRole::kProcessed);
    if (held > 0 && worked <= 0) {
      stored_only.push_back(item.lot_id);
      f.evidence.push_back(Evidence{
          std::nullopt, declared, held,
          absl::StrCat("share of the mass of lot ", Quoted(item.lot_id), " stored or transited in ",
                       declared, ", none of it mined or processed there")});
    }
  }
  std::vector<std::string> differing;
  Grams unknown_g = 0;
  for (const auto& [origin, entry] : by_origin) {
    const auto& [grams, lots] = entry;
    const double share = static_cast<double>(grams) / static_cast<double>(total);
    const std::string key = origin.empty() ? std::string(kUnknownCountry) : origin;
    f.evidence.push_back(
        Evidence{std::nullopt, key, share,
                 absl::StrCat("share of the shipment's mass (", grams, " of ", total, " g) ",
                              origin.empty() ? "of untraced customs origin"
                                             : absl::StrCat("with traced customs origin ", origin),
                              ": lots ", absl::StrJoin(lots, ", "))});
    if (origin.empty()) {
      unknown_g = grams;
    } else if (origin != declared) {
      differing.push_back(absl::StrCat(origin, " ", Percent(share)));
    }
  }
  if (!differing.empty() || !stored_only.empty()) {
    f.outcome = Outcome::kFail;
    std::vector<std::string> reasons;
    if (!differing.empty()) {
      reasons.push_back(
          absl::StrCat("the traced customs origin is ", absl::StrJoin(differing, ", ")));
    }
    if (!stored_only.empty()) {
      reasons.push_back(absl::StrCat("lots ", absl::StrJoin(stored_only, ", "),
                                     " were only stored or transited in ", declared));
    }
    f.summary = absl::StrCat(what, " declares origin ", declared, " but ",
                             absl::StrJoin(reasons, ", and "), ": suspected transshipment");
  } else if (unknown_g > 0) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(what, " declares origin ", declared, ", but ", unknown_g, " of ",
                             total, " g have no traced customs origin");
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(what, " declares origin ", declared,
                             ", the traced customs origin of all ", total, " g");
  }
  return f;
}

std::string_view ItemHsCode(const ShipmentFacts& s, const ShipmentItemFacts& item) {
  return item.hs_code.empty() ? std::string_view(s.declared_hs_code) : item.hs_code;
}

// The distinct materials of `items`, in order of first appearance.
std::string ItemMaterials(const std::vector<const ShipmentItemFacts*>& items) {
  std::vector<Material> materials;
  for (const ShipmentItemFacts* item : items) {
    if (!Contains(materials, item->material)) materials.push_back(item->material);
  }
  return MaterialList(materials);
}

bool LicenceCovers(const LicenceFacts& licence, std::string_view hs_code, Material material) {
  if (Contains(licence.materials, material)) return true;
  const std::string_view heading = HsHeading(hs_code);
  if (heading.empty()) return false;
  return std::any_of(licence.hs_codes.begin(), licence.hs_codes.end(),
                     [heading](const std::string& code) { return HsHeading(code) == heading; });
}

// China's licensing: controlled items leaving a covered country need a valid covering licence.
Finding ExportLicence(const Rule& rule, const ShipmentFacts& s) {
  const std::string what = ShipmentText(s);
  std::vector<const ShipmentItemFacts*> controlled;
  Grams controlled_g = 0;
  for (const ShipmentItemFacts& item : s.items) {
    if (item.mass_g <= 0 || !Covers(rule.materials, item.material)) continue;
    controlled.push_back(&item);
    controlled_g = SaturatingAdd(controlled_g, item.mass_g);
  }
  if (controlled.empty()) {
    return NotApplicable(absl::StrCat(what, " carries none of ", MaterialList(rule.materials)));
  }
  if (!ContainsCountry(rule.covered_countries, s.from_country)) {
    return NotApplicable(absl::StrCat(what, " does not leave ", Join(rule.covered_countries)));
  }
  if (ContainsCountry(rule.covered_countries, s.to_country)) {
    return NotApplicable(absl::StrCat(what, " does not leave ", Join(rule.covered_countries)));
  }
  const Grams total = ShipmentMass(s);
  const std::string controlled_text =
      absl::StrCat(controlled_g, " g of controlled ", ItemMaterials(controlled));
  Finding f;
  if (!s.licence.has_value()) {
    for (const ShipmentItemFacts* item : controlled) {
      f.evidence.push_back(Evidence{
          std::nullopt, item->lot_id,
          static_cast<double>(item->mass_g) / static_cast<double>(total),
          absl::StrCat(ToAbsl(MaterialName(item->material)), ", HS ", ToAbsl(ItemHsCode(s, *item)),
                       ", ", item->mass_g, " g, shipped without an export licence")});
    }
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(what, " carries ", controlled_text, " without an export licence");
    return f;
  }
  const LicenceFacts& l = *s.licence;
  std::vector<std::string> problems;
  auto problem = [&](std::string key, double share, std::string note) {
    problems.push_back(note);
    f.evidence.push_back(Evidence{std::nullopt, std::move(key), share, std::move(note)});
  };
  if (!ContainsCountry(rule.covered_countries, l.issuing_country)) {
    problem(l.issuing_country, 0,
            absl::StrCat("licence ", Quoted(l.licence_id), " was issued by ",
                         l.issuing_country.empty() ? "no country" : l.issuing_country, ", not ",
                         Join(rule.covered_countries)));
  }
  if (s.dispatch_time < l.valid_from || s.dispatch_time >= l.valid_until) {
    problem(l.licence_id, 0,
            absl::StrCat("licence ", Quoted(l.licence_id), " is valid from ", DayText(l.valid_from),
                         " until ", DayText(l.valid_until), ", not at dispatch on ",
                         DayText(s.dispatch_time)));
  }
  if (!s.exporter_party_id.empty() && !l.exporter_party_id.empty() &&
      s.exporter_party_id != l.exporter_party_id) {
    problem(s.exporter_party_id, 0,
            absl::StrCat("licence ", Quoted(l.licence_id), " was granted to exporter ",
                         l.exporter_party_id, ", not ", s.exporter_party_id));
  }
  if (!l.end_user_country.empty() && l.end_user_country != s.to_country) {
    problem(s.to_country, 0,
            absl::StrCat("licence ", Quoted(l.licence_id), " is for end users in ",
                         l.end_user_country, ", not ", s.to_country));
  }
  for (const ShipmentItemFacts* item : controlled) {
    const std::string_view hs = ItemHsCode(s, *item);
    if (LicenceCovers(l, hs, item->material)) continue;
    problem(item->lot_id, static_cast<double>(item->mass_g) / static_cast<double>(total),
            absl::StrCat("licence ", Quoted(l.licence_id), " covers neither ",
                         ToAbsl(MaterialName(item->material)), " nor HS heading ",
                         HsHeading(hs).empty() ? ToAbsl(hs) : ToAbsl(HsHeading(hs)), " (lot ",
                         Quoted(item->lot_id), ", ", item->mass_g, " g)"));
  }
  // The shipment draws on the licence every item the licence covers.
  Grams drawn_g = 0;
  for (const ShipmentItemFacts& item : s.items) {
    if (item.mass_g > 0 && LicenceCovers(l, ItemHsCode(s, item), item.material)) {
      drawn_g = SaturatingAdd(drawn_g, item.mass_g);
    }
  }
  const Grams used_g = SaturatingAdd(std::max<Grams>(l.used_before_g, 0), drawn_g);
  const std::string numbers =
      absl::StrCat("used_before_g ", l.used_before_g, " + this shipment ", drawn_g, " g = ", used_g,
                   " g of quantity_g ", l.quantity_g, " licensed by ", Quoted(l.licence_id));
  const double used_share =
      l.quantity_g > 0 ? static_cast<double>(used_g) / static_cast<double>(l.quantity_g) : 1;
  if (used_g > l.quantity_g) {
    problem(l.licence_id, used_share, absl::StrCat("licensed quantity exceeded: ", numbers));
  } else {
    f.evidence.push_back(Evidence{std::nullopt, l.licence_id, used_share,
                                  absl::StrCat("licensed quantity used: ", numbers)});
  }
  if (!problems.empty()) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(what, " carries ", controlled_text, " under a licence that ",
                             problems.size() == 1 ? "fails one check: " : "fails checks: ",
                             absl::StrJoin(problems, "; "));
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(what, " carries ", controlled_text, " under valid licence ",
                             Quoted(l.licence_id), " (", numbers, ")");
  }
  return f;
}

// The US ban: controlled items bound for a destination fail, licence or not.
Finding ExportBan(const Rule& rule, const ShipmentFacts& s) {
  const std::string what = ShipmentText(s);
  std::vector<const ShipmentItemFacts*> controlled;
  for (const ShipmentItemFacts& item : s.items) {
    if (item.mass_g > 0 && Covers(rule.materials, item.material)) controlled.push_back(&item);
  }
  if (controlled.empty()) {
    return NotApplicable(absl::StrCat(what, " carries none of ", MaterialList(rule.materials)));
  }
  if (!ContainsCountry(rule.destination_countries, s.to_country)) {
    return NotApplicable(
        absl::StrCat(what, " is not bound for ", Join(rule.destination_countries)));
  }
  // A move within the destinations (a domestic one included) exports nothing: the goods were
  // judged when they entered.
  if (ContainsCountry(rule.destination_countries, s.from_country)) {
    return NotApplicable(absl::StrCat(what, " does not leave a country: it moves within ",
                                      Join(rule.destination_countries)));
  }
  const bool direct = ContainsCountry(rule.covered_countries, s.from_country);
  if (!direct && !rule.reexport) {
    return NotApplicable(absl::StrCat(what, " does not leave ", Join(rule.covered_countries)));
  }
  const Grams total = ShipmentMass(s);
  const std::string origins = Join(rule.covered_countries);
  Finding f;
  Grams banned_g = 0;
  std::vector<std::string> untraced;
  for (const ShipmentItemFacts* item : controlled) {
    const double share = static_cast<double>(item->mass_g) / static_cast<double>(total);
    const std::string item_text = absl::StrCat(ToAbsl(MaterialName(item->material)), ", ",
                                               item->mass_g, " g, bound for ", s.to_country);
    if (direct) {
      banned_g = SaturatingAdd(banned_g, item->mass_g);
      f.evidence.push_back(Evidence{std::nullopt, item->lot_id, share,
                                    absl::StrCat(item_text, " from ", s.from_country)});
      continue;
    }
    const std::string origin = item->profile == nullptr ? "" : item->profile->customs_origin;
    if (origin.empty()) {
      untraced.push_back(item->lot_id);
      f.evidence.push_back(Evidence{
          std::nullopt, item->lot_id, share,
          absl::StrCat(item_text, ": customs origin untraced, re-export cannot be ruled out")});
    } else if (ContainsCountry(rule.covered_countries, origin)) {
      banned_g = SaturatingAdd(banned_g, item->mass_g);
      f.evidence.push_back(Evidence{std::nullopt, item->lot_id, share,
                                    absl::StrCat(item_text, ": customs origin ", origin,
                                                 ", re-exported through ", s.from_country)});
    }
  }
  const std::string licence_note =
      s.licence.has_value()
          ? absl::StrCat(" (licence ", Quoted(s.licence->licence_id), " does not lift the ban)")
          : std::string();
  if (banned_g > 0) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(what, " carries ", banned_g, " g of ", origins, "-origin ",
                             ItemMaterials(controlled), " to ", s.to_country,
                             ", a banned destination", licence_note);
  } else if (!untraced.empty()) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(what, " carries controlled items of untraced customs origin to ",
                             s.to_country, " (lots ", Join(untraced), ")");
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(what, " carries no ", origins, "-origin controlled item");
  }
  return f;
}

}  // namespace

// ---- Evaluation ----

namespace {

std::vector<Verdict> EvaluateShipmentAt(const RuleSet& set, const ShipmentFacts& shipment) {
  std::vector<Verdict> verdicts;
  for (const Rule& rule : set.rules) {
    if (LevelOf(rule.kind) != RuleLevel::kShipment) continue;
    Finding finding;
    switch (rule.kind) {
      case RuleKind::kTransshipment:
        finding = Transshipment(shipment);
        break;
      case RuleKind::kExportLicence:
        finding = ExportLicence(rule, shipment);
        break;
      default:  // kExportBan
        finding = ExportBan(rule, shipment);
        break;
    }
    const bool unknown_time =
        shipment.dispatch_time == absl::InfinitePast() && !AlwaysInForce(rule);
    verdicts.push_back(Assemble(set, rule, WindowAt(rule, shipment.dispatch_time), unknown_time,
                                std::move(finding)));
  }
  return verdicts;
}

}  // namespace

std::vector<Verdict> EvaluateShipment(const RuleSet& set, const ShipmentFacts& shipment) {
  std::vector<Verdict> verdicts = EvaluateShipmentAt(set, shipment);
  if (shipment.late_recorded_time == absl::InfinitePast() ||
      shipment.dispatch_time == absl::InfinitePast()) {
    return verdicts;
  }
  ShipmentFacts recorded = shipment;
  recorded.dispatch_time = shipment.late_recorded_time;
  std::vector<Verdict> at_recorded = EvaluateShipmentAt(set, recorded);
  const std::string note =
      absl::StrCat("recorded late: dispatched ", DayText(shipment.dispatch_time), ", recorded ",
                   DayText(shipment.late_recorded_time), "; judged at both times, ");
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const Verdict pair[] = {verdicts[i], at_recorded[i]};
    const bool recorded_worse = Combine(pair) != verdicts[i].outcome;
    Verdict& kept = verdicts[i];
    if (recorded_worse) kept = std::move(at_recorded[i]);
    kept.evidence.push_back({std::nullopt, "late", 0,
                             absl::StrCat(note, "this verdict at the ",
                                          recorded_worse ? "recorded" : "dispatch", " time")});
  }
  return verdicts;
}

}  // namespace lodestone::domain
