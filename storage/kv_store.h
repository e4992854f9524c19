// A RocksDB-backed key-value store for projections (views): atomic batches, point reads, bounded
// prefix scans. Knows nothing of what the keys mean. Projectors write each batch of view updates
// together with their checkpoint in one Write, so a crash never separates the two.
#ifndef LODESTONE_STORAGE_KV_STORE_H_
#define LODESTONE_STORAGE_KV_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lodestone::storage {

struct KvOptions {
  std::string path;  // created with its missing parents (FAILED_PRECONDITION if it cannot be)
  size_t block_cache_bytes = size_t{64} << 20;   // LRU block cache
  size_t write_buffer_bytes = size_t{64} << 20;  // cap on all memtables
  bool sync = true;  // fsync each Write; views can be rebuilt, but a checkpoint must not run ahead
};

// Writes applied atomically by KvStore::Write, in order (a later Put of a key wins).
class KvBatch {
 public:
  void Put(std::string_view key, std::string_view value) {
    bytes_ += key.size() + value.size();
    ops_.push_back({std::string(key), std::string(value), false});
  }
  void Delete(std::string_view key) {
    bytes_ += key.size();
    ops_.push_back({std::string(key), std::string(), true});
  }
  size_t count() const { return ops_.size(); }
  size_t bytes() const { return bytes_; }
  bool empty() const { return ops_.empty(); }
  void Clear() {
    ops_.clear();
    bytes_ = 0;
  }

 private:
  friend class KvStoreImpl;
  struct Op {
    std::string key;
    std::string value;
    bool del;
  };
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  static absl::StatusOr<std::unique_ptr<KvStore>> Open(const KvOptions& options);

  // NOT_FOUND is not an error: nullopt. Corruption is DATA_LOSS.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const = 0;
  virtual absl::Status Write(const KvBatch& batch) = 0;

  // Entries whose key starts with `prefix` and is >= `from` (empty: the prefix itself), in key
  // order, at most `max_entries` and about `max_bytes` (at least one entry when any).
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      std::string_view prefix, std::string_view from, size_t max_entries,
      size_t max_bytes) const = 0;

  // Deletes every key (for a rebuild), synced.
  virtual absl::Status DeleteAll() = 0;

  struct Stats {
    uint64_t sst_bytes = 0;
    uint64_t memtable_bytes = 0;
    uint64_t block_cache_bytes = 0;
  };
  virtual Stats GetStats() const = 0;
};

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_KV_STORE_H_
