// Tests of the write-side rules (services/domain/rules.h), one per rule and per rejection, named
// after the failure they catch. Each rejection test checks the status code, the rejection label,
// that the message names the event id and the field, and that the store did not change.
#include "services/domain/rules.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/domain/errors.h"
#include "services/domain/event.h"
#include "services/domain/in_memory_state_store.h"
#include "services/domain/state_store.h"

namespace lodestone::domain {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using ::testing::HasSubstr;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
constexpr absl::StatusCode kPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kExists = absl::StatusCode::kAlreadyExists;

const absl::Time kT0 = absl::FromUnixSeconds(1'735'689'600);  // 2025-01-01T00:00:00Z

std::string Msg(const absl::Status& status) { return std::string(status.message()); }

// ---------------------------------------------------------------------------------------------
// Event builders: each returns a valid event; tests change one thing.

Event Envelope(std::string event_id, std::string subject, Payload payload) {
  Event event;
  event.event_id = std::move(event_id);
  event.event_time = kT0;
  event.subject = std::move(subject);
  event.actor = "party/p-cn";
  event.payload = std::move(payload);
  return event;
}

template <typename T>
T& Body(Event& event) {
  return std::get<T>(event.payload);
}

Event PartyEvent(std::string event_id, std::string party_id, std::string country = "CN",
                 std::string parent = "") {
  PartyRegistered p;
  p.party_id = party_id;
  p.name = absl::StrCat("Party ", party_id);
  p.country = std::move(country);
  p.parent_party_id = std::move(parent);
  return Envelope(std::move(event_id), "party/" + party_id, p);
}

Event FacilityEvent(std::string event_id, std::string facility_id, std::string operator_party_id,
                    FacilityKind kind, std::string country = "CN", std::string subdivision = "") {
  FacilityRegistered f;
  f.facility_id = facility_id;
  f.operator_party_id = std::move(operator_party_id);
  f.country = std::move(country);
  f.subdivision = std::move(subdivision);
  f.kind = kind;
  f.name = absl::StrCat("Facility ", facility_id);
  return Envelope(std::move(event_id), "facility/" + facility_id, f);
}

Event ExtractEvent(std::string event_id, std::string lot_id, std::string facility_id,
                   Grams mass_g) {
  LotExtracted l;
  l.lot_id = lot_id;
  l.material = Material::kAntimonyOre;
  l.hs_code = "261710";
  l.mass_g = mass_g;
  l.facility_id = std::move(facility_id);
  return Envelope(std::move(event_id), "lot/" + lot_id, l);
}

Event RegisterLotEvent(std::string event_id, std::string lot_id, std::string facility_id,
                       Grams mass_g) {
  LotRegistered l;
  l.lot_id = lot_id;
  l.material = Material::kAntimonyOxide;
  l.hs_code = "282580";
  l.mass_g = mass_g;
  l.facility_id = std::move(facility_id);
  l.origin_country = "CN";
  return Envelope(std::move(event_id), "lot/" + lot_id, l);
}

LotOutput Output(std::string lot_id, Grams mass_g) {
  LotOutput o;
  o.lot_id = std::move(lot_id);
  o.material = Material::kAntimonyOxide;
  o.hs_code = "282580";
  o.mass_g = mass_g;
  return o;
}

Event TransformEvent(std::string event_id, std::string transformation_id, std::string facility_id,
                     std::vector<LotInput> inputs, std::vector<LotOutput> outputs,
                     std::vector<UntrackedInput> untracked = {}) {
  LotTransformed t;
  t.transformation_id = std::move(transformation_id);
  t.facility_id = facility_id;
  t.process = Process::kRefining;
  t.inputs = std::move(inputs);
  t.untracked_inputs = std::move(untracked);
  t.outputs = std::move(outputs);
  return Envelope(std::move(event_id), "facility/" + facility_id, t);
}

Event DispatchEvent(std::string event_id, std::string shipment_id, std::string from, std::string to,
                    std::vector<ShipmentItem> items, std::string licence = "") {
  ShipmentDispatched s;
  s.shipment_id = shipment_id;
  s.items = std::move(items);
  s.from_facility_id = std::move(from);
  s.to_facility_id = std::move(to);
  s.declared_origin = "CN";
  s.declared_hs_code = "261710";
  s.export_licence_id = std::move(licence);
  return Envelope(std::move(event_id), "shipment/" + shipment_id, s);
}

Event ArriveEvent(std::string event_id, std::string shipment_id, std::string facility_id) {
  ShipmentArrived s;
  s.shipment_id = shipment_id;
  s.facility_id = std::move(facility_id);
  return Envelope(std::move(event_id), "shipment/" + shipment_id, s);
}

Event LicenceEvent(std::string event_id, std::string licence_id, std::string exporter) {
  ExportLicenceGranted l;
  l.licence_id = licence_id;
  l.issuing_country = "CN";
  l.exporter_party_id = std::move(exporter);
  l.hs_codes = {"261710"};
  l.materials = {Material::kAntimonyOre};
  l.quantity_g = 5'000'000;
  l.end_user_country = "TH";
  l.valid_from = kT0;
  l.valid_until = kT0 + absl::Hours(24 * 365);
  return Envelope(std::move(event_id), "licence/" + licence_id, l);
}

Event RetractEvent(std::string event_id, std::string retracted_event_id, std::string subject) {
  EventRetracted r;
  r.retracted_event_id = std::move(retracted_event_id);
  r.reason = RetractionReason::kIncorrectData;
  r.note = "keyed in twice";
  return Envelope(std::move(event_id), std::move(subject), r);
}

// ---------------------------------------------------------------------------------------------
// Assertions.

AssertionResult IsRejection(const absl::Status& status, absl::StatusCode code,
                            std::string_view label, std::string_view event_id,
                            std::string_view field) {
  if (status.code() != code) {
    return AssertionFailure() << "code " << absl::StatusCodeToString(status.code()) << ", want "
                              << absl::StatusCodeToString(code) << ": " << status;
  }
  if (RejectionLabel(status) != label) {
    return AssertionFailure() << "label " << RejectionLabel(status) << ", want " << label << ": "
                              << status;
  }
  const std::string prefix = "event '" + std::string(event_id) + "': ";
  if (Msg(status).rfind(prefix, 0) != 0) {
    return AssertionFailure() << "message does not start with \"" << prefix << "\": " << status;
  }
  if (Msg(status).find(field) == std::string::npos) {
    return AssertionFailure() << "message does not name " << field << ": " << status;
  }
  return AssertionSuccess();
}

class RulesTest : public ::testing::Test {
 protected:
  // Applies `event` and records it; fails the test when it is rejected.
  void Accept(const Event& event) {
    const absl::Status status = ApplyAndRecord(event, store_);
    ASSERT_TRUE(status.ok()) << status;
  }

  // ApplyEvent rejects `event` as described and leaves the store unchanged.
  AssertionResult Rejects(const Event& event, absl::StatusCode code, std::string_view label,
                          std::string_view field) {
    const InMemoryStateStore before = store_;
    const absl::Status status = ApplyEvent(event, store_);
    AssertionResult result = IsRejection(status, code, label, event.event_id, field);
    if (!result) return result;
    if (!(store_ == before)) return AssertionFailure() << "the rejected event changed the store";
    return AssertionSuccess();
  }

  // As Rejects, and ValidateEvent alone rejects it the same way (a stateless rule).
  AssertionResult Invalid(const Event& event, absl::StatusCode code, std::string_view label,
                          std::string_view field) {
    const absl::Status status = ValidateEvent(event);
    AssertionResult result = IsRejection(status, code, label, event.event_id, field);
    if (!result) return AssertionFailure() << "ValidateEvent: " << result.message();
    return Rejects(event, code, label, field);
  }

  AssertionResult Malformed(const Event& event, std::string_view field) {
    return Invalid(event, kInvalid, "malformed", field);
  }

  LotState Lot(std::string_view id) {
    absl::StatusOr<std::optional<LotState>> lot = store_.GetLot(id);
    EXPECT_TRUE(lot.ok() && lot->has_value()) << "lot " << id;
    return lot.ok() && lot->has_value() ? **lot : LotState{};
  }
  ShipmentState Shipment(std::string_view id) {
    absl::StatusOr<std::optional<ShipmentState>> shipment = store_.GetShipment(id);
    EXPECT_TRUE(shipment.ok() && shipment->has_value()) << "shipment " << id;
    return shipment.ok() && shipment->has_value() ? **shipment : ShipmentState{};
  }
  bool LotExists(std::string_view id) { return store_.GetLot(id).value().has_value(); }

  InMemoryStateStore store_;
};

// A small supply chain: a Chinese miner in Xinjiang, its Thai affiliate's refinery, a Chinese
// smelter and a US port; two ore lots at the mine.
class WorldTest : public RulesTest {
 protected:
  void SetUp() override {
    Accept(PartyEvent("e-p-cn", "p-cn", "CN"));
    Accept(PartyEvent("e-p-th", "p-th", "TH", "p-cn"));
    Accept(PartyEvent("e-p-us", "p-us", "US"));
    Accept(FacilityEvent("e-f-mine", "f-mine", "p-cn", FacilityKind::kMine, "CN", "CN-XJ"));
    Accept(FacilityEvent("e-f-smelter", "f-smelter", "p-cn", FacilityKind::kSmelter));
    Accept(FacilityEvent("e-f-refinery", "f-refinery", "p-th", FacilityKind::kRefinery, "TH"));
    Accept(FacilityEvent("e-f-port", "f-port", "p-us", FacilityKind::kPort, "US"));
    Accept(ExtractEvent("e-ore-1", "ore-1", "f-mine", 1000));
    Accept(ExtractEvent("e-ore-2", "ore-2", "f-mine", 500));
  }

  // Ships ore-1 (all 1000 g) from the mine to the smelter as shipment s-1.
  void ShipOre1ToSmelter() {
    Accept(DispatchEvent("e-s-1", "s-1", "f-mine", "f-smelter", {{"ore-1", 1000}}));
  }
};

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ErrorsTest, CodeOfMapsEveryRejection) {
  EXPECT_EQ(CodeOf(Rejection::kMalformed), kInvalid);
  EXPECT_EQ(CodeOf(Rejection::kUnknownEntity), kNotFound);
  EXPECT_EQ(CodeOf(Rejection::kInsufficientMass), kPrecondition);
  EXPECT_EQ(CodeOf(Rejection::kWrongLocation), kPrecondition);
  EXPECT_EQ(CodeOf(Rejection::kMassBalance), kInvalid);
  EXPECT_EQ(CodeOf(Rejection::kLineageCycle), kInvalid);
  EXPECT_EQ(CodeOf(Rejection::kAlreadyExists), kExists);
  EXPECT_EQ(CodeOf(Rejection::kWrongState), kPrecondition);
  EXPECT_EQ(CodeOf(Rejection::kVersionConflict), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeOf(Rejection::kDuplicateConflict), kExists);
  EXPECT_EQ(CodeOf(Rejection::kBatchTooLarge), kInvalid);
  EXPECT_EQ(CodeOf(Rejection::kOverloaded), absl::StatusCode::kResourceExhausted);
}

TEST(ErrorsTest, OutOfRangeRejectionIsInternalNeverOk) {
  EXPECT_EQ(CodeOf(static_cast<Rejection>(99)), absl::StatusCode::kInternal);
  EXPECT_EQ(LabelOf(static_cast<Rejection>(99)), "internal");
}

TEST(ErrorsTest, RejectAttachesLabelThatRejectionLabelReadsBack) {
  const absl::Status status = Reject(Rejection::kWrongLocation, "lot 'x' is elsewhere");
  EXPECT_EQ(status.code(), kPrecondition);
  EXPECT_EQ(status.message(), "lot 'x' is elsewhere");
  EXPECT_EQ(RejectionLabel(status), "wrong_location");
  EXPECT_EQ(RejectionOf(status), Rejection::kWrongLocation);
  const auto payload = status.GetPayload("type.lodestone.dev/lodestone.Rejection");
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(std::string(*payload), "wrong_location");
}

TEST(ErrorsTest, EveryLabelRoundTrips) {
  for (int i = 1; i <= 12; ++i) {
    const auto rejection = static_cast<Rejection>(i);
    EXPECT_EQ(RejectionLabel(Reject(rejection, "m")), LabelOf(rejection)) << i;
    EXPECT_EQ(RejectionOf(Reject(rejection, "m")), rejection) << i;
  }
}

TEST(ErrorsTest, StatusWithoutPayloadIsInternal) {
  EXPECT_EQ(RejectionLabel(absl::UnavailableError("disk")), "internal");
  EXPECT_EQ(RejectionLabel(absl::OkStatus()), "internal");
  EXPECT_EQ(RejectionOf(absl::UnavailableError("disk")), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Ids and subjects.

TEST(IdTest, AcceptsIdCharacters) {
  EXPECT_TRUE(IsWellFormedId("AZaz09._:/-"));
  EXPECT_TRUE(IsWellFormedId(std::string(kMaxIdBytes, 'a')));
}

TEST(IdTest, RejectsEmptyLongOrOddIds) {
  EXPECT_FALSE(IsWellFormedId(""));
  EXPECT_FALSE(IsWellFormedId(std::string(kMaxIdBytes + 1, 'a')));
  EXPECT_FALSE(IsWellFormedId("a b"));
  EXPECT_FALSE(IsWellFormedId("lot#1"));
  EXPECT_FALSE(IsWellFormedId("l\xc3\xb6t"));
}

TEST(SubjectTest, KindEndsAtFirstSlash) {
  const std::optional<SubjectRef> subject = ParseSubject("lot/mine-7/2025/001");
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->kind, "lot");
  EXPECT_EQ(subject->id, "mine-7/2025/001");
}

TEST(SubjectTest, RejectsUnknownKindOrBadId) {
  EXPECT_FALSE(ParseSubject("vessel/v-1").has_value());
  EXPECT_FALSE(ParseSubject("lot").has_value());
  EXPECT_FALSE(ParseSubject("lot/").has_value());
  EXPECT_FALSE(ParseSubject("/x").has_value());
  EXPECT_FALSE(ParseSubject("Lot/x").has_value());
  EXPECT_FALSE(ParseSubject("lot/a b").has_value());
}

// ---------------------------------------------------------------------------------------------
// Envelope.

TEST_F(RulesTest, AcceptsEventIdOfMaxLength) {
  Event event = PartyEvent(std::string(kMaxIdBytes, 'e'), "p-1");
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsEmptyEventId) {
  Event event = PartyEvent("", "p-1");
  EXPECT_TRUE(Malformed(event, "event_id"));
}

TEST_F(RulesTest, RejectsEventIdOverMaxBytes) {
  Event event = PartyEvent(std::string(kMaxIdBytes + 1, 'e'), "p-1");
  const InMemoryStateStore before = store_;
  for (const absl::Status& status : {ValidateEvent(event), ApplyEvent(event, store_)}) {
    EXPECT_EQ(status.code(), kInvalid);
    EXPECT_EQ(RejectionLabel(status), "malformed");
    // The quoted id is cut at kMaxIdBytes so that messages stay bounded.
    EXPECT_THAT(Msg(status), testing::StartsWith("event '" + std::string(kMaxIdBytes, 'e') +
                                                 "'...: event_id must be 1..128 bytes"));
  }
  EXPECT_TRUE(store_ == before);
}

TEST_F(RulesTest, RejectsEventIdWithSpace) {
  EXPECT_TRUE(Malformed(PartyEvent("e 1", "p-1"), "event_id"));
}

TEST_F(RulesTest, RejectsMissingEventTime) {
  Event event = PartyEvent("e-1", "p-1");
  event.event_time = absl::InfinitePast();
  EXPECT_TRUE(Malformed(event, "event_time"));
}

TEST_F(RulesTest, RejectsInfiniteEventTime) {
  Event event = PartyEvent("e-1", "p-1");
  event.event_time = absl::InfiniteFuture();
  EXPECT_TRUE(Malformed(event, "event_time"));
}

TEST(EventTimesTest, AcceptedRangeIsFrom1900ToTheEndOfYear9999) {
  const absl::Time commit = kT0;
  Event event = PartyEvent("e-1", "p-1");
  event.event_time = EarliestAcceptedTime();
  EXPECT_TRUE(CheckEventTimes(event, commit, kDefaultMaxFutureSkew).ok());
  event.event_time = EarliestAcceptedTime() - absl::Nanoseconds(1);
  const absl::Status before = CheckEventTimes(event, commit, kDefaultMaxFutureSkew);
  EXPECT_TRUE(IsRejection(before, kInvalid, "malformed", "e-1", "event_time"));
  EXPECT_THAT(Msg(before), HasSubstr("1899-12-31T23:59:59.999999999+00:00 is outside the "
                                     "accepted range 1900-01-01T00:00:00+00:00 .. "
                                     "9999-12-31T23:59:59.999999999+00:00"));
}

TEST(EventTimesTest, EventTimeMayRunAheadOfTheCommitByTheSkewOnly) {
  Event event = PartyEvent("e-1", "p-1");
  event.event_time = kT0 + absl::Minutes(5);
  EXPECT_TRUE(CheckEventTimes(event, kT0, absl::Minutes(5)).ok());
  event.event_time = kT0 + absl::Minutes(5) + absl::Microseconds(1);
  const absl::Status ahead = CheckEventTimes(event, kT0, absl::Minutes(5));
  EXPECT_TRUE(IsRejection(ahead, kInvalid, "malformed", "e-1", "event_time"));
  EXPECT_THAT(Msg(ahead), HasSubstr("later than the ledger's commit time"));
}

TEST(EventTimesTest, LicenceValidityBoundsAreInTheAcceptedRange) {
  Event event = LicenceEvent("e-l", "l-1", "p-cn");
  Body<ExportLicenceGranted>(event).valid_until = LatestAcceptedTime();
  EXPECT_TRUE(CheckEventTimes(event, kT0, kDefaultMaxFutureSkew).ok());
  Body<ExportLicenceGranted>(event).valid_from = absl::FromUnixSeconds(-62135596800);  // year 1
  EXPECT_TRUE(IsRejection(CheckEventTimes(event, kT0, kDefaultMaxFutureSkew), kInvalid, "malformed",
                          "e-l", "export_licence_granted.valid_from"));
  Body<ExportLicenceGranted>(event).valid_from = absl::InfinitePast();  // open-ended: fine
  EXPECT_TRUE(CheckEventTimes(event, kT0, kDefaultMaxFutureSkew).ok());
}

TEST_F(RulesTest, RejectsEmptyActor) {
  Event event = PartyEvent("e-1", "p-1");
  event.actor.clear();
  EXPECT_TRUE(Malformed(event, "actor"));
}

TEST_F(RulesTest, RejectsActorOverMaxBytes) {
  Event event = PartyEvent("e-1", "p-1");
  event.actor = std::string(kMaxIdBytes + 1, 'a');
  EXPECT_TRUE(Malformed(event, "actor"));
}

TEST_F(RulesTest, RejectsMissingPayload) {
  Event event = PartyEvent("e-1", "p-1");
  event.payload = std::monostate();
  EXPECT_TRUE(Malformed(event, "payload"));
}

TEST_F(RulesTest, RejectsSubjectWithoutKind) {
  Event event = PartyEvent("e-1", "p-1");
  event.subject = "p-1";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsSubjectOfUnknownKind) {
  Event event = PartyEvent("e-1", "p-1");
  event.subject = "company/p-1";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsSubjectNamingAnotherParty) {
  Event event = PartyEvent("e-1", "p-1");
  event.subject = "party/p-2";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsSubjectOfWrongKindForFacility) {
  Event event = FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kMine);
  event.subject = "party/p-1";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsLotSubjectNamingAnotherLot) {
  Event event = ExtractEvent("e-1", "lot-1", "f-mine", 10);
  event.subject = "lot/lot-2";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsShipmentSubjectNamingAnotherShipment) {
  Event event = ArriveEvent("e-1", "s-1", "f-1");
  event.subject = "shipment/s-2";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RejectsLicenceSubjectNamingTheExporter) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  event.subject = "party/p-1";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, TransformationSubjectMayBeFacilityOrAnyInputOrOutputLot) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}, {"in-2", 10}},
                               {Output("out-1", 5), Output("out-2", 5)});
  for (std::string subject : {"facility/f-1", "lot/in-1", "lot/in-2", "lot/out-1", "lot/out-2"}) {
    event.subject = subject;
    EXPECT_TRUE(ValidateEvent(event).ok()) << subject;
  }
}

