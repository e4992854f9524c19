// The compliance rules engine: rules are data (versioned rule sets with effective and suspension
// dates), evaluated against origin profiles (origin.h) as of a date. docs/compliance-rules.md
// lists every built-in rule, its legal source, its data, how it is evaluated and what it
// simplifies; this header is the contract.
//
// Three levels of facts, one evaluation function each:
//   EvaluateLot       one lot and its origin profile, as of a time (DFARS, the 0.1% rule, UFLPA);
//   EvaluateShipment  one shipment and its items, judged at its dispatch time (transshipment,
//                     China's export licensing and its export ban);
//   EvaluatePortfolio the mass-weighted profile of the lots a party received (EU CRMA).
// Each returns one Verdict per rule of its level in the set, in rule order; rules of the other
// levels are skipped. Everything here is pure and deterministic: no clock, I/O or global
// mutable state. Shares are fractions in [0, 1] as in origin.h; masses are integer grams.
#ifndef LODESTONE_SERVICES_DOMAIN_COMPLIANCE_H_
#define LODESTONE_SERVICES_DOMAIN_COMPLIANCE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/domain/event.h"
#include "services/domain/origin.h"

namespace lodestone::domain {

// ---- Rules (data) ----

// What a rule checks; each kind reads the Rule parameters listed here and ignores the others.
// Persisted and printed by name; never renumber.
enum class RuleKind : int {
  kUnspecified = 0,
  // Lot. Fails when any share of the lot went through one of `stages` in one of
  // `covered_countries`. Applies to `materials`. (DFARS 252.225-7052.)
  kCoveredCountryStages = 1,
  // Lot. Fails when the content of `materials` originating in `covered_countries` is >=
  // `threshold` of the item's value: by the caller's declared value when given, else by the
  // profile's value shares at the stage where the content takes its origin, else by mass.
  // Applies to `materials` and to any profile with separation coverage. (China's October 2025
  // 0.1% rare-earth rule.)
  kOriginContentThreshold = 2,
  // Lot. Fails on any share through one of `regions`, or through a party in `listed_parties` or
  // an affiliate of one. (UFLPA.)
  kRegionOrListedParty = 3,
  // Portfolio. Fails when, at one of `stages`, a single country outside `exempt_countries`
  // supplies more than `threshold` of the mass that went through that stage; `reported_stages`
  // are reported in the evidence but never fail. Applies to `materials`. (EU CRMA.)
  kStageConcentration = 4,
  // Shipment. Fails when the declared origin differs from the items' traced customs origin, or
  // names a country where the goods were only stored or transited. Not applicable to a move
  // within one country (no border, no customs declaration). No parameters.
  kTransshipment = 5,
  // Shipment. Items of `materials` leaving one of `covered_countries` (for a country not in it)
  // need a valid licence of that country that covers them, with quantity left. (China.)
  kExportLicence = 6,
  // Shipment. Items of `materials` bound for one of `destination_countries` fail, licence or
  // not, when they leave one of `covered_countries`, or (with `reexport`) when their customs
  // origin is one of `covered_countries`. Not applicable to a move that starts in one of
  // `destination_countries` (a domestic move exports nothing). (China's December 2024 Ga/Ge/Sb
  // ban on the US.)
  kExportBan = 7,
};
inline constexpr int kRuleKindMax = 7;
// "covered_country_stages", "origin_content_threshold", ..., "export_ban".
std::string_view RuleKindName(RuleKind kind);

// The facts a kind of rule is evaluated on; std::nullopt for kUnspecified (never evaluated).
enum class RuleLevel : int { kLot = 0, kShipment = 1, kPortfolio = 2 };
std::optional<RuleLevel> LevelOf(RuleKind kind);

// A window [from, until) during which a rule is not applied.
struct Suspension {
  absl::Time from = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  friend bool operator==(const Suspension&, const Suspension&) = default;
};

struct Rule {
  std::string id;  // unique within its rule set; an id as rules.h's IsWellFormedId
  RuleKind kind = RuleKind::kUnspecified;
  std::string source;  // the legal source, one line
  // In force at t when effective_from <= t < effective_until and t is in no suspension.
  absl::Time effective_from = absl::InfinitePast();
  absl::Time effective_until = absl::InfiniteFuture();
  std::vector<Suspension> suspensions;

