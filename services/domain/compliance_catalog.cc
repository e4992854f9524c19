// The built-in rule sets: the data of docs/compliance-rules.md. Dates are 00:00 UTC of the day
// the measure took effect. Change a rule's data only together with the document, and bump the
// rule set's version.
#include <algorithm>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/domain/compliance.h"

namespace lodestone::domain {
namespace {

constexpr std::string_view kEuMemberStates[] = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"};
static_assert(std::size(kEuMemberStates) == 27);

absl::Time Day(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

std::vector<std::string> EuList() {
  return std::vector<std::string>(std::begin(kEuMemberStates), std::end(kEuMemberStates));
}

// ---- dfars ----

const std::vector<Material>& DfarsMaterials() {
  static const auto* const kMaterials = new std::vector<Material>{
      Material::kNdfebAlloy, Material::kNdfebMagnet, Material::kTungsten, Material::kTantalum};
  return *kMaterials;
}

RuleSet Dfars() {
  const std::vector<std::string> covered = {"CN", "IR", "KP", "RU"};
  Rule melted;
  melted.id = "dfars-melted-produced";
  melted.kind = RuleKind::kCoveredCountryStages;
  melted.source =
      "DFARS 252.225-7052 (10 U.S.C. 4872): covered magnets, tantalum and tungsten may not be "
      "melted or produced in China, Russia, North Korea or Iran";
  melted.effective_until = Day(2027, 1, 1);
  melted.materials = DfarsMaterials();
  melted.covered_countries = covered;
  melted.stages = {Stage::kMetal, Stage::kAlloy, Stage::kComponent};

  Rule all = melted;
  all.id = "dfars-all-stages";
  all.source =
      "DFARS 252.225-7052 (10 U.S.C. 4872) from 1 Jan 2027: covered magnets, tantalum and "
      "tungsten may not be mined, refined, separated, melted or produced in China, Russia, North "
      "Korea or Iran";
  all.effective_from = Day(2027, 1, 1);
  all.effective_until = absl::InfiniteFuture();
  all.stages = {Stage::kMining, Stage::kSeparation, Stage::kRefining,
                Stage::kMetal,  Stage::kAlloy,      Stage::kComponent};
  return RuleSet{"dfars", 1, {std::move(melted), std::move(all)}};
}

// ---- china-re-0.1pct ----

const std::vector<Material>& RareEarthMaterials() {
  static const auto* const kMaterials = new std::vector<Material>{
      Material::kRareEarthOre, Material::kRareEarthCompound, Material::kRareEarthMetal,
      Material::kNdfebAlloy, Material::kNdfebMagnet};
  return *kMaterials;
}

RuleSet ChinaRareEarthContent() {
  Rule rule;
  rule.id = "cn-re-content-0.1pct";
  rule.kind = RuleKind::kOriginContentThreshold;
  rule.source =
      "MOFCOM Announcement No. 61 of 2025 (October 2025): foreign-made goods holding 0.1% or "
      "more by value of Chinese-origin rare earths need a Chinese export licence; suspended "
      "until 10 Nov 2026";
  rule.effective_from = Day(2025, 12, 1);
  rule.suspensions = {Suspension{Day(2025, 11, 10), Day(2026, 11, 10)}};
  rule.materials = RareEarthMaterials();
  rule.covered_countries = {"CN"};
  rule.threshold = 0.001;
  return RuleSet{"china-re-0.1pct", 1, {std::move(rule)}};
}

// ---- eu-crma ----

RuleSet EuCrma() {
  Rule rule;
  rule.id = "crma-65pct-per-stage";
  rule.kind = RuleKind::kStageConcentration;
  rule.source =
      "Regulation (EU) 2024/1252 (Critical Raw Materials Act), Art. 5(1)(d): no more than 65% "
      "of a strategic raw material from a single third country at any relevant stage of "
      "processing";
  rule.effective_from = Day(2024, 5, 23);
  // The strategic raw materials of Annex I, Section 1 that the ledger's materials stand for.
  rule.materials = {Material::kRareEarthOre,   Material::kRareEarthCompound,
                    Material::kRareEarthMetal, Material::kNdfebAlloy,
                    Material::kNdfebMagnet,    Material::kGallium,
                    Material::kGermanium,      Material::kGermaniumOxide,
                    Material::kTungsten,       Material::kGraphite,
                    Material::kBoron};
  rule.exempt_countries = EuList();
  rule.stages = {Stage::kSeparation, Stage::kRefining,  Stage::kMetal,
                 Stage::kAlloy,      Stage::kComponent, Stage::kRecycling};
  rule.reported_stages = {Stage::kMining};
  rule.threshold = 0.65;
  return RuleSet{"eu-crma", 1, {std::move(rule)}};
}

// ---- uflpa ----

RuleSet Uflpa() {
  Rule rule;
  rule.id = "uflpa-xinjiang-and-listed";
  rule.kind = RuleKind::kRegionOrListedParty;
  rule.source =
      "Uyghur Forced Labor Prevention Act (Public Law 117-78), section 3: rebuttable "
      "presumption against goods made wholly or in part in Xinjiang or by a listed entity";
  rule.effective_from = Day(2022, 6, 21);
  rule.regions = {"CN-XJ"};
  // ILLUSTRATIVE party ids for the demo and the tests, not the UFLPA Entity List. Operators add
  // the ids of their own party records (WithListedParties).
  rule.listed_parties = {"xj-nonferrous", "xj-polysilicon", "xj-smelting"};
  return RuleSet{"uflpa", 1, {std::move(rule)}};
}

// ---- transshipment ----

RuleSet Transshipment() {
  Rule rule;
  rule.id = "transshipment-declared-origin";
  rule.kind = RuleKind::kTransshipment;
  rule.source =
      "Customs origin is the last substantial transformation (WCO / 19 CFR 102); "
      "re-bagging or relabelling in a third country does not confer origin";
  return RuleSet{"transshipment", 1, {std::move(rule)}};
}

// ---- china-export-licensing ----

Rule Licence(std::string id, std::string source, absl::Time from, std::vector<Material> materials) {
  Rule rule;
  rule.id = std::move(id);
  rule.kind = RuleKind::kExportLicence;
  rule.source = std::move(source);
  rule.effective_from = from;
  rule.materials = std::move(materials);
  rule.covered_countries = {"CN"};
  return rule;
}

RuleSet ChinaExportLicensing() {
  std::vector<Rule> rules;
  rules.push_back(Licence("cn-licence-gallium-germanium",
                          "MOFCOM/GAC Announcement No. 23 of 2023: export licence for gallium and "
                          "germanium items",
                          Day(2023, 8, 1),
                          {Material::kGallium, Material::kGermanium, Material::kGermaniumOxide}));
  rules.push_back(Licence("cn-licence-graphite",
                          "MOFCOM/GAC Announcement No. 39 of 2023: export licence for graphite "
                          "items",
                          Day(2023, 12, 1), {Material::kGraphite}));
  rules.push_back(
      Licence("cn-licence-antimony",
              "MOFCOM/GAC Announcement No. 33 of 2024: export licence for antimony "
              "ores, metal and oxides (customs code 2825800010)",
              Day(2024, 9, 15),
              {Material::kAntimonyOre, Material::kAntimonyOxide, Material::kAntimonyMetal}));
  rules.push_back(Licence("cn-licence-rare-earths",
                          "MOFCOM/GAC Announcement No. 18 of 2025: export licence for medium and "
                          "heavy rare earths (Sm, Gd, Tb, Dy, Lu, Sc, Y), incl. magnets",
                          Day(2025, 4, 4),
                          {Material::kRareEarthCompound, Material::kRareEarthMetal,
                           Material::kNdfebAlloy, Material::kNdfebMagnet}));
  Rule ban;
  ban.id = "cn-ban-us-ga-ge-sb";
  ban.kind = RuleKind::kExportBan;
  ban.source =
      "MOFCOM Announcement No. 46 of 2024: gallium, germanium and antimony exports to the "
      "United States are in principle not permitted, re-export through third countries "
      "included; suspended until 27 Nov 2026";
  ban.effective_from = Day(2024, 12, 3);
  ban.suspensions = {Suspension{Day(2025, 11, 9), Day(2026, 11, 27)}};
  ban.materials = {Material::kGallium,     Material::kGermanium,     Material::kGermaniumOxide,
                   Material::kAntimonyOre, Material::kAntimonyOxide, Material::kAntimonyMetal};
  ban.covered_countries = {"CN"};
  ban.destination_countries = {"US"};
  ban.reexport = true;
  rules.push_back(std::move(ban));
  return RuleSet{"china-export-licensing", 1, std::move(rules)};
}

}  // namespace

std::span<const std::string_view> EuMemberStates() { return kEuMemberStates; }

const std::vector<RuleSet>& BuiltinRuleSets() {
  static const auto* const kSets = new std::vector<RuleSet>{
      Dfars(), ChinaRareEarthContent(), EuCrma(), Uflpa(), Transshipment(), ChinaExportLicensing()};
  return *kSets;
}

const RuleSet* FindRuleSet(std::string_view name) {
  const std::vector<RuleSet>& sets = BuiltinRuleSets();
  auto it = std::find_if(sets.begin(), sets.end(),
                         [name](const RuleSet& set) { return set.name == name; });
  return it == sets.end() ? nullptr : &*it;
}

}  // namespace lodestone::domain
