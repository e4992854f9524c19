// Log: appends, reads, indexes, state, savepoints, reopen, format version, concurrency.
#include "storage/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/crc32c.h"
#include "storage/format.h"
#include "storage/log_internal.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

using testing::AppendGroup;
using testing::MakeRecord;
using testing::RawDb;
using testing::TempDir;
using testing::TestOptions;
using testing::TestTime;

std::unique_ptr<Log> OpenOrDie(const LogOptions& options) {
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

TEST(Crc32cTest, MatchesPublishedCastagnoliVectors) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c::Value(ascending), 0x46DD794Eu);
  // Extend is the CRC of the concatenation, however the input is split.
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t split = 0; split <= text.size(); ++split) {
    EXPECT_EQ(crc32c::Extend(crc32c::Value(text.substr(0, split)), text.substr(split)),
              crc32c::Value(text));
  }
}

std::string Hex(const Hash& hash) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

// The worked example of FORMAT.md, section "Worked example": if this fails, either the code or
// the document is wrong, and outside verifiers follow the document.
TEST(FormatTest, LeafBytesHashesChainAndRootMatchTheWorkedExampleInFormatMd) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("e0", "lot/a", "p0"), MakeRecord("e1", "lot/b", "p1")},
                          absl::FromUnixMicros(1735689600000000))
                  .ok());
  // clang-format off
  EXPECT_EQ(absl::BytesToHexString(*log->LeafData(0)),
            "01"                           // leaf format
            "0000000000000000"             // position 0
            "00062a99ba0c6000"             // commit time 1735689600000000 us
            "0000000000000001"             // stream version 1
            "00000002" "6530"              // "e0"
            "00000005" "6c6f742f61"        // "lot/a"
            "00000002" "7030");            // "p0"
  // clang-format on
  EXPECT_EQ(Hex(LeafHash(*log->LeafData(0))),
            "47875f99f9a244c1ba00f5a70a546f5e69d008628764a0a6fea459640850034f");
  EXPECT_EQ(Hex(log->ReadRecord(0)->chain),
            "694246308ddac55d50f1f57611f0b45c8c82c00b9d5bd9f414cc2bfbf397f000");
  EXPECT_EQ(Hex(LeafHash(*log->LeafData(1))),
            "9cfe1da67f3c354f97e92c3976af9315a79465b119ea6265c6cb1770210b8213");
  EXPECT_EQ(Hex(log->GetHead().chain),
            "11f52ac264d13b26285dfe84cc9f847ccb8e5c06a8e7d1c62fc37a9e8ba17813");
  EXPECT_EQ(Hex(log->GetHead().root),
            "1037864039e939be6dec17bbc9547f4ac4174dd37dabb1e5b878d131e2632901");
  EXPECT_EQ(Hex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(FormatTest, LeafBytesDecodeToTheRecordAndRefuseAnythingElse) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("e0", "lot/a", "p0"), MakeRecord("e1", "lot/a", "")},
                          absl::FromUnixMicros(1735689600000001))
                  .ok());
  for (uint64_t position : {0, 1}) {
    auto leaf = log->LeafData(position);
    ASSERT_TRUE(leaf.ok());
    auto record = format::DecodeLeafData(*leaf);
    ASSERT_TRUE(record.ok()) << record.status();
    auto stored = log->ReadRecord(position);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(record->position, position);
    EXPECT_EQ(record->stream_version, position + 1);
    EXPECT_EQ(record->commit_time, stored->commit_time);
    EXPECT_EQ(record->event_id, stored->event_id);
    EXPECT_EQ(record->subject, "lot/a");
    EXPECT_EQ(record->payload, stored->payload);
    EXPECT_EQ(format::EncodeLeafData(*record), *leaf);
    // Every truncation, a trailing byte and another format tag are refused.
    for (size_t n = 0; n < leaf->size(); ++n) {
      EXPECT_EQ(format::DecodeLeafData(leaf->substr(0, n)).status().code(),
                absl::StatusCode::kDataLoss)
          << n;
    }
    EXPECT_EQ(format::DecodeLeafData(*leaf + "x").status().code(), absl::StatusCode::kDataLoss);
    std::string other = *leaf;
    other[0] = 0x02;
    EXPECT_EQ(format::DecodeLeafData(other).status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(LogTest, EmptyLogHasEmptyRootAndNoRecords) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_NE(log, nullptr);
  const Head head = log->GetHead();
  EXPECT_EQ(head.size, 0u);
  EXPECT_EQ(head.root, EmptyRoot());
  EXPECT_EQ(head.chain, Hash{});
  EXPECT_EQ(*log->RootAt(0), EmptyRoot());
  EXPECT_EQ(log->RootAt(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(log->ReadAll(0, 10, 1 << 20)->empty());
  EXPECT_EQ(log->ReadRecord(0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*log->StreamVersion("lot/1"), 0u);
  EXPECT_FALSE(log->FindEventId("e1")->has_value());
  EXPECT_TRUE(log->Verify().ok());
}

TEST(LogTest, AppendAssignsDensePositionsAndPerSubjectVersions) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::unique_ptr<Txn> txn = log->BeginTxn();
  EXPECT_EQ(*txn->Append(MakeRecord("e0", "lot/a", "p0")), std::make_pair(0ul, 1ul));
  EXPECT_EQ(*txn->Append(MakeRecord("e1", "lot/b", "p1")), std::make_pair(1ul, 1ul));
  EXPECT_EQ(*txn->Append(MakeRecord("e2", "lot/a", "p2")), std::make_pair(2ul, 2ul));
  EXPECT_EQ(txn->staged_records(), 3u);
  EXPECT_EQ(*txn->StreamVersion("lot/a"), 2u);
  // Staged records are invisible to readers of the Log until Commit.
  EXPECT_EQ(log->GetHead().size, 0u);
  EXPECT_EQ(*log->StreamVersion("lot/a"), 0u);
  ASSERT_TRUE(log->Commit(*txn, TestTime(1)).ok());
  EXPECT_EQ(txn->staged_records(), 0u);

  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("e3", "lot/b", "p3")}, TestTime(2)).ok());
  const Head head = log->GetHead();
  EXPECT_EQ(head.size, 4u);
  EXPECT_EQ(head.time, TestTime(2));
  absl::StatusOr<std::vector<Record>> all = log->ReadAll(0, 100, 1 << 20);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 4u);
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"lot/a", 1}, {"lot/b", 1}, {"lot/a", 2}, {"lot/b", 2}};
  for (size_t i = 0; i < all->size(); ++i) {
    const Record& record = (*all)[i];
    EXPECT_EQ(record.position, i);
    EXPECT_EQ(record.event_id, "e" + std::to_string(i));
    EXPECT_EQ(record.payload, "p" + std::to_string(i));
    EXPECT_EQ(record.subject, want[i].first);
    EXPECT_EQ(record.stream_version, want[i].second);
    EXPECT_EQ(record.commit_time, i < 3 ? TestTime(1) : TestTime(2));
  }
  EXPECT_EQ((*all)[3].chain, head.chain);
  EXPECT_EQ(*log->StreamVersion("lot/a"), 2u);
  EXPECT_EQ(*log->StreamVersion("lot/b"), 2u);
  EXPECT_EQ(*log->StreamVersion("lot/c"), 0u);
  EXPECT_EQ(log->FindEventId("e2")->value_or(99), 2u);
  EXPECT_FALSE(log->FindEventId("e9")->has_value());
  EXPECT_TRUE(log->Verify().ok());
}