  // Parameters (see RuleKind for which kind reads which). Empty `materials`: every material.
  std::vector<Material> materials;
  std::vector<std::string> covered_countries;      // ISO 3166-1
  std::vector<std::string> exempt_countries;       // ISO 3166-1
  std::vector<std::string> destination_countries;  // ISO 3166-1
  std::vector<std::string> regions;                // ISO 3166-2
  std::vector<std::string> listed_parties;         // party ids
  std::vector<Stage> stages;                       // the stages that can fail
  std::vector<Stage> reported_stages;              // reported only
  double threshold = 0;                            // a share in (0, 1]
  bool reexport = false;
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct RuleSet {
  std::string name;
  int version = 0;  // >= 1; bumped whenever a rule's data changes
  std::vector<Rule> rules;
  friend bool operator==(const RuleSet&, const RuleSet&) = default;
};

// The built-in rule sets, in this order: "dfars", "china-re-0.1pct", "eu-crma", "uflpa",
// "transshipment", "china-export-licensing". Built once, immutable, valid.
const std::vector<RuleSet>& BuiltinRuleSets();
// The built-in rule set called `name`, or nullptr.
const RuleSet* FindRuleSet(std::string_view name);

// The EU-27 member states (ISO 3166-1: Greece is "GR"), sorted: the CRMA's non-third countries.
std::span<const std::string_view> EuMemberStates();

// InvalidArgument unless: name non-empty, version >= 1; every rule has a well-formed, unique id,
// a specified kind, effective_from < effective_until, suspensions with from < until, assigned
// country codes, ISO 3166-2 regions, well-formed party ids, specified materials, and a
// threshold in (0, 1] for the kinds that read one (kOriginContentThreshold,
// kStageConcentration).
absl::Status ValidateRuleSet(const RuleSet& set);

// A copy of `set` with `party_ids` appended to the listed parties of every
// kRegionOrListedParty rule (duplicates are harmless).
RuleSet WithListedParties(RuleSet set, std::span<const std::string> party_ids);

// True when `rule` is in force at `t` (see Rule).
bool InForce(const Rule& rule, absl::Time t);

// ---- Verdicts ----

enum class Outcome : int {
  kPass = 0,
  kFail = 1,
  kNotInForce = 2,        // applicable, but not in force (not yet, no longer, or suspended)
  kNotApplicable = 3,     // the rule does not concern these facts (material, route, ...)
  kInsufficientData = 4,  // untraced (UNKNOWN) or merged shares could hide a failure
};
// "pass", "fail", "not_in_force", "not_applicable", "insufficient_data".
std::string_view OutcomeName(Outcome outcome);

// Which shares a threshold was computed on: the profile's mass shares, the profile's value
// shares (from the values recorded in the ledger), or a value the caller declared.
enum class ShareBasis : int { kMass = 0, kValue = 1, kDeclaredValue = 2 };
std::string_view ShareBasisName(ShareBasis basis);  // "mass", "value", "declared_value"

struct Evidence {
  std::optional<Stage> stage;  // the stage, when the share is a stage share
  std::string key;             // a country, kUnknownCountry, region, party, lot or licence id
  double share = 0;            // the share the note explains (its denominator is in the note)
  std::string note;
  friend bool operator==(const Evidence&, const Evidence&) = default;
};

struct Verdict {
  std::string rule_set;
  int rule_set_version = 0;
  std::string rule_id;
  Outcome outcome = Outcome::kNotApplicable;
  bool in_force = false;  // the rule's window at the evaluation time
  // The outcome as if the rule were in force (never kNotInForce), and whether that is kFail:
  // lets callers say "not in force while suspended; would fail".
  Outcome outcome_if_in_force = Outcome::kNotApplicable;
  bool would_fail = false;
  ShareBasis basis = ShareBasis::kMass;
  std::string summary;  // one sentence
  std::vector<Evidence> evidence;
};

// The worst outcome among `verdicts`: kFail, then kInsufficientData, kPass, kNotInForce,
// kNotApplicable (also for none).
Outcome Combine(std::span<const Verdict> verdicts);

// One line for logs, CLIs and test failures: "dfars/dfars-all-stages fail: <summary>".
std::string ToString(const Verdict& verdict);

// ---- Facts ----

// Resolves affiliate links (PartyRegistered.parent_party_id).
class PartyDirectory {
 public:
  virtual ~PartyDirectory() = default;
  // The parent of `party_id`, or std::nullopt when it has none or is unknown.
  virtual std::optional<std::string> ParentOf(std::string_view party_id) const = 0;
};

// A PartyDirectory kept in a hash map, for tests and callers that load parties themselves.
class InMemoryPartyDirectory : public PartyDirectory {
 public:
  // Sets (or replaces) the parent of `party_id`; an empty parent removes the link.
  void SetParent(std::string party_id, std::string parent_party_id);
  std::optional<std::string> ParentOf(std::string_view party_id) const override;

