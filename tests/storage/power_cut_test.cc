// Power cuts, not kills: the log runs on a file system that drops every write not yet synced
// (storage/fault_injection_fs.h). Concurrent writers append through the group committer, the
// power goes at a random mutating file-system call (a WAL append or sync, a flush, a
// compaction, a MANIFEST update, recovery itself), the machine "reboots" and the log is opened
// again. After every restart: no acknowledged record is lost or changed, no request is partly
// there, and the chain, the Merkle root and proofs (checked by an independent verifier) hold.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"
#include "storage/fault_injection_fs.h"
#include "storage/group_commit.h"
#include "storage/log.h"
#include "storage/log_internal.h"
#include "storage/merkle.h"
#include "tests/storage/test_util.h"
#include "tests/support/rfc6962_verifier.h"

namespace lodestone::storage {
namespace {

using testing::TempDir;

std::string AsString(const Hash& hash) { return std::string(hash.begin(), hash.end()); }

std::vector<std::string> AsStrings(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& hash : hashes) out.push_back(AsString(hash));
  return out;
}

// One request: `records` records committed together or not at all.
struct Request {
  std::vector<RecordInput> records;
  bool acknowledged = false;
  uint64_t first_position = 0;  // when acknowledged
};

RecordInput RandomRecord(const std::string& id, std::mt19937_64& rng) {
  RecordInput record;
  record.event_id = id;
  record.subject = absl::StrCat("subject-", rng() % 16);
  record.payload.resize(16 + rng() % 200);
  for (char& c : record.payload) c = static_cast<char>(rng());
  return record;
}

struct Tally {
  uint64_t cuts = 0;
  uint64_t cuts_during_open = 0;
  uint64_t acknowledged_records = 0;
  uint64_t unacknowledged_present = 0;  // durable although the writer never heard so: allowed
  uint64_t checks = 0;                  // acknowledged records read back and compared
  uint64_t lost = 0;                    // acknowledged requests missing: must stay 0
  uint64_t partial = 0;                 // requests partly present: must stay 0
};

// Everything the previous restarts proved: the log's first `size` records are fixed.
struct Proven {
  uint64_t size = 0;
  Hash root = EmptyRoot();
};

// The records of `request` are all at consecutive positions with their exact contents, or
// none is in the log. Returns whether they are there.
bool ExpectAllOrNothing(const Log& log, const Request& request, Tally& tally) {
  size_t present = 0;
  uint64_t first = 0;
  for (size_t j = 0; j < request.records.size(); ++j) {
    absl::StatusOr<std::optional<uint64_t>> position = log.FindEventId(request.records[j].event_id);
    EXPECT_TRUE(position.ok()) << position.status();
    if (!position.ok() || !position->has_value()) continue;
    if (present == 0) first = **position - j;
    ++present;
    EXPECT_EQ(**position, first + j) << request.records[j].event_id;
    absl::StatusOr<Record> record = log.ReadRecord(**position);
    EXPECT_TRUE(record.ok()) << record.status();
    if (!record.ok()) continue;
    EXPECT_EQ(record->event_id, request.records[j].event_id);
    EXPECT_EQ(record->subject, request.records[j].subject);
    EXPECT_EQ(record->payload, request.records[j].payload);
    ++tally.checks;
  }
  if (present != 0 && present != request.records.size()) ++tally.partial;
  if (request.acknowledged && present != request.records.size()) ++tally.lost;
  EXPECT_TRUE(present == 0 || present == request.records.size())
      << "partial request: " << present << " of " << request.records.size() << " records of "
      << request.records[0].event_id;
  if (request.acknowledged) {
    EXPECT_EQ(present, request.records.size())
        << "acknowledged request lost: " << request.records[0].event_id;
    if (present > 0) {
      EXPECT_EQ(first, request.first_position) << request.records[0].event_id;
    }
  }
  return present == request.records.size();
}

// The restart checks: the proven prefix is unchanged (consistency proof), the new records
// chain and hash to the head (Verify), an acknowledged record is included (inclusion proof),
// and the requests of the last cycle are all there or not at all.
void CheckAfterRestart(const Log& log, Proven& proven, const std::vector<Request>& last_cycle,
                       Tally& tally) {
  const Head head = log.GetHead();
  ASSERT_GE(head.size, proven.size) << "the log shrank";
  absl::StatusOr<std::vector<Hash>> consistency = log.ConsistencyProof(proven.size, head.size);
  ASSERT_TRUE(consistency.ok()) << consistency.status();
  EXPECT_TRUE(lodestone::testing::VerifyConsistency(proven.size, head.size, AsString(proven.root),
                                                    AsString(head.root), AsStrings(*consistency)))
      << "the first " << proven.size << " records changed";
  absl::Status verified = log.Verify(proven.size);
  ASSERT_TRUE(verified.ok()) << verified;

  const Request* last_acknowledged = nullptr;
  for (const Request& request : last_cycle) {
    const bool present = ExpectAllOrNothing(log, request, tally);
    if (present && !request.acknowledged) ++tally.unacknowledged_present;
    if (request.acknowledged) last_acknowledged = &request;
  }
  if (last_acknowledged != nullptr) {
    const uint64_t position = last_acknowledged->first_position;
    absl::StatusOr<std::string> leaf = log.LeafData(position);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    absl::StatusOr<std::vector<Hash>> inclusion = log.InclusionProof(position, head.size);
    ASSERT_TRUE(inclusion.ok()) << inclusion.status();
    EXPECT_TRUE(lodestone::testing::VerifyInclusion(position, head.size,
                                                    lodestone::testing::RfcLeafHash(*leaf),
                                                    AsStrings(*inclusion), AsString(head.root)));
  }
  proven.size = head.size;
  proven.root = head.root;
}

// Writers append until the power goes (or a budget runs out, then it goes anyway).
std::vector<Request> AppendUntilCut(Log& log, FaultInjectionFileSystem& fs, int cycle,
                                    std::mt19937_64& rng) {
  constexpr int kWriters = 4;
  constexpr int kMaxRequestsPerWriter = 200;
  GroupCommitOptions options;
  options.max_group_requests = 8;
  GroupCommitter committer(log, options);
  std::vector<std::vector<Request>> by_writer(kWriters);
  std::vector<std::thread> writers;
  std::vector<uint64_t> seeds;
  for (int w = 0; w < kWriters; ++w) seeds.push_back(rng());
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 writer_rng(seeds[w]);
      for (int i = 0; i < kMaxRequestsPerWriter && !fs.IsCut(); ++i) {
        Request& request = by_writer[w].emplace_back();
        const int records = 1 + static_cast<int>(writer_rng() % 4);
        for (int j = 0; j < records; ++j) {
          request.records.push_back(
              RandomRecord(absl::StrCat("c", cycle, "-w", w, "-", i, "/", j), writer_rng));
        }
        std::promise<absl::Status> done;
        uint64_t first_position = 0;
        absl::Status submitted = committer.Submit(
            [&](Txn& txn) -> absl::Status {
              for (size_t j = 0; j < request.records.size(); ++j) {
                absl::StatusOr<std::pair<uint64_t, uint64_t>> appended =
                    txn.Append(request.records[j]);
                if (!appended.ok()) return appended.status();
                if (j == 0) first_position = appended->first;
              }
              return absl::OkStatus();
            },
            [&](absl::Status status) { done.set_value(std::move(status)); });
        if (!submitted.ok()) break;
        const absl::Status status = done.get_future().get();
        if (status.ok()) {
          request.acknowledged = true;
          request.first_position = first_position;
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  fs.CutNow();  // when the budget ran out first
  committer.Stop();
  std::vector<Request> all;
  for (auto& requests : by_writer) {
    for (Request& request : requests) all.push_back(std::move(request));
  }
  return all;
}

TEST(PowerCutTest, AcknowledgedRecordsSurviveEveryCut) {
  // 200 cuts take about 10 s on the 2-core dev machine; `make bench` (ops/bench.sh) runs 1,000.
  int cuts = 200;
  if (const char* override_cuts = std::getenv("LODESTONE_POWER_CUTS")) {
    cuts = std::atoi(override_cuts);
  }
  const uint64_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);

  TempDir dir;
  auto fs = std::make_shared<FaultInjectionFileSystem>();
  std::unique_ptr<rocksdb::Env> env = NewFaultInjectionEnv(fs);
  LogOptions options = testing::TestOptions(dir);
  options.sync = true;
  options.write_buffer_bytes = size_t{4} << 20;  // 1 MiB memtables: flushes and compactions
  options.env = env.get();

  Tally tally;
  Proven proven;
  std::vector<Request> last_cycle;
  std::vector<Request> acknowledged;  // every acknowledged request, for the full checks
  for (int cycle = 0; cycle < cuts; ++cycle) {
    SCOPED_TRACE(absl::StrCat("cycle ", cycle));
    // One cycle in ten, the power goes while the log opens (during recovery).
    const bool cut_during_open = rng() % 10 == 0;
    if (cut_during_open) fs->ArmCut(1 + rng() % 60);
    absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(options);
    if (!opened.ok()) {
      ASSERT_TRUE(cut_during_open && fs->IsCut()) << opened.status();
      ++tally.cuts_during_open;
    } else {
      std::unique_ptr<Log> log = *std::move(opened);
      ASSERT_NO_FATAL_FAILURE(CheckAfterRestart(*log, proven, last_cycle, tally));
      if (cycle % 100 == 99) {
        ASSERT_TRUE(log->Verify(0).ok());
        for (const Request& request : acknowledged) ExpectAllOrNothing(*log, request, tally);
      }
      if (HasFailure()) return;
      for (Request& request : last_cycle) {
        if (request.acknowledged) acknowledged.push_back(std::move(request));
      }
      if (!fs->IsCut()) fs->ArmCut(1 + rng() % 150);
      last_cycle = AppendUntilCut(*log, *fs, cycle, rng);
      for (const Request& request : last_cycle) {
        if (request.acknowledged) tally.acknowledged_records += request.records.size();
      }
    }
    ++tally.cuts;
    ASSERT_TRUE(fs->LosePower().ok());
  }
  // The last restart, and every acknowledged record read back.
  absl::StatusOr<std::unique_ptr<Log>> opened = Log::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_NO_FATAL_FAILURE(CheckAfterRestart(**opened, proven, last_cycle, tally));
  for (Request& request : last_cycle) {
    if (request.acknowledged) acknowledged.push_back(std::move(request));
  }
  ASSERT_TRUE((*opened)->Verify(0).ok());
  for (const Request& request : acknowledged) ExpectAllOrNothing(**opened, request, tally);

  std::printf(
      "power cuts survived: %llu (%llu during recovery); acknowledged records: %llu; lost "
      "acknowledged requests: %llu; partial requests: %llu; record checks: %llu; "
      "unacknowledged but durable requests: %llu; log size %llu; unsynced bytes dropped: %llu; "
      "undurable files dropped: %llu\n",
      static_cast<unsigned long long>(tally.cuts),
      static_cast<unsigned long long>(tally.cuts_during_open),
      static_cast<unsigned long long>(tally.acknowledged_records),
      static_cast<unsigned long long>(tally.lost), static_cast<unsigned long long>(tally.partial),
      static_cast<unsigned long long>(tally.checks),
      static_cast<unsigned long long>(tally.unacknowledged_present),
      static_cast<unsigned long long>((*opened)->GetHead().size),
      static_cast<unsigned long long>(fs->bytes_dropped()),
      static_cast<unsigned long long>(fs->files_dropped()));
  EXPECT_GE(tally.cuts, static_cast<uint64_t>(cuts));
  EXPECT_EQ(tally.lost, 0u);
  EXPECT_EQ(tally.partial, 0u);
  EXPECT_GT(tally.acknowledged_records, 0u);
}

}  // namespace
}  // namespace lodestone::storage
