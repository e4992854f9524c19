// The lot-level compliance rules (DFARS covered-country stages, the 0.1% origin-content
// threshold, UFLPA regions and listed parties) and EvaluateLot.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/domain/compliance.h"
#include "services/domain/compliance_internal.h"
#include "services/domain/origin.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

using compliance_internal::Assemble;
using compliance_internal::Covers;
using compliance_internal::Finding;
using compliance_internal::Join;
using compliance_internal::kShareTolerance;
using compliance_internal::MaterialList;
using compliance_internal::MaterialName;
using compliance_internal::NotApplicable;
using compliance_internal::Percent;
using compliance_internal::Quoted;
using compliance_internal::WindowAt;

std::string LotText(const std::string& lot_id, Material material) {
  return absl::StrCat("lot ", Quoted(lot_id), " (", ToAbsl(MaterialName(material)), ")");
}

// ---- Lot rules ----

// DFARS: any share of a counted stage in a covered country fails.
Finding CoveredCountryStages(const Rule& rule, const LotFacts& lot) {
  const std::string lot_text = LotText(lot.lot_id, lot.material);
  if (!Covers(rule.materials, lot.material)) {
    return NotApplicable(
        absl::StrCat(lot_text, " is not a covered material (", MaterialList(rule.materials), ")"));
  }
  Finding f;
  std::vector<std::string> failing;
  std::vector<std::string> untraced;
  std::vector<std::string> stage_names;
  for (Stage stage : rule.stages) {
    const std::string stage_name(StageName(stage));
    stage_names.push_back(stage_name);
    for (const std::string& country : rule.covered_countries) {
      const double share = CountryShare(lot.profile, stage, country);
      if (share <= 0) continue;
      failing.push_back(absl::StrCat(stage_name, " in ", country, " ", Percent(share)));
      f.evidence.push_back(
          Evidence{stage, country, share,
                   absl::StrCat("share of the lot's mass whose ", stage_name, " took place in ",
                                country, ", a covered country")});
    }
    const double unknown = CountryShare(lot.profile, stage, kUnknownCountry);
    if (unknown > 0) {
      untraced.push_back(absl::StrCat(stage_name, " ", Percent(unknown)));
      f.evidence.push_back(Evidence{
          stage, std::string(kUnknownCountry), unknown,
          absl::StrCat("share of the lot's mass whose ", stage_name, " country is untraced")});
    }
  }
  const std::string countries = Join(rule.covered_countries);
  if (!failing.empty()) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(lot_text, " went through a counted stage in a covered country (",
                             absl::StrJoin(failing, "; "), ")");
  } else if (!untraced.empty()) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(lot_text, " shows no ", Join(stage_names), " in ", countries,
                             ", but the country of part of its mass is untraced (",
                             absl::StrJoin(untraced, "; "), ")");
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(lot_text, " had none of its ", Join(stage_names), " in ", countries);
  }
  return f;
}

// The share of the lot that originates in the rule's covered countries, and the untraced share,
// on one basis, with the evidence and a phrase saying how it was computed.
struct ContentShare {
  ShareBasis basis = ShareBasis::kMass;
  double share = 0;
  double unknown = 0;
  std::string how;
  std::vector<Evidence> evidence;
};

// From the caller's declared value: the listed content of the rule's materials whose origin is
// a covered country (or untraced), over the item's value.
ContentShare FromDeclaredValue(const Rule& rule, const DeclaredValue& declared) {
  ContentShare c;
  c.basis = ShareBasis::kDeclaredValue;
  const double item = static_cast<double>(declared.item_minor);
  int64_t covered_minor = 0;
  for (const std::string& country : rule.covered_countries) {
    int64_t minor = 0;
    for (const DeclaredContent& line : declared.content) {
      if (line.country == country && Covers(rule.materials, line.material)) minor += line.minor;
    }
    if (minor <= 0) continue;
    covered_minor += minor;
    c.share += static_cast<double>(minor) / item;
    c.evidence.push_back(
        Evidence{std::nullopt, country, static_cast<double>(minor) / item,
                 absl::StrCat("declared value share of ", country, "-origin content: ", minor,
                              " of ", declared.item_minor, " ", declared.currency)});
  }
  int64_t unknown_minor = 0;
  for (const DeclaredContent& line : declared.content) {
    if (line.country == kUnknownCountry && Covers(rule.materials, line.material)) {
      unknown_minor += line.minor;
    }
  }
  if (unknown_minor > 0) {
    c.unknown = static_cast<double>(unknown_minor) / item;
    c.evidence.push_back(Evidence{
        std::nullopt, std::string(kUnknownCountry), c.unknown,
        absl::StrCat("declared value share of content of undeclared origin: ", unknown_minor,
                     " of ", declared.item_minor, " ", declared.currency)});
  }
  c.how = absl::StrCat("declared value basis, ", covered_minor, " of ", declared.item_minor, " ",
                       declared.currency);
  return c;
}

