// The provenance test fixture: a real ledger (RocksDB in a temp dir), a provenance node folding
// it in-process, its gRPC service on port 0, and builders of small histories (and the demo).
// Needs LODESTONE_DEMO_NDJSON (the demo file's path) defined by the test target.
#ifndef LODESTONE_TESTS_SERVICES_PROVENANCE_PROVENANCE_FIXTURE_H_
#define LODESTONE_TESTS_SERVICES_PROVENANCE_PROVENANCE_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/loadgen/workload.h"
#include "services/provenance/provenance_node.h"
#include "services/rpc/server_builder.h"
#include "tests/support/temp_dir.h"

namespace lodestone::provenance {

namespace lg = ::lodestone::loadgen;

inline constexpr int64_t kTonne = 1000000;

inline double ShareOf(const google::protobuf::RepeatedPtrField<v1::Share>& shares,
                      const std::string& key) {
  for (const auto& share : shares) {
    if (share.key() == key) return share.share();
  }
  return 0;
}

inline double StageShare(const v1::OriginProfile& profile, v1::Stage stage,
                         const std::string& country) {
  for (const auto& s : profile.stages()) {
    if (s.stage() == stage) return ShareOf(s.countries(), country);
  }
  return 0;
}

inline google::protobuf::Timestamp Date(int year, int month, int day) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone())));
  return ts;
}

class ProvenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    StartNode("views");
  }

  void TearDown() override {
    StopNode();
    ledger_.reset();
  }

  // `backup_dir` non-empty: BackupViews backs the views up there.
  void StartNode(const std::string& name, ServiceOptions service = {},
                 const std::string& backup_dir = "") {
    NodeOptions options;
    options.store.path = dir_.Sub(name);
    options.store.sync = false;
    options.service = service;
    auto node = ProvenanceNode::Open(options, std::make_unique<LocalLogSource>(
                                                  ledger_->log(),
                                                  [this](std::function<void()> wake) {
                                                    return ledger_->WakeOnCommit(std::move(wake));
                                                  },
                                                  ledger_->options().late_after));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    if (!backup_dir.empty()) node_->EnableBackups({.directory = backup_dir, .max_kept = 3});
    node_->Start();
    auto server = rpc::StartServer("127.0.0.1:0", {&node_->service()}, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    stub_ = v1::ProvenanceService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server->port), grpc::InsecureChannelCredentials()));
  }

  void StopNode() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    if (node_) node_->Stop();
    node_.reset();
  }

  // Appends through the ledger's own validation; fails the test on rejection.
  void Append(std::vector<v1::Event> events) {
    ledger::AppendBatch batch;
    for (const auto& proto : events) {
      auto event = codec::EventFromProto(proto);
      ASSERT_TRUE(event.ok()) << event.status();
      batch.events.push_back(*std::move(event));
    }
    auto outcome = ledger_->AppendAndWait(std::move(batch));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  uint64_t LogSize() const { return ledger_->log().GetHead().size; }

  v1::Lot GetLot(const std::string& lot_id) {
    v1::GetLotRequest request;
    request.set_lot_id(lot_id);
    request.set_min_position(LogSize());
    v1::GetLotResponse response;
    grpc::ClientContext context;
    auto status = stub_->GetLot(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(response.view().applied_position(), LogSize());
    return response.lot();
  }

  v1::Shipment GetShipment(const std::string& id) {
    v1::GetShipmentRequest request;
    request.set_shipment_id(id);
    request.set_min_position(LogSize());
    v1::GetShipmentResponse response;
    grpc::ClientContext context;
    auto status = stub_->GetShipment(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.shipment();
  }

  v1::CheckComplianceResponse Check(const std::string& lot_id, const std::string& rule_set,
                                    google::protobuf::Timestamp as_of) {
    v1::CheckComplianceRequest request;
    request.set_lot_id(lot_id);
    request.add_rule_sets(rule_set);
    *request.mutable_as_of() = as_of;
    request.set_min_position(LogSize());
    v1::CheckComplianceResponse response;
    grpc::ClientContext context;
    auto status = stub_->CheckCompliance(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  void Facility(const std::string& id, const std::string& country, v1::FacilityKind kind,
                const std::string& subdivision = "") {
    Append({lg::PartyRegistered("e-p-" + id, "op-" + id, country),
            lg::FacilityRegistered("e-f-" + id, id, "op-" + id, country, kind, subdivision)});
  }

  // Dispatch and arrival of one whole lot.
  void Ship(const std::string& shipment, const std::string& lot, int64_t mass,
            const std::string& from, const std::string& to, const std::string& declared,
            const std::string& hs) {
    Append(
        {lg::ShipmentDispatched("e-d-" + shipment, shipment, {{lot, mass}}, from, to, declared, hs),
         lg::ShipmentArrived("e-a-" + shipment, shipment, to)});
  }

  // Waits (read-your-writes) until the running node has folded the whole log.
  void WaitCaughtUp() {
    v1::ListFlagsRequest request;
    request.set_min_position(LogSize());
    v1::ListFlagsResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->ListFlags(&context, request, &response).ok());
  }

  std::vector<std::pair<std::string, std::string>> DumpViews(const std::string& name) {
    storage::KvOptions options;
    options.path = dir_.Sub(name);
    auto store = storage::KvStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    auto all = (*store)->Scan("", "", 10000000, size_t{1} << 30);
    EXPECT_TRUE(all.ok());
    return *all;
  }

  // A small chain with a split, a blend, shipments and a retraction.
  void MixedHistory(int round) {
    const std::string r = absl::StrCat("r", round, "-");
    Append(
        {lg::LotExtracted(r + "e1", r + "l1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000),
         lg::LotExtracted(r + "e2", r + "l2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                          3000)});
    Ship(r + "s1", r + "l1", 5000, "m-mine", "m-smelter", "AU", "261710");
    Ship(r + "s2", r + "l2", 3000, "m-mine", "m-smelter", "AU", "261710");
    Append({lg::LotTransformed(r + "t", r + "t", "m-smelter", v1::PROCESS_SMELTING,
                               {{r + "l1", 4000}, {r + "l2", 3000}},
                               {{r + "o1", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 2000},
                                {r + "o2", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 3000}}),
            lg::LotTransformed(r + "b", r + "b", "m-smelter", v1::PROCESS_BLENDING,
                               {{r + "o1", 2000}, {r + "l1", 1000}},
                               {{r + "blend", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 2500}})});
    Append({lg::EventRetracted(r + "x", "lot/" + r + "l2", r + "e2"),
            lg::LotExtracted(r + "e2b", r + "l2", "cn-mine", v1::MATERIAL_ANTIMONY_ORE, "261710",
                             3000)});
  }

  // The demo data set (docs/demo.md), one event per line in the protobuf JSON mapping.
  static std::vector<v1::Event> DemoEvents() {
    std::vector<v1::Event> events;
    std::ifstream in(LODESTONE_DEMO_NDJSON);
    EXPECT_TRUE(in.good()) << LODESTONE_DEMO_NDJSON;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      v1::Event event;
      auto status = google::protobuf::util::JsonStringToMessage(line, &event);
      EXPECT_TRUE(status.ok()) << status.message();
      events.push_back(std::move(event));
    }
    return events;
  }

  // Appends the demo in batches of `batch` events; the correction (its last two lines) in one.
  void AppendDemo(size_t batch = 10) {
    std::vector<v1::Event> events = DemoEvents();
    ASSERT_GE(events.size(), 2u);
    const size_t correction = events.size() - 2;
    for (size_t i = 0; i < correction; i += batch) {
      const size_t end = std::min(i + batch, correction);
      Append(std::vector<v1::Event>(events.begin() + i, events.begin() + end));
    }
    Append(std::vector<v1::Event>(events.begin() + correction, events.end()));
  }

  testing::TempDir dir_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ProvenanceNode> node_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ProvenanceService::Stub> stub_;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_TESTS_SERVICES_PROVENANCE_PROVENANCE_FIXTURE_H_
