// The read matrix of issue 12: ledger and provenance RPCs over mutual TLS, by every kind of
// caller, on the embedded shape (ledger and provenance services on one server). Chinese oxide
// mined by cn-miner, re-bagged in Thailand by th-party and shipped to us-party's port: us-party
// asks about what it received and sees upstream material by country and stage, but not who held
// it upstream nor where; partners who never held it are refused; auditors see everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_service.h"
#include "services/loadgen/workload.h"
#include "services/provenance/provenance_node.h"
#include "services/rpc/identity.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/party_credentials.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::provenance {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kTonne = 1000000;

// Callers by the party their certificate names ("" = a certificate without an identity).
const std::vector<std::string> kCallers = {"us-party", "o-party", "dlg", "reg",
                                           "cn-auth",  "aud",     ""};

// Upstream identities us-party was never party to.
const std::vector<std::string> kUpstream = {"cn-miner", "cn-mine", "ox", "e-ox", "t-bag"};

void ExpectNoUpstreamIds(const google::protobuf::Message& message) {
  std::string text = message.DebugString();
  for (const auto& id : kUpstream) {
    EXPECT_THAT(text, Not(HasSubstr("\"" + id + "\""))) << text;
  }
}

class ReadMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki_, &error)) << error;
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    options.authority.admin_party = "adm";
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);

    std::vector<v1::Event> world;
    for (const char* party :
         {"cn-miner", "th-party", "us-party", "o-party", "dlg", "reg", "cn-auth", "aud"}) {
      world.push_back(lg::PartyRegistered(std::string("p-") + party, party, "AU"));
    }
    world.push_back(
        lg::FacilityRegistered("f-1", "cn-mine", "cn-miner", "CN", v1::FACILITY_KIND_MINE));
    world.push_back(
        lg::FacilityRegistered("f-2", "th-yard", "th-party", "TH", v1::FACILITY_KIND_WAREHOUSE));
    world.push_back(
        lg::FacilityRegistered("f-3", "us-port", "us-party", "US", v1::FACILITY_KIND_PORT));
    world.push_back(
        lg::FacilityRegistered("f-4", "o-yard", "o-party", "AU", v1::FACILITY_KIND_WAREHOUSE));
    world.push_back(lg::RoleGranted("g-1", "dlg", v1::ROLE_DELEGATE, "", "us-party"));
    world.push_back(lg::RoleGranted("g-2", "reg", v1::ROLE_REGISTRAR));
    world.push_back(lg::RoleGranted("g-3", "cn-auth", v1::ROLE_LICENSING_AUTHORITY, "CN"));
    world.push_back(lg::RoleGranted("g-4", "aud", v1::ROLE_AUDITOR));
    Append(world, "adm");
    Append({lg::LotExtracted("e-ox", "ox", "cn-mine", v1::MATERIAL_ANTIMONY_OXIDE, "282580",
                             6 * kTonne),
            lg::ShipmentDispatched("e-d-th", "S-th", {{"ox", 6 * kTonne}}, "cn-mine", "th-yard",
                                   "CN", "282580")},
           "cn-miner");
    Append({lg::ShipmentArrived("e-a-th", "S-th", "th-yard"),
            lg::LotTransformed("e-bag", "t-bag", "th-yard", v1::PROCESS_REPACKAGING,
                               {{"ox", 6 * kTonne}},
                               {{"bagged", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 6 * kTonne}}),
            lg::ShipmentDispatched("e-d-us", "S-us", {{"bagged", 6 * kTonne}}, "th-yard", "us-port",
                                   "TH", "282580")},
           "th-party");
    Append({lg::ShipmentArrived("e-a-us", "S-us", "us-port")}, "us-party");

    ServeViews();
  }

  void TearDown() override { StopViews(); }

  // Folds the log into the views under `views_dir` and serves them with the ledger over mutual
  // TLS; a stub per caller.
  void ServeViews(const std::string& views_dir = "views") {
    auto tls = rpc::ProgramTransportFromFlags({pki_.server_cert, pki_.server_key, pki_.ca_cert});
    ASSERT_TRUE(tls.ok()) << tls.status();
    auto identity = rpc::ProgramIdentityOptions(true, "loopback");
    ASSERT_TRUE(identity.ok());
    NodeOptions node_options;
    node_options.store.path = dir_.Sub(views_dir);
    node_options.store.sync = false;
    node_options.service.identity = *identity;
    node_options.service.admin_party = "adm";
    auto node = ProvenanceNode::Open(
        node_options,
        std::make_unique<LocalLogSource>(ledger_->log(), [this](std::function<void()> wake) {
          return ledger_->WakeOnCommit(std::move(wake));
        }));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    node_->Start();
    ledger_service_ = std::make_unique<ledger::LedgerServiceImpl>(*ledger_, nullptr);
    ledger_service_->RequireAttestation(*identity);
    auto server = rpc::StartServer("127.0.0.1:0", {ledger_service_.get(), &node_->service()}, {},
                                   {tls->server, ""});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    int serial = 5000;
    for (const auto& party : kCallers) {
      auto credentials = party.empty() ? testing::AnonymousCredentials(pki_)
                                       : testing::PartyCredentials(pki_, party, ++serial);
      auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port), credentials);
      provenance_[party] = v1::ProvenanceService::NewStub(channel);
      ledger_stubs_[party] = v1::LedgerService::NewStub(channel);
    }
  }

  void StopViews() {
    if (ledger_service_) ledger_service_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (node_) node_->Stop();
    server_.reset();
    ledger_service_.reset();
    node_.reset();
  }

  void Append(std::vector<v1::Event> events, const std::string& party) {
    ledger::AppendBatch batch;
    for (auto& event : events) {
      event.set_actor(party);
      auto domain = codec::EventFromProto(event);
      ASSERT_TRUE(domain.ok()) << domain.status();
      batch.events.push_back(*std::move(domain));
    }
    batch.attester = party;
    auto outcome = ledger_->AppendAndWait(std::move(batch));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  uint64_t Size() const { return ledger_->log().GetHead().size; }

  template <typename Request>
  Request At(Request request) {
    request.set_min_position(Size());
    return request;
  }

  // Calls `method` of the provenance stub of `party`.
  template <typename Request, typename Response, typename Method>
  grpc::Status Call(const std::string& party, Method method, const Request& request,
                    Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*provenance_[party]).*method)(&context, At(request), response);
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<ProvenanceNode> node_;
  std::unique_ptr<ledger::LedgerServiceImpl> ledger_service_;
  std::unique_ptr<grpc::Server> server_;
  std::map<std::string, std::unique_ptr<v1::ProvenanceService::Stub>> provenance_;
  std::map<std::string, std::unique_ptr<v1::LedgerService::Stub>> ledger_stubs_;
};

