#include "services/domain/origin.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/base/status_macros.h"
#include "services/domain/codes.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

constexpr Stage kAllStages[] = {Stage::kMining, Stage::kSeparation, Stage::kRefining, Stage::kMetal,
                                Stage::kAlloy,  Stage::kComponent,  Stage::kRecycling};
static_assert(std::size(kAllStages) == kStageCount);

// Implied stages by material (docs/origin-model.md, "Implied stages").
constexpr Stage kMined[] = {Stage::kMining};
constexpr Stage kSeparated[] = {Stage::kMining, Stage::kSeparation};
constexpr Stage kRefined[] = {Stage::kMining, Stage::kRefining};
constexpr Stage kRefinedMetal[] = {Stage::kMining, Stage::kRefining, Stage::kMetal};
constexpr Stage kRareEarthMetal[] = {Stage::kMining, Stage::kSeparation, Stage::kMetal};
constexpr Stage kAlloyed[] = {Stage::kMining, Stage::kSeparation, Stage::kMetal, Stage::kAlloy};
constexpr Stage kComponentMade[] = {Stage::kMining, Stage::kSeparation, Stage::kMetal,
                                    Stage::kAlloy, Stage::kComponent};

constexpr double kFull = 1.0;

int Index(Stage stage) { return static_cast<int>(stage); }

std::string_view KnownOrUnknown(std::string_view country) {
  return country.empty() ? kUnknownCountry : country;
}

// ---- Distribution helpers ----

// Accumulates weighted shares in key order; summation order is the order of Add calls, so the
// result depends only on the inputs and their order.
class Mixer {
 public:
  void Add(const Distribution& d, double weight) {
    for (const KeyShare& e : d) acc_[e.key] += weight * e.share;
  }
  void AddKey(std::string_view key, double weight) {
    auto it = acc_.find(key);
    if (it == acc_.end()) {
      acc_.emplace(std::string(key), weight);
    } else {
      it->second += weight;
    }
  }
  Distribution Finish() && {
    Distribution out;
    out.reserve(acc_.size());
    for (auto& [key, share] : acc_) {
      if (share <= 0) continue;
      out.push_back(KeyShare{key, std::min(kFull, share)});
    }
    return out;
  }

 private:
  std::map<std::string, double, std::less<>> acc_;
};

class RouteMixer {
 public:
  void Add(const Route& r, double weight) {
    for (const RouteEntry& e : r) acc_[{e.country, e.role}] += weight * e.share;
  }
  void AddKey(std::string_view country, RouteRole role, double weight) {
    acc_[{std::string(country), role}] += weight;
  }
  Route Finish() && {
    Route out;
    out.reserve(acc_.size());
    for (auto& [key, share] : acc_) {
      if (share <= 0) continue;
      out.push_back(RouteEntry{key.first, key.second, std::min(kFull, share)});
    }
    return out;
  }

 private:
  std::map<std::pair<std::string, RouteRole>, double> acc_;
};

// Sets `key` to `share` (inserting in order).
void SetShare(Distribution& d, std::string_view key, double share) {
  auto it = std::lower_bound(d.begin(), d.end(), key,
                             [](const KeyShare& e, std::string_view k) { return e.key < k; });
  if (it != d.end() && it->key == key) {
    it->share = share;
  } else {
    d.insert(it, KeyShare{std::string(key), share});
  }
}

void SetRoute(Route& r, std::string_view country, RouteRole role, double share) {
  auto less = [](const RouteEntry& e, const std::pair<std::string_view, RouteRole>& k) {
    return std::pair<std::string_view, RouteRole>(e.country, e.role) < k;
  };
  auto it = std::lower_bound(r.begin(), r.end(), std::make_pair(country, role), less);
  if (it != r.end() && it->country == country && it->role == role) {
    it->share = share;
  } else {
    r.insert(it, RouteEntry{std::string(country), role, share});
  }
}

