// Helpers shared by the storage tests: unique temp directories, raw RocksDB access to forge and
// corrupt bytes, small record builders.
#ifndef LODESTONE_TESTS_STORAGE_TEST_UTIL_H_
#define LODESTONE_TESTS_STORAGE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/log.h"

namespace lodestone::storage::testing {

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "/lodestone_storage_XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string db_path() const { return path_ + "/db"; }

 private:
  std::string path_;
};

inline LogOptions TestOptions(const TempDir& dir) {
  LogOptions options;
  options.path = dir.db_path();
  options.block_cache_bytes = size_t{8} << 20;
  options.write_buffer_bytes = size_t{8} << 20;
  options.sync = false;
  return options;
}

inline RecordInput MakeRecord(std::string event_id, std::string subject, std::string payload) {
  RecordInput record;
  record.event_id = std::move(event_id);
  record.subject = std::move(subject);
  record.payload = std::move(payload);
  return record;
}

// Deterministic commit times: 2025-01-01 plus `i` milliseconds.
inline absl::Time TestTime(int64_t i) {
  return absl::FromUnixSeconds(1735689600) + absl::Milliseconds(i);
}

// Appends `records` in one commit.
inline absl::Status AppendGroup(Log& log, const std::vector<RecordInput>& records,
                                absl::Time time) {
  std::unique_ptr<Txn> txn = log.BeginTxn();
  for (const RecordInput& record : records) {
    absl::StatusOr<std::pair<uint64_t, uint64_t>> appended = txn->Append(record);
    if (!appended.ok()) return appended.status();
  }
  return log.Commit(*txn, time);
}

// The log's RocksDB opened directly (the Log must be closed), with every column family.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    rocksdb::DBOptions db_options;
    db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(db_options, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names) {
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status status = rocksdb::DB::Open(db_options, path, descriptors, &handles, &db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    db_.reset(db);
    for (rocksdb::ColumnFamilyHandle* handle : handles) families_[handle->GetName()] = handle;
  }
  ~RawDb() {
    for (auto& [name, handle] : families_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close().PermitUncheckedError();
  }

  std::string Get(const std::string& family, const std::string& key) {
    std::string value;
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), families_.at(family), key, &value);
    EXPECT_TRUE(status.ok()) << family << ": " << status.ToString();
    return value;
  }
  void Put(const std::string& family, const std::string& key, const std::string& value) {
    rocksdb::WriteOptions options;
    options.sync = true;
    ASSERT_TRUE(db_->Put(options, families_.at(family), key, value).ok());
  }
  void Delete(const std::string& family, const std::string& key) {
    rocksdb::WriteOptions options;
    options.sync = true;
    ASSERT_TRUE(db_->Delete(options, families_.at(family), key).ok());
  }
  void FlipByte(const std::string& family, const std::string& key, size_t offset) {
    std::string value = Get(family, key);
    ASSERT_LT(offset, value.size());
    value[offset] = static_cast<char>(value[offset] ^ 0x01);
    Put(family, key, value);
  }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* Family(const std::string& name) { return families_.at(name); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> families_;
};

}  // namespace lodestone::storage::testing

#endif  // LODESTONE_TESTS_STORAGE_TEST_UTIL_H_