TEST_F(RulesTest, RejectsTransformationSubjectNamingUnrelatedLot) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)});
  event.subject = "lot/other";
  EXPECT_TRUE(Malformed(event, "subject"));
  event.subject = "facility/f-2";
  EXPECT_TRUE(Malformed(event, "subject"));
}

TEST_F(RulesTest, RetractionSubjectIsCheckedOnlyForForm) {
  EXPECT_TRUE(ValidateEvent(RetractEvent("e-2", "e-1", "lot/anything")).ok());
  EXPECT_TRUE(Malformed(RetractEvent("e-2", "e-1", "anything"), "subject"));
}

// ---------------------------------------------------------------------------------------------
// Field rules (stateless).

TEST_F(RulesTest, RejectsPartyIdWithIllegalCharacters) {
  Event event = PartyEvent("e-1", "p 1");
  event.subject = "party/p-1";
  EXPECT_TRUE(Malformed(event, "party_registered.party_id"));
}

TEST_F(RulesTest, RejectsFacilityIdOverMaxBytes) {
  Event event = FacilityEvent("e-1", std::string(kMaxIdBytes + 1, 'f'), "p-1", FacilityKind::kMine);
  event.subject = "facility/f-1";
  EXPECT_TRUE(Malformed(event, "facility_registered.facility_id"));
}

