// Value-based rules through the provenance service (docs/compliance-rules.md, the 0.1% rule):
// the views keep value shares per stage, CheckCompliance judges a value rule on them when the
// ledger recorded values, on a declared value when the caller gives one, on mass otherwise, and
// says which basis it used; answers at a past position, and a rebuild, agree with the live views.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/services/provenance/provenance_fixture.h"

namespace lodestone::provenance {
namespace {

using ::testing::HasSubstr;

const v1::StageShares* ValueStage(const v1::OriginProfile& profile, v1::Stage stage) {
  for (const auto& s : profile.value().by_stage()) {
    if (s.stage() == stage) return &s;
  }
  return nullptr;
}

// Adds a declaration of `value_minor` USD of which `cn_minor` is CN-separated rare-earth
// compound (lot_id "": the checked lot).
v1::DeclaredValue* Declare(v1::CheckComplianceRequest& request, int64_t value_minor,
                           int64_t cn_minor) {
  auto* declared = request.add_declared_values();
  declared->set_value_minor(value_minor);
  declared->set_currency("USD");
  auto* line = declared->add_content();
  line->set_country("CN");
  line->set_material(v1::MATERIAL_RARE_EARTH_COMPOUND);
  line->set_value_minor(cn_minor);
  return declared;
}

class ValueRulesTest : public ProvenanceTest {
 protected:
  // A rare-earth compound registered at the VN metal plant, separated in `country` (declared),
  // with a recorded value (0: none).
  v1::Event Compound(const std::string& event_id, const std::string& lot_id,
                     const std::string& country, int64_t mass_g, int64_t value_minor) {
    v1::Event event = lg::LotRegistered(
        event_id, lot_id, "vn-metal", v1::MATERIAL_RARE_EARTH_COMPOUND, "284690", mass_g, country);
    if (value_minor > 0) {
      event.mutable_lot_registered()->set_value_minor(value_minor);
      event.mutable_lot_registered()->set_currency("USD");
    }
    return event;
  }

