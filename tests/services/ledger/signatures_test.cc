// Event signatures (docs/security.md): a party with a registered Ed25519 key signs every event it
// appends; the ledger verifies the signature before the committer and the write model checks the
// key at the batch's position. Real RocksDB in a temp dir, the ledger in process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lodestone/v1/events.pb.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "services/crypto/ed25519.h"
#include "services/domain/event.h"
#include "services/ledger/ledger.h"
#include "services/loadgen/workload.h"
#include "tests/support/temp_dir.h"

namespace lodestone::ledger {
namespace {

namespace lg = ::lodestone::loadgen;
using ::testing::HasSubstr;

constexpr char kAdmin[] = "adm";
constexpr char kParty[] = "m-party";

domain::Event Domain(const v1::Event& proto) {
  auto event = codec::EventFromProto(proto);
  EXPECT_TRUE(event.ok()) << event.status();
  return event.ok() ? *event : domain::Event();
}

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate();
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

domain::Event KeyEvent(const std::string& event_id, domain::Payload payload,
                       const std::string& party = kParty) {
  domain::Event event;
  event.event_id = event_id;
  event.event_time = absl::Now() - absl::Minutes(1);
  event.subject = absl::StrCat("party/", party);
  event.actor = kAdmin;
  event.payload = std::move(payload);
  return event;
}

domain::Event Register(const std::string& event_id, const crypto::SigningKey& key,
                       const std::string& replaces = "", const std::string& party = kParty) {
  return KeyEvent(event_id,
                  domain::SigningKeyRegistered{party, crypto::KeyId(key.PublicKey()),
                                               key.PublicKey(), replaces},
                  party);
}

domain::Event Revoke(const std::string& event_id, const crypto::SigningKey& key) {
  return KeyEvent(event_id, domain::SigningKeyRevoked{kParty, crypto::KeyId(key.PublicKey())});
}

// An extraction at the party's mine, stated by the party itself.
domain::Event Extraction(const std::string& id) {
  domain::Event event =
      Domain(lg::LotExtracted(id, "L-" + id, "m-mine", v1::MATERIAL_ANTIMONY_ORE, "261710", 1000));
  event.actor = kParty;
  return event;
}

// What a client does: name itself as attester, then sign the canonical bytes.
domain::Event Signed(domain::Event event, const crypto::SigningKey& key,
                     const std::string& attester = kParty) {
  event.attested_by = attester;
  event.signature = {};
  const std::string message = codec::SignedMessage(event);
  event.signature = {crypto::KeyId(key.PublicKey()), key.Sign(message)};
  return event;
}

class SignaturesTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    LedgerOptions options;
    options.log.path = dir_.Sub("ledger");
    options.log.sync = false;
    options.authority.admin_party = kAdmin;
    auto ledger = Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);
  }

  void SeedParty() {
    std::vector<domain::Event> events;
    for (const auto& proto : lg::MineSetup("m", "AU")) events.push_back(Domain(proto));
    ASSERT_TRUE(AppendAs(kAdmin, events).ok());
  }

  absl::StatusOr<AppendOutcome> AppendAs(const std::string& attester,
                                         std::vector<domain::Event> events) {
    return ledger_->AppendAndWait({std::move(events), {}, attester});
  }

  uint64_t Size() { return ledger_->log().GetHead().size; }

  v1::Event Stored(uint64_t position) {
    auto record = ledger_->log().ReadRecord(position);
    EXPECT_TRUE(record.ok()) << record.status();
    v1::Event event;
    EXPECT_TRUE(record.ok() && event.ParseFromString(record->payload));
    return event;
  }

  testing::TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

void ExpectDenied(const absl::StatusOr<AppendOutcome>& outcome, const std::string& why) {
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kPermissionDenied) << outcome.status();
  EXPECT_THAT(std::string(outcome.status().message()), HasSubstr(why));
}

