// Stored bytes corrupted or forged with raw RocksDB: the Log must answer DATA_LOSS (naming the
// position), never return the damaged data as good.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/base/coding.h"
#include "storage/format.h"
#include "storage/log.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

using testing::MakeRecord;
using testing::RawDb;
using testing::TempDir;
using testing::TestOptions;
using testing::TestTime;

constexpr uint64_t kRecords = 100;  // 64 + 32 + 4: frontier nodes at levels 6, 5 and 2

bool Mentions(const absl::Status& status, const std::string& text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(dir_));
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < kRecords; i += 10) {
      std::vector<RecordInput> records;
      for (uint64_t j = i; j < i + 10; ++j) {
        records.push_back(MakeRecord("event-" + std::to_string(j), "lot/" + std::to_string(j % 7),
                                     "payload of record " + std::to_string(j)));
      }
      ASSERT_TRUE(testing::AppendGroup(**log, records, TestTime(static_cast<int64_t>(i))).ok());
    }
    head_ = (*log)->GetHead();
    ASSERT_TRUE((*log)->Verify().ok());
  }

  std::unique_ptr<Log> Reopen() {
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(dir_));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  absl::Status ReopenStatus() { return Log::Open(TestOptions(dir_)).status(); }

  // Rewrites the record at `position` with `mutate` applied to its decoded fields, with a valid
  // checksum: a forgery that only the hash chain can catch.
  template <typename Mutate>
  void Forge(uint64_t position, Mutate mutate) {
    RawDb raw(dir_.db_path());
    absl::StatusOr<Record> record =
        format::DecodeRecordValue(position, raw.Get("log", format::LogKey(position)));
    ASSERT_TRUE(record.ok());
    mutate(*record);
    raw.Put("log", format::LogKey(position),
            format::EncodeRecordValue(position, absl::ToUnixMicros(record->commit_time),
                                      record->stream_version, record->event_id, record->subject,
                                      record->payload, record->chain));
  }

  TempDir dir_;
  Head head_;
};

