// The origin math: where a lot's mass was mined, separated, refined, made into metal, alloyed,
// made into components and recycled; its customs origin; the countries, regions and parties it
// passed through; and how its value divides among the countries of each stage. docs/origin-model.md
// explains the model with a worked example; this header is the contract.
//
// Every function is pure and deterministic: no clock, randomness, I/O or global state. The
// projector folds the ledger's events in log order and calls, per event:
//   LotExtracted       -> OriginOfExtracted
//   LotRegistered      -> OriginOfRegistered
//   LotTransformed     -> OriginOfTransformed (one profile per output, in output order)
//   ShipmentArrived    -> OriginAfterArrival, for each lot of the shipment
//   ShipmentDispatched -> nothing (the goods are not anywhere new until they arrive)
//
// All shares are fractions of the lot's mass (doubles in [0, 1]); masses stay integer grams.
#ifndef LODESTONE_SERVICES_DOMAIN_ORIGIN_H_
#define LODESTONE_SERVICES_DOMAIN_ORIGIN_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/domain/event.h"

namespace lodestone::domain {

// The key for mass known to have gone through a stage (or been held) in an unknown country.
// '?' is not a letter, so it never collides with an ISO 3166-1 code, and it sorts first.
inline constexpr std::string_view kUnknownCountry = "??";

// The key that replaces the smallest region or party entries once a distribution is full. Its
// share is an upper bound of the mass that passed through any of the merged keys. Parentheses
// are not allowed in ids or subdivision codes, so it never collides with a real key.
inline constexpr std::string_view kOtherKey = "(other)";

// Bounds on the keyed distributions. Stage distributions and value shares hold at most one
// entry per ISO 3166-1 country plus kUnknownCountry (250); the route at most 4 roles per such
// key (1000). Regions and parties are capped as below; see CapEntries in origin.cc.
inline constexpr size_t kMaxCountryEntries = 250;
inline constexpr size_t kMaxRouteEntries = 4 * kMaxCountryEntries;
inline constexpr size_t kMaxRegionEntries = 1024;
inline constexpr size_t kMaxPartyEntries = 1024;

// The processing stages the rules ask about. Persisted and printed by name; never renumber.
enum class Stage : int {
  kMining = 0,
  kSeparation = 1,
  kRefining = 2,  // refining and smelting
  kMetal = 3,
  kAlloy = 4,
  kComponent = 5,
  kRecycling = 6,
};
inline constexpr int kStageCount = 7;

// All stages, in enum order.
std::span<const Stage> AllStages();
// "mining", "separation", "refining", "metal", "alloy", "component", "recycling".
std::string_view StageName(Stage stage);

// The stage a process performs: SEPARATION -> separation, REFINING and SMELTING -> refining,
// METAL_MAKING -> metal, ALLOYING -> alloy, MAGNET_MAKING -> component, RECYCLING -> recycling.
// REPACKAGING, BLENDING, SPLITTING (and UNSPECIFIED) perform none: std::nullopt.
std::optional<Stage> StageOf(Process process);

// The stages a material must already have gone through, used for lots and untracked inputs
// whose history the ledger does not hold (registered lots, untracked inputs). Always includes
// mining. The table is in docs/origin-model.md; empty for Material::kUnspecified.
std::span<const Stage> ImpliedStages(Material material);

// The role in which a lot or untracked input of unknown history was held at its declared
// origin: kMined for ores (antimony ore, rare-earth ore), kProcessed for everything else.
enum class RouteRole : int {
  kMined = 0,
  kProcessed = 1,
  kTransited = 2,
  kStored = 3,
};
// "mined", "processed", "transited", "stored".
std::string_view RouteRoleName(RouteRole role);
RouteRole SourceRole(Material material);

// One entry of a distribution: a key (a country, kUnknownCountry, a subdivision, a party id or
// kOtherKey) and its share of the lot's mass.
struct KeyShare {
  std::string key;
  double share = 0;
  friend bool operator==(const KeyShare&, const KeyShare&) = default;
};
// Sorted by key, keys unique, every share in (0, 1]: exact zeros are dropped.
using Distribution = std::vector<KeyShare>;

// One entry of a route: the share of the lot's mass that was held in `country` in `role`.
struct RouteEntry {
  std::string country;  // an ISO 3166-1 code or kUnknownCountry
  RouteRole role = RouteRole::kStored;
  double share = 0;
  friend bool operator==(const RouteEntry&, const RouteEntry&) = default;
};
// Sorted by (country, role), pairs unique, every share in (0, 1].
using Route = std::vector<RouteEntry>;

// A declared value: `minor` units of `currency` for `mass_g` grams of the lot.
struct LotValue {
  int64_t minor = 0;
  std::string currency;
  Grams mass_g = 0;
  friend bool operator==(const LotValue&, const LotValue&) = default;
};

// Why a lot's value shares are unavailable (callers then fall back to mass shares and say so).
enum class ValueGap : int {
  kNone = 0,               // by_stage is meaningful
  kInputWithoutValue = 1,  // a mix upstream had a component without a value (untracked inputs
                           // never carry one; neither do extracted lots)
  kCurrencyMismatch = 2,   // a mix upstream combined values in different currencies
};
std::string_view ValueGapName(ValueGap gap);

struct OriginValue {
  // The lot's own declared value, when the event that made it gave one.
  std::optional<LotValue> total;
  ValueGap gap = ValueGap::kNone;
  // Indexed by Stage, kept apart from the mass shares: the share of the lot's value whose
  // material went through the stage in each country (kUnknownCountry included). A stage's
  // shares sum to its value coverage (<= 1; mining's is 1): in a magnet the iron's value was
  // never separated. Every stage empty when gap != kNone.
  std::array<Distribution, kStageCount> by_stage;

