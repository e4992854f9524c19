// Maintenance hooks on a Log opened by Log::Open, outside the contract other modules code
// against. Internal to storage/ (tests and tools).
#ifndef LODESTONE_STORAGE_LOG_INTERNAL_H_
#define LODESTONE_STORAGE_LOG_INTERNAL_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/kv_store.h"
#include "storage/log.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace lodestone::storage {

// Log::Open with RocksDB running on `env` (which must outlive the Log): lets tests inject I/O
// failures.
absl::StatusOr<std::unique_ptr<Log>> OpenWithEnv(const LogOptions& options, rocksdb::Env* env);

// Flushes every memtable and compacts every column family down to the bottommost level (with
// the bottommost compression). Blocks until done; safe alongside readers and the committer.
// INVALID_ARGUMENT for a Log that Log::Open did not return.
absl::Status CompactAll(Log& log);

// The RocksDB database under a Log opened by Log::Open (nullptr for another Log), for
// storage's own maintenance code (backups). Writing to it directly breaks the Log.
rocksdb::DB* DatabaseOf(Log& log);
// The same for a KvStore opened by KvStore::Open (kv_store.cc).
rocksdb::DB* DatabaseOf(KvStore& store);

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_LOG_INTERNAL_H_
