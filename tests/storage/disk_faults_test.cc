// The disk misbehaves: it fills up (ENOSPC), or a byte of an SST file or of the write-ahead
// log flips. A full disk refuses appends with RESOURCE_EXHAUSTED, keeps reads working and lets
// writes resume once there is space; a flipped byte is DATA_LOSS, never served as valid data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"
#include "storage/fault_injection_fs.h"
#include "storage/group_commit.h"
#include "storage/log.h"
#include "storage/log_internal.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

namespace fs = std::filesystem;
using testing::AppendGroup;
using testing::MakeRecord;
using testing::TempDir;
using testing::TestTime;

std::vector<RecordInput> Records(int group, int count) {
  std::vector<RecordInput> records;
  for (int i = 0; i < count; ++i) {
    records.push_back(MakeRecord(absl::StrCat("g", group, "-", i), absl::StrCat("s", i % 3),
                                 std::string(100 + i, static_cast<char>('a' + group % 26))));
  }
  return records;
}

// A durable log on a file system that can fill up or lose power.
class DiskFullTest : public ::testing::Test {
 protected:
  DiskFullTest() {
    options_ = testing::TestOptions(dir_);
    options_.sync = true;
    options_.env = env_.get();
  }

  TempDir dir_;
  std::shared_ptr<FaultInjectionFileSystem> file_system_ =
      std::make_shared<FaultInjectionFileSystem>();
  std::unique_ptr<rocksdb::Env> env_ = NewFaultInjectionEnv(file_system_);
  LogOptions options_;
};

TEST_F(DiskFullTest, AppendsAreRefusedReadsWorkAndWritesResumeWithSpace) {
  absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(options_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Log& log = **opened;
  GroupCommitter committer(log, GroupCommitOptions());
  auto append = [&](int group) {
    std::promise<absl::Status> done;
    const std::vector<RecordInput> records = Records(group, 3);
    absl::Status submitted = committer.Submit(
        [&](Txn& txn) -> absl::Status {
          for (const RecordInput& record : records) {
            if (auto appended = txn.Append(record); !appended.ok()) return appended.status();
          }
          return absl::OkStatus();
        },
        [&](absl::Status status) { done.set_value(std::move(status)); });
    if (!submitted.ok()) return submitted;
    return done.get_future().get();
  };
  ASSERT_TRUE(append(0).ok());
  ASSERT_TRUE(append(1).ok());
  const Head before = log.GetHead();
  EXPECT_TRUE(log.WriteFailure().ok());

  file_system_->SetDiskFull(true);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const absl::Status refused = append(2);
    EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
    EXPECT_TRUE(absl::IsResourceExhausted(log.WriteFailure())) << log.WriteFailure();
  }
  // The log stays readable. (A flush that fails for lack of space is not covered: RocksDB 7.8
  // then refuses to resume and the Log reports FAILED_PRECONDITION, "reopen it".)
  EXPECT_EQ(log.GetHead().size, before.size);
  EXPECT_EQ(log.GetHead().root, before.root);
  absl::StatusOr<std::vector<Record>> all = log.ReadAll(0, 100, 1 << 20);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 6u);
  EXPECT_FALSE(log.FindEventId("g2-0")->has_value());
  EXPECT_TRUE(log.InclusionProof(5, 6).ok());
  EXPECT_TRUE(log.Verify().ok());

  file_system_->SetDiskFull(false);  // space is back
  const absl::Status resumed = append(2);
  ASSERT_TRUE(resumed.ok()) << resumed;
  EXPECT_TRUE(log.WriteFailure().ok());
  ASSERT_TRUE(append(3).ok());
  EXPECT_EQ(log.GetHead().size, 12u);
  EXPECT_EQ(**log.FindEventId("g2-0"), 6u);
  EXPECT_TRUE(log.Verify().ok());
  committer.Stop();
  opened->reset();

  // What was acknowledged survives a power cut after the episode.
  ASSERT_TRUE(file_system_->LosePower().ok());
  auto reopened = Log::Open(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->GetHead().size, 12u);
  EXPECT_TRUE((*reopened)->Verify().ok());
}

TEST_F(DiskFullTest, OtherWriteErrorsStillFailTheLog) {
  auto log = Log::Open(options_);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendGroup(**log, Records(0, 2), TestTime(1)).ok());
  file_system_->CutNow();  // an I/O error, not a full disk
  const absl::Status failed = AppendGroup(**log, Records(1, 2), TestTime(2));
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_EQ((*log)->WriteFailure(), failed);
  ASSERT_TRUE(file_system_->LosePower().ok());  // the disk works again; the Log stays failed
  EXPECT_EQ(AppendGroup(**log, Records(2, 2), TestTime(3)), failed);
  EXPECT_EQ((*log)->GetHead().size, 2u);
}

