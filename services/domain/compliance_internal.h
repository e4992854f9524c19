// The evaluation core that the compliance rule files share (compliance_lot_rules.cc,
// compliance_shipment_rules.cc, compliance_portfolio_rules.cc): text helpers, rule windows and
// the assembly of a Finding into a Verdict. Defined in compliance.cc. Internal to
// services/domain: callers use compliance.h.
#ifndef LODESTONE_SERVICES_DOMAIN_COMPLIANCE_INTERNAL_H_
#define LODESTONE_SERVICES_DOMAIN_COMPLIANCE_INTERNAL_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "services/domain/compliance.h"
#include "services/domain/event.h"

namespace lodestone::domain::compliance_internal {

// Shares within this distance of a threshold count as at it: mixing rounds in the last bits.
inline constexpr double kShareTolerance = 1e-12;

// ---- Text ----

std::string_view MaterialName(Material material);
// 0.30927 -> "30.93%", 0.0012 -> "0.12%", 1 -> "100%".
std::string Percent(double share);
std::string DayText(absl::Time t);
std::string Join(const std::vector<std::string>& parts);
std::string MaterialList(const std::vector<Material>& materials);
std::string Quoted(std::string_view id);

// ---- Small helpers ----

template <typename T>
bool Contains(const std::vector<T>& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool ContainsCountry(const std::vector<std::string>& values, std::string_view value);
// Empty `materials` covers every material.
bool Covers(const std::vector<Material>& materials, Material material);
Grams SaturatingAdd(Grams a, Grams b);

// ---- Windows and verdicts ----

struct Window {
  bool in_force = true;
  std::string why;  // why not in force; empty when in force
};

Window WindowAt(const Rule& rule, absl::Time t);
bool AlwaysInForce(const Rule& rule);

// The result of a rule as if in force.
struct Finding {
  Outcome outcome = Outcome::kNotApplicable;
  ShareBasis basis = ShareBasis::kMass;
  std::string summary;  // a sentence without its final period
  std::vector<Evidence> evidence;
};

Finding NotApplicable(std::string summary);

// `unknown_time`: the evaluation time is not known (a shipment without a dispatch time).
Verdict Assemble(const RuleSet& set, const Rule& rule, const Window& window, bool unknown_time,
                 Finding finding);

}  // namespace lodestone::domain::compliance_internal

#endif  // LODESTONE_SERVICES_DOMAIN_COMPLIANCE_INTERNAL_H_
