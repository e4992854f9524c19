// An append-only, hash-chained, Merkle-proven log of opaque records on RocksDB, with per-subject
// stream versions, an event-id index, and a key-value state space written in the same atomic
// batch as the records. Knows nothing of shipments: records are (event id, subject, payload).
// The on-disk format is in FORMAT.md.
#ifndef LODESTONE_STORAGE_LOG_H_
#define LODESTONE_STORAGE_LOG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace lodestone::storage {

using Hash = std::array<uint8_t, 32>;  // SHA-256

struct LogOptions {
  std::string
      path;  // RocksDB directory; created with its missing parents (FAILED_PRECONDITION if not)
  size_t block_cache_bytes = size_t{64} << 20;   // shared LRU block cache
  size_t write_buffer_bytes = size_t{64} << 20;  // cap on all memtables (WriteBufferManager)
  bool sync = true;  // fsync the WAL before Commit returns; false only for tests and benchmarks
  // RocksDB's environment (files, threads); nullptr: the default. Must outlive the Log. Crash
  // tests run the log on storage/fault_injection_fs.h through it.
  rocksdb::Env* env = nullptr;
};

struct RecordInput {
  std::string event_id;  // 1..255 bytes, unique in the log
  std::string subject;   // 1..255 bytes, the stream the record belongs to
  std::string payload;   // opaque bytes, at most kMaxPayloadBytes
};

struct Record {
  uint64_t position = 0;        // dense, from 0
  uint64_t stream_version = 0;  // 1 for the first record of its subject
  absl::Time commit_time;       // microsecond precision
  std::string event_id;
  std::string subject;
  std::string payload;
  Hash chain{};  // SHA-256(previous chain || leaf hash); the previous chain of position 0 is zeros
};

struct Head {
  uint64_t size = 0;                    // number of records
  Hash root{};                          // RFC 6962 Merkle tree hash of the first `size` leaves
  Hash chain{};                         // chain value of the last record (zeros when empty)
  absl::Time time = absl::UnixEpoch();  // commit time of the last record
};

inline constexpr size_t kMaxPayloadBytes = size_t{1} << 20;
inline constexpr size_t kMaxIdBytes = 255;

class Log;
namespace merkle {
class Frontier;  // storage/merkle.h
}  // namespace merkle

// The writes of one commit group, staged in memory. Reads through a Txn see its staged writes.
// Not thread-safe; one Txn is open at a time per Log (the committer thread's).
class Txn {
 public:
  virtual ~Txn() = default;

  // Marks a point to roll back to (one request of a group). Savepoints nest.
  virtual void SetSavePoint() = 0;
  virtual void RollbackToSavePoint() = 0;
  virtual void PopSavePoint() = 0;  // keeps the writes, forgets the savepoint

  // Stages a record at the next position; returns (position, stream version).
  // INVALID_ARGUMENT for empty/oversized fields, ALREADY_EXISTS if the event id is staged or
  // committed already (callers check FindEventId first for idempotency).
  virtual absl::StatusOr<std::pair<uint64_t, uint64_t>> Append(const RecordInput& record) = 0;

  // Current version of `subject` (0: no records), including staged records.
  virtual absl::StatusOr<uint64_t> StreamVersion(std::string_view subject) = 0;
  // The position of `event_id`, staged or committed.
  virtual absl::StatusOr<std::optional<uint64_t>> FindEventId(std::string_view event_id) = 0;
  // A record by position, staged or committed.
  virtual absl::StatusOr<Record> ReadRecord(uint64_t position) = 0;

  // The state key space (the caller's write model), including staged writes.
  virtual absl::StatusOr<std::optional<std::string>> GetState(std::string_view key) = 0;
  virtual void PutState(std::string_view key, std::string_view value) = 0;
  virtual void DeleteState(std::string_view key) = 0;

  // Number of staged records, and the sum of their event id, subject and payload sizes.
  virtual size_t staged_records() const = 0;
  virtual size_t staged_bytes() const = 0;
  // Position of the first staged record (the log size when the Txn began).
  virtual uint64_t base_position() const = 0;
  // The staged records, in position order (what a replicated commit ships to followers).
  virtual std::vector<RecordInput> StagedRecords() const = 0;

  // The time the group will be committed at, when the committer fixed it before staging
  // (GroupCommitter does: requests may judge their events against it); InfiniteFuture if not.
  absl::Time commit_time() const { return commit_time_; }
  void set_commit_time(absl::Time time) { commit_time_ = time; }

