// Unit tests of the origin math, and the DESIGN.md section 1 cases as pure math. Each test is
// named after the failure it catches.
#include "services/domain/origin.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/domain/fixtures.h"

namespace lodestone::domain {
namespace {

using namespace testing_fixtures;  // NOLINT: Must, Facility, Output and the golden-case cast

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kEps = 1e-12;

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

LotRegistered Registered(Material material, std::string origin, Grams g, int64_t value_minor = 0,
                         std::string currency = "") {
  LotRegistered lot;
  lot.lot_id = "reg";
  lot.material = material;
  lot.hs_code = "282580";
  lot.mass_g = g;
  lot.facility_id = "f";
  lot.origin_country = std::move(origin);
  lot.value_minor = value_minor;
  lot.currency = std::move(currency);
  return lot;
}

// ---- Tables ----

TEST(OriginTables, StageOfMapsEachProcessAsDocumented) {
  EXPECT_EQ(StageOf(Process::kSeparation), Stage::kSeparation);
  EXPECT_EQ(StageOf(Process::kRefining), Stage::kRefining);
  EXPECT_EQ(StageOf(Process::kSmelting), Stage::kRefining);
  EXPECT_EQ(StageOf(Process::kMetalMaking), Stage::kMetal);
  EXPECT_EQ(StageOf(Process::kAlloying), Stage::kAlloy);
  EXPECT_EQ(StageOf(Process::kMagnetMaking), Stage::kComponent);
  EXPECT_EQ(StageOf(Process::kRecycling), Stage::kRecycling);
  EXPECT_EQ(StageOf(Process::kRepackaging), std::nullopt);
  EXPECT_EQ(StageOf(Process::kBlending), std::nullopt);
  EXPECT_EQ(StageOf(Process::kSplitting), std::nullopt);
  EXPECT_EQ(StageOf(Process::kUnspecified), std::nullopt);
}

TEST(OriginTables, EveryMaterialImpliesMiningSoMiningCoverageNeverDrops) {
  for (int m = 1; m <= kMaterialMax; ++m) {
    std::span<const Stage> stages = ImpliedStages(static_cast<Material>(m));
    ASSERT_FALSE(stages.empty()) << m;
    EXPECT_EQ(stages[0], Stage::kMining) << m;
  }
  EXPECT_TRUE(ImpliedStages(Material::kUnspecified).empty());
}

TEST(OriginTables, ImpliedStagesFollowTheDocumentedTable) {
  EXPECT_THAT(ImpliedStages(Material::kAntimonyOre), ElementsAre(Stage::kMining));
  EXPECT_THAT(ImpliedStages(Material::kScrap), ElementsAre(Stage::kMining));
  EXPECT_THAT(ImpliedStages(Material::kRareEarthCompound),
              ElementsAre(Stage::kMining, Stage::kSeparation));
  EXPECT_THAT(ImpliedStages(Material::kAntimonyOxide),
              ElementsAre(Stage::kMining, Stage::kRefining));
  EXPECT_THAT(ImpliedStages(Material::kAntimonyMetal),
              ElementsAre(Stage::kMining, Stage::kRefining, Stage::kMetal));
  EXPECT_THAT(ImpliedStages(Material::kRareEarthMetal),
              ElementsAre(Stage::kMining, Stage::kSeparation, Stage::kMetal));
  EXPECT_THAT(ImpliedStages(Material::kNdfebAlloy),
              ElementsAre(Stage::kMining, Stage::kSeparation, Stage::kMetal, Stage::kAlloy));
  EXPECT_THAT(ImpliedStages(Material::kNdfebMagnet),
              ElementsAre(Stage::kMining, Stage::kSeparation, Stage::kMetal, Stage::kAlloy,
                          Stage::kComponent));
  EXPECT_THAT(ImpliedStages(Material::kIron), ElementsAre(Stage::kMining));
  EXPECT_EQ(SourceRole(Material::kRareEarthOre), RouteRole::kMined);
  EXPECT_EQ(SourceRole(Material::kIron), RouteRole::kProcessed);
}

TEST(OriginTables, DefaultCustomsPolicyIgnoresRepackagingBlendingSplitting) {
  const CustomsPolicy policy = CustomsPolicy::Default();
  EXPECT_EQ(policy.For(Process::kSmelting), SubstantialTransformationTest::kHsHeadingChange);
  EXPECT_EQ(policy.For(Process::kMagnetMaking), SubstantialTransformationTest::kHsHeadingChange);
  EXPECT_EQ(policy.For(Process::kRepackaging), SubstantialTransformationTest::kNever);
  EXPECT_EQ(policy.For(Process::kBlending), SubstantialTransformationTest::kNever);
  EXPECT_EQ(policy.For(Process::kSplitting), SubstantialTransformationTest::kNever);
}

// ---- Extracted, registered ----

TEST(OriginOfExtracted, OreHasGoneThroughMiningOnly) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  EXPECT_THAT(ore.stage(Stage::kMining), ElementsAre(KeyShare{"CN", 1.0}));
  for (Stage s : AllStages()) {
    if (s != Stage::kMining) {
      EXPECT_TRUE(ore.stage(s).empty()) << StageName(s);
    }
  }
  EXPECT_EQ(ore.customs_origin, "CN");
  EXPECT_THAT(ore.route, ElementsAre(RouteEntry{"CN", RouteRole::kMined, 1.0}));
  EXPECT_THAT(ore.regions, ElementsAre(KeyShare{"CN-HN", 1.0}));
  EXPECT_THAT(ore.parties, ElementsAre(KeyShare{"hsn-mining", 1.0}));
  EXPECT_EQ(ore.value.gap, ValueGap::kNone);
  EXPECT_THAT(ore.value.stage(Stage::kMining), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_TRUE(ore.value.stage(Stage::kSeparation).empty());
  EXPECT_FALSE(ore.value.total.has_value());
}

TEST(OriginOfExtracted, EvenAProcessedMaterialFromAMineIsOnlyMined) {
  const OriginProfile p = Must(OriginOfExtracted(Material::kRareEarthCompound, kUsMine));
  EXPECT_DOUBLE_EQ(StageCoverage(p, Stage::kMining), 1.0);
  EXPECT_DOUBLE_EQ(StageCoverage(p, Stage::kSeparation), 0.0);
}

TEST(OriginOfRegistered, DeclaredOriginFillsEveryImpliedStage) {
  const OriginProfile p = Must(
      OriginOfRegistered(Registered(Material::kRareEarthMetal, "CN", 1000, 5000, "USD"), kVnMetal));
  EXPECT_THAT(p.stage(Stage::kMining), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_THAT(p.stage(Stage::kSeparation), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_THAT(p.stage(Stage::kMetal), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_TRUE(p.stage(Stage::kRefining).empty());
  EXPECT_TRUE(p.stage(Stage::kAlloy).empty());
  EXPECT_EQ(p.customs_origin, "CN");
  EXPECT_THAT(p.route, ElementsAre(RouteEntry{"CN", RouteRole::kProcessed, 1.0},
                                   RouteEntry{"VN", RouteRole::kStored, 1.0}));
  EXPECT_THAT(p.regions, ElementsAre(KeyShare{"VN-HN", 1.0}));
  EXPECT_THAT(p.parties, ElementsAre(KeyShare{"vn-metals", 1.0}));
  ASSERT_TRUE(p.value.total.has_value());
  EXPECT_EQ(*p.value.total, (LotValue{5000, "USD", 1000}));
}

TEST(OriginOfRegistered, MissingOriginIsUnknownNotSilentlyDropped) {
  const OriginProfile p =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "", 1000), kThWarehouse));
  EXPECT_THAT(p.stage(Stage::kMining), ElementsAre(KeyShare{std::string(kUnknownCountry), 1.0}));
  EXPECT_THAT(p.stage(Stage::kRefining), ElementsAre(KeyShare{std::string(kUnknownCountry), 1.0}));
  EXPECT_EQ(p.customs_origin, "");
  EXPECT_DOUBLE_EQ(RouteShare(p, kUnknownCountry, RouteRole::kProcessed), 1.0);
  EXPECT_TRUE(CountriesAtAnyStage(p).empty());
  EXPECT_FALSE(p.value.total.has_value());
}

TEST(OriginOfRegistered, RegisteredOreIsMinedAtItsDeclaredOrigin) {
  const OriginProfile p =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOre, "BO", 1000), kMxSmelter));
  EXPECT_DOUBLE_EQ(RouteShare(p, "BO", RouteRole::kMined), 1.0);
  EXPECT_DOUBLE_EQ(RouteShare(p, "BO", RouteRole::kProcessed), 0.0);
}