TEST_F(RulesTest, RejectsMissingOperatorParty) {
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "", FacilityKind::kMine),
                        "facility_registered.operator_party_id"));
}

TEST_F(RulesTest, RejectsNameOverMaxTextBytes) {
  Event event = PartyEvent("e-1", "p-1");
  Body<PartyRegistered>(event).name = std::string(kMaxTextBytes + 1, 'n');
  EXPECT_TRUE(Malformed(event, "party_registered.name"));
  Body<PartyRegistered>(event).name = std::string(kMaxTextBytes, 'n');
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsUnassignedPartyCountry) {
  EXPECT_TRUE(Malformed(PartyEvent("e-1", "p-1", "XX"), "party_registered.country"));
}

TEST_F(RulesTest, RejectsLowercasePartyCountry) {
  EXPECT_TRUE(Malformed(PartyEvent("e-1", "p-1", "cn"), "party_registered.country"));
}

TEST_F(RulesTest, RejectsMissingPartyCountry) {
  EXPECT_TRUE(Malformed(PartyEvent("e-1", "p-1", ""), "party_registered.country"));
}

TEST_F(RulesTest, RejectsPartyThatIsItsOwnParent) {
  EXPECT_TRUE(Invalid(PartyEvent("e-1", "p-1", "CN", "p-1"), kInvalid, "lineage_cycle",
                      "party_registered.parent_party_id"));
}

TEST_F(RulesTest, AcceptsSubdivisionOfFacilityCountry) {
  EXPECT_TRUE(
      ValidateEvent(FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kMine, "CN", "CN-XJ")).ok());
}

TEST_F(RulesTest, RejectsSubdivisionOfAnotherCountry) {
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kMine, "CN", "US-XJ"),
                        "facility_registered.subdivision"));
}

TEST_F(RulesTest, RejectsMalformedSubdivision) {
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kMine, "CN", "CN-XJXJ"),
                        "facility_registered.subdivision"));
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kMine, "CN", "cn-xj"),
                        "facility_registered.subdivision"));
}

TEST_F(RulesTest, RejectsUnspecifiedFacilityKind) {
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "p-1", FacilityKind::kUnspecified),
                        "facility_registered.kind"));
}

TEST_F(RulesTest, RejectsOutOfRangeFacilityKind) {
  EXPECT_TRUE(
      Malformed(FacilityEvent("e-1", "f-1", "p-1", static_cast<FacilityKind>(kFacilityKindMax + 1)),
                "facility_registered.kind"));
  EXPECT_TRUE(Malformed(FacilityEvent("e-1", "f-1", "p-1", static_cast<FacilityKind>(-1)),
                        "facility_registered.kind"));
}

TEST_F(RulesTest, RejectsUnspecifiedMaterial) {
  Event event = ExtractEvent("e-1", "lot-1", "f-1", 10);
  Body<LotExtracted>(event).material = Material::kUnspecified;
  EXPECT_TRUE(Malformed(event, "lot_extracted.material"));
}

TEST_F(RulesTest, RejectsOutOfRangeMaterial) {
  Event event = ExtractEvent("e-1", "lot-1", "f-1", 10);
  Body<LotExtracted>(event).material = static_cast<Material>(kMaterialMax + 1);
  EXPECT_TRUE(Malformed(event, "lot_extracted.material"));
}

TEST_F(RulesTest, RejectsMissingHsCode) {
  Event event = ExtractEvent("e-1", "lot-1", "f-1", 10);
  Body<LotExtracted>(event).hs_code.clear();
  EXPECT_TRUE(Malformed(event, "lot_extracted.hs_code"));
}

TEST_F(RulesTest, RejectsHsCodeOutsideChapters) {
  Event event = RegisterLotEvent("e-1", "lot-1", "f-1", 10);
  Body<LotRegistered>(event).hs_code = "9901";
  EXPECT_TRUE(Malformed(event, "lot_registered.hs_code"));
}

TEST_F(RulesTest, RejectsZeroMass) {
  EXPECT_TRUE(Malformed(ExtractEvent("e-1", "lot-1", "f-1", 0), "lot_extracted.mass_g"));
}

TEST_F(RulesTest, RejectsNegativeMass) {
  EXPECT_TRUE(Malformed(RegisterLotEvent("e-1", "lot-1", "f-1", -5), "lot_registered.mass_g"));
}

TEST_F(RulesTest, RejectsMassOverMax) {
  EXPECT_TRUE(
      Malformed(ExtractEvent("e-1", "lot-1", "f-1", kMaxMassG + 1), "lot_extracted.mass_g"));
  EXPECT_TRUE(ValidateEvent(ExtractEvent("e-1", "lot-1", "f-1", kMaxMassG)).ok());
}

TEST_F(RulesTest, RejectsUnassignedOriginCountry) {
  Event event = RegisterLotEvent("e-1", "lot-1", "f-1", 10);
  Body<LotRegistered>(event).origin_country = "XX";
  EXPECT_TRUE(Malformed(event, "lot_registered.origin_country"));
  Body<LotRegistered>(event).origin_country = "";  // unknown origin is allowed
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsNegativeValue) {
  Event event = RegisterLotEvent("e-1", "lot-1", "f-1", 10);
  Body<LotRegistered>(event).value_minor = -1;
  Body<LotRegistered>(event).currency = "USD";
  EXPECT_TRUE(Malformed(event, "lot_registered.value_minor"));
}

TEST_F(RulesTest, RejectsValueWithoutCurrency) {
  Event event = RegisterLotEvent("e-1", "lot-1", "f-1", 10);
  Body<LotRegistered>(event).value_minor = 100;
  EXPECT_TRUE(Malformed(event, "lot_registered.currency"));
  Body<LotRegistered>(event).currency = "USD";
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsLowercaseCurrency) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)});
  Body<LotTransformed>(event).outputs[0].value_minor = 100;
  Body<LotTransformed>(event).outputs[0].currency = "usd";
  EXPECT_TRUE(Malformed(event, "lot_transformed.outputs[0].currency"));
}

// ---------------------------------------------------------------------------------------------
// Transformation shape (stateless).

TEST_F(RulesTest, RejectsUnspecifiedProcess) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)});
  Body<LotTransformed>(event).process = Process::kUnspecified;
  EXPECT_TRUE(Malformed(event, "lot_transformed.process"));
}

TEST_F(RulesTest, RejectsTransformationWithoutInputs) {
  EXPECT_TRUE(Malformed(TransformEvent("e-1", "t-1", "f-1", {}, {Output("out-1", 5)}),
                        "lot_transformed.inputs"));
}

TEST_F(RulesTest, RejectsTransformationWithoutOutputs) {
  EXPECT_TRUE(Malformed(TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {}),
                        "lot_transformed.outputs"));
}

TEST_F(RulesTest, AcceptsTransformationOfUntrackedInputsOnly) {
  Event event =
      TransformEvent("e-1", "t-1", "f-1", {}, {Output("out-1", 5)}, {{Material::kScrap, 10, ""}});
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsNonPositiveInputMass) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}, {"in-2", 0}}, {Output("o", 5)});
  const absl::Status status = ValidateEvent(event);
  EXPECT_EQ(Msg(status), "event 'e-1': lot_transformed.inputs[1].mass_g must be > 0, got 0");
  EXPECT_TRUE(Malformed(event, "lot_transformed.inputs[1].mass_g"));
}

TEST_F(RulesTest, RejectsUntrackedInputWithBadCountry) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)},
                               {{Material::kIron, 10, "XK"}});
  EXPECT_TRUE(Malformed(event, "lot_transformed.untracked_inputs[0].country"));
}

TEST_F(RulesTest, RejectsUntrackedInputWithoutMaterial) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)},
                               {{Material::kUnspecified, 10, "AU"}});
  EXPECT_TRUE(Malformed(event, "lot_transformed.untracked_inputs[0].material"));
}

TEST_F(RulesTest, RejectsOutputWithoutHsCode) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5)});
  Body<LotTransformed>(event).outputs[0].hs_code = "28";
  EXPECT_TRUE(Malformed(event, "lot_transformed.outputs[0].hs_code"));
}

TEST_F(RulesTest, RejectsTooManyTransformationInputs) {
  std::vector<LotInput> inputs;
  for (size_t i = 0; i < kMaxTransformationInputs; ++i) {
    inputs.push_back({absl::StrCat("in-", i), 1});
  }
  Event event = TransformEvent("e-1", "t-1", "f-1", inputs, {Output("out-1", 5)});
  EXPECT_TRUE(ValidateEvent(event).ok());
  // Tracked and untracked inputs count together.
  Body<LotTransformed>(event).untracked_inputs.push_back({Material::kIron, 1, ""});
  EXPECT_TRUE(Malformed(event, "lot_transformed.inputs"));
}

TEST_F(RulesTest, RejectsTooManyTransformationOutputs) {
  std::vector<LotOutput> outputs;
  for (size_t i = 0; i <= kMaxTransformationOutputs; ++i) {
    outputs.push_back(Output(absl::StrCat("out-", i), 1));
  }
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 5000}}, outputs);
  EXPECT_TRUE(Malformed(event, "lot_transformed.outputs"));
}

TEST_F(RulesTest, RejectsRepeatedInputLot) {
  Event event =
      TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}, {"in-1", 10}}, {Output("out-1", 5)});
  EXPECT_TRUE(Invalid(event, kInvalid, "lineage_cycle", "lot_transformed.inputs[1].lot_id"));
}

