// Time travel (docs/time-travel.md): every provenance answer at a past ledger position equals the
// answer of a fresh projector that folded only that many events; a lot's and a shipment's
// history names the positions and events that changed them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "services/codec/record_codec.h"
#include "services/provenance/compliance_queries.h"
#include "services/provenance/history.h"
#include "services/provenance/projector.h"
#include "tests/services/provenance/provenance_fixture.h"

namespace lodestone::provenance {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An answer as text: the status, then the response without the fields that name the position
// the answer was given at (view.applied_position, view.at_position).
template <typename Response>
std::string Text(const absl::Status& status, Response response) {
  response.clear_view();
  return absl::StrCat(status.ToString(), "\n", response.DebugString());
}

// A query function with its request and response types named.
template <typename Request, typename ResponseType>
struct Query {
  using Response = ResponseType;
  std::function<absl::Status(const Request&, Response*)> run;
  absl::Status operator()(const Request& request, Response* response) const {
    return run(request, response);
  }
};

// A fresh provenance store that folded only the first `events` events of the log, in one batch.
class FreshFold {
 public:
  FreshFold(const std::string& path, const std::vector<v1::StoredEvent>& log, uint64_t events) {
    storage::KvOptions options;
    options.path = path;
    options.sync = false;
    auto store = storage::KvStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ViewStore fold_views(*store_, /*cache_facilities=*/true);
    Projector projector(fold_views, MakeShipmentFlagger());
    EXPECT_TRUE(projector.Open().ok());
    for (uint64_t i = 0; i < events; ++i) {
      auto status = projector.Apply(log[i]);
      EXPECT_TRUE(status.ok()) << status;
    }
    EXPECT_TRUE(projector.Commit().ok());
    views_ = std::make_unique<ViewStore>(*store_);
    queries_ = std::make_unique<Queries>(*views_);
  }
  const Queries& queries() const { return *queries_; }

 private:
  std::unique_ptr<storage::KvStore> store_;
  std::unique_ptr<ViewStore> views_;
  std::unique_ptr<Queries> queries_;
};

class TimeTravelTest : public ProvenanceTest {
 protected:
  // The demo (with its own correction: an extraction retracted and declared again at a Xinjiang
  // mine), then more corrections: an arrival retracted, an extraction re-declared in China, a
  // transformation retracted, a shipment undone (arrival, then dispatch), a licence retracted.
  void DemoWithCorrections() {
    AppendDemo();
    demo_size_ = LogSize();
    Append({Retraction("tt-x1", "demo-sb-011")});
    Append({Retraction("tt-x2", "demo-ndmy-001")});
    Append({lg::LotExtracted("tt-e2", "re-us-ore-2025b", "cn-hn-sb-mine",
                             v1::MATERIAL_RARE_EARTH_ORE, "253090", 100000000)});
    Append({Retraction("tt-x3", "demo-blend-008")});
    Append({Retraction("tt-x4", "demo-mx-010"), Retraction("tt-x5", "demo-mx-009")});
    Append({Retraction("tt-x6", "demo-ga-006")});
    WaitCaughtUp();
  }

  // A retraction of the demo's event `target` (in its stream).
  static v1::Event Retraction(const std::string& event_id, const std::string& target) {
    static const std::vector<v1::Event> demo = DemoEvents();
    for (const auto& event : demo) {
      if (event.event_id() == target) return lg::EventRetracted(event_id, event.subject(), target);
    }
    ADD_FAILURE() << "no demo event " << target;
    return {};
  }

  std::vector<v1::StoredEvent> ReadLog() {
    auto records = ledger_->log().ReadAll(0, LogSize(), size_t{1} << 30);
    EXPECT_TRUE(records.ok()) << records.status();
    std::vector<v1::StoredEvent> log(records->size());
    for (size_t i = 0; i < records->size(); ++i) {
      EXPECT_TRUE(codec::RecordToProto((*records)[i], &log[i]).ok());
    }
    return log;
  }

