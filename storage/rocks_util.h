// Internal helpers shared by the RocksDB-backed stores of this module (not part of its API).
#ifndef LODESTONE_STORAGE_ROCKS_UTIL_H_
#define LODESTONE_STORAGE_ROCKS_UTIL_H_

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"

namespace lodestone::storage {

// RocksDB status -> absl::Status: corruption is DATA_LOSS, no space RESOURCE_EXHAUSTED, I/O
// errors UNAVAILABLE.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context);

inline rocksdb::Slice AsSlice(std::string_view bytes) {
  return rocksdb::Slice(bytes.data(), bytes.size());
}
inline std::string_view AsView(const rocksdb::Slice& slice) {
  return std::string_view(slice.data(), slice.size());
}

// Creates `path` and its missing parents through `env` (nullptr: the default). FAILED_PRECONDITION
// naming the path and the reason when one cannot be created (a file in the way, no permission).
absl::Status CreateDirectories(rocksdb::Env* env, std::string_view path);

struct Compression {
  rocksdb::CompressionType regular = rocksdb::kNoCompression;
  rocksdb::CompressionType bottommost = rocksdb::kNoCompression;
};

// LZ4 (else Snappy, else none), with ZSTD for the bottommost level where available.
Compression ChooseCompression();

// Index and filter blocks live in the block cache (so memory stays bounded by it) but are
// partitioned: a point lookup loads one small partition, never a whole multi-megabyte filter,
// and the top levels are pinned with high priority so data blocks cannot evict them.
void ConfigureTable(rocksdb::BlockBasedTableOptions& table);
std::shared_ptr<rocksdb::Cache> NewBlockCache(size_t capacity_bytes);

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_ROCKS_UTIL_H_