TEST(OriginValidation, MalformedInputsAreRejectedNotFolded) {
  EXPECT_EQ(OriginOfExtracted(Material::kUnspecified, kCnMine).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OriginOfExtracted(Material::kAntimonyOre, Facility("XX", "", "", FacilityKind::kMine))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      OriginOfExtracted(Material::kAntimonyOre, Facility("CN", "Xinjiang", "", FacilityKind::kMine))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      OriginOfRegistered(Registered(Material::kAntimonyOxide, "cn", 1), kCnSmelter).status().code(),
      absl::StatusCode::kInvalidArgument);

  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const std::vector<LotOutput> out = {Output("o", Material::kAntimonyOxide, "282580", 10)};
  const std::vector<TrackedInput> none;
  const std::vector<UntrackedInput> no_untracked;
  absl::StatusOr<std::vector<OriginProfile>> r =
      OriginOfTransformed(Process::kSmelting, kCnSmelter, none, no_untracked, out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("no inputs"));

  std::vector<TrackedInput> twice = {Input("a", "261710", 5, ore), Input("a", "261710", 5, ore)};
  r = OriginOfTransformed(Process::kSmelting, kCnSmelter, twice, no_untracked, out);
  EXPECT_THAT(r.status().message(), HasSubstr("repeats"));

  std::vector<TrackedInput> null_profile = {TrackedInput{"a", "261710", 5, nullptr}};
  r = OriginOfTransformed(Process::kSmelting, kCnSmelter, null_profile, no_untracked, out);
  EXPECT_THAT(r.status().message(), HasSubstr("no profile"));

  std::vector<TrackedInput> bad_hs = {Input("a", "26.17", 5, ore)};
  r = OriginOfTransformed(Process::kSmelting, kCnSmelter, bad_hs, no_untracked, out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<TrackedInput> zero = {Input("a", "261710", 0, ore)};
  r = OriginOfTransformed(Process::kSmelting, kCnSmelter, zero, no_untracked, out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<TrackedInput> one = {Input("a", "261710", 5, ore)};
  r = OriginOfTransformed(Process::kUnspecified, kCnSmelter, one, no_untracked, out);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<LotOutput> no_outputs;
  r = OriginOfTransformed(Process::kSmelting, kCnSmelter, one, no_untracked, no_outputs);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- Transformed ----

TEST(OriginOfTransformed, WeighsByConsumedMassNotOutputMass) {
  const OriginProfile cn = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile bo = Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine));
  // 300 g CN + 100 g BO consumed; the output weighs 50 g (losses). Shares are 3/4 and 1/4.
  const OriginProfile oxide =
      TransformOne(Process::kSmelting, kMxSmelter,
                   {Input("cn", "261710", 300, cn), Input("bo", "261710", 100, bo)}, {},
                   Output("ox", Material::kAntimonyOxide, "282580", 50));
  EXPECT_NEAR(CountryShare(oxide, Stage::kMining, "CN"), 0.75, kEps);
  EXPECT_NEAR(CountryShare(oxide, Stage::kMining, "BO"), 0.25, kEps);
  EXPECT_THAT(oxide.stage(Stage::kRefining), ElementsAre(KeyShare{"MX", 1.0}));
  EXPECT_NEAR(RouteShare(oxide, "CN", RouteRole::kMined), 0.75, kEps);
  EXPECT_DOUBLE_EQ(RouteShare(oxide, "MX", RouteRole::kProcessed), 1.0);
  EXPECT_NEAR(ShareOf(oxide.regions, "BO-P"), 0.25, kEps);
  EXPECT_DOUBLE_EQ(ShareOf(oxide.regions, "MX-SLP"), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(oxide.parties, "mx-smelting"), 1.0);
}

TEST(OriginOfTransformed, ProcessStageReplacesEarlierCountriesOfThatStage) {
  // Re-refining in MX of an oxide refined in CN: refining is where it happened last.
  const OriginProfile cn_oxide =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "CN", 1000), kMxSmelter));
  const OriginProfile re_refined =
      TransformOne(Process::kRefining, kMxSmelter, {Input("ox", "282580", 1000, cn_oxide)}, {},
                   Output("ox2", Material::kAntimonyOxide, "282580", 990));
  EXPECT_THAT(re_refined.stage(Stage::kRefining), ElementsAre(KeyShare{"MX", 1.0}));
  EXPECT_THAT(re_refined.stage(Stage::kMining), ElementsAre(KeyShare{"CN", 1.0}));
}