// The disk fills while RocksDB flushes: switching to a new WAL fails, which RocksDB 7.8 treats
// as fatal to the open database (it may have lost buffered WAL bytes). The Log says so at once
// (WriteFailure), refuses appends with RESOURCE_EXHAUSTED even after space returns (the
// message says to reopen), keeps serving reads, and a reopen recovers every acknowledged
// record and writes again.
TEST_F(DiskFullTest, AFullDiskDuringAFlushNeedsAReopen) {
  auto log = Log::Open(options_);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendGroup(**log, Records(0, 2), TestTime(1)).ok());
  ASSERT_TRUE(AppendGroup(**log, Records(1, 2), TestTime(2)).ok());
  const Head before = (*log)->GetHead();

  file_system_->SetDiskFull(true);
  const absl::Status flushed = CompactAll(**log);  // the flush a full memtable would start
  EXPECT_TRUE(absl::IsResourceExhausted(flushed)) << flushed;
  const absl::Status failure = (*log)->WriteFailure();  // known before any commit fails
  EXPECT_TRUE(absl::IsResourceExhausted(failure)) << failure;
  absl::Status refused = AppendGroup(**log, Records(2, 2), TestTime(3));
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;

  file_system_->SetDiskFull(false);  // space is back, but this database object cannot resume
  refused = AppendGroup(**log, Records(2, 2), TestTime(3));
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_NE(refused.message().find("reopen the log"), std::string_view::npos) << refused;
  EXPECT_EQ((*log)->WriteFailure(), refused);
  // Reads keep working.
  EXPECT_EQ((*log)->GetHead().size, before.size);
  EXPECT_EQ((*log)->GetHead().root, before.root);
  absl::StatusOr<std::vector<Record>> all = (*log)->ReadAll(0, 100, 1 << 20);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 4u);
  EXPECT_TRUE((*log)->InclusionProof(3, 4).ok());
  EXPECT_TRUE((*log)->Verify().ok());
  log->reset();

  // The power goes too, for good measure: a reopen has every acknowledged record and writes.
  ASSERT_TRUE(file_system_->LosePower().ok());
  auto reopened = Log::Open(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->GetHead().size, before.size);
  EXPECT_EQ((*reopened)->GetHead().root, before.root);
  EXPECT_TRUE((*reopened)->WriteFailure().ok());
  ASSERT_TRUE(AppendGroup(**reopened, Records(2, 2), TestTime(3)).ok());
  EXPECT_EQ((*reopened)->GetHead().size, 6u);
  EXPECT_TRUE((*reopened)->Verify().ok());
}

// Every record the log holds, in order, read back (with checksums) through every path a
// client uses; DATA_LOSS, or another error, as it comes.
absl::StatusOr<std::vector<Record>> ReadEverything(const Log& log) {
  if (absl::Status verified = log.Verify(); !verified.ok()) return verified;
  std::vector<Record> out;
  for (uint64_t from = 0; from < log.GetHead().size;) {
    absl::StatusOr<std::vector<Record>> page = log.ReadAll(from, 64, 1 << 20);
    if (!page.ok()) return page.status();
    for (Record& record : *page) out.push_back(std::move(record));
    from = out.size();
  }
  for (const Record& record : out) {
    absl::StatusOr<std::optional<uint64_t>> position = log.FindEventId(record.event_id);
    if (!position.ok()) return position.status();
    absl::StatusOr<std::vector<Record>> stream = log.ReadStream(record.subject, 1, 1000, 1 << 22);
    if (!stream.ok()) return stream.status();
  }
  // The stored Merkle nodes, which only proofs read.
  const uint64_t size = log.GetHead().size;
  for (uint64_t position = 0; position < size; ++position) {
    absl::StatusOr<std::vector<Hash>> inclusion = log.InclusionProof(position, size);
    if (!inclusion.ok()) return inclusion.status();
    absl::StatusOr<Hash> root = log.RootAt(position + 1);
    if (!root.ok()) return root.status();
  }
  return out;
}

struct Outcome {
  int detected = 0;   // DATA_LOSS at open or at a read
  int identical = 0;  // a byte nobody reads: every answer is the original one
  int tail_dropped = 0;
  int wrong = 0;  // served something else as valid: must never happen
};

bool SameRecords(const std::vector<Record>& a, const std::vector<Record>& b, size_t n) {
  if (a.size() < n || b.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (a[i].event_id != b[i].event_id || a[i].subject != b[i].subject ||
        a[i].payload != b[i].payload || a[i].chain != b[i].chain ||
        a[i].commit_time != b[i].commit_time || a[i].stream_version != b[i].stream_version) {
      return false;
    }
  }
  return true;
}

void FlipByte(const std::string& path, uint64_t offset, uint8_t mask) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ mask);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&byte, 1);
}