TEST_F(RulesTest, RejectsRepeatedOutputLot) {
  Event event =
      TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}}, {Output("out-1", 5), Output("out-1", 5)});
  EXPECT_TRUE(Invalid(event, kInvalid, "lineage_cycle", "lot_transformed.outputs[1].lot_id"));
}

TEST_F(RulesTest, RejectsLotThatIsBothInputAndOutput) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 10}, {"in-2", 10}},
                               {Output("out-1", 5), Output("in-2", 5)});
  EXPECT_TRUE(Invalid(event, kInvalid, "lineage_cycle", "lot_transformed.outputs[1].lot_id"));
  EXPECT_THAT(Msg(ValidateEvent(event)), HasSubstr("also inputs[1]"));
}

TEST_F(RulesTest, RejectsOutputsHeavierThanInputs) {
  Event event = TransformEvent("e-1", "t-1", "f-1", {{"in-1", 600}}, {Output("out-1", 701)},
                               {{Material::kIron, 100, ""}});
  EXPECT_TRUE(Invalid(event, kInvalid, "mass_balance", "lot_transformed.outputs"));
  EXPECT_THAT(Msg(ValidateEvent(event)), HasSubstr("701 g exceeds the inputs' 700 g"));
}

TEST_F(RulesTest, AcceptsOutputsAsHeavyAsInputs) {
  Event event =
      TransformEvent("e-1", "t-1", "f-1", {{"in-1", 600}},
                     {Output("out-1", 650), Output("out-2", 50)}, {{Material::kIron, 100, ""}});
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, MassBalanceIsExactAtTheLimits) {
  // 1000 inputs of kMaxMassG would overflow a double's exact range; int64 sums stay exact.
  std::vector<LotInput> inputs;
  for (size_t i = 0; i < kMaxTransformationInputs; ++i) {
    inputs.push_back({absl::StrCat("in-", i), kMaxMassG});
  }
  std::vector<LotOutput> outputs;
  for (size_t i = 0; i < kMaxTransformationOutputs; ++i) {
    outputs.push_back(Output(absl::StrCat("out-", i), kMaxMassG));
  }
  Event event = TransformEvent("e-1", "t-1", "f-1", inputs, outputs);
  EXPECT_TRUE(ValidateEvent(event).ok());
  Body<LotTransformed>(event).inputs.back().mass_g -= 1;
  EXPECT_TRUE(Invalid(event, kInvalid, "mass_balance", "lot_transformed.outputs"));
}

// ---------------------------------------------------------------------------------------------
// Shipment and licence shape (stateless).

TEST_F(RulesTest, RejectsShipmentToItsOrigin) {
  EXPECT_TRUE(Malformed(DispatchEvent("e-1", "s-1", "f-1", "f-1", {{"lot-1", 10}}),
                        "shipment_dispatched.to_facility_id"));
}

TEST_F(RulesTest, RejectsShipmentWithoutItems) {
  EXPECT_TRUE(
      Malformed(DispatchEvent("e-1", "s-1", "f-1", "f-2", {}), "shipment_dispatched.items"));
}

TEST_F(RulesTest, RejectsTooManyShipmentItems) {
  std::vector<ShipmentItem> items;
  for (size_t i = 0; i <= kMaxShipmentItems; ++i) items.push_back({absl::StrCat("lot-", i), 1});
  EXPECT_TRUE(
      Malformed(DispatchEvent("e-1", "s-1", "f-1", "f-2", items), "shipment_dispatched.items"));
}

TEST_F(RulesTest, RejectsRepeatedShipmentLot) {
  EXPECT_TRUE(Malformed(DispatchEvent("e-1", "s-1", "f-1", "f-2", {{"lot-1", 10}, {"lot-1", 10}}),
                        "shipment_dispatched.items[1].lot_id"));
}

TEST_F(RulesTest, RejectsNonPositiveShipmentItemMass) {
  EXPECT_TRUE(Malformed(DispatchEvent("e-1", "s-1", "f-1", "f-2", {{"lot-1", -3}}),
                        "shipment_dispatched.items[0].mass_g"));
}

TEST_F(RulesTest, RejectsInvalidDeclaredOrigin) {
  Event event = DispatchEvent("e-1", "s-1", "f-1", "f-2", {{"lot-1", 10}});
  Body<ShipmentDispatched>(event).declared_origin = "";
  EXPECT_TRUE(Malformed(event, "shipment_dispatched.declared_origin"));
}

TEST_F(RulesTest, RejectsInvalidDeclaredHsCode) {
  Event event = DispatchEvent("e-1", "s-1", "f-1", "f-2", {{"lot-1", 10}});
  Body<ShipmentDispatched>(event).declared_hs_code = "2825.80";
  EXPECT_TRUE(Malformed(event, "shipment_dispatched.declared_hs_code"));
}

TEST_F(RulesTest, RejectsLicenceWithZeroQuantity) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).quantity_g = 0;
  EXPECT_TRUE(Malformed(event, "export_licence_granted.quantity_g"));
}

TEST_F(RulesTest, RejectsLicenceValidityNotStartingBeforeItEnds) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).valid_until = kT0;
  EXPECT_TRUE(Malformed(event, "export_licence_granted.valid_from"));
  Body<ExportLicenceGranted>(event).valid_until = kT0 - absl::Seconds(1);
  EXPECT_TRUE(Malformed(event, "export_licence_granted.valid_from"));
}

TEST_F(RulesTest, RejectsLicenceCoveringNothing) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).hs_codes.clear();
  Body<ExportLicenceGranted>(event).materials.clear();
  EXPECT_TRUE(Malformed(event, "export_licence_granted.hs_codes"));
  Body<ExportLicenceGranted>(event).materials = {Material::kGallium};
  EXPECT_TRUE(ValidateEvent(event).ok());
}

TEST_F(RulesTest, RejectsTooManyLicenceCodes) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).hs_codes.assign(kMaxLicenceCodes + 1, "2825");
  EXPECT_TRUE(Malformed(event, "export_licence_granted.hs_codes"));
}

TEST_F(RulesTest, RejectsInvalidLicenceHsCode) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).hs_codes.push_back("abc");
  EXPECT_TRUE(Malformed(event, "export_licence_granted.hs_codes[1]"));
}

TEST_F(RulesTest, RejectsOutOfRangeLicenceMaterial) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).materials.push_back(static_cast<Material>(100));
  EXPECT_TRUE(Malformed(event, "export_licence_granted.materials[1]"));
}

TEST_F(RulesTest, RejectsUnassignedIssuingCountry) {
  Event event = LicenceEvent("e-1", "l-1", "p-1");
  Body<ExportLicenceGranted>(event).issuing_country = "XX";
  EXPECT_TRUE(Malformed(event, "export_licence_granted.issuing_country"));
}

TEST_F(RulesTest, RejectsRetractionOfItself) {
  EXPECT_TRUE(Malformed(RetractEvent("e-1", "e-1", "lot/x"), "event_retracted.retracted_event_id"));
}

TEST_F(RulesTest, RejectsMalformedRetractedEventId) {
  EXPECT_TRUE(Malformed(RetractEvent("e-2", "", "lot/x"), "event_retracted.retracted_event_id"));
  EXPECT_TRUE(Malformed(RetractEvent("e-2", "e 1", "lot/x"), "event_retracted.retracted_event_id"));
}

TEST_F(RulesTest, RejectsUnspecifiedRetractionReason) {
  Event event = RetractEvent("e-2", "e-1", "lot/x");
  Body<EventRetracted>(event).reason = RetractionReason::kUnspecified;
  EXPECT_TRUE(Malformed(event, "event_retracted.reason"));
}

TEST_F(RulesTest, RejectsMalformedCorrectiveEventId) {
  Event event = RetractEvent("e-2", "e-1", "lot/x");
  Body<EventRetracted>(event).corrective_event_ids = {"e-3", "e four"};
  EXPECT_TRUE(Malformed(event, "event_retracted.corrective_event_ids[1]"));
}

// ---------------------------------------------------------------------------------------------
// Parties, facilities, licences (stateful).

TEST_F(RulesTest, RegistersParty) {
  Accept(PartyEvent("e-1", "p-1", "CN"));
  const std::optional<PartyState> party = store_.GetParty("p-1").value();
  ASSERT_TRUE(party.has_value());
  EXPECT_EQ(party->country, "CN");
  EXPECT_EQ(party->status, EntityStatus::kActive);
  EXPECT_EQ(party->created_by_event_id, "e-1");
}

TEST_F(WorldTest, RejectsPartyAlreadyRegistered) {
  EXPECT_TRUE(
      Rejects(PartyEvent("e-1", "p-cn"), kExists, "already_exists", "party_registered.party_id"));
}

TEST_F(WorldTest, RejectsUnknownParentParty) {
  EXPECT_TRUE(Rejects(PartyEvent("e-1", "p-new", "MX", "p-ghost"), kNotFound, "unknown_entity",
                      "party_registered.parent_party_id"));
}

TEST_F(WorldTest, RejectsRetractedParentParty) {
  Accept(RetractEvent("e-r", "e-p-us", "party/p-us"));
  EXPECT_TRUE(Rejects(PartyEvent("e-1", "p-new", "MX", "p-us"), kPrecondition, "wrong_state",
                      "party_registered.parent_party_id"));
}

TEST_F(WorldTest, RejectsAffiliateCycleOnReRegistration) {
  // p-th's parent is p-cn; re-registering p-cn under p-th would close a loop.
  Accept(RetractEvent("e-r", "e-p-cn", "party/p-cn"));
  EXPECT_TRUE(Rejects(PartyEvent("e-1", "p-cn", "CN", "p-th"), kInvalid, "lineage_cycle",
                      "party_registered.parent_party_id"));
  Accept(PartyEvent("e-2", "p-cn", "CN", "p-us"));
}

TEST_F(WorldTest, RegistersFacility) {
  Accept(FacilityEvent("e-1", "f-new", "p-th", FacilityKind::kMagnetPlant, "TH"));
  const std::optional<FacilityState> facility = store_.GetFacility("f-new").value();
  ASSERT_TRUE(facility.has_value());
  EXPECT_EQ(facility->kind, FacilityKind::kMagnetPlant);
  EXPECT_EQ(facility->operator_party_id, "p-th");
}

TEST_F(WorldTest, RejectsFacilityAlreadyRegistered) {
  EXPECT_TRUE(Rejects(FacilityEvent("e-1", "f-mine", "p-cn", FacilityKind::kMine), kExists,
                      "already_exists", "facility_registered.facility_id"));
}