// Keeps a distribution within `max_entries`: the largest max_entries - 1 entries (ties: the
// smaller key) stay, the others merge into kOtherKey with share min(1, kOther's share + the sum
// of the merged shares). Shares of regions and parties overlap (one gram can pass through
// several), so the sum is an upper bound of the mass that passed through any merged key.
void CapEntries(Distribution& d, size_t max_entries) {
  if (d.size() <= max_entries) return;
  double other = ShareOf(d, kOtherKey);
  std::vector<KeyShare> entries;
  entries.reserve(d.size());
  for (KeyShare& e : d) {
    if (e.key != kOtherKey) entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const KeyShare& a, const KeyShare& b) {
    return a.share != b.share ? a.share > b.share : a.key < b.key;
  });
  const size_t keep = max_entries - 1;
  for (size_t i = keep; i < entries.size(); ++i) other += entries[i].share;
  entries.resize(keep);
  entries.push_back(KeyShare{std::string(kOtherKey), std::min(kFull, other)});
  std::sort(entries.begin(), entries.end(),
            [](const KeyShare& a, const KeyShare& b) { return a.key < b.key; });
  d = std::move(entries);
}

// ---- Validation ----

absl::Status CheckFacility(const FacilityInfo& f, std::string_view what) {
  if (!IsCountryCode(f.country)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), ": country '", f.country, "' is not an ISO 3166-1 code"));
  }
  if (!f.subdivision.empty() && !IsSubdivisionCode(f.subdivision)) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": subdivision '", f.subdivision,
                                                   "' is not an ISO 3166-2 code"));
  }
  return absl::OkStatus();
}

absl::Status CheckMaterial(Material m, std::string_view what) {
  const int v = static_cast<int>(m);
  if (v <= 0 || v > kMaterialMax) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": material ", v, " is invalid"));
  }
  return absl::OkStatus();
}

absl::Status CheckDeclaredCountry(std::string_view country, std::string_view what) {
  if (!country.empty() && !IsCountryCode(country)) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": declared country '",
                                                   ToAbsl(country), "' is not an ISO 3166-1 code"));
  }
  return absl::OkStatus();
}

absl::Status CheckMass(Grams g, std::string_view what) {
  if (g <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": mass ", g, " g must be > 0"));
  }
  return absl::OkStatus();
}

absl::Status CheckHs(std::string_view code, std::string_view what) {
  if (!IsHsCode(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), ": HS code '", ToAbsl(code), "' is malformed"));
  }
  return absl::OkStatus();
}

// ---- Building blocks ----

// The profile of material with no history in the ledger: every implied stage at the declared
// country (or unknown), customs origin the declared country, one route entry, value shares at
// the declared country at every implied stage. No facility, so no region, party or value total.
OriginProfile SourceProfile(Material material, std::string_view declared_country) {
  const std::string_view where = KnownOrUnknown(declared_country);
  OriginProfile p;
  for (Stage s : ImpliedStages(material)) {
    p.stages[Index(s)] = {KeyShare{std::string(where), kFull}};
    p.value.by_stage[Index(s)] = {KeyShare{std::string(where), kFull}};
  }
  p.customs_origin = std::string(declared_country);
  p.route = {RouteEntry{std::string(where), SourceRole(material), kFull}};
  return p;
}

// The facility's region and operator at share 1, with the caps applied.
void MarkFacility(OriginProfile& p, const FacilityInfo& f) {
  if (!f.subdivision.empty()) SetShare(p.regions, f.subdivision, kFull);
  if (!f.operator_party_id.empty()) SetShare(p.parties, f.operator_party_id, kFull);
  CapEntries(p.regions, kMaxRegionEntries);
  CapEntries(p.parties, kMaxPartyEntries);
}

std::optional<LotValue> ValueOf(int64_t minor, std::string_view currency, Grams mass_g) {
  if (minor <= 0) return std::nullopt;
  return LotValue{minor, std::string(currency), mass_g};
}

struct Component {
  const OriginProfile* profile;
  Grams mass_g;
};

// The value shares of a mix of `components` (in order), per stage. Shares need the relative
// value of every component: the consumed mass at the component's declared value per gram.
OriginValue MixValue(const std::vector<Component>& components,
                     const std::vector<std::optional<LotValue>>& component_values) {
  OriginValue out;
  if (components.size() == 1) {
    out.gap = components[0].profile->value.gap;
    out.by_stage = components[0].profile->value.by_stage;
    return out;
  }
  std::vector<double> values;
  values.reserve(components.size());
  double total = 0;
  const std::string* currency = nullptr;
  for (size_t i = 0; i < components.size(); ++i) {
    const OriginValue& v = components[i].profile->value;
    if (v.gap != ValueGap::kNone) {
      out.gap = v.gap;
      return out;
    }
    const std::optional<LotValue>& lv = component_values[i];
    if (!lv.has_value() || lv->minor <= 0 || lv->mass_g <= 0) {
      out.gap = ValueGap::kInputWithoutValue;
      return out;
    }
    if (currency == nullptr) {
      currency = &lv->currency;
    } else if (*currency != lv->currency) {
      out.gap = ValueGap::kCurrencyMismatch;
      return out;
    }
    const double value =
        static_cast<double>(lv->minor) * (static_cast<double>(components[i].mass_g) / lv->mass_g);
    values.push_back(value);
    total += value;
  }
  std::array<Mixer, kStageCount> stages;
  for (size_t i = 0; i < components.size(); ++i) {
    const double w = values[i] / total;
    for (int s = 0; s < kStageCount; ++s)
      stages[s].Add(components[i].profile->value.by_stage[s], w);
  }
  for (int s = 0; s < kStageCount; ++s) out.by_stage[s] = std::move(stages[s]).Finish();
  return out;
}