TEST(OriginOfTransformed, RepackagingStoresButNeverProcesses) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile bagged =
      TransformOne(Process::kRepackaging, kThWarehouse, {Input("ore", "261710", 100, ore)}, {},
                   Output("bag", Material::kAntimonyOre, "261710", 100));
  EXPECT_DOUBLE_EQ(RouteShare(bagged, "TH", RouteRole::kStored), 1.0);
  EXPECT_DOUBLE_EQ(RouteShare(bagged, "TH", RouteRole::kProcessed), 0.0);
  for (Stage s : AllStages()) EXPECT_EQ(bagged.stage(s), ore.stage(s)) << StageName(s);
  EXPECT_EQ(bagged.customs_origin, "CN");
}

TEST(OriginOfTransformed, SplitGivesEveryOutputTheSameProfile) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const std::vector<TrackedInput> in = {Input("ore", "261710", 100, ore)};
  const std::vector<UntrackedInput> untracked;
  const std::vector<LotOutput> out = {Output("a", Material::kAntimonyOre, "261710", 30),
                                      Output("b", Material::kAntimonyOre, "261710", 70)};
  const std::vector<OriginProfile> parts =
      Must(OriginOfTransformed(Process::kSplitting, kCnPort, in, untracked, out));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], parts[1]);
}

TEST(OriginOfTransformed, UntrackedInputCountsWithDeclaredCountryOrUnknown) {
  const OriginProfile metal =
      Must(OriginOfRegistered(Registered(Material::kRareEarthMetal, "VN", 300), kJpMagnet));
  const OriginProfile alloy = TransformOne(
      Process::kAlloying, kJpMagnet, {Input("m", "280530", 300, metal)},
      {UntrackedInput{Material::kIron, 600, ""}, UntrackedInput{Material::kBoron, 100, "TR"}},
      Output("alloy", Material::kNdfebAlloy, "720299", 1000));
  EXPECT_NEAR(CountryShare(alloy, Stage::kMining, "VN"), 0.3, kEps);
  EXPECT_NEAR(CountryShare(alloy, Stage::kMining, kUnknownCountry), 0.6, kEps);
  EXPECT_NEAR(CountryShare(alloy, Stage::kMining, "TR"), 0.1, kEps);
  EXPECT_NEAR(StageCoverage(alloy, Stage::kSeparation), 0.3, kEps);  // iron was never separated
  EXPECT_NEAR(RouteShare(alloy, kUnknownCountry, RouteRole::kProcessed), 0.6, kEps);
  EXPECT_NEAR(RouteShare(alloy, "TR", RouteRole::kProcessed), 0.1, kEps);
  // Untracked inputs add no region or party: only the facility's, and the metal's (JP).
  EXPECT_THAT(alloy.regions, ElementsAre(KeyShare{"JP-13", 1.0}));
  EXPECT_THAT(alloy.parties, ElementsAre(KeyShare{"jp-magnets", 1.0}));
}

TEST(OriginOfTransformed, ReturningToAFacilitySetsItsShareToOneNotMore) {
  const OriginProfile cn = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile bo = Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine));
  const OriginProfile mx_first =
      TransformOne(Process::kSmelting, kMxSmelter, {Input("bo", "261710", 500, bo)}, {},
                   Output("mx1", Material::kAntimonyOxide, "282580", 500));
  const OriginProfile mixed =
      TransformOne(Process::kRefining, kMxSmelter,
                   {Input("mx1", "282580", 500, mx_first), Input("cn", "261710", 500, cn)}, {},
                   Output("mx2", Material::kAntimonyOxide, "282580", 900));
  EXPECT_DOUBLE_EQ(RouteShare(mixed, "MX", RouteRole::kProcessed), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(mixed.parties, "mx-smelting"), 1.0);
}

// ---- Customs origin ----

class CustomsOrigin : public ::testing::Test {
 protected:
  OriginProfile cn_ore_ = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  OriginProfile bo_ore_ = Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine));
};

TEST_F(CustomsOrigin, HeadingChangeMakesTheFacilityCountryTheOrigin) {
  const OriginProfile p =
      TransformOne(Process::kSmelting, kMxSmelter, {Input("cn", "261710", 100, cn_ore_)}, {},
                   Output("o", Material::kAntimonyOxide, "282580", 80));
  EXPECT_EQ(p.customs_origin, "MX");
}

TEST_F(CustomsOrigin, SameHeadingAsAnyTrackedInputKeepsTheLargestInputsOrigin) {
  // One input already under 2825: the 2825 output is not a heading change for it.
  const OriginProfile cn_oxide =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "CN", 1000), kMxSmelter));
  const OriginProfile p =
      TransformOne(Process::kRefining, kMxSmelter,
                   {Input("bo", "261710", 400, bo_ore_), Input("cn-ox", "282580", 600, cn_oxide)},
                   {}, Output("o", Material::kAntimonyOxide, "282590", 900));
  EXPECT_EQ(p.customs_origin, "CN");  // the largest tracked input is the CN oxide
}

TEST_F(CustomsOrigin, TieOnConsumedMassGoesToTheSmallestLotId) {
  const OriginProfile p =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("lot-b", "261710", 500, cn_ore_), Input("lot-a", "261710", 500, bo_ore_)},
                   {}, Output("o", Material::kAntimonyOre, "261710", 1000));
  EXPECT_EQ(p.customs_origin, "BO");  // lot-a < lot-b
  const OriginProfile q =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("lot-a", "261710", 500, cn_ore_), Input("lot-b", "261710", 500, bo_ore_)},
                   {}, Output("o", Material::kAntimonyOre, "261710", 1000));
  EXPECT_EQ(q.customs_origin, "CN");
}

TEST_F(CustomsOrigin, PolicyOverrideAlwaysAndNever) {
  CustomsPolicy policy = CustomsPolicy::Default();
  policy.Set(Process::kRepackaging, SubstantialTransformationTest::kAlways)
      .Set(Process::kSmelting, SubstantialTransformationTest::kNever);
  const OriginProfile repacked =
      TransformOne(Process::kRepackaging, kThWarehouse, {Input("cn", "261710", 100, cn_ore_)}, {},
                   Output("o", Material::kAntimonyOre, "261710", 100), policy);
  EXPECT_EQ(repacked.customs_origin, "TH");
  const OriginProfile smelted =
      TransformOne(Process::kSmelting, kMxSmelter, {Input("cn", "261710", 100, cn_ore_)}, {},
                   Output("o", Material::kAntimonyOxide, "282580", 80), policy);
  EXPECT_EQ(smelted.customs_origin, "CN");
}