TEST_F(WorldTest, RejectsFacilityOfUnknownOperator) {
  EXPECT_TRUE(Rejects(FacilityEvent("e-1", "f-new", "p-ghost", FacilityKind::kMine), kNotFound,
                      "unknown_entity", "facility_registered.operator_party_id"));
}

TEST_F(WorldTest, GrantsLicence) {
  Accept(LicenceEvent("e-1", "l-1", "p-cn"));
  const std::optional<LicenceState> licence = store_.GetLicence("l-1").value();
  ASSERT_TRUE(licence.has_value());
  EXPECT_EQ(licence->exporter_party_id, "p-cn");
  EXPECT_EQ(licence->quantity_g, 5'000'000);
}

TEST_F(WorldTest, RejectsLicenceAlreadyGranted) {
  Accept(LicenceEvent("e-1", "l-1", "p-cn"));
  EXPECT_TRUE(Rejects(LicenceEvent("e-2", "l-1", "p-cn"), kExists, "already_exists",
                      "export_licence_granted.licence_id"));
}

TEST_F(WorldTest, RejectsLicenceOfUnknownExporter) {
  EXPECT_TRUE(Rejects(LicenceEvent("e-1", "l-1", "p-ghost"), kNotFound, "unknown_entity",
                      "export_licence_granted.exporter_party_id"));
}

// ---------------------------------------------------------------------------------------------
// Lots (stateful).

TEST_F(WorldTest, ExtractsLotAtMine) {
  Accept(ExtractEvent("e-1", "ore-3", "f-mine", 250));
  const LotState lot = Lot("ore-3");
  EXPECT_EQ(lot.mass_g, 250);
  EXPECT_EQ(lot.remaining_g, 250);
  EXPECT_EQ(lot.facility_id, "f-mine");
  EXPECT_EQ(lot.status, LotStatus::kActive);
  EXPECT_EQ(lot.created_by_event_id, "e-1");
}

TEST_F(WorldTest, RejectsExtractedLotThatExists) {
  EXPECT_TRUE(Rejects(ExtractEvent("e-1", "ore-1", "f-mine", 10), kExists, "already_exists",
                      "lot_extracted.lot_id"));
}

TEST_F(WorldTest, RejectsExtractionAtUnknownFacility) {
  EXPECT_TRUE(Rejects(ExtractEvent("e-1", "ore-3", "f-ghost", 10), kNotFound, "unknown_entity",
                      "lot_extracted.facility_id"));
}

TEST_F(WorldTest, RejectsExtractionAtSmelter) {
  const Event event = ExtractEvent("e-1", "ore-3", "f-smelter", 10);
  EXPECT_TRUE(Rejects(event, kPrecondition, "wrong_state", "lot_extracted.facility_id"));
  EXPECT_THAT(Msg(ApplyEvent(event, store_)),
              HasSubstr("facility 'f-smelter' is a SMELTER, not a mine"));
}

TEST_F(WorldTest, RegistersLotAtAnyFacility) {
  Accept(RegisterLotEvent("e-1", "oxide-1", "f-refinery", 400));
  EXPECT_EQ(Lot("oxide-1").facility_id, "f-refinery");
  EXPECT_EQ(Lot("oxide-1").remaining_g, 400);
}

TEST_F(WorldTest, RejectsRegisteredLotThatExists) {
  EXPECT_TRUE(Rejects(RegisterLotEvent("e-1", "ore-2", "f-mine", 10), kExists, "already_exists",
                      "lot_registered.lot_id"));
}

TEST_F(WorldTest, RejectsLotRegistrationAtUnknownFacility) {
  EXPECT_TRUE(Rejects(RegisterLotEvent("e-1", "oxide-1", "f-ghost", 10), kNotFound,
                      "unknown_entity", "lot_registered.facility_id"));
}

// ---------------------------------------------------------------------------------------------
// Transformations (stateful).

TEST_F(WorldTest, TransformationConsumesInputsAndCreatesOutputs) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 400}, {"ore-2", 500}},
                        {Output("conc-1", 850)}, {{Material::kOther, 50, "AU"}}));
  EXPECT_EQ(Lot("ore-1").remaining_g, 600);
  EXPECT_EQ(Lot("ore-1").mass_g, 1000);
  EXPECT_EQ(Lot("ore-2").remaining_g, 0);
  const LotState out = Lot("conc-1");
  EXPECT_EQ(out.mass_g, 850);
  EXPECT_EQ(out.remaining_g, 850);
  EXPECT_EQ(out.facility_id, "f-mine");
  EXPECT_EQ(out.created_by_event_id, "e-1");
  EXPECT_EQ(store_.GetTransformation("t-1").value(), std::optional<std::string>("e-1"));
}

TEST_F(WorldTest, RejectsReusedTransformationId) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 100}}, {Output("a", 100)}));
  EXPECT_TRUE(Rejects(TransformEvent("e-2", "t-1", "f-mine", {{"ore-1", 100}}, {Output("b", 100)}),
                      kExists, "already_exists", "lot_transformed.transformation_id"));
}

TEST_F(WorldTest, RejectsTransformationAtUnknownFacility) {
  EXPECT_TRUE(Rejects(TransformEvent("e-1", "t-1", "f-ghost", {{"ore-1", 100}}, {Output("a", 1)}),
                      kNotFound, "unknown_entity", "lot_transformed.facility_id"));
}

TEST_F(WorldTest, RejectsUnknownInputLot) {
  EXPECT_TRUE(Rejects(
      TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 100}, {"ghost", 10}}, {Output("a", 1)}),
      kNotFound, "unknown_entity", "lot_transformed.inputs[1].lot_id"));
  EXPECT_FALSE(LotExists("a"));
}

TEST_F(WorldTest, RejectsInputLotAtAnotherFacility) {
  EXPECT_TRUE(Rejects(TransformEvent("e-1", "t-1", "f-smelter", {{"ore-1", 100}}, {Output("a", 1)}),
                      kPrecondition, "wrong_location", "lot_transformed.inputs[0].lot_id"));
}

TEST_F(WorldTest, RejectsInputLotInTransit) {
  ShipOre1ToSmelter();
  EXPECT_TRUE(Rejects(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 100}}, {Output("a", 1)}),
                      kPrecondition, "wrong_location", "lot_transformed.inputs[0].lot_id"));
  EXPECT_TRUE(Rejects(TransformEvent("e-2", "t-1", "f-smelter", {{"ore-1", 100}}, {Output("a", 1)}),
                      kPrecondition, "wrong_location", "lot_transformed.inputs[0].lot_id"));
}

TEST_F(WorldTest, RejectsConsumingMoreThanRemains) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 700}}, {Output("a", 700)}));
  const Event event =
      TransformEvent("e-2", "t-2", "f-mine", {{"ore-2", 10}, {"ore-1", 301}}, {Output("b", 1)});
  EXPECT_TRUE(
      Rejects(event, kPrecondition, "insufficient_mass", "lot_transformed.inputs[1].mass_g"));
  const std::string message = Msg(ApplyEvent(event, store_));
  EXPECT_THAT(message, HasSubstr("301"));
  EXPECT_THAT(message, HasSubstr("300 g remaining in lot 'ore-1'"));
  Accept(TransformEvent("e-3", "t-3", "f-mine", {{"ore-1", 300}}, {Output("c", 300)}));
  EXPECT_EQ(Lot("ore-1").remaining_g, 0);
}

TEST_F(WorldTest, RejectsOutputLotThatExists) {
  EXPECT_TRUE(Rejects(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 100}},
                                     {Output("a", 50), Output("ore-2", 50)}),
                      kExists, "already_exists", "lot_transformed.outputs[1].lot_id"));
  EXPECT_FALSE(LotExists("a"));
}

TEST_F(WorldTest, RejectsTransformationAtRetractedFacility) {
  Accept(RetractEvent("e-r", "e-f-mine", "facility/f-mine"));
  EXPECT_TRUE(Rejects(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 100}}, {Output("a", 1)}),
                      kPrecondition, "wrong_state", "lot_transformed.facility_id"));
}

// ---------------------------------------------------------------------------------------------
// Shipments (stateful).

TEST_F(WorldTest, DispatchPutsLotsInTransit) {
  Accept(DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ore-1", 1000}, {"ore-2", 500}}));
  for (std::string_view id : {"ore-1", "ore-2"}) {
    const LotState lot = Lot(id);
    EXPECT_EQ(lot.status, LotStatus::kInTransit) << id;
    EXPECT_EQ(lot.shipment_id, "s-1") << id;
    EXPECT_EQ(lot.facility_id, "f-mine") << id;
  }
  const ShipmentState shipment = Shipment("s-1");
  EXPECT_EQ(shipment.status, ShipmentStatus::kDispatched);
  EXPECT_EQ(shipment.dispatched_by_event_id, "e-1");
  EXPECT_EQ(shipment.items.size(), 2u);
}

TEST_F(WorldTest, RejectsReusedShipmentId) {
  ShipOre1ToSmelter();
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ore-2", 500}}), kExists,
                      "already_exists", "shipment_dispatched.shipment_id"));
}

TEST_F(WorldTest, RejectsDispatchFromUnknownFacility) {
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-ghost", "f-smelter", {{"ore-1", 1000}}),
                      kNotFound, "unknown_entity", "shipment_dispatched.from_facility_id"));
}

TEST_F(WorldTest, RejectsDispatchToUnknownFacility) {
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-ghost", {{"ore-1", 1000}}),
                      kNotFound, "unknown_entity", "shipment_dispatched.to_facility_id"));
}

TEST_F(WorldTest, RejectsShippingUnknownLot) {
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ghost", 10}}),
                      kNotFound, "unknown_entity", "shipment_dispatched.items[0].lot_id"));
}

TEST_F(WorldTest, RejectsShippingLotFromAnotherFacility) {
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-smelter", "f-port", {{"ore-1", 1000}}),
                      kPrecondition, "wrong_location", "shipment_dispatched.items[0].lot_id"));
}

TEST_F(WorldTest, RejectsShippingLotInTransit) {
  ShipOre1ToSmelter();
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-2", "f-mine", "f-port", {{"ore-1", 1000}}),
                      kPrecondition, "wrong_location", "shipment_dispatched.items[0].lot_id"));
}

TEST_F(WorldTest, RejectsShippingMoreThanRemains) {
  const Event event = DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ore-1", 1001}});
  EXPECT_TRUE(
      Rejects(event, kPrecondition, "insufficient_mass", "shipment_dispatched.items[0].mass_g"));
  EXPECT_THAT(Msg(ApplyEvent(event, store_)), HasSubstr("1001 exceeds the 1000 g remaining"));
}