 private:
  absl::flat_hash_map<std::string, std::string> parents_;
};

// The longest parent chain walked; a longer (or cyclic) chain cannot rule out an affiliation.
inline constexpr int kMaxAffiliateHops = 64;

// One line of a declared bill of materials: the value of the lot's content of `material` that
// takes its origin in `country` (for rare earths the country of separation, for unseparated
// material the mine's), in the declaration's currency.
struct DeclaredContent {
  std::string country;  // ISO 3166-1, or kUnknownCountry: origin not known to the declarant
  Material material = Material::kUnspecified;
  int64_t minor = 0;
  friend bool operator==(const DeclaredContent&, const DeclaredContent&) = default;
};

// A value the caller declares for a lot (from an invoice or bill of materials), for value-based
// thresholds: the lot's value and the value of its content by origin country and material, in
// one currency. Content not listed is taken to be of no covered origin: the declarant vouches
// for the whole bill.
struct DeclaredValue {
  int64_t item_minor = 0;
  std::string currency;  // ISO 4217 shape (codes.h IsCurrencyCode)
  std::vector<DeclaredContent> content;
  friend bool operator==(const DeclaredValue&, const DeclaredValue&) = default;
};
inline constexpr size_t kMaxDeclaredContent = 256;

// InvalidArgument, naming the field, unless: item_minor > 0; the currency is 3 uppercase
// letters; at most kMaxDeclaredContent lines, each with an assigned ISO 3166-1 country or
// kUnknownCountry, a specified material, minor >= 0, and no (country, material) twice; and the
// content adds up to at most item_minor.
absl::Status ValidateDeclaredValue(const DeclaredValue& value);

// The facts hold references and pointers: what they point to must outlive the evaluation.
struct LotFacts {
  std::string lot_id;
  Material material = Material::kUnspecified;
  std::string hs_code;  // for the caller's records; no built-in lot rule reads it
  const OriginProfile& profile;
  // none: the profile's value shares, or its mass shares when those are unavailable.
  std::optional<DeclaredValue> declared_value;
};

// A licence as far as the rules need it (ExportLicenceGranted plus its use so far).
struct LicenceFacts {
  std::string licence_id;
  std::string issuing_country;
  std::string exporter_party_id;
  std::vector<std::string> hs_codes;  // matched by HS heading (first 4 digits)
  std::vector<Material> materials;
  Grams quantity_g = 0;
  Grams used_before_g = 0;       // shipped under it before this shipment
  std::string end_user_country;  // "" not restricted
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();  // valid in [valid_from, valid_until)
};

struct ShipmentItemFacts {
  std::string lot_id;
  Material material = Material::kUnspecified;
  std::string hs_code;  // "": the shipment's declared HS code
  Grams mass_g = 0;
  const OriginProfile* profile = nullptr;  // null: origin not traced
};

struct ShipmentFacts {
  std::string shipment_id;
  std::string from_country;
  std::string to_country;
  std::string declared_origin;  // "": none declared
  std::string declared_hs_code;
  std::string exporter_party_id;  // "": not checked against the licence
  std::optional<LicenceFacts> licence;
  absl::Time dispatch_time = absl::InfinitePast();  // InfinitePast: unknown
  // A dispatch recorded late (the ledger committed it more than the late lag after its event
  // time, docs/security.md): its commit time. InfinitePast: not late.
  absl::Time late_recorded_time = absl::InfinitePast();
  std::vector<ShipmentItemFacts> items;
};

struct PortfolioFacts {
  std::string portfolio_id;  // e.g. the receiving party and period
  Material material = Material::kUnspecified;
  const OriginProfile& profile;  // AggregateProfiles of the received lots
  Grams total_mass_g = 0;
};

// The mass-weighted average of `lots` (profile, grams): stages, route, regions and parties are
// averaged by mass; the customs origin is kept when all lots share it ("" otherwise); value
// shares are not aggregated (gap kInputWithoutValue, no total). Regions and parties are not
// capped. InvalidArgument for no lots, a null profile, a mass <= 0 or a total above
// kMaxMassG (rules.h).
absl::StatusOr<OriginProfile> AggregateProfiles(
    std::span<const std::pair<const OriginProfile*, Grams>> lots);

// ---- Evaluation ----

// The lot-level rules of `set` (DFARS, the 0.1% rule, UFLPA) as of `as_of`. `parties` resolves
// affiliates of listed parties.
std::vector<Verdict> EvaluateLot(const RuleSet& set, const LotFacts& lot,
                                 const PartyDirectory& parties, absl::Time as_of);

// The shipment-level rules of `set`, judged at shipment.dispatch_time: an export is governed by
// the law in force when the goods left, whenever the question is asked. An unknown dispatch
// time gives kInsufficientData for rules that are not always in force. A dispatch recorded late
// (late_recorded_time set) is judged at both its dispatch time and its recorded time, and each
// verdict is the worse of the two (a backdated dispatch cannot escape a rule in force when it
// was recorded), with both times in its evidence.
std::vector<Verdict> EvaluateShipment(const RuleSet& set, const ShipmentFacts& shipment);

// The portfolio-level rules of `set` (CRMA) as of `as_of`.
std::vector<Verdict> EvaluatePortfolio(const RuleSet& set, const PortfolioFacts& portfolio,
                                       absl::Time as_of);

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_COMPLIANCE_H_
