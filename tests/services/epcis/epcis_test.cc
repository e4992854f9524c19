// EPCIS 2.0 capture: quantities, identifiers, the schema on the reference examples, and capture
// over HTTP into a real ledger (atomic, idempotent, refused whole with problem+json).
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/domain/event.h"
#include "services/epcis/capture_service.h"
#include "services/epcis/epcis_endpoint.h"
#include "services/epcis/event_hash.h"
#include "services/epcis/mapping.h"
#include "services/epcis/query_service.h"
#include "services/epcis/schema_validator.h"
#include "services/epcis/vocabulary.h"
#include "services/http/http_server.h"
#include "services/http/json.h"
#include "services/ledger/ledger.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"

namespace lodestone::epcis {
namespace {

using http::Json;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(GramsTest, ExactFromTheDecimalText) {
  EXPECT_EQ(*GramsFromDecimal("1.25", "KGM"), 1250);
  EXPECT_EQ(*GramsFromDecimal("2.5E3", "KGM"), 2500000);
  EXPECT_EQ(*GramsFromDecimal("3", "TNE"), 3000000);
  EXPECT_EQ(*GramsFromDecimal("452", "GRM"), 452);
  EXPECT_EQ(*GramsFromDecimal("1", "LBR"), 454);        // 453.59237 g, rounded once
  EXPECT_EQ(*GramsFromDecimal("1000", "LBR"), 453592);  // 453592.37 g
  EXPECT_EQ(*GramsFromDecimal("0.1000", "KGM"), 100);
}

TEST(GramsTest, RefusesCountsUnknownUnitsFractionsOfGramsAndHugeOrLongNumbers) {
  EXPECT_FALSE(GramsFromDecimal("20", "").ok());     // a count
  EXPECT_FALSE(GramsFromDecimal("20", "LTR").ok());  // a volume
  EXPECT_FALSE(GramsFromDecimal("0.0001", "KGM").ok());
  EXPECT_FALSE(GramsFromDecimal("0", "KGM").ok());
  EXPECT_FALSE(GramsFromDecimal("-1", "KGM").ok());
  EXPECT_FALSE(GramsFromDecimal("twenty", "KGM").ok());
  EXPECT_FALSE(GramsFromDecimal("1e300", "KGM").ok());
  // 30 significant digits: either not whole grams or above 2^52 g; never rounded silently.
  EXPECT_FALSE(GramsFromDecimal("0.100000000000000000000000000001", "KGM").ok());
  EXPECT_FALSE(GramsFromDecimal("123456789012345678901234567890", "GRM").ok());
  EXPECT_FALSE(GramsFromDecimal("1.23456789012345678901234567890", "LBR").ok());
}

TEST(IdentifierTest, UrnAndDigitalLinkFormsNormaliseToTheSameId) {
  auto urn = FacilityId("urn:epc:id:sgln:4012345.00011.987");
  auto link = FacilityId("https://id.gs1.org/414/4012345000115/254/987");
  ASSERT_TRUE(urn.ok() && link.ok());
  EXPECT_EQ(**urn, "414/4012345000115/254/987");
  EXPECT_EQ(**urn, **link);
  auto lot_urn = LotId("urn:epc:class:lgtin:4012345.012345.LOT-1");
  ASSERT_TRUE(lot_urn.ok() && lot_urn->has_value()) << lot_urn.status();
  auto lot_link = LotId(absl::StrCat("https://example.com/", lot_urn->value()));
  ASSERT_TRUE(lot_link.ok() && lot_link->has_value());
  EXPECT_EQ(**lot_urn, **lot_link);
  EXPECT_FALSE(FacilityId("https://id.gs1.org/414/4012345000116").ok());     // check digit
  EXPECT_FALSE(LotId("https://id.gs1.org/01/09521141012345")->has_value());  // a class, no lot
  EXPECT_EQ(*ShipmentId("urn:epcglobal:cbv:bt:4012345000115:DA-7"), "bt:4012345000115:DA-7");
}

TEST(SchemaTest, FormatChecks) {
  EXPECT_TRUE(IsRfc3339DateTime("2026-07-22T06:45:00+02:00"));
  EXPECT_TRUE(IsRfc3339DateTime("2005-07-11T11:30:47.0Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2026-02-30T06:45:00Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2026-07-22 06:45:00Z"));
  EXPECT_FALSE(IsRfc3339DateTime("2026-07-22T06:45:00"));
  EXPECT_TRUE(IsAbsoluteUri("urn:epc:id:sgln:4012345.00011.987"));
  EXPECT_TRUE(IsAbsoluteUri("https://ns.example.com/epcis/"));
  EXPECT_FALSE(IsAbsoluteUri("myField"));
  EXPECT_FALSE(IsAbsoluteUri("https://bad host/"));
}

// The reference examples against the ratified schema: the test-resources documents and event
// validate, the Invalid__ ones do not (at the pointer named), and the dpp-ready ones do not
// either (testdata/SOURCES.md says why).
TEST(SchemaTest, TheReferenceExamplesValidateOrNotAsTheirSourceSays) {
  auto validator = SchemaValidator::Create();
  ASSERT_TRUE(validator.ok()) << validator.status();
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA) + "/examples/";
  const std::vector<std::pair<std::string, std::string>> expected = {
      // file, "" (valid) or the pointer of the violation
      {"test-resources__Documents__CurieString_document.json", ""},
      {"test-resources__Documents__ObjectEvent_with_userExtensions.json", ""},
      {"test-resources__Documents__epcisDocWithAllGS1Keys.json", ""},
      {"test-resources__Events__TransformationEvent.json", ""},
      {"test-resources__Invalid__Combination_of_events_with_missing_mandatory_fields.json", "?"},
      {"test-resources__Invalid__ObjectEvent_with_invalid_certificationInfo.json", "?"},
      {"test-resources__Invalid__ObjectEvent_with_quantity_as_text.json", "?"},
      {"test-resources__Invalid__ObjectEvent_with_unknown_field_in_quantityList.json", "?"},
  };
  for (const auto& [file, pointer] : expected) {
    auto parsed = http::ParseJson(ReadFile(dir + file));
    ASSERT_TRUE(parsed.ok()) << file << ": " << parsed.status();
    SchemaViolation violation;
    const absl::Status status = (*validator)->Validate(parsed->value, &violation);
    if (pointer.empty()) {
      EXPECT_TRUE(status.ok()) << file << ": " << status;
    } else {
      EXPECT_FALSE(status.ok()) << file;
      std::cerr << file << " -> " << violation.pointer << ": " << violation.message << "\n";
    }
  }
}
// The reference generator's test vectors: each document's events give exactly its pre-hash
// strings (one per line) and hashes.
TEST(EventHashTest, EveryReferenceVectorMatches) {
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA) + "/hash-vectors/";
  int vectors = 0;
  for (const char* name : {"ReferenceEventHashAlgorithm", "CertificationInfoAndSensorReportWithCRS",
                           "epcisDocWithShippingAndTransportingEvent"}) {
    SCOPED_TRACE(name);
    auto document = http::ParseJson(ReadFile(dir + name + ".jsonld"));
    ASSERT_TRUE(document.ok()) << document.status();
    std::vector<std::string> pre_hashes =
        absl::StrSplit(ReadFile(dir + name + ".prehashes"), '\n', absl::SkipEmpty());
    std::vector<std::string> hashes =
        absl::StrSplit(ReadFile(dir + name + ".hashes"), '\n', absl::SkipEmpty());
    ASSERT_EQ(pre_hashes.size(), hashes.size());
    ASSERT_EQ(document->value["epcisBody"]["eventList"].size(), hashes.size());
    for (size_t i = 0; i < hashes.size(); ++i) {
      const std::string pre_hash = EventPreHash(*document, i);
      EXPECT_EQ(pre_hash, pre_hashes[i]) << "event " << i;
      EXPECT_EQ(EventHashFromPreHash(pre_hash), hashes[i]) << "event " << i;
      ++vectors;
    }
  }
  EXPECT_EQ(vectors, 4);
}