TEST_F(WorldTest, RejectsShippingPartOfLot) {
  const Event event =
      DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ore-2", 500}, {"ore-1", 999}});
  EXPECT_TRUE(Rejects(event, kPrecondition, "wrong_state", "shipment_dispatched.items[1].mass_g"));
  EXPECT_THAT(Msg(ApplyEvent(event, store_)), HasSubstr("split first"));
  EXPECT_EQ(Lot("ore-2").status, LotStatus::kActive);
}

TEST_F(WorldTest, RejectsShippingConsumedLot) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-2", 500}}, {Output("a", 500)}));
  EXPECT_TRUE(Rejects(DispatchEvent("e-2", "s-1", "f-mine", "f-smelter", {{"ore-2", 1}}),
                      kPrecondition, "insufficient_mass", "shipment_dispatched.items[0].mass_g"));
}

TEST_F(WorldTest, AcceptsDispatchUnderLicence) {
  Accept(LicenceEvent("e-l", "l-1", "p-cn"));
  Accept(DispatchEvent("e-1", "s-1", "f-mine", "f-port", {{"ore-1", 1000}}, "l-1"));
  EXPECT_EQ(Shipment("s-1").export_licence_id, "l-1");
}

TEST_F(WorldTest, RejectsDispatchUnderUnknownLicence) {
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-port", {{"ore-1", 1000}}, "l-9"),
                      kNotFound, "unknown_entity", "shipment_dispatched.export_licence_id"));
}

TEST_F(WorldTest, RejectsDispatchUnderRetractedLicence) {
  Accept(LicenceEvent("e-l", "l-1", "p-cn"));
  Accept(RetractEvent("e-r", "e-l", "licence/l-1"));
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-port", {{"ore-1", 1000}}, "l-1"),
                      kPrecondition, "wrong_state", "shipment_dispatched.export_licence_id"));
}

TEST_F(WorldTest, ArrivalPutsLotsAtDestination) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-1", "s-1", "f-smelter"));
  const LotState lot = Lot("ore-1");
  EXPECT_EQ(lot.status, LotStatus::kActive);
  EXPECT_EQ(lot.facility_id, "f-smelter");
  EXPECT_EQ(lot.shipment_id, "");
  EXPECT_EQ(lot.remaining_g, 1000);
  EXPECT_EQ(Shipment("s-1").status, ShipmentStatus::kArrived);
  EXPECT_EQ(Shipment("s-1").arrived_by_event_id, "e-1");
  // Now it can be consumed at the smelter.
  Accept(TransformEvent("e-2", "t-1", "f-smelter", {{"ore-1", 1000}}, {Output("oxide", 800)}));
}

TEST_F(WorldTest, RejectsArrivalOfUnknownShipment) {
  EXPECT_TRUE(Rejects(ArriveEvent("e-1", "s-9", "f-smelter"), kNotFound, "unknown_entity",
                      "shipment_arrived.shipment_id"));
}

TEST_F(WorldTest, RejectsSecondArrival) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-1", "s-1", "f-smelter"));
  EXPECT_TRUE(Rejects(ArriveEvent("e-2", "s-1", "f-smelter"), kPrecondition, "wrong_state",
                      "shipment_arrived.shipment_id"));
}

TEST_F(WorldTest, RejectsArrivalAtWrongFacility) {
  ShipOre1ToSmelter();
  EXPECT_TRUE(Rejects(ArriveEvent("e-1", "s-1", "f-port"), kPrecondition, "wrong_location",
                      "shipment_arrived.facility_id"));
}

TEST_F(WorldTest, RejectsArrivalOfRetractedDispatch) {
  ShipOre1ToSmelter();
  Accept(RetractEvent("e-r", "e-s-1", "shipment/s-1"));
  EXPECT_TRUE(Rejects(ArriveEvent("e-1", "s-1", "f-smelter"), kPrecondition, "wrong_state",
                      "shipment_arrived.shipment_id"));
}

// ---------------------------------------------------------------------------------------------
// Retractions.

TEST_F(WorldTest, RejectsRetractionOfUnknownEvent) {
  EXPECT_TRUE(Rejects(RetractEvent("e-r", "e-ghost", "lot/ore-1"), kNotFound, "unknown_entity",
                      "event_retracted.retracted_event_id"));
}

TEST_F(WorldTest, RejectsRetractionOfRetraction) {
  Accept(RetractEvent("e-r1", "e-ore-2", "lot/ore-2"));
  EXPECT_TRUE(Rejects(RetractEvent("e-r2", "e-r1", "lot/ore-2"), kPrecondition, "wrong_state",
                      "event_retracted.retracted_event_id"));
}

TEST_F(WorldTest, RejectsDoubleRetraction) {
  Accept(RetractEvent("e-r1", "e-ore-2", "lot/ore-2"));
  const Event again = RetractEvent("e-r2", "e-ore-2", "lot/ore-2");
  EXPECT_TRUE(Rejects(again, kPrecondition, "wrong_state", "event_retracted.retracted_event_id"));
  EXPECT_THAT(Msg(ApplyEvent(again, store_)), HasSubstr("already retracted"));
}

TEST_F(WorldTest, RejectsRetractionWithAnotherSubject) {
  EXPECT_TRUE(
      Rejects(RetractEvent("e-r", "e-ore-2", "lot/ore-1"), kInvalid, "malformed", "subject"));
}

TEST_F(WorldTest, RetractionMarksTheEventRetracted) {
  EXPECT_FALSE(store_.IsRetracted("e-ore-2").value());
  Accept(RetractEvent("e-r", "e-ore-2", "lot/ore-2"));
  EXPECT_TRUE(store_.IsRetracted("e-ore-2").value());
  EXPECT_FALSE(store_.IsRetracted("e-r").value());
}

TEST_F(WorldTest, RetractedPartyCanBeRegisteredAgain) {
  Accept(RetractEvent("e-r", "e-p-us", "party/p-us"));
  EXPECT_EQ(store_.GetParty("p-us").value()->status, EntityStatus::kRetracted);
  EXPECT_TRUE(Rejects(FacilityEvent("e-1", "f-new", "p-us", FacilityKind::kPort, "US"),
                      kPrecondition, "wrong_state", "facility_registered.operator_party_id"));
  Accept(PartyEvent("e-2", "p-us", "US"));
  EXPECT_EQ(store_.GetParty("p-us").value()->created_by_event_id, "e-2");
  Accept(FacilityEvent("e-3", "f-new", "p-us", FacilityKind::kPort, "US"));
}

TEST_F(WorldTest, RetractedFacilityTakesNoNewLotsUntilRegisteredAgain) {
  Accept(RetractEvent("e-r", "e-f-port", "facility/f-port"));
  EXPECT_TRUE(Rejects(RegisterLotEvent("e-1", "oxide-1", "f-port", 10), kPrecondition,
                      "wrong_state", "lot_registered.facility_id"));
  Accept(FacilityEvent("e-2", "f-port", "p-us", FacilityKind::kPort, "US"));
  Accept(RegisterLotEvent("e-3", "oxide-1", "f-port", 10));
}

TEST_F(WorldTest, RetractedLicenceCanBeGrantedAgain) {
  Accept(LicenceEvent("e-l", "l-1", "p-cn"));
  Accept(RetractEvent("e-r", "e-l", "licence/l-1"));
  EXPECT_EQ(store_.GetLicence("l-1").value()->status, EntityStatus::kRetracted);
  Accept(LicenceEvent("e-l2", "l-1", "p-cn"));
  EXPECT_EQ(store_.GetLicence("l-1").value()->status, EntityStatus::kActive);
}

TEST_F(WorldTest, RetractExtractionThenRedeclareWithSameId) {
  // 300 g of ore-1 go into a split before its extraction is found to be wrong.
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 300}}, {Output("ore-1a", 300)}));
  Accept(RetractEvent("e-r", "e-ore-1", "lot/ore-1"));
  LotState lot = Lot("ore-1");
  EXPECT_EQ(lot.status, LotStatus::kRetracted);
  EXPECT_EQ(lot.mass_g - lot.remaining_g, 300);  // consumption kept

  // Until re-declared it cannot be consumed or shipped.
  EXPECT_TRUE(Rejects(TransformEvent("e-2", "t-2", "f-mine", {{"ore-1", 10}}, {Output("x", 10)}),
                      kPrecondition, "wrong_state", "lot_transformed.inputs[0].lot_id"));
  EXPECT_TRUE(Rejects(DispatchEvent("e-3", "s-1", "f-mine", "f-smelter", {{"ore-1", 700}}),
                      kPrecondition, "wrong_state", "shipment_dispatched.items[0].lot_id"));

  // The corrected extraction must cover what was already consumed.
  EXPECT_TRUE(Rejects(ExtractEvent("e-4", "ore-1", "f-mine", 299), kPrecondition,
                      "insufficient_mass", "lot_extracted.mass_g"));
  Accept(ExtractEvent("e-5", "ore-1", "f-mine", 800));
  lot = Lot("ore-1");
  EXPECT_EQ(lot.status, LotStatus::kActive);
  EXPECT_EQ(lot.mass_g, 800);
  EXPECT_EQ(lot.remaining_g, 500);
  EXPECT_EQ(lot.created_by_event_id, "e-5");
  Accept(DispatchEvent("e-6", "s-1", "f-mine", "f-smelter", {{"ore-1", 500}}));
}

TEST_F(WorldTest, RetractedLotMayBeRedeclaredAsTransformationOutput) {
  Accept(RetractEvent("e-r", "e-ore-2", "lot/ore-2"));
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 500}}, {Output("ore-2", 500)}));
  EXPECT_EQ(Lot("ore-2").status, LotStatus::kActive);
  EXPECT_EQ(Lot("ore-2").created_by_event_id, "e-1");
}

