// On-disk cost per event, including indexes, Merkle nodes and the hash chain: 100,000 records
// with ~150-byte payloads, compacted, must stay within the 300 bytes/event budget.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "rocksdb/table_properties.h"
#include "storage/log.h"
#include "storage/log_internal.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

using testing::TempDir;
using testing::TestOptions;
using testing::TestTime;

constexpr int kRecords = 100000;
constexpr int kGroup = 1000;
constexpr double kBudgetBytesPerEvent = 300;

std::string HexId(std::mt19937_64& rng) {  // UUID-shaped: 36 characters
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
    id.push_back(kHex[rng() % 16]);
  }
  return id;
}

// About 150 bytes shaped like a serialized event: tags, small enums, codes, masses, a lot id
// and 48 random bytes (a hash or signature).
std::string EventLikePayload(std::mt19937_64& rng) {
  static const char* const kCountries[] = {"CN", "TH", "MX", "US", "DE", "VN", "MY", "JP"};
  static const char* const kHs[] = {"2617.10", "2825.80", "8110.20", "2846.90", "8505.11"};
  std::string payload = "\x0a\x24" + HexId(rng);
  payload += "\x12\x02";
  payload += kCountries[rng() % 8];
  payload += "\x1a\x07";
  payload += kHs[rng() % 5];
  payload += "\x20" + std::to_string(rng() % 100000000);
  payload += "\x2a\x0clot/LOT-" + std::to_string(1000 + rng() % 9000);
  payload += "\x32\x30";
  for (int i = 0; i < 48; ++i) payload.push_back(static_cast<char>(rng()));
  payload += "\x3a\x10shipment arrived";
  payload.resize(150, '\0');
  return payload;
}

std::string RandomPayload(std::mt19937_64& rng) {
  std::string payload(150, '\0');
  for (char& c : payload) c = static_cast<char>(rng());
  return payload;
}

uint64_t DirectoryBytes(const std::string& path) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

// Returns live SST bytes per event after a full compaction; prints the directory figure too.
double MeasureBytesPerEvent(std::string (*make_payload)(std::mt19937_64&), const char* label) {
  TempDir dir;
  LogOptions options = TestOptions(dir);
  options.write_buffer_bytes = size_t{32} << 20;
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return 1e9;
  std::mt19937_64 rng(2025);
  for (int base = 0; base < kRecords; base += kGroup) {
    std::unique_ptr<Txn> txn = (*log)->BeginTxn();
    for (int i = 0; i < kGroup; ++i) {
      RecordInput record;
      record.event_id = HexId(rng);
      record.subject = "lot/LOT-" + std::to_string(100000 + rng() % 5000);
      record.payload = make_payload(rng);
      EXPECT_TRUE(txn->Append(record).ok());
    }
    EXPECT_TRUE((*log)->Commit(*txn, TestTime(base)).ok());
  }
  EXPECT_TRUE(CompactAll(**log).ok());
  const uint64_t sst_bytes = (*log)->GetStats().sst_bytes;
  EXPECT_TRUE((*log)->Verify().ok());
  log->reset();
  const uint64_t dir_bytes = DirectoryBytes(dir.db_path());
  {
    testing::RawDb raw(dir.db_path());
    for (const char* family : {"default", "log", "ids", "streams", "merkle", "state"}) {
      uint64_t bytes = 0;
      raw.db()->GetIntProperty(raw.Family(family), "rocksdb.live-sst-files-size", &bytes);
      rocksdb::TablePropertiesCollection tables;
      raw.db()->GetPropertiesOfAllTables(raw.Family(family), &tables).PermitUncheckedError();
      uint64_t raw_keys = 0, raw_values = 0, data = 0, index = 0, filter = 0;
      for (const auto& [name, table] : tables) {
        raw_keys += table->raw_key_size;
        raw_values += table->raw_value_size;
        data += table->data_size;
        index += table->index_size;
        filter += table->filter_size;
      }
      std::printf(
          "  %-8s %7.1f bytes/event (raw keys %.1f, raw values %.1f, data blocks %.1f, "
          "index %.1f, filter %.1f)\n",
          family, static_cast<double>(bytes) / kRecords, static_cast<double>(raw_keys) / kRecords,
          static_cast<double>(raw_values) / kRecords, static_cast<double>(data) / kRecords,
          static_cast<double>(index) / kRecords, static_cast<double>(filter) / kRecords);
    }
  }
  const double per_event = static_cast<double>(sst_bytes) / kRecords;
  std::printf("%s: %d records, SST %.1f bytes/event, whole directory %.1f bytes/event\n", label,
              kRecords, per_event, static_cast<double>(dir_bytes) / kRecords);
  return per_event;
}

TEST(FootprintTest, EventLikeRecordsStayWithinThreeHundredBytesPerEvent) {
  EXPECT_LE(MeasureBytesPerEvent(EventLikePayload, "event-like 150-byte payloads"),
            kBudgetBytesPerEvent);
}

TEST(FootprintTest, IncompressibleRecordsStayWithinThreeHundredBytesPerEvent) {
  EXPECT_LE(MeasureBytesPerEvent(RandomPayload, "random 150-byte payloads"), kBudgetBytesPerEvent);
}

}  // namespace
}  // namespace lodestone::storage
