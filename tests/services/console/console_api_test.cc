// The console's HTTP API over mutual TLS against a real ledger, provenance node and gRPC server:
// its answers are the gRPC answers (same authorisation, redaction, positions), proofs are given
// only of readable events, search follows the read rule, static files are served with a
// same-origin policy, bad requests are precise problems.
#include "services/console/console_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
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

namespace lodestone::console {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kTonne = 1000000;

const std::vector<WebFile> kWeb = {{"index.html", "<!doctype html><title>console</title>"},
                                   {"vendor/lib.js", "export const x = 1;"}};

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki_, &error)) << error;
    for (const char* party : {"us-party", "o-party", "aud"}) {
      ASSERT_TRUE(testing::pki_internal::MakeLeaf(
          pki_.dir, party, party, "ca",
          absl::StrCat("extendedKeyUsage = clientAuth\nsubjectAltName = URI:urn:lodestone:party:",
                       party, "\n"),
          ++serial_, &error))
          << error;
    }
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    options.authority.admin_party = "adm";
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    std::vector<v1::Event> world;
    for (const char* party : {"cn-miner", "th-party", "us-party", "o-party", "aud"}) {
      world.push_back(lg::PartyRegistered(std::string("p-") + party, party, "AU"));
    }
    world.push_back(
        lg::FacilityRegistered("f-1", "cn-mine", "cn-miner", "CN", v1::FACILITY_KIND_MINE));
    world.push_back(
        lg::FacilityRegistered("f-2", "th-yard", "th-party", "TH", v1::FACILITY_KIND_WAREHOUSE));
    world.push_back(
        lg::FacilityRegistered("f-3", "us-port", "us-party", "US", v1::FACILITY_KIND_PORT));
    world.push_back(lg::RoleGranted("g-1", "aud", v1::ROLE_AUDITOR));
    Append(world, "adm");
    Append({lg::LotExtracted("e-ox", "ox", "cn-mine", v1::MATERIAL_ANTIMONY_OXIDE, "282580",
                             6 * kTonne),
            lg::ShipmentDispatched("e-d-th", "S-th", {{"ox", 6 * kTonne}}, "cn-mine", "th-yard",
                                   "CN", "282580")},
           "cn-miner");
    before_bagging_ = Size();
    Append({lg::ShipmentArrived("e-a-th", "S-th", "th-yard"),
            lg::LotTransformed("e-bag", "t-bag", "th-yard", v1::PROCESS_REPACKAGING,
                               {{"ox", 6 * kTonne}},
                               {{"bagged", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 6 * kTonne}}),
            lg::ShipmentDispatched("e-d-us", "S-us", {{"bagged", 6 * kTonne}}, "th-yard", "us-port",
                                   "TH", "282580")},
           "th-party");
    Append({lg::ShipmentArrived("e-a-us", "S-us", "us-port")}, "us-party");

    auto identity = rpc::ProgramIdentityOptions(true, "loopback");
    ASSERT_TRUE(identity.ok());
    provenance::NodeOptions node_options;
    node_options.store.path = dir_.Sub("views");
    node_options.store.sync = false;
    node_options.service.identity = *identity;
    node_options.service.admin_party = "adm";
    node_options.service.max_position_wait = absl::Seconds(1);  // then 503
    auto node = provenance::ProvenanceNode::Open(
        node_options, std::make_unique<provenance::LocalLogSource>(
                          ledger_->log(), [this](std::function<void()> wake) {
                            return ledger_->WakeOnCommit(std::move(wake));
                          }));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    node_->Start();
    ledger_service_ = std::make_unique<ledger::LedgerServiceImpl>(*ledger_, nullptr);
    ledger_service_->RequireAttestation(*identity);

    auto tls = rpc::ProgramTransportFromFlags({pki_.server_cert, pki_.server_key, pki_.ca_cert});
    ASSERT_TRUE(tls.ok()) << tls.status();
    auto grpc_server = rpc::StartServer("127.0.0.1:0", {&node_->service()}, {}, {tls->server, ""});
    ASSERT_TRUE(grpc_server.ok()) << grpc_server.status();
    grpc_server_ = std::move(grpc_server->server);
    grpc_port_ = grpc_server->port;

    http::ServerOptions http_options;
    auto material = rpc::LoadTlsMaterial({pki_.server_cert, pki_.server_key, pki_.ca_cert});
    ASSERT_TRUE(material.ok()) << material.status();
    http_options.tls = *material;
    http_options.identity = *identity;
    auto http = http::HttpServer::Create(http_options);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    ConsoleOptions console;
    console.provenance = &node_->service();
    console.ledger = ledger_service_.get();
    console.web_files = &kWeb;
    RegisterConsole(*http_, console);
    ASSERT_TRUE(http_->Start().ok());
  }

  void TearDown() override {
    if (http_) http_->Stop();
    if (grpc_server_) {
      grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
    if (node_) node_->Stop();
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

  // A client with `party`'s certificate (the server's is not verified: the test made it).
  std::unique_ptr<httplib::SSLClient> Client(const std::string& party) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", http_->port(),
                                                       pki_.dir + "/" + party + ".crt",
                                                       pki_.dir + "/" + party + ".key");
    client->enable_server_certificate_verification(false);
    client->set_read_timeout(30, 0);
    return client;
  }
  httplib::Result Post(const std::string& party, const std::string& path, const std::string& body) {
    return Client(party)->Post(path, body, "application/json");
  }
  httplib::Result Get(const std::string& party, const std::string& path) {
    return Client(party)->Get(path);
  }

  std::string MinPosition() const { return absl::StrCat("\"minPosition\":\"", Size(), "\""); }

  testing::TempDir dir_;
  testing::TestPki pki_;
  int serial_ = 7000;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<provenance::ProvenanceNode> node_;
  std::unique_ptr<ledger::LedgerServiceImpl> ledger_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int grpc_port_ = 0;
  std::unique_ptr<http::HttpServer> http_;
  uint64_t before_bagging_ = 0;
};

