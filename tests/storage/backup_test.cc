// Online backups while writers append, restored into new directories and verified: every
// record acknowledged before the backup began is there, no commit group is cut, and a
// damaged backup file is DATA_LOSS, never a log.
#include "storage/backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/group_commit.h"
#include "storage/kv_store.h"
#include "storage/log.h"
#include "storage/log_internal.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

namespace fs = std::filesystem;
using testing::AppendGroup;
using testing::MakeRecord;
using testing::TempDir;
using testing::TestOptions;
using testing::TestTime;

// Writers that append groups of 3 records until stopped, remembering what was acknowledged.
class Writers {
 public:
  explicit Writers(Log& log) : committer_(log, GroupCommitOptions()) {
    for (int w = 0; w < 2; ++w) threads_.emplace_back([this, w] { Run(w); });
  }
  ~Writers() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    committer_.Stop();
  }
  // Event ids of acknowledged groups (the first of each) with the group's first position.
  std::vector<std::pair<std::string, uint64_t>> Acknowledged() {
    std::lock_guard lock(mu_);
    return acknowledged_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return acknowledged_.size();
  }

 private:
  void Run(int writer) {
    for (int i = 0; !stop_; ++i) {
      std::promise<absl::Status> done;
      uint64_t first = 0;
      const std::string prefix = absl::StrCat("w", writer, "-", i, "/");
      absl::Status submitted = committer_.Submit(
          [&](Txn& txn) -> absl::Status {
            for (int j = 0; j < 3; ++j) {
              auto appended = txn.Append(MakeRecord(absl::StrCat(prefix, j), prefix,
                                                    std::string(200, static_cast<char>('a' + j))));
              if (!appended.ok()) return appended.status();
              if (j == 0) first = appended->first;
            }
            return absl::OkStatus();
          },
          [&](absl::Status status) { done.set_value(std::move(status)); });
      if (!submitted.ok()) continue;
      if (done.get_future().get().ok()) {
        std::lock_guard lock(mu_);
        acknowledged_.emplace_back(prefix, first);
      }
    }
  }

  GroupCommitter committer_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<std::string, uint64_t>> acknowledged_;
  std::vector<std::thread> threads_;
};

// Every group acknowledged before the backup began is in `restored`, whole, at its position;
// every group present is whole.
void ExpectAcknowledgedBefore(const Log& restored,
                              const std::vector<std::pair<std::string, uint64_t>>& acknowledged) {
  for (const auto& [prefix, first] : acknowledged) {
    for (int j = 0; j < 3; ++j) {
      auto position = restored.FindEventId(absl::StrCat(prefix, j));
      ASSERT_TRUE(position.ok()) << position.status();
      ASSERT_TRUE(position->has_value()) << prefix << j << " acknowledged before the backup";
      EXPECT_EQ(**position, first + j);
    }
  }
  auto all = restored.ReadAll(0, 1000000, size_t{1} << 30);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size() % 3, 0u) << "a commit group was cut";
}

TEST(BackupTest, OnlineBackupWhileAppendingRestoresAndVerifies) {
  TempDir dir;
  TempDir backups;
  LogOptions options = TestOptions(dir);
  auto log = Log::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  Writers writers(**log);
  while (writers.count() < 200) std::this_thread::yield();

  const auto acknowledged = writers.Acknowledged();  // before the backup began
  BackupOptions backup_options{.directory = backups.path() + "/b", .max_kept = 2};
  auto first = BackupLog(**log, backup_options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->id, 1u);
  EXPECT_GE(first->min_log_size, acknowledged.size() * 3);
  EXPECT_GT(first->size_bytes, 0u);
  EXPECT_EQ(first->new_bytes, first->size_bytes);
  EXPECT_EQ(first->kept, 1u);

  while (writers.count() < acknowledged.size() + 200) std::this_thread::yield();
  auto second = BackupLog(**log, backup_options);
  ASSERT_TRUE(second.ok()) << second.status();
  writers.Stop();
  EXPECT_EQ(second->id, 2u);
  EXPECT_GE(second->min_log_size, first->min_log_size);

  // The first backup, restored into a new directory, verifies and holds everything
  // acknowledged before it began.
  TempDir restored_dir;
  LogOptions restored_options = TestOptions(restored_dir);
  auto restored = RestoreLog(backup_options.directory, first->id, restored_options);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->id, 1u);
  EXPECT_GE(restored->head.size, first->min_log_size);
  {
    auto opened = Log::Open(restored_options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_NO_FATAL_FAILURE(ExpectAcknowledgedBefore(**opened, acknowledged));
    // Its records are the original log's: same root at its size.
    auto root = (*log)->RootAt(restored->head.size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, (*opened)->GetHead().root);
    // A restored log takes appends.
    EXPECT_TRUE(AppendGroup(**opened, {MakeRecord("after-restore", "s", "x")}, TestTime(1)).ok());
  }

  // The latest (0) is the second backup.
  TempDir latest_dir;
  auto latest = RestoreLog(backup_options.directory, 0, TestOptions(latest_dir));
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->id, 2u);
  EXPECT_GE(latest->head.size, second->min_log_size);
  std::printf("backup 1: %llu records, %llu bytes; backup 2: %llu new of %llu bytes\n",
              static_cast<unsigned long long>(first->min_log_size),
              static_cast<unsigned long long>(first->size_bytes),
              static_cast<unsigned long long>(second->new_bytes),
              static_cast<unsigned long long>(second->size_bytes));

  auto listed = ListBackups(backup_options.directory);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].min_log_size, first->min_log_size);
}

