// Tests of the compliance rules engine. Every profile is built with origin.h's real functions
// (OriginOfExtracted, OriginOfRegistered, OriginOfTransformed, OriginAfterArrival), never by
// writing shares by hand. Each test is named after the failure it catches.
#include "services/domain/compliance.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/origin.h"
#include "services/domain/rules.h"
#include "tests/services/domain/fixtures.h"

namespace lodestone::domain {
namespace {

using namespace testing_fixtures;  // NOLINT: Must, Facility, Output and the golden-case cast

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr double kEps = 1e-12;

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

const FacilityInfo kCnRefinery = Facility("CN", "CN-GX", "gx-refining", FacilityKind::kRefinery);
const FacilityInfo kEeSeparation =
    Facility("EE", "EE-44", "sillamae-separation", FacilityKind::kSeparationPlant);
const FacilityInfo kCnMagnet =
    Facility("CN", "CN-ZJ", "ningbo-magnets", FacilityKind::kMagnetPlant);
const FacilityInfo kXjSmelter =
    Facility("CN", "CN-XJ", "xj-nonferrous-smelter", FacilityKind::kSmelter);

TrackedInput Input(std::string lot_id, std::string hs, Grams g, const OriginProfile& p) {
  return TrackedInput{std::move(lot_id), std::move(hs), g, &p};
}

OriginProfile TransformOne(Process process, const FacilityInfo& facility,
                           std::vector<TrackedInput> inputs, std::vector<UntrackedInput> untracked,
                           LotOutput output,
                           const CustomsPolicy& policy = CustomsPolicy::Default()) {
  std::vector<LotOutput> outputs = {std::move(output)};
  absl::StatusOr<std::vector<OriginProfile>> result =
      OriginOfTransformed(process, facility, inputs, untracked, outputs, policy);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok() || result->size() != 1) return OriginProfile{};
  return (*result)[0];
}

LotRegistered Registered(Material material, std::string hs, std::string origin, Grams g,
                         int64_t value_minor = 0, std::string currency = "") {
  LotRegistered lot;
  lot.lot_id = "reg";
  lot.material = material;
  lot.hs_code = std::move(hs);
  lot.mass_g = g;
  lot.facility_id = "f";
  lot.origin_country = std::move(origin);
  lot.value_minor = value_minor;
  lot.currency = std::move(currency);
  return lot;
}

// ---- The golden chains of DESIGN.md section 1 ----

// US ore -> separation at `separation_plant` -> VN metal -> JP alloy (with untracked iron from
// `iron_country`, "" untraced, and Turkish boron) -> JP magnet (or CN, with `magnet_plant`).
OriginProfile NdfebMagnet(const FacilityInfo& separation_plant, std::string iron_country,
                          const FacilityInfo& magnet_plant = kJpMagnet) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kRareEarthOre, kUsMine));
  const OriginProfile ore_there = Must(OriginAfterArrival(ore, separation_plant));
  const OriginProfile compound = TransformOne(
      Process::kSeparation, separation_plant, {Input("re-ore", "253090", 1'000'000, ore_there)}, {},
      Output("ndpr-oxide", Material::kRareEarthCompound, "284690", 400'000));
  const OriginProfile compound_vn = Must(OriginAfterArrival(compound, kVnMetal));
  const OriginProfile metal = TransformOne(
      Process::kMetalMaking, kVnMetal, {Input("ndpr-oxide", "284690", 400'000, compound_vn)}, {},
      Output("ndpr-metal", Material::kRareEarthMetal, "280530", 300'000));
  const OriginProfile metal_there = Must(OriginAfterArrival(metal, magnet_plant));
  const OriginProfile alloy = TransformOne(
      Process::kAlloying, magnet_plant, {Input("ndpr-metal", "280530", 300'000, metal_there)},
      {UntrackedInput{Material::kIron, 660'000, std::move(iron_country)},
       UntrackedInput{Material::kBoron, 10'000, "TR"}},
      Output("alloy", Material::kNdfebAlloy, "720299", 960'000));
  return TransformOne(Process::kMagnetMaking, magnet_plant,
                      {Input("alloy", "720299", 960'000, alloy)}, {},
                      Output("magnets", Material::kNdfebMagnet, "850511", 900'000));
}

// Chinese antimony ore smelted in CN, shipped through Shekou to a Thai warehouse and re-bagged.
OriginProfile ThaiBaggedChineseOxide(const CustomsPolicy& policy = CustomsPolicy::Default()) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile oxide = TransformOne(
      Process::kSmelting, kCnSmelter,
      {Input("ore-1", "261710", 10'000'000, Must(OriginAfterArrival(ore, kCnSmelter)))}, {},
      Output("ox-1", Material::kAntimonyOxide, "2825800010", 8'000'000));
  const OriginProfile in_th =
      Must(OriginAfterArrival(Must(OriginAfterArrival(oxide, kCnPort)), kThWarehouse));
  return TransformOne(Process::kRepackaging, kThWarehouse,
                      {Input("ox-1", "2825800010", 8'000'000, in_th)}, {},
                      Output("ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000), policy);
}

// Bolivian ore smelted to oxide in Mexico.
OriginProfile MexicanOxide() {
  const OriginProfile ore = Must(
      OriginAfterArrival(Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine)), kMxSmelter));
  return TransformOne(Process::kSmelting, kMxSmelter, {Input("bo-1", "261710", 6'000'000, ore)}, {},
                      Output("mx-ox-1", Material::kAntimonyOxide, "282580", 4'500'000));
}

// Rare-earth compound separated at `plant` from US ore.
OriginProfile SeparatedCompound(const FacilityInfo& plant) {
  const OriginProfile ore =
      Must(OriginAfterArrival(Must(OriginOfExtracted(Material::kRareEarthOre, kUsMine)), plant));
  return TransformOne(Process::kSeparation, plant, {Input("ore", "253090", 1000, ore)}, {},
                      Output("oxide", Material::kRareEarthCompound, "284690", 400));
}

// Gallium registered at a Chinese refinery, declared Chinese.
OriginProfile ChineseGallium() {
  return Must(
      OriginOfRegistered(Registered(Material::kGallium, "811292", "CN", 500'000), kCnRefinery));
}

const RuleSet& Set(std::string_view name) {
  const RuleSet* set = FindRuleSet(name);
  EXPECT_NE(set, nullptr) << name;
  static const RuleSet kEmpty;
  return set == nullptr ? kEmpty : *set;
}

// The verdict of `rule_id`, or a kNotApplicable verdict named "missing" when there is none.
Verdict Of(const std::vector<Verdict>& verdicts, std::string_view rule_id) {
  for (const Verdict& v : verdicts) {
    if (v.rule_id == rule_id) return v;
  }
  ADD_FAILURE() << "no verdict for " << rule_id;
  Verdict missing;
  missing.rule_id = "missing";
  return missing;
}

const InMemoryPartyDirectory kNoParents;

Verdict Lot(std::string_view set, std::string_view rule_id, const OriginProfile& profile,
            Material material, absl::Time as_of, const PartyDirectory& parties = kNoParents,
            std::optional<DeclaredValue> declared_value = std::nullopt) {
  const LotFacts lot{"lot-1", material, "", profile, std::move(declared_value)};
  return Of(EvaluateLot(Set(set), lot, parties, as_of), rule_id);
}

// ---- Catalogue ----

TEST(ComplianceCatalog, BuiltinRuleSetsAreValidAndNamedAsDocumented) {
  std::vector<std::string> names;
  for (const RuleSet& set : BuiltinRuleSets()) {
    EXPECT_TRUE(ValidateRuleSet(set).ok()) << ValidateRuleSet(set);
    EXPECT_EQ(set.version, 1) << set.name;
    names.push_back(set.name);
  }
  EXPECT_THAT(names, ElementsAre("dfars", "china-re-0.1pct", "eu-crma", "uflpa", "transshipment",
                                 "china-export-licensing"));
  EXPECT_EQ(FindRuleSet("no-such-set"), nullptr);
  EXPECT_EQ(FindRuleSet("uflpa"), &BuiltinRuleSets()[3]);
}

TEST(ComplianceCatalog, RuleIdsAreTheDocumentedOnes) {
  auto ids = [](std::string_view name) {
    std::vector<std::string> out;
    for (const Rule& r : Set(name).rules) out.push_back(r.id);
    return out;
  };
  EXPECT_THAT(ids("dfars"), ElementsAre("dfars-melted-produced", "dfars-all-stages"));
  EXPECT_THAT(ids("china-re-0.1pct"), ElementsAre("cn-re-content-0.1pct"));
  EXPECT_THAT(ids("eu-crma"), ElementsAre("crma-65pct-per-stage"));
  EXPECT_THAT(ids("uflpa"), ElementsAre("uflpa-xinjiang-and-listed"));
  EXPECT_THAT(ids("transshipment"), ElementsAre("transshipment-declared-origin"));
  EXPECT_THAT(ids("china-export-licensing"),
              ElementsAre("cn-licence-gallium-germanium", "cn-licence-graphite",
                          "cn-licence-antimony", "cn-licence-rare-earths", "cn-ban-us-ga-ge-sb"));
}

TEST(ComplianceCatalog, EuListHasTwentySevenMemberStatesWithGreeceAsGR) {
  EXPECT_EQ(EuMemberStates().size(), 27u);
  EXPECT_THAT(EuMemberStates(), Contains("GR"));
  EXPECT_THAT(EuMemberStates(), Not(Contains("EL")));
  EXPECT_THAT(EuMemberStates(), Not(Contains("GB")));
  EXPECT_TRUE(std::is_sorted(EuMemberStates().begin(), EuMemberStates().end()));
}

TEST(ComplianceCatalog, MalformedRuleDataIsRejectedNotEvaluated) {
  const RuleSet good = Set("dfars");
  EXPECT_TRUE(ValidateRuleSet(good).ok());

  RuleSet repeated = good;
  repeated.rules[1].id = repeated.rules[0].id;
  EXPECT_THAT(ValidateRuleSet(repeated).message(), HasSubstr("repeated"));

  RuleSet backwards = good;
  backwards.rules[0].effective_from = Day(2030, 1, 1);
  EXPECT_EQ(ValidateRuleSet(backwards).code(), absl::StatusCode::kInvalidArgument);

  RuleSet bad_country = good;
  bad_country.rules[0].covered_countries.push_back("EU");
  EXPECT_THAT(ValidateRuleSet(bad_country).message(), HasSubstr("'EU'"));

  RuleSet bad_suspension = good;
  bad_suspension.rules[0].suspensions.push_back(Suspension{Day(2026, 2, 1), Day(2026, 1, 1)});
  EXPECT_EQ(ValidateRuleSet(bad_suspension).code(), absl::StatusCode::kInvalidArgument);

  RuleSet no_threshold = Set("eu-crma");
  no_threshold.rules[0].threshold = 0;
  EXPECT_THAT(ValidateRuleSet(no_threshold).message(), HasSubstr("threshold"));

  RuleSet no_kind = good;
  no_kind.rules[0].kind = RuleKind::kUnspecified;
  EXPECT_FALSE(ValidateRuleSet(no_kind).ok());

  RuleSet bad_region = Set("uflpa");
  bad_region.rules[0].regions.push_back("Xinjiang");
  EXPECT_FALSE(ValidateRuleSet(bad_region).ok());

  RuleSet unversioned = good;
  unversioned.version = 0;
  EXPECT_FALSE(ValidateRuleSet(unversioned).ok());
}

TEST(ComplianceWindow, InForceIsHalfOpenAndSuspensionsAreHalfOpen) {
  const Rule& rule = Set("china-re-0.1pct").rules[0];
  EXPECT_FALSE(InForce(rule, Day(2025, 11, 9)));                          // before everything
  EXPECT_FALSE(InForce(rule, Day(2025, 12, 1)));                          // effective, suspended
  EXPECT_FALSE(InForce(rule, Day(2026, 11, 10) - absl::Nanoseconds(1)));  // last suspended instant
  EXPECT_TRUE(InForce(rule, Day(2026, 11, 10)));                          // suspension over
  const Rule& melted = Set("dfars").rules[0];
  EXPECT_TRUE(InForce(melted, Day(2027, 1, 1) - absl::Nanoseconds(1)));
  EXPECT_FALSE(InForce(melted, Day(2027, 1, 1)));
}

// ---- dfars ----

TEST(Dfars, ChineseSeparationFailsFrom2027ButMeltingRulePassesIn2026) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  const LotFacts lot{"magnets", Material::kNdfebMagnet, "850511", magnet, std::nullopt};

  const std::vector<Verdict> mid_2026 = EvaluateLot(Set("dfars"), lot, kNoParents, Day(2026, 6, 1));
  ASSERT_EQ(mid_2026.size(), 2u);
  const Verdict melted = Of(mid_2026, "dfars-melted-produced");
  EXPECT_EQ(melted.outcome, Outcome::kPass) << ToString(melted);
  EXPECT_TRUE(melted.in_force);
  const Verdict future = Of(mid_2026, "dfars-all-stages");
  EXPECT_EQ(future.outcome, Outcome::kNotInForce);
  EXPECT_TRUE(future.would_fail);
  EXPECT_THAT(future.summary, HasSubstr("Not yet in force on 2026-06-01"));
  EXPECT_EQ(Combine(mid_2026), Outcome::kPass);

  const std::vector<Verdict> y2027 = EvaluateLot(Set("dfars"), lot, kNoParents, Day(2027, 1, 2));
  const Verdict all = Of(y2027, "dfars-all-stages");
  EXPECT_EQ(all.outcome, Outcome::kFail) << ToString(all);
  EXPECT_TRUE(all.in_force);
  const double re = 300'000.0 / 970'000;
  ASSERT_THAT(all.evidence, Contains(Field(&Evidence::key, "CN")));
  for (const Evidence& e : all.evidence) {
    if (e.key != "CN") continue;
    EXPECT_EQ(e.stage, Stage::kSeparation);
    EXPECT_NEAR(e.share, re, kEps);
  }
  EXPECT_THAT(all.summary, HasSubstr("separation in CN"));
  EXPECT_EQ(Of(y2027, "dfars-melted-produced").outcome, Outcome::kNotInForce);
  EXPECT_EQ(Combine(y2027), Outcome::kFail);
}

TEST(Dfars, UntracedIronDoesNotDowngradeAnAlreadyFailingLot) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  const Verdict v =
      Lot("dfars", "dfars-all-stages", magnet, Material::kNdfebMagnet, Day(2027, 1, 2));
  EXPECT_EQ(v.outcome, Outcome::kFail);
  // The untraced iron is still reported.
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, std::string(kUnknownCountry))));
}

TEST(Dfars, MalaysianSeparationWithTracedIronPassesBothRules) {
  const OriginProfile magnet = NdfebMagnet(kMySeparation, "SE");
  EXPECT_EQ(Lot("dfars", "dfars-melted-produced", magnet, Material::kNdfebMagnet, Day(2026, 6, 1))
                .outcome,
            Outcome::kPass);
  const Verdict v =
      Lot("dfars", "dfars-all-stages", magnet, Material::kNdfebMagnet, Day(2027, 1, 2));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
  EXPECT_THAT(v.evidence, IsEmpty());
}

TEST(Dfars, UntracedMiningCountryIsInsufficientDataNotAPass) {
  const OriginProfile magnet = NdfebMagnet(kMySeparation, "");
  const Verdict v =
      Lot("dfars", "dfars-all-stages", magnet, Material::kNdfebMagnet, Day(2027, 1, 2));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_EQ(v.evidence[0].stage, Stage::kMining);
  EXPECT_EQ(v.evidence[0].key, kUnknownCountry);
  EXPECT_NEAR(v.evidence[0].share, 660.0 / 970, kEps);
  // Mining does not count before 2027: the untraced iron does not matter then.
  EXPECT_EQ(Lot("dfars", "dfars-melted-produced", magnet, Material::kNdfebMagnet, Day(2026, 6, 1))
                .outcome,
            Outcome::kPass);
}

TEST(Dfars, MagnetMadeInChinaFailsTheMeltingRuleBefore2027) {
  const OriginProfile magnet = NdfebMagnet(kMySeparation, "SE", kCnMagnet);
  const Verdict v =
      Lot("dfars", "dfars-melted-produced", magnet, Material::kNdfebMagnet, Day(2026, 6, 1));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::stage, Stage::kComponent)));
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::stage, Stage::kAlloy)));
}

TEST(Dfars, AntimonyIsNotACoveredMaterial) {
  const OriginProfile oxide = ThaiBaggedChineseOxide();
  const std::vector<Verdict> verdicts =
      EvaluateLot(Set("dfars"), LotFacts{"ox", Material::kAntimonyOxide, "282580", oxide, {}},
                  kNoParents, Day(2027, 6, 1));
  for (const Verdict& v : verdicts) {
    EXPECT_EQ(v.outcome, Outcome::kNotApplicable) << ToString(v);
    EXPECT_FALSE(v.would_fail);
  }
  EXPECT_EQ(Combine(verdicts), Outcome::kNotApplicable);
}

TEST(Dfars, ScheduleSwitchesExactlyAtMidnightOnJanuaryFirst2027) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "SE");
  const absl::Time before = Day(2027, 1, 1) - absl::Nanoseconds(1);
  EXPECT_EQ(Lot("dfars", "dfars-all-stages", magnet, Material::kNdfebMagnet, before).outcome,
            Outcome::kNotInForce);
  EXPECT_EQ(Lot("dfars", "dfars-melted-produced", magnet, Material::kNdfebMagnet, before).outcome,
            Outcome::kPass);
  EXPECT_EQ(
      Lot("dfars", "dfars-all-stages", magnet, Material::kNdfebMagnet, Day(2027, 1, 1)).outcome,
      Outcome::kFail);
  const Verdict ended =
      Lot("dfars", "dfars-melted-produced", magnet, Material::kNdfebMagnet, Day(2027, 1, 1));
  EXPECT_EQ(ended.outcome, Outcome::kNotInForce);
  EXPECT_FALSE(ended.would_fail);
  EXPECT_EQ(ended.outcome_if_in_force, Outcome::kPass);
}

// ---- china-re-0.1pct ----

TEST(ChinaRareEarthContent, ChineseSeparationIsSuspendedButWouldFailThenFailsInDecember2026) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  const Verdict suspended = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet,
                                Material::kNdfebMagnet, Day(2026, 6, 1));
  EXPECT_EQ(suspended.outcome, Outcome::kNotInForce) << ToString(suspended);
  EXPECT_FALSE(suspended.in_force);
  EXPECT_TRUE(suspended.would_fail);
  EXPECT_EQ(suspended.outcome_if_in_force, Outcome::kFail);
  EXPECT_EQ(suspended.basis, ShareBasis::kMass);
  EXPECT_THAT(suspended.summary, HasSubstr("Suspended on 2026-06-01"));
  EXPECT_THAT(suspended.summary, HasSubstr("would fail"));
  EXPECT_THAT(suspended.summary, HasSubstr("mass basis"));

  const Verdict in_force = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet,
                               Material::kNdfebMagnet, Day(2026, 12, 1));
  EXPECT_EQ(in_force.outcome, Outcome::kFail) << ToString(in_force);
  EXPECT_TRUE(in_force.in_force);
  ASSERT_EQ(in_force.evidence.size(), 1u);
  EXPECT_EQ(in_force.evidence[0].stage, Stage::kSeparation);
  EXPECT_EQ(in_force.evidence[0].key, "CN");
  EXPECT_NEAR(in_force.evidence[0].share, 300'000.0 / 970'000, kEps);
}

TEST(ChinaRareEarthContent, MalaysianSeparationPassesOnBothDates) {
  const OriginProfile magnet = NdfebMagnet(kMySeparation, "");
  const Verdict suspended = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet,
                                Material::kNdfebMagnet, Day(2026, 6, 1));
  EXPECT_EQ(suspended.outcome, Outcome::kNotInForce);
  EXPECT_FALSE(suspended.would_fail);
  EXPECT_EQ(suspended.outcome_if_in_force, Outcome::kPass);
  const Verdict in_force = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet,
                               Material::kNdfebMagnet, Day(2026, 12, 1));
  EXPECT_EQ(in_force.outcome, Outcome::kPass) << ToString(in_force);
}