bool DistributionsNear(const Distribution& a, const Distribution& b, double tol) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].key < b[j].key)) {
      if (std::abs(a[i].share) > tol) return false;
      ++i;
    } else if (i == a.size() || b[j].key < a[i].key) {
      if (std::abs(b[j].share) > tol) return false;
      ++j;
    } else {
      if (!(std::abs(a[i].share - b[j].share) <= tol)) return false;
      ++i;
      ++j;
    }
  }
  return true;
}

bool RoutesNear(const Route& a, const Route& b, double tol) {
  auto key = [](const RouteEntry& e) {
    return std::make_pair(std::string_view(e.country), e.role);
  };
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && key(a[i]) < key(b[j]))) {
      if (std::abs(a[i].share) > tol) return false;
      ++i;
    } else if (i == a.size() || key(b[j]) < key(a[i])) {
      if (std::abs(b[j].share) > tol) return false;
      ++j;
    } else {
      if (!(std::abs(a[i].share - b[j].share) <= tol)) return false;
      ++i;
      ++j;
    }
  }
  return true;
}

void AppendDistribution(std::string& out, std::string_view name, const Distribution& d) {
  absl::StrAppend(&out, ToAbsl(name), "{");
  for (size_t i = 0; i < d.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : " ", d[i].key, ":", d[i].share);
  }
  absl::StrAppend(&out, "}");
}

}  // namespace

std::span<const Stage> AllStages() { return kAllStages; }

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kMining:
      return "mining";
    case Stage::kSeparation:
      return "separation";
    case Stage::kRefining:
      return "refining";
    case Stage::kMetal:
      return "metal";
    case Stage::kAlloy:
      return "alloy";
    case Stage::kComponent:
      return "component";
    case Stage::kRecycling:
      return "recycling";
  }
  return "invalid";
}

std::optional<Stage> StageOf(Process process) {
  switch (process) {
    case Process::kSeparation:
      return Stage::kSeparation;
    case Process::kRefining:
    case Process::kSmelting:
      return Stage::kRefining;
    case Process::kMetalMaking:
      return Stage::kMetal;
    case Process::kAlloying:
      return Stage::kAlloy;
    case Process::kMagnetMaking:
      return Stage::kComponent;
    case Process::kRecycling:
      return Stage::kRecycling;
    case Process::kUnspecified:
    case Process::kRepackaging:
    case Process::kBlending:
    case Process::kSplitting:
      return std::nullopt;
  }
  return std::nullopt;
}

std::span<const Stage> ImpliedStages(Material material) {
  switch (material) {
    case Material::kAntimonyOre:
    case Material::kRareEarthOre:
    case Material::kScrap:
    case Material::kIron:
    case Material::kBoron:
    case Material::kOther:
      return kMined;
    case Material::kRareEarthCompound:
      return kSeparated;
    case Material::kAntimonyOxide:
    case Material::kGallium:
    case Material::kGermanium:
    case Material::kGermaniumOxide:
    case Material::kTungsten:
    case Material::kTantalum:
    case Material::kGraphite:
      return kRefined;
    case Material::kAntimonyMetal:
      return kRefinedMetal;
    case Material::kRareEarthMetal:
      return kRareEarthMetal;
    case Material::kNdfebAlloy:
      return kAlloyed;
    case Material::kNdfebMagnet:
      return kComponentMade;
    case Material::kUnspecified:
      return {};
  }
  return {};
}

std::string_view RouteRoleName(RouteRole role) {
  switch (role) {
    case RouteRole::kMined:
      return "mined";
    case RouteRole::kProcessed:
      return "processed";
    case RouteRole::kTransited:
      return "transited";
    case RouteRole::kStored:
      return "stored";
  }
  return "invalid";
}