TEST(LogTest, SubjectsThatArePrefixesOfEachOtherKeepSeparateVersions) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  const std::string with_nul("a\0b", 3);
  ASSERT_TRUE(AppendGroup(*log,
                          {MakeRecord("1", "a", ""), MakeRecord("2", with_nul, ""),
                           MakeRecord("3", "ab", ""), MakeRecord("4", "a", "")},
                          TestTime(1))
                  .ok());
  EXPECT_EQ(*log->StreamVersion("a"), 2u);
  EXPECT_EQ(*log->StreamVersion(with_nul), 1u);
  EXPECT_EQ(*log->StreamVersion("ab"), 1u);
  absl::StatusOr<std::vector<Record>> a = log->ReadStream("a", 1, 10, 1 << 20);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].event_id, "1");
  EXPECT_EQ((*a)[1].event_id, "4");
}

TEST(LogTest, ReadAllStopsAtRecordAndByteLimitsButReturnsAtLeastOne) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::vector<RecordInput> records;
  for (int i = 0; i < 10; ++i) {
    records.push_back(MakeRecord("e" + std::to_string(i), "s", std::string(1000, 'x')));
  }
  ASSERT_TRUE(AppendGroup(*log, records, TestTime(1)).ok());
  EXPECT_EQ(log->ReadAll(0, 3, 1 << 20)->size(), 3u);
  EXPECT_EQ(log->ReadAll(8, 100, 1 << 20)->size(), 2u);
  EXPECT_EQ(log->ReadAll(10, 100, 1 << 20)->size(), 0u);
  EXPECT_EQ(log->ReadAll(0, 0, 1 << 20)->size(), 0u);
  EXPECT_EQ(log->ReadAll(4, 100, 1)->size(), 1u);  // one record even above max_bytes
  constexpr size_t kAboutThreeRecords = 3 * 1100;  // max_bytes is approximate per record
  absl::StatusOr<std::vector<Record>> page = log->ReadAll(2, 100, kAboutThreeRecords);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 3u);
  EXPECT_EQ(page->front().position, 2u);
}

