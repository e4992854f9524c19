// The evaluation core of the compliance rules: rule windows, verdict assembly, names, rule-set
// validation and the helpers the rule files share (compliance_internal.h). The rules
// themselves are in compliance_{lot,shipment,portfolio}_rules.cc.
#include "services/domain/compliance.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/domain/codes.h"
#include "services/domain/compliance_internal.h"
#include "services/domain/rules.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace compliance_internal {

// ---- Text ----

std::string_view MaterialName(Material material) {
  switch (material) {
    case Material::kUnspecified:
      return "unspecified material";
    case Material::kAntimonyOre:
      return "antimony ore";
    case Material::kAntimonyOxide:
      return "antimony oxide";
    case Material::kAntimonyMetal:
      return "antimony metal";
    case Material::kRareEarthOre:
      return "rare-earth ore";
    case Material::kRareEarthCompound:
      return "rare-earth compound";
    case Material::kRareEarthMetal:
      return "rare-earth metal";
    case Material::kNdfebAlloy:
      return "NdFeB alloy";
    case Material::kNdfebMagnet:
      return "NdFeB magnet";
    case Material::kGallium:
      return "gallium";
    case Material::kGermanium:
      return "germanium";
    case Material::kGermaniumOxide:
      return "germanium oxide";
    case Material::kTungsten:
      return "tungsten";
    case Material::kTantalum:
      return "tantalum";
    case Material::kGraphite:
      return "graphite";
    case Material::kIron:
      return "iron";
    case Material::kBoron:
      return "boron";
    case Material::kScrap:
      return "scrap";
    case Material::kOther:
      return "other material";
  }
  return "unknown material";
}

// 0.30927 -> "30.93%", 0.0012 -> "0.12%", 1 -> "100%".
std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g%%", share * 100);
  return buf;
}

std::string DayText(absl::Time t) {
  if (t == absl::InfinitePast()) return "the beginning of time";
  if (t == absl::InfiniteFuture()) return "the end of time";
  const absl::TimeZone utc = absl::UTCTimeZone();
  const bool midnight = absl::CivilSecond(absl::ToCivilDay(t, utc)) == absl::ToCivilSecond(t, utc);
  return absl::FormatTime(midnight ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", t, utc);
}

std::string Join(const std::vector<std::string>& parts) {
  return parts.empty() ? std::string("(none)") : absl::StrJoin(parts, ", ");
}

std::string MaterialList(const std::vector<Material>& materials) {
  std::vector<std::string> names;
  names.reserve(materials.size());
  for (Material m : materials) names.emplace_back(MaterialName(m));
  return Join(names);
}

std::string Quoted(std::string_view id) { return absl::StrCat("'", ToAbsl(id), "'"); }

// ---- Small helpers ----

bool ContainsCountry(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// Empty `materials` covers every material.
bool Covers(const std::vector<Material>& materials, Material material) {
  return materials.empty() || Contains(materials, material);
}

Grams SaturatingAdd(Grams a, Grams b) {
  if (b > 0 && a > std::numeric_limits<Grams>::max() - b) return std::numeric_limits<Grams>::max();
  return a + b;
}

// ---- Windows and verdicts ----

Window WindowAt(const Rule& rule, absl::Time t) {
  if (t < rule.effective_from) {
    return {false, absl::StrCat("Not yet in force on ", DayText(t), " (effective from ",
                                DayText(rule.effective_from), ")")};
  }
  if (t >= rule.effective_until) {
    return {false, absl::StrCat("No longer in force on ", DayText(t), " (ended ",
                                DayText(rule.effective_until), ")")};
  }
  for (const Suspension& s : rule.suspensions) {
    if (s.from <= t && t < s.until) {
      return {false, absl::StrCat("Suspended on ", DayText(t), " (from ", DayText(s.from),
                                  " until ", DayText(s.until), ")")};
    }
  }
  return {};
}

bool AlwaysInForce(const Rule& rule) {
  return rule.effective_from == absl::InfinitePast() &&
         rule.effective_until == absl::InfiniteFuture() && rule.suspensions.empty();
}

Finding NotApplicable(std::string summary) {
  Finding f;
  f.summary = std::move(summary);
  return f;
}

namespace {

std::string_view WouldText(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass:
      return "would pass";
    case Outcome::kFail:
      return "would fail";
    case Outcome::kInsufficientData:
      return "would lack data";
    case Outcome::kNotInForce:
    case Outcome::kNotApplicable:
      break;
  }
  return "would not apply";
}

}  // namespace

// `unknown_time`: the evaluation time is not known (a shipment without a dispatch time).
Verdict Assemble(const RuleSet& set, const Rule& rule, const Window& window, bool unknown_time,
                 Finding finding) {
  Verdict v;
  v.rule_set = set.name;
  v.rule_set_version = set.version;
  v.rule_id = rule.id;
  v.in_force = window.in_force && !unknown_time;
  v.outcome_if_in_force = finding.outcome;
  v.would_fail = finding.outcome == Outcome::kFail;
  v.basis = finding.basis;
  v.evidence = std::move(finding.evidence);
  if (finding.outcome == Outcome::kNotApplicable) {
    v.outcome = Outcome::kNotApplicable;
    v.summary = absl::StrCat("Not applicable: ", finding.summary, ".");
  } else if (unknown_time) {
    v.outcome = Outcome::kInsufficientData;
    v.summary =
        absl::StrCat("Dispatch time unknown, so whether the rule was in force cannot be told; it ",
                     ToAbsl(WouldText(finding.outcome)), ": ", finding.summary, ".");
  } else if (!window.in_force) {
    v.outcome = Outcome::kNotInForce;
    v.summary = absl::StrCat(window.why, "; it ", ToAbsl(WouldText(finding.outcome)), ": ",
                             finding.summary, ".");
  } else {
    v.outcome = finding.outcome;
    v.summary = absl::StrCat(finding.summary, ".");
  }
  return v;
}

}  // namespace compliance_internal