TEST_F(ConsoleApiTest, AnswersAreTheGrpcAnswersForTheSameCaller) {
  for (const std::string party : {"us-party", "aud"}) {
    SCOPED_TRACE(party);
    auto got = Post(party, "/api/provenance/TraceOrigin",
                    absl::StrCat("{\"lotId\":\"bagged\",", MinPosition(), "}"));
    ASSERT_TRUE(got) << httplib::to_string(got.error());
    ASSERT_EQ(got->status, 200) << got->body;
    v1::TraceOriginResponse over_http;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(got->body, &over_http).ok());

    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                       testing::PartyCredentials(pki_, party, ++serial_));
    v1::TraceOriginRequest request;
    request.set_lot_id("bagged");
    request.set_min_position(Size());
    v1::TraceOriginResponse over_grpc;
    grpc::ClientContext context;
    ASSERT_TRUE(
        v1::ProvenanceService::NewStub(channel)->TraceOrigin(&context, request, &over_grpc).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(over_http, over_grpc))
        << over_http.DebugString() << "\nvs\n"
        << over_grpc.DebugString();
    // The partner sees upstream countries, not upstream identities.
    if (party == "us-party") {
      EXPECT_THAT(got->body, Not(HasSubstr("cn-mine")));
      EXPECT_THAT(got->body, HasSubstr("CN"));
    } else {
      EXPECT_THAT(got->body, HasSubstr("cn-mine"));
    }
  }
}

TEST_F(ConsoleApiTest, RefusalsArePreciseProblems) {
  auto denied = Post("o-party", "/api/provenance/GetLot", "{\"lotId\":\"bagged\"}");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403) << denied->body;
  EXPECT_EQ(denied->get_header_value("Content-Type"), "application/problem+json");
  EXPECT_THAT(denied->body, HasSubstr("PERMISSION_DENIED"));
  auto unknown = Post("aud", "/api/provenance/GetLot", "{\"lotId\":\"nope\"}");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  auto bad_field = Post("aud", "/api/provenance/GetLot", "{\"lot\":\"bagged\"}");
  ASSERT_TRUE(bad_field);
  EXPECT_EQ(bad_field->status, 400);
  EXPECT_THAT(bad_field->body, HasSubstr("not a GetLotRequest"));
  auto not_json = Post("aud", "/api/provenance/GetLot", "{\"lotId\":");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  auto no_method = Post("aud", "/api/provenance/DropEverything", "{}");
  ASSERT_TRUE(no_method);
  EXPECT_EQ(no_method->status, 404);
  EXPECT_THAT(no_method->body, HasSubstr("no method 'DropEverything'"));
  // Beyond the head: waits (bounded), then 503.
  auto ahead = Post("aud", "/api/provenance/GetLot",
                    absl::StrCat("{\"lotId\":\"bagged\",\"minPosition\":\"", Size() + 5, "\"}"));
  ASSERT_TRUE(ahead);
  EXPECT_EQ(ahead->status, 503) << ahead->body;
}