RouteRole SourceRole(Material material) {
  return material == Material::kAntimonyOre || material == Material::kRareEarthOre
             ? RouteRole::kMined
             : RouteRole::kProcessed;
}

std::string_view ValueGapName(ValueGap gap) {
  switch (gap) {
    case ValueGap::kNone:
      return "none";
    case ValueGap::kInputWithoutValue:
      return "input_without_value";
    case ValueGap::kCurrencyMismatch:
      return "currency_mismatch";
  }
  return "invalid";
}

CustomsPolicy CustomsPolicy::Default() {
  CustomsPolicy policy;
  for (int p = 0; p <= kProcessMax; ++p) {
    policy.by_process[p] = StageOf(static_cast<Process>(p)).has_value()
                               ? SubstantialTransformationTest::kHsHeadingChange
                               : SubstantialTransformationTest::kNever;
  }
  return policy;
}

SubstantialTransformationTest CustomsPolicy::For(Process process) const {
  const int p = static_cast<int>(process);
  if (p < 0 || p > kProcessMax) return SubstantialTransformationTest::kNever;
  return by_process[p];
}

CustomsPolicy& CustomsPolicy::Set(Process process, SubstantialTransformationTest test) {
  const int p = static_cast<int>(process);
  if (p >= 0 && p <= kProcessMax) by_process[p] = test;
  return *this;
}

absl::StatusOr<OriginProfile> OriginOfExtracted(Material material, const FacilityInfo& mine) {
  LODESTONE_RETURN_IF_ERROR(CheckMaterial(material, "extracted lot"));
  LODESTONE_RETURN_IF_ERROR(CheckFacility(mine, "mine"));
  OriginProfile p;
  p.stages[Index(Stage::kMining)] = {KeyShare{mine.country, kFull}};
  p.customs_origin = mine.country;
  p.route = {RouteEntry{mine.country, RouteRole::kMined, kFull}};
  p.value.by_stage[Index(Stage::kMining)] = {KeyShare{mine.country, kFull}};
  MarkFacility(p, mine);
  return p;
}

absl::StatusOr<OriginProfile> OriginOfRegistered(const LotRegistered& lot,
                                                 const FacilityInfo& facility) {
  LODESTONE_RETURN_IF_ERROR(CheckMaterial(lot.material, "registered lot"));
  LODESTONE_RETURN_IF_ERROR(CheckDeclaredCountry(lot.origin_country, "registered lot"));
  LODESTONE_RETURN_IF_ERROR(CheckMass(lot.mass_g, "registered lot"));
  LODESTONE_RETURN_IF_ERROR(CheckFacility(facility, "registering facility"));
  OriginProfile p = SourceProfile(lot.material, lot.origin_country);
  SetRoute(p.route, facility.country, RouteRole::kStored, kFull);
  MarkFacility(p, facility);
  p.value.total = ValueOf(lot.value_minor, lot.currency, lot.mass_g);
  return p;
}