TEST(ChinaRareEarthContent, EffectiveAndSuspensionDatesAreExact) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  auto at = [&](absl::Time t) {
    return Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet, Material::kNdfebMagnet, t);
  };
  const Verdict before_both = at(Day(2025, 11, 9));
  EXPECT_EQ(before_both.outcome, Outcome::kNotInForce);
  EXPECT_THAT(before_both.summary, HasSubstr("Not yet in force"));
  const Verdict effective_day = at(Day(2025, 12, 1));
  EXPECT_EQ(effective_day.outcome, Outcome::kNotInForce);
  EXPECT_THAT(effective_day.summary, HasSubstr("Suspended"));
  EXPECT_EQ(at(Day(2026, 11, 10) - absl::Nanoseconds(1)).outcome, Outcome::kNotInForce);
  EXPECT_EQ(at(Day(2026, 11, 10)).outcome, Outcome::kFail);
}

TEST(ChinaRareEarthContent, AntimonyWithoutSeparationIsNotApplicable) {
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", ThaiBaggedChineseOxide(),
                        Material::kAntimonyOxide, Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kNotApplicable) << ToString(v);
  EXPECT_FALSE(v.would_fail);
}

TEST(ChinaRareEarthContent, CompleteValueSharesDecideInsteadOfMass) {
  // 1 kg of Chinese ore worth 10,000.00 blended with 9,999 kg of Malaysian ore worth 99,990.00:
  // 0.01% Chinese by mass, 9.1% by value.
  const OriginProfile cn = Must(OriginOfRegistered(
      Registered(Material::kRareEarthOre, "253090", "CN", 1'000, 1'000'000, "USD"), kMySeparation));
  const OriginProfile my = Must(OriginOfRegistered(
      Registered(Material::kRareEarthOre, "253090", "MY", 9'999'000, 9'999'000, "USD"),
      kMySeparation));
  const OriginProfile blend =
      TransformOne(Process::kBlending, kMySeparation,
                   {Input("cn", "253090", 1'000, cn), Input("my", "253090", 9'999'000, my)}, {},
                   Output("blend", Material::kRareEarthOre, "253090", 10'000'000));
  ASSERT_EQ(blend.value.gap, ValueGap::kNone);
  EXPECT_NEAR(CountryShare(blend, Stage::kMining, "CN"), 1e-4, kEps);

  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", blend, Material::kRareEarthOre,
                        Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_EQ(v.basis, ShareBasis::kValue);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_NEAR(v.evidence[0].share, 1'000'000.0 / 10'999'000, 1e-9);
}

TEST(ChinaRareEarthContent, ValueGapFallsBackToMassAndSaysWhy) {
  // Extracted ore mixed: no values anywhere.
  const OriginProfile cn = Must(OriginOfExtracted(Material::kRareEarthOre, kCnMine));
  const OriginProfile us = Must(OriginOfExtracted(Material::kRareEarthOre, kUsMine));
  const OriginProfile blend =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("cn", "253090", 5, cn), Input("us", "253090", 9'995, us)}, {},
                   Output("blend", Material::kRareEarthOre, "253090", 10'000));
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", blend, Material::kRareEarthOre,
                        Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);  // 0.05% < 0.1%
  EXPECT_EQ(v.basis, ShareBasis::kMass);
  EXPECT_THAT(v.summary, HasSubstr("input_without_value"));
}

TEST(ChinaRareEarthContent, UntracedSeparationThatCouldReachThresholdIsInsufficientData) {
  // Malaysian-separated metal alloyed with 0.5% untraced rare-earth metal.
  const OriginProfile metal =
      TransformOne(Process::kMetalMaking, kVnMetal,
                   {Input("ox", "284690", 400,
                          Must(OriginAfterArrival(SeparatedCompound(kMySeparation), kVnMetal)))},
                   {}, Output("metal", Material::kRareEarthMetal, "280530", 300));
  const OriginProfile alloy =
      TransformOne(Process::kAlloying, kJpMagnet, {Input("metal", "280530", 995, metal)},
                   {UntrackedInput{Material::kRareEarthMetal, 5, ""}},
                   Output("alloy", Material::kNdfebAlloy, "720299", 1000));
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", alloy, Material::kNdfebAlloy,
                        Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, std::string(kUnknownCountry))));
}

TEST(ChinaRareEarthContent, DeclaredContentValueIsTheLegalTestWhenGiven) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  // Declared: 5.00 of Chinese-origin rare-earth metal in a 10,000.00 magnet lot: 0.05%.
  const auto declared = [](int64_t item, std::vector<DeclaredContent> content) {
    return DeclaredValue{item, "USD", std::move(content)};
  };
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet, Material::kNdfebMagnet,
                        Day(2026, 12, 1), kNoParents,
                        declared(1'000'000, {{"CN", Material::kRareEarthMetal, 500},
                                             {"CN", Material::kIron, 400'000},  // not a rare earth
                                             {"MY", Material::kRareEarthMetal, 90'000}}));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
  EXPECT_EQ(v.basis, ShareBasis::kDeclaredValue);
  EXPECT_EQ(ShareBasisName(v.basis), "declared_value");
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_EQ(v.evidence[0].key, "CN");
  EXPECT_FALSE(v.evidence[0].stage.has_value());
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 0.0005);
  EXPECT_THAT(v.summary, HasSubstr("declared value basis, 500 of 1000000 USD"));
  const Verdict at_limit = Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet,
                               Material::kNdfebMagnet, Day(2026, 12, 1), kNoParents,
                               declared(1'000'000, {{"CN", Material::kNdfebAlloy, 1'000}}));
  EXPECT_EQ(at_limit.outcome, Outcome::kFail) << ToString(at_limit);  // 0.1% is "or more"
  // Content of undeclared origin that could reach the threshold.
  const Verdict unknown =
      Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet, Material::kNdfebMagnet,
          Day(2026, 12, 1), kNoParents,
          declared(1'000'000, {{"CN", Material::kRareEarthMetal, 500},
                               {std::string(kUnknownCountry), Material::kRareEarthMetal, 500}}));
  EXPECT_EQ(unknown.outcome, Outcome::kInsufficientData) << ToString(unknown);
  EXPECT_THAT(unknown.evidence, Contains(Field(&Evidence::key, std::string(kUnknownCountry))));
  const Verdict nonsense =
      Lot("china-re-0.1pct", "cn-re-content-0.1pct", magnet, Material::kNdfebMagnet,
          Day(2026, 12, 1), kNoParents, declared(100, {{"CN", Material::kRareEarthMetal, 200}}));
  EXPECT_EQ(nonsense.outcome, Outcome::kInsufficientData) << ToString(nonsense);
  EXPECT_EQ(nonsense.basis, ShareBasis::kDeclaredValue);
  EXPECT_THAT(nonsense.summary, HasSubstr("more than the item's value"));
}

// Registered rare-earth compounds (with values) made into metal: `cn_g` grams separated in CN at
// `cn_minor`, `my_g` grams separated in MY at `my_minor` (0: no value recorded).
OriginProfile ValuedMetal(Grams cn_g, int64_t cn_minor, Grams my_g, int64_t my_minor) {
  const auto registered = [](std::string country, Grams g, int64_t minor) {
    LotRegistered lot;
    lot.lot_id = "compound-" + country;
    lot.material = Material::kRareEarthCompound;
    lot.hs_code = "284690";
    lot.mass_g = g;
    lot.facility_id = "vn-metal";
    lot.origin_country = std::move(country);
    lot.value_minor = minor;
    lot.currency = minor > 0 ? "USD" : "";
    return Must(OriginOfRegistered(lot, kVnMetal));
  };
  const OriginProfile cn = registered("CN", cn_g, cn_minor);
  const OriginProfile my = registered("MY", my_g, my_minor);
  return TransformOne(
      Process::kMetalMaking, kVnMetal,
      {Input("compound-CN", "284690", cn_g, cn), Input("compound-MY", "284690", my_g, my)}, {},
      Output("metal", Material::kRareEarthMetal, "280530", cn_g + my_g));
}

TEST(ChinaRareEarthContent, RecordedValuesAtSeparationDecideWhereMassWouldPass) {
  // 1 g of CN-separated compound worth 0.50 and 3,999 g of MY-separated worth 1 cent per gram:
  // 0.025% Chinese by mass (a pass), 50 / 4,049 = 1.23% by value (a fail).
  const OriginProfile metal = ValuedMetal(1, 50, 3'999, 3'999);
  ASSERT_EQ(metal.value.gap, ValueGap::kNone);
  EXPECT_DOUBLE_EQ(CountryShare(metal, Stage::kSeparation, "CN"), 1.0 / 4'000);
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", metal, Material::kRareEarthMetal,
                        Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_EQ(v.basis, ShareBasis::kValue);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_EQ(v.evidence[0].stage, Stage::kSeparation);
  EXPECT_EQ(v.evidence[0].key, "CN");
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 50.0 / 4'049);
  EXPECT_THAT(v.evidence[0].note, HasSubstr("share of the lot's value whose separation"));
  EXPECT_THAT(v.summary, HasSubstr("value basis"));
}

TEST(ChinaRareEarthContent, AValuedAndAnUnvaluedInputFallBackToMassAndSayWhy) {
  const OriginProfile metal = ValuedMetal(1, 50, 3'999, 0);  // MY's value was not recorded
  ASSERT_EQ(metal.value.gap, ValueGap::kInputWithoutValue);
  const Verdict v = Lot("china-re-0.1pct", "cn-re-content-0.1pct", metal, Material::kRareEarthMetal,
                        Day(2026, 12, 1));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);  // 0.025% by mass
  EXPECT_EQ(v.basis, ShareBasis::kMass);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 1.0 / 4'000);
  EXPECT_THAT(v.summary, HasSubstr("mass basis, separation country, because value shares "
                                   "unavailable: input_without_value"));
  // A declared value overrides both.
  const Verdict declared = Lot(
      "china-re-0.1pct", "cn-re-content-0.1pct", metal, Material::kRareEarthMetal, Day(2026, 12, 1),
      kNoParents, DeclaredValue{4'049, "USD", {{"CN", Material::kRareEarthCompound, 50}}});
  EXPECT_EQ(declared.outcome, Outcome::kFail) << ToString(declared);
  EXPECT_EQ(declared.basis, ShareBasis::kDeclaredValue);
}

TEST(DeclaredValues, MalformedDeclarationsAreRejectedNamingTheField) {
  const auto error = [](DeclaredValue v) {
    return std::string(ValidateDeclaredValue(v).message());
  };
  EXPECT_TRUE(ValidateDeclaredValue({100, "USD", {{"CN", Material::kRareEarthMetal, 100}}}).ok());
  EXPECT_TRUE(ValidateDeclaredValue({100, "USD", {}}).ok());
  EXPECT_THAT(error({0, "USD", {}}), HasSubstr("value_minor must be > 0"));
  EXPECT_THAT(error({100, "usd", {}}), HasSubstr("currency"));
  EXPECT_THAT(error({100, "USD", {{"XX", Material::kRareEarthMetal, 1}}}),
              HasSubstr("content[0].country 'XX'"));
  EXPECT_THAT(error({100, "USD", {{"CN", Material::kUnspecified, 1}}}),
              HasSubstr("content[0].material"));
  EXPECT_THAT(error({100, "USD", {{"CN", Material::kRareEarthMetal, -1}}}),
              HasSubstr("content[0].value_minor"));
  EXPECT_THAT(error({100,
                     "USD",
                     {{"CN", Material::kRareEarthMetal, 1}, {"CN", Material::kRareEarthMetal, 2}}}),
              HasSubstr("content[1] repeats"));
  EXPECT_THAT(
      error({100,
             "USD",
             {{"CN", Material::kRareEarthMetal, 60}, {"MY", Material::kRareEarthMetal, 41}}}),
      HasSubstr("more than the item's value"));
  EXPECT_TRUE(ValidateDeclaredValue({INT64_MAX,
                                     "USD",
                                     {{"CN", Material::kRareEarthMetal, INT64_MAX},
                                      {"MY", Material::kRareEarthMetal, 0}}})
                  .ok());
  DeclaredValue many{1'000'000, "USD", {}};
  for (size_t i = 0; i <= kMaxDeclaredContent; ++i) {
    many.content.push_back(
        {"CN", static_cast<Material>(1 + i % kMaterialMax), static_cast<int64_t>(i)});
  }
  EXPECT_THAT(error(many), HasSubstr("content lines, at most 256"));
}

// ---- uflpa ----

TEST(Uflpa, AffiliateOfAListedPartyFailsThroughTheParentChain) {
  // Chinese oxide re-bagged by th-affiliate, a subsidiary of a subsidiary of xj-nonferrous.
  InMemoryPartyDirectory parties;
  parties.SetParent("th-affiliate", "xj-nonferrous-trading");
  parties.SetParent("xj-nonferrous-trading", "xj-nonferrous");
  const Verdict v = Lot("uflpa", "uflpa-xinjiang-and-listed", ThaiBaggedChineseOxide(),
                        Material::kAntimonyOxide, Day(2025, 3, 1), parties);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_EQ(v.evidence[0].key, "th-affiliate");
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 1.0);
  EXPECT_THAT(v.evidence[0].note,
              HasSubstr("th-affiliate -> xj-nonferrous-trading -> xj-nonferrous"));
  // Without the affiliate links the same lot passes: the rule really walks the chain.
  EXPECT_EQ(Lot("uflpa", "uflpa-xinjiang-and-listed", ThaiBaggedChineseOxide(),
                Material::kAntimonyOxide, Day(2025, 3, 1))
                .outcome,
            Outcome::kPass);
}

TEST(Uflpa, XinjiangShareFailsHoweverDiluted) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile xj_oxide =
      TransformOne(Process::kSmelting, kXjSmelter, {Input("ore", "261710", 10, ore)}, {},
                   Output("xj-ox", Material::kAntimonyOxide, "282580", 8));
  const OriginProfile mx = MexicanOxide();
  const OriginProfile blend =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("xj-ox", "282580", 8, xj_oxide), Input("mx", "282580", 999'992, mx)}, {},
                   Output("blend", Material::kAntimonyOxide, "282580", 1'000'000));
  const Verdict v =
      Lot("uflpa", "uflpa-xinjiang-and-listed", blend, Material::kAntimonyOxide, Day(2025, 3, 1));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  ASSERT_THAT(v.evidence, Contains(Field(&Evidence::key, "CN-XJ")));
  for (const Evidence& e : v.evidence) {
    if (e.key == "CN-XJ") {
      EXPECT_NEAR(e.share, 8e-6, 1e-15);
    }
  }
}

TEST(Uflpa, ListedPartyIdsCanBeAddedByCallers) {
  const OriginProfile mx = MexicanOxide();
  EXPECT_EQ(Lot("uflpa", "uflpa-xinjiang-and-listed", mx, Material::kAntimonyOxide, Day(2025, 3, 1))
                .outcome,
            Outcome::kPass);
  const std::vector<std::string> extra = {"potosi-coop"};
  const RuleSet set = WithListedParties(Set("uflpa"), extra);
  const LotFacts lot{"mx-ox-1", Material::kAntimonyOxide, "282580", mx, std::nullopt};
  const Verdict v =
      Of(EvaluateLot(set, lot, kNoParents, Day(2025, 3, 1)), "uflpa-xinjiang-and-listed");
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, "potosi-coop")));
}

TEST(Uflpa, MergedPartiesCannotProveAbsence) {
  std::vector<OriginProfile> lots;
  lots.reserve(1100);
  for (int i = 0; i < 1100; ++i) {
    lots.push_back(Must(OriginOfExtracted(
        Material::kAntimonyOre,
        Facility("BO", "BO-P", "coop-" + std::to_string(10000 + i), FacilityKind::kMine))));
  }
  std::vector<TrackedInput> inputs;
  for (int i = 0; i < 1100; ++i)
    inputs.push_back(Input("lot-" + std::to_string(i), "261710", 1, lots[i]));
  const OriginProfile pool = TransformOne(Process::kBlending, kUsWarehouse, inputs, {},
                                          Output("pool", Material::kAntimonyOre, "261710", 1100));
  ASSERT_TRUE(HasMergedEntries(pool));
  const Verdict v =
      Lot("uflpa", "uflpa-xinjiang-and-listed", pool, Material::kAntimonyOre, Day(2025, 3, 1));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, std::string(kOtherKey))));
}

TEST(Uflpa, UntracedMassCannotProveAbsence) {
  // A magnet whose iron's mining country is untraced: that mass may have come from Xinjiang.
  const OriginProfile untraced = NdfebMagnet(kMySeparation, "");
  const Verdict v =
      Lot("uflpa", "uflpa-xinjiang-and-listed", untraced, Material::kNdfebMagnet, Day(2025, 3, 1));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  EXPECT_THAT(v.summary, HasSubstr("untraced"));
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, std::string(kUnknownCountry))));
  // The same magnet with traced iron passes.
  EXPECT_EQ(Lot("uflpa", "uflpa-xinjiang-and-listed", NdfebMagnet(kMySeparation, "SE"),
                Material::kNdfebMagnet, Day(2025, 3, 1))
                .outcome,
            Outcome::kPass);
}