namespace {

using compliance_internal::Quoted;
using compliance_internal::WindowAt;

// ---- Validation ----

absl::Status Invalid(const RuleSet& set, const Rule* rule, std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(
      "rule set ", Quoted(set.name),
      rule == nullptr ? "" : absl::StrCat(" rule ", Quoted(rule->id)), ": ", ToAbsl(message)));
}

absl::Status CheckCountries(const RuleSet& set, const Rule& rule, std::string_view field,
                            const std::vector<std::string>& countries) {
  for (const std::string& c : countries) {
    if (!IsCountryCode(c)) {
      return Invalid(
          set, &rule,
          absl::StrCat(ToAbsl(field), " holds ", Quoted(c), ", not an ISO 3166-1 alpha-2 code"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRule(const RuleSet& set, const Rule& rule) {
  if (!IsWellFormedId(rule.id)) return Invalid(set, &rule, "id is not well formed");
  if (!LevelOf(rule.kind).has_value()) return Invalid(set, &rule, "kind is unspecified");
  if (!(rule.effective_from < rule.effective_until)) {
    return Invalid(set, &rule, "effective_from must be before effective_until");
  }
  for (const Suspension& s : rule.suspensions) {
    if (!(s.from < s.until)) return Invalid(set, &rule, "a suspension must start before it ends");
  }
  for (Material m : rule.materials) {
    if (static_cast<int>(m) <= 0 || static_cast<int>(m) > kMaterialMax) {
      return Invalid(set, &rule, "materials holds an unspecified or unknown material");
    }
  }
  for (absl::Status status :
       {CheckCountries(set, rule, "covered_countries", rule.covered_countries),
        CheckCountries(set, rule, "exempt_countries", rule.exempt_countries),
        CheckCountries(set, rule, "destination_countries", rule.destination_countries)}) {
    if (!status.ok()) return status;
  }
  for (const std::string& region : rule.regions) {
    if (!IsSubdivisionCode(region)) {
      return Invalid(set, &rule,
                     absl::StrCat("regions holds ", Quoted(region), ", not an ISO 3166-2 code"));
    }
  }
  for (const std::string& party : rule.listed_parties) {
    if (!IsWellFormedId(party)) {
      return Invalid(set, &rule,
                     absl::StrCat("listed_parties holds ", Quoted(party), ", not a party id"));
    }
  }
  const bool needs_threshold =
      rule.kind == RuleKind::kOriginContentThreshold || rule.kind == RuleKind::kStageConcentration;
  if (needs_threshold && !(rule.threshold > 0 && rule.threshold <= 1)) {
    return Invalid(set, &rule, "threshold must be in (0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Names ----

std::string_view RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kUnspecified:
      return "unspecified";
    case RuleKind::kCoveredCountryStages:
      return "covered_country_stages";
    case RuleKind::kOriginContentThreshold:
      return "origin_content_threshold";
    case RuleKind::kRegionOrListedParty:
      return "region_or_listed_party";
    case RuleKind::kStageConcentration:
      return "stage_concentration";
    case RuleKind::kTransshipment:
      return "transshipment";
    case RuleKind::kExportLicence:
      return "export_licence";
    case RuleKind::kExportBan:
      return "export_ban";
  }
  return "unknown";
}

std::optional<RuleLevel> LevelOf(RuleKind kind) {
  switch (kind) {
    case RuleKind::kCoveredCountryStages:
    case RuleKind::kOriginContentThreshold:
    case RuleKind::kRegionOrListedParty:
      return RuleLevel::kLot;
    case RuleKind::kStageConcentration:
      return RuleLevel::kPortfolio;
    case RuleKind::kTransshipment:
    case RuleKind::kExportLicence:
    case RuleKind::kExportBan:
      return RuleLevel::kShipment;
    case RuleKind::kUnspecified:
      break;
  }
  return std::nullopt;
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kFail:
      return "fail";
    case Outcome::kNotInForce:
      return "not_in_force";
    case Outcome::kNotApplicable:
      return "not_applicable";
    case Outcome::kInsufficientData:
      return "insufficient_data";
  }
  return "unknown";
}

std::string_view ShareBasisName(ShareBasis basis) {
  switch (basis) {
    case ShareBasis::kMass:
      return "mass";
    case ShareBasis::kValue:
      return "value";
    case ShareBasis::kDeclaredValue:
      return "declared_value";
  }
  return "unknown";
}

// ---- Declared values ----

absl::Status ValidateDeclaredValue(const DeclaredValue& value) {
  const auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  if (value.item_minor <= 0) return invalid("value_minor must be > 0, got ", value.item_minor);
  if (!IsCurrencyCode(value.currency)) {
    return invalid("currency must be 3 uppercase letters (ISO 4217), got '", value.currency, "'");
  }
  if (value.content.size() > kMaxDeclaredContent) {
    return invalid(value.content.size(), " content lines, at most ", kMaxDeclaredContent);
  }
  absl::flat_hash_set<std::pair<std::string, int>> seen;
  int64_t sum = 0;
  for (size_t i = 0; i < value.content.size(); ++i) {
    const DeclaredContent& line = value.content[i];
    if (line.country != kUnknownCountry && !IsCountryCode(line.country)) {
      return invalid("content[", i, "].country '", line.country,
                     "' is not an ISO 3166-1 code or \"??\"");
    }
    const int material = static_cast<int>(line.material);
    if (material <= 0 || material > kMaterialMax) {
      return invalid("content[", i, "].material ", material, " is invalid");
    }
    if (line.minor < 0) return invalid("content[", i, "].value_minor must be >= 0");
    if (!seen.insert({line.country, material}).second) {
      return invalid("content[", i, "] repeats country ", line.country, " and material ",
                     ToAbsl(compliance_internal::MaterialName(line.material)));
    }
    // Each line is at most item_minor once the sum so far is, so the sum cannot overflow.
    if (line.minor > value.item_minor - sum) {
      return invalid("the content adds up to more than the item's value ", value.item_minor, " ",
                     value.currency);
    }
    sum += line.minor;
  }
  return absl::OkStatus();
}

// ---- Rule sets ----

absl::Status ValidateRuleSet(const RuleSet& set) {
  if (set.name.empty()) return Invalid(set, nullptr, "name must not be empty");
  if (set.version < 1) return Invalid(set, nullptr, "version must be >= 1");
  absl::flat_hash_set<std::string> ids;
  for (const Rule& rule : set.rules) {
    absl::Status status = ValidateRule(set, rule);
    if (!status.ok()) return status;
    if (!ids.insert(rule.id).second) return Invalid(set, &rule, "id is repeated");
  }
  return absl::OkStatus();
}

RuleSet WithListedParties(RuleSet set, std::span<const std::string> party_ids) {
  for (Rule& rule : set.rules) {
    if (rule.kind != RuleKind::kRegionOrListedParty) continue;
    rule.listed_parties.insert(rule.listed_parties.end(), party_ids.begin(), party_ids.end());
  }
  return set;
}

bool InForce(const Rule& rule, absl::Time t) { return WindowAt(rule, t).in_force; }

// ---- Verdicts ----

Outcome Combine(std::span<const Verdict> verdicts) {
  // Lower rank is worse.
  auto rank = [](Outcome o) {
    switch (o) {
      case Outcome::kFail:
        return 0;
      case Outcome::kInsufficientData:
        return 1;
      case Outcome::kPass:
        return 2;
      case Outcome::kNotInForce:
        return 3;
      case Outcome::kNotApplicable:
        break;
    }
    return 4;
  };
  Outcome worst = Outcome::kNotApplicable;
  for (const Verdict& v : verdicts) {
    if (rank(v.outcome) < rank(worst)) worst = v.outcome;
  }
  return worst;
}

std::string ToString(const Verdict& verdict) {
  return absl::StrCat(verdict.rule_set, "/", verdict.rule_id, " ",
                      ToAbsl(OutcomeName(verdict.outcome)), ": ", verdict.summary);
}

// ---- Parties ----

void InMemoryPartyDirectory::SetParent(std::string party_id, std::string parent_party_id) {
  if (parent_party_id.empty()) {
    parents_.erase(party_id);
  } else {
    parents_.insert_or_assign(std::move(party_id), std::move(parent_party_id));
  }
}

std::optional<std::string> InMemoryPartyDirectory::ParentOf(std::string_view party_id) const {
  auto it = parents_.find(ToAbsl(party_id));
  if (it == parents_.end()) return std::nullopt;
  return it->second;
}

}  // namespace lodestone::domain