TEST_F(SignaturesTest, APartyWithARegisteredKeyMustSignAndItsSignedEventsVerifyFromTheLog) {
  SeedParty();
  ASSERT_TRUE(AppendAs(kParty, {Extraction("e-unsigned-before")}).ok());  // no key yet
  const crypto::SigningKey key = NewKey();
  ASSERT_TRUE(AppendAs(kAdmin, {Register("k1", key)}).ok());
  const uint64_t size = Size();
  ExpectDenied(AppendAs(kParty, {Extraction("e-unsigned")}), "its events must be signed");
  EXPECT_EQ(Size(), size);

  auto signed_outcome = AppendAs(kParty, {Signed(Extraction("e-signed"), key)});
  ASSERT_TRUE(signed_outcome.ok()) << signed_outcome.status();
  // The stored bytes carry the signature; it verifies over them alone (what an offline verifier
  // has), and the signed bytes are the stored bytes up to the signature field.
  const uint64_t position = signed_outcome->results[0].position;
  auto record = ledger_->log().ReadRecord(position);
  ASSERT_TRUE(record.ok());
  const v1::Event stored = Stored(position);
  ASSERT_TRUE(stored.has_signature());
  EXPECT_EQ(stored.attested_by(), kParty);
  EXPECT_TRUE(crypto::VerifySignature(key.PublicKey(), codec::SignedMessage(stored),
                                      stored.signature().signature()));
  const std::string message = codec::SignedMessage(stored);
  EXPECT_EQ(record->payload.compare(0, message.size() - codec::kSignatureContext.size(),
                                    message.substr(codec::kSignatureContext.size())),
            0);
  v1::Event parsed;
  auto from_bytes = codec::SignedMessageOfStoredBytes(record->payload, &parsed);
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  EXPECT_EQ(*from_bytes, message);
  EXPECT_EQ(parsed.event_id(), "e-signed");
  // Bytes after the signature, or a signature that is not last, are refused.
  EXPECT_EQ(codec::SignedMessageOfStoredBytes(record->payload + std::string("\x08\x01", 2), &parsed)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(codec::SignedMessageOfStoredBytes("\xff\xff", &parsed).status().code(),
            absl::StatusCode::kDataLoss);
  auto unsigned_record = ledger_->log().ReadRecord(0);
  ASSERT_TRUE(unsigned_record.ok());
  auto unsigned_message = codec::SignedMessageOfStoredBytes(unsigned_record->payload, &parsed);
  ASSERT_TRUE(unsigned_message.ok());
  EXPECT_EQ(*unsigned_message, std::string(codec::kSignatureContext) + unsigned_record->payload);
  // The same signed event again is a duplicate (Ed25519 is deterministic).
  auto again = AppendAs(kParty, {Signed(Extraction("e-signed"), key)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
}

TEST_F(SignaturesTest, WrongKeyUnknownKeyAndFlippedBytesAreRefusedAndAppendNothing) {
  SeedParty();
  const crypto::SigningKey key = NewKey();
  const crypto::SigningKey other = NewKey();
  ASSERT_TRUE(AppendAs(kAdmin, {Register("k1", key)}).ok());
  const uint64_t size = Size();

  // Signed by another key under this key's id.
  domain::Event forged = Signed(Extraction("e-1"), other);
  forged.signature.key_id = crypto::KeyId(key.PublicKey());
  ExpectDenied(AppendAs(kParty, {forged}), "does not verify");
  // A key the party does not have.
  ExpectDenied(AppendAs(kParty, {Signed(Extraction("e-2"), other)}), "is not a key of 'm-party'");
  // One flipped byte in the event after signing, or in the signature.
  domain::Event changed = Signed(Extraction("e-3"), key);
  std::get<domain::LotExtracted>(changed.payload).mass_g += 1;
  ExpectDenied(AppendAs(kParty, {changed}), "does not verify");
  domain::Event flipped = Signed(Extraction("e-4"), key);
  flipped.signature.signature[10] ^= 0x01;
  ExpectDenied(AppendAs(kParty, {flipped}), "does not verify");
  // Signed without naming the attester: the ledger's attestation changes the signed bytes.
  domain::Event anonymous = Extraction("e-5");
  anonymous.signature = {crypto::KeyId(key.PublicKey()), key.Sign(codec::SignedMessage(anonymous))};
  ExpectDenied(AppendAs(kParty, {anonymous}), "attested_by included");
  // A valid signed event in a batch with a bad one: the whole batch is refused.
  ExpectDenied(AppendAs(kParty, {Signed(Extraction("e-6"), key), flipped}), "events[1]");
  // Malformed signatures are INVALID_ARGUMENT.
  domain::Event short_signature = Signed(Extraction("e-7"), key);
  short_signature.signature.signature.resize(10);
  EXPECT_EQ(AppendAs(kParty, {short_signature}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Size(), size);
}

TEST_F(SignaturesTest, ARevokedKeySignsNothingFromItsRevocationOnAndRotationMovesToTheNewKey) {
  SeedParty();
  const crypto::SigningKey old_key = NewKey();
  const crypto::SigningKey new_key = NewKey();
  ASSERT_TRUE(AppendAs(kAdmin, {Register("k-old", old_key)}).ok());
  auto before = AppendAs(kParty, {Signed(Extraction("e-before"), old_key)});
  ASSERT_TRUE(before.ok()) << before.status();

  // Rotation: the new key replaces the old one at the same position.
  ASSERT_TRUE(
      AppendAs(kAdmin, {Register("k-new", new_key, crypto::KeyId(old_key.PublicKey()))}).ok());
  ExpectDenied(AppendAs(kParty, {Signed(Extraction("e-after"), old_key)}), "was revoked by event");
  ASSERT_TRUE(AppendAs(kParty, {Signed(Extraction("e-after"), new_key)}).ok());
  // What was signed before the revocation stays in the log, and a re-send is still a duplicate.
  auto resent = AppendAs(kParty, {Signed(Extraction("e-before"), old_key)});
  ASSERT_TRUE(resent.ok()) << resent.status();
  EXPECT_TRUE(resent->duplicate);
  EXPECT_EQ(resent->results[0].position, before->results[0].position);

  // Revoking the last key lifts the obligation to sign; a revoked key is not revoked twice and
  // its id is never registered again.
  ASSERT_TRUE(AppendAs(kAdmin, {Revoke("k-revoke", new_key)}).ok());
  ExpectDenied(AppendAs(kParty, {Signed(Extraction("e-late"), new_key)}), "was revoked");
  ASSERT_TRUE(AppendAs(kParty, {Extraction("e-unsigned-again")}).ok());
  EXPECT_EQ(AppendAs(kAdmin, {Revoke("k-revoke-2", new_key)}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AppendAs(kAdmin, {Register("k-new-again", new_key)}).status().code(),
            absl::StatusCode::kAlreadyExists);

  // The key state survives a restart.
  ledger_.reset();
  Open();
  ExpectDenied(AppendAs(kParty, {Signed(Extraction("e-restart"), old_key)}), "was revoked");
}

TEST_F(SignaturesTest, OnlyTheAdministratorOrARegistrarManagesKeysAndKeyEventsAreNotRetracted) {
  SeedParty();
  const crypto::SigningKey key = NewKey();
  domain::Event own = Register("k-own", key);
  own.actor = kParty;
  ExpectDenied(AppendAs(kParty, {own}), "(rule: registrar)");
  // A key of m-party does not sign for the administrator.
  ExpectDenied(AppendAs(kAdmin, {Register("k1", key), Signed(Extraction("e-1"), key, kAdmin)}),
               "is not a key of 'adm'");
  auto registered = AppendAs(kAdmin, {Register("k1", key)});
  ASSERT_TRUE(registered.ok()) << registered.status();
  domain::Event retraction = Domain(lg::EventRetracted("e-retract", "party/m-party", "k1"));
  retraction.actor = kAdmin;
  auto retracted = AppendAs(kAdmin, {retraction});
  EXPECT_EQ(retracted.status().code(), absl::StatusCode::kFailedPrecondition) << retracted.status();
  EXPECT_THAT(std::string(retracted.status().message()), HasSubstr("key events are not retracted"));
}

TEST_F(SignaturesTest, AKeyRegisteredEarlierInTheBatchSignsTheEventsAfterIt) {
  SeedParty();
  const crypto::SigningKey key = NewKey();
  domain::Event registration = Register("k-admin", key, "", kAdmin);
  // The administrator is not a registered party here: register it, then its key, then sign.
  std::vector<domain::Event> batch;
  batch.push_back(Domain(lg::PartyRegistered("p-adm", kAdmin, "AU")));
  batch.push_back(registration);
  batch.push_back(Signed(Extraction("e-1"), key, kAdmin));
  auto outcome = AppendAs(kAdmin, batch);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_TRUE(Stored(outcome->results[2].position).has_signature());
  // From now on the administrator signs too.
  ExpectDenied(AppendAs(kAdmin, {Extraction("e-2")}), "its events must be signed");
}

}  // namespace
}  // namespace lodestone::ledger