TEST(Uflpa, CyclicParentChainCannotRuleOutAffiliation) {
  InMemoryPartyDirectory parties;
  parties.SetParent("mx-smelting", "holding-a");
  parties.SetParent("holding-a", "holding-b");
  parties.SetParent("holding-b", "holding-a");
  const Verdict v = Lot("uflpa", "uflpa-xinjiang-and-listed", MexicanOxide(),
                        Material::kAntimonyOxide, Day(2025, 3, 1), parties);
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
}

TEST(Uflpa, NotInForceBeforeJune21_2022ButWouldFail) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile xj =
      TransformOne(Process::kSmelting, kXjSmelter, {Input("ore", "261710", 10, ore)}, {},
                   Output("xj", Material::kAntimonyOxide, "282580", 8));
  const Verdict before = Lot("uflpa", "uflpa-xinjiang-and-listed", xj, Material::kAntimonyOxide,
                             Day(2022, 6, 21) - absl::Nanoseconds(1));
  EXPECT_EQ(before.outcome, Outcome::kNotInForce);
  EXPECT_TRUE(before.would_fail);
  EXPECT_EQ(
      Lot("uflpa", "uflpa-xinjiang-and-listed", xj, Material::kAntimonyOxide, Day(2022, 6, 21))
          .outcome,
      Outcome::kFail);
}