TEST_F(WorldTest, RejectsRedeclaringARetractedLotFromLotsMadeOfIt) {
  // ore-1 -> split-a -> split-b; ore-1's extraction is retracted; "ore-1" made again from
  // split-b would make ore-1 its own ancestor.
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 600}}, {Output("split-a", 600)}));
  Accept(TransformEvent("e-2", "t-2", "f-mine", {{"split-a", 600}}, {Output("split-b", 600)}));
  Accept(RetractEvent("e-r", "e-ore-1", "lot/ore-1"));
  const Event loop =
      TransformEvent("e-3", "t-3", "f-mine", {{"split-b", 600}}, {Output("ore-1", 600)});
  EXPECT_TRUE(Rejects(loop, kInvalid, "lineage_cycle", "lot_transformed.outputs[0].lot_id"));
  EXPECT_THAT(Msg(ApplyEvent(loop, store_)), HasSubstr("the lineage would loop"));
  // The direct case (made from its own child) too.
  EXPECT_TRUE(Rejects(TransformEvent("e-4", "t-4", "f-mine", {{"split-b", 100}, {"ore-2", 100}},
                                     {Output("ore-1", 600)}, {{Material::kOther, 400, ""}}),
                      kInvalid, "lineage_cycle", "lot_transformed.outputs[0].lot_id"));
  // From lots that do not descend from it, the re-declaration is accepted.
  Accept(TransformEvent("e-5", "t-5", "f-mine", {{"ore-2", 500}}, {Output("ore-1", 600)},
                        {{Material::kOther, 100, ""}}));
  EXPECT_EQ(Lot("ore-1").status, LotStatus::kActive);
  EXPECT_EQ(Lot("ore-1").remaining_g, 0);  // 600 declared, 600 already consumed by t-1
}

TEST_F(WorldTest, RedeclaringFromALotWhoseOwnCreationWasRetractedIsNoLoop) {
  // split-a was made from ore-1, then split-a's transformation was retracted: it is no longer
  // a descendant of ore-1, so ore-1 may be made from what remains of it once declared again.
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 600}}, {Output("split-a", 600)}));
  Accept(TransformEvent("e-2", "t-2", "f-mine", {{"ore-1", 100}}, {Output("split-c", 100)}));
  Accept(RetractEvent("e-r1", "e-1", "facility/f-mine"));
  Accept(RegisterLotEvent("e-3", "split-a", "f-mine", 600));
  Accept(RetractEvent("e-r2", "e-ore-1", "lot/ore-1"));
  Accept(TransformEvent("e-4", "t-4", "f-mine", {{"split-a", 600}}, {Output("ore-1", 600)}));
  EXPECT_EQ(Lot("ore-1").created_by_event_id, "e-4");
}

TEST_F(WorldTest, RejectsRetractingCreationOfLotInTransit) {
  ShipOre1ToSmelter();
  const Event event = RetractEvent("e-r", "e-ore-1", "lot/ore-1");
  EXPECT_TRUE(Rejects(event, kPrecondition, "wrong_state", "event_retracted.retracted_event_id"));
  EXPECT_THAT(Msg(ApplyEvent(event, store_)), HasSubstr("retract the dispatch first"));
}

TEST_F(WorldTest, RetractTransformationRestoresInputMass) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 400}, {"ore-2", 100}},
                        {Output("split-a", 300), Output("split-b", 250)},
                        {{Material::kOther, 50, ""}}));
  Accept(RetractEvent("e-r", "e-1", "facility/f-mine"));
  EXPECT_EQ(Lot("ore-1").remaining_g, 1000);
  EXPECT_EQ(Lot("ore-2").remaining_g, 500);
  EXPECT_EQ(Lot("split-a").status, LotStatus::kRetracted);
  EXPECT_EQ(Lot("split-b").status, LotStatus::kRetracted);
  // The transformation id and the output ids may be used again.
  Accept(TransformEvent("e-2", "t-1", "f-mine", {{"ore-1", 300}}, {Output("split-a", 300)}));
  EXPECT_EQ(Lot("split-a").status, LotStatus::kActive);
  EXPECT_EQ(Lot("split-a").remaining_g, 300);
  EXPECT_EQ(store_.GetTransformation("t-1").value(), std::optional<std::string>("e-2"));
}

TEST_F(WorldTest, RetractedTransformationOutputKeepsItsConsumption) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 400}}, {Output("split-a", 400)}));
  Accept(TransformEvent("e-2", "t-2", "f-mine", {{"split-a", 150}}, {Output("split-b", 150)}));
  Accept(RetractEvent("e-r", "e-1", "facility/f-mine"));
  EXPECT_EQ(Lot("split-a").status, LotStatus::kRetracted);
  EXPECT_EQ(Lot("split-a").remaining_g, 250);
  EXPECT_TRUE(Rejects(RegisterLotEvent("e-3", "split-a", "f-mine", 149), kPrecondition,
                      "insufficient_mass", "lot_registered.mass_g"));
  Accept(RegisterLotEvent("e-4", "split-a", "f-mine", 150));
  EXPECT_EQ(Lot("split-a").remaining_g, 0);
}

TEST_F(WorldTest, RejectsRetractingTransformationWhoseOutputIsInTransit) {
  Accept(TransformEvent("e-1", "t-1", "f-mine", {{"ore-1", 400}}, {Output("split-a", 400)}));
  Accept(DispatchEvent("e-2", "s-1", "f-mine", "f-smelter", {{"split-a", 400}}));
  EXPECT_TRUE(Rejects(RetractEvent("e-r", "e-1", "facility/f-mine"), kPrecondition, "wrong_state",
                      "event_retracted.retracted_event_id"));
  EXPECT_EQ(Lot("ore-1").remaining_g, 600);
}

TEST_F(WorldTest, RetractDispatchOfArrivedShipmentOnlyAfterRetractingArrival) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-a", "s-1", "f-smelter"));
  const Event retract_dispatch = RetractEvent("e-r1", "e-s-1", "shipment/s-1");
  EXPECT_TRUE(Rejects(retract_dispatch, kPrecondition, "wrong_state",
                      "event_retracted.retracted_event_id"));
  EXPECT_THAT(Msg(ApplyEvent(retract_dispatch, store_)), HasSubstr("retract the arrival first"));

  Accept(RetractEvent("e-r2", "e-a", "shipment/s-1"));
  EXPECT_EQ(Lot("ore-1").status, LotStatus::kInTransit);
  EXPECT_EQ(Lot("ore-1").shipment_id, "s-1");
  EXPECT_EQ(Shipment("s-1").status, ShipmentStatus::kDispatched);
  EXPECT_EQ(Shipment("s-1").arrived_by_event_id, "");

  Accept(RetractEvent("e-r3", "e-s-1", "shipment/s-1"));
  const LotState lot = Lot("ore-1");
  EXPECT_EQ(lot.status, LotStatus::kActive);
  EXPECT_EQ(lot.facility_id, "f-mine");
  EXPECT_EQ(lot.shipment_id, "");
  EXPECT_EQ(Shipment("s-1").status, ShipmentStatus::kRetracted);
  // The shipment id may be used again.
  Accept(DispatchEvent("e-s-1b", "s-1", "f-mine", "f-port", {{"ore-1", 1000}}));
}

TEST_F(WorldTest, RetractArrivalAndDispatchInOneBatch) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-a", "s-1", "f-smelter"));
  // Both retractions are applied to one store before either is committed (one batch).
  ASSERT_TRUE(ApplyEvent(RetractEvent("e-r1", "e-a", "shipment/s-1"), store_).ok());
  const absl::Status status = ApplyEvent(RetractEvent("e-r2", "e-s-1", "shipment/s-1"), store_);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Lot("ore-1").facility_id, "f-mine");
  EXPECT_EQ(Lot("ore-1").status, LotStatus::kActive);
}

TEST_F(WorldTest, RejectsRetractingArrivalOfLotThatMovedOn) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-a", "s-1", "f-smelter"));
  Accept(DispatchEvent("e-s-2", "s-2", "f-smelter", "f-port", {{"ore-1", 1000}}));
  EXPECT_TRUE(Rejects(RetractEvent("e-r", "e-a", "shipment/s-1"), kPrecondition, "wrong_state",
                      "event_retracted.retracted_event_id"));
}

TEST_F(WorldTest, RejectsRetractingArrivalOfLotConsumedAtDestination) {
  ShipOre1ToSmelter();
  Accept(ArriveEvent("e-a", "s-1", "f-smelter"));
  Accept(TransformEvent("e-t", "t-1", "f-smelter", {{"ore-1", 10}}, {Output("oxide", 8)}));
  const Event event = RetractEvent("e-r", "e-a", "shipment/s-1");
  EXPECT_TRUE(Rejects(event, kPrecondition, "wrong_state", "event_retracted.retracted_event_id"));
  EXPECT_THAT(Msg(ApplyEvent(event, store_)), HasSubstr("retract the transformations first"));
  Accept(RetractEvent("e-rt", "e-t", "facility/f-smelter"));
  Accept(event);
}

TEST_F(WorldTest, RetractingRegistrationKeepsEntityAndItsLots) {
  Accept(RetractEvent("e-r", "e-f-mine", "facility/f-mine"));
  EXPECT_EQ(store_.GetFacility("f-mine").value()->status, EntityStatus::kRetracted);
  EXPECT_EQ(Lot("ore-1").status, LotStatus::kActive);
  // Lots at a retracted facility cannot be shipped until it is registered again.
  EXPECT_TRUE(Rejects(DispatchEvent("e-1", "s-1", "f-mine", "f-smelter", {{"ore-1", 1000}}),
                      kPrecondition, "wrong_state", "shipment_dispatched.from_facility_id"));
}

// ---------------------------------------------------------------------------------------------
// The store contract.

// Delegates to an InMemoryStateStore and fails GetLot with a fixed status.
class FailingLotStore : public InMemoryStateStore {
 public:
  absl::StatusOr<std::optional<LotState>> GetLot(std::string_view) override {
    return absl::UnavailableError("disk on fire");
  }
};

TEST(StoreErrorTest, StoreErrorsAreReturnedUnchanged) {
  FailingLotStore store;
  ASSERT_TRUE(ApplyAndRecord(PartyEvent("e-1", "p-1"), store).ok());
  ASSERT_TRUE(ApplyAndRecord(FacilityEvent("e-2", "f-1", "p-1", FacilityKind::kMine), store).ok());
  const absl::Status status = ApplyEvent(ExtractEvent("e-3", "lot-1", "f-1", 10), store);
  EXPECT_EQ(status, absl::UnavailableError("disk on fire"));
  EXPECT_EQ(RejectionLabel(status), "internal");
}

TEST(InMemoryStateStoreTest, FindsOnlyRecordedEvents) {
  InMemoryStateStore store;
  const Event event = PartyEvent("e-1", "p-1");
  ASSERT_TRUE(ApplyEvent(event, store).ok());
  EXPECT_EQ(store.FindEvent("e-1").value(), std::nullopt);  // ApplyEvent does not record
  ASSERT_TRUE(store.RecordEvent(event).ok());
  EXPECT_EQ(store.FindEvent("e-1").value(), std::optional<Event>(event));
  EXPECT_EQ(store.event_count(), 1u);
}