  const Distribution& stage(Stage s) const { return by_stage[static_cast<int>(s)]; }
  friend bool operator==(const OriginValue&, const OriginValue&) = default;
};

struct OriginProfile {
  // Indexed by Stage. The shares of a stage sum to its coverage (<= 1): the rest of the mass
  // never went through that stage (the iron of a magnet was never separated).
  std::array<Distribution, kStageCount> stages;
  // The country of the last substantial transformation; "" when unknown.
  std::string customs_origin;
  Route route;
  // ISO 3166-2 subdivision -> share of the mass that passed through a facility there.
  Distribution regions;
  // Operator party id -> share of the mass that passed through a facility it operates.
  Distribution parties;
  OriginValue value;

  const Distribution& stage(Stage s) const { return stages[static_cast<int>(s)]; }
  friend bool operator==(const OriginProfile&, const OriginProfile&) = default;
};

// What the origin math needs to know about a facility (from FacilityRegistered).
struct FacilityInfo {
  std::string country;            // ISO 3166-1 alpha-2, required
  std::string subdivision;        // ISO 3166-2 or "" (not given)
  std::string operator_party_id;  // "" (not given) adds no party entry
  FacilityKind kind = FacilityKind::kUnspecified;
};

// When a transformation is substantial, which makes the facility's country the customs origin.
enum class SubstantialTransformationTest : int {
  kHsHeadingChange = 0,  // the output's HS heading differs from that of every tracked input
  kAlways = 1,
  kNever = 2,
};

// The test per process. Default(): kHsHeadingChange for the processes that perform a stage,
// kNever for REPACKAGING, BLENDING and SPLITTING (and UNSPECIFIED). Callers override per process.
struct CustomsPolicy {
  std::array<SubstantialTransformationTest, kProcessMax + 1> by_process{};