TEST(LogTest, ReadStreamPagesByVersion) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  for (int group = 0; group < 5; ++group) {
    std::vector<RecordInput> records;
    for (int i = 0; i < 4; ++i) {
      const int n = group * 4 + i;
      records.push_back(MakeRecord("e" + std::to_string(n), n % 2 ? "odd" : "even", "x"));
    }
    ASSERT_TRUE(AppendGroup(*log, records, TestTime(group)).ok());
  }
  std::vector<uint64_t> positions;
  uint64_t next_version = 1;
  for (;;) {
    absl::StatusOr<std::vector<Record>> page = log->ReadStream("odd", next_version, 3, 1 << 20);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    EXPECT_LE(page->size(), 3u);
    for (const Record& record : *page) {
      EXPECT_EQ(record.subject, "odd");
      EXPECT_EQ(record.stream_version, next_version++);
      positions.push_back(record.position);
    }
  }
  EXPECT_EQ(positions, (std::vector<uint64_t>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19}));
  EXPECT_TRUE(log->ReadStream("none", 1, 10, 1 << 20)->empty());
  EXPECT_EQ(log->ReadStream("even", 0, 10, 1 << 20)->front().stream_version, 1u);
}

TEST(LogTest, StateWritesBecomeVisibleAtomicallyWithTheRecords) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::unique_ptr<Txn> txn = log->BeginTxn();
  ASSERT_TRUE(txn->Append(MakeRecord("e0", "lot/1", "created")).ok());
  txn->PutState("lot/1/mass", "1000");
  txn->PutState("lot/1/tmp", "x");
  txn->DeleteState("lot/1/tmp");
  EXPECT_EQ(txn->GetState("lot/1/mass")->value_or(""), "1000");
  EXPECT_FALSE(txn->GetState("lot/1/tmp")->has_value());
  EXPECT_FALSE(log->GetState("lot/1/mass")->has_value());  // not committed yet
  ASSERT_TRUE(log->Commit(*txn, TestTime(1)).ok());
  EXPECT_EQ(log->GetState("lot/1/mass")->value_or(""), "1000");
  EXPECT_FALSE(log->GetState("lot/1/tmp")->has_value());
  EXPECT_EQ(log->GetHead().size, 1u);

  // A state-only commit changes the state but not the head.
  std::unique_ptr<Txn> second = log->BeginTxn();
  second->PutState("lot/1/mass", "900");
  second->DeleteState("missing");
  ASSERT_TRUE(log->Commit(*second, TestTime(2)).ok());
  EXPECT_EQ(log->GetState("lot/1/mass")->value_or(""), "900");
  EXPECT_EQ(log->GetHead().size, 1u);
}

