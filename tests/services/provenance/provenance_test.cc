// The provenance projector and service end to end: a real ledger (RocksDB in a temp dir), the
// projector folding it in-process, and queries over a real gRPC server on port 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/services/provenance/provenance_fixture.h"

namespace lodestone::provenance {
namespace {

using ::testing::HasSubstr;

// DESIGN section 1: Chinese antimony oxide re-bagged in Thailand and declared Thai.
TEST_F(ProvenanceTest, RebaggedChineseOxideDeclaredThaiIsFlaggedAsTransshipment) {
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("cn-smelter", "CN", v1::FACILITY_KIND_SMELTER);
  Facility("th-warehouse", "TH", v1::FACILITY_KIND_WAREHOUSE);
  Facility("us-port", "US", v1::FACILITY_KIND_PORT);
  Append({lg::LotExtracted("e-ore", "ore", "cn-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           10 * kTonne)});
  Ship("S-ore", "ore", 10 * kTonne, "cn-mine", "cn-smelter", "CN", "261710");
  Append({lg::LotTransformed("e-smelt", "smelt", "cn-smelter", v1::PROCESS_SMELTING,
                             {{"ore", 10 * kTonne}},
                             {{"oxide", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 6 * kTonne}})});
  Ship("S-th", "oxide", 6 * kTonne, "cn-smelter", "th-warehouse", "CN", "282580");
  Append({lg::LotTransformed("e-bag", "bag", "th-warehouse", v1::PROCESS_REPACKAGING,
                             {{"oxide", 6 * kTonne}},
                             {{"bagged", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 6 * kTonne}})});
  Ship("S-us", "bagged", 6 * kTonne, "th-warehouse", "us-port", "TH", "282580");

  const v1::Lot bagged = GetLot("bagged");
  EXPECT_EQ(bagged.profile().customs_origin(), "CN");
  EXPECT_DOUBLE_EQ(StageShare(bagged.profile(), v1::STAGE_MINING, "CN"), 1.0);
  EXPECT_DOUBLE_EQ(StageShare(bagged.profile(), v1::STAGE_REFINING, "CN"), 1.0);
  EXPECT_EQ(bagged.facility_country(), "US");

  const v1::Shipment shipment = GetShipment("S-us");
  EXPECT_EQ(shipment.declared_origin(), "TH");
  EXPECT_EQ(shipment.traced_customs_origin(), "CN");
  EXPECT_DOUBLE_EQ(ShareOf(shipment.mining_origin(), "CN"), 1.0);
  bool transshipment = false;
  for (const auto& flag : shipment.flags()) transshipment |= flag.rule_set() == "transshipment";
  EXPECT_TRUE(transshipment);

  v1::ListFlagsRequest request;
  request.set_rule_set("transshipment");
  request.set_min_position(LogSize());
  v1::ListFlagsResponse flags;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListFlags(&context, request, &flags).ok());
  ASSERT_EQ(flags.flags_size(), 1);
  EXPECT_EQ(flags.flags(0).subject(), "shipment/S-us");

  // Every flag of the shipment names the traced origin CN among its countries, so a filter on
  // CN finds the Thai-declared shipment.
  for (const auto& flag : shipment.flags()) {
    EXPECT_THAT(flag.countries(), ::testing::Contains("CN")) << flag.rule_id();
  }
  v1::ListFlagsRequest by_country;
  by_country.set_country("CN");
  by_country.set_min_position(LogSize());
  v1::ListFlagsResponse cn_flags;
  grpc::ClientContext cn_context;
  ASSERT_TRUE(stub_->ListFlags(&cn_context, by_country, &cn_flags).ok());
  int of_s_us = 0;
  for (const auto& flag : cn_flags.flags()) of_s_us += flag.subject() == "shipment/S-us";
  EXPECT_EQ(of_s_us, shipment.flags_size());
}

// The same oxide shipped on to the US in December 2024, under China's ban on antimony exports to
// the US (re-export through a third country included): the ban flag names CN among its
// countries, though the shipment leaves Thailand declared Thai.
TEST_F(ProvenanceTest, ABanFlagOnAReExportNamesTheTracedOrigin) {
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("th-warehouse", "TH", v1::FACILITY_KIND_WAREHOUSE);
  Facility("us-port", "US", v1::FACILITY_KIND_PORT);
  Append({lg::LotExtracted("e-ox", "ox", "cn-mine", v1::MATERIAL_ANTIMONY_OXIDE, "282580",
                           6 * kTonne)});
  Ship("S-th", "ox", 6 * kTonne, "cn-mine", "th-warehouse", "CN", "282580");
  v1::Event dispatched = lg::ShipmentDispatched("e-d-S-us", "S-us", {{"ox", 6 * kTonne}},
                                                "th-warehouse", "us-port", "TH", "282580");
  dispatched.mutable_event_time()->set_seconds(1734220800);  // 2024-12-15
  Append({dispatched, lg::ShipmentArrived("e-a-S-us", "S-us", "us-port")});

  const v1::Shipment shipment = GetShipment("S-us");
  const v1::Flag* ban = nullptr;
  for (const auto& flag : shipment.flags()) {
    if (flag.rule_id() == "cn-ban-us-ga-ge-sb") ban = &flag;
  }
  ASSERT_NE(ban, nullptr) << shipment.DebugString();
  EXPECT_THAT(ban->countries(), ::testing::Contains("CN"));
  EXPECT_THAT(ban->countries(), ::testing::Contains("TH"));
  EXPECT_THAT(ban->countries(), ::testing::Contains("US"));
  // The lot's id "ox" is evidence too; it is not taken for a country.
  EXPECT_THAT(ban->countries(), ::testing::Not(::testing::Contains("ox")));
}

// A dispatch dated inside the suspension of China's US ban (June 2026) but recorded by the ledger
// only now, more than the late lag after it, while the ban is in force again (it resumed
// 2026-11-27): the projector hands the commit time to the rules, which judge the dispatch at both
// times and keep the failure. Backdating a dispatch does not escape the ban.
TEST_F(ProvenanceTest, ABackdatedDispatchRecordedLateFailsTheBanInForceWhenRecorded) {
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("us-port", "US", v1::FACILITY_KIND_PORT);
  Append({lg::LotExtracted("e-ox", "ox", "cn-mine", v1::MATERIAL_ANTIMONY_OXIDE, "282580",
                           6 * kTonne)});
  v1::Event dispatched = lg::ShipmentDispatched("e-d-S-us", "S-us", {{"ox", 6 * kTonne}}, "cn-mine",
                                                "us-port", "CN", "282580");
  *dispatched.mutable_event_time() = Date(2026, 6, 1);
  Append({dispatched});

  const v1::Shipment shipment = GetShipment("S-us");
  const v1::Flag* ban = nullptr;
  for (const auto& flag : shipment.flags()) {
    if (flag.rule_id() == "cn-ban-us-ga-ge-sb") ban = &flag;
  }
  ASSERT_NE(ban, nullptr) << shipment.DebugString();
  EXPECT_THAT(ban->summary(), HasSubstr("ban")) << ban->summary();

  v1::CheckComplianceRequest request;
  request.set_shipment_id("S-us");
  *request.mutable_as_of() = Date(2026, 12, 1);
  request.set_min_position(LogSize());
  v1::CheckComplianceResponse check;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->CheckCompliance(&context, request, &check).ok());
  bool late_evidence = false;
  for (const auto& verdict : check.verdicts()) {
    if (verdict.rule_id() != "cn-ban-us-ga-ge-sb") continue;
    EXPECT_EQ(verdict.outcome(), v1::Verdict::OUTCOME_FAIL) << verdict.DebugString();
    for (const auto& evidence : verdict.evidence()) {
      if (evidence.key() == "late") {
        late_evidence = true;
        EXPECT_THAT(evidence.note(), HasSubstr("dispatched 2026-06-01"));
        EXPECT_THAT(evidence.note(), HasSubstr("at the recorded time"));
      }
    }
  }
  EXPECT_TRUE(late_evidence) << check.DebugString();
}

// The views mark an event late by the ledger's own lag (--late_after), not a default: with a lag
// of ten years the same backdated dispatch is not late, and is judged at its dispatch date only.
TEST_F(ProvenanceTest, TheViewsUseTheLedgersLateLag) {
  StopNode();
  ledger_.reset();
  ledger::LedgerOptions options;
  options.log.path = dir_.Sub("ledger-long-lag");
  options.log.sync = false;
  options.late_after = absl::Hours(24 * 3650);
  auto ledger = ledger::Ledger::Open(options);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  ledger_ = *std::move(ledger);
  StartNode("views-long-lag");
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("us-port", "US", v1::FACILITY_KIND_PORT);
  Append({lg::LotExtracted("e-ox", "ox", "cn-mine", v1::MATERIAL_ANTIMONY_OXIDE, "282580",
                           6 * kTonne)});
  v1::Event dispatched = lg::ShipmentDispatched("e-d-S-us", "S-us", {{"ox", 6 * kTonne}}, "cn-mine",
                                                "us-port", "CN", "282580");
  *dispatched.mutable_event_time() = Date(2026, 6, 1);
  Append({dispatched});
  v1::CheckComplianceRequest request;
  request.set_shipment_id("S-us");
  *request.mutable_as_of() = Date(2026, 12, 1);
  request.set_min_position(LogSize());
  v1::CheckComplianceResponse check;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->CheckCompliance(&context, request, &check).ok());
  for (const auto& verdict : check.verdicts()) {
    for (const auto& evidence : verdict.evidence()) {
      EXPECT_NE(evidence.key(), "late") << verdict.DebugString();
    }
  }
}

// Bolivian and Chinese ore smelted to oxide in Mexico: origin MX, no transshipment flag.
TEST_F(ProvenanceTest, OreSmeltedInMexicoIsMexicanWithMixedMiningOriginAndNoFlag) {
  Facility("bo-mine", "BO", v1::FACILITY_KIND_MINE);
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("mx-smelter", "MX", v1::FACILITY_KIND_SMELTER);
  Facility("us-port", "US", v1::FACILITY_KIND_PORT);
  Append({lg::LotExtracted("e-bo", "bo-ore", "bo-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           6 * kTonne),
          lg::LotExtracted("e-cn", "cn-ore", "cn-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           4 * kTonne)});
  Ship("S-bo", "bo-ore", 6 * kTonne, "bo-mine", "mx-smelter", "BO", "261710");
  Ship("S-cn", "cn-ore", 4 * kTonne, "cn-mine", "mx-smelter", "CN", "261710");
  Append({lg::LotTransformed("e-smelt", "smelt", "mx-smelter", v1::PROCESS_SMELTING,
                             {{"bo-ore", 6 * kTonne}, {"cn-ore", 4 * kTonne}},
                             {{"mx-oxide", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 5 * kTonne}})});
  Ship("S-us", "mx-oxide", 5 * kTonne, "mx-smelter", "us-port", "MX", "282580");
  const v1::Shipment shipment = GetShipment("S-us");
  EXPECT_EQ(shipment.traced_customs_origin(), "MX");
  EXPECT_NEAR(ShareOf(shipment.mining_origin(), "BO"), 0.6, 1e-12);
  EXPECT_NEAR(ShareOf(shipment.mining_origin(), "CN"), 0.4, 1e-12);
  for (const auto& flag : shipment.flags()) EXPECT_NE(flag.rule_set(), "transshipment");
}

class MagnetChainTest : public ProvenanceTest {
 protected:
  // US mine -> separation in `separator_country` -> VN metal -> JP magnet (with untracked iron
  // and boron).
  void BuildChain(const std::string& separator_country) {
    Facility("us-mine", "US", v1::FACILITY_KIND_MINE);
    Facility("sep", separator_country, v1::FACILITY_KIND_SEPARATION_PLANT);
    Facility("vn-metal", "VN", v1::FACILITY_KIND_METAL_PLANT);
    Facility("jp-magnet", "JP", v1::FACILITY_KIND_MAGNET_PLANT);
    Append({lg::LotExtracted("e-conc", "conc", "us-mine", v1::MATERIAL_RARE_EARTH_ORE, "253090",
                             100 * kTonne)});
    Ship("S1", "conc", 100 * kTonne, "us-mine", "sep", "US", "253090");
    Append({lg::LotTransformed(
        "e-sep", "sep-1", "sep", v1::PROCESS_SEPARATION, {{"conc", 100 * kTonne}},
        {{"ndpr-oxide", v1::MATERIAL_RARE_EARTH_COMPOUND, "284690", 10 * kTonne}})});
    Ship("S2", "ndpr-oxide", 10 * kTonne, "sep", "vn-metal", separator_country, "284690");
    Append({lg::LotTransformed(
        "e-metal", "metal-1", "vn-metal", v1::PROCESS_METAL_MAKING, {{"ndpr-oxide", 10 * kTonne}},
        {{"ndpr-metal", v1::MATERIAL_RARE_EARTH_METAL, "280530", 8 * kTonne}})});
    Ship("S3", "ndpr-metal", 8 * kTonne, "vn-metal", "jp-magnet", "VN", "280530");
    auto magnet =
        lg::LotTransformed("e-magnet", "magnet-1", "jp-magnet", v1::PROCESS_MAGNET_MAKING,
                           {{"ndpr-metal", 8 * kTonne}},
                           {{"magnets", v1::MATERIAL_NDFEB_MAGNET, "850511", 26 * kTonne}});
    auto* iron = magnet.mutable_lot_transformed()->add_untracked_inputs();
    iron->set_material(v1::MATERIAL_IRON);
    iron->set_mass_g(18 * kTonne);
    iron->set_country("AU");
    auto* boron = magnet.mutable_lot_transformed()->add_untracked_inputs();
    boron->set_material(v1::MATERIAL_BORON);
    boron->set_mass_g(kTonne / 2);
    Append({magnet});
  }
};

TEST_F(MagnetChainTest, MagnetSeparatedInChinaIsJapaneseAndFailsDfarsFrom2027) {
  BuildChain("CN");
  const v1::Lot magnets = GetLot("magnets");
  EXPECT_EQ(magnets.profile().customs_origin(), "JP");
  EXPECT_GT(StageShare(magnets.profile(), v1::STAGE_SEPARATION, "CN"), 0.0);
  EXPECT_DOUBLE_EQ(StageShare(magnets.profile(), v1::STAGE_COMPONENT, "JP"), 1.0);

  const auto dfars_2027 = Check("magnets", "dfars", Date(2027, 1, 2));
  EXPECT_TRUE(dfars_2027.any_failed());
  bool has_path = false;
  for (const auto& verdict : dfars_2027.verdicts()) {
    for (const auto& evidence : verdict.evidence()) {
      if (evidence.key() == "CN" && !evidence.lineage_path().empty()) {
        has_path = true;
        EXPECT_EQ(evidence.lineage_path(0), "magnets");
        EXPECT_EQ(evidence.lineage_path(evidence.lineage_path_size() - 1), "sep-1");
      }
    }
  }
  EXPECT_TRUE(has_path);
  EXPECT_FALSE(Check("magnets", "dfars", Date(2026, 6, 1)).any_failed());

  const auto cn_2026 = Check("magnets", "china-re-0.1pct", Date(2026, 6, 1));
  ASSERT_GT(cn_2026.verdicts_size(), 0);
  EXPECT_EQ(cn_2026.verdicts(0).outcome(), v1::Verdict::OUTCOME_NOT_IN_FORCE);
  EXPECT_TRUE(cn_2026.verdicts(0).would_fail());
  const auto cn_after = Check("magnets", "china-re-0.1pct", Date(2026, 12, 1));
  EXPECT_EQ(cn_after.verdicts(0).outcome(), v1::Verdict::OUTCOME_FAIL);
}

TEST_F(MagnetChainTest, MagnetSeparatedInMalaysiaPassesDfars) {
  BuildChain("MY");
  EXPECT_EQ(GetLot("magnets").profile().customs_origin(), "JP");
  EXPECT_FALSE(Check("magnets", "dfars", Date(2027, 1, 2)).any_failed());
  EXPECT_FALSE(Check("magnets", "china-re-0.1pct", Date(2026, 12, 1)).any_failed());
}

TEST_F(ProvenanceTest, RetractedExtractionRecomputesEveryDownstreamLot) {
  Facility("au-mine", "AU", v1::FACILITY_KIND_MINE);
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("au-smelter", "AU", v1::FACILITY_KIND_SMELTER);
  Append({lg::LotExtracted("e-ore", "ore", "au-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           10 * kTonne)});
  Ship("S1", "ore", 10 * kTonne, "au-mine", "au-smelter", "AU", "261710");
  Append({lg::LotTransformed("e-smelt", "smelt", "au-smelter", v1::PROCESS_SMELTING,
                             {{"ore", 10 * kTonne}},
                             {{"oxide", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 6 * kTonne}}),
          lg::LotTransformed("e-split", "split", "au-smelter", v1::PROCESS_SPLITTING,
                             {{"oxide", 6 * kTonne}},
                             {{"oxide-a", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 2 * kTonne},
                              {"oxide-b", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 4 * kTonne}})});
  EXPECT_DOUBLE_EQ(StageShare(GetLot("oxide-b").profile(), v1::STAGE_MINING, "AU"), 1.0);
  // The ore was in fact mined in China: retract the extraction and declare it again.
  Append({lg::EventRetracted("e-fix", "lot/ore", "e-ore"),
          lg::LotExtracted("e-ore-2", "ore", "cn-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           10 * kTonne)});
  for (const char* lot : {"ore", "oxide", "oxide-a", "oxide-b"}) {
    const v1::Lot view = GetLot(lot);
    EXPECT_DOUBLE_EQ(StageShare(view.profile(), v1::STAGE_MINING, "CN"), 1.0) << lot;
    EXPECT_DOUBLE_EQ(StageShare(view.profile(), v1::STAGE_MINING, "AU"), 0.0) << lot;
  }
}

TEST_F(ProvenanceTest, RetractedTransformationAndShipmentAreUndoneInTheViews) {
  Facility("au-mine", "AU", v1::FACILITY_KIND_MINE);
  Facility("au-smelter", "AU", v1::FACILITY_KIND_SMELTER);
  Append({lg::LotExtracted("e-ore", "ore", "au-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                           10 * kTonne)});
  Ship("S1", "ore", 10 * kTonne, "au-mine", "au-smelter", "AU", "261710");
  Append({lg::LotTransformed("e-smelt", "smelt", "au-smelter", v1::PROCESS_SMELTING,
                             {{"ore", 4 * kTonne}},
                             {{"oxide", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 3 * kTonne}})});
  EXPECT_EQ(GetLot("ore").remaining_g(), 6 * kTonne);
  Append({lg::EventRetracted("x-smelt", "facility/au-smelter", "e-smelt")});
  EXPECT_EQ(GetLot("ore").remaining_g(), 10 * kTonne);
  EXPECT_EQ(GetLot("oxide").status(), v1::LOT_STATUS_RETRACTED);
  EXPECT_EQ(GetLot("ore").facility_id(), "au-smelter");
  // Undo the shipment: the arrival first, then the dispatch; the ore is back at the mine and
  // its route no longer passes through the smelter.
  Append({lg::EventRetracted("x-arrive", "shipment/S1", "e-a-S1"),
          lg::EventRetracted("x-dispatch", "shipment/S1", "e-d-S1")});
  const v1::Lot ore = GetLot("ore");
  EXPECT_EQ(ore.facility_id(), "au-mine");
  EXPECT_EQ(ore.status(), v1::LOT_STATUS_ACTIVE);
  EXPECT_EQ(GetShipment("S1").status(), "retracted");
}

TEST_F(ProvenanceTest, RestartMidStreamResumesExactlyAndRebuildEqualsLive) {
  Facility("m-mine", "AU", v1::FACILITY_KIND_MINE);
  Facility("cn-mine", "CN", v1::FACILITY_KIND_MINE);
  Facility("m-smelter", "AU", v1::FACILITY_KIND_SMELTER);
  MixedHistory(1);
  WaitCaughtUp();
  StopNode();
  MixedHistory(2);  // appended while the projector is down
  StartNode("views");
  MixedHistory(3);
  WaitCaughtUp();
  // blend = 2/3 o1 + 1/3 l1; o1 = 4/7 l1 (AU) + 3/7 l2 (re-declared as mined in CN).
  EXPECT_NEAR(StageShare(GetLot("r2-blend").profile(), v1::STAGE_MINING, "CN"), 2.0 / 7, 1e-12);
  StopNode();
  StartNode("rebuilt");  // a fresh store: folds the whole log from position 0
  WaitCaughtUp();
  StopNode();
  const auto live = DumpViews("views");
  const auto rebuilt = DumpViews("rebuilt");
  ASSERT_GT(live.size(), 50u);
  ASSERT_EQ(live.size(), rebuilt.size());
  for (size_t i = 0; i < live.size(); ++i) {
    ASSERT_EQ(live[i].first, rebuilt[i].first);
    ASSERT_EQ(live[i].second, rebuilt[i].second) << "view " << live[i].first << " differs";
  }
  StartNode("views");
}

TEST_F(ProvenanceTest, TraceOriginAndDownstreamFollowTheLineage) {
  Facility("au-mine", "AU", v1::FACILITY_KIND_MINE);
  Facility("au-smelter", "AU", v1::FACILITY_KIND_SMELTER);
  Append({lg::LotExtracted("e-a", "a", "au-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 3000),
          lg::LotExtracted("e-b", "b", "au-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000)});
  Ship("S1", "a", 3000, "au-mine", "au-smelter", "AU", "261710");
  Ship("S2", "b", 1000, "au-mine", "au-smelter", "AU", "261710");
  Append({lg::LotTransformed("e-t", "t", "au-smelter", v1::PROCESS_SMELTING,
                             {{"a", 3000}, {"b", 1000}},
                             {{"o", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 2000}})});
  v1::TraceOriginRequest trace;
  trace.set_lot_id("o");
  trace.set_min_position(LogSize());
  v1::TraceOriginResponse origin;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->TraceOrigin(&context, trace, &origin).ok());
  std::vector<std::string> ids;
  for (const auto& node : origin.nodes()) ids.push_back(node.id());
  EXPECT_THAT(ids, ::testing::ElementsAre("o", "t", "a", "b"));
  EXPECT_EQ(origin.edges_size(), 3);

  trace.set_max_nodes(2);
  v1::TraceOriginResponse page1, page2;
  grpc::ClientContext c1, c2;
  ASSERT_TRUE(stub_->TraceOrigin(&c1, trace, &page1).ok());
  ASSERT_EQ(page1.nodes_size(), 2);
  ASSERT_FALSE(page1.next_page_token().empty());
  trace.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->TraceOrigin(&c2, trace, &page2).ok());
  ASSERT_EQ(page2.nodes_size(), 2);
  EXPECT_EQ(page2.nodes(0).id(), "a");

  v1::TraceDownstreamRequest down;
  down.set_lot_id("a");
  down.set_min_position(LogSize());
  v1::TraceDownstreamResponse downstream;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->TraceDownstream(&c3, down, &downstream).ok());
  ASSERT_EQ(downstream.lots_size(), 1);
  EXPECT_EQ(downstream.lots(0).lot_id(), "o");
  EXPECT_DOUBLE_EQ(downstream.lots(0).share(), 0.75);
}

TEST_F(ProvenanceTest, UnknownIdsAreNotFoundAndMalformedQueriesInvalid) {
  v1::GetLotRequest request;
  request.set_lot_id("nope");
  v1::GetLotResponse response;
  grpc::ClientContext c1;
  EXPECT_EQ(stub_->GetLot(&c1, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_lot_id("");
  grpc::ClientContext c2;
  EXPECT_EQ(stub_->GetLot(&c2, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::CheckComplianceRequest check;
  check.set_lot_id("x");
  v1::CheckComplianceResponse verdicts;
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->CheckCompliance(&c3, check, &verdicts).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no as_of
}

TEST_F(ProvenanceTest, PositionNotReachedInTimeIsUnavailable) {
  StopNode();
  ServiceOptions service;
  service.max_position_wait = absl::Milliseconds(100);
  StartNode("views", service);
  v1::GetLotRequest request;
  request.set_lot_id("x");
  request.set_min_position(LogSize() + 10);
  v1::GetLotResponse response;
  grpc::ClientContext context;
  auto status = stub_->GetLot(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("position"));
}

}  // namespace
}  // namespace lodestone::provenance