absl::StatusOr<std::vector<OriginProfile>> OriginOfTransformed(
    Process process, const FacilityInfo& facility, std::span<const TrackedInput> inputs,
    std::span<const UntrackedInput> untracked, std::span<const LotOutput> outputs,
    const CustomsPolicy& policy) {
  const int process_value = static_cast<int>(process);
  if (process_value <= 0 || process_value > kProcessMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("transformation: process ", process_value, " is invalid"));
  }
  LODESTONE_RETURN_IF_ERROR(CheckFacility(facility, "transforming facility"));
  if (inputs.empty() && untracked.empty()) {
    return absl::InvalidArgumentError("transformation: no inputs");
  }
  if (outputs.empty()) return absl::InvalidArgumentError("transformation: no outputs");

  absl::flat_hash_set<std::string> seen;
  Grams total_g = 0;
  for (const TrackedInput& in : inputs) {
    if (in.profile == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("transformation: input '", in.lot_id, "' has no profile"));
    }
    if (!seen.insert(in.lot_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("transformation: input '", in.lot_id, "' repeats"));
    }
    LODESTONE_RETURN_IF_ERROR(CheckMass(in.consumed_g, "tracked input"));
    LODESTONE_RETURN_IF_ERROR(CheckHs(in.hs_code, "tracked input"));
    total_g += in.consumed_g;
  }
  for (const UntrackedInput& u : untracked) {
    LODESTONE_RETURN_IF_ERROR(CheckMaterial(u.material, "untracked input"));
    LODESTONE_RETURN_IF_ERROR(CheckMass(u.mass_g, "untracked input"));
    LODESTONE_RETURN_IF_ERROR(CheckDeclaredCountry(u.country, "untracked input"));
    total_g += u.mass_g;
  }
  for (const LotOutput& out : outputs) {
    LODESTONE_RETURN_IF_ERROR(CheckMaterial(out.material, "output"));
    LODESTONE_RETURN_IF_ERROR(CheckMass(out.mass_g, "output"));
    LODESTONE_RETURN_IF_ERROR(CheckHs(out.hs_code, "output"));
  }

  // The components of the mix, in order: tracked inputs, then untracked inputs.
  std::vector<OriginProfile> sources;
  sources.reserve(untracked.size());
  for (const UntrackedInput& u : untracked) sources.push_back(SourceProfile(u.material, u.country));
  std::vector<Component> components;
  std::vector<std::optional<LotValue>> component_values;
  components.reserve(inputs.size() + untracked.size());
  for (const TrackedInput& in : inputs) {
    components.push_back(Component{in.profile, in.consumed_g});
    component_values.push_back(in.profile->value.total);
  }
  for (size_t i = 0; i < untracked.size(); ++i) {
    components.push_back(Component{&sources[i], untracked[i].mass_g});
    component_values.push_back(std::nullopt);  // untracked inputs carry no value
  }

  // The mass-weighted average.
  OriginProfile mixed;
  {
    std::array<Mixer, kStageCount> stages;
    RouteMixer route;
    Mixer regions;
    Mixer parties;
    const double total = static_cast<double>(total_g);
    for (const Component& c : components) {
      const double w = static_cast<double>(c.mass_g) / total;
      for (int s = 0; s < kStageCount; ++s) stages[s].Add(c.profile->stages[s], w);
      route.Add(c.profile->route, w);
      regions.Add(c.profile->regions, w);
      parties.Add(c.profile->parties, w);
    }
    for (int s = 0; s < kStageCount; ++s) mixed.stages[s] = std::move(stages[s]).Finish();
    mixed.route = std::move(route).Finish();
    mixed.regions = std::move(regions).Finish();
    mixed.parties = std::move(parties).Finish();
  }
  const std::optional<Stage> stage = StageOf(process);
  if (stage.has_value()) mixed.stages[Index(*stage)] = {KeyShare{facility.country, kFull}};
  SetRoute(mixed.route, facility.country,
           stage.has_value() ? RouteRole::kProcessed : RouteRole::kStored, kFull);
  MarkFacility(mixed, facility);
  mixed.value = MixValue(components, component_values);
  if (stage.has_value() && mixed.value.gap == ValueGap::kNone) {
    mixed.value.by_stage[Index(*stage)] = {KeyShare{facility.country, kFull}};
  }

  // The customs origin when the transformation is not substantial.
  std::string carried;
  if (!inputs.empty()) {
    const TrackedInput* largest = &inputs[0];
    for (const TrackedInput& in : inputs) {
      if (in.consumed_g > largest->consumed_g ||
          (in.consumed_g == largest->consumed_g && in.lot_id < largest->lot_id)) {
        largest = &in;
      }
    }
    carried = largest->profile->customs_origin;
  } else {
    const UntrackedInput* largest = &untracked[0];
    for (const UntrackedInput& u : untracked) {
      if (u.mass_g > largest->mass_g) largest = &u;
    }
    carried = largest->country;
  }

  std::vector<OriginProfile> result;
  result.reserve(outputs.size());
  const SubstantialTransformationTest test = policy.For(process);
  for (const LotOutput& out : outputs) {
    bool substantial = false;
    switch (test) {
      case SubstantialTransformationTest::kAlways:
        substantial = true;
        break;
      case SubstantialTransformationTest::kNever:
        substantial = false;
        break;
      case SubstantialTransformationTest::kHsHeadingChange: {
        const std::string_view heading = HsHeading(out.hs_code);
        substantial = std::none_of(inputs.begin(), inputs.end(), [&](const TrackedInput& in) {
          return HsHeading(in.hs_code) == heading;
        });
        break;
      }
    }
    OriginProfile p = mixed;
    p.customs_origin = substantial ? facility.country : carried;
    p.value.total = ValueOf(out.value_minor, out.currency, out.mass_g);
    result.push_back(std::move(p));
  }
  return result;
}