TEST_F(CustomsOrigin, OutputsOfOneTransformationMayDifferInCustomsOriginOnly) {
  const std::vector<TrackedInput> in = {Input("cn", "261710", 100, cn_ore_)};
  const std::vector<UntrackedInput> untracked;
  const std::vector<LotOutput> out = {Output("oxide", Material::kAntimonyOxide, "282580", 60),
                                      Output("tailings", Material::kOther, "261790", 30)};
  const std::vector<OriginProfile> p =
      Must(OriginOfTransformed(Process::kSmelting, kMxSmelter, in, untracked, out));
  EXPECT_EQ(p[0].customs_origin, "MX");
  EXPECT_EQ(p[1].customs_origin, "CN");  // same heading 2617 as the input
  OriginProfile q = p[1];
  q.customs_origin = p[0].customs_origin;
  q.value = p[0].value;
  EXPECT_EQ(p[0], q);
}

TEST_F(CustomsOrigin, OnlyUntrackedInputsIsVacuouslyAHeadingChange) {
  const OriginProfile p = TransformOne(Process::kSmelting, kMxSmelter, {},
                                       {UntrackedInput{Material::kAntimonyOre, 100, "BO"}},
                                       Output("o", Material::kAntimonyOxide, "282580", 80));
  EXPECT_EQ(p.customs_origin, "MX");
}

TEST_F(CustomsOrigin, NotSubstantialWithOnlyUntrackedInputsTakesTheLargestDeclaredCountry) {
  const OriginProfile p = TransformOne(Process::kBlending, kUsWarehouse, {},
                                       {UntrackedInput{Material::kAntimonyOxide, 100, "TH"},
                                        UntrackedInput{Material::kAntimonyOxide, 300, "CN"},
                                        UntrackedInput{Material::kAntimonyOxide, 300, "MX"}},
                                       Output("o", Material::kAntimonyOxide, "282580", 700));
  EXPECT_EQ(p.customs_origin, "CN");  // 300 g, first listed among the largest
  EXPECT_NEAR(CountryShare(p, Stage::kRefining, "CN"), 3.0 / 7, kEps);
}

// ---- Arrival ----

TEST(OriginAfterArrival, PortIsTransitedEverythingElseStored) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile at_port = Must(OriginAfterArrival(ore, kCnPort));
  EXPECT_DOUBLE_EQ(RouteShare(at_port, "CN", RouteRole::kTransited), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(at_port.regions, "CN-GD"), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(at_port.parties, "shekou-port"), 1.0);
  const OriginProfile stored = Must(OriginAfterArrival(at_port, kThWarehouse));
  EXPECT_DOUBLE_EQ(RouteShare(stored, "TH", RouteRole::kStored), 1.0);
  EXPECT_EQ(stored.stages, ore.stages);
  EXPECT_EQ(stored.customs_origin, ore.customs_origin);
  EXPECT_EQ(stored.value, ore.value);
}

// ---- Value ----

TEST(OriginValue, MixIsWeightedByConsumedValueNotMass) {
  // 100 g of CN oxide worth 1000 and 100 g of MX oxide worth 3000: by mass 50/50, by value 25/75.
  const OriginProfile cn = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "CN", 100, 1000, "USD"), kUsWarehouse));
  const OriginProfile mx = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "MX", 200, 6000, "USD"), kUsWarehouse));
  const OriginProfile blend =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("cn", "282580", 100, cn), Input("mx", "282580", 100, mx)}, {},
                   Output("b", Material::kAntimonyOxide, "282580", 200, 4100, "USD"));
  EXPECT_NEAR(CountryShare(blend, Stage::kMining, "CN"), 0.5, kEps);
  ASSERT_EQ(blend.value.gap, ValueGap::kNone);
  EXPECT_NEAR(ValueCountryShare(blend, Stage::kMining, "CN"), 0.25, kEps);
  EXPECT_NEAR(ValueCountryShare(blend, Stage::kMining, "MX"), 0.75, kEps);
  EXPECT_NEAR(ValueCountryShare(blend, Stage::kRefining, "CN"), 0.25, kEps);  // implied
  EXPECT_EQ(blend.value.total, (LotValue{4100, "USD", 200}));
}

TEST(OriginValue, InputWithoutValueMakesSharesUnavailableDownstream) {
  const OriginProfile cn = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "CN", 100, 1000, "USD"), kUsWarehouse));
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine));
  const OriginProfile mixed =
      TransformOne(Process::kRefining, kMxSmelter,
                   {Input("cn", "282580", 100, cn), Input("o", "261710", 100, ore)}, {},
                   Output("b", Material::kAntimonyOxide, "282580", 150, 9000, "USD"));
  EXPECT_EQ(mixed.value.gap, ValueGap::kInputWithoutValue);
  for (Stage s : AllStages()) EXPECT_TRUE(mixed.value.stage(s).empty()) << StageName(s);
  // The refining done here is not recorded in value either: there are no value shares at all.
  EXPECT_DOUBLE_EQ(ValueStageCoverage(mixed, Stage::kRefining), 0.0);
  // A single-input transformation passes the gap on even though the mixed lot has a value.
  const OriginProfile next =
      TransformOne(Process::kRepackaging, kMxSmelter, {Input("b", "282580", 150, mixed)}, {},
                   Output("c", Material::kAntimonyOxide, "282580", 150));
  EXPECT_EQ(next.value.gap, ValueGap::kInputWithoutValue);
  EXPECT_THAT(ToString(next), HasSubstr("shares unavailable: input_without_value"));
}

TEST(OriginValue, UntrackedInputsCarryNoValueSoMixesWithThemAreUnavailable) {
  const OriginProfile metal = Must(OriginOfRegistered(
      Registered(Material::kRareEarthMetal, "VN", 300, 90000, "USD"), kJpMagnet));
  const OriginProfile alloy =
      TransformOne(Process::kAlloying, kJpMagnet, {Input("m", "280530", 300, metal)},
                   {UntrackedInput{Material::kIron, 600, "JP"}},
                   Output("a", Material::kNdfebAlloy, "720299", 900));
  EXPECT_EQ(alloy.value.gap, ValueGap::kInputWithoutValue);
}

TEST(OriginValue, CurrenciesAreNeverConverted) {
  const OriginProfile a = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "CN", 100, 1000, "USD"), kUsWarehouse));
  const OriginProfile b = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "MX", 100, 1000, "EUR"), kUsWarehouse));
  const OriginProfile mixed =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("a", "282580", 100, a), Input("b", "282580", 100, b)}, {},
                   Output("m", Material::kAntimonyOxide, "282580", 200));
  EXPECT_EQ(mixed.value.gap, ValueGap::kCurrencyMismatch);
}

