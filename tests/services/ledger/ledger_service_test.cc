// The ledger's gRPC service against a real server on port 0 and a real RocksDB in a temp dir.
#include "services/ledger/ledger_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/loadgen/workload.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/tls.h"
#include "tests/services/rpc/party_credentials.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/http_get.h"
#include "tests/support/rfc6962_verifier.h"
#include "tests/support/temp_dir.h"

namespace lodestone::ledger {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;

class LedgerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }

  void Start(LedgerOptions options = {}, std::optional<rpc::IdentityOptions> identity = {}) {
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;  // durability is the crash test's subject; keep unit tests fast
    auto ledger = Ledger::Open(options, &metrics_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    service_ = std::make_unique<LedgerServiceImpl>(*ledger_, &metrics_);
    if (identity.has_value()) service_->RequireAttestation(*identity);
    auto server = rpc::StartServer("127.0.0.1:0", {service_.get()}, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server->server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::LedgerService::NewStub(channel_);
  }

  void Stop() {
    if (service_) service_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    service_.reset();
    ledger_.reset();
  }

  grpc::Status Append(std::vector<v1::Event> events, v1::AppendResponse* response,
                      std::vector<std::pair<std::string, uint64_t>> expected = {}) {
    v1::AppendRequest request;
    for (auto& e : events) *request.add_events() = std::move(e);
    for (auto& [subject, version] : expected) {
      auto* x = request.add_expected_versions();
      x->set_subject(subject);
      x->set_version(version);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->Append(&context, request, response);
  }

  grpc::Status Append(std::vector<v1::Event> events) {
    v1::AppendResponse response;
    return Append(std::move(events), &response);
  }

  v1::Head Head() {
    grpc::ClientContext context;
    v1::Head head;
    EXPECT_TRUE(stub_->GetHead(&context, v1::GetHeadRequest(), &head).ok());
    return head;
  }

  // Party + mine in AU, then `lots` extracted lots of 1 t each.
  void SeedMine(int lots) {
    std::vector<v1::Event> events = lg::MineSetup("m", "AU");
    for (int i = 0; i < lots; ++i) {
      events.push_back(lg::LotExtracted(absl::StrCat("e-lot-", i), absl::StrCat("lot-", i),
                                        "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000000));
    }
    ASSERT_TRUE(Append(std::move(events)).ok());
  }

  testing::TempDir dir_;
  LedgerMetrics metrics_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<LedgerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
};

TEST_F(LedgerServiceTest, AppendAssignsDensePositionsAndStreamVersions) {
  v1::AppendResponse response;
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU"), &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).position(), 0u);
  EXPECT_EQ(response.results(1).position(), 1u);
  EXPECT_EQ(response.results(0).stream_version(), 1u);
  EXPECT_FALSE(response.duplicate());
  EXPECT_EQ(response.log_size(), 2u);

  v1::AppendResponse second;
  ASSERT_TRUE(
      Append({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000)},
             &second)
          .ok());
  EXPECT_EQ(second.results(0).position(), 2u);
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, RetriedBatchReturnsOriginalPositionsAndWritesNothing) {
  SeedMine(0);
  auto batch = [] {
    return std::vector<v1::Event>{
        lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000),
        lg::LotExtracted("e2", "L2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 6000)};
  };
  v1::AppendResponse first, retry;
  ASSERT_TRUE(Append(batch(), &first).ok());
  ASSERT_TRUE(Append(batch(), &retry).ok());
  EXPECT_TRUE(retry.duplicate());
  ASSERT_EQ(retry.results_size(), 2);
  EXPECT_EQ(retry.results(0).position(), first.results(0).position());
  EXPECT_EQ(retry.results(1).position(), first.results(1).position());
  EXPECT_EQ(Head().size(), 4u);
}

TEST_F(LedgerServiceTest, ReusedEventIdWithDifferentContentIsAlreadyExists) {
  SeedMine(0);
  ASSERT_TRUE(
      Append({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000)})
          .ok());
  auto status =
      Append({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 7000)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("'e1'"));
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, BatchMixingOldAndNewEventIdsIsAlreadyExistsAndAppendsNothing) {
  SeedMine(0);
  auto e1 = lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000);
  ASSERT_TRUE(Append({e1}).ok());
  auto status = Append(
      {e1, lg::LotExtracted("e2", "L2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, WrongExpectedVersionIsAbortedAndAppendsNothing) {
  SeedMine(1);  // lot/lot-0 is at version 1
  v1::AppendResponse response;
  auto event = lg::LotExtracted("e9", "L9", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1);
  auto status = Append({event}, &response, {{"lot/L9", 0}, {"lot/lot-0", 0}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("lot/lot-0"));
  EXPECT_EQ(Head().size(), 3u);

  auto ok = Append({event}, &response, {{"lot/lot-0", 1}, {"lot/L9", 0}});
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(LedgerServiceTest, ExpectedVersionsAreBoundedAndTheirSubjectsValidated) {
  Stop();
  LedgerOptions options;
  options.max_batch_events = 3;
  Start(options);
  SeedMine(0);
  auto event = lg::LotExtracted("e9", "L9", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1);
  v1::AppendResponse response;
  const grpc::Status too_many =
      Append({event}, &response, {{"lot/a", 0}, {"lot/b", 0}, {"lot/c", 0}, {"lot/d", 0}});
  EXPECT_EQ(too_many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_many.error_message(), HasSubstr("expected versions exceed the limit of 3"));
  const grpc::Status malformed = Append({event}, &response, {{"not a subject", 0}});
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("malformed or repeated"));
  EXPECT_EQ(Append({event}, &response, {{"lot/L9", 0}, {"lot/L9", 0}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Head().size(), 2u);
}

TEST_F(LedgerServiceTest, InvalidEventRejectsWholeBatchWithInvalidArgument) {
  SeedMine(0);
  auto good = lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000);
  auto bad = lg::LotExtracted("e2", "L2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5000);
  bad.mutable_lot_extracted()->set_material(v1::MATERIAL_UNSPECIFIED);
  auto status = Append({good, bad});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("events[1]"));
  EXPECT_THAT(status.error_message(), HasSubstr("'e2'"));
  EXPECT_EQ(Head().size(), 2u);
}

TEST_F(LedgerServiceTest, ConsumingUnknownLotIsNotFoundAndAppendsNothing) {
  SeedMine(1);
  auto status =
      Append({lg::LotTransformed("t1", "T1", "m-mine", v1::PROCESS_SMELTING, {{"no-such-lot", 10}},
                                 {{"out", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 5}})});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no-such-lot"));
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, LaterEventInBatchSeesEarlierOnesAndMassIsCheckedExactly) {
  SeedMine(0);
  // Extract and consume in one batch: exactly the whole mass is fine...
  auto ok =
      Append({lg::LotExtracted("e1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000),
              lg::LotTransformed("t1", "T1", "m-mine", v1::PROCESS_SMELTING, {{"L1", 1000}},
                                 {{"O1", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 800}})});
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  // ...one more gram is not.
  auto status =
      Append({lg::LotExtracted("e2", "L2", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000),
              lg::LotTransformed("t2", "T2", "m-mine", v1::PROCESS_SMELTING, {{"L2", 1001}},
                                 {{"O2", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 800}})});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("events[1]"));
  EXPECT_EQ(Head().size(), 4u);
}

TEST_F(LedgerServiceTest, OversizedBatchIsRejected) {
  Stop();
  LedgerOptions options;
  options.max_batch_events = 3;
  Start(options);
  SeedMine(1);  // 3 events: at the limit
  std::vector<v1::Event> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(lg::LotExtracted(absl::StrCat("x", i), absl::StrCat("X", i), "m-mine",
                                      v1::MATERIAL_ANTIMONY_ORE, "261710", 1));
  }
  auto status = Append(std::move(events));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("limit"));
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, EmptyBatchIsInvalidArgument) {
  EXPECT_EQ(Append({}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// A licence whose validity ends at `until_seconds` (Unix seconds), with the nanos given.
v1::Event LicenceUntil(const std::string& event_id, int64_t until_seconds, int32_t nanos) {
  v1::Event event = lg::MineSetup("m", "AU")[0];  // the envelope of a generated event
  event.clear_party_registered();
  event.set_event_id(event_id);
  event.set_subject("licence/lic-1");
  auto* licence = event.mutable_export_licence_granted();
  licence->set_licence_id("lic-1");
  licence->set_issuing_country("AU");
  licence->set_exporter_party_id("m-party");
  licence->add_materials(v1::MATERIAL_ANTIMONY_ORE);
  licence->set_quantity_g(1000);
  licence->mutable_valid_until()->set_seconds(until_seconds);
  licence->mutable_valid_until()->set_nanos(nanos);
  return event;
}

v1::StoredEvent ReadOne(v1::LedgerService::Stub& stub, uint64_t position) {
  v1::ReadAllRequest request;
  request.set_from_position(position);
  request.set_max_events(1);
  v1::ReadAllResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(stub.ReadAll(&context, request, &response).ok());
  EXPECT_EQ(response.events_size(), 1);
  return response.events_size() == 1 ? response.events(0) : v1::StoredEvent();
}

TEST_F(LedgerServiceTest, TimesOutsideTheAcceptedRangeAreRefusedNotClamped) {
  SeedMine(0);  // 2 records
  // Year 1 used to be stored as 1677-09-21 (int64 nanoseconds saturated).
  auto year1 = lg::LotExtracted("e-y1", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
  year1.mutable_event_time()->set_seconds(-62135596800);  // 0001-01-01T00:00:00Z
  auto status = Append({year1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("event_time"));
  EXPECT_THAT(status.error_message(), HasSubstr("outside the accepted range"));
  auto year1899 = year1;
  year1899.mutable_event_time()->set_seconds(-2208988801);  // 1899-12-31T23:59:59Z
  EXPECT_EQ(Append({year1899}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto year1900 = year1;
  year1900.mutable_event_time()->set_seconds(-2208988800);  // 1900-01-01T00:00:00Z
  year1900.mutable_event_time()->set_nanos(1);
  ASSERT_TRUE(Append({year1900}).ok());
  const v1::StoredEvent stored = ReadOne(*stub_, 2);
  EXPECT_EQ(stored.event().event_time().seconds(), -2208988800);
  EXPECT_EQ(stored.event().event_time().nanos(), 1);
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, EventTimeBeyondTheClockPlusSkewIsRefused) {
  SeedMine(0);
  auto ahead = lg::LotExtracted("e-ahead", "L1", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
  ahead.mutable_event_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 7)));
  auto status = Append({ahead});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("later than the ledger's commit time"));
  EXPECT_EQ(Head().size(), 2u);
  // Within the skew (5 minutes by default) is accepted: client clocks run a little ahead.
  ahead.mutable_event_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Minutes(1)));
  EXPECT_TRUE(Append({ahead}).ok());
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, FarFutureLicenceValidityIsStoredExactlyAndIdempotentByContent) {
  SeedMine(0);
  const int64_t year3000 = 32503680000;  // 3000-01-01T00:00:00Z, beyond int64 nanoseconds
  ASSERT_TRUE(Append({LicenceUntil("e-lic", year3000, 5)}).ok());
  const v1::StoredEvent stored = ReadOne(*stub_, 2);
  EXPECT_EQ(stored.event().export_licence_granted().valid_until().seconds(), year3000);
  EXPECT_EQ(stored.event().export_licence_granted().valid_until().nanos(), 5);
  // The same content is a duplicate; another year is different content, not a duplicate.
  v1::AppendResponse retry;
  ASSERT_TRUE(Append({LicenceUntil("e-lic", year3000, 5)}, &retry).ok());
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(Append({LicenceUntil("e-lic", year3000 + 31536000, 5)}).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Head().size(), 3u);
}

domain::Event Domain(const v1::Event& proto) {
  auto event = codec::EventFromProto(proto);
  EXPECT_TRUE(event.ok()) << event.status();
  return event.ok() ? *event : domain::Event();
}

TEST_F(LedgerServiceTest, AnAttestedBatchIsBoundToItsCallerAndAuthorizedAsItsStatement) {
  SeedMine(0);  // party m-party operates m-mine (appended unattested, as before attestation)
  auto extraction = [](const std::string& id, const std::string& actor) {
    auto event = lg::LotExtracted(id, "L-" + id, "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
    event.set_actor(actor);
    return Domain(event);
  };
  // The operator extracts at its own mine: stored with the caller as attester.
  auto own = ledger_->AppendAndWait({{extraction("e-own", "m-party")}, {}, "m-party"});
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(ReadOne(*stub_, 2).event().attested_by(), "m-party");
  // Another caller may not say it for the operator, nor name another attester.
  auto other = ledger_->AppendAndWait({{extraction("e-other", "m-party")}, {}, "intruder"});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied) << other.status();
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("events[0]"));
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("(rule: actor)"));
  domain::Event forged = extraction("e-forged", "m-party");
  forged.attested_by = "m-party";
  auto forged_outcome = ledger_->AppendAndWait({{forged}, {}, "intruder"});
  EXPECT_EQ(forged_outcome.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(forged_outcome.status().message()), HasSubstr("is not the caller"));
  EXPECT_EQ(Head().size(), 3u);  // nothing of the refused batches
  // The same batch again from the same caller is a duplicate; from another, a conflict.
  auto again = ledger_->AppendAndWait({{extraction("e-own", "m-party")}, {}, "m-party"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  auto other_again = ledger_->AppendAndWait({{extraction("e-own", "m-party")}, {}, "m-admin"});
  EXPECT_EQ(other_again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(LedgerServiceTest, AnEventStoredBeforeAttestationIsTheSameFactWhenReSentAttested) {
  SeedMine(1);  // unattested, as a data directory of an earlier build holds them
  auto resent = ledger_->AppendAndWait({{Domain(lg::MineSetup("m", "AU")[0])}, {}, "m-party"});
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_TRUE(resent->duplicate);
  // Different content is still a conflict.
  domain::Event changed = Domain(lg::MineSetup("m", "AU")[0]);
  std::get<domain::PartyRegistered>(changed.payload).name = "another name";
  auto conflict = ledger_->AppendAndWait({{changed}, {}, "m-party"});
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, ALocalPlainTextCallerAppendsAsTheAdministrator) {
  Stop();
  LedgerOptions options;
  options.authority.admin_party = "adm";
  Start(options, rpc::IdentityOptions{.allow_local_admin = true});
  SeedMine(1);  // appended over gRPC from loopback: attested by the administrator
  EXPECT_EQ(ReadOne(*stub_, 2).event().attested_by(), "adm");
  // A client may name itself as attester only if it is the caller.
  auto forged =
      lg::LotExtracted("e-forged", "L9", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
  forged.set_attested_by("m-party");
  const grpc::Status status = Append({forged});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(Head().size(), 3u);
}

TEST_F(LedgerServiceTest, APlainTextCallerWithoutTheLocalAdministratorRuleIsUnauthenticated) {
  Stop();
  LedgerOptions options;
  options.authority.admin_party = "adm";
  Start(options, rpc::IdentityOptions{.allow_local_admin = false});
  const grpc::Status status = Append(lg::MineSetup("m", "AU"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(Head().size(), 0u);
}

TEST_F(LedgerServiceTest, ReadAllAndReadStreamArePaged) {
  SeedMine(10);  // positions 0..11
  v1::ReadAllRequest request;
  request.set_from_position(3);
  request.set_max_events(4);
  v1::ReadAllResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ReadAll(&context, request, &response).ok());
  ASSERT_EQ(response.events_size(), 4);
  EXPECT_EQ(response.events(0).position(), 3u);
  EXPECT_EQ(response.events(3).position(), 6u);
  EXPECT_EQ(response.next_position(), 7u);
  EXPECT_EQ(response.log_size(), 12u);
  EXPECT_EQ(response.events(0).event().event_id(), "e-lot-1");

  // lot-4's stream: its extraction, then a dispatch; read back one event per page.
  ASSERT_TRUE(
      Append({lg::FacilityRegistered("e-wh", "wh", "m-party", "TH", v1::FACILITY_KIND_WAREHOUSE),
              lg::ShipmentDispatched("d1", "S1", {{"lot-4", 1000000}}, "m-mine", "wh", "AU",
                                     "261710")})
          .ok());
  v1::ReadStreamRequest stream_request;
  stream_request.set_subject("lot/lot-4");
  v1::ReadStreamResponse stream_response;
  grpc::ClientContext stream_context;
  stream_request.set_max_events(1);
  ASSERT_TRUE(stub_->ReadStream(&stream_context, stream_request, &stream_response).ok());
  ASSERT_EQ(stream_response.events_size(), 1);
  EXPECT_EQ(stream_response.events(0).stream_version(), 1u);
  EXPECT_EQ(stream_response.events(0).event().event_id(), "e-lot-4");
  EXPECT_EQ(stream_response.next_version(), 2u);
  EXPECT_EQ(stream_response.stream_version(), 1u);  // the dispatch is on shipment/S1's stream

  v1::ReadStreamRequest missing;
  missing.set_subject("lot/nope");
  grpc::ClientContext missing_context;
  EXPECT_EQ(stub_->ReadStream(&missing_context, missing, &stream_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(LedgerServiceTest, SubscribeCatchesUpThenReceivesLiveEvents) {
  SeedMine(5);  // 7 events
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::SubscribeRequest request;
  request.set_from_position(2);
  request.set_max_events_per_message(2);
  auto reader = stub_->Subscribe(&context, request);
  std::vector<uint64_t> positions;
  v1::SubscribeResponse message;
  while (positions.size() < 5 && reader->Read(&message)) {
    EXPECT_LE(message.events_size(), 2);
    for (const auto& e : message.events()) positions.push_back(e.position());
  }
  ASSERT_EQ(positions, (std::vector<uint64_t>{2, 3, 4, 5, 6}));
  // Live: appended after the subscriber caught up.
  ASSERT_TRUE(
      Append({lg::LotExtracted("live", "LIVE", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1)})
          .ok());
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_EQ(message.events_size(), 1);
  EXPECT_EQ(message.events(0).position(), 7u);
  EXPECT_EQ(message.events(0).event().event_id(), "live");
  context.TryCancel();
  reader->Finish();
}

TEST_F(LedgerServiceTest, InclusionAndConsistencyProofsVerifyIndependently) {
  SeedMine(0);
  std::vector<v1::Head> heads;
  for (int i = 0; i < 37; ++i) {
    ASSERT_TRUE(Append({lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                                         v1::MATERIAL_ANTIMONY_ORE, "261710", 1 + i)})
                    .ok());
    heads.push_back(Head());
  }
  const v1::Head head = heads.back();
  ASSERT_EQ(head.size(), 39u);
  std::vector<std::string> leaves;
  for (uint64_t position = 0; position < head.size(); ++position) {
    grpc::ClientContext context;
    v1::GetInclusionProofRequest request;
    request.set_position(position);
    request.set_tree_size(head.size());
    v1::InclusionProof proof;
    ASSERT_TRUE(stub_->GetInclusionProof(&context, request, &proof).ok());
    EXPECT_EQ(proof.leaf_hash(), testing::RfcLeafHash(proof.leaf_data()));
    std::vector<std::string> path(proof.path().begin(), proof.path().end());
    EXPECT_TRUE(
        testing::VerifyInclusion(position, head.size(), proof.leaf_hash(), path, head.root_hash()))
        << "position " << position;
    if (!path.empty()) {
      path[0][0] ^= 1;
      EXPECT_FALSE(testing::VerifyInclusion(position, head.size(), proof.leaf_hash(), path,
                                            head.root_hash()));
    }
    leaves.push_back(proof.leaf_data());
  }
  EXPECT_EQ(testing::NaiveRoot(leaves, 0, leaves.size()), head.root_hash());
  for (const auto& old_head : heads) {
    grpc::ClientContext context;
    v1::GetConsistencyProofRequest request;
    request.set_old_size(old_head.size());
    request.set_new_size(head.size());
    v1::ConsistencyProof proof;
    ASSERT_TRUE(stub_->GetConsistencyProof(&context, request, &proof).ok());
    EXPECT_EQ(proof.old_root_hash(), old_head.root_hash());
    std::vector<std::string> path(proof.path().begin(), proof.path().end());
    EXPECT_TRUE(testing::VerifyConsistency(old_head.size(), head.size(), old_head.root_hash(),
                                           head.root_hash(), path))
        << "old size " << old_head.size();
  }
  grpc::ClientContext context;
  v1::GetInclusionProofRequest beyond;
  beyond.set_position(0);
  beyond.set_tree_size(head.size() + 1);
  v1::InclusionProof proof;
  EXPECT_EQ(stub_->GetInclusionProof(&context, beyond, &proof).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(LedgerServiceTest, RestartResumesPositionsRootAndWriteModel) {
  SeedMine(3);
  const v1::Head before = Head();
  Stop();
  Start();
  const v1::Head after = Head();
  EXPECT_EQ(after.size(), before.size());
  EXPECT_EQ(after.root_hash(), before.root_hash());
  EXPECT_EQ(after.chain_hash(), before.chain_hash());
  // The write model survived: lot-0 still holds 1 t, and its id is still taken.
  auto over =
      Append({lg::LotTransformed("t", "T", "m-mine", v1::PROCESS_SMELTING, {{"lot-0", 1000001}},
                                 {{"O", v1::MATERIAL_ANTIMONY_OXIDE, "282580", 1}})});
  EXPECT_EQ(over.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto again = Append(
      {lg::LotExtracted("fresh-id", "lot-0", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1)});
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::AppendResponse response;
  ASSERT_TRUE(
      Append({lg::LotExtracted("e-new", "NEW", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1)},
             &response)
          .ok());
  EXPECT_EQ(response.results(0).position(), before.size());
}

TEST_F(LedgerServiceTest, HealthServiceReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(LedgerServiceTest, MetricsEndpointServesPrometheusTextWithAppendOutcomes) {
  auto endpoint = rpc::MetricsEndpoint::Start("127.0.0.1:0");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  metrics_.AttachLedger(ledger_.get());
  metrics_.Register(**endpoint);
  SeedMine(2);  // accepted: one request of 4 events
  EXPECT_EQ(Append({lg::LotExtracted("e-lot-0", "lot-0", "m-mine", v1::MATERIAL_ANTIMONY_ORE,
                                     "261710", 5)})
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  auto body = testing::HttpGet((*endpoint)->port(), "/metrics");
  ASSERT_TRUE(body.has_value());
  EXPECT_THAT(*body, HasSubstr("# TYPE lodestone_ledger_appends_total counter"));
  EXPECT_THAT(*body, HasSubstr("lodestone_ledger_appends_total{outcome=\"accepted\"} 1"));
  EXPECT_THAT(*body, HasSubstr("lodestone_ledger_events_total{outcome=\"accepted\"} 4"));
  EXPECT_THAT(*body,
              HasSubstr("lodestone_ledger_rejections_total{reason=\"duplicate_conflict\"} 1"));
  EXPECT_THAT(*body, HasSubstr("lodestone_ledger_log_size_events 4"));
  EXPECT_THAT(*body, HasSubstr("lodestone_ledger_append_latency_seconds_bucket"));
  EXPECT_THAT(*body, HasSubstr("# TYPE lodestone_rocksdb_sst_bytes gauge"));
}

// Distributed mode with TLS: a follower forwards appends to a leader that requires client
// certificates, with Forwarding::credentials (the ledger program passes its own certificate).
TEST_F(LedgerServiceTest, AFollowerForwardsEventsAttestedByTheCallerItAuthenticated) {
  const rpc::IdentityOptions local_admin{.allow_local_admin = true};
  LedgerOptions leader_options;
  leader_options.log.path = dir_.Sub("leader");
  leader_options.log.sync = false;
  leader_options.authority.admin_party = "adm";
  auto leader = Ledger::Open(leader_options);
  ASSERT_TRUE(leader.ok()) << leader.status();
  LedgerServiceImpl leader_service(**leader, nullptr);
  leader_service.RequireAttestation(local_admin);
  auto leader_server = rpc::StartServer("127.0.0.1:0", {&leader_service}, {});
  ASSERT_TRUE(leader_server.ok()) << leader_server.status();
  const std::string leader_address = absl::StrCat("127.0.0.1:", leader_server->port);

  LedgerOptions follower_options = leader_options;
  follower_options.log.path = dir_.Sub("follower");
  auto follower = Ledger::Open(follower_options);
  ASSERT_TRUE(follower.ok()) << follower.status();
  LedgerServiceImpl follower_service(**follower, nullptr);
  follower_service.RequireAttestation(local_admin);
  Forwarding forwarding;
  forwarding.is_leader = [] { return false; };
  forwarding.leader_address = [leader_address] { return leader_address; };
  follower_service.EnableForwarding(std::move(forwarding));
  auto follower_server = rpc::StartServer("127.0.0.1:0", {&follower_service}, {});
  ASSERT_TRUE(follower_server.ok()) << follower_server.status();
  auto stub = v1::LedgerService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", follower_server->port), grpc::InsecureChannelCredentials()));
  auto append = [&](std::vector<v1::Event> events) {
    v1::AppendRequest request;
    for (auto& event : events) *request.add_events() = std::move(event);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::AppendResponse response;
    return stub->Append(&context, request, &response);
  };

  const grpc::Status ok = append(lg::MineSetup("m", "AU"));
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  ASSERT_EQ((*leader)->log().GetHead().size, 2u);
  v1::Event stored;
  ASSERT_TRUE(stored.ParseFromString((*leader)->log().ReadRecord(0)->payload));
  EXPECT_EQ(stored.attested_by(), "adm");
  // An event naming another attester is refused by the follower itself, never forwarded as
  // given (a leader takes a node's events' attesters as given): with the leader gone, a
  // forwarded append would be UNAVAILABLE.
  leader_service.Shutdown();
  leader_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  auto forged =
      lg::LotExtracted("e-forged", "L9", "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
  forged.set_attested_by("m-party");
  const grpc::Status refused = append({forged});
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("is not the caller"));
  EXPECT_EQ((*leader)->log().GetHead().size, 2u);
  EXPECT_EQ((*follower)->log().GetHead().size, 0u);

  follower_service.Shutdown();
  follower_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

// A client certificate of `party` (URI SAN urn:lodestone:party:<party>) signed by the test CA.
TEST_F(LedgerServiceTest, OverTlsEachPartyWritesOnlyWhatItMaySayAndOnlyAuditorsReadTheLog) {
  std::string error;
  testing::TestPki pki;
  ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki, &error)) << error;
  auto tls = rpc::ProgramTransportFromFlags({pki.server_cert, pki.server_key, pki.ca_cert});
  ASSERT_TRUE(tls.ok()) << tls.status();
  auto identity = rpc::ProgramIdentityOptions(true, "loopback");
  ASSERT_TRUE(identity.ok());
  LedgerOptions options;
  options.log.path = dir_.Sub("tls-ledger");
  options.log.sync = false;
  options.authority.admin_party = "adm";
  auto ledger = Ledger::Open(options);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  // The world, in process: m-party operates m-mine; "aud" is an auditor.
  std::vector<domain::Event> world;
  for (const auto& event : lg::MineSetup("m", "AU")) world.push_back(Domain(event));
  for (const char* party : {"aud", "intruder"}) {
    world.push_back(Domain(lg::PartyRegistered(std::string("e-") + party, party, "AU")));
  }
  domain::Event grant = world.front();
  grant.event_id = "g-aud";
  grant.subject = "party/aud";
  grant.payload = domain::RoleGranted{"aud", domain::Role::kAuditor, "", ""};
  world.push_back(grant);
  ASSERT_TRUE((*ledger)->AppendAndWait({world, {}, "adm"}).ok());
  LedgerServiceImpl service(**ledger, nullptr);
  service.RequireAttestation(*identity);
  auto server = rpc::StartServer("127.0.0.1:0", {&service}, {}, {tls->server, ""});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub_for = [&](std::shared_ptr<grpc::ChannelCredentials> credentials) {
    return v1::LedgerService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port), credentials));
  };
  auto append = [](v1::LedgerService::Stub& stub, v1::Event event) {
    v1::AppendRequest request;
    *request.add_events() = std::move(event);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::AppendResponse response;
    return stub.Append(&context, request, &response);
  };
  auto extraction = [](const std::string& id, const std::string& actor) {
    auto event = lg::LotExtracted(id, "L-" + id, "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 5);
    event.set_actor(actor);
    return event;
  };
  auto operator_stub = stub_for(testing::PartyCredentials(pki, "m-party", 3001));
  auto intruder_stub = stub_for(testing::PartyCredentials(pki, "intruder", 3002));
  auto auditor_stub = stub_for(testing::PartyCredentials(pki, "aud", 3003));
  auto anonymous_stub = stub_for(testing::AnonymousCredentials(pki));
  const uint64_t size = (*ledger)->log().GetHead().size;

  grpc::Status status = append(*operator_stub, extraction("e-1", "m-party"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::Event stored;
  ASSERT_TRUE(stored.ParseFromString((*ledger)->log().ReadRecord(size)->payload));
  EXPECT_EQ(stored.attested_by(), "m-party");
  status = append(*intruder_stub, extraction("e-2", "m-party"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("(rule: actor)"));
  status = append(*intruder_stub, extraction("e-3", "intruder"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("(rule: operator)"));
  status = append(*anonymous_stub, extraction("e-4", "m-party"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ((*ledger)->log().GetHead().size, size + 1);

  auto read_all = [](v1::LedgerService::Stub& stub) {
    v1::ReadAllRequest request;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ReadAllResponse response;
    return stub.ReadAll(&context, request, &response);
  };
  EXPECT_EQ(read_all(*operator_stub).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(read_all(*anonymous_stub).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(read_all(*auditor_stub).ok());
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = operator_stub->Subscribe(&context, v1::SubscribeRequest());
    v1::SubscribeResponse message;
    EXPECT_FALSE(reader->Read(&message));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }

  // A partner cannot claim its append was already forwarded by a node.
  {
    v1::AppendRequest request;
    *request.add_events() = extraction("e-5", "m-party");
    grpc::ClientContext context;
    context.AddMetadata("x-lodestone-forwarded", "1");
    v1::AppendResponse response;
    status = operator_stub->Append(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("from nodes only"));
  }
  EXPECT_EQ((*ledger)->log().GetHead().size, size + 1);

  // Streams and single events: a partner sees what it is party to, an auditor everything.
  auto read_stream = [](v1::LedgerService::Stub& stub, const std::string& subject,
                        v1::ReadStreamResponse* response) {
    v1::ReadStreamRequest request;
    request.set_subject(subject);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.ReadStream(&context, request, response);
  };
  const std::string lot_subject = stored.subject();
  v1::ReadStreamResponse page;
  ASSERT_TRUE(read_stream(*operator_stub, lot_subject, &page).ok());
  ASSERT_EQ(page.events_size(), 1);
  EXPECT_EQ(page.events(0).event().event_id(), "e-1");
  EXPECT_EQ(page.withheld(), 0u);
  page.Clear();
  ASSERT_TRUE(read_stream(*intruder_stub, lot_subject, &page).ok());
  EXPECT_EQ(page.events_size(), 0);
  EXPECT_EQ(page.withheld(), 1u);
  EXPECT_EQ(page.stream_version(), 1u);
  page.Clear();
  ASSERT_TRUE(read_stream(*auditor_stub, lot_subject, &page).ok());
  EXPECT_EQ(page.events_size(), 1);
  page.Clear();
  EXPECT_EQ(read_stream(*anonymous_stub, lot_subject, &page).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  auto get_event = [](v1::LedgerService::Stub& stub, const std::string& id,
                      v1::StoredEvent* response) {
    v1::GetEventRequest request;
    request.set_event_id(id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.GetEvent(&context, request, response);
  };
  v1::StoredEvent got;
  status = get_event(*operator_stub, "e-1", &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.position(), size);
  EXPECT_EQ(got.event().attested_by(), "m-party");
  EXPECT_TRUE(get_event(*auditor_stub, "e-1", &got).ok());
  EXPECT_EQ(get_event(*intruder_stub, "e-1", &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(get_event(*auditor_stub, "no-such-event", &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get_event(*auditor_stub, "", &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  service.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

TEST_F(LedgerServiceTest, ForwardingToATlsLeaderUsesTheForwardingCredentials) {
  std::string error;
  testing::TestPki pki;
  ASSERT_TRUE(testing::MakeTestPki(dir_.path(), &pki, &error)) << error;
  auto tls = rpc::ProgramTransportFromFlags({pki.server_cert, pki.server_key, pki.ca_cert});
  ASSERT_TRUE(tls.ok()) << tls.status();

  LedgerOptions leader_options;
  leader_options.log.path = dir_.Sub("leader");
  leader_options.log.sync = false;
  auto leader = Ledger::Open(leader_options);
  ASSERT_TRUE(leader.ok()) << leader.status();
  LedgerServiceImpl leader_service(**leader, nullptr);
  auto leader_server = rpc::StartServer("127.0.0.1:0", {&leader_service}, {}, {tls->server, ""});
  ASSERT_TRUE(leader_server.ok()) << leader_server.status();
  const std::string leader_address = absl::StrCat("127.0.0.1:", leader_server->port);

  // Followers on the plain-text fixture port; `credentials` as given.
  auto append_through_follower =
      [&](std::shared_ptr<grpc::ChannelCredentials> credentials) -> grpc::Status {
    LedgerOptions options;
    options.log.path = dir_.Sub(credentials == nullptr ? "follower-default" : "follower-tls");
    options.log.sync = false;
    auto follower = Ledger::Open(options);
    EXPECT_TRUE(follower.ok()) << follower.status();
    if (!follower.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no follower");
    LedgerServiceImpl follower_service(**follower, nullptr);
    Forwarding forwarding;  // credentials default to plain text
    forwarding.is_leader = [] { return false; };
    forwarding.leader_address = [leader_address] { return leader_address; };
    if (credentials != nullptr) forwarding.credentials = credentials;
    follower_service.EnableForwarding(std::move(forwarding));
    auto server = rpc::StartServer("127.0.0.1:0", {&follower_service}, {});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no follower server");
    auto stub = v1::LedgerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server->port), grpc::InsecureChannelCredentials()));
    v1::AppendRequest request;
    for (auto& event : lg::MineSetup("m", "AU")) *request.add_events() = std::move(event);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::AppendResponse response;
    const grpc::Status status = stub->Append(&context, request, &response);
    EXPECT_EQ((*follower)->log().GetHead().size, 0u);  // the follower wrote nothing itself
    follower_service.Shutdown();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return status;
  };

  // Plain text (the default) to the TLS leader: refused, nothing appended.
  grpc::Status status = append_through_follower(nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ((*leader)->log().GetHead().size, 0u);
  // With the cluster's TLS credentials: appended on the leader.
  status = append_through_follower(tls->client);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT((*leader)->log().GetHead().size, 0u);

  leader_service.Shutdown();
  leader_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace
}  // namespace lodestone::ledger