  // Every lot, shipment and party the log names, and ids it never names.
  void CollectIds(const std::vector<v1::StoredEvent>& log) {
    std::set<std::string> lots{"no-such-lot"}, shipments{"no-such-shipment"}, parties;
    for (const auto& stored : log) {
      const v1::Event& e = stored.event();
      if (e.has_lot_extracted()) lots.insert(e.lot_extracted().lot_id());
      for (const auto& out : e.lot_transformed().outputs()) lots.insert(out.lot_id());
      if (e.has_shipment_dispatched()) shipments.insert(e.shipment_dispatched().shipment_id());
      if (e.has_party_registered()) parties.insert(e.party_registered().party_id());
    }
    lots_.assign(lots.begin(), lots.end());
    shipments_.assign(shipments.begin(), shipments.end());
    parties_.assign(parties.begin(), parties.end());
  }

  // Every query's answer on `queries`, at `at_position` (0: as they stand), one entry per query.
  std::vector<std::string> Answers(const Queries& queries, uint64_t at_position) {
    std::vector<std::string> out;
    // One query: `request` at `at_position`, answered by `query`, as text.
    auto ask = [&](auto request, auto query) {
      request.set_at_position(at_position);
      typename decltype(query)::Response response;
      const absl::Status status = query(request, &response);
      out.push_back(Text(status, response));
    };
    for (const auto& id : lots_) {
      v1::GetLotRequest lot;
      lot.set_lot_id(id);
      ask(lot, Query<v1::GetLotRequest, v1::GetLotResponse>{
                   [&](const auto& r, auto* a) { return queries.GetLot(r, a); }});
      v1::TraceOriginRequest trace;
      trace.set_lot_id(id);
      ask(trace, Query<v1::TraceOriginRequest, v1::TraceOriginResponse>{
                     [&](const auto& r, auto* a) { return queries.TraceOrigin(r, a); }});
      v1::TraceDownstreamRequest down;
      down.set_lot_id(id);
      ask(down, Query<v1::TraceDownstreamRequest, v1::TraceDownstreamResponse>{
                    [&](const auto& r, auto* a) { return queries.TraceDownstream(r, a); }});
      v1::CheckComplianceRequest check;
      check.set_lot_id(id);
      *check.mutable_as_of() = Date(2027, 1, 2);
      ask(check, Query<v1::CheckComplianceRequest, v1::CheckComplianceResponse>{
                     [&](const auto& r, auto* a) { return CheckCompliance(queries, r, a); }});
    }
    for (const auto& id : shipments_) {
      v1::GetShipmentRequest shipment;
      shipment.set_shipment_id(id);
      ask(shipment, Query<v1::GetShipmentRequest, v1::GetShipmentResponse>{
                        [&](const auto& r, auto* a) { return queries.GetShipment(r, a); }});
      v1::CheckComplianceRequest check;
      check.set_shipment_id(id);
      *check.mutable_as_of() = Date(2025, 6, 1);
      ask(check, Query<v1::CheckComplianceRequest, v1::CheckComplianceResponse>{
                     [&](const auto& r, auto* a) { return CheckCompliance(queries, r, a); }});
    }
    for (const auto& id : parties_) {
      v1::GetExposureRequest exposure;
      exposure.set_party_id(id);
      *exposure.mutable_from_time() = Date(2024, 1, 1);
      *exposure.mutable_to_time() = Date(2027, 1, 1);
      ask(exposure, Query<v1::GetExposureRequest, v1::GetExposureResponse>{
                        [&](const auto& r, auto* a) { return GetExposure(queries, r, a); }});
    }
    // All flags in one page, and the Chinese ones in pages of 2 (the page tokens at a position).
    v1::ListFlagsRequest flags;
    flags.set_at_position(at_position);
    v1::ListFlagsResponse flags_response;
    out.push_back(Text(queries.ListFlags(flags, &flags_response), flags_response));
    v1::ListFlagsRequest cn;
    cn.set_country("CN");
    cn.set_max_flags(2);
    cn.set_at_position(at_position);
    for (int page = 0; page < 100; ++page) {
      v1::ListFlagsResponse cn_response;
      const auto status = queries.ListFlags(cn, &cn_response);
      out.push_back(Text(status, cn_response));
      if (!status.ok() || cn_response.next_page_token().empty()) break;
      cn.set_page_token(cn_response.next_page_token());
    }
    return out;
  }