// From the profile: the value shares at `stage` when the ledger's values allow them, else the
// mass shares at `stage`.
ContentShare FromProfile(const Rule& rule, const OriginProfile& p, Stage stage) {
  ContentShare c;
  const std::string stage_name(StageName(stage));
  const bool by_value = p.value.gap == ValueGap::kNone && !p.value.stage(stage).empty();
  std::string of;
  if (by_value) {
    c.basis = ShareBasis::kValue;
    of = "value";
    c.how = absl::StrCat("value basis: the value shares recorded in the ledger, ", stage_name,
                         " country");
  } else {
    c.basis = ShareBasis::kMass;
    of = "mass";
    const std::string why =
        p.value.gap != ValueGap::kNone
            ? absl::StrCat("value shares unavailable: ", ToAbsl(ValueGapName(p.value.gap)))
            : absl::StrCat("no value shares at ", stage_name);
    c.how = absl::StrCat("mass basis, ", stage_name, " country, because ", why);
  }
  const auto share_at = [&](std::string_view country) {
    return by_value ? ValueCountryShare(p, stage, country) : CountryShare(p, stage, country);
  };
  for (const std::string& country : rule.covered_countries) {
    const double s = share_at(country);
    if (s <= 0) continue;
    c.share += s;
    c.evidence.push_back(Evidence{stage, country, s,
                                  absl::StrCat("share of the lot's ", of, " whose ", stage_name,
                                               " took place in ", country)});
  }
  c.unknown = share_at(kUnknownCountry);
  if (c.unknown > 0) {
    c.evidence.push_back(Evidence{
        stage, std::string(kUnknownCountry), c.unknown,
        absl::StrCat("share of the lot's ", of, " whose ", stage_name, " country is untraced")});
  }
  return c;
}

// The 0.1% rule: content originating in the covered countries as a share of the item's value.
Finding OriginContentThreshold(const Rule& rule, const LotFacts& lot) {
  const std::string lot_text = LotText(lot.lot_id, lot.material);
  const OriginProfile& p = lot.profile;
  const double separation_coverage = StageCoverage(p, Stage::kSeparation);
  if (!Covers(rule.materials, lot.material) && separation_coverage <= 0) {
    return NotApplicable(absl::StrCat(lot_text, " is not a rare-earth material (",
                                      MaterialList(rule.materials),
                                      ") and none of its mass was separated"));
  }
  const std::string countries = Join(rule.covered_countries);
  const std::string limit = Percent(rule.threshold);
  Finding f;
  ContentShare c;
  if (lot.declared_value.has_value()) {
    if (absl::Status valid = ValidateDeclaredValue(*lot.declared_value); !valid.ok()) {
      f.basis = ShareBasis::kDeclaredValue;
      f.outcome = Outcome::kInsufficientData;
      f.summary = absl::StrCat(lot_text, " has a declared value that cannot be used (",
                               valid.message(), ")");
      return f;
    }
    c = FromDeclaredValue(rule, *lot.declared_value);
  } else {
    // Rare earths take their origin at separation; unseparated material at its mine.
    c = FromProfile(rule, p, separation_coverage > 0 ? Stage::kSeparation : Stage::kMining);
  }
  f.basis = c.basis;
  f.evidence = std::move(c.evidence);
  const std::string content = absl::StrCat(lot_text, " holds ", Percent(c.share), " ", countries,
                                           "-origin rare-earth content (", c.how, ")");
  if (c.share >= rule.threshold - kShareTolerance) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(content, ", at or above the ", limit,
                             " threshold: a Chinese export licence is required");
  } else if (c.share + c.unknown >= rule.threshold - kShareTolerance) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(content, " and ", Percent(c.unknown),
                             " of untraced origin, which could reach the ", limit, " threshold");
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(content, ", below the ", limit, " threshold");
  }
  return f;
}

struct AffiliateWalk {
  std::optional<std::string> listed;  // the listed party reached
  std::vector<std::string> chain;     // the party, its parent, ... up to `listed` or the end
  bool too_deep = false;              // the walk stopped at kMaxAffiliateHops with a parent left
};

AffiliateWalk WalkParents(std::string_view party, const absl::flat_hash_set<std::string>& listed,
                          const PartyDirectory& parties) {
  AffiliateWalk walk;
  walk.chain.emplace_back(party);
  for (int hop = 0;; ++hop) {
    const std::string& current = walk.chain.back();
    if (listed.contains(current)) {
      walk.listed = current;
      return walk;
    }
    std::optional<std::string> parent = parties.ParentOf(current);
    if (!parent.has_value() || parent->empty()) return walk;
    if (hop == kMaxAffiliateHops) {
      walk.too_deep = true;
      return walk;
    }
    walk.chain.push_back(*std::move(parent));
  }
}

