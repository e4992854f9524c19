// Canonical bytes that never change: the bytes the ledger stores for one event of every kind are
// pinned in tests/services/codec/golden/events.txt (a protobuf or codec upgrade that encodes
// differently fails here), and what is served and verified is the stored bytes, never a
// re-serialisation of a parsed message (StoredEvent.event_bytes, CheckStoredEvent).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/text_format.h"
#include "lodestone/v1/events.pb.h"
#include "lodestone/v1/ledger.pb.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "storage/leaf.h"
#include "storage/merkle.h"

namespace lodestone::codec {
namespace {

struct Golden {
  std::string kind;  // the payload field, or "signature"
  std::string text;  // a text-format v1::Event
  std::string hex;   // its canonical bytes
};

std::vector<Golden> ReadGolden() {
  std::ifstream in(LODESTONE_GOLDEN_EVENTS);
  EXPECT_TRUE(in.good()) << "cannot read " << LODESTONE_GOLDEN_EVENTS;
  std::vector<Golden> entries;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (absl::StartsWith(line, "== ")) {
      entries.push_back({line.substr(3), "", ""});
    } else if (!entries.empty() && absl::StartsWith(line, "bytes: ")) {
      entries.back().hex = line.substr(7);
    } else if (!entries.empty()) {
      entries.back().text += line + "\n";
    }
  }
  return entries;
}

v1::Event Parse(const Golden& golden) {
  v1::Event proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(golden.text, &proto)) << golden.kind;
  return proto;
}

domain::Event ToDomain(const v1::Event& proto) {
  auto event = EventFromProto(proto);
  EXPECT_TRUE(event.ok()) << event.status();
  return event.ok() ? *event : domain::Event{};
}

TEST(GoldenBytesTest, EveryEventKindHasGoldenBytes) {
  std::set<std::string> kinds;
  for (const Golden& golden : ReadGolden()) {
    EXPECT_FALSE(golden.hex.empty()) << golden.kind << " has no bytes line";
    EXPECT_TRUE(kinds.insert(golden.kind).second) << golden.kind << " twice";
  }
  const auto* payload = v1::Event::descriptor()->FindOneofByName("payload");
  ASSERT_NE(payload, nullptr);
  for (int i = 0; i < payload->field_count(); ++i) {
    EXPECT_TRUE(kinds.count(payload->field(i)->name()))
        << "event kind " << payload->field(i)->name() << " has no golden bytes in events.txt";
  }
  EXPECT_TRUE(kinds.count("signature"));
}

// What the ledger stores (CanonicalEventBytes) for each golden event is, byte for byte, what
// was checked in. Set LODESTONE_PRINT_GOLDEN=1 to print the bytes this build makes (for a new
// entry; never to overwrite an old one).
TEST(GoldenBytesTest, CanonicalBytesAreTheGoldenBytes) {
  const bool print = std::getenv("LODESTONE_PRINT_GOLDEN") != nullptr;
  for (const Golden& golden : ReadGolden()) {
    const v1::Event proto = Parse(golden);
    if (golden.kind != "signature") {
      const auto* field = proto.GetReflection()->GetOneofFieldDescriptor(
          proto, v1::Event::descriptor()->FindOneofByName("payload"));
      ASSERT_NE(field, nullptr) << golden.kind;
      EXPECT_EQ(field->name(), golden.kind);
    } else {
      EXPECT_TRUE(proto.has_signature());
    }
    const std::string bytes = CanonicalEventBytes(ToDomain(proto));
    if (print)
      std::cout << "== " << golden.kind << "\nbytes: " << absl::BytesToHexString(bytes) << "\n";
    EXPECT_EQ(absl::BytesToHexString(bytes), golden.hex)
        << golden.kind << ": this build stores other bytes for the same event";
  }
}

// The golden bytes decode to the same event, and that event encodes back to them exactly.
TEST(GoldenBytesTest, GoldenBytesDecodeToTheSameEventAndBack) {
  for (const Golden& golden : ReadGolden()) {
    const std::string bytes = absl::HexStringToBytes(golden.hex);
    v1::Event decoded;
    ASSERT_TRUE(decoded.ParseFromString(bytes)) << golden.kind;
    const domain::Event event = ToDomain(decoded);
    EXPECT_TRUE(event == ToDomain(Parse(golden))) << golden.kind;
    EXPECT_EQ(CanonicalEventBytes(event), bytes) << golden.kind;
    EXPECT_EQ(DeterministicEventBytes(decoded), bytes) << golden.kind;
  }
}