absl::StatusOr<OriginProfile> OriginAfterArrival(OriginProfile profile,
                                                 const FacilityInfo& destination) {
  LODESTONE_RETURN_IF_ERROR(CheckFacility(destination, "destination"));
  SetRoute(profile.route, destination.country,
           destination.kind == FacilityKind::kPort ? RouteRole::kTransited : RouteRole::kStored,
           kFull);
  MarkFacility(profile, destination);
  return profile;
}

double ShareOf(const Distribution& distribution, std::string_view key) {
  auto it = std::lower_bound(distribution.begin(), distribution.end(), key,
                             [](const KeyShare& e, std::string_view k) { return e.key < k; });
  return it != distribution.end() && it->key == key ? it->share : 0.0;
}

double StageCoverage(const OriginProfile& profile, Stage stage) {
  double sum = 0;
  for (const KeyShare& e : profile.stage(stage)) sum += e.share;
  return sum;
}

double CountryShare(const OriginProfile& profile, Stage stage, std::string_view country) {
  return ShareOf(profile.stage(stage), country);
}

double ValueStageCoverage(const OriginProfile& profile, Stage stage) {
  double sum = 0;
  for (const KeyShare& e : profile.value.stage(stage)) sum += e.share;
  return sum;
}

double ValueCountryShare(const OriginProfile& profile, Stage stage, std::string_view country) {
  return ShareOf(profile.value.stage(stage), country);
}

double RouteShare(const OriginProfile& profile, std::string_view country, RouteRole role) {
  for (const RouteEntry& e : profile.route) {
    if (e.country == country && e.role == role) return e.share;
  }
  return 0.0;
}

std::vector<std::string> CountriesAtAnyStage(const OriginProfile& profile) {
  std::vector<std::string> out;
  for (const Distribution& d : profile.stages) {
    for (const KeyShare& e : d) {
      if (e.key != kUnknownCountry) out.push_back(e.key);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool HasMergedEntries(const OriginProfile& profile) {
  return ShareOf(profile.regions, kOtherKey) > 0 || ShareOf(profile.parties, kOtherKey) > 0;
}

bool ProfilesNear(const OriginProfile& a, const OriginProfile& b, double tolerance) {
  if (a.customs_origin != b.customs_origin) return false;
  if (a.value.total != b.value.total || a.value.gap != b.value.gap) return false;
  for (int s = 0; s < kStageCount; ++s) {
    if (!DistributionsNear(a.stages[s], b.stages[s], tolerance) ||
        !DistributionsNear(a.value.by_stage[s], b.value.by_stage[s], tolerance)) {
      return false;
    }
  }
  return RoutesNear(a.route, b.route, tolerance) &&
         DistributionsNear(a.regions, b.regions, tolerance) &&
         DistributionsNear(a.parties, b.parties, tolerance);
}

std::string ToString(const OriginProfile& profile) {
  std::string out =
      absl::StrCat("customs=", profile.customs_origin.empty() ? "unknown" : profile.customs_origin);
  for (Stage s : kAllStages) {
    if (profile.stage(s).empty()) continue;
    out += ' ';
    AppendDistribution(out, StageName(s), profile.stage(s));
  }
  absl::StrAppend(&out, " route{");
  for (size_t i = 0; i < profile.route.size(); ++i) {
    const RouteEntry& e = profile.route[i];
    absl::StrAppend(&out, i == 0 ? "" : " ", e.country, "/", ToAbsl(RouteRoleName(e.role)), ":",
                    e.share);
  }
  absl::StrAppend(&out, "}");
  out += ' ';
  AppendDistribution(out, "regions", profile.regions);
  out += ' ';
  AppendDistribution(out, "parties", profile.parties);
  absl::StrAppend(&out, " value{");
  if (profile.value.total.has_value()) {
    const LotValue& v = *profile.value.total;
    absl::StrAppend(&out, v.minor, " ", v.currency, "/", v.mass_g, "g ");
  }
  if (profile.value.gap == ValueGap::kNone) {
    bool first = true;
    for (Stage s : kAllStages) {
      if (profile.value.stage(s).empty()) continue;
      if (!first) out += ' ';
      first = false;
      AppendDistribution(out, absl::StrCat("by_", ToAbsl(StageName(s))), profile.value.stage(s));
    }
  } else {
    absl::StrAppend(&out, "shares unavailable: ", ToAbsl(ValueGapName(profile.value.gap)));
  }
  absl::StrAppend(&out, "}");
  return out;
}

}  // namespace lodestone::domain