TEST_F(CorruptionTest, FlippedRecordByteIsDataLossOnEveryRead) {
  for (size_t offset : {size_t{0}, size_t{5}, size_t{20}}) {
    {
      RawDb raw(dir_.db_path());
      raw.FlipByte("log", format::LogKey(42), offset);
    }
    std::unique_ptr<Log> log = Reopen();  // not the tail: Open does not read it
    ASSERT_NE(log, nullptr);
    absl::Status read = log->ReadRecord(42).status();
    EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss);
    EXPECT_TRUE(Mentions(read, "position 42")) << read;
    EXPECT_EQ(log->ReadAll(40, 10, 1 << 20).status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(log->LeafData(42).status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(log->ReadStream("lot/0", 1, 100, 1 << 20).status().code(),
              absl::StatusCode::kDataLoss);  // 42 % 7 == 0
    EXPECT_EQ(log->Verify().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(log->InclusionProof(43, kRecords).status().code(), absl::StatusCode::kDataLoss);
    // Records before the damage are still served.
    EXPECT_EQ(log->ReadAll(0, 42, 1 << 20)->size(), 42u);
    log.reset();
    RawDb raw(dir_.db_path());
    raw.FlipByte("log", format::LogKey(42), offset);  // repair for the next offset
  }
}

TEST_F(CorruptionTest, RecordCopiedUnderAnotherPositionFailsItsChecksum) {
  {
    RawDb raw(dir_.db_path());
    raw.Put("log", format::LogKey(8), raw.Get("log", format::LogKey(7)));
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->ReadRecord(8).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, MissingRecordIsDataLossNotAShortRead) {
  {
    RawDb raw(dir_.db_path());
    raw.Delete("log", format::LogKey(30));
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  absl::Status status = log->ReadAll(0, 1000, 1 << 30).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Mentions(status, "position 30")) << status;
  EXPECT_EQ(log->ReadRecord(30).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(log->Verify().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, CorruptTailRecordFailsOpen) {
  {
    RawDb raw(dir_.db_path());
    raw.FlipByte("log", format::LogKey(kRecords - 1), 3);
  }
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, TruncatedLogFailsOpen) {
  {
    RawDb raw(dir_.db_path());
    raw.Delete("log", format::LogKey(kRecords - 1));
  }
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, ForgedPayloadWithValidChecksumBreaksTheChainInVerify) {
  Forge(10, [](Record& record) { record.payload = "a different history"; });
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  const absl::Status status = log->Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Mentions(status, "position 10")) << status;
  // Verify(from) rebuilds the Merkle frontier at `from` from stored nodes plus the records of the
  // partial 16-leaf block below `from`, so the forgery is visible from 11 but not from 16.
  EXPECT_EQ(log->Verify(11).code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(log->Verify(16).ok());
}

TEST_F(CorruptionTest, ForgedChainValueIsCaughtByVerify) {
  Forge(50, [](Record& record) { record.chain[7] ^= 0x10; });
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Verify().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, ForgedTailChainFailsOpen) {
  Forge(kRecords - 1, [](Record& record) { record.chain[0] ^= 0x01; });
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, ForgedTailPayloadFailsOpen) {
  Forge(kRecords - 1, [](Record& record) { record.payload += "!"; });
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, CorruptFrontierMerkleNodeFailsOpen) {
  {
    RawDb raw(dir_.db_path());
    raw.FlipByte("merkle", format::MerkleKey(6, 0), 0);  // leaves [0, 64): on the right edge
  }
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, MissingMerkleNodeFailsOpen) {
  {
    RawDb raw(dir_.db_path());
    raw.Delete("merkle", format::MerkleKey(5, 2));  // leaves [64, 96)
  }
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, CorruptInteriorMerkleNodeIsCaughtByVerify) {
  {
    RawDb raw(dir_.db_path());
    raw.FlipByte("merkle", format::MerkleKey(4, 1), 31);  // leaves [16, 32), inside [0, 64)
  }
  std::unique_ptr<Log> log = Reopen();  // the right edge is intact
  ASSERT_NE(log, nullptr);
  const absl::Status status = log->Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Mentions(status, "level 4 index 1")) << status;
}

TEST_F(CorruptionTest, CorruptMetaHeadFailsOpen) {
  {
    RawDb raw(dir_.db_path());
    raw.FlipByte("default", format::kHeadKey, 10);
  }
  EXPECT_EQ(ReopenStatus().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, EventIdIndexPointingElsewhereIsCaughtByVerify) {
  {
    RawDb raw(dir_.db_path());
    raw.Put("ids", format::IdKey("event-20"), format::EncodePositions({21}));
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Verify().code(), absl::StatusCode::kDataLoss);
  // Readers confirm the id against the record, so the damage never yields a wrong position.
  EXPECT_FALSE(log->FindEventId("event-20")->has_value());
  EXPECT_EQ(log->FindEventId("event-21")->value_or(0), 21u);
}

TEST_F(CorruptionTest, MalformedEventIdIndexValueIsDataLoss) {
  {
    RawDb raw(dir_.db_path());
    raw.Put("ids", format::IdKey("event-20"), "\xff");
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->FindEventId("event-20").status().code(), absl::StatusCode::kDataLoss);
}

// Event ids are indexed by 8 bytes of their SHA-256. Two ids sharing a key (simulated here by
// listing event-3's position under the key of a new id) must both stay findable and unique.
TEST_F(CorruptionTest, EventIdsSharingAnIndexKeyAreBothFound) {
  {
    RawDb raw(dir_.db_path());
    raw.Put("ids", format::IdKey("newcomer"), format::EncodePositions({3}));
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(log->FindEventId("newcomer")->has_value());
  ASSERT_TRUE(testing::AppendGroup(*log, {MakeRecord("newcomer", "s", "")}, TestTime(1000)).ok());
  EXPECT_EQ(log->FindEventId("newcomer")->value_or(0), kRecords);
  EXPECT_EQ(log->FindEventId("event-3")->value_or(0), 3u);
  std::unique_ptr<Txn> txn = log->BeginTxn();
  EXPECT_EQ(txn->Append(MakeRecord("newcomer", "s", "")).status().code(),
            absl::StatusCode::kAlreadyExists);
  txn.reset();
  log.reset();
  {
    RawDb raw(dir_.db_path());
    EXPECT_EQ(raw.Get("ids", format::IdKey("newcomer")), format::EncodePositions({3, kRecords}));
  }
  log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->Verify().ok());
}

TEST_F(CorruptionTest, StreamIndexPointingAtAnotherStreamIsDataLoss) {
  {
    RawDb raw(dir_.db_path());
    raw.Put("streams", format::StreamKey("lot/0", 2), format::EncodePosition(8));  // lot/1
  }
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->ReadStream("lot/0", 1, 100, 1 << 20).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(log->Verify().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CorruptionTest, UndamagedLogStillVerifiesAfterReopen) {
  std::unique_ptr<Log> log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->GetHead().root, head_.root);
  EXPECT_TRUE(log->Verify().ok());
}

}  // namespace
}  // namespace lodestone::storage