TEST(OriginValue, PartialConsumptionUsesValuePerGram) {
  // lot a: 1000 g worth 1000 (1/g); lot b: 100 g worth 1000 (10/g). Consume 100 g of each.
  const OriginProfile a = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "CN", 1000, 1000, "USD"), kUsWarehouse));
  const OriginProfile b = Must(OriginOfRegistered(
      Registered(Material::kAntimonyOxide, "MX", 100, 1000, "USD"), kUsWarehouse));
  const OriginProfile mixed =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("a", "282580", 100, a), Input("b", "282580", 100, b)}, {},
                   Output("m", Material::kAntimonyOxide, "282580", 200));
  EXPECT_NEAR(ValueCountryShare(mixed, Stage::kMining, "CN"), 100.0 / 1100, kEps);
  EXPECT_NEAR(ValueCountryShare(mixed, Stage::kMining, "MX"), 1000.0 / 1100, kEps);
}

TEST(OriginValue, ValueSharesAreKeptPerStageApartFromMassShares) {
  // 100 g of CN-separated compound at 90/g and 900 g of MY-separated compound at 10/g make metal
  // in VN: 10% CN by mass, 50% by value. The metal (1000 g, 30 per g) and 2000 g of Australian
  // iron (1 per g), both registered lots with values, make magnets in JP.
  const OriginProfile cn = Must(OriginOfRegistered(
      Registered(Material::kRareEarthCompound, "CN", 100, 9'000, "USD"), kVnMetal));
  const OriginProfile my = Must(OriginOfRegistered(
      Registered(Material::kRareEarthCompound, "MY", 900, 9'000, "USD"), kVnMetal));
  const OriginProfile metal =
      TransformOne(Process::kMetalMaking, kVnMetal,
                   {Input("cn", "284690", 100, cn), Input("my", "284690", 900, my)}, {},
                   Output("metal", Material::kRareEarthMetal, "280530", 1'000, 30'000, "USD"));
  ASSERT_EQ(metal.value.gap, ValueGap::kNone);
  EXPECT_DOUBLE_EQ(CountryShare(metal, Stage::kSeparation, "CN"), 0.1);
  EXPECT_THAT(metal.value.stage(Stage::kSeparation),
              ElementsAre(KeyShare{"CN", 0.5}, KeyShare{"MY", 0.5}));
  EXPECT_THAT(metal.value.stage(Stage::kMining),
              ElementsAre(KeyShare{"CN", 0.5}, KeyShare{"MY", 0.5}));
  // The process's stage is done here for the whole value, as for the whole mass.
  EXPECT_THAT(metal.value.stage(Stage::kMetal), ElementsAre(KeyShare{"VN", 1.0}));

  const OriginProfile iron =
      Must(OriginOfRegistered(Registered(Material::kIron, "AU", 2'000, 2'000, "USD"), kJpMagnet));
  const OriginProfile magnet =
      TransformOne(Process::kMagnetMaking, kJpMagnet,
                   {Input("metal", "280530", 1'000, Must(OriginAfterArrival(metal, kJpMagnet))),
                    Input("iron", "720299", 2'000, iron)},
                   {}, Output("magnet", Material::kNdfebMagnet, "850511", 3'000));
  ASSERT_EQ(magnet.value.gap, ValueGap::kNone);
  // Value weights: metal 30,000 / 32,000 = 0.9375, iron 0.0625. Mass weights: 1/3, 2/3.
  EXPECT_NEAR(StageCoverage(magnet, Stage::kSeparation), 1.0 / 3, kEps);
  EXPECT_DOUBLE_EQ(ValueStageCoverage(magnet, Stage::kSeparation), 0.9375);
  EXPECT_THAT(magnet.value.stage(Stage::kSeparation),
              ElementsAre(KeyShare{"CN", 0.46875}, KeyShare{"MY", 0.46875}));
  EXPECT_THAT(
      magnet.value.stage(Stage::kMining),
      ElementsAre(KeyShare{"AU", 0.0625}, KeyShare{"CN", 0.46875}, KeyShare{"MY", 0.46875}));
  EXPECT_THAT(magnet.value.stage(Stage::kMetal), ElementsAre(KeyShare{"VN", 0.9375}));
  EXPECT_THAT(magnet.value.stage(Stage::kComponent), ElementsAre(KeyShare{"JP", 1.0}));
  EXPECT_TRUE(magnet.value.stage(Stage::kAlloy).empty());
  EXPECT_FALSE(magnet.value.total.has_value());  // the output declared none
  EXPECT_THAT(ToString(magnet), HasSubstr("by_separation{CN:0.46875 MY:0.46875}"));
}

TEST(OriginValue, OneValuedAndOneUnvaluedInputGiveNoValueSharesAtAnyStage) {
  const OriginProfile cn = Must(OriginOfRegistered(
      Registered(Material::kRareEarthCompound, "CN", 100, 9'000, "USD"), kVnMetal));
  const OriginProfile my =
      Must(OriginOfRegistered(Registered(Material::kRareEarthCompound, "MY", 900), kVnMetal));
  const OriginProfile metal =
      TransformOne(Process::kMetalMaking, kVnMetal,
                   {Input("cn", "284690", 100, cn), Input("my", "284690", 900, my)}, {},
                   Output("metal", Material::kRareEarthMetal, "280530", 1'000, 30'000, "USD"));
  EXPECT_EQ(metal.value.gap, ValueGap::kInputWithoutValue);
  for (Stage s : AllStages()) EXPECT_TRUE(metal.value.stage(s).empty()) << StageName(s);
  EXPECT_DOUBLE_EQ(CountryShare(metal, Stage::kSeparation, "CN"), 0.1);  // mass is unaffected
  EXPECT_EQ(metal.value.total, (LotValue{30'000, "USD", 1'000}));
}

TEST(OriginValue, ASingleInputNeedsNoValueAndItsProcessSetsTheValueStage) {
  // Extracted ore has no value, but a single source needs none: separating it in CN gives the
  // compound value shares mining {US: 1}, separation {CN: 1}.
  const OriginProfile ore = Must(OriginOfExtracted(Material::kRareEarthOre, kUsMine));
  const OriginProfile compound =
      TransformOne(Process::kSeparation, kCnSeparation,
                   {Input("ore", "253090", 1'000, Must(OriginAfterArrival(ore, kCnSeparation)))},
                   {}, Output("compound", Material::kRareEarthCompound, "284690", 100));
  ASSERT_EQ(compound.value.gap, ValueGap::kNone);
  EXPECT_THAT(compound.value.stage(Stage::kMining), ElementsAre(KeyShare{"US", 1.0}));
  EXPECT_THAT(compound.value.stage(Stage::kSeparation), ElementsAre(KeyShare{"CN", 1.0}));
  OriginProfile other = compound;
  other.value.by_stage[static_cast<int>(Stage::kSeparation)] = {KeyShare{"MY", 1.0}};
  EXPECT_FALSE(ProfilesNear(compound, other, 0.5));  // value stages are compared too
}

// ---- Bounds ----

TEST(OriginBounds, PartiesBeyondTheCapMergeIntoOtherInsteadOfGrowingWithoutBound) {
  // 1100 lots, each through a different operator, blended: every party at 1/1100.
  std::vector<OriginProfile> lots;
  lots.reserve(1100);
  for (int i = 0; i < 1100; ++i) {
    lots.push_back(Must(OriginOfExtracted(
        Material::kAntimonyOre,
        Facility("CN", "CN-HN", "party-" + std::to_string(10000 + i), FacilityKind::kMine))));
  }
  std::vector<TrackedInput> inputs;
  for (int i = 0; i < 1100; ++i) {
    inputs.push_back(Input("lot-" + std::to_string(i), "261710", i < 100 ? 2 : 1, lots[i]));
  }
  const OriginProfile p = TransformOne(Process::kBlending, kUsWarehouse, inputs, {},
                                       Output("b", Material::kAntimonyOre, "261710", 1200));
  EXPECT_EQ(p.parties.size(), kMaxPartyEntries);
  EXPECT_TRUE(HasMergedEntries(p));
  // The heavier inputs (2 g) and the facility's own operator are all kept.
  EXPECT_DOUBLE_EQ(ShareOf(p.parties, "us-importer"), 1.0);
  EXPECT_NEAR(ShareOf(p.parties, "party-10000"), 2.0 / 1200, kEps);
  // 1101 keys: 1023 stay (the operator, the 100 heavy, the 922 light with the smallest ids); the
  // other 78 light ones merge, their shares adding up in kOtherKey.
  const size_t light_kept = kMaxPartyEntries - 1 - 1 - 100;
  const size_t light_merged = 1000 - light_kept;
  EXPECT_NEAR(ShareOf(p.parties, kOtherKey), light_merged / 1200.0, 1e-9);
  // Sorted, unique keys.
  for (size_t i = 1; i < p.parties.size(); ++i) EXPECT_LT(p.parties[i - 1].key, p.parties[i].key);
  EXPECT_FALSE(HasMergedEntries(lots[0]));
}

// ---- Queries and printing ----

TEST(OriginQueries, CountriesAtAnyStageIsSortedUniqueWithoutUnknown) {
  const OriginProfile metal =
      Must(OriginOfRegistered(Registered(Material::kRareEarthMetal, "CN", 300), kJpMagnet));
  const OriginProfile magnet =
      TransformOne(Process::kMagnetMaking, kJpMagnet, {Input("m", "280530", 300, metal)},
                   {UntrackedInput{Material::kIron, 650, ""}},
                   Output("mag", Material::kNdfebMagnet, "850511", 900));
  EXPECT_THAT(CountriesAtAnyStage(magnet), ElementsAre("CN", "JP"));
}

TEST(OriginQueries, ProfilesNearToleratesRoundingButNotMissingKeys) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  OriginProfile close = ore;
  close.stages[0][0].share = 1.0 - 1e-13;
  EXPECT_TRUE(ProfilesNear(ore, close, 1e-12));
  EXPECT_FALSE(ore == close);
  OriginProfile extra = ore;
  extra.regions.push_back(KeyShare{"CN-XJ", 1e-6});
  EXPECT_FALSE(ProfilesNear(ore, extra, 1e-9));
  EXPECT_TRUE(ProfilesNear(ore, extra, 1e-5));
  OriginProfile other_customs = ore;
  other_customs.customs_origin = "TH";
  EXPECT_FALSE(ProfilesNear(ore, other_customs, 1.0));
}

TEST(OriginQueries, ToStringIsCompactAndComplete) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  EXPECT_EQ(ToString(ore),
            "customs=CN mining{CN:1} route{CN/mined:1} regions{CN-HN:1} "
            "parties{hsn-mining:1} value{by_mining{CN:1}}");
  // Value shares are printed per stage, like the mass shares.
  const OriginProfile unknown = Must(
      OriginOfRegistered(Registered(Material::kAntimonyOxide, "", 10, 7, "USD"), kThWarehouse));
  EXPECT_EQ(ToString(unknown),
            "customs=unknown mining{??:1} refining{??:1} route{?\?/processed:1 TH/stored:1} "
            "regions{TH-20:1} parties{th-affiliate:1} value{7 USD/10g by_mining{??:1} "
            "by_refining{??:1}}");
}

// ---- DESIGN.md section 1, as pure math ----

// Chinese antimony ore mined and smelted in CN, shipped through a CN port to a Thai warehouse
// and re-bagged there: Thailand never becomes the origin, but the route shows it.
TEST(OriginGolden, ChineseOxideRebaggedInThailandStaysChinese) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile at_smelter = Must(OriginAfterArrival(ore, kCnSmelter));
  const OriginProfile oxide = TransformOne(
      Process::kSmelting, kCnSmelter, {Input("ore-1", "261710", 10'000'000, at_smelter)}, {},
      Output("ox-1", Material::kAntimonyOxide, "2825800010", 8'000'000, 9'600'000'00, "USD"));
  EXPECT_EQ(oxide.customs_origin, "CN");
  OriginProfile shipped = Must(OriginAfterArrival(oxide, kCnPort));
  shipped = Must(OriginAfterArrival(shipped, kThWarehouse));
  const OriginProfile bags = TransformOne(
      Process::kRepackaging, kThWarehouse, {Input("ox-1", "2825800010", 8'000'000, shipped)}, {},
      Output("ox-th-1", Material::kAntimonyOxide, "2825800010", 8'000'000));

  EXPECT_EQ(bags.customs_origin, "CN");
  EXPECT_THAT(bags.stage(Stage::kMining), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_THAT(bags.stage(Stage::kRefining), ElementsAre(KeyShare{"CN", 1.0}));
  EXPECT_THAT(CountriesAtAnyStage(bags), ElementsAre("CN"));
  EXPECT_THAT(bags.route, ElementsAre(RouteEntry{"CN", RouteRole::kMined, 1.0},
                                      RouteEntry{"CN", RouteRole::kProcessed, 1.0},
                                      RouteEntry{"CN", RouteRole::kTransited, 1.0},
                                      RouteEntry{"CN", RouteRole::kStored, 1.0},
                                      RouteEntry{"TH", RouteRole::kStored, 1.0}));
  EXPECT_DOUBLE_EQ(ShareOf(bags.parties, "th-affiliate"), 1.0);
  EXPECT_DOUBLE_EQ(ShareOf(bags.parties, "hsn-smelting"), 1.0);
}

// Bolivian and Chinese ore smelted to oxide in Mexico: Mexico is the customs origin, mining is
// split by mass.
TEST(OriginGolden, BolivianAndChineseOreSmeltedInMexicoIsMexicanWithMixedMining) {
  const OriginProfile bo = Must(
      OriginAfterArrival(Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine)), kMxSmelter));
  const OriginProfile cn = Must(OriginAfterArrival(
      Must(OriginAfterArrival(Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine)), kCnPort)),
      kMxSmelter));
  const OriginProfile oxide =
      TransformOne(Process::kSmelting, kMxSmelter,
                   {Input("bo-1", "261710", 6'000'000, bo), Input("cn-1", "261710", 4'000'000, cn)},
                   {}, Output("mx-ox-1", Material::kAntimonyOxide, "282580", 7'500'000));
  EXPECT_EQ(oxide.customs_origin, "MX");
  EXPECT_NEAR(CountryShare(oxide, Stage::kMining, "BO"), 0.6, kEps);
  EXPECT_NEAR(CountryShare(oxide, Stage::kMining, "CN"), 0.4, kEps);
  EXPECT_THAT(oxide.stage(Stage::kRefining), ElementsAre(KeyShare{"MX", 1.0}));
  EXPECT_NEAR(RouteShare(oxide, "CN", RouteRole::kTransited), 0.4, kEps);
  EXPECT_THAT(CountriesAtAnyStage(oxide), ElementsAre("BO", "CN", "MX"));
}

// US ore -> CN separation -> VN metal -> JP alloy and magnet with untracked iron and boron.
OriginProfile NdfebMagnet(const FacilityInfo& separation_plant) {
  const OriginProfile ore = Must(OriginOfExtracted(Material::kRareEarthOre, kUsMine));
  const OriginProfile ore_there = Must(OriginAfterArrival(ore, separation_plant));
  const OriginProfile compound = TransformOne(
      Process::kSeparation, separation_plant, {Input("re-ore", "253090", 1'000'000, ore_there)}, {},
      Output("ndpr-oxide", Material::kRareEarthCompound, "284690", 400'000));
  const OriginProfile compound_vn = Must(OriginAfterArrival(compound, kVnMetal));
  const OriginProfile metal = TransformOne(
      Process::kMetalMaking, kVnMetal, {Input("ndpr-oxide", "284690", 400'000, compound_vn)}, {},
      Output("ndpr-metal", Material::kRareEarthMetal, "280530", 300'000));
  const OriginProfile metal_jp = Must(OriginAfterArrival(metal, kJpMagnet));
  const OriginProfile alloy = TransformOne(
      Process::kAlloying, kJpMagnet, {Input("ndpr-metal", "280530", 300'000, metal_jp)},
      {UntrackedInput{Material::kIron, 660'000, ""},
       UntrackedInput{Material::kBoron, 10'000, "TR"}},
      Output("alloy", Material::kNdfebAlloy, "720299", 960'000));
  return TransformOne(Process::kMagnetMaking, kJpMagnet, {Input("alloy", "720299", 960'000, alloy)},
                      {}, Output("magnets", Material::kNdfebMagnet, "850511", 900'000));
}

TEST(OriginGolden, NdfebChainThroughChinaIsJapaneseWithChineseSeparationOfTheRareEarthShare) {
  const OriginProfile magnet = NdfebMagnet(kCnSeparation);
  const double re = 300'000.0 / 970'000;  // the rare-earth-bearing share of the magnet's mass
  EXPECT_EQ(magnet.customs_origin, "JP");
  EXPECT_THAT(magnet.stage(Stage::kSeparation), ElementsAre(KeyShare{"CN", re}));
  EXPECT_NEAR(StageCoverage(magnet, Stage::kSeparation), re, kEps);
  EXPECT_NEAR(CountryShare(magnet, Stage::kMetal, "VN"), re, kEps);
  EXPECT_NEAR(CountryShare(magnet, Stage::kMining, "US"), re, kEps);
  EXPECT_NEAR(CountryShare(magnet, Stage::kMining, kUnknownCountry), 660.0 / 970, kEps);
  EXPECT_NEAR(CountryShare(magnet, Stage::kMining, "TR"), 10.0 / 970, kEps);
  EXPECT_NEAR(StageCoverage(magnet, Stage::kMining), 1.0, kEps);
  EXPECT_THAT(magnet.stage(Stage::kAlloy), ElementsAre(KeyShare{"JP", 1.0}));
  EXPECT_THAT(magnet.stage(Stage::kComponent), ElementsAre(KeyShare{"JP", 1.0}));
  EXPECT_TRUE(magnet.stage(Stage::kRefining).empty());
  EXPECT_THAT(CountriesAtAnyStage(magnet), ElementsAre("CN", "JP", "TR", "US", "VN"));
  EXPECT_NEAR(ShareOf(magnet.regions, "CN-NM"), re, kEps);
  EXPECT_NEAR(RouteShare(magnet, "CN", RouteRole::kProcessed), re, kEps);
  EXPECT_EQ(magnet.value.gap, ValueGap::kInputWithoutValue);  // iron and boron carry no value
}

TEST(OriginGolden, NdfebChainSeparatedInMalaysiaHasNoChineseStage) {
  const OriginProfile magnet = NdfebMagnet(kMySeparation);
  const double re = 300'000.0 / 970'000;
  EXPECT_EQ(magnet.customs_origin, "JP");
  EXPECT_THAT(magnet.stage(Stage::kSeparation), ElementsAre(KeyShare{"MY", re}));
  EXPECT_THAT(CountriesAtAnyStage(magnet), ElementsAre("JP", "MY", "TR", "US", "VN"));
  EXPECT_DOUBLE_EQ(RouteShare(magnet, "CN", RouteRole::kProcessed), 0.0);
}

// A blend of Chinese oxide bagged in Thailand (70%) and Mexican oxide (30%) in a US warehouse.
TEST(OriginGolden, BlendKeepsTheLargestInputsOriginAndMixesEveryStage) {
  const OriginProfile cn_ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile cn_oxide =
      TransformOne(Process::kSmelting, kCnSmelter, {Input("cn-ore", "261710", 1000, cn_ore)}, {},
                   Output("cn-ox", Material::kAntimonyOxide, "282580", 800));
  const OriginProfile via_th =
      Must(OriginAfterArrival(Must(OriginAfterArrival(cn_oxide, kThWarehouse)), kUsWarehouse));
  const OriginProfile mx_oxide = Must(OriginAfterArrival(
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "MX", 300), kMxSmelter)),
      kUsWarehouse));
  const OriginProfile blend =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("mx-ox", "282580", 300, mx_oxide), Input("cn-ox", "282580", 700, via_th)},
                   {}, Output("blend", Material::kAntimonyOxide, "282580", 1000));
  EXPECT_EQ(blend.customs_origin, "CN");
  EXPECT_NEAR(CountryShare(blend, Stage::kRefining, "CN"), 0.7, kEps);
  EXPECT_NEAR(CountryShare(blend, Stage::kRefining, "MX"), 0.3, kEps);
  EXPECT_NEAR(CountryShare(blend, Stage::kMining, "CN"), 0.7, kEps);
  EXPECT_NEAR(RouteShare(blend, "TH", RouteRole::kStored), 0.7, kEps);
  EXPECT_DOUBLE_EQ(RouteShare(blend, "US", RouteRole::kStored), 1.0);
  EXPECT_NEAR(ShareOf(blend.parties, "th-affiliate"), 0.7, kEps);
}

// UFLPA: any share through CN-XJ, however small and however deep, stays visible.
TEST(OriginGolden, XinjiangShareSurvivesDilutionAndLaterHops) {
  const FacilityInfo xj_smelter = Facility("CN", "CN-XJ", "xj-smelting", FacilityKind::kSmelter);
  const OriginProfile ore = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  const OriginProfile xj_oxide =
      TransformOne(Process::kSmelting, xj_smelter, {Input("ore", "261710", 10, ore)}, {},
                   Output("xj-ox", Material::kAntimonyOxide, "282580", 8));
  const OriginProfile mx_oxide =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "MX", 1'000'000), kUsWarehouse));
  const OriginProfile blend = TransformOne(
      Process::kBlending, kUsWarehouse,
      {Input("xj-ox", "282580", 8, xj_oxide), Input("mx", "282580", 999'992, mx_oxide)}, {},
      Output("blend", Material::kAntimonyOxide, "282580", 1'000'000));
  const OriginProfile later = Must(OriginAfterArrival(blend, kJpMagnet));
  EXPECT_NEAR(ShareOf(later.regions, "CN-XJ"), 8e-6, 1e-15);
  EXPECT_GT(ShareOf(later.parties, "xj-smelting"), 0.0);
}

// The worked example of docs/origin-model.md, number for number. If this fails, fix the document
// or the code, never only the test.
TEST(OriginDocs, WorkedExampleNumbersInTheDocumentHold) {
  // 1. Extraction.
  const OriginProfile a = Must(OriginOfExtracted(Material::kAntimonyOre, kBoMine));
  const OriginProfile b = Must(OriginOfExtracted(Material::kAntimonyOre, kCnMine));
  // 2. Shipments: A straight to the Mexican smelter, B through the port of Shekou.
  const OriginProfile a_mx = Must(OriginAfterArrival(a, kMxSmelter));
  const OriginProfile b_mx =
      Must(OriginAfterArrival(Must(OriginAfterArrival(b, kCnPort)), kMxSmelter));
  // 3. Smelting in Mexico.
  const OriginProfile c =
      TransformOne(Process::kSmelting, kMxSmelter,
                   {Input("A", "261710", 6'000'000, a_mx), Input("B", "261710", 4'000'000, b_mx)},
                   {}, Output("C", Material::kAntimonyOxide, "282580", 7'500'000));
  EXPECT_EQ(c.customs_origin, "MX");
  EXPECT_NEAR(CountryShare(c, Stage::kMining, "BO"), 0.6, kEps);
  EXPECT_NEAR(CountryShare(c, Stage::kMining, "CN"), 0.4, kEps);
  EXPECT_THAT(c.stage(Stage::kRefining), ElementsAre(KeyShare{"MX", 1.0}));
  EXPECT_EQ(ToString(c),
            "customs=MX mining{BO:0.6 CN:0.4} refining{MX:1} route{BO/mined:0.6 CN/mined:0.4 "
            "CN/transited:0.4 MX/processed:1 MX/stored:1} regions{BO-P:0.6 CN-GD:0.4 CN-HN:0.4 "
            "MX-SLP:1} parties{hsn-mining:0.4 mx-smelting:1 potosi-coop:0.6 shekou-port:0.4} "
            "value{shares unavailable: input_without_value}");
  // 4. Lot D: Chinese oxide registered at the Thai warehouse; C and D go to the US warehouse.
  const OriginProfile d =
      Must(OriginOfRegistered(Registered(Material::kAntimonyOxide, "CN", 2'000'000), kThWarehouse));
  const OriginProfile c_us = Must(OriginAfterArrival(c, kUsWarehouse));
  const OriginProfile d_us = Must(OriginAfterArrival(d, kUsWarehouse));
  // 5. Blending in the US: 3,000 kg of C (of 7,500) and all 2,000 kg of D.
  const OriginProfile e =
      TransformOne(Process::kBlending, kUsWarehouse,
                   {Input("C", "282580", 3'000'000, c_us), Input("D", "282580", 2'000'000, d_us)},
                   {}, Output("E", Material::kAntimonyOxide, "282580", 5'000'000));
  EXPECT_EQ(e.customs_origin, "MX");
  EXPECT_NEAR(CountryShare(e, Stage::kMining, "BO"), 0.36, kEps);
  EXPECT_NEAR(CountryShare(e, Stage::kMining, "CN"), 0.64, kEps);
  EXPECT_NEAR(CountryShare(e, Stage::kRefining, "MX"), 0.6, kEps);
  EXPECT_NEAR(CountryShare(e, Stage::kRefining, "CN"), 0.4, kEps);
  EXPECT_NEAR(RouteShare(e, "TH", RouteRole::kStored), 0.4, kEps);
  EXPECT_NEAR(RouteShare(e, "CN", RouteRole::kProcessed), 0.4, kEps);
  EXPECT_NEAR(RouteShare(e, "CN", RouteRole::kTransited), 0.24, kEps);
  EXPECT_DOUBLE_EQ(RouteShare(e, "US", RouteRole::kStored), 1.0);
  EXPECT_NEAR(ShareOf(e.parties, "th-affiliate"), 0.4, kEps);
  EXPECT_NEAR(ShareOf(e.regions, "CN-HN"), 0.24, kEps);
  EXPECT_THAT(CountriesAtAnyStage(e), ElementsAre("BO", "CN", "MX"));
}

}  // namespace
}  // namespace lodestone::domain