TEST(LogTest, RolledBackSavepointLeavesNoTrace) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("base", "lot/1", "")}, TestTime(0)).ok());
  std::unique_ptr<Txn> txn = log->BeginTxn();
  txn->PutState("k", "kept");
  ASSERT_TRUE(txn->Append(MakeRecord("kept", "lot/1", "")).ok());

  txn->SetSavePoint();
  ASSERT_TRUE(txn->Append(MakeRecord("gone1", "lot/1", "")).ok());
  ASSERT_TRUE(txn->Append(MakeRecord("gone2", "lot/2", "")).ok());
  txn->PutState("k", "overwritten");
  txn->PutState("new", "v");
  txn->SetSavePoint();  // nested, popped: its writes belong to the outer savepoint
  ASSERT_TRUE(txn->Append(MakeRecord("gone3", "lot/1", "")).ok());
  txn->DeleteState("k");
  txn->PopSavePoint();
  EXPECT_EQ(*txn->StreamVersion("lot/1"), 4u);
  txn->RollbackToSavePoint();

  EXPECT_EQ(txn->staged_records(), 1u);
  EXPECT_EQ(*txn->StreamVersion("lot/1"), 2u);
  EXPECT_EQ(*txn->StreamVersion("lot/2"), 0u);
  EXPECT_FALSE(txn->FindEventId("gone1")->has_value());
  EXPECT_FALSE(txn->FindEventId("gone3")->has_value());
  EXPECT_EQ(txn->GetState("k")->value_or(""), "kept");
  EXPECT_FALSE(txn->GetState("new")->has_value());
  EXPECT_EQ(txn->ReadRecord(2).status().code(), absl::StatusCode::kOutOfRange);

  // The rolled-back ids can be staged again and take the freed positions.
  EXPECT_EQ(*txn->Append(MakeRecord("gone1", "lot/2", "")), std::make_pair(2ul, 1ul));
  ASSERT_TRUE(log->Commit(*txn, TestTime(1)).ok());
  absl::StatusOr<std::vector<Record>> all = log->ReadAll(0, 10, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].event_id, "kept");
  EXPECT_EQ((*all)[2].event_id, "gone1");
  EXPECT_FALSE(log->FindEventId("gone2")->has_value());
  EXPECT_FALSE(log->GetState("new")->has_value());
  EXPECT_EQ(log->GetState("k")->value_or(""), "kept");
  EXPECT_TRUE(log->Verify().ok());
}

TEST(LogTest, TxnReadsSeeStagedAndCommittedRecords) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("e0", "s", "committed")}, TestTime(0)).ok());
  std::unique_ptr<Txn> txn = log->BeginTxn();
  ASSERT_TRUE(txn->Append(MakeRecord("e1", "s", "staged")).ok());
  EXPECT_EQ(txn->ReadRecord(0)->payload, "committed");
  absl::StatusOr<Record> staged = txn->ReadRecord(1);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->payload, "staged");
  EXPECT_EQ(staged->stream_version, 2u);
  EXPECT_EQ(staged->commit_time, absl::InfiniteFuture());
  EXPECT_EQ(txn->FindEventId("e0")->value_or(99), 0u);
  EXPECT_EQ(txn->FindEventId("e1")->value_or(99), 1u);
}