using PS = v1::ProvenanceService::Stub;

TEST_F(ReadMatrixTest, EveryProvenanceQueryByEveryCaller) {
  v1::GetLotRequest lot;
  lot.set_lot_id("bagged");
  v1::TraceOriginRequest trace;
  trace.set_lot_id("bagged");
  v1::TraceDownstreamRequest downstream;
  downstream.set_lot_id("ox");
  v1::GetShipmentRequest shipment;
  shipment.set_shipment_id("S-us");
  v1::CheckComplianceRequest check;
  check.set_shipment_id("S-us");
  check.mutable_as_of()->set_seconds(lg::kEventTimeSeconds);
  v1::GetExposureRequest exposure;
  exposure.set_party_id("us-party");
  exposure.mutable_from_time()->set_seconds(lg::kEventTimeSeconds - 86400);
  exposure.mutable_to_time()->set_seconds(lg::kEventTimeSeconds + 86400);
  v1::ListFlagsRequest flags;
  v1::GetHistoryRequest lot_history;
  lot_history.set_lot_id("bagged");
  v1::GetHistoryRequest shipment_history;
  shipment_history.set_shipment_id("S-us");
  shipment_history.mutable_as_of()->set_seconds(lg::kEventTimeSeconds);

  for (const auto& party : kCallers) {
    SCOPED_TRACE(party.empty() ? "no identity" : party);
    // us-party received the bagged lot; the auditor reads everything; everyone else (another
    // partner, the holder's delegate, a registrar, an authority) holds nothing here.
    const bool may = party == "us-party" || party == "aud";
    const grpc::StatusCode refused =
        party.empty() ? grpc::StatusCode::UNAUTHENTICATED : grpc::StatusCode::PERMISSION_DENIED;
    auto expect = [&](const grpc::Status& status, const char* what) {
      if (may) {
        EXPECT_TRUE(status.ok()) << what << ": " << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), refused) << what << ": " << status.error_message();
      }
    };
    v1::GetLotResponse got_lot;
    expect(Call(party, &PS::GetLot, lot, &got_lot), "GetLot");
    v1::TraceOriginResponse got_trace;
    expect(Call(party, &PS::TraceOrigin, trace, &got_trace), "TraceOrigin");
    v1::GetShipmentResponse got_shipment;
    expect(Call(party, &PS::GetShipment, shipment, &got_shipment), "GetShipment");
    v1::CheckComplianceResponse got_check;
    expect(Call(party, &PS::CheckCompliance, check, &got_check), "CheckCompliance");
    v1::GetExposureResponse got_exposure;
    expect(Call(party, &PS::GetExposure, exposure, &got_exposure), "GetExposure");
    v1::GetHistoryResponse got_lot_history;
    expect(Call(party, &PS::GetHistory, lot_history, &got_lot_history), "GetHistory lot");
    v1::GetHistoryResponse got_shipment_history;
    expect(Call(party, &PS::GetHistory, shipment_history, &got_shipment_history),
           "GetHistory shipment");
    if (party == "us-party") {
      EXPECT_GT(got_lot_history.entries_size(), 0);
      EXPECT_GT(got_shipment_history.entries_size(), 0);
      ExpectNoUpstreamIds(got_lot_history);
      ExpectNoUpstreamIds(got_shipment_history);
    }
    // Only the auditor may trace downstream from the Chinese lot: us-party never held "ox".
    v1::TraceDownstreamResponse got_downstream;
    const grpc::Status down = Call(party, &PS::TraceDownstream, downstream, &got_downstream);
    if (party == "aud") {
      EXPECT_TRUE(down.ok()) << down.error_message();
    } else {
      EXPECT_EQ(down.error_code(), refused) << down.error_message();
    }
    // ListFlags answers everyone with an identity, with only the flags it may see.
    v1::ListFlagsResponse got_flags;
    const grpc::Status listed = Call(party, &PS::ListFlags, flags, &got_flags);
    if (party.empty()) {
      EXPECT_EQ(listed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    } else {
      ASSERT_TRUE(listed.ok()) << listed.error_message();
      if (may) {
        EXPECT_GT(got_flags.flags_size(), 0);  // the Thai-declared Chinese oxide
      } else {
        EXPECT_EQ(got_flags.flags_size(), 0) << got_flags.DebugString();
      }
    }
    // Exposure of oneself is always one's own to ask.
    if (!party.empty()) {
      v1::GetExposureRequest own = exposure;
      own.set_party_id(party);
      v1::GetExposureResponse got_own;
      EXPECT_TRUE(Call(party, &PS::GetExposure, own, &got_own).ok());
    }
  }
}