// ---- eu-crma ----

// A portfolio of rare-earth compound: `cn_g` grams separated in CN, the rest of 1,000,000 g in
// `other` (MY by default), plus `untraced_g` registered without an origin.
OriginProfile CompoundPortfolio(Grams cn_g, Grams untraced_g = 0,
                                const FacilityInfo& other = kMySeparation,
                                const FacilityInfo& first = kCnSeparation) {
  const OriginProfile cn = SeparatedCompound(first);
  const OriginProfile rest = SeparatedCompound(other);
  const OriginProfile untraced = Must(OriginOfRegistered(
      Registered(Material::kRareEarthCompound, "284690", "", 1000), kEeSeparation));
  std::vector<std::pair<const OriginProfile*, Grams>> lots = {
      {&cn, cn_g}, {&rest, 1'000'000 - cn_g - untraced_g}};
  if (untraced_g > 0) lots.push_back({&untraced, untraced_g});
  return Must(AggregateProfiles(lots));
}

Verdict Crma(const OriginProfile& portfolio, absl::Time as_of = Day(2025, 6, 1),
             Material material = Material::kRareEarthCompound) {
  const PortfolioFacts facts{"eu-buyer-2025", material, portfolio, 1'000'000};
  return Of(EvaluatePortfolio(Set("eu-crma"), facts, as_of), "crma-65pct-per-stage");
}