TEST(EventHashTest, IdentifiersBecomeCanonicalDigitalLinks) {
  EXPECT_EQ(CanonicalDigitalLink("urn:epc:id:sgtin:4012345.011111.9876"),
            "https://id.gs1.org/01/04012345111118/21/9876");
  EXPECT_EQ(CanonicalDigitalLink("urn:epc:id:sgln:4012345.00022.0"),
            "https://id.gs1.org/414/4012345000221");
  EXPECT_EQ(CanonicalDigitalLink("urn:epc:class:lgtin:4012345.012345.ORE-1"),
            "https://id.gs1.org/01/04012345123456/10/ORE-1");
  EXPECT_EQ(CanonicalDigitalLink("https://example.com/gtin/4012345123456/lot/L1/ser/S1?x=1"),
            "https://id.gs1.org/01/04012345123456/21/S1");
  EXPECT_EQ(CanonicalDigitalLink("urn:epcglobal:cbv:bt:4012345000009:ASN1099"), std::nullopt);
  EXPECT_EQ(CanonicalDigitalLink("geo:47.506694,11.104301"), std::nullopt);
}

TEST(ProgramEndpointTest, FlagsBecomeOptionsAndBadOnesAreRefused) {
  ProgramHttpFlags flags{"127.0.0.1:0", 3, {}};
  rpc::IdentityOptions identity;
  identity.allow_local_admin = true;
  auto options = ProgramEndpointOptions(flags, identity, nullptr);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->server.address, "127.0.0.1:0");
  EXPECT_EQ(options->server.limits.max_body_bytes, size_t{3} << 20);
  EXPECT_TRUE(options->server.tls.cert_chain.empty());  // no certificate: plain HTTP
  EXPECT_TRUE(options->server.identity.allow_local_admin);
  for (int mb : {0, -1, kMaxProgramBodyMb + 1}) {
    flags.max_body_mb = mb;
    auto refused = ProgramEndpointOptions(flags, identity, nullptr);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << mb;
    EXPECT_THAT(refused.status().message(), HasSubstr("--http_max_body_mb"));
  }
  flags.max_body_mb = 16;
  flags.tls_files = {"/nonexistent/cert.pem", "/nonexistent/key.pem", ""};
  EXPECT_FALSE(ProgramEndpointOptions(flags, identity, nullptr).ok());
}