TEST(BackupTest, IncrementalBackupsShareTableFilesAndOldOnesArePurged) {
  TempDir dir;
  TempDir backups;
  auto log = Log::Open(TestOptions(dir));
  ASSERT_TRUE(log.ok()) << log.status();
  BackupOptions backup_options{.directory = backups.path(), .max_kept = 2};
  std::vector<uint32_t> ids;
  for (int round = 0; round < 3; ++round) {
    for (int group = 0; group < 50; ++group) {
      const std::string id = absl::StrCat("r", round, "-", group);
      ASSERT_TRUE(
          AppendGroup(**log, {MakeRecord(id, "s", std::string(500, 'p'))}, TestTime(group)).ok());
    }
    if (round == 0) {
      ASSERT_TRUE(CompactAll(**log).ok());  // table files the next backups share
    }
    auto backup = BackupLog(**log, backup_options);
    ASSERT_TRUE(backup.ok()) << backup.status();
    if (round > 0) {
      EXPECT_LT(backup->new_bytes, backup->size_bytes) << "round " << round;
    }
    EXPECT_EQ(backup->kept, std::min(round + 1, 2));
    ids.push_back(backup->id);
  }
  TempDir purged_dir;
  EXPECT_TRUE(
      absl::IsNotFound(RestoreLog(backups.path(), ids[0], TestOptions(purged_dir)).status()));
}

TEST(BackupTest, RefusalsAndDamage) {
  TempDir dir;
  TempDir backups;
  auto log = Log::Open(TestOptions(dir));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(AppendGroup(**log, {MakeRecord("a", "s", std::string(4000, 'x'))}, TestTime(1)).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(BackupLog(**log, {.directory = ""}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BackupLog(**log, {.directory = backups.path(), .max_kept = 0}).status()));
  ASSERT_TRUE(BackupLog(**log, {.directory = backups.path()}).ok());

  // Never over an existing log, nor a backup that does not exist.
  EXPECT_TRUE(absl::IsFailedPrecondition(RestoreLog(backups.path(), 0, TestOptions(dir)).status()));
  TempDir fresh;
  EXPECT_TRUE(absl::IsNotFound(RestoreLog(backups.path(), 7, TestOptions(fresh)).status()));
  TempDir none;
  EXPECT_TRUE(absl::IsNotFound(ListBackups(none.path() + "/missing").status()));

  // A flipped byte in a backed-up file: the restore says DATA_LOSS.
  int flipped = 0;
  for (const auto& entry : fs::recursive_directory_iterator(backups.path())) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !(name.ends_with(".sst") || name.ends_with(".log"))) continue;
    if (fs::file_size(entry.path()) < 100) continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(50);
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x10);
    file.seekp(50);
    file.write(&byte, 1);
    ++flipped;
  }
  ASSERT_GT(flipped, 0);
  TempDir damaged;
  const absl::Status restored = RestoreLog(backups.path(), 0, TestOptions(damaged)).status();
  EXPECT_TRUE(absl::IsDataLoss(restored)) << restored;
}

// A view store backed up while a writer commits batches (each batch: its rows and a checkpoint
// key, as projectors write them) restores into a store that opens, holds at least the
// checkpoint read before the backup, and whose every row belongs to a whole batch.
TEST(BackupTest, ViewStoreBackupWhileWritingIsOneInstant) {
  TempDir dir;
  TempDir backups;
  KvOptions options;
  options.path = dir.path() + "/views";
  options.sync = false;  // as the views are
  auto store = KvStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto write_batch = [&](uint64_t n) {
    KvBatch batch;
    for (int row = 0; row < 3; ++row) {
      batch.Put(absl::StrCat("row/", n, "/", row), std::string(300, static_cast<char>('a' + row)));
    }
    batch.Put("meta/checkpoint", absl::StrCat(n));
    return (*store)->Write(batch);
  };
  for (uint64_t n = 1; n <= 200; ++n) ASSERT_TRUE(write_batch(n).ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{200};
  std::thread writer([&] {
    while (!stop) {
      if (write_batch(written + 1).ok()) ++written;
    }
  });
  const uint64_t checkpoint = written;  // committed before the backup begins
  BackupOptions backup_options{.directory = backups.path(), .max_kept = 3};
  auto backup = BackupKvStore(**store, checkpoint, backup_options);
  stop = true;
  writer.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->kind, BackupKind::kViews);
  EXPECT_EQ(backup->min_log_size, checkpoint);
  auto listed = ListBackups(backups.path());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].kind, BackupKind::kViews);
  EXPECT_EQ((*listed)[0].min_log_size, checkpoint);

  // A log backup never goes into a view store's directory, nor the other way round.
  auto log = Log::Open(TestOptions(dir));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(BackupLog(**log, backup_options).status()));
  TempDir wrong_kind;
  EXPECT_TRUE(
      absl::IsFailedPrecondition(RestoreLog(backups.path(), 0, TestOptions(wrong_kind)).status()));

  TempDir restored_dir;
  KvOptions restored_options = options;
  restored_options.path = restored_dir.path() + "/views";
  auto restored = RestoreKvStore(backups.path(), 0, restored_options);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->min_checkpoint, checkpoint);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      RestoreKvStore(backups.path(), 0, restored_options).status()));  // never over a store
  auto opened = KvStore::Open(restored_options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto saved = (*opened)->Get("meta/checkpoint");
  ASSERT_TRUE(saved.ok() && saved->has_value());
  uint64_t restored_checkpoint = 0;
  ASSERT_TRUE(absl::SimpleAtoi(**saved, &restored_checkpoint));
  EXPECT_GE(restored_checkpoint, checkpoint);
  auto rows = (*opened)->Scan("row/", "", 1000000, size_t{1} << 30);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), restored_checkpoint * 3)
      << "every batch whole, none after the checkpoint";
}

}  // namespace
}  // namespace lodestone::storage