// UFLPA: zero tolerance for listed regions, listed parties and their affiliates.
Finding RegionOrListedParty(const Rule& rule, const LotFacts& lot, const PartyDirectory& parties) {
  const std::string lot_text = LotText(lot.lot_id, lot.material);
  const OriginProfile& p = lot.profile;
  Finding f;
  std::vector<std::string> hits;
  for (const std::string& region : rule.regions) {
    const double share = ShareOf(p.regions, region);
    if (share <= 0) continue;
    hits.push_back(absl::StrCat(region, " ", Percent(share)));
    f.evidence.push_back(Evidence{
        std::nullopt, region, share,
        absl::StrCat("share of the lot's mass that passed through a facility in ", region)});
  }
  const absl::flat_hash_set<std::string> listed(rule.listed_parties.begin(),
                                                rule.listed_parties.end());
  std::vector<std::string> unresolved;
  for (const KeyShare& entry : p.parties) {
    if (entry.key == kOtherKey) continue;
    AffiliateWalk walk = WalkParents(entry.key, listed, parties);
    if (walk.listed.has_value()) {
      const bool direct = walk.chain.size() == 1;
      hits.push_back(absl::StrCat(entry.key, " ", Percent(entry.share)));
      f.evidence.push_back(Evidence{
          std::nullopt, entry.key, entry.share,
          direct ? absl::StrCat("share of the lot's mass handled by listed party ", entry.key)
                 : absl::StrCat("share of the lot's mass handled by ", entry.key,
                                ", an affiliate of listed party ", *walk.listed, " (",
                                absl::StrJoin(walk.chain, " -> "), ")")});
    } else if (walk.too_deep) {
      unresolved.push_back(entry.key);
      f.evidence.push_back(Evidence{
          std::nullopt, entry.key, entry.share,
          absl::StrCat("parent chain longer than ", kMaxAffiliateHops,
                       " links (or cyclic): affiliation with a listed party cannot be ruled out")});
    }
  }
  const bool merged = HasMergedEntries(p);
  if (merged) {
    const double other = std::max(ShareOf(p.regions, kOtherKey), ShareOf(p.parties, kOtherKey));
    f.evidence.push_back(Evidence{
        std::nullopt, std::string(kOtherKey), other,
        "regions or parties merged away in a large pool: absence cannot be proven from the "
        "profile; consult the lineage"});
  }
  // Mass whose country at some stage is untraced may have passed through a listed region.
  std::vector<std::string> untraced;
  for (Stage stage : AllStages()) {
    const double unknown = CountryShare(p, stage, kUnknownCountry);
    if (unknown <= 0) continue;
    const std::string stage_name(StageName(stage));
    untraced.push_back(absl::StrCat(stage_name, " ", Percent(unknown)));
    f.evidence.push_back(
        Evidence{stage, std::string(kUnknownCountry), unknown,
                 absl::StrCat("share of the lot's mass whose ", stage_name,
                              " country is untraced: it may have been in a listed region")});
  }
  if (!hits.empty()) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(lot_text, " has mass from a listed region or party (",
                             absl::StrJoin(hits, "; "), "): zero tolerance");
  } else if (merged || !unresolved.empty() || !untraced.empty()) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(
        lot_text, " shows no listed region or party, but ",
        merged ? std::string("its profile merged entries into (other)")
        : !unresolved.empty()
            ? absl::StrCat("the parent chain of ", Join(unresolved),
                           " could not be walked to its end")
            : absl::StrCat("part of its mass is untraced (", absl::StrJoin(untraced, "; "), ")"));
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(lot_text, " has no mass from ", Join(rule.regions), " or from any of ",
                             rule.listed_parties.size(), " listed parties or their affiliates");
  }
  return f;
}

}  // namespace

// ---- Evaluation ----

std::vector<Verdict> EvaluateLot(const RuleSet& set, const LotFacts& lot,
                                 const PartyDirectory& parties, absl::Time as_of) {
  std::vector<Verdict> verdicts;
  for (const Rule& rule : set.rules) {
    if (LevelOf(rule.kind) != RuleLevel::kLot) continue;
    Finding finding;
    switch (rule.kind) {
      case RuleKind::kCoveredCountryStages:
        finding = CoveredCountryStages(rule, lot);
        break;
      case RuleKind::kOriginContentThreshold:
        finding = OriginContentThreshold(rule, lot);
        break;
      default:  // kRegionOrListedParty
        finding = RegionOrListedParty(rule, lot, parties);
        break;
    }
    verdicts.push_back(Assemble(set, rule, WindowAt(rule, as_of), false, std::move(finding)));
  }
  return verdicts;
}

}  // namespace lodestone::domain
