#include "storage/rocks_util.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/convenience.h"

namespace lodestone::storage {

absl::Status CreateDirectories(rocksdb::Env* env, std::string_view path) {
  if (env == nullptr) env = rocksdb::Env::Default();
  if (path.empty()) return absl::InvalidArgumentError("the data directory path is empty");
  // Every prefix that ends before a '/', then the whole path.
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string prefix(path.substr(0, end));
    if (!prefix.empty() && prefix != "." && prefix != "..") {
      const rocksdb::Status status = env->CreateDirIfMissing(prefix);
      if (!status.ok() || !env->FileExists(prefix).ok()) {
        return absl::FailedPreconditionError(absl::StrCat("cannot create data directory '",
                                                          std::string(path), "': '", prefix,
                                                          "': ", status.ToString()));
      }
      bool is_dir = false;
      if (env->IsDirectory(prefix, &is_dir).ok() && !is_dir) {
        return absl::FailedPreconditionError(absl::StrCat("cannot create data directory '",
                                                          std::string(path), "': '", prefix,
                                                          "' is not a directory"));
      }
    }
    if (end == std::string_view::npos) break;
  }
  return absl::OkStatus();
}

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(message);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(message);
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(message);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(message);
    default:
      return absl::InternalError(message);
  }
}

Compression ChooseCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType type) {
    return std::find(supported.begin(), supported.end(), type) != supported.end();
  };
  Compression compression;
  if (has(rocksdb::kLZ4Compression)) {
    compression.regular = rocksdb::kLZ4Compression;
  } else if (has(rocksdb::kSnappyCompression)) {
    compression.regular = rocksdb::kSnappyCompression;
  }
  compression.bottommost = has(rocksdb::kZSTD) ? rocksdb::kZSTD : compression.regular;
  return compression;
}

void ConfigureTable(rocksdb::BlockBasedTableOptions& table) {
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.optimize_filters_for_memory = true;
}

std::shared_ptr<rocksdb::Cache> NewBlockCache(size_t capacity_bytes) {
  rocksdb::LRUCacheOptions options;
  options.capacity = capacity_bytes;
  options.high_pri_pool_ratio = 0.5;  // index and filter partitions
  return rocksdb::NewLRUCache(options);
}

}  // namespace lodestone::storage