TEST(EuCrma, SeventyPercentChineseSeparationFails) {
  const Verdict v = Crma(CompoundPortfolio(700'000));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  bool found = false;
  for (const Evidence& e : v.evidence) {
    if (e.stage == Stage::kSeparation && e.key == "CN") {
      found = true;
      EXPECT_NEAR(e.share, 0.7, kEps);
    }
  }
  EXPECT_TRUE(found);
}

TEST(EuCrma, SixtyPercentChineseSeparationPasses) {
  const Verdict v = Crma(CompoundPortfolio(600'000));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
}

TEST(EuCrma, MemberStateAboveSixtyFivePercentIsNotAThirdCountry) {
  const Verdict v = Crma(CompoundPortfolio(700'000, 0, kMySeparation, kEeSeparation));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
  // MY is then the largest third country at separation, at 30%.
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, "MY")));
}

TEST(EuCrma, UntracedShareThatCouldTipTheStageIsInsufficientDataNotACountry) {
  const Verdict v = Crma(CompoundPortfolio(600'000, 100'000));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  bool found = false;
  for (const Evidence& e : v.evidence) {
    if (e.stage == Stage::kSeparation && e.key == kUnknownCountry) {
      found = true;
      EXPECT_NEAR(e.share, 0.1, kEps);
    }
  }
  EXPECT_TRUE(found);
}

TEST(EuCrma, MiningConcentrationIsReportedButNeverFails) {
  // All of it mined in the US (100% one third country), separated 50/50 in CN and MY.
  const Verdict v = Crma(CompoundPortfolio(500'000));
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
  bool found = false;
  for (const Evidence& e : v.evidence) {
    if (e.stage == Stage::kMining && e.key == "US") {
      found = true;
      EXPECT_NEAR(e.share, 1.0, kEps);
      EXPECT_THAT(e.note, HasSubstr("reported only"));
    }
  }
  EXPECT_TRUE(found);
}

TEST(EuCrma, AntimonyIsNotAStrategicRawMaterial) {
  const Verdict v = Crma(CompoundPortfolio(700'000), Day(2025, 6, 1), Material::kAntimonyOxide);
  EXPECT_EQ(v.outcome, Outcome::kNotApplicable) << ToString(v);
}

TEST(EuCrma, NotInForceBeforeMay23_2024ButWouldFail) {
  const OriginProfile p = CompoundPortfolio(700'000);
  const Verdict before = Crma(p, Day(2024, 5, 23) - absl::Nanoseconds(1));
  EXPECT_EQ(before.outcome, Outcome::kNotInForce);
  EXPECT_TRUE(before.would_fail);
  EXPECT_EQ(Crma(p, Day(2024, 5, 23)).outcome, Outcome::kFail);
}

TEST(AggregateProfiles, WeighsEveryDistributionByMass) {
  const OriginProfile cn = SeparatedCompound(kCnSeparation);
  const OriginProfile my = SeparatedCompound(kMySeparation);
  const std::vector<std::pair<const OriginProfile*, Grams>> lots = {{&cn, 1}, {&my, 3}};
  const OriginProfile p = Must(AggregateProfiles(lots));
  EXPECT_THAT(p.stage(Stage::kSeparation), ElementsAre(KeyShare{"CN", 0.25}, KeyShare{"MY", 0.75}));
  EXPECT_THAT(p.stage(Stage::kMining), ElementsAre(KeyShare{"US", 1.0}));
  EXPECT_DOUBLE_EQ(RouteShare(p, "US", RouteRole::kMined), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(p.parties, "baotou-separation"), 0.25);
  EXPECT_EQ(p.customs_origin, "");  // CN and MY differ
  EXPECT_EQ(p.value.gap, ValueGap::kInputWithoutValue);
}

TEST(AggregateProfiles, RejectsNullProfilesAndNonPositiveMasses) {
  const OriginProfile cn = SeparatedCompound(kCnSeparation);
  EXPECT_FALSE(AggregateProfiles({}).ok());
  const std::vector<std::pair<const OriginProfile*, Grams>> null_lot = {{nullptr, 1}};
  EXPECT_FALSE(AggregateProfiles(null_lot).ok());
  const std::vector<std::pair<const OriginProfile*, Grams>> zero = {{&cn, 0}};
  EXPECT_FALSE(AggregateProfiles(zero).ok());
  const std::vector<std::pair<const OriginProfile*, Grams>> huge = {{&cn, kMaxMassG}, {&cn, 1}};
  EXPECT_FALSE(AggregateProfiles(huge).ok());
}

// ---- transshipment ----

ShipmentFacts Shipment(std::string from, std::string to, std::string declared,
                       std::vector<ShipmentItemFacts> items,
                       absl::Time dispatch = Day(2025, 2, 1)) {
  ShipmentFacts s;
  s.shipment_id = "shp-1";
  s.from_country = std::move(from);
  s.to_country = std::move(to);
  s.declared_origin = std::move(declared);
  s.declared_hs_code = items.empty() ? "" : items[0].hs_code;
  s.dispatch_time = dispatch;
  s.items = std::move(items);
  return s;
}

Verdict Ship(std::string_view set, std::string_view rule_id, const ShipmentFacts& s) {
  return Of(EvaluateShipment(Set(set), s), rule_id);
}

TEST(Transshipment, ChineseOxideRebaggedInThailandAndDeclaredThaiIsFlagged) {
  const OriginProfile bags = ThaiBaggedChineseOxide();
  const ShipmentFacts s = Shipment(
      "TH", "US", "TH", {{"ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000, &bags}});
  const Verdict v = Ship("transshipment", "transshipment-declared-origin", s);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_TRUE(v.in_force);
  // Evidence: the traced customs origin, and Thailand as a store only.
  bool origin = false;
  bool stored = false;
  for (const Evidence& e : v.evidence) {
    if (e.key == "CN") {
      origin = true;
      EXPECT_DOUBLE_EQ(e.share, 1.0);
      EXPECT_THAT(e.note, HasSubstr("ox-th-1"));
    }
    if (e.key == "TH") {
      stored = true;
      EXPECT_DOUBLE_EQ(e.share, 1.0);
      EXPECT_THAT(e.note, HasSubstr("none of it mined or processed"));
    }
  }
  EXPECT_TRUE(origin);
  EXPECT_TRUE(stored);
  EXPECT_THAT(v.summary, HasSubstr("suspected transshipment"));
}

TEST(Transshipment, OreSmeltedInMexicoAndDeclaredMexicanIsNotFlagged) {
  const OriginProfile oxide = MexicanOxide();
  const ShipmentFacts s = Shipment(
      "MX", "US", "MX", {{"mx-ox-1", Material::kAntimonyOxide, "282580", 4'500'000, &oxide}});
  const Verdict v = Ship("transshipment", "transshipment-declared-origin", s);
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
}

TEST(Transshipment, RebaggingMadeSubstantialByPolicyIsStillOnlyStorage) {
  CustomsPolicy lax = CustomsPolicy::Default();
  lax.Set(Process::kRepackaging, SubstantialTransformationTest::kAlways);
  const OriginProfile bags = ThaiBaggedChineseOxide(lax);
  ASSERT_EQ(bags.customs_origin, "TH");
  const ShipmentFacts s = Shipment(
      "TH", "US", "TH", {{"ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000, &bags}});
  const Verdict v = Ship("transshipment", "transshipment-declared-origin", s);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.summary, HasSubstr("only stored or transited in TH"));
}

TEST(Transshipment, MixedShipmentReportsMassWeightedCustomsOrigins) {
  const OriginProfile bags = ThaiBaggedChineseOxide();
  const OriginProfile mx = MexicanOxide();
  const ShipmentFacts s =
      Shipment("MX", "US", "MX",
               {{"ox-th-1", Material::kAntimonyOxide, "282580", 3'000'000, &bags},
                {"mx-ox-1", Material::kAntimonyOxide, "282580", 1'000'000, &mx}});
  const Verdict v = Ship("transshipment", "transshipment-declared-origin", s);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  ASSERT_EQ(v.evidence.size(), 2u);
  EXPECT_EQ(v.evidence[0].key, "CN");
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 0.75);
  EXPECT_EQ(v.evidence[1].key, "MX");
  EXPECT_DOUBLE_EQ(v.evidence[1].share, 0.25);
}

TEST(Transshipment, UntracedCustomsOriginIsInsufficientData) {
  const OriginProfile mx = MexicanOxide();
  const ShipmentFacts s = Shipment("MX", "US", "MX",
                                   {{"mx-ox-1", Material::kAntimonyOxide, "282580", 1'000'000, &mx},
                                    {"loose", Material::kAntimonyOxide, "282580", 10, nullptr}});
  const Verdict v = Ship("transshipment", "transshipment-declared-origin", s);
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  EXPECT_THAT(v.evidence, Contains(Field(&Evidence::key, std::string(kUnknownCountry))));
}

TEST(Transshipment, NoDeclaredOriginIsNotApplicableAndTheRuleNeedsNoDate) {
  const OriginProfile mx = MexicanOxide();
  ShipmentFacts s =
      Shipment("MX", "US", "", {{"mx-ox-1", Material::kAntimonyOxide, "282580", 1'000'000, &mx}});
  EXPECT_EQ(Ship("transshipment", "transshipment-declared-origin", s).outcome,
            Outcome::kNotApplicable);
  s.declared_origin = "MX";
  s.dispatch_time = absl::InfinitePast();  // always in force: an unknown date does not matter
  EXPECT_EQ(Ship("transshipment", "transshipment-declared-origin", s).outcome, Outcome::kPass);
}

// ---- china-export-licensing ----

LicenceFacts GalliumLicence() {
  LicenceFacts l;
  l.licence_id = "mofcom-2025-0042";
  l.issuing_country = "CN";
  l.exporter_party_id = "gx-refining";
  l.hs_codes = {"811292"};
  l.materials = {Material::kGallium};
  l.quantity_g = 1'000'000;
  l.used_before_g = 300'000;
  l.valid_from = Day(2025, 1, 1);
  l.valid_until = Day(2026, 1, 1);
  return l;
}

ShipmentFacts GalliumShipment(const OriginProfile& ga, std::string to = "JP",
                              absl::Time dispatch = Day(2025, 3, 1)) {
  ShipmentFacts s = Shipment("CN", std::move(to), "CN",
                             {{"ga-1", Material::kGallium, "811292", 500'000, &ga}}, dispatch);
  s.exporter_party_id = "gx-refining";
  return s;
}

constexpr std::string_view kGaGe = "cn-licence-gallium-germanium";
constexpr std::string_view kBan = "cn-ban-us-ga-ge-sb";
constexpr std::string_view kLicensing = "china-export-licensing";

TEST(ChinaExportLicensing, GalliumLeavingChinaWithoutLicenceFails) {
  const OriginProfile ga = ChineseGallium();
  const Verdict v = Ship(kLicensing, kGaGe, GalliumShipment(ga));
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.summary, HasSubstr("without an export licence"));
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_EQ(v.evidence[0].key, "ga-1");
}

TEST(ChinaExportLicensing, GalliumUnderAValidLicencePasses) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts s = GalliumShipment(ga);
  s.licence = GalliumLicence();
  const std::vector<Verdict> verdicts = EvaluateShipment(Set(kLicensing), s);
  const Verdict v = Of(verdicts, kGaGe);
  EXPECT_EQ(v.outcome, Outcome::kPass) << ToString(v);
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_DOUBLE_EQ(v.evidence[0].share, 0.8);  // 300,000 + 500,000 of 1,000,000 g
  // The other lists do not concern gallium; Japan is not under the US ban.
  EXPECT_EQ(Of(verdicts, "cn-licence-antimony").outcome, Outcome::kNotApplicable);
  EXPECT_EQ(Of(verdicts, kBan).outcome, Outcome::kNotApplicable);
  EXPECT_EQ(Combine(verdicts), Outcome::kPass);
}

TEST(ChinaExportLicensing, ShipmentBeyondTheLicensedQuantityFailsWithTheNumbers) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts s = GalliumShipment(ga);
  s.licence = GalliumLicence();
  s.licence->used_before_g = 500'001;
  const Verdict v = Ship(kLicensing, kGaGe, s);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.summary, HasSubstr("quantity exceeded"));
  ASSERT_EQ(v.evidence.size(), 1u);
  EXPECT_THAT(v.evidence[0].note, HasSubstr("500001"));
  EXPECT_THAT(v.evidence[0].note, HasSubstr("500000 g"));
  EXPECT_THAT(v.evidence[0].note, HasSubstr("1000000"));
  // Exactly the licensed quantity is allowed.
  s.licence->used_before_g = 500'000;
  EXPECT_EQ(Ship(kLicensing, kGaGe, s).outcome, Outcome::kPass);
}

TEST(ChinaExportLicensing, LicenceFromAnotherCountryOrForOtherGoodsFails) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts s = GalliumShipment(ga);
  s.licence = GalliumLicence();
  s.licence->issuing_country = "HK";
  EXPECT_EQ(Ship(kLicensing, kGaGe, s).outcome, Outcome::kFail);

  s.licence = GalliumLicence();
  s.licence->materials = {Material::kGermanium};
  s.licence->hs_codes = {"282560"};
  const Verdict v = Ship(kLicensing, kGaGe, s);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  EXPECT_THAT(v.summary, HasSubstr("covers neither gallium nor HS heading 8112"));

  // The HS heading alone covers the item: 8112.92 matches a licence for 8112.
  s.licence->hs_codes = {"8112"};
  EXPECT_EQ(Ship(kLicensing, kGaGe, s).outcome, Outcome::kPass);

  s.licence = GalliumLicence();
  s.licence->exporter_party_id = "someone-else";
  EXPECT_EQ(Ship(kLicensing, kGaGe, s).outcome, Outcome::kFail);
}

TEST(ChinaExportLicensing, LicenceValidityIsHalfOpenAtDispatch) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts s = GalliumShipment(ga, "JP", Day(2026, 1, 1));  // the first invalid instant
  s.licence = GalliumLicence();
  const Verdict expired = Ship(kLicensing, kGaGe, s);
  EXPECT_EQ(expired.outcome, Outcome::kFail) << ToString(expired);
  EXPECT_THAT(expired.summary, HasSubstr("not at dispatch on 2026-01-01"));
  s.dispatch_time = Day(2025, 1, 1);  // the first valid instant
  EXPECT_EQ(Ship(kLicensing, kGaGe, s).outcome, Outcome::kPass);
}

TEST(ChinaExportLicensing, GalliumControlStartsExactlyOnAugust1_2023) {
  const OriginProfile ga = ChineseGallium();
  const Verdict before =
      Ship(kLicensing, kGaGe, GalliumShipment(ga, "JP", Day(2023, 8, 1) - absl::Nanoseconds(1)));
  EXPECT_EQ(before.outcome, Outcome::kNotInForce) << ToString(before);
  EXPECT_TRUE(before.would_fail);
  EXPECT_EQ(Ship(kLicensing, kGaGe, GalliumShipment(ga, "JP", Day(2023, 8, 1))).outcome,
            Outcome::kFail);
}

TEST(ChinaExportLicensing, EachControlListHasItsOwnStartDate) {
  const OriginProfile sb = ThaiBaggedChineseOxide();
  auto ship = [&](Material m, std::string hs, absl::Time t) {
    return Shipment("CN", "JP", "CN", {{"lot", m, std::move(hs), 1000, &sb}}, t);
  };
  EXPECT_EQ(Ship(kLicensing, "cn-licence-antimony",
                 ship(Material::kAntimonyOxide, "282580", Day(2024, 9, 14)))
                .outcome,
            Outcome::kNotInForce);
  EXPECT_EQ(Ship(kLicensing, "cn-licence-antimony",
                 ship(Material::kAntimonyOxide, "282580", Day(2024, 9, 15)))
                .outcome,
            Outcome::kFail);
  EXPECT_EQ(Ship(kLicensing, "cn-licence-graphite",
                 ship(Material::kGraphite, "250410", Day(2023, 11, 30)))
                .outcome,
            Outcome::kNotInForce);
  EXPECT_EQ(
      Ship(kLicensing, "cn-licence-graphite", ship(Material::kGraphite, "250410", Day(2023, 12, 1)))
          .outcome,
      Outcome::kFail);
  EXPECT_EQ(Ship(kLicensing, "cn-licence-rare-earths",
                 ship(Material::kNdfebMagnet, "850511", Day(2025, 4, 3)))
                .outcome,
            Outcome::kNotInForce);
  EXPECT_EQ(Ship(kLicensing, "cn-licence-rare-earths",
                 ship(Material::kNdfebMagnet, "850511", Day(2025, 4, 4)))
                .outcome,
            Outcome::kFail);
  // Rare-earth ore is not on the April 2025 list.
  EXPECT_EQ(Ship(kLicensing, "cn-licence-rare-earths",
                 ship(Material::kRareEarthOre, "253090", Day(2025, 6, 1)))
                .outcome,
            Outcome::kNotApplicable);
}

TEST(ChinaExportLicensing, GoodsThatDoNotLeaveChinaAreNotApplicable) {
  const OriginProfile ga = ChineseGallium();
  EXPECT_EQ(Ship(kLicensing, kGaGe, GalliumShipment(ga, "CN")).outcome, Outcome::kNotApplicable);
  ShipmentFacts from_japan = GalliumShipment(ga, "KR");
  from_japan.from_country = "JP";
  EXPECT_EQ(Ship(kLicensing, kGaGe, from_japan).outcome, Outcome::kNotApplicable);
}

TEST(ChinaExportLicensing, UnknownDispatchTimeIsInsufficientData) {
  const OriginProfile ga = ChineseGallium();
  const Verdict v = Ship(kLicensing, kGaGe, GalliumShipment(ga, "JP", absl::InfinitePast()));
  EXPECT_EQ(v.outcome, Outcome::kInsufficientData) << ToString(v);
  EXPECT_TRUE(v.would_fail);
}

TEST(ChinaUsBan, GalliumToTheUsFailsEvenWithAValidLicence) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts s = GalliumShipment(ga, "US", Day(2025, 3, 1));
  s.licence = GalliumLicence();
  const std::vector<Verdict> verdicts = EvaluateShipment(Set(kLicensing), s);
  EXPECT_EQ(Of(verdicts, kGaGe).outcome, Outcome::kPass);
  const Verdict ban = Of(verdicts, kBan);
  EXPECT_EQ(ban.outcome, Outcome::kFail) << ToString(ban);
  EXPECT_THAT(ban.summary, HasSubstr("does not lift the ban"));
  EXPECT_EQ(Combine(verdicts), Outcome::kFail);
}

TEST(ChinaUsBan, BanStartsDecember3_2024AndIsSuspendedNov9_2025ToNov27_2026) {
  const OriginProfile ga = ChineseGallium();
  auto at = [&](absl::Time t) { return Ship(kLicensing, kBan, GalliumShipment(ga, "US", t)); };
  EXPECT_EQ(at(Day(2024, 12, 3) - absl::Nanoseconds(1)).outcome, Outcome::kNotInForce);
  EXPECT_EQ(at(Day(2024, 12, 3)).outcome, Outcome::kFail);
  EXPECT_EQ(at(Day(2025, 11, 9) - absl::Nanoseconds(1)).outcome, Outcome::kFail);
  const Verdict suspended = at(Day(2025, 11, 9));
  EXPECT_EQ(suspended.outcome, Outcome::kNotInForce) << ToString(suspended);
  EXPECT_TRUE(suspended.would_fail);
  EXPECT_THAT(suspended.summary, HasSubstr("until 2026-11-27"));
  EXPECT_EQ(at(Day(2026, 11, 27) - absl::Nanoseconds(1)).outcome, Outcome::kNotInForce);
  EXPECT_EQ(at(Day(2026, 11, 27)).outcome, Outcome::kFail);
}

// A dispatch backdated to before the ban and recorded while it is in force: judged at both
// times, it fails, and its evidence gives both dates. Recorded on time, only the dispatch counts.
TEST(ChinaUsBan, ALateDispatchIsJudgedAtItsDispatchAndItsRecordedTime) {
  const OriginProfile ga = ChineseGallium();
  ShipmentFacts backdated = GalliumShipment(ga, "US", Day(2024, 11, 1));
  EXPECT_EQ(Ship(kLicensing, kBan, backdated).outcome, Outcome::kNotInForce);
  backdated.late_recorded_time = Day(2025, 1, 15);
  const Verdict v = Ship(kLicensing, kBan, backdated);
  EXPECT_EQ(v.outcome, Outcome::kFail) << ToString(v);
  ASSERT_FALSE(v.evidence.empty());
  EXPECT_EQ(v.evidence.back().key, "late");
  EXPECT_THAT(v.evidence.back().note, HasSubstr("dispatched 2024-11-01, recorded 2025-01-15"));
  EXPECT_THAT(v.evidence.back().note, HasSubstr("this verdict at the recorded time"));
  // The other way round: dispatched while the ban was in force, recorded in its suspension.
  ShipmentFacts in_force = GalliumShipment(ga, "US", Day(2025, 3, 1));
  in_force.late_recorded_time = Day(2025, 12, 1);
  const Verdict w = Ship(kLicensing, kBan, in_force);
  EXPECT_EQ(w.outcome, Outcome::kFail) << ToString(w);
  EXPECT_THAT(w.evidence.back().note, HasSubstr("this verdict at the dispatch time"));
  // A licence valid at the dispatch but expired when it was recorded fails the licensing rule.
  ShipmentFacts to_japan = GalliumShipment(ga, "JP", Day(2025, 3, 1));
  to_japan.licence = GalliumLicence();
  ASSERT_EQ(Ship(kLicensing, kGaGe, to_japan).outcome, Outcome::kPass);
  to_japan.late_recorded_time = to_japan.licence->valid_until + absl::Hours(24);
  const Verdict expired = Ship(kLicensing, kGaGe, to_japan);
  EXPECT_EQ(expired.outcome, Outcome::kFail);
  // It names the time it was judged at for what it is: the recording, not the dispatch.
  EXPECT_THAT(expired.summary, HasSubstr("not when recorded on"));
  EXPECT_THAT(expired.summary, Not(HasSubstr("not at dispatch on")));
}

TEST(ChinaUsBan, ChineseAntimonyReexportedThroughThailandFails) {
  const OriginProfile bags = ThaiBaggedChineseOxide();
  const ShipmentFacts s = Shipment(
      "TH", "US", "TH", {{"ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000, &bags}},
      Day(2025, 2, 1));
  const std::vector<Verdict> verdicts = EvaluateShipment(Set(kLicensing), s);
  const Verdict ban = Of(verdicts, kBan);
  EXPECT_EQ(ban.outcome, Outcome::kFail) << ToString(ban);
  ASSERT_EQ(ban.evidence.size(), 1u);
  EXPECT_THAT(ban.evidence[0].note, HasSubstr("re-exported through TH"));
  // China's licensing concerns goods leaving China, not Thailand.
  EXPECT_EQ(Of(verdicts, "cn-licence-antimony").outcome, Outcome::kNotApplicable);
}

TEST(ChinaUsBan, NonChineseAntimonyToTheUsPassesAndUntracedIsInsufficient) {
  const OriginProfile mx = MexicanOxide();
  const ShipmentFacts mexican =
      Shipment("MX", "US", "MX", {{"mx-ox-1", Material::kAntimonyOxide, "282580", 1000, &mx}});
  EXPECT_EQ(Ship(kLicensing, kBan, mexican).outcome, Outcome::kPass);
  const ShipmentFacts untraced =
      Shipment("MX", "US", "MX", {{"loose", Material::kAntimonyOxide, "282580", 1000, nullptr}});
  EXPECT_EQ(Ship(kLicensing, kBan, untraced).outcome, Outcome::kInsufficientData);
  const OriginProfile ga = ChineseGallium();
  EXPECT_EQ(Ship(kLicensing, kBan, GalliumShipment(ga, "JP")).outcome, Outcome::kNotApplicable);
}

TEST(ShipmentRules, ShipmentRulesDoNotApplyToDomesticMoves) {
  // Chinese antimony oxide moved between two US warehouses: nothing leaves a country, so no
  // shipment rule applies (it was judged when it entered the US).
  const OriginProfile bags = ThaiBaggedChineseOxide();
  const ShipmentFacts us_to_us = Shipment(
      "US", "US", "TH", {{"ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000, &bags}},
      Day(2025, 2, 1));
  for (const Verdict& v : EvaluateShipment(Set(kLicensing), us_to_us)) {
    EXPECT_EQ(v.outcome, Outcome::kNotApplicable) << ToString(v);
  }
  const Verdict ban = Ship(kLicensing, kBan, us_to_us);
  EXPECT_THAT(ban.summary, HasSubstr("does not leave a country"));
  EXPECT_EQ(Ship("transshipment", "transshipment-declared-origin", us_to_us).outcome,
            Outcome::kNotApplicable);
  // Chinese gallium moved within China: neither licensing nor the ban applies.
  const OriginProfile ga = ChineseGallium();
  const ShipmentFacts cn_to_cn = GalliumShipment(ga, "CN", Day(2025, 3, 1));
  for (const Verdict& v : EvaluateShipment(Set(kLicensing), cn_to_cn)) {
    EXPECT_EQ(v.outcome, Outcome::kNotApplicable) << ToString(v);
  }
  // The same Thai bags shipped from Thailand to the US still fail both.
  const ShipmentFacts th_to_us = Shipment(
      "TH", "US", "TH", {{"ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000, &bags}},
      Day(2025, 2, 1));
  EXPECT_EQ(Ship(kLicensing, kBan, th_to_us).outcome, Outcome::kFail);
  EXPECT_EQ(Ship("transshipment", "transshipment-declared-origin", th_to_us).outcome,
            Outcome::kFail);
}

// ---- Verdict helpers ----

TEST(ComplianceVerdicts, CombineRanksFailOverInsufficientOverPass) {
  auto with = [](std::vector<Outcome> outcomes) {
    std::vector<Verdict> v;
    for (Outcome o : outcomes) {
      Verdict x;
      x.outcome = o;
      v.push_back(x);
    }
    return Combine(v);
  };
  EXPECT_EQ(with({}), Outcome::kNotApplicable);
  EXPECT_EQ(with({Outcome::kNotApplicable, Outcome::kNotInForce}), Outcome::kNotInForce);
  EXPECT_EQ(with({Outcome::kNotInForce, Outcome::kPass}), Outcome::kPass);
  EXPECT_EQ(with({Outcome::kPass, Outcome::kInsufficientData}), Outcome::kInsufficientData);
  EXPECT_EQ(with({Outcome::kInsufficientData, Outcome::kFail, Outcome::kPass}), Outcome::kFail);
}

TEST(ComplianceVerdicts, NamesAreStableForPrintingAndPersistence) {
  EXPECT_EQ(OutcomeName(Outcome::kPass), "pass");
  EXPECT_EQ(OutcomeName(Outcome::kFail), "fail");
  EXPECT_EQ(OutcomeName(Outcome::kNotInForce), "not_in_force");
  EXPECT_EQ(OutcomeName(Outcome::kNotApplicable), "not_applicable");
  EXPECT_EQ(OutcomeName(Outcome::kInsufficientData), "insufficient_data");
  EXPECT_EQ(ShareBasisName(ShareBasis::kMass), "mass");
  EXPECT_EQ(ShareBasisName(ShareBasis::kValue), "value");
  EXPECT_EQ(RuleKindName(RuleKind::kStageConcentration), "stage_concentration");
  EXPECT_EQ(LevelOf(RuleKind::kExportBan), RuleLevel::kShipment);
  EXPECT_EQ(LevelOf(RuleKind::kUnspecified), std::nullopt);
}

TEST(ComplianceVerdicts, EvaluatorsSkipRulesOfOtherLevels) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation, "");
  const LotFacts lot{"magnets", Material::kNdfebMagnet, "850511", magnet, std::nullopt};
  EXPECT_THAT(EvaluateLot(Set("transshipment"), lot, kNoParents, Day(2026, 1, 1)), IsEmpty());
  EXPECT_THAT(EvaluateLot(Set("eu-crma"), lot, kNoParents, Day(2026, 1, 1)), IsEmpty());
  const PortfolioFacts portfolio{"p", Material::kNdfebMagnet, magnet, 900'000};
  EXPECT_THAT(EvaluatePortfolio(Set("dfars"), portfolio, Day(2026, 1, 1)), IsEmpty());
  const Verdict v =
      Of(EvaluateLot(Set("dfars"), lot, kNoParents, Day(2027, 1, 2)), "dfars-all-stages");
  EXPECT_EQ(v.rule_set, "dfars");
  EXPECT_EQ(v.rule_set_version, 1);
  EXPECT_THAT(ToString(v), HasSubstr("dfars/dfars-all-stages fail: "));
}

}  // namespace
}  // namespace lodestone::domain