TEST(LogTest, DuplicateEventIdIsAlreadyExistsWhetherStagedOrCommitted) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("dup", "s", "")}, TestTime(0)).ok());
  std::unique_ptr<Txn> txn = log->BeginTxn();
  EXPECT_EQ(txn->Append(MakeRecord("dup", "t", "")).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(txn->Append(MakeRecord("fresh", "t", "")).ok());
  EXPECT_EQ(txn->Append(MakeRecord("fresh", "u", "")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(txn->staged_records(), 1u);
  ASSERT_TRUE(log->Commit(*txn, TestTime(1)).ok());
  EXPECT_EQ(log->GetHead().size, 2u);
}

TEST(LogTest, EmptyOrOversizedFieldsAreInvalidArgument) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::unique_ptr<Txn> txn = log->BeginTxn();
  const std::string longest(kMaxIdBytes, 'i');
  const std::string too_long(kMaxIdBytes + 1, 'i');
  for (const RecordInput& bad : {MakeRecord("", "s", ""), MakeRecord("e", "", ""),
                                 MakeRecord(too_long, "s", ""), MakeRecord("e", too_long, ""),
                                 MakeRecord("e", "s", std::string(kMaxPayloadBytes + 1, 'p'))}) {
    EXPECT_EQ(txn->Append(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(txn->staged_records(), 0u);
  // The limits themselves are accepted, and an empty payload is allowed.
  ASSERT_TRUE(txn->Append(MakeRecord(longest, longest, std::string(kMaxPayloadBytes, 'p'))).ok());
  ASSERT_TRUE(txn->Append(MakeRecord("e", "s", "")).ok());
  ASSERT_TRUE(log->Commit(*txn, TestTime(1)).ok());
  EXPECT_EQ(log->ReadRecord(0)->payload.size(), kMaxPayloadBytes);
  EXPECT_TRUE(log->Verify().ok());
}

TEST(LogTest, CommitOfTxnBegunBeforeAnotherCommitIsRefused) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::unique_ptr<Txn> stale = log->BeginTxn();
  ASSERT_TRUE(stale->Append(MakeRecord("a", "s", "")).ok());
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("b", "s", "")}, TestTime(0)).ok());
  EXPECT_EQ(log->Commit(*stale, TestTime(1)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->GetHead().size, 1u);
  // The Log is not failed by it.
  EXPECT_TRUE(AppendGroup(*log, {MakeRecord("c", "s", "")}, TestTime(2)).ok());
}

TEST(LogTest, ReopenResumesHeadRootChainAndPositions) {
  TempDir dir;
  Head before;
  {
    auto log = OpenOrDie(TestOptions(dir));
    for (int group = 0; group < 13; ++group) {
      std::vector<RecordInput> records;
      for (int i = 0; i <= group; ++i) {
        records.push_back(
            MakeRecord(absl::StrCat("g", group, "-", i), "s" + std::to_string(i), "payload"));
      }
      ASSERT_TRUE(AppendGroup(*log, records, TestTime(group)).ok());
    }
    std::unique_ptr<Txn> txn = log->BeginTxn();
    txn->PutState("cursor", "91");
    ASSERT_TRUE(log->Commit(*txn, TestTime(99)).ok());
    before = log->GetHead();
    EXPECT_EQ(before.size, 91u);
  }
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_NE(log, nullptr);
  const Head after = log->GetHead();
  EXPECT_EQ(after.size, before.size);
  EXPECT_EQ(after.root, before.root);
  EXPECT_EQ(after.chain, before.chain);
  EXPECT_EQ(after.time, before.time);
  EXPECT_EQ(log->GetState("cursor")->value_or(""), "91");
  EXPECT_EQ(*log->StreamVersion("s0"), 13u);
  EXPECT_TRUE(log->Verify().ok());

  std::unique_ptr<Txn> txn = log->BeginTxn();
  EXPECT_EQ(*txn->Append(MakeRecord("next", "s0", "")), std::make_pair(91ul, 14ul));
  EXPECT_EQ(txn->Append(MakeRecord("g0-0", "s0", "")).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(log->Commit(*txn, TestTime(100)).ok());
  EXPECT_EQ(log->GetHead().size, 92u);
  EXPECT_TRUE(log->Verify().ok());
  EXPECT_TRUE(log->Verify(50).ok());
}

TEST(LogTest, OpenCreatesTheDirectoryAndItsMissingParents) {
  TempDir dir;
  LogOptions options = TestOptions(dir);
  options.path = dir.path() + "/not/yet/there/ledger";
  auto log = Log::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendGroup(**log, {MakeRecord("e", "s", "")}, TestTime(0)).ok());
  EXPECT_TRUE(std::filesystem::is_directory(options.path));
}

TEST(LogTest, AFileInTheWayOfTheDirectoryIsFailedPreconditionNamingIt) {
  TempDir dir;
  { std::ofstream(dir.path() + "/blocker") << "a file, not a directory"; }
  LogOptions options = TestOptions(dir);
  options.path = dir.path() + "/blocker/ledger";
  auto log = Log::Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition) << log.status();
  EXPECT_NE(log.status().message().find(options.path), std::string::npos) << log.status();
  EXPECT_NE(log.status().message().find("blocker"), std::string::npos) << log.status();
}