// Roles live in the ledger: a granted auditor reads what a partner may not, a revocation takes
// it back, and views rebuilt from the log decide the same (also for answers at a position
// before the revocation: who may read is judged by the views as they stand).
TEST_F(ReadMatrixTest, ARevokedAuditorIsRefusedLiveAndAfterARebuild) {
  v1::TraceDownstreamRequest downstream;
  downstream.set_lot_id("ox");
  auto ask = [&](const std::string& party, uint64_t at_position = 0) {
    v1::TraceDownstreamRequest request = downstream;
    request.set_at_position(at_position);
    v1::TraceDownstreamResponse response;
    return Call(party, &PS::TraceDownstream, request, &response).error_code();
  };
  EXPECT_EQ(ask("o-party"), grpc::StatusCode::PERMISSION_DENIED);
  Append({lg::RoleGranted("g-5", "o-party", v1::ROLE_AUDITOR)}, "adm");
  const uint64_t while_auditor = Size();
  EXPECT_EQ(ask("o-party"), grpc::StatusCode::OK);
  Append({lg::RoleRevoked("r-5", "o-party", v1::ROLE_AUDITOR)}, "adm");
  EXPECT_EQ(ask("o-party"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ask("o-party", while_auditor), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ask("aud"), grpc::StatusCode::OK);

  // Rebuilt in place, and folded afresh into another directory: the same decisions.
  StopViews();
  NodeOptions options;
  options.store.path = dir_.Sub("views");
  ASSERT_TRUE(DeleteViews(options.store).ok());
  for (const char* views : {"views", "views-fresh"}) {
    SCOPED_TRACE(views);
    ServeViews(views);
    EXPECT_EQ(ask("o-party"), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ask("o-party", while_auditor), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(ask("aud"), grpc::StatusCode::OK);
    EXPECT_EQ(ask("us-party"), grpc::StatusCode::PERMISSION_DENIED);
    StopViews();
  }
}

TEST_F(ReadMatrixTest, APartnerSeesUpstreamCountriesButNotUpstreamIdentities) {
  v1::TraceOriginRequest trace;
  trace.set_lot_id("bagged");
  v1::TraceOriginResponse as_auditor, as_holder;
  ASSERT_TRUE(Call("aud", &PS::TraceOrigin, trace, &as_auditor).ok());
  ASSERT_TRUE(Call("us-party", &PS::TraceOrigin, trace, &as_holder).ok());

  // The auditor sees every identity.
  std::map<std::string, const v1::LineageNode*> by_id;
  for (const auto& node : as_auditor.nodes()) by_id[node.id()] = &node;
  ASSERT_TRUE(by_id.contains("ox")) << as_auditor.DebugString();
  EXPECT_EQ(by_id["ox"]->facility_id(), "cn-mine");
  ASSERT_TRUE(by_id.contains("t-bag"));

  // The holder: the same graph, the same countries and masses, pseudonyms upstream.
  ASSERT_EQ(as_holder.nodes_size(), as_auditor.nodes_size());
  ASSERT_EQ(as_holder.edges_size(), as_auditor.edges_size());
  ExpectNoUpstreamIds(as_holder);
  std::map<std::string, std::string> country_of;
  for (int i = 0; i < as_holder.nodes_size(); ++i) {
    const auto& seen = as_holder.nodes(i);
    const auto& truth = as_auditor.nodes(i);
    EXPECT_EQ(seen.country(), truth.country());
    EXPECT_EQ(seen.mass_g(), truth.mass_g());
    EXPECT_EQ(seen.kind(), truth.kind());
    country_of[seen.id()] = seen.country();
    if (truth.id() == "bagged") {
      EXPECT_EQ(seen.id(), "bagged");  // its own lot
    } else {
      EXPECT_THAT(seen.id(), HasSubstr("redacted:")) << seen.DebugString();
    }
  }
  EXPECT_EQ(country_of["redacted:lot:1"], "CN");
  // The graph still connects: every edge names nodes of the answer.
  for (const auto& edge : as_holder.edges()) {
    EXPECT_TRUE(country_of.contains(edge.from_id())) << edge.DebugString();
    EXPECT_TRUE(country_of.contains(edge.to_id())) << edge.DebugString();
  }
  // Thailand, its counterparty, keeps its facility name; the Chinese mine does not.
  for (const auto& node : as_holder.nodes()) {
    if (node.country() == "TH") {
      EXPECT_EQ(node.facility_id(), "th-yard");
    }
    if (node.country() == "CN") {
      EXPECT_THAT(node.facility_id(), HasSubstr("redacted:facility:"));
    }
  }
  // Mining origin by country survives in the profile.
  bool mined_in_cn = false;
  for (const auto& stage : as_holder.profile().stages()) {
    for (const auto& share : stage.countries()) {
      mined_in_cn |= stage.stage() == v1::STAGE_MINING && share.key() == "CN";
    }
  }
  EXPECT_TRUE(mined_in_cn);

  // The other answers of the holder name no upstream identity either.
  v1::GetLotRequest lot;
  lot.set_lot_id("bagged");
  v1::GetLotResponse got_lot;
  ASSERT_TRUE(Call("us-party", &PS::GetLot, lot, &got_lot).ok());
  ExpectNoUpstreamIds(got_lot);
  v1::GetLotResponse auditor_lot;
  ASSERT_TRUE(Call("aud", &PS::GetLot, lot, &auditor_lot).ok());
  bool auditor_sees_miner = false;
  for (const auto& share : auditor_lot.lot().profile().parties()) {
    auditor_sees_miner |= share.key() == "cn-miner";
  }
  EXPECT_TRUE(auditor_sees_miner) << auditor_lot.DebugString();

  v1::CheckComplianceRequest check;
  check.set_shipment_id("S-us");
  check.mutable_as_of()->set_seconds(lg::kEventTimeSeconds);
  v1::CheckComplianceResponse got_check;
  ASSERT_TRUE(Call("us-party", &PS::CheckCompliance, check, &got_check).ok());
  ExpectNoUpstreamIds(got_check);
  v1::ListFlagsResponse got_flags;
  ASSERT_TRUE(Call("us-party", &PS::ListFlags, v1::ListFlagsRequest(), &got_flags).ok());
  ExpectNoUpstreamIds(got_flags);
  v1::GetExposureRequest exposure;
  exposure.set_party_id("us-party");
  exposure.mutable_from_time()->set_seconds(lg::kEventTimeSeconds - 86400);
  exposure.mutable_to_time()->set_seconds(lg::kEventTimeSeconds + 86400);
  v1::GetExposureResponse got_exposure;
  ASSERT_TRUE(Call("us-party", &PS::GetExposure, exposure, &got_exposure).ok());
  ExpectNoUpstreamIds(got_exposure);
  EXPECT_GT(got_exposure.received_mass_g(), 0);

  // A shipment it was not party to is refused, even for a lot it now holds.
  v1::GetShipmentRequest upstream;
  upstream.set_shipment_id("S-th");
  v1::GetShipmentResponse got_upstream;
  EXPECT_EQ(Call("us-party", &PS::GetShipment, upstream, &got_upstream).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ReadMatrixTest, LedgerReadsByEveryCaller) {
  for (const auto& party : kCallers) {
    SCOPED_TRACE(party.empty() ? "no identity" : party);
    auto& stub = *ledger_stubs_[party];
    const grpc::StatusCode refused =
        party.empty() ? grpc::StatusCode::UNAUTHENTICATED : grpc::StatusCode::PERMISSION_DENIED;
    {
      grpc::ClientContext context;
      v1::ReadAllResponse response;
      const grpc::Status status = stub.ReadAll(&context, v1::ReadAllRequest(), &response);
      if (party == "aud") {
        EXPECT_TRUE(status.ok()) << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), refused) << status.error_message();
      }
    }
    for (const std::string event_id : {"e-a-us", "e-ox"}) {
      v1::GetEventRequest request;
      request.set_event_id(event_id);
      grpc::ClientContext context;
      v1::StoredEvent response;
      const grpc::Status status = stub.GetEvent(&context, request, &response);
      const bool may = party == "aud" || (party == "us-party" && event_id == "e-a-us");
      if (may) {
        EXPECT_TRUE(status.ok()) << event_id << ": " << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), refused) << event_id << ": " << status.error_message();
      }
    }
    // An inclusion proof carries the event as its leaf: proved only to those who may read it.
    for (const std::string event_id : {"e-a-us", "e-ox"}) {
      auto position = ledger_->log().FindEventId(event_id);
      ASSERT_TRUE(position.ok() && position->has_value());
      v1::GetInclusionProofRequest request;
      request.set_position(**position);
      grpc::ClientContext context;
      v1::InclusionProof response;
      const grpc::Status status = stub.GetInclusionProof(&context, request, &response);
      const bool may = party == "aud" || (party == "us-party" && event_id == "e-a-us");
      if (may) {
        EXPECT_TRUE(status.ok()) << event_id << ": " << status.error_message();
        EXPECT_FALSE(response.leaf_data().empty());
      } else {
        EXPECT_EQ(status.error_code(), refused) << event_id << ": " << status.error_message();
        EXPECT_TRUE(response.leaf_data().empty());
      }
    }
    {
      v1::ReadStreamRequest request;
      request.set_subject("shipment/S-us");
      grpc::ClientContext context;
      v1::ReadStreamResponse response;
      const grpc::Status status = stub.ReadStream(&context, request, &response);
      if (party.empty()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      } else {
        ASSERT_TRUE(status.ok()) << status.error_message();
        const bool may = party == "aud" || party == "us-party";
        EXPECT_EQ(response.events_size(), may ? 2 : 0);
        EXPECT_EQ(response.withheld(), may ? 0u : 2u);
      }
    }
  }
}

}  // namespace
}  // namespace lodestone::provenance