// The ledger, the capture service and the HTTP server, for one test.
class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    options.authority.admin_party = "adm";
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
    auto service = CaptureService::Create(*ledger_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    http::ServerOptions server_options;
    server_options.identity.allow_local_admin = true;
    auto server = http::HttpServer::Create(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    service_->RegisterRoutes(*server_);
    query_ = std::make_unique<QueryService>(*ledger_);
    query_->RegisterRoutes(*server_);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    // Master data, appended natively: the miner, its mine and a refinery.
    Append(Party("p-miner", "miner", "AU"));
    Append(Facility("f-mine", kMine, "miner", "AU", domain::FacilityKind::kMine));
    Append(Facility("f-ref", kRefinery, "miner", "AU", domain::FacilityKind::kRefinery));
  }
  void TearDown() override {
    server_.reset();
    query_.reset();
    service_.reset();
    ledger_.reset();
  }

  static constexpr char kMine[] = "414/4012345000115/254/987";
  static constexpr char kRefinery[] = "414/4012345000115/254/988";

  static domain::Event Party(std::string event_id, std::string id, std::string country) {
    domain::Event event;
    event.event_id = std::move(event_id);
    event.event_time = absl::Now() - absl::Hours(1);
    event.subject = "party/" + id;
    event.actor = "adm";
    domain::PartyRegistered party;
    party.party_id = id;
    party.name = id;
    party.country = country;
    event.payload = party;
    return event;
  }
  static domain::Event Facility(std::string event_id, std::string id, std::string operator_party,
                                std::string country, domain::FacilityKind kind) {
    domain::Event event;
    event.event_id = std::move(event_id);
    event.event_time = absl::Now() - absl::Hours(1);
    event.subject = "facility/" + id;
    event.actor = "adm";
    domain::FacilityRegistered facility;
    facility.facility_id = id;
    facility.operator_party_id = operator_party;
    facility.country = country;
    facility.kind = kind;
    facility.name = id;
    event.payload = facility;
    return event;
  }
  void Append(domain::Event event) {
    ledger::AppendBatch batch;
    batch.events.push_back(std::move(event));
    batch.attester = "adm";
    auto outcome = ledger_->AppendAndWait(std::move(batch));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  // A commissioning ObjectEvent of `kg` of lot `lot` at the mine.
  static Json Commissioning(const std::string& event_id, const std::string& lot,
                            const std::string& kg) {
    Json event = {
        {"type", "ObjectEvent"},
        {"eventTime", "2026-01-05T10:00:00Z"},
        {"eventTimeZoneOffset", "+00:00"},
        {"action", "ADD"},
        {"bizStep", "commissioning"},
        {"bizLocation", {{"id", "urn:epc:id:sgln:4012345.00011.987"}}},
        {"quantityList", Json::array({{{"epcClass", "urn:epc:class:lgtin:4012345.012345." + lot},
                                       {"quantity", Json::parse(kg)},
                                       {"uom", "KGM"}}})},
        {"ilmd", {{"lodestone:material", "antimony_ore"}, {"lodestone:hsCode", "261710"}}}};
    if (!event_id.empty()) event["eventID"] = event_id;
    return event;
  }
  // Refining at the mine's plant: `kg_in` of lot `from` into `kg_out` of lot `to`.
  static Json Refining(const std::string& event_id, const std::string& from,
                       const std::string& kg_in, const std::string& to, const std::string& kg_out) {
    return {{"type", "TransformationEvent"},
            {"eventID", event_id},
            {"eventTime", "2026-01-06T10:00:00Z"},
            {"eventTimeZoneOffset", "+00:00"},
            {"bizStep", "commissioning"},
            {"bizLocation", {{"id", "urn:epc:id:sgln:4012345.00011.987"}}},
            {"lodestone:process", "refining"},
            {"inputQuantityList",
             Json::array({{{"epcClass", "urn:epc:class:lgtin:4012345.012345." + from},
                           {"quantity", Json::parse(kg_in)},
                           {"uom", "KGM"}}})},
            {"outputQuantityList",
             Json::array({{{"epcClass", "urn:epc:class:lgtin:4012345.012345." + to},
                           {"quantity", Json::parse(kg_out)},
                           {"uom", "KGM"}}})},
            {"ilmd", {{"lodestone:material", "antimony_oxide"}, {"lodestone:hsCode", "282580"}}}};
  }
  static std::string Document(const Json& events) {
    Json document = {
        {"@context", Json::array({"https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                                  {{"lodestone", "urn:lodestone:epcis:v1:"}}})},
        {"type", "EPCISDocument"},
        {"schemaVersion", "2.0"},
        {"creationDate", "2026-01-07T10:00:00Z"},
        {"epcisBody", {{"eventList", events}}}};
    return http::DumpJson(document);
  }

  // POST /capture, then the job's final state (polled, bounded).
  Json CaptureAndWait(const std::string& body, int* post_status = nullptr) {
    auto posted = client_->Post("/capture", body, "application/ld+json");
    EXPECT_TRUE(posted);
    if (!posted) return Json();
    if (post_status != nullptr) *post_status = posted->status;
    if (posted->status != 202) return Json::parse(posted->body, nullptr, false);
    const std::string location = posted->get_header_value("Location");
    EXPECT_THAT(location, ::testing::StartsWith("/capture/"));
    for (int i = 0; i < 5000; ++i) {
      auto job = client_->Get(location);
      EXPECT_TRUE(job);
      if (!job) return Json();
      Json state = Json::parse(job->body, nullptr, false);
      if (!state.value("running", true)) return state;
      ::usleep(1000);
    }
    ADD_FAILURE() << "the capture job did not finish";
    return Json();
  }

  uint64_t LogSize() { return ledger_->log().GetHead().size; }

  // GET `target`: the status and the body (a JSON value, or null).
  std::pair<int, Json> Get(const std::string& target) {
    auto got = client_->Get(target);
    EXPECT_TRUE(got);
    if (!got) return {0, Json()};
    last_link_ = got->get_header_value("Link");
    return {got->status, Json::parse(got->body, nullptr, false)};
  }
  // Every event GET /events?`query` returns, following the pages' next links (bounded); each
  // page validates against the EPCIS 2.0 schema.
  Json QueryAll(const std::string& query, int* pages = nullptr) {
    auto validator = SchemaValidator::Create();
    EXPECT_TRUE(validator.ok());
    Json events = Json::array();
    std::string target = "/events?" + query;
    for (int page = 0; page < 1000; ++page) {
      auto [status, body] = Get(target);
      EXPECT_EQ(status, 200) << body.dump();
      if (status != 200) break;
      SchemaViolation violation;
      EXPECT_TRUE((*validator)->Validate(body, &violation).ok())
          << violation.pointer << ": " << violation.message << "\n"
          << body.dump();
      for (const Json& event : body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) {
        events.push_back(event);
      }
      if (pages != nullptr) *pages = page + 1;
      if (last_link_.empty()) return events;
      target = last_link_.substr(1, last_link_.find('>') - 1);
    }
    ADD_FAILURE() << "too many pages";
    return events;
  }
  std::string last_link_;

  testing::TempDir dir_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<CaptureService> service_;
  std::unique_ptr<QueryService> query_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(CaptureTest, ACaptureJobIsVisibleToItsOwnerAndNodesNotToAnotherPartner) {
  auto posted = client_->Post("/capture",
                              Document(Json::array({Commissioning(
                                  "urn:uuid:c0000000-0000-4000-8000-0000000000aa", "L-own", "1")})),
                              "application/ld+json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 202) << posted->body;
  const std::string location = posted->get_header_value("Location");
  ASSERT_THAT(location, ::testing::StartsWith("/capture/"));
  http::Request request;
  request.method = "GET";
  request.path = location;
  request.path_params["id"] = location.substr(std::string("/capture/").size());
  request.caller = {rpc::Caller::Kind::kParty, "adm"};  // the owner: the local administrator
  EXPECT_EQ(service_->GetCaptureJob(request).status, 200);
  request.caller = {rpc::Caller::Kind::kNode, "node-1"};
  EXPECT_EQ(service_->GetCaptureJob(request).status, 200);
  request.caller = {rpc::Caller::Kind::kParty, "intruder"};
  EXPECT_EQ(service_->GetCaptureJob(request).status, 404);
}

TEST_F(CaptureTest, ADocumentIsCapturedAsOneBatchAndARecaptureIsIdempotent) {
  const uint64_t before = LogSize();
  const std::string document = Document(Json::array(
      {Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000001", "L1", "1.25"),
       Refining("urn:uuid:c0000000-0000-4000-8000-000000000002", "L1", "1.25", "OX1", "1.1")}));
  int status = 0;
  Json job = CaptureAndWait(document, &status);
  EXPECT_EQ(status, 202);
  ASSERT_TRUE(job.value("success", false)) << job.dump();
  EXPECT_EQ(job["events"].size(), 2u);
  EXPECT_EQ(LogSize(), before + 2);
  // The same document again: the same event ids, nothing new appended.
  Json again = CaptureAndWait(document);
  ASSERT_TRUE(again.value("success", false)) << again.dump();
  EXPECT_EQ(again["events"][0]["eventID"], job["events"][0]["eventID"]);
  EXPECT_EQ(LogSize(), before + 2);
}

TEST_F(CaptureTest, ASingleEventIsCapturedByPostEvents) {
  Json single = Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000011", "L11", "3");
  single["@context"] = Json::array({"https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                                    {{"lodestone", "urn:lodestone:epcis:v1:"}}});
  const std::string event = http::DumpJson(single);
  auto posted = client_->Post("/events", event, "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 201) << posted->body;
  auto again = client_->Post("/events", event, "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_TRUE(Json::parse(again->body)["duplicate"].get<bool>());
}

TEST_F(CaptureTest, Event57Of100BreakingMassBalanceRefusesTheWholeCapture) {
  Json events = Json::array();
  for (int i = 0; i < 100; ++i) {
    const std::string id = absl::StrCat("urn:uuid:c0000000-0000-4000-8000-", 100000000000 + i);
    if (i == 57) {
      // Consumes 5 kg of a 1 kg lot.
      events.push_back(Refining(id, "M3", "5", "OX57", "4"));
    } else {
      events.push_back(Commissioning(id, absl::StrCat("M", i), "1"));
    }
  }
  const uint64_t before = LogSize();
  Json job = CaptureAndWait(Document(events));
  EXPECT_FALSE(job.value("success", true)) << job.dump();
  ASSERT_EQ(job["errors"].size(), 1u) << job.dump();
  const Json& error = job["errors"][0];
  EXPECT_EQ(error["kind"], "rule") << error.dump();
  EXPECT_EQ(error["eventIndex"], 57) << error.dump();
  EXPECT_EQ(error["pointer"], "/epcisBody/eventList/57");
  EXPECT_EQ(LogSize(), before);  // nothing of it appended
}

TEST_F(CaptureTest, BadInputIsRefusedWithAPreciseProblemAndChangesNothing) {
  const uint64_t before = LogSize();
  const auto post = [&](const std::string& body, const std::string& type) {
    auto got = client_->Post("/capture", body, type);
    EXPECT_TRUE(got);
    return got ? std::make_pair(got->status, Json::parse(got->body, nullptr, false))
               : std::make_pair(0, Json());
  };
  auto [malformed, malformed_body] = post("{\"type\": ", "application/json");
  EXPECT_EQ(malformed, 400);
  EXPECT_THAT(malformed_body.value("detail", ""), HasSubstr("malformed JSON"));
  auto [deep, deep_body] =
      post(std::string(10000, '[') + std::string(10000, ']'), "application/json");
  EXPECT_EQ(deep, 400);
  EXPECT_THAT(deep_body.value("detail", ""), HasSubstr("deeper than"));
  auto [type, type_body] = post(Document(Json::array()), "text/plain");
  EXPECT_EQ(type, 415);
  // A count where Lodestone needs a mass.
  Json count = Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000021", "C1", "20");
  count["quantityList"][0].erase("uom");
  auto [count_status, count_body] = post(Document(Json::array({count})), "application/json");
  EXPECT_EQ(count_status, 422);
  EXPECT_EQ(count_body["pointer"], "/epcisBody/eventList/0/quantityList/0") << count_body.dump();
  EXPECT_EQ(count_body["eventIndex"], 0);
  // 30 significant digits of kilograms: not a whole number of grams.
  // (The number is put in as text: a double would not keep its digits.)
  std::string long_decimal = Document(
      Json::array({Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000022", "C2", "777.5")}));
  long_decimal.replace(long_decimal.find("777.5"), 5, "0.100000000000000000000000000001");
  auto [digits, digits_body] = post(long_decimal, "application/json");
  EXPECT_EQ(digits, 422) << digits_body.dump();
  EXPECT_THAT(digits_body.value("detail", ""), HasSubstr("not a whole number of grams"));
  // The same event id twice with different content within one document.
  auto [dup, dup_body] = post(
      Document(
          Json::array({Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000023", "C3", "1"),
                       Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000023", "C4", "2")})),
      "application/json");
  EXPECT_EQ(dup, 422) << dup_body.dump();
  EXPECT_EQ(dup_body["pointer"], "/epcisBody/eventList/1/eventID") << dup_body.dump();
  EXPECT_EQ(LogSize(), before);
}

// More bad input: a declared 100 MB capture (413 from the headers, the body never read), a
// chunked body (411: only declared lengths are read), a unit that is no mass; nothing is
// appended.
TEST_F(CaptureTest, HugeBodiesAndUnknownUnitsAreRefusedAndChangeNothing) {
  const uint64_t before = LogSize();
  const std::string big = ::lodestone::testing::RawExchange(
      server_->port(), absl::StrCat("POST /capture HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Type: application/ld+json\r\n"
                                    "Content-Length: ",
                                    100 << 20, "\r\n\r\n{\"type\""));
  EXPECT_THAT(big, HasSubstr("HTTP/1.1 413")) << big.substr(0, 200);
  EXPECT_THAT(big, HasSubstr("application/problem+json"));
  // A chunked body is refused before it is read, however small (the library would read any
  // chunked body whole, past the limit).
  const std::string chunked = ::lodestone::testing::RawExchange(
      server_->port(),
      "POST /capture HTTP/1.1\r\nHost: x\r\nContent-Type: application/ld+json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_THAT(chunked, HasSubstr("HTTP/1.1 411")) << chunked.substr(0, 200);
  Json volume = Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000051", "V1", "20");
  volume["quantityList"][0]["uom"] = "LTR";
  auto posted = client_->Post("/capture", Document(Json::array({volume})), "application/ld+json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 422) << posted->body;
  const Json problem = Json::parse(posted->body);
  EXPECT_EQ(problem["pointer"], "/epcisBody/eventList/0/quantityList/0");
  EXPECT_THAT(problem.value("detail", ""), HasSubstr("'LTR' is not a unit of mass"));
  EXPECT_EQ(LogSize(), before);
}

TEST_F(CaptureTest, AnEventWithoutEventIdIsIdentifiedByItsCanonicalHash) {
  Json event = Commissioning("", "H1", "2");
  const std::string document = Document(Json::array({event}));
  Json first = CaptureAndWait(document);
  ASSERT_TRUE(first.value("success", false)) << first.dump();
  ASSERT_EQ(first["events"].size(), 1u);
  const std::string hash = first["events"][0]["eventHash"];
  EXPECT_THAT(hash, ::testing::StartsWith("ni:///sha-256;"));
  EXPECT_THAT(hash, ::testing::EndsWith("?ver=CBV2.0"));
  EXPECT_EQ(first["events"][0]["eventID"], EventIdFromEpcis(hash));
  const uint64_t after_first = LogSize();
  // The same event again, with other spellings of the same values: the same hash, nothing new.
  Json respelled = event;
  respelled["eventTime"] = "2026-01-05T11:00:00.000+01:00";
  respelled["bizLocation"]["id"] = "https://example.com/414/4012345000115/254/987";
  Json again = CaptureAndWait(Document(Json::array({respelled})));
  ASSERT_TRUE(again.value("success", false)) << again.dump();
  EXPECT_EQ(again["events"][0]["eventHash"], hash);
  EXPECT_EQ(LogSize(), after_first);
  // Twice in one document: refused, naming the first.
  auto [twice_status, twice] = std::make_pair(0, Json());
  twice = CaptureAndWait(Document(Json::array({event, event})), &twice_status);
  EXPECT_EQ(twice_status, 422) << twice.dump();
  EXPECT_EQ(twice["pointer"], "/epcisBody/eventList/1") << twice.dump();
  // Its error declaration (no eventID either) has the same hash and retracts it.
  Json declared = event;
  declared["errorDeclaration"] = {{"declarationTime", "2026-01-06T10:00:00Z"}};
  Json retraction = CaptureAndWait(Document(Json::array({declared})));
  ASSERT_TRUE(retraction.value("success", false)) << retraction.dump();
  EXPECT_EQ(retraction["events"][0]["eventHash"], hash);
  EXPECT_EQ(retraction["events"][0]["eventID"], "retract:" + EventIdFromEpcis(hash));
}

TEST_F(CaptureTest, AConflictingRecaptureOfAnEventIdIsRefused) {
  Json first = CaptureAndWait(Document(
      Json::array({Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000031", "D1", "1")})));
  ASSERT_TRUE(first.value("success", false)) << first.dump();
  Json second = CaptureAndWait(Document(
      Json::array({Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000031", "D1", "2")})));
  EXPECT_FALSE(second.value("success", true));
  ASSERT_EQ(second["errors"].size(), 1u) << second.dump();
  EXPECT_EQ(second["errors"][0]["code"], "ALREADY_EXISTS") << second.dump();
}

// testdata/capture_manifest.txt: how every example is captured or refused (docs/epcis.md).
struct ManifestEntry {
  std::string file;
  std::string route;
  int status = 0;
  std::string outcome;
};

std::vector<ManifestEntry> ReadManifest(const std::string& path) {
  std::vector<ManifestEntry> entries;
  std::istringstream lines(ReadFile(path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, " | ");
    EXPECT_EQ(fields.size(), 4u) << "manifest line: " << line;
    if (fields.size() != 4) continue;
    ManifestEntry entry{fields[0], fields[1], 0, fields[3]};
    EXPECT_TRUE(absl::SimpleAtoi(fields[2], &entry.status)) << "manifest line: " << line;
    entries.push_back(std::move(entry));
  }
  return entries;
}

// "appended N", or "<kind> <pointer> <detail>" of the refusal (the job's first error for a
// capture the ledger refused).
std::string Outcome(int status, const Json& body) {
  if (status == 201 || status == 200 || (status == 202 && body.value("success", false))) {
    return absl::StrCat("appended ", body.contains("events") ? body["events"].size() : 0);
  }
  const Json& problem = status == 202 && body.contains("errors") && !body["errors"].empty()
                            ? body["errors"][0]
                            : body;
  if (!problem.is_object()) return "?";
  const std::string pointer = problem.value("pointer", "");
  return absl::StrCat(problem.value("kind", "?"), " ", pointer.empty() ? "-" : pointer, " ",
                      problem.value("detail", ""));
}

TEST_F(CaptureTest, EveryExampleIsCapturedOrRefusedAsTheManifestSays) {
  // The master data the Lodestone examples name: the refinery's GLN as the fixture's.
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA);
  const std::vector<ManifestEntry> manifest = ReadManifest(dir + "/capture_manifest.txt");
  std::vector<std::string> listed, present;
  for (const auto& entry : manifest) listed.push_back(entry.file);
  for (const auto& file : std::filesystem::directory_iterator(dir + "/examples")) {
    present.push_back(file.path().filename().string());
  }
  EXPECT_THAT(listed, ::testing::UnorderedElementsAreArray(present))
      << "every example is in the manifest once, and only examples";
  for (const ManifestEntry& entry : manifest) {
    SCOPED_TRACE(entry.file);
    const uint64_t before = LogSize();
    int status = 0;
    Json body;
    if (entry.route == "/capture") {
      body = CaptureAndWait(ReadFile(dir + "/examples/" + entry.file), &status);
    } else {
      auto posted = client_->Post(entry.route, ReadFile(dir + "/examples/" + entry.file),
                                  "application/ld+json");
      ASSERT_TRUE(posted);
      status = posted->status;
      body = Json::parse(posted->body, nullptr, false);
    }
    const std::string outcome = Outcome(status, body);
    const std::string actual =
        absl::StrCat(entry.file, " | ", entry.route, " | ", status, " | ", outcome);
    EXPECT_EQ(status, entry.status) << "actual: " << actual;
    if (entry.outcome.starts_with("appended ")) {
      EXPECT_EQ(outcome, entry.outcome) << "actual: " << actual;
      size_t appended = 0;
      ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(entry.outcome, "appended "), &appended));
      EXPECT_EQ(LogSize(), before + appended);
      continue;
    }
    // kind, pointer, then words of the detail.
    std::vector<std::string> expected = absl::StrSplit(entry.outcome, absl::MaxSplits(' ', 2));
    std::vector<std::string> got = absl::StrSplit(outcome, absl::MaxSplits(' ', 2));
    ASSERT_EQ(expected.size(), 3u) << entry.outcome;
    ASSERT_EQ(got.size(), 3u) << "actual: " << actual;
    EXPECT_EQ(got[0], expected[0]) << "actual: " << actual;
    EXPECT_EQ(got[1], expected[1]) << "actual: " << actual;
    EXPECT_THAT(got[2], HasSubstr(expected[2])) << "actual: " << actual;
    EXPECT_EQ(LogSize(), before) << "a refused capture appends nothing";
  }
}

// Capture -> query -> capture again: the queried documents validate, every captured event comes
// back (natives too, through the extension namespace), and capturing the query's events again
// appends nothing and reports the first capture's hashes.
TEST_F(CaptureTest, QueriedEventsValidateAndRecaptureIdempotentlyWithTheSameHashes) {
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA) + "/examples/";
  Json first = CaptureAndWait(ReadFile(dir + "lodestone__antimony-mine-to-oxide.jsonld"));
  ASSERT_TRUE(first.value("success", false)) << first.dump();
  Json declared = CaptureAndWait(ReadFile(dir + "lodestone__error-declaration.jsonld"));
  ASSERT_TRUE(declared.value("success", false)) << declared.dump();
  domain::Event native;
  native.event_id = "native-ore-1";
  native.event_time = absl::FromUnixSeconds(1767600000);
  native.subject = "lot/NATIVE-1";
  native.actor = "adm";
  native.payload =
      domain::LotExtracted{"NATIVE-1", domain::Material::kAntimonyOre, "261710", 1000, kMine};
  Append(native);
  const uint64_t size = LogSize();

  int pages = 0;
  Json events = QueryAll("perPage=2", &pages);
  ASSERT_EQ(events.size(), 7u) << events.dump();  // 5 captured, the declaration, the native
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(events[6]["eventID"], "urn:lodestone:event:native-ore-1");
  EXPECT_EQ(events[6]["quantityList"][0]["epcClass"], "urn:lodestone:lot:NATIVE-1");
  EXPECT_TRUE(events[5].contains("errorDeclaration")) << events[5].dump();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i]["lodestone:eventHash"], first["events"][i]["eventHash"]) << i;
  }

  // The captured events again, as one document: nothing appended, the same ids and hashes.
  Json recaptured = Json::array();
  for (size_t i = 0; i < 6; ++i) recaptured.push_back(events[i]);
  Json again = CaptureAndWait(Document(recaptured));
  ASSERT_TRUE(again.value("success", false)) << again.dump();
  EXPECT_EQ(LogSize(), size);
  ASSERT_EQ(again["events"].size(), 6u) << again.dump();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(again["events"][i]["eventID"], first["events"][i]["eventID"]) << i;
    EXPECT_EQ(again["events"][i]["eventHash"], first["events"][i]["eventHash"]) << i;
  }
  EXPECT_EQ(again["events"][5]["eventHash"], declared["events"][0]["eventHash"]);
  // And the query answers the same after the re-capture.
  EXPECT_EQ(QueryAll("perPage=100"), events);

  // One event, by its EPCIS eventID or by its hash (percent-encoded), as a JSON-LD event.
  auto validator = SchemaValidator::Create();
  ASSERT_TRUE(validator.ok());
  const std::string hash = first["events"][1]["eventHash"];
  for (const std::string& key :
       {std::string("urn:uuid:5a1e0000-0000-4000-8000-000000000002"), hash}) {
    auto [status, event] = Get("/events/" + http::UrlEncode(key));
    ASSERT_EQ(status, 200) << key << ": " << event.dump();
    EXPECT_EQ(event["eventID"], "urn:uuid:5a1e0000-0000-4000-8000-000000000002");
    EXPECT_EQ(event["bizStep"], "shipping");
    SchemaViolation violation;
    EXPECT_TRUE((*validator)->Validate(event, &violation).ok())
        << violation.pointer << ": " << violation.message;
  }
  EXPECT_EQ(Get("/events/" + http::UrlEncode("urn:lodestone:event:native-ore-1")).first, 200);
  EXPECT_EQ(Get("/events/urn:uuid:nope").first, 404);
  EXPECT_EQ(Get("/events/" + http::UrlEncode("urn:lodestone:event:p-miner")).first, 404);
}

// The hash is part of the stored event (attested with it) and indexed by the ledger: both
// survive a restart; the ledger refuses a malformed one.
TEST_F(CaptureTest, TheEventHashIsStoredWithTheEventAndIndexedAcrossRestarts) {
  Json job = CaptureAndWait(Document(
      Json::array({Commissioning("urn:uuid:c0000000-0000-4000-8000-000000000041", "S1", "1"),
                   Commissioning("", "S2", "2")})));
  ASSERT_TRUE(job.value("success", false)) << job.dump();
  const std::string with_id = job["events"][0]["eventHash"];
  const std::string without_id = job["events"][1]["eventHash"];
  server_.reset();
  query_.reset();
  service_.reset();
  ledger_.reset();
  ledger::LedgerOptions options;
  options.log.path = dir_.Sub("ledger");
  options.authority.admin_party = "adm";
  auto reopened = ledger::Ledger::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ledger_ = *std::move(reopened);
  for (const auto& [hash, epcis_id] :
       {std::pair(with_id, std::string("urn:uuid:c0000000-0000-4000-8000-000000000041")),
        std::pair(without_id, std::string())}) {
    auto indexed = ledger_->FindEpcisEventHash(hash);
    ASSERT_TRUE(indexed.ok() && indexed->has_value()) << hash;
    auto stored = ledger_->FindEvent(**indexed);
    ASSERT_TRUE(stored.ok() && stored->has_value());
    EXPECT_EQ((*stored)->event.epcis_event_hash, hash);
    EXPECT_EQ((*stored)->event.epcis_event_id, epcis_id);
    EXPECT_EQ((*stored)->event.attested_by, "adm");
  }
  EXPECT_EQ(**ledger_->FindEpcisEventHash(without_id), EventIdFromEpcis(without_id));
  EXPECT_FALSE(ledger_->FindEpcisEventHash("ni:///sha-256;00?ver=CBV2.0")->has_value());
  domain::Event bad = Party("bad-hash", "p-bad", "AU");
  bad.epcis_event_hash = "ni:///sha-256;XYZ?ver=CBV2.0";
  ledger::AppendBatch batch;
  batch.events.push_back(bad);
  batch.attester = "adm";
  auto refused = ledger_->AppendAndWait(batch);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("epcis_event_hash"));
}

TEST_F(CaptureTest, QueryParametersSelectEvents) {
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA) + "/examples/";
  ASSERT_TRUE(CaptureAndWait(ReadFile(dir + "lodestone__antimony-mine-to-oxide.jsonld"))
                  .value("success", false));
  const auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    for (const Json& event : QueryAll(query)) {
      out.push_back(event["eventID"].get<std::string>().substr(
          std::string("urn:uuid:5a1e0000-0000-4000-8000-00000000000").size()));
    }
    return out;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(ids("eventType=TransformationEvent"), ElementsAre("4"));
  EXPECT_THAT(ids("eventType=ObjectEvent&EQ_bizStep=shipping,receiving"), ElementsAre("2", "3"));
  EXPECT_THAT(ids("EQ_bizStep=urn:epcglobal:cbv:bizstep:commissioning"), ElementsAre("1", "5"));
  EXPECT_THAT(ids("GE_eventTime=2026-01-06T10:00:00Z&LT_eventTime=2026-01-09T10:00:00Z"),
              ElementsAre("2", "3"));
  // The lot ORE-1 in URN and Digital Link forms, as an EPC or a class.
  EXPECT_THAT(ids("MATCH_anyEPCClass=urn:epc:class:lgtin:4012345.012345.ORE-1"),
              ElementsAre("1", "2", "4"));
  EXPECT_THAT(ids("MATCH_epc=https://example.com/01/04012345123456/10/ORE-1"),
              ElementsAre("1", "2", "4"));
  EXPECT_THAT(ids("EQ_bizLocation=urn:epc:id:sgln:4012345.00011.988"), ElementsAre("3", "4", "5"));
  EXPECT_THAT(ids("eventType=AggregationEvent"), ElementsAre());
  for (const char* bad : {"perPage=0", "perPage=x", "GE_eventTime=yesterday", "nextPageToken=zz",
                          "MATCH_epc=urn:epc:id:sgln:4012345.00011.988", "EQ_bizLocation=x",
                          "EQ_readPoint=urn:epc:id:sgln:4012345.00011.988"}) {
    auto [status, body] = Get(std::string("/events?") + bad);
    EXPECT_EQ(status, 400) << bad << ": " << body.dump();
    EXPECT_EQ(body["type"], "urn:lodestone:epcis:problem:query") << bad;
  }
}

// A partner reads what the read rules let it read; the scan per request is bounded, and a
// page cut short by the bound carries a token to go on.
TEST_F(CaptureTest, QueriesAreAuthorisedAndTheirScanIsBounded) {
  const std::string dir = std::string(LODESTONE_EPCIS_TESTDATA) + "/examples/";
  ASSERT_TRUE(CaptureAndWait(ReadFile(dir + "lodestone__antimony-mine-to-oxide.jsonld"))
                  .value("success", false));
  const auto query = [&](const QueryService& service, rpc::Caller caller, std::string token) {
    http::Request request;
    request.method = "GET";
    request.path = "/events";
    request.caller = std::move(caller);
    if (!token.empty()) request.query.emplace_back("nextPageToken", token);
    return service.QueryEvents(request);
  };
  const auto count = [](const http::Response& response) {
    return Json::parse(response.body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .size();
  };
  // The miner operates both facilities: party to every event. Another partner: to none.
  EXPECT_EQ(count(query(*query_, {rpc::Caller::Kind::kParty, "miner"}, "")), 5u);
  EXPECT_EQ(count(query(*query_, {rpc::Caller::Kind::kParty, "intruder"}, "")), 0u);
  EXPECT_EQ(count(query(*query_, {rpc::Caller::Kind::kNode, "node-1"}, "")), 5u);
  http::Request one;
  one.method = "GET";
  one.path_params["eventID"] = "urn:uuid:5a1e0000-0000-4000-8000-000000000001";
  one.caller = {rpc::Caller::Kind::kParty, "intruder"};
  EXPECT_EQ(query_->GetEvent(one).status, 404);
  one.caller = {rpc::Caller::Kind::kParty, "miner"};
  EXPECT_EQ(query_->GetEvent(one).status, 200);

  // 3 master data events and 5 captured ones, scanned 2 at a time.
  QueryService bounded(*ledger_, {.default_per_page = 100, .max_per_page = 1000, .max_scanned = 2});
  size_t total = 0;
  std::string token;
  int requests = 0;
  for (; requests < 20; ++requests) {
    http::Response page = query(bounded, {rpc::Caller::Kind::kLocalAdmin, ""}, token);
    ASSERT_EQ(page.status, 200) << page.body;
    const size_t n = count(page);
    EXPECT_LE(n, 2u);
    total += n;
    token.clear();
    for (const auto& [name, value] : page.headers) {
      if (name == "GS1-Next-Page-Token") token = value;
    }
    if (token.empty()) break;
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(requests, 3);  // 8 events, 2 scanned per request: 4 requests
}

}  // namespace
}  // namespace lodestone::epcis