TEST(LogTest, UnknownFormatVersionIsFailedPrecondition) {
  TempDir dir;
  {
    auto log = OpenOrDie(TestOptions(dir));
    ASSERT_TRUE(AppendGroup(*log, {MakeRecord("e", "s", "")}, TestTime(0)).ok());
  }
  {
    RawDb raw(dir.db_path());
    raw.Put("default", format::kFormatVersionKey, format::EncodeFormatVersion(2));
  }
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(dir));
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition) << log.status();
  {
    RawDb raw(dir.db_path());
    raw.Put("default", format::kFormatVersionKey, "garbage");
  }
  EXPECT_EQ(Log::Open(TestOptions(dir)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LogTest, DatabaseWithDataButNoFormatVersionIsFailedPrecondition) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.db_path(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "someone", "else's data").ok());
    delete db;
  }
  EXPECT_EQ(Log::Open(TestOptions(dir)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LogTest, CommitListenerSeesEveryNewHead) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  std::vector<Head> heads;
  log->SetCommitListener([&](const Head& head) { heads.push_back(head); });
  ASSERT_TRUE(
      AppendGroup(*log, {MakeRecord("a", "s", ""), MakeRecord("b", "s", "")}, TestTime(1)).ok());
  std::unique_ptr<Txn> state_only = log->BeginTxn();
  state_only->PutState("k", "v");
  ASSERT_TRUE(log->Commit(*state_only, TestTime(2)).ok());
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("c", "s", "")}, TestTime(3)).ok());
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].size, 2u);
  EXPECT_EQ(heads[1].size, 3u);
  EXPECT_EQ(heads[1].root, log->GetHead().root);
}

// Readers running while a committer appends must only ever see published, self-consistent
// state: a dense prefix of records, a root that matches the head they saw.
TEST(LogTest, ConcurrentReadersNeverSeeBeyondThePublishedHead) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  constexpr int kGroups = 400;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const Head head = log->GetHead();
        absl::StatusOr<Hash> root = log->RootAt(head.size);
        if (!root.ok() || *root != head.root) ++failures;
        absl::StatusOr<std::vector<Record>> all = log->ReadAll(0, 100000, size_t{1} << 30);
        if (!all.ok()) {
          ++failures;
          continue;
        }
        for (size_t i = 0; i < all->size(); ++i) {
          if ((*all)[i].position != i) ++failures;
        }
        const Head after = log->GetHead();
        if (all->size() < head.size || all->size() > after.size) ++failures;
        if (after.size > 0) {
          absl::StatusOr<std::vector<Hash>> proof = log->InclusionProof(after.size - 1, after.size);
          if (!proof.ok()) ++failures;
        }
      }
    });
  }
  for (int group = 0; group < kGroups; ++group) {
    std::vector<RecordInput> records;
    for (int i = 0; i < 3; ++i) {
      records.push_back(MakeRecord(absl::StrCat(group, "/", i), "s", "x"));
    }
    ASSERT_TRUE(AppendGroup(*log, records, TestTime(group)).ok());
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->GetHead().size, 3u * kGroups);
}

