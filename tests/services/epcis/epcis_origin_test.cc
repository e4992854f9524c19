// A lot's origin profile is the same whether its history arrived as EPCIS (the reference
// example, mapped by services/epcis) or as native events a gRPC client would append: a real
// ledger and a real provenance node folding it (tests/services/provenance fixture).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/codec/event_codec.h"
#include "services/epcis/mapping.h"
#include "services/epcis/vocabulary.h"
#include "services/http/json.h"
#include "tests/services/provenance/provenance_fixture.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

v1::Event Proto(const d::Event& event) {
  v1::Event proto;
  codec::EventToProto(event, &proto);
  return proto;
}

d::Event Native(std::string id, std::string time, std::string subject, d::Payload payload) {
  d::Event event;
  event.event_id = std::move(id);
  absl::ParseTime(absl::RFC3339_full, time, &event.event_time, nullptr);
  event.subject = std::move(subject);
  event.actor = "miner";
  event.payload = std::move(payload);
  return event;
}

class EpcisOriginTest : public ProvenanceTest {};

TEST_F(EpcisOriginTest, ALotsOriginProfileIsTheSameFromEpcisAndFromNativeEvents) {
  const std::string mine = "414/4012345000115/254/987";
  const std::string refinery = "414/4012345000115/254/988";
  d::PartyRegistered party{"miner", "miner", "AU", ""};
  d::FacilityRegistered mine_facility{mine, "miner", "AU", "", d::FacilityKind::kMine, "mine"};
  d::FacilityRegistered refinery_facility{refinery,  "miner", "AU", "", d::FacilityKind::kRefinery,
                                          "refinery"};
  Append({Proto(Native("md-party", "2025-01-01T00:00:00Z", "party/miner", party)),
          Proto(Native("md-mine", "2025-01-01T00:00:00Z", "facility/" + mine, mine_facility)),
          Proto(Native("md-refinery", "2025-01-01T00:00:00Z", "facility/" + refinery,
                       refinery_facility))});

  // The EPCIS history: the reference example, as services/epcis maps it.
  auto document = http::ParseJson(ReadFile(std::string(LODESTONE_EPCIS_TESTDATA) +
                                           "/examples/lodestone__antimony-mine-to-oxide.jsonld"));
  ASSERT_TRUE(document.ok()) << document.status();
  epcis::MappedDocument mapped;
  epcis::CaptureError error;
  ASSERT_TRUE(epcis::MapDocument(*document, {"miner"}, &mapped, &error).ok()) << error.reason;
  std::vector<v1::Event> captured;
  for (const d::Event& event : mapped.events) captured.push_back(Proto(event));
  Append(captured);

  // The same history, native: other ids, the same facts (masses in grams as the example's
  // quantities convert: 2.5 TNE = 2500 KGM, 1102.31 LBR = 499,999.4 g -> 499,999 g).
  const auto* transformed = std::get_if<d::LotTransformed>(&mapped.events[3].payload);
  ASSERT_NE(transformed, nullptr);
  ASSERT_EQ(transformed->untracked_inputs.size(), 1u);
  EXPECT_EQ(transformed->untracked_inputs[0].mass_g, 499999);
  d::LotTransformed refining;
  refining.transformation_id = "n-refining";
  refining.facility_id = refinery;
  refining.process = d::Process::kRefining;
  refining.inputs = {{"n-ore", 2500000}};
  refining.untracked_inputs = {{d::Material::kAntimonyOre, 499999, "AU"}};
  refining.outputs = {{"n-ox", d::Material::kAntimonyOxide, "282580", 1800500, 0, ""}};
  d::ShipmentDispatched dispatched;
  dispatched.shipment_id = "n-ship";
  dispatched.items = {{"n-ore", 2500000}};
  dispatched.from_facility_id = mine;
  dispatched.to_facility_id = refinery;
  dispatched.declared_origin = "AU";
  dispatched.declared_hs_code = "261710";
  Append(
      {Proto(Native("n-1", "2026-01-05T10:00:00Z", "lot/n-ore",
                    d::LotExtracted{"n-ore", d::Material::kAntimonyOre, "261710", 2500000, mine})),
       Proto(Native("n-2", "2026-01-06T10:00:00Z", "shipment/n-ship", dispatched)),
       Proto(Native("n-3", "2026-01-08T10:00:00Z", "shipment/n-ship",
                    d::ShipmentArrived{"n-ship", refinery, ""})),
       Proto(Native("n-4", "2026-01-09T10:00:00Z", "facility/" + refinery, refining)),
       Proto(Native("n-5", "2026-01-09T12:00:00Z", "lot/n-imp",
                    d::LotRegistered{"n-imp", d::Material::kAntimonyOxide, "282580", 500000,
                                     refinery, "CN", 0, ""}))});

  for (const auto& [epcis_uri, native] : std::vector<std::pair<std::string, std::string>>{
           {"urn:epc:class:lgtin:4012345.012346.OX-1", "n-ox"},
           {"urn:epc:class:lgtin:4012345.012345.ORE-1", "n-ore"},
           {"urn:epc:class:lgtin:4012345.012346.IMP-1", "n-imp"}}) {
    SCOPED_TRACE(epcis_uri);
    auto lot_id = epcis::LotId(epcis_uri);
    ASSERT_TRUE(lot_id.ok() && lot_id->has_value());
    const v1::Lot from_epcis = GetLot(**lot_id);
    const v1::Lot from_native = GetLot(native);
    EXPECT_TRUE(from_epcis.profile().stages_size() > 0) << from_epcis.DebugString();
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(from_epcis.profile(), from_native.profile())) << diff;
    EXPECT_EQ(from_epcis.mass_g(), from_native.mass_g());
    EXPECT_EQ(from_epcis.remaining_g(), from_native.remaining_g());
    EXPECT_EQ(from_epcis.facility_id(), from_native.facility_id());
  }
}

}  // namespace
}  // namespace lodestone::provenance