std::vector<std::string> FilesEndingWith(const std::string& directory, const std::string& suffix) {
  std::vector<std::string> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    if (entry.path().string().ends_with(suffix)) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Flips one bit at a random offset of a random file ending with `suffix` (in a fresh copy of
// `pristine` each time), opens the log and reads everything. `tail_from`: the offset where the
// last commit's WAL record starts (a damaged header there looks like a torn write).
Outcome FlipAndRead(const std::string& pristine, const std::string& scratch,
                    const std::string& suffix, const std::vector<Record>& expected, int trials,
                    uint64_t tail_from, std::mt19937_64& rng) {
  Outcome outcome;
  LogOptions options;
  options.block_cache_bytes = size_t{1} << 20;
  options.write_buffer_bytes = size_t{4} << 20;
  options.sync = false;
  for (int trial = 0; trial < trials; ++trial) {
    fs::remove_all(scratch);
    fs::copy(pristine, scratch, fs::copy_options::recursive);
    const std::vector<std::string> files = FilesEndingWith(scratch, suffix);
    EXPECT_FALSE(files.empty());
    if (files.empty()) return outcome;
    const std::string& file = files[rng() % files.size()];
    const uint64_t size = fs::file_size(file);
    const uint64_t offset = rng() % size;
    FlipByte(file, offset, static_cast<uint8_t>(1u << (rng() % 8)));
    options.path = scratch;
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(options);
    absl::StatusOr<std::vector<Record>> read =
        log.ok() ? ReadEverything(**log) : absl::StatusOr<std::vector<Record>>(log.status());
    const std::string where =
        absl::StrCat(fs::path(file).filename().string(), " offset ", offset, " of ", size);
    if (!read.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(read.status())) << where << ": " << read.status();
      ++outcome.detected;
    } else if (read->size() == expected.size() && SameRecords(*read, expected, expected.size())) {
      ++outcome.identical;
    } else if (offset >= tail_from && SameRecords(*read, expected, read->size())) {
      ++outcome.tail_dropped;  // the last commit's header: indistinguishable from a torn write
    } else {
      ADD_FAILURE() << where << ": served " << read->size() << " records as valid, "
                    << expected.size() << " expected";
      ++outcome.wrong;
    }
  }
  return outcome;
}

class FlippedByteTest : public ::testing::Test {
 protected:
  // A log of 40 commits of 5 records: in SST files when `flushed`, else only in the WAL.
  void Build(bool flushed) {
    LogOptions options = testing::TestOptions(dir_);
    options.sync = true;
    auto log = Log::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int group = 0; group < 40; ++group) {
      if (group == 39 && !flushed) {
        const std::vector<std::string> wals = FilesEndingWith(dir_.db_path(), ".log");
        ASSERT_EQ(wals.size(), 1u);
        tail_from_ = fs::file_size(wals[0]);
      }
      ASSERT_TRUE(AppendGroup(**log, Records(group, 5), TestTime(group)).ok());
    }
    if (flushed) {
      ASSERT_TRUE(CompactAll(**log).ok());
    }
    auto all = ReadEverything(**log);
    ASSERT_TRUE(all.ok()) << all.status();
    expected_ = *std::move(all);
  }

  TempDir dir_;
  TempDir scratch_;
  std::vector<Record> expected_;
  uint64_t tail_from_ = UINT64_MAX;
};

TEST_F(FlippedByteTest, InAnSstFileIsDataLoss) {
  ASSERT_NO_FATAL_FAILURE(Build(/*flushed=*/true));
  std::mt19937_64 rng(std::random_device{}());
  const Outcome outcome =
      FlipAndRead(dir_.db_path(), scratch_.db_path(), ".sst", expected_, 150, UINT64_MAX, rng);
  std::printf("SST bit flips: %d detected (DATA_LOSS), %d in bytes never read, %d served\n",
              outcome.detected, outcome.identical, outcome.wrong);
  EXPECT_EQ(outcome.wrong, 0);
  EXPECT_EQ(outcome.tail_dropped, 0);
  // Never read: mostly an SST's properties block (RocksDB 7.8 logs a bad one and opens the
  // table without it; reads do not need it), about 5% of the bytes of a file chosen at random
  // (small files weigh as much as large ones), so 6-10 of 150 flips. The bound leaves room for
  // chance, not for undetected damage: that would be `wrong`.
  EXPECT_GE(outcome.detected, 125);
}

TEST_F(FlippedByteTest, InTheWriteAheadLogIsDataLoss) {
  ASSERT_NO_FATAL_FAILURE(Build(/*flushed=*/false));
  std::mt19937_64 rng(std::random_device{}());
  const Outcome outcome =
      FlipAndRead(dir_.db_path(), scratch_.db_path(), ".log", expected_, 150, tail_from_, rng);
  std::printf(
      "WAL bit flips: %d detected (DATA_LOSS), %d in bytes never read, %d in the last record's "
      "header (dropped like a torn write), %d served\n",
      outcome.detected, outcome.identical, outcome.tail_dropped, outcome.wrong);
  EXPECT_EQ(outcome.wrong, 0);
  EXPECT_GE(outcome.detected, 140);
}

}  // namespace
}  // namespace lodestone::storage