TEST_F(ConsoleApiTest, AtAPositionTheAnswerIsAsTheLedgerStoodThen) {
  auto now = Post("aud", "/api/provenance/GetLot",
                  absl::StrCat("{\"lotId\":\"bagged\",", MinPosition(), "}"));
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status, 200) << now->body;
  auto then = Post("aud", "/api/provenance/GetLot",
                   absl::StrCat("{\"lotId\":\"bagged\",\"atPosition\":\"", before_bagging_, "\"}"));
  ASSERT_TRUE(then);
  EXPECT_EQ(then->status, 404) << then->body;  // not made yet
}

TEST_F(ConsoleApiTest, ProofsAndEventsOnlyOfWhatTheCallerMayRead) {
  auto position = ledger_->log().FindEventId("e-ox");
  ASSERT_TRUE(position.ok() && position->has_value());
  const std::string body = absl::StrCat("{\"position\":\"", **position, "\"}");
  auto partner = Post("us-party", "/api/ledger/GetInclusionProof", body);
  ASSERT_TRUE(partner);
  EXPECT_EQ(partner->status, 403) << partner->body;
  auto auditor = Post("aud", "/api/ledger/GetInclusionProof", body);
  ASSERT_TRUE(auditor);
  EXPECT_EQ(auditor->status, 200) << auditor->body;
  EXPECT_THAT(auditor->body, HasSubstr("leafData"));
  auto own = Post("us-party", "/api/ledger/GetEvent", "{\"eventId\":\"e-a-us\"}");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
  auto head = Post("o-party", "/api/ledger/GetHead", "");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_THAT(head->body, HasSubstr(absl::StrCat("\"size\":\"", Size(), "\"")));
}

TEST_F(ConsoleApiTest, SearchFollowsTheReadRule) {
  auto all = Get("aud", "/api/search?q=o");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->status, 200) << all->body;
  EXPECT_THAT(all->body, HasSubstr("{\"id\":\"ox\",\"kind\":\"lot\"}"));
  EXPECT_THAT(all->body, HasSubstr("{\"id\":\"o-party\",\"kind\":\"party\"}"));
  auto partner = Get("us-party", "/api/search?q=");
  ASSERT_TRUE(partner);
  EXPECT_EQ(partner->status, 400);  // an empty prefix
  auto lots = Get("us-party", "/api/search?q=b");
  ASSERT_TRUE(lots);
  EXPECT_THAT(lots->body, HasSubstr("\"bagged\""));
  auto others = Get("us-party", "/api/search?q=o");
  ASSERT_TRUE(others);
  EXPECT_EQ(others->body, "{\"results\":[]}");  // neither ox nor o-party is us-party's
}

TEST_F(ConsoleApiTest, ServesTheWebApplicationSameOriginOnly) {
  auto index = Get("o-party", "/console/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>console</title>");
  EXPECT_THAT(index->get_header_value("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(index->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  auto nested = Get("o-party", "/console/vendor/lib.js");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 200);
  EXPECT_THAT(nested->get_header_value("Content-Type"), HasSubstr("text/javascript"));
  auto missing = Get("o-party", "/console/secret.txt");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto bare = Get("o-party", "/console");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 308);
  EXPECT_EQ(bare->get_header_value("Location"), "/console/");
  auto info = Get("o-party", "/api/info");
  ASSERT_TRUE(info);
  EXPECT_THAT(info->body, HasSubstr("\"ledger\":true"));
}

}  // namespace
}  // namespace lodestone::console