  uint64_t demo_size_ = 0;
  std::vector<std::string> lots_, shipments_, parties_;
};

// The property: at every position P of the history, every query at at_position=P on the live
// views equals the same query on a fresh projector fed only the first P events.
TEST_F(TimeTravelTest, EveryAnswerAtAPositionEqualsAFreshFoldOfThatManyEvents) {
  DemoWithCorrections();
  const std::vector<v1::StoredEvent> log = ReadLog();
  ASSERT_EQ(log.size(), LogSize());
  ASSERT_GT(log.size(), demo_size_ + 5);
  CollectIds(log);
  const Queries& live = node_->queries();
  std::set<std::string> distinct;  // the answers differ from one position to the next
  for (uint64_t p = 1; p <= log.size(); ++p) {
    FreshFold fresh(dir_.Sub(absl::StrCat("fresh-", p)), log, p);
    const auto expected = Answers(fresh.queries(), 0);
    const auto actual = Answers(live, p);
    ASSERT_EQ(expected.size(), actual.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(actual[i], expected[i]) << "at_position " << p;
    }
    distinct.insert(absl::StrJoin(actual, "\n"));
  }
  EXPECT_GT(distinct.size(), log.size() / 2);
}

TEST_F(TimeTravelTest, AtPositionZeroIsNowAndTheViewSaysWhichPositionAnswered) {
  DemoWithCorrections();
  const uint64_t head = LogSize();
  v1::GetLotRequest request;
  request.set_lot_id("re-my-ore-2504");
  v1::GetLotResponse now;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLot(&context, request, &now).ok());
  }
  EXPECT_EQ(now.view().applied_position(), head);
  EXPECT_EQ(now.view().at_position(), head);
  request.set_at_position(head);
  v1::GetLotResponse at_head;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLot(&context, request, &at_head).ok());
  }
  EXPECT_EQ(at_head.lot().DebugString(), now.lot().DebugString());
  // Before the demo's correction the ore was Malaysian; the view says the position asked for.
  request.set_at_position(demo_size_ - 2);
  v1::GetLotResponse before;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetLot(&context, request, &before).ok());
  }
  EXPECT_EQ(before.view().at_position(), demo_size_ - 2);
  EXPECT_EQ(before.view().applied_position(), head);
  EXPECT_DOUBLE_EQ(StageShare(before.lot().profile(), v1::STAGE_MINING, "MY"), 1.0);
  EXPECT_DOUBLE_EQ(StageShare(now.lot().profile(), v1::STAGE_MINING, "CN"), 1.0);
  // A lot not yet created at a position is not found there.
  request.set_at_position(1);
  v1::GetLotResponse early;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetLot(&context, request, &early).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(TimeTravelTest, AtPositionBeyondTheHeadWaitsForItThenIsUnavailable) {
  StopNode();
  ServiceOptions service;
  service.max_position_wait = absl::Milliseconds(200);
  StartNode("views", service);
  Facility("au-mine", "AU", v1::FACILITY_KIND_MINE);
  WaitCaughtUp();
  const uint64_t head = LogSize();
  v1::GetLotRequest request;
  request.set_lot_id("ore");
  request.set_at_position(head + 1);
  {
    v1::GetLotResponse response;
    grpc::ClientContext context;
    auto status = stub_->GetLot(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("position"));
  }
  // Every query waits the same way (here CheckCompliance and GetHistory).
  {
    v1::CheckComplianceRequest check;
    check.set_lot_id("ore");
    *check.mutable_as_of() = Date(2027, 1, 2);
    check.set_at_position(head + 1);
    v1::CheckComplianceResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->CheckCompliance(&context, check, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  {
    v1::GetHistoryRequest history;
    history.set_lot_id("ore");
    history.set_at_position(head + 1);
    v1::GetHistoryResponse response;
    grpc::ClientContext context;
    EXPECT_EQ(stub_->GetHistory(&context, history, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  // Once the ledger reaches the position, the same request is answered as of it.
  Append({lg::LotExtracted("e-ore", "ore", "au-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000)});
  v1::GetLotResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetLot(&context, request, &response).ok());
  EXPECT_EQ(response.view().at_position(), head + 1);
  EXPECT_EQ(response.lot().mass_g(), 5000);
}

std::vector<uint64_t> Positions(const v1::GetHistoryResponse& history) {
  std::vector<uint64_t> out;
  for (const auto& entry : history.entries()) out.push_back(entry.position());
  return out;
}

// The demo's correction (positions 117, 118: the extraction of the Malaysian ore retracted and
// declared again at a Xinjiang mine) makes new versions of the ore and of the magnet made from
// it; the dispatches and arrivals of other lots in between do not.
TEST_F(TimeTravelTest, HistoryOfALotNamesEveryChangeAndTheEventThatMadeIt) {
  AppendDemo();
  WaitCaughtUp();
  v1::GetHistoryRequest request;
  request.set_lot_id("ndfeb-jp-magnet-2509");
  *request.mutable_as_of() = Date(2027, 1, 2);
  request.add_rule_sets("uflpa");
  v1::GetHistoryResponse history;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetHistory(&context, request, &history).ok());
  }
  EXPECT_EQ(history.view().at_position(), LogSize());
  ASSERT_THAT(Positions(history), ElementsAre(118, 117, 116, 113, 110)) << history.DebugString();
  EXPECT_TRUE(history.next_page_token().empty());
  const auto& reextracted = history.entries(0);
  EXPECT_EQ(reextracted.event_id(), "demo-xj-reextraction-001");
  EXPECT_EQ(reextracted.event_kind(), "lot_extracted");
  EXPECT_THAT(reextracted.changed(), ElementsAre("profile", "verdicts"));
  EXPECT_TRUE(reextracted.any_failed());
  // The magnet's rare-earth share (the rest is untracked iron and boron) moves MY -> ?? -> CN.
  const double rare_earth = StageShare(history.entries(2).lot().profile(), v1::STAGE_MINING, "MY");
  EXPECT_GT(rare_earth, 0.3);
  EXPECT_DOUBLE_EQ(StageShare(reextracted.lot().profile(), v1::STAGE_MINING, "CN"), rare_earth);
  EXPECT_DOUBLE_EQ(StageShare(reextracted.lot().profile(), v1::STAGE_MINING, "MY"), 0);
  const auto& retracted = history.entries(1);
  EXPECT_EQ(retracted.event_id(), "demo-xj-retraction-001");
  EXPECT_EQ(retracted.event_kind(), "event_retracted");
  EXPECT_EQ(retracted.retracted_event_id(), "demo-xj-001");
  EXPECT_THAT(retracted.changed(), ElementsAre("profile", "verdicts"));
  EXPECT_FALSE(retracted.any_failed());  // nothing known of the ore: insufficient data
  EXPECT_DOUBLE_EQ(StageShare(retracted.lot().profile(), v1::STAGE_MINING, "??"), rare_earth);
  const auto& arrived = history.entries(2);
  EXPECT_EQ(arrived.event_kind(), "shipment_arrived");
  EXPECT_THAT(arrived.changed(), Contains("location"));
  EXPECT_THAT(history.entries(4).changed(), ElementsAre("created"));
  EXPECT_EQ(history.entries(4).event_id(), "demo-xj-010");
  // Each entry's lot is the answer of GetLot at the position after it.
  for (const auto& entry : history.entries()) {
    v1::GetLotRequest get;
    get.set_lot_id("ndfeb-jp-magnet-2509");
    get.set_at_position(entry.position() + 1);
    v1::GetLotResponse lot;
    ASSERT_TRUE(node_->queries().GetLot(get, &lot).ok());
    EXPECT_EQ(lot.lot().DebugString(), entry.lot().DebugString()) << entry.position();
  }

  // The ore itself: its retraction leaves it retracted, the declaration makes it active again.
  v1::GetHistoryRequest ore;
  ore.set_lot_id("re-my-ore-2504");
  v1::GetHistoryResponse ore_history;
  ASSERT_TRUE(GetHistory(node_->queries(), ore, &ore_history).ok());
  ASSERT_THAT(Positions(ore_history), ElementsAre(118, 117, 90, 88, 87, 86));
  EXPECT_THAT(ore_history.entries(1).changed(), Contains("status"));
  EXPECT_EQ(ore_history.entries(1).lot().status(), v1::LOT_STATUS_RETRACTED);
  EXPECT_THAT(ore_history.entries(0).changed(), Contains("source"));
  EXPECT_EQ(ore_history.entries(0).lot().created_by_event_id(), "demo-xj-reextraction-001");

  // Pages of two, newest first, then the history as it stood before the correction.
  request.set_max_entries(2);
  std::vector<uint64_t> paged;
  for (int page = 0; page < 10; ++page) {
    v1::GetHistoryResponse response;
    ASSERT_TRUE(GetHistory(node_->queries(), request, &response).ok());
    EXPECT_LE(response.entries_size(), 2);
    for (const auto p : Positions(response)) paged.push_back(p);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(paged, ElementsAre(118, 117, 116, 113, 110));
  request.clear_page_token();
  request.set_max_entries(0);
  request.set_at_position(117);
  v1::GetHistoryResponse before;
  ASSERT_TRUE(GetHistory(node_->queries(), request, &before).ok());
  EXPECT_THAT(Positions(before), ElementsAre(116, 113, 110));
  EXPECT_FALSE(before.entries(0).any_failed());
}

TEST_F(TimeTravelTest, HistoryOfAShipmentFollowsItsTracedOriginFlagsAndStatus) {
  DemoWithCorrections();
  // tt-x2 (120) retracts the extraction of the ore of magnet 2025b, tt-e2 (121) declares it
  // again in China: the shipment's traced origin and its verdicts change twice.
  v1::GetHistoryRequest request;
  request.set_shipment_id("shp-magnet-jp-us-2025b");
  *request.mutable_as_of() = Date(2027, 1, 2);
  v1::GetHistoryResponse history;
  ASSERT_TRUE(GetHistory(node_->queries(), request, &history).ok());
  ASSERT_THAT(Positions(history), ElementsAre(121, 120, 115, 112)) << history.DebugString();
  EXPECT_EQ(history.entries(0).event_id(), "tt-e2");
  EXPECT_THAT(history.entries(0).changed(), ElementsAre("traced_origin", "verdicts"));
  EXPECT_TRUE(history.entries(0).any_failed());
  EXPECT_EQ(history.entries(1).retracted_event_id(), "demo-ndmy-001");
  EXPECT_FALSE(history.entries(1).any_failed());
  EXPECT_FALSE(history.entries(3).any_failed());
  EXPECT_THAT(history.entries(3).changed(), ElementsAre("created"));
  EXPECT_EQ(history.entries(3).shipment().status(), "dispatched");
  EXPECT_EQ(history.entries(2).shipment().status(), "arrived");

  // A shipment undone: its arrival, then its dispatch retracted.
  v1::GetHistoryRequest undone;
  undone.set_shipment_id("shp-sb-mx-us-2501");
  v1::GetHistoryResponse undone_history;
  ASSERT_TRUE(GetHistory(node_->queries(), undone, &undone_history).ok());
  ASSERT_THAT(Positions(undone_history), ElementsAre(124, 123, 65, 63));
  EXPECT_EQ(undone_history.entries(0).shipment().status(), "retracted");
  EXPECT_THAT(undone_history.entries(0).changed(), ElementsAre("status"));

  // A shipment with flags keeps them across a retraction of its arrival.
  v1::GetHistoryRequest flagged;
  flagged.set_shipment_id("shp-sb-th-us-2503");
  v1::GetHistoryResponse flagged_history;
  ASSERT_TRUE(GetHistory(node_->queries(), flagged, &flagged_history).ok());
  ASSERT_THAT(Positions(flagged_history), ElementsAre(119, 85, 78));
  EXPECT_EQ(flagged_history.entries(0).event_id(), "tt-x1");
  EXPECT_GT(flagged_history.entries(2).shipment().flags_size(), 0);
  EXPECT_THAT(flagged_history.entries(2).changed(), ElementsAre("created"));
}

TEST_F(TimeTravelTest, HistoryRefusesWhatItCannotAnswer) {
  AppendDemo();
  WaitCaughtUp();
  const Queries& queries = node_->queries();
  v1::GetHistoryResponse response;
  EXPECT_TRUE(absl::IsInvalidArgument(GetHistory(queries, {}, &response)));
  v1::GetHistoryRequest request;
  request.set_lot_id("no-such-lot");
  EXPECT_TRUE(absl::IsNotFound(GetHistory(queries, request, &response)));
  request.set_lot_id("ndfeb-jp-magnet-2509");
  request.set_page_token("not-a-token");
  EXPECT_TRUE(absl::IsInvalidArgument(GetHistory(queries, request, &response)));
  request.set_page_token(absl::StrCat(LogSize() + 5));
  EXPECT_TRUE(absl::IsInvalidArgument(GetHistory(queries, request, &response)));
  request.clear_page_token();
  request.set_at_position(110);  // before the magnet was made
  EXPECT_TRUE(absl::IsNotFound(GetHistory(queries, request, &response)));
  request.set_at_position(LogSize() + 1);
  EXPECT_TRUE(absl::IsOutOfRange(GetHistory(queries, request, &response)));
}

// A view store of an older format is derived data: opening it rebuilds the views from the log
// (docs/time-travel.md, "View format"). Here a store as format 5 left it (the current views and
// the checkpoint; no versions, no position index): after the node opens it, it answers now and
// at a past position exactly as before, which it can only do by folding the log again from 0.
TEST_F(TimeTravelTest, AViewStoreOfFormat5IsRebuiltFromTheLogOnOpen) {
  DemoWithCorrections();
  const std::vector<v1::StoredEvent> log = ReadLog();
  CollectIds(log);
  const uint64_t past = demo_size_ - 2;  // before the demo's correction
  const auto now_before = Answers(node_->queries(), 0);
  const auto past_before = Answers(node_->queries(), past);
  StopNode();
  {
    storage::KvOptions options;
    options.path = dir_.Sub("views");
    auto store = storage::KvStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    storage::KvBatch batch;
    size_t removed = 0;
    for (const std::string_view prefix : {keys::kVersionPrefix, std::string_view("X/")}) {
      auto entries = (*store)->Scan(prefix, "", 10000000, size_t{1} << 30);
      ASSERT_TRUE(entries.ok()) << entries.status();
      for (const auto& [key, value] : *entries) batch.Delete(key);
      removed += entries->size();
    }
    ASSERT_GT(removed, log.size());
    batch.Put(keys::kFormat, keys::BigEndian64(5));
    ASSERT_TRUE((*store)->Write(batch).ok());
    ViewStore old(**store);
    EXPECT_TRUE(absl::IsFailedPrecondition(old.ReadCheckpoint().status()));
  }
  StartNode("views");
  WaitCaughtUp();
  auto checkpoint = node_->queries().views().ReadCheckpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();  // the current format again
  EXPECT_EQ(*checkpoint, log.size());
  EXPECT_EQ(Answers(node_->queries(), 0), now_before);
  const auto past_after = Answers(node_->queries(), past);
  EXPECT_EQ(past_after, past_before);
  FreshFold fresh(dir_.Sub("fresh"), log, past);
  EXPECT_EQ(past_after, Answers(fresh.queries(), 0));
  v1::GetHistoryRequest request;
  request.set_lot_id("ndfeb-jp-magnet-2509");
  v1::GetHistoryResponse history;
  ASSERT_TRUE(GetHistory(node_->queries(), request, &history).ok());
  EXPECT_THAT(Positions(history), Contains(demo_size_ - 1));  // the re-declaration's version
}

}  // namespace
}  // namespace lodestone::provenance