  static CustomsPolicy Default();
  SubstantialTransformationTest For(Process process) const;
  CustomsPolicy& Set(Process process, SubstantialTransformationTest test);
};

// A lot consumed by a transformation. `profile` must outlive the call and not be null.
struct TrackedInput {
  std::string lot_id;
  std::string hs_code;  // the consumed lot's HS code
  Grams consumed_g = 0;
  const OriginProfile* profile = nullptr;
};

// Extraction at a mine: mining {mine country: 1} and nothing at any other stage; customs origin
// the mine's country; route {(country, mined): 1}; the mine's region and operator at 1; value
// shares at mining {country: 1} (a single source needs no value to attribute its value).
// InvalidArgument for an unspecified material or a malformed facility.
absl::StatusOr<OriginProfile> OriginOfExtracted(Material material, const FacilityInfo& mine);

// A lot that enters the ledger already processed, with a declared origin or none
// (lot.origin_country; "" is unknown): every stage implied by its material gets
// {declared country or kUnknownCountry: 1}; customs origin = declared country ("" if unknown);
// route {(declared or kUnknownCountry, SourceRole(material)): 1, (facility country, stored): 1};
// the facility's region and operator at 1; value total from lot.value_minor (0: none) for
// lot.mass_g grams; value shares {declared or kUnknownCountry: 1} at every implied stage.
// lot.lot_id and lot.facility_id are not used. InvalidArgument for malformed fields.
absl::StatusOr<OriginProfile> OriginOfRegistered(const LotRegistered& lot,
                                                 const FacilityInfo& facility);

// A transformation at `facility`. Every output gets the same mixed profile: the average of the
// components' profiles weighted by consumed mass, where the components are the tracked inputs
// (their profiles) and the untracked inputs (each a source as in OriginOfRegistered with its
// declared country, without a facility: implied stages, customs origin and one route entry
// (declared or kUnknownCountry, SourceRole(material)), no region, no party). Then:
//   - the process's stage, if any, becomes {facility country: 1};
//   - route (facility country, processed) = 1 for a staged process, (facility country, stored)
//     = 1 for REPACKAGING, BLENDING, SPLITTING;
//   - the facility's region and operator = 1;
//   - customs origin per output: the facility country if the transformation is substantial
//     under policy.For(process), else the customs origin of the tracked input with the largest
//     consumed mass (ties: the smallest lot id), else (no tracked input) the declared country
//     of the largest untracked input (ties: the first listed);
//   - value total from the output's value_minor (0: none) for the output's mass; value shares
//     = the value-weighted average of the components' shares (see ValueGap for when they are
//     unavailable). A single component passes its shares through unchanged.
// Output masses are not used to weigh anything (outputs may weigh less than inputs: losses).
// InvalidArgument for: no inputs, no outputs, a null profile, a repeated lot id, a mass <= 0,
// an unspecified process or material, malformed HS codes, facility or declared country.
absl::StatusOr<std::vector<OriginProfile>> OriginOfTransformed(
    Process process, const FacilityInfo& facility, std::span<const TrackedInput> inputs,
    std::span<const UntrackedInput> untracked, std::span<const LotOutput> outputs,
    const CustomsPolicy& policy = CustomsPolicy::Default());

// A lot arriving at `destination`: stages, customs origin and value unchanged; route
// (destination country, transited) = 1 for a port, (destination country, stored) = 1 otherwise;
// the destination's region and operator = 1. InvalidArgument for a malformed facility.
absl::StatusOr<OriginProfile> OriginAfterArrival(OriginProfile profile,
                                                 const FacilityInfo& destination);

// Queries. Missing keys have share 0.
double ShareOf(const Distribution& distribution, std::string_view key);
// The share of the lot's mass that went through `stage` anywhere (the sum of its shares).
double StageCoverage(const OriginProfile& profile, Stage stage);
// The share of the lot's mass that went through `stage` in `country` (or kUnknownCountry).
double CountryShare(const OriginProfile& profile, Stage stage, std::string_view country);
// The same two for the lot's value (0 when the value shares are unavailable: see value.gap).
double ValueStageCoverage(const OriginProfile& profile, Stage stage);
double ValueCountryShare(const OriginProfile& profile, Stage stage, std::string_view country);
double RouteShare(const OriginProfile& profile, std::string_view country, RouteRole role);
// Countries (ISO codes, sorted, unique) where any share went through any stage. Excludes
// kUnknownCountry: ask CountryShare(profile, stage, kUnknownCountry) for that.
std::vector<std::string> CountriesAtAnyStage(const OriginProfile& profile);
// True when regions or parties hold kOtherKey: entries were merged away, so a zero-tolerance
// check cannot rule out a key it does not see and must consult the lineage instead.
bool HasMergedEntries(const OriginProfile& profile);

// True when `a` and `b` have the same customs origin, value total and value gap, and every
// share (a missing key counting as 0) differs by at most `tolerance`.
bool ProfilesNear(const OriginProfile& a, const OriginProfile& b, double tolerance);

// A compact one-line form for logs and test failures, e.g.
// "customs=CN mining{CN:1} refining{CN:1} route{CN/mined:1 CN/processed:1 TH/stored:1}
//  regions{CN-GX:1} parties{p-1:1} value{by_mining{CN:1} by_refining{CN:1}}". Empty stages
// (of mass and of value) are omitted.
std::string ToString(const OriginProfile& profile);

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_ORIGIN_H_