 private:
  absl::Time commit_time_ = absl::InfiniteFuture();
};

class Log {
 public:
  virtual ~Log() = default;

  // Opens or creates the log. FAILED_PRECONDITION for an unknown format version; DATA_LOSS when
  // the stored head does not verify.
  static absl::StatusOr<std::unique_ptr<Log>> Open(const LogOptions& options);

  // Starts a commit group. Only one Txn may be open at a time.
  virtual std::unique_ptr<Txn> BeginTxn() = 0;
  // Writes the group atomically (one RocksDB WriteBatch, synced when options.sync), then
  // publishes the new head. `commit_time` stamps every record of the group. On error nothing
  // is visible. A full disk (RESOURCE_EXHAUSTED) is recoverable: each later Commit first asks
  // RocksDB to resume, and fails the same way while there is still no space (or, when the disk
  // filled while RocksDB switched files, until the Log is reopened: the message says so). Any
  // other write error fails the Log: every later Commit returns it, and the Log must be reopened.
  virtual absl::Status Commit(Txn& txn, absl::Time commit_time) = 0;

  // OK while commits can succeed; else the error of the write that failed the Log (the
  // RESOURCE_EXHAUSTED of a full disk until a commit succeeds again), including a background
  // error that stopped writes before any commit failed. Cheap, any thread: for health checks.
  virtual absl::Status WriteFailure() const = 0;
  // What the next Commit does first: after a full disk, resumes writing if there is space again
  // (so that a node taking no appends while full comes back). Returns WriteFailure() after.
  virtual absl::Status ResumeWrites() { return WriteFailure(); }

  virtual Head GetHead() const = 0;

  // Records from `from_position`, at most `max_records` and about `max_bytes` (at least one record
  // if any). Checksums are verified: a corrupt record is DATA_LOSS. Thread-safe.
  virtual absl::StatusOr<std::vector<Record>> ReadAll(uint64_t from_position, size_t max_records,
                                                      size_t max_bytes) const = 0;
  virtual absl::StatusOr<std::vector<Record>> ReadStream(std::string_view subject,
                                                         uint64_t from_version, size_t max_records,
                                                         size_t max_bytes) const = 0;
  virtual absl::StatusOr<Record> ReadRecord(uint64_t position) const = 0;
  virtual absl::StatusOr<uint64_t> StreamVersion(std::string_view subject) const = 0;
  virtual absl::StatusOr<std::optional<uint64_t>> FindEventId(std::string_view event_id) const = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetState(std::string_view key) const = 0;

  // The canonical leaf bytes of a record (FORMAT.md) and its leaf hash SHA-256(0x00 || bytes).
  virtual absl::StatusOr<std::string> LeafData(uint64_t position) const = 0;

  // RFC 6962 proofs from stored subtree hashes (no full recomputation). OUT_OF_RANGE for sizes
  // beyond the head.
  virtual absl::StatusOr<Hash> RootAt(uint64_t tree_size) const = 0;
  // The right edge of the tree of the first `tree_size` leaves (to extend it with leaves from
  // elsewhere and compare roots, e.g. when verifying records a peer sends).
  virtual absl::StatusOr<merkle::Frontier> FrontierAt(uint64_t tree_size) const = 0;
  virtual absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t position,
                                                           uint64_t tree_size) const = 0;
  virtual absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                             uint64_t new_size) const = 0;

  // Re-reads every record from `from_position` and checks checksums, the hash chain and the
  // Merkle root against the head. DATA_LOSS on the first mismatch.
  virtual absl::Status Verify(uint64_t from_position = 0) const = 0;

  // Called after each successful Commit with the new head, on the committing thread. Keep it
  // short (notify, don't work). Set before concurrent use.
  virtual void SetCommitListener(std::function<void(const Head&)> listener) = 0;

  // Approximate figures for metrics: live SST bytes, memtable bytes, block cache usage.
  struct Stats {
    uint64_t sst_bytes = 0;
    uint64_t memtable_bytes = 0;
    uint64_t block_cache_bytes = 0;
  };
  virtual Stats GetStats() const = 0;
};

// RFC 6962 hashing, shared with verifiers.
Hash LeafHash(std::string_view leaf_data);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();  // SHA-256 of the empty string

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_LOG_H_