// A file system whose write-ahead-log writes fail while `fail` is set, as a full or dying disk.
class WalFailingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  WalFailingFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "WalFailingFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, file, debug);
    if (status.ok() && name.ends_with(".log")) {
      *file = std::make_unique<FailingFile>(std::move(*file), &fail);
    }
    return status;
  }

  std::atomic<bool> fail{false};

 private:
  class FailingFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    FailingFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* fail)
        : FSWritableFileOwnerWrapper(std::move(file)), fail_(fail) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      if (fail_->load()) return rocksdb::IOStatus::IOError("injected WAL write failure");
      return target()->Append(data, options, debug);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* debug) override {
      if (fail_->load()) return rocksdb::IOStatus::IOError("injected WAL write failure");
      return target()->Append(data, options, info, debug);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
      if (fail_->load()) return rocksdb::IOStatus::IOError("injected WAL sync failure");
      return target()->Sync(options, debug);
    }

   private:
    std::atomic<bool>* fail_;
  };
};

TEST(LogTest, FailedWriteFailsEveryLaterCommitAndPublishesNothing) {
  TempDir dir;
  auto file_system = std::make_shared<WalFailingFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(file_system);
  LogOptions options = TestOptions(dir);
  options.sync = true;
  Head good;
  {
    absl::StatusOr<std::unique_ptr<Log>> opened = OpenWithEnv(options, env.get());
    ASSERT_TRUE(opened.ok()) << opened.status();
    Log& log = **opened;
    int listener_calls = 0;
    log.SetCommitListener([&](const Head&) { ++listener_calls; });
    ASSERT_TRUE(AppendGroup(log, {MakeRecord("a", "s", "")}, TestTime(1)).ok());
    good = log.GetHead();

    file_system->fail = true;
    const absl::Status failed = AppendGroup(log, {MakeRecord("b", "s", "")}, TestTime(2));
    EXPECT_FALSE(failed.ok());
    EXPECT_EQ(log.GetHead().size, good.size);
    EXPECT_EQ(log.GetHead().root, good.root);
    EXPECT_FALSE(log.FindEventId("b")->has_value());
    EXPECT_EQ(log.ReadAll(0, 10, 1 << 20)->size(), 1u);
    EXPECT_EQ(listener_calls, 1);

    file_system->fail = false;  // the disk recovers, but this Log stays failed
    EXPECT_EQ(AppendGroup(log, {MakeRecord("c", "s", "")}, TestTime(3)), failed);
    EXPECT_EQ(log.GetHead().size, good.size);
  }
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->GetHead().size, good.size);
  EXPECT_EQ(log->GetHead().root, good.root);
  EXPECT_TRUE(log->Verify().ok());
  EXPECT_TRUE(AppendGroup(*log, {MakeRecord("b", "s", "")}, TestTime(4)).ok());
  EXPECT_EQ(log->GetHead().size, good.size + 1);
}

TEST(LogTest, StatsReportMemtableAndCache) {
  TempDir dir;
  auto log = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(AppendGroup(*log, {MakeRecord("a", "s", std::string(1000, 'x'))}, TestTime(1)).ok());
  const Log::Stats stats = log->GetStats();
  EXPECT_GT(stats.memtable_bytes, 0u);
}

}  // namespace
}  // namespace lodestone::storage
