// The write matrix of issue 12: every v1 event kind appended over mutual TLS by every kind of
// caller (the facility's operator, another partner, the operator's delegate, a registrar, the
// licensing authority of the right and of a wrong country, an auditor, a certificate without an
// identity). Each is allowed or refused with PERMISSION_DENIED (UNAUTHENTICATED without an
// identity) naming the event and the rule, and a refusal appends nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_service.h"
#include "services/loadgen/workload.h"
#include "services/rpc/identity.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/party_credentials.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::ledger {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;

enum class Caller {
  kOperator,        // m-party: operates m-mine, m-smelter and m-port
  kOtherPartner,    // o-party: operates o-yard
  kDelegate,        // dlg: delegate of m-party, appends with actor m-party
  kRegistrar,       // reg
  kRightAuthority,  // cn-auth: licensing authority of CN
  kWrongAuthority,  // au-auth: licensing authority of AU
  kAuditor,         // aud
  kNoIdentity,      // a CA-signed certificate without an identity SAN
};
constexpr Caller kCallers[] = {Caller::kOperator,  Caller::kOtherPartner,   Caller::kDelegate,
                               Caller::kRegistrar, Caller::kRightAuthority, Caller::kWrongAuthority,
                               Caller::kAuditor,   Caller::kNoIdentity};

const char* Name(Caller caller) {
  switch (caller) {
    case Caller::kOperator:
      return "operator";
    case Caller::kOtherPartner:
      return "other-partner";
    case Caller::kDelegate:
      return "delegate";
    case Caller::kRegistrar:
      return "registrar";
    case Caller::kRightAuthority:
      return "authority-of-CN";
    case Caller::kWrongAuthority:
      return "authority-of-AU";
    case Caller::kAuditor:
      return "auditor";
    case Caller::kNoIdentity:
      return "no-identity";
  }
  return "?";
}

// The party a caller's certificate names, and the actor it writes as.
std::string PartyOf(Caller caller) {
  switch (caller) {
    case Caller::kOperator:
      return "m-party";
    case Caller::kOtherPartner:
      return "o-party";
    case Caller::kDelegate:
      return "dlg";
    case Caller::kRegistrar:
      return "reg";
    case Caller::kRightAuthority:
      return "cn-auth";
    case Caller::kWrongAuthority:
      return "au-auth";
    case Caller::kAuditor:
      return "aud";
    case Caller::kNoIdentity:
      return "nobody";
  }
  return "";
}
std::string ActorOf(Caller caller) {
  return caller == Caller::kDelegate ? "m-party" : PartyOf(caller);
}

domain::Event Domain(const v1::Event& proto) {
  auto event = codec::EventFromProto(proto);
  EXPECT_TRUE(event.ok()) << event.status();
  return event.ok() ? *event : domain::Event();
}

// One row of the matrix: an event kind, what to set up first (appended by the administrator),
// the event to append, and who may append it.
struct Row {
  std::string kind;
  std::function<std::vector<v1::Event>(const std::string& n)> setup;
  std::function<v1::Event(const std::string& n)> event;
  std::set<Caller> allowed;
};

class WriteMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki_, &error)) << error;
    auto tls = rpc::ProgramTransportFromFlags({pki_.server_cert, pki_.server_key, pki_.ca_cert});
    ASSERT_TRUE(tls.ok()) << tls.status();
    auto identity = rpc::ProgramIdentityOptions(true, "loopback");
    ASSERT_TRUE(identity.ok());
    LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    options.authority.admin_party = "adm";
    auto ledger = Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    std::vector<v1::Event> world;
    for (const char* party : {"m-party", "o-party", "dlg", "reg", "cn-auth", "au-auth", "aud"}) {
      world.push_back(lg::PartyRegistered(std::string("p-") + party, party, "AU"));
    }
    world.push_back(
        lg::FacilityRegistered("f-mine", "m-mine", "m-party", "AU", v1::FACILITY_KIND_MINE));
    world.push_back(lg::FacilityRegistered("f-smelter", "m-smelter", "m-party", "AU",
                                           v1::FACILITY_KIND_SMELTER));
    world.push_back(
        lg::FacilityRegistered("f-port", "m-port", "m-party", "AU", v1::FACILITY_KIND_PORT));
    world.push_back(
        lg::FacilityRegistered("f-yard", "o-yard", "o-party", "AU", v1::FACILITY_KIND_WAREHOUSE));
    world.push_back(lg::RoleGranted("g-dlg", "dlg", v1::ROLE_DELEGATE, "", "m-party"));
    world.push_back(lg::RoleGranted("g-reg", "reg", v1::ROLE_REGISTRAR));
    world.push_back(lg::RoleGranted("g-cn", "cn-auth", v1::ROLE_LICENSING_AUTHORITY, "CN"));
    world.push_back(lg::RoleGranted("g-au", "au-auth", v1::ROLE_LICENSING_AUTHORITY, "AU"));
    world.push_back(lg::RoleGranted("g-aud", "aud", v1::ROLE_AUDITOR));
    AsAdmin(world);
    service_ = std::make_unique<LedgerServiceImpl>(*ledger_, nullptr);
    service_->RequireAttestation(*identity);
    auto server = rpc::StartServer("127.0.0.1:0", {service_.get()}, {}, {tls->server, ""});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    int serial = 4000;
    for (Caller caller : kCallers) {
      auto credentials = caller == Caller::kNoIdentity
                             ? testing::AnonymousCredentials(pki_)
                             : testing::PartyCredentials(pki_, PartyOf(caller), ++serial);
      stubs_[caller] = v1::LedgerService::NewStub(
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port), credentials));
    }
  }

  void TearDown() override {
    if (service_) service_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  void AsAdmin(const std::vector<v1::Event>& events) {
    if (events.empty()) return;
    AppendBatch batch;
    for (v1::Event event : events) {
      if (event.actor() == "loadgen") event.set_actor("adm");
      batch.events.push_back(Domain(event));
    }
    batch.attester = "adm";
    auto outcome = ledger_->AppendAndWait(std::move(batch));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  grpc::Status Append(Caller caller, v1::Event event) {
    event.set_actor(ActorOf(caller));
    v1::AppendRequest request;
    *request.add_events() = std::move(event);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::AppendResponse response;
    return stubs_[caller]->Append(&context, request, &response);
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<LedgerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::map<Caller, std::unique_ptr<v1::LedgerService::Stub>> stubs_;
};

std::vector<Row> Rows() {
  const std::set<Caller> operator_side = {Caller::kOperator, Caller::kDelegate};
  std::vector<Row> rows;
  rows.push_back({"PartyRegistered",
                  nullptr,
                  [](const std::string& n) { return lg::PartyRegistered("e" + n, "p" + n, "AU"); },
                  {Caller::kRegistrar}});
  rows.push_back({"FacilityRegistered",
                  nullptr,
                  [](const std::string& n) {
                    return lg::FacilityRegistered("e" + n, "f" + n, "m-party", "AU",
                                                  v1::FACILITY_KIND_WAREHOUSE);
                  },
                  {Caller::kRegistrar}});
  rows.push_back({"LotExtracted", nullptr,
                  [](const std::string& n) {
                    return lg::LotExtracted("e" + n, "l" + n, "m-mine", v1::MATERIAL_ANTIMONY_ORE,
                                            "261710", 1000);
                  },
                  operator_side});
  rows.push_back({"LotRegistered", nullptr,
                  [](const std::string& n) {
                    return lg::LotRegistered("e" + n, "l" + n, "m-port",
                                             v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1000, "CN");
                  },
                  operator_side});
  rows.push_back({"LotTransformed",
                  [](const std::string& n) {
                    return std::vector<v1::Event>{
                        lg::LotExtracted("s" + n, "in" + n, "m-mine", v1::MATERIAL_ANTIMONY_ORE,
                                         "261710", 1000),
                        lg::ShipmentDispatched("sd" + n, "sh" + n, {{"in" + n, 1000}}, "m-mine",
                                               "m-smelter", "AU", "261710"),
                        lg::ShipmentArrived("sa" + n, "sh" + n, "m-smelter")};
                  },
                  [](const std::string& n) {
                    return lg::LotTransformed(
                        "e" + n, "t" + n, "m-smelter", v1::PROCESS_SMELTING, {{"in" + n, 1000}},
                        {{"out" + n, v1::MATERIAL_ANTIMONY_OXIDE, "282580", 600}});
                  },
                  operator_side});
  rows.push_back({"ShipmentDispatched",
                  [](const std::string& n) {
                    return std::vector<v1::Event>{lg::LotExtracted(
                        "s" + n, "l" + n, "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000)};
                  },
                  [](const std::string& n) {
                    return lg::ShipmentDispatched("e" + n, "sh" + n, {{"l" + n, 1000}}, "m-mine",
                                                  "o-yard", "AU", "261710");
                  },
                  operator_side});
  // Sent by o-party from its yard to m-party's port: only the destination's side records it.
  rows.push_back(
      {"ShipmentArrived",
       [](const std::string& n) {
         v1::Event lot = lg::PartyRegistered("s" + n, "x", "AU");
         lot.set_subject("lot/l" + n);
         auto* registered = lot.mutable_lot_registered();
         registered->set_lot_id("l" + n);
         registered->set_material(v1::MATERIAL_ANTIMONY_OXIDE);
         registered->set_hs_code("282580");
         registered->set_mass_g(1000);
         registered->set_facility_id("o-yard");
         return std::vector<v1::Event>{
             lot, lg::ShipmentDispatched("sd" + n, "sh" + n, {{"l" + n, 1000}}, "o-yard", "m-port",
                                         "AU", "282580")};
       },
       [](const std::string& n) { return lg::ShipmentArrived("e" + n, "sh" + n, "m-port"); },
       operator_side});
  rows.push_back({"ExportLicenceGranted",
                  nullptr,
                  [](const std::string& n) {
                    v1::Event event = lg::PartyRegistered("e" + n, "x", "AU");
                    event.set_subject("licence/lic" + n);
                    auto* licence = event.mutable_export_licence_granted();
                    licence->set_licence_id("lic" + n);
                    licence->set_issuing_country("CN");
                    licence->set_exporter_party_id("m-party");
                    licence->add_hs_codes("282580");
                    licence->add_materials(v1::MATERIAL_ANTIMONY_OXIDE);
                    licence->set_quantity_g(1000000);
                    return event;
                  },
                  {Caller::kRightAuthority}});
  rows.push_back(
      {"EventRetracted",
       [](const std::string& n) {
         v1::Event extracted = lg::LotExtracted("s" + n, "l" + n, "m-mine",
                                                v1::MATERIAL_ANTIMONY_ORE, "261710", 1000);
         extracted.set_actor("m-party");  // the administrator says it for m-party
         return std::vector<v1::Event>{extracted};
       },
       [](const std::string& n) { return lg::EventRetracted("e" + n, "lot/l" + n, "s" + n); },
       operator_side});
  rows.push_back(
      {"RoleGranted",
       [](const std::string& n) {
         return std::vector<v1::Event>{lg::PartyRegistered("s" + n, "p" + n, "AU")};
       },
       [](const std::string& n) { return lg::RoleGranted("e" + n, "p" + n, v1::ROLE_AUDITOR); },
       {Caller::kRegistrar}});
  rows.push_back(
      {"RoleRevoked",
       [](const std::string& n) {
         return std::vector<v1::Event>{lg::PartyRegistered("s" + n, "p" + n, "AU"),
                                       lg::RoleGranted("sg" + n, "p" + n, v1::ROLE_AUDITOR)};
       },
       [](const std::string& n) { return lg::RoleRevoked("e" + n, "p" + n, v1::ROLE_AUDITOR); },
       {Caller::kRegistrar}});
  // A fresh key for each row instance (the key id is derived from the public key).
  auto key_event = [](const std::string& id, const std::string& party) {
    auto key = crypto::SigningKey::Generate();
    EXPECT_TRUE(key.ok());
    return lg::SigningKeyRegistered(id, party, crypto::KeyId(key->PublicKey()), key->PublicKey());
  };
  rows.push_back({"SigningKeyRegistered",
                  [](const std::string& n) {
                    return std::vector<v1::Event>{lg::PartyRegistered("s" + n, "p" + n, "AU")};
                  },
                  [key_event](const std::string& n) { return key_event("e" + n, "p" + n); },
                  {Caller::kRegistrar}});
  rows.push_back({"SigningKeyRevoked",
                  [key_event](const std::string& n) {
                    return std::vector<v1::Event>{lg::PartyRegistered("s" + n, "p" + n, "AU"),
                                                  key_event("sk" + n, "p" + n)};
                  },
                  [](const std::string& n) {
                    // The key registered in the setup: its id is filled in by the test.
                    return lg::SigningKeyRevoked("e" + n, "p" + n, "");
                  },
                  {Caller::kRegistrar}});
  return rows;
}

TEST_F(WriteMatrixTest, EveryEventKindByEveryCallerIsAllowedOrRefusedWithNothingAppended) {
  int cases = 0, allowed = 0;
  for (const Row& row : Rows()) {
    for (Caller caller : kCallers) {
      const std::string n = absl::StrCat("-", row.kind, "-", Name(caller));
      SCOPED_TRACE(absl::StrCat(row.kind, " by ", Name(caller)));
      std::vector<v1::Event> setup = row.setup ? row.setup(n) : std::vector<v1::Event>{};
      AsAdmin(setup);
      v1::Event event = row.event(n);
      if (event.has_signing_key_revoked()) {
        event.mutable_signing_key_revoked()->set_key_id(
            setup.back().signing_key_registered().key_id());
      }
      const uint64_t size = ledger_->log().GetHead().size;
      const grpc::Status status = Append(caller, event);
      ++cases;
      if (row.allowed.contains(caller)) {
        ++allowed;
        EXPECT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(ledger_->log().GetHead().size, size + 1);
        continue;
      }
      if (caller == Caller::kNoIdentity) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
        EXPECT_THAT(status.error_message(), HasSubstr("(rule: "));
        EXPECT_THAT(status.error_message(), HasSubstr(event.event_id()));
      }
      EXPECT_EQ(ledger_->log().GetHead().size, size) << "a refused event was appended";
    }
  }
  EXPECT_EQ(cases, 13 * 8);
  EXPECT_EQ(allowed, 6 * 2 + 7);  // six kinds for operator and delegate; one caller for seven
}

// The administrator may retract any party's event; a partner only its own.
TEST_F(WriteMatrixTest, OnlyTheAdministratorRetractsAnotherPartysEvent) {
  v1::Event extracted =
      lg::LotExtracted("x-1", "xl-1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000);
  extracted.set_actor("m-party");
  AsAdmin({extracted});
  v1::Event retraction = lg::EventRetracted("x-2", "lot/xl-1", "x-1");
  const grpc::Status status = Append(Caller::kOtherPartner, retraction);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("(rule: own_events)"));
  AsAdmin({retraction});  // fails the test if refused
}

}  // namespace
}  // namespace lodestone::ledger