TEST(InMemoryStateStoreTest, RejectsRecordingAnEventTwice) {
  InMemoryStateStore store;
  ASSERT_TRUE(store.RecordEvent(PartyEvent("e-1", "p-1")).ok());
  EXPECT_EQ(store.RecordEvent(PartyEvent("e-1", "p-2")).code(), kExists);
}

TEST(InMemoryStateStoreTest, ApplyAndRecordRollsBackOnRejection) {
  InMemoryStateStore store;
  ASSERT_TRUE(ApplyAndRecord(PartyEvent("e-1", "p-1"), store).ok());
  const InMemoryStateStore before = store;
  const absl::Status status = ApplyAndRecord(PartyEvent("e-2", "p-1"), store);
  EXPECT_EQ(status.code(), kExists);
  EXPECT_TRUE(store == before);
  EXPECT_EQ(store.FindEvent("e-2").value(), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Authorization: who may say what (docs/security.md). The world of WorldTest, plus a registrar,
// China's licensing authority, an auditor, and a logistics provider that is p-cn's delegate.

Event As(Event event, std::string actor, std::string attester) {
  event.actor = std::move(actor);
  event.attested_by = std::move(attester);
  return event;
}

Event GrantEvent(std::string event_id, std::string party_id, Role role, std::string country = "",
                 std::string principal = "") {
  RoleGranted g{party_id, role, std::move(country), std::move(principal)};
  return Envelope(std::move(event_id), "party/" + party_id, g);
}

Event RevokeEvent(std::string event_id, std::string party_id, Role role, std::string country = "",
                  std::string principal = "") {
  RoleRevoked v{party_id, role, std::move(country), std::move(principal)};
  return Envelope(std::move(event_id), "party/" + party_id, v);
}

class AuthorityTest : public WorldTest {
 protected:
  void SetUp() override {
    WorldTest::SetUp();
    for (const char* party : {"reg", "cn-mofcom", "aud", "logi"}) {
      Accept(PartyEvent(absl::StrCat("e-", party), party, "CN"));
    }
    Allow(As(GrantEvent("g-1", "reg", Role::kRegistrar), "admin", "admin"));
    Allow(As(GrantEvent("g-2", "cn-mofcom", Role::kLicensingAuthority, "CN"), "reg", "reg"));
    Allow(As(GrantEvent("g-3", "aud", Role::kAuditor), "reg", "reg"));
    // p-cn names its own delegate.
    Allow(As(GrantEvent("g-4", "logi", Role::kDelegate, "", "p-cn"), "p-cn", "p-cn"));
  }

  void Allow(const Event& event) {
    const absl::Status status = ApplyAndRecord(event, store_, authority_);
    ASSERT_TRUE(status.ok()) << status;
  }

  // Refused with PERMISSION_DENIED naming `rule`, and nothing changed.
  AssertionResult Denied(const Event& event, std::string_view rule) {
    const InMemoryStateStore before = store_;
    const absl::Status status = ApplyEvent(event, store_, authority_);
    AssertionResult result = IsRejection(status, absl::StatusCode::kPermissionDenied,
                                         "permission_denied", event.event_id, "actor");
    if (!result) return result;
    if (Msg(status).find("(rule: " + std::string(rule) + ")") == std::string::npos) {
      return AssertionFailure() << "does not name rule " << rule << ": " << status;
    }
    if (!(store_ == before)) return AssertionFailure() << "the denied event changed the store";
    return AssertionSuccess();
  }

  const Authority authority_{"admin"};
};

TEST_F(AuthorityTest, LotsAreExtractedOnlyAtFacilitiesTheActorOperates) {
  Allow(As(ExtractEvent("e-1", "ore-3", "f-mine", 10), "p-cn", "p-cn"));
  EXPECT_TRUE(Denied(As(ExtractEvent("e-2", "ore-4", "f-mine", 10), "p-th", "p-th"), "operator"));
  EXPECT_TRUE(
      Denied(As(RegisterLotEvent("e-3", "ox-1", "f-mine", 10), "p-us", "p-us"), "operator"));
  Allow(As(RegisterLotEvent("e-4", "ox-2", "f-refinery", 10), "p-th", "p-th"));
  EXPECT_TRUE(
      Denied(As(TransformEvent("e-5", "t-1", "f-mine", {{"ore-1", 10}}, {Output("ox-3", 10)}),
                "p-th", "p-th"),
             "operator"));
}

TEST_F(AuthorityTest, TheAttesterActsForItselfOrAsADelegate) {
  const Event for_p_cn = ExtractEvent("e-1", "ore-3", "f-mine", 10);
  EXPECT_TRUE(Denied(As(for_p_cn, "p-cn", "p-th"), "actor"));  // p-th is no delegate of p-cn
  Allow(As(for_p_cn, "p-cn", "logi"));                         // the logistics provider is
  EXPECT_TRUE(Denied(As(ExtractEvent("e-2", "ox-1", "f-refinery", 10), "p-th", "logi"), "actor"));
  EXPECT_TRUE(Denied(As(PartyEvent("e-3", "ghost-2"), "ghost", "ghost"), "actor"));
  // Revoked at a position, refused from there on.
  Allow(As(RevokeEvent("v-1", "logi", Role::kDelegate, "", "p-cn"), "p-cn", "p-cn"));
  EXPECT_TRUE(Denied(As(ExtractEvent("e-4", "ore-4", "f-mine", 10), "p-cn", "logi"), "actor"));
}

TEST_F(AuthorityTest, PartiesFacilitiesAndRolesAreTheRegistrars) {
  EXPECT_TRUE(Denied(As(FacilityEvent("e-1", "f-new", "p-th", FacilityKind::kMine), "p-cn", "p-cn"),
                     "registrar"));
  EXPECT_TRUE(Denied(As(PartyEvent("e-2", "p-new"), "p-cn", "p-cn"), "registrar"));
  EXPECT_TRUE(Denied(As(GrantEvent("e-3", "p-cn", Role::kRegistrar), "p-cn", "p-cn"), "registrar"));
  EXPECT_TRUE(Denied(As(GrantEvent("e-4", "p-th", Role::kDelegate, "", "p-cn"), "p-th", "p-th"),
                     "registrar"));  // only the principal (or the registrar) names a delegate
  Allow(As(FacilityEvent("e-5", "f-new", "p-th", FacilityKind::kMine), "reg", "reg"));
  Allow(As(PartyEvent("e-6", "p-new"), "reg", "reg"));
  EXPECT_TRUE(store_.HasRole("aud", Role::kAuditor, "").value());
}

TEST_F(AuthorityTest, LicencesAreGrantedOnlyByTheAuthorityOfTheIssuingCountry) {
  EXPECT_TRUE(
      Denied(As(LicenceEvent("e-1", "l-1", "p-cn"), "p-cn", "p-cn"), "licensing_authority"));
  Allow(As(LicenceEvent("e-2", "l-2", "p-cn"), "cn-mofcom", "cn-mofcom"));
  Event thai = LicenceEvent("e-3", "l-3", "p-th");
  Body<ExportLicenceGranted>(thai).issuing_country = "TH";
  EXPECT_TRUE(Denied(As(thai, "cn-mofcom", "cn-mofcom"), "licensing_authority"));
}

TEST_F(AuthorityTest, ArrivalsAreRecordedByTheDestinationsOperator) {
  Allow(As(DispatchEvent("e-1", "s-1", "f-mine", "f-port", {{"ore-1", 1000}}), "p-cn", "p-cn"));
  EXPECT_TRUE(
      Denied(As(DispatchEvent("e-2", "s-2", "f-mine", "f-port", {{"ore-2", 500}}), "p-us", "p-us"),
             "operator"));
  EXPECT_TRUE(Denied(As(ArriveEvent("e-3", "s-1", "f-port"), "p-cn", "p-cn"), "operator"));
  Allow(As(ArriveEvent("e-4", "s-1", "f-port"), "p-us", "p-us"));
}

TEST_F(AuthorityTest, OnlyTheActorOrTheAdministratorRetractsAnEvent) {
  Allow(As(ExtractEvent("e-1", "ore-3", "f-mine", 10), "p-cn", "p-cn"));
  EXPECT_TRUE(Denied(As(RetractEvent("r-1", "e-1", "lot/ore-3"), "p-th", "p-th"), "own_events"));
  Allow(As(RetractEvent("r-2", "e-1", "lot/ore-3"), "p-cn", "p-cn"));
  Allow(As(ExtractEvent("e-2", "ore-4", "f-mine", 10), "p-cn", "p-cn"));
  Allow(As(RetractEvent("r-3", "e-2", "lot/ore-4"), "admin", "admin"));
}

TEST_F(AuthorityTest, RoleEventsAreValidatedAndNeverRetracted) {
  EXPECT_TRUE(
      Malformed(GrantEvent("e-1", "p-cn", Role::kLicensingAuthority), "role_granted.country"));
  EXPECT_TRUE(Malformed(GrantEvent("e-2", "p-cn", Role::kDelegate, "", "p-cn"),
                        "role_granted.principal_party_id"));
  EXPECT_TRUE(Malformed(GrantEvent("e-3", "p-cn", Role::kAuditor, "CN"), "role_granted.country"));
  EXPECT_TRUE(Malformed(GrantEvent("e-4", "p-cn", Role::kUnspecified), "role_granted.role"));
  const absl::Status twice =
      ApplyEvent(As(GrantEvent("g-9", "aud", Role::kAuditor), "reg", "reg"), store_, authority_);
  EXPECT_EQ(RejectionLabel(twice), "already_exists") << twice;
  const absl::Status retract =
      ApplyEvent(As(RetractEvent("r-1", "g-3", "party/aud"), "admin", "admin"), store_, authority_);
  EXPECT_EQ(RejectionLabel(retract), "wrong_state") << retract;
  EXPECT_THAT(Msg(retract), HasSubstr("grant or revoke the role instead"));
  const absl::Status unheld =
      ApplyEvent(As(RevokeEvent("v-1", "p-us", Role::kAuditor), "reg", "reg"), store_, authority_);
  EXPECT_EQ(RejectionLabel(unheld), "wrong_state") << unheld;
}

TEST_F(AuthorityTest, UnattestedEventsFromBeforeAttestationAreNotJudged) {
  // Replays of a log written before attestation existed: no attester, no authorization.
  Accept(As(ExtractEvent("e-1", "ore-3", "f-mine", 10), "p-th", ""));
}

}  // namespace
}  // namespace lodestone::domain
