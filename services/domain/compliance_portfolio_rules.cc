// The portfolio-level compliance rules (stage concentration, EU CRMA), AggregateProfiles
// (the profile a portfolio is judged on) and EvaluatePortfolio.
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/domain/compliance.h"
#include "services/domain/compliance_internal.h"
#include "services/domain/origin.h"
#include "services/domain/rules.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

using compliance_internal::Assemble;
using compliance_internal::ContainsCountry;
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

// ---- Portfolio rules ----

// CRMA: at each counted stage, no single third country above the threshold.
Finding StageConcentration(const Rule& rule, const PortfolioFacts& portfolio) {
  const std::string what = absl::StrCat("portfolio ", Quoted(portfolio.portfolio_id), " (",
                                        ToAbsl(MaterialName(portfolio.material)), ")");
  if (!Covers(rule.materials, portfolio.material)) {
    return NotApplicable(absl::StrCat(what, " is not a strategic raw material (",
                                      MaterialList(rule.materials), ")"));
  }
  if (portfolio.total_mass_g <= 0) return NotApplicable(absl::StrCat(what, " is empty"));
  const OriginProfile& p = portfolio.profile;
  const std::string limit = Percent(rule.threshold);
  Finding f;
  std::vector<std::string> failing;
  std::vector<std::string> uncertain;
  std::vector<std::string> assessed;
  auto report = [&](Stage stage, bool counted) {
    const double coverage = StageCoverage(p, stage);
    if (coverage <= 0) return;
    const std::string stage_name(StageName(stage));
    const double stage_g = coverage * static_cast<double>(portfolio.total_mass_g);
    const std::string of_stage = absl::StrCat(
        "of the ", static_cast<int64_t>(stage_g + 0.5), " g (", Percent(coverage),
        " of the portfolio) that went through ", stage_name, counted ? "" : "; reported only");
    const KeyShare* top = nullptr;
    for (const KeyShare& e : p.stage(stage)) {
      if (e.key == kUnknownCountry || ContainsCountry(rule.exempt_countries, e.key)) continue;
      if (top == nullptr || e.share > top->share) top = &e;
    }
    const double top_share = top == nullptr ? 0 : top->share / coverage;
    const double unknown = CountryShare(p, stage, kUnknownCountry) / coverage;
    if (top != nullptr) {
      f.evidence.push_back(Evidence{stage, top->key, top_share,
                                    absl::StrCat("largest single third-country share ", of_stage)});
    }
    if (unknown > 0) {
      f.evidence.push_back(Evidence{stage, std::string(kUnknownCountry), unknown,
                                    absl::StrCat("untraced share ", of_stage)});
    }
    if (!counted) return;
    assessed.push_back(stage_name);
    if (top_share > rule.threshold + kShareTolerance) {
      failing.push_back(absl::StrCat(stage_name, " ", top->key, " ", Percent(top_share)));
    } else if (top_share + unknown > rule.threshold + kShareTolerance) {
      uncertain.push_back(absl::StrCat(stage_name, " ", Percent(unknown), " untraced"));
    }
  };
  for (Stage stage : rule.stages) report(stage, true);
  for (Stage stage : rule.reported_stages) report(stage, false);
  if (assessed.empty()) {
    f.outcome = Outcome::kNotApplicable;
    f.summary = absl::StrCat(what, " has no mass that went through a processing stage");
  } else if (!failing.empty()) {
    f.outcome = Outcome::kFail;
    f.summary = absl::StrCat(what, " takes more than ", limit,
                             " of a processing stage from a single third country (",
                             absl::StrJoin(failing, "; "), ")");
  } else if (!uncertain.empty()) {
    f.outcome = Outcome::kInsufficientData;
    f.summary = absl::StrCat(what, " has no third country above ", limit,
                             " at any processing stage, but untraced shares could exceed it (",
                             absl::StrJoin(uncertain, "; "), ")");
  } else {
    f.outcome = Outcome::kPass;
    f.summary = absl::StrCat(what, " takes at most ", limit,
                             " from any single third country at each processing stage (",
                             Join(assessed), ")");
  }
  return f;
}

}  // namespace

// ---- Aggregation ----

absl::StatusOr<OriginProfile> AggregateProfiles(
    std::span<const std::pair<const OriginProfile*, Grams>> lots) {
  if (lots.empty()) return absl::InvalidArgumentError("AggregateProfiles: no lots");
  Grams total = 0;
  for (size_t i = 0; i < lots.size(); ++i) {
    const auto& [profile, grams] = lots[i];
    if (profile == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("AggregateProfiles: lot ", i, " is null"));
    }
    if (grams <= 0 || grams > kMaxMassG - total) {
      return absl::InvalidArgumentError(absl::StrCat("AggregateProfiles: lot ", i, " weighs ",
                                                     grams,
                                                     " g; masses must be > 0 and sum to at "
                                                     "most kMaxMassG"));
    }
    total += grams;
  }
  using Acc = std::map<std::string, double, std::less<>>;
  std::array<Acc, kStageCount> stages;
  Acc regions;
  Acc parties;
  std::map<std::pair<std::string, RouteRole>, double> route;
  for (const auto& [profile, grams] : lots) {
    const double w = static_cast<double>(grams) / static_cast<double>(total);
    for (int s = 0; s < kStageCount; ++s) {
      for (const KeyShare& e : profile->stages[s]) stages[s][e.key] += w * e.share;
    }
    for (const KeyShare& e : profile->regions) regions[e.key] += w * e.share;
    for (const KeyShare& e : profile->parties) parties[e.key] += w * e.share;
    for (const RouteEntry& e : profile->route) route[{e.country, e.role}] += w * e.share;
  }
  auto finish = [](const Acc& acc) {
    Distribution d;
    for (const auto& [key, share] : acc) {
      if (share > 0) d.push_back(KeyShare{key, std::min(share, 1.0)});
    }
    return d;
  };
  OriginProfile out;
  for (int s = 0; s < kStageCount; ++s) out.stages[s] = finish(stages[s]);
  out.regions = finish(regions);
  out.parties = finish(parties);
  for (const auto& [key, share] : route) {
    if (share > 0) out.route.push_back(RouteEntry{key.first, key.second, std::min(share, 1.0)});
  }
  const std::string& first = lots[0].first->customs_origin;
  const bool same = std::all_of(lots.begin(), lots.end(), [&first](const auto& lot) {
    return lot.first->customs_origin == first;
  });
  out.customs_origin = same ? first : "";
  out.value.gap = ValueGap::kInputWithoutValue;
  return out;
}

// ---- Evaluation ----

std::vector<Verdict> EvaluatePortfolio(const RuleSet& set, const PortfolioFacts& portfolio,
                                       absl::Time as_of) {
  std::vector<Verdict> verdicts;
  for (const Rule& rule : set.rules) {
    if (LevelOf(rule.kind) != RuleLevel::kPortfolio) continue;
    verdicts.push_back(
        Assemble(set, rule, WindowAt(rule, as_of), false, StageConcentration(rule, portfolio)));
  }
  return verdicts;
}

}  // namespace lodestone::domain