  // 1 g of CN-separated compound worth 0.50 USD and 3,999 g of MY-separated compound
  // (`my_value_minor`, 0: not recorded) made into 4,000 g of metal in VN: 0.025% Chinese by
  // mass, 50 / 4,049 = 1.23% by value when both values are recorded.
  void BuildMetal(int64_t my_value_minor) {
    Facility("vn-metal", "VN", v1::FACILITY_KIND_METAL_PLANT);
    Append({Compound("e-cn", "cn-compound", "CN", 1, 50),
            Compound("e-my", "my-compound", "MY", 3'999, my_value_minor)});
    Append({lg::LotTransformed("e-metal", "metal-1", "vn-metal", v1::PROCESS_METAL_MAKING,
                               {{"cn-compound", 1}, {"my-compound", 3'999}},
                               {{"metal", v1::MATERIAL_RARE_EARTH_METAL, "280530", 4'000}})});
  }

  v1::CheckComplianceRequest Request(const std::string& lot_id) {
    v1::CheckComplianceRequest request;
    request.set_lot_id(lot_id);
    request.add_rule_sets("china-re-0.1pct");
    *request.mutable_as_of() = Date(2026, 12, 1);
    request.set_min_position(LogSize());
    return request;
  }

  grpc::Status Call(const v1::CheckComplianceRequest& request,
                    v1::CheckComplianceResponse* response) {
    grpc::ClientContext context;
    return stub_->CheckCompliance(&context, request, response);
  }
};

TEST_F(ValueRulesTest, RecordedValuesAtSeparationDecideTheValueRuleWhereMassWouldPass) {
  BuildMetal(3'999);
  const v1::Lot metal = GetLot("metal");
  EXPECT_DOUBLE_EQ(StageShare(metal.profile(), v1::STAGE_SEPARATION, "CN"), 1.0 / 4'000);
  EXPECT_EQ(metal.profile().value().gap(), "none");  // shares known, though no total declared
  const v1::StageShares* separation = ValueStage(metal.profile(), v1::STAGE_SEPARATION);
  ASSERT_NE(separation, nullptr);
  EXPECT_DOUBLE_EQ(ShareOf(separation->countries(), "CN"), 50.0 / 4'049);
  EXPECT_DOUBLE_EQ(ShareOf(separation->countries(), "MY"), 3'999.0 / 4'049);
  const v1::StageShares* made = ValueStage(metal.profile(), v1::STAGE_METAL);
  ASSERT_NE(made, nullptr);
  EXPECT_DOUBLE_EQ(ShareOf(made->countries(), "VN"), 1.0);

  v1::CheckComplianceResponse response;
  ASSERT_TRUE(Call(Request("metal"), &response).ok());
  ASSERT_EQ(response.verdicts_size(), 1);
  const v1::Verdict& verdict = response.verdicts(0);
  EXPECT_EQ(verdict.outcome(), v1::Verdict::OUTCOME_FAIL) << verdict.summary();
  EXPECT_EQ(verdict.basis(), "value");
  ASSERT_EQ(verdict.evidence_size(), 1);
  EXPECT_EQ(verdict.evidence(0).stage(), v1::STAGE_SEPARATION);
  EXPECT_EQ(verdict.evidence(0).key(), "CN");
  EXPECT_DOUBLE_EQ(verdict.evidence(0).share(), 50.0 / 4'049);
  EXPECT_THAT(verdict.summary(), HasSubstr("value basis"));
  EXPECT_TRUE(response.any_failed());
}

TEST_F(ValueRulesTest, AnUnvaluedInputMeansMassAndADeclaredValueOverridesBoth) {
  BuildMetal(0);
  const v1::Lot metal = GetLot("metal");
  EXPECT_FALSE(metal.profile().value().available());
  EXPECT_EQ(metal.profile().value().gap(), "input_without_value");
  EXPECT_EQ(metal.profile().value().by_stage_size(), 0);

  v1::CheckComplianceResponse by_mass;
  ASSERT_TRUE(Call(Request("metal"), &by_mass).ok());
  ASSERT_EQ(by_mass.verdicts_size(), 1);
  EXPECT_EQ(by_mass.verdicts(0).outcome(), v1::Verdict::OUTCOME_PASS);
  EXPECT_EQ(by_mass.verdicts(0).basis(), "mass");
  EXPECT_THAT(by_mass.verdicts(0).summary(), HasSubstr("input_without_value"));

  // The bill of materials says 0.20% of the metal's value is CN-separated rare earth.
  v1::CheckComplianceRequest request = Request("metal");
  Declare(request, 100'000, 200);
  v1::CheckComplianceResponse by_declared;
  ASSERT_TRUE(Call(request, &by_declared).ok());
  ASSERT_EQ(by_declared.verdicts_size(), 1);
  EXPECT_EQ(by_declared.verdicts(0).outcome(), v1::Verdict::OUTCOME_FAIL);
  EXPECT_EQ(by_declared.verdicts(0).basis(), "declared_value");
  EXPECT_DOUBLE_EQ(by_declared.verdicts(0).evidence(0).share(), 0.002);
  EXPECT_THAT(by_declared.verdicts(0).summary(), HasSubstr("200 of 100000 USD"));
  // Rules not defined on value are unchanged by it.
  request.clear_rule_sets();
  request.add_rule_sets("uflpa");
  v1::CheckComplianceResponse uflpa;
  ASSERT_TRUE(Call(request, &uflpa).ok());
  EXPECT_EQ(uflpa.verdicts(0).basis(), "mass");
}

TEST_F(ValueRulesTest, MalformedDeclaredValuesAreInvalidArgumentNamingTheEntry) {
  BuildMetal(3'999);
  const auto error = [&](const std::function<void(v1::DeclaredValue*)>& edit) {
    v1::CheckComplianceRequest request = Request("metal");
    auto* declared = request.add_declared_values();
    declared->set_value_minor(1'000);
    declared->set_currency("USD");
    edit(declared);
    v1::CheckComplianceResponse response;
    const grpc::Status status = Call(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(response.verdicts_size(), 0);
    return status.error_message();
  };
  EXPECT_THAT(error([](auto* d) { d->set_lot_id("cn-compound"); }),
              HasSubstr("declared_values[0]: lot 'cn-compound' is not the checked lot"));
  EXPECT_THAT(error([](auto* d) { d->set_currency("dollars"); }), HasSubstr("currency"));
  EXPECT_THAT(error([](auto* d) { d->set_value_minor(0); }), HasSubstr("value_minor must be > 0"));
  EXPECT_THAT(error([](auto* d) {
                auto* line = d->add_content();
                line->set_country("CN");
                line->set_material(v1::MATERIAL_RARE_EARTH_METAL);
                line->set_value_minor(1'001);
              }),
              HasSubstr("more than the item's value"));
  EXPECT_THAT(error([](auto* d) {
                auto* line = d->add_content();
                line->set_country("ZZ");
                line->set_material(v1::MATERIAL_RARE_EARTH_METAL);
              }),
              HasSubstr("content[0].country 'ZZ'"));
  EXPECT_THAT(error([](auto* d) {
                for (int i = 0; i < 257; ++i) d->add_content();
              }),
              HasSubstr("257 content lines, at most 256"));
  // Two for the same lot, and more than 64 declarations.
  v1::CheckComplianceRequest twice = Request("metal");
  for (int i = 0; i < 2; ++i) {
    auto* declared = twice.add_declared_values();
    declared->set_value_minor(1'000);
    declared->set_currency("USD");
  }
  v1::CheckComplianceResponse response;
  grpc::Status status = Call(twice, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("declared_values[1]: a second declared value"));
  for (int i = 0; i < 63; ++i) twice.add_declared_values();
  status = Call(twice, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("65 declared_values, at most 64"));
}

TEST_F(ValueRulesTest, AShipmentCheckTakesDeclaredValuesForItsItems) {
  BuildMetal(0);
  Facility("jp-magnet", "JP", v1::FACILITY_KIND_MAGNET_PLANT);
  Append({lg::ShipmentDispatched("e-d-S", "S", {{"metal", 4'000}}, "vn-metal", "jp-magnet", "VN",
                                 "280530")});
  v1::CheckComplianceRequest request;
  request.set_shipment_id("S");
  request.add_rule_sets("china-re-0.1pct");
  *request.mutable_as_of() = Date(2026, 12, 1);
  request.set_min_position(LogSize());
  v1::DeclaredValue* declared = Declare(request, 4'049, 50);
  v1::CheckComplianceResponse response;
  EXPECT_EQ(Call(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // no lot
  declared->set_lot_id("metal");
  ASSERT_TRUE(Call(request, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 1);
  EXPECT_EQ(response.verdicts(0).basis(), "declared_value");
  EXPECT_EQ(response.verdicts(0).outcome(), v1::Verdict::OUTCOME_FAIL);
}

// The MY compound's value was not recorded at first; a correction registers it again with its
// value. At a position before the correction the rule is judged on mass (pass), after it on
// value (fail), and a store rebuilt from position 0 holds the same bytes, versions included.
TEST_F(ValueRulesTest, AtAPositionBeforeTheValueWasRecordedTheRuleIsJudgedOnMass) {
  BuildMetal(0);
  const uint64_t before = LogSize();
  Append({lg::EventRetracted("x-my", "lot/my-compound", "e-my"),
          Compound("e-my-2", "my-compound", "MY", 3'999, 3'999)});
  WaitCaughtUp();

  v1::CheckComplianceRequest then = Request("metal");
  then.set_at_position(before);
  v1::CheckComplianceResponse at_before;
  ASSERT_TRUE(Call(then, &at_before).ok());
  EXPECT_EQ(at_before.view().at_position(), before);
  ASSERT_EQ(at_before.verdicts_size(), 1);
  EXPECT_EQ(at_before.verdicts(0).basis(), "mass");
  EXPECT_EQ(at_before.verdicts(0).outcome(), v1::Verdict::OUTCOME_PASS);
  v1::CheckComplianceResponse now;
  ASSERT_TRUE(Call(Request("metal"), &now).ok());
  EXPECT_EQ(now.verdicts(0).basis(), "value");
  EXPECT_EQ(now.verdicts(0).outcome(), v1::Verdict::OUTCOME_FAIL);
  {
    v1::GetLotRequest lot;
    lot.set_lot_id("metal");
    lot.set_at_position(before);
    v1::GetLotResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLot(&context, lot, &response).ok());
    EXPECT_EQ(response.lot().profile().value().gap(), "input_without_value");
  }

  StopNode();
  StartNode("rebuilt");  // a fresh store: folds the whole log from position 0
  WaitCaughtUp();
  v1::CheckComplianceResponse rebuilt_then;
  ASSERT_TRUE(Call(then, &rebuilt_then).ok());
  EXPECT_EQ(rebuilt_then.DebugString(), at_before.DebugString());
  StopNode();
  const auto live = DumpViews("views");
  const auto rebuilt = DumpViews("rebuilt");
  ASSERT_EQ(live.size(), rebuilt.size());
  for (size_t i = 0; i < live.size(); ++i) {
    ASSERT_EQ(live[i].first, rebuilt[i].first);
    ASSERT_EQ(live[i].second, rebuilt[i].second) << "view " << live[i].first << " differs";
  }
  StartNode("views");
}

}  // namespace
}  // namespace lodestone::provenance