storage::Record RecordOf(std::string payload, const v1::Event& event) {
  storage::Record record;
  record.position = 0;
  record.stream_version = 1;
  record.commit_time = absl::FromUnixMicros(1767225600000000);
  record.event_id = event.event_id();
  record.subject = event.subject();
  record.payload = std::move(payload);
  const storage::Hash zeros{};
  record.chain =
      storage::merkle::ChainHash(zeros, storage::LeafHash(storage::EncodeLeafData(record)));
  return record;
}

// Stored bytes that a parse-and-re-serialise would change (fields out of order, as another
// encoder may write them) are served as they are, and their leaf hash is recomputed from them.
TEST(GoldenBytesTest, ServedEventsCarryTheStoredBytesNotAReserialisation) {
  const std::vector<Golden> goldens = ReadGolden();
  ASSERT_FALSE(goldens.empty());
  const v1::Event proto = Parse(goldens.front());
  v1::Event id_only;
  id_only.set_event_id(proto.event_id());
  v1::Event rest = proto;
  rest.clear_event_id();
  // Parsing concatenated messages merges them: the same event, event_id encoded last.
  const std::string reordered = rest.SerializeAsString() + id_only.SerializeAsString();
  ASSERT_NE(reordered, DeterministicEventBytes(proto));

  const storage::Record record = RecordOf(reordered, proto);
  v1::StoredEvent served;
  ASSERT_TRUE(RecordToProto(record, &served).ok());
  EXPECT_EQ(served.event_bytes(), reordered);
  EXPECT_EQ(served.event().event_id(), proto.event_id());
  std::string scratch;
  EXPECT_EQ(StoredEventBytes(served, &scratch), reordered);
  auto leaf = StoredEventLeafHash(served, StoredEventBytes(served, &scratch));
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*leaf, storage::LeafHash(storage::EncodeLeafData(record)));
  // What a verifier re-serialising the parsed event would hash: not the committed leaf.
  EXPECT_NE(*StoredEventLeafHash(served, DeterministicEventBytes(served.event())), *leaf);

  const storage::Hash zeros{};
  auto chain = CheckStoredEvent(served, &zeros);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, record.chain);
}

TEST(GoldenBytesTest, CheckStoredEventRefusesBytesOtherThanCommitted) {
  const std::vector<Golden> goldens = ReadGolden();
  ASSERT_GE(goldens.size(), 2u);
  const v1::Event proto = Parse(goldens[1]);
  const storage::Record record = RecordOf(CanonicalEventBytes(ToDomain(proto)), proto);
  const storage::Hash zeros{};

  v1::StoredEvent served;
  ASSERT_TRUE(RecordToProto(record, &served).ok());
  // A parsed event that disagrees with the bytes is replaced by the bytes' own.
  served.mutable_event()->set_actor("someone-else");
  ASSERT_TRUE(CheckStoredEvent(served, &zeros).ok());
  EXPECT_EQ(served.event().actor(), proto.actor());

  v1::StoredEvent flipped;
  ASSERT_TRUE(RecordToProto(record, &flipped).ok());
  std::string bytes = flipped.event_bytes();
  bytes[bytes.size() - 1] ^= 0x01;
  flipped.set_event_bytes(bytes);
  EXPECT_EQ(CheckStoredEvent(flipped, &zeros).status().code(), absl::StatusCode::kDataLoss);

  v1::StoredEvent other_chain;
  ASSERT_TRUE(RecordToProto(record, &other_chain).ok());
  const storage::Hash ones = storage::LeafHash("not the previous chain");
  EXPECT_EQ(CheckStoredEvent(other_chain, &ones).status().code(), absl::StatusCode::kDataLoss);
  // Without the previous chain only the bytes' own shape is checked.
  EXPECT_TRUE(CheckStoredEvent(other_chain, nullptr).ok());

  // A ledger older than event_bytes sends only the parsed event: its re-serialisation is hashed.
  v1::StoredEvent old_server;
  ASSERT_TRUE(RecordToProto(record, &old_server).ok());
  old_server.clear_event_bytes();
  EXPECT_TRUE(CheckStoredEvent(old_server, &zeros).ok());
}

}  // namespace
}  // namespace lodestone::codec
