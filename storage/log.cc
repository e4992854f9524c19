// The RocksDB implementation of Log and Txn. Format: FORMAT.md; encodings: format.h.
#include "storage/log.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "services/base/coding.h"
#include "services/base/status_macros.h"
#include "storage/format.h"
#include "storage/log_internal.h"
#include "storage/merkle.h"
#include "storage/rocks_util.h"

namespace lodestone::storage {
namespace {

using rocksdb::ColumnFamilyHandle;
using rocksdb::Slice;
using rocksdb::Snapshot;

constexpr Hash kZeroHash{};
constexpr size_t kRecordOverheadBytes = 64;  // rough in-memory cost of a Record besides strings

size_t RecordBytes(const Record& record) {
  return kRecordOverheadBytes + record.event_id.size() + record.subject.size() +
         record.payload.size();
}

// Debian builds Abseil with its own absl::string_view, distinct from std::string_view.
absl::string_view ToAbsl(std::string_view bytes) {
  return absl::string_view(bytes.data(), bytes.size());
}

std::string Escaped(std::string_view bytes) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(ToAbsl(bytes.substr(0, kMaxShown)));
  if (bytes.size() > kMaxShown) shown += "...";
  return shown;
}

class LogImpl;

// Staged writes of one commit group. Records, index entries and state writes live in in-memory
// overlays; Commit turns them into one WriteBatch (record hashes depend on the commit time, which
// is only known then). Savepoints are marks in an undo log over the overlays.
class TxnImpl final : public Txn {
 public:
  TxnImpl(LogImpl* log, uint64_t sequence, uint64_t base_position)
      : log_(log), sequence_(sequence), base_position_(base_position) {}

  void SetSavePoint() override { savepoints_.push_back(undo_.size()); }
  void RollbackToSavePoint() override;
  void PopSavePoint() override;
  absl::StatusOr<std::pair<uint64_t, uint64_t>> Append(const RecordInput& record) override;
  absl::StatusOr<uint64_t> StreamVersion(std::string_view subject) override;
  absl::StatusOr<std::optional<uint64_t>> FindEventId(std::string_view event_id) override;
  absl::StatusOr<Record> ReadRecord(uint64_t position) override;
  absl::StatusOr<std::optional<std::string>> GetState(std::string_view key) override;
  void PutState(std::string_view key, std::string_view value) override;
  void DeleteState(std::string_view key) override;
  size_t staged_records() const override { return records_.size(); }
  size_t staged_bytes() const override { return staged_bytes_; }
  uint64_t base_position() const override { return base_position_; }
  std::vector<RecordInput> StagedRecords() const override {
    std::vector<RecordInput> out;
    out.reserve(records_.size());
    for (const auto& staged : records_) out.push_back(staged.input);
    return out;
  }

 private:
  friend class LogImpl;

  struct StagedRecord {
    RecordInput input;
    uint64_t stream_version = 0;
  };
  struct Undo {
    enum class Kind { kRecord, kState } kind;
    std::string key;                                           // kState: the state key
    std::optional<uint64_t> previous_version;                  // kRecord: overlay version before
    std::optional<std::optional<std::string>> previous_state;  // kState: overlay entry before
  };

  void StageState(std::string_view key, std::optional<std::string> value);
  // The committed positions under `id_key`, looked up once per Txn (the committed state cannot
  // change while the Txn is open) and reused by Append and Commit.
  absl::StatusOr<const std::vector<uint64_t>*> CommittedIdPositions(const std::string& id_key);
  absl::StatusOr<std::optional<uint64_t>> CommittedEventId(std::string_view event_id);
  // After a successful commit: empty, based on the new head.
  void Reset(uint64_t sequence, uint64_t base_position);

  LogImpl* const log_;
  uint64_t sequence_;       // the Log's commit sequence this Txn was staged against
  uint64_t base_position_;  // position of the first staged record
  std::vector<StagedRecord> records_;
  size_t staged_bytes_ = 0;
  absl::flat_hash_map<std::string, uint64_t> staged_ids_;       // event id -> position
  absl::flat_hash_map<std::string, uint64_t> staged_versions_;  // subject -> latest version
  std::map<std::string, std::optional<std::string>, std::less<>> staged_state_;  // nullopt: delete
  absl::flat_hash_map<std::string, std::vector<uint64_t>> committed_id_positions_;  // cache
  std::vector<Undo> undo_;          // only kept while a savepoint is open
  std::vector<size_t> savepoints_;  // undo_ sizes
};

class LogImpl final : public Log {
 public:
  static absl::StatusOr<std::unique_ptr<Log>> Open(const LogOptions& options, rocksdb::Env* env);
  ~LogImpl() override;

  std::unique_ptr<Txn> BeginTxn() override;
  absl::Status Commit(Txn& txn, absl::Time commit_time) override;
  Head GetHead() const override;
  absl::Status WriteFailure() const override;
  absl::Status ResumeWrites() override;
  absl::StatusOr<std::vector<Record>> ReadAll(uint64_t from_position, size_t max_records,
                                              size_t max_bytes) const override;
  absl::StatusOr<std::vector<Record>> ReadStream(std::string_view subject, uint64_t from_version,
                                                 size_t max_records,
                                                 size_t max_bytes) const override;
  absl::StatusOr<Record> ReadRecord(uint64_t position) const override;
  absl::StatusOr<uint64_t> StreamVersion(std::string_view subject) const override;
  absl::StatusOr<std::optional<uint64_t>> FindEventId(std::string_view event_id) const override;
  absl::StatusOr<std::optional<std::string>> GetState(std::string_view key) const override;
  absl::StatusOr<std::string> LeafData(uint64_t position) const override;
  absl::StatusOr<Hash> RootAt(uint64_t tree_size) const override;
  absl::StatusOr<merkle::Frontier> FrontierAt(uint64_t tree_size) const override;
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t position,
                                                   uint64_t tree_size) const override;
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                     uint64_t new_size) const override;
  absl::Status Verify(uint64_t from_position) const override;
  void SetCommitListener(std::function<void(const Head&)> listener) override;
  Stats GetStats() const override;

  absl::Status CompactAll();
  rocksdb::DB* database() { return db_.get(); }

 private:
  friend class TxnImpl;

  // What readers see: the published head and a RocksDB snapshot taken right after the write that
  // produced it. Reads through a View never see a later commit, even one already written.
  struct View {
    std::shared_ptr<const Snapshot> snapshot;
    Head head;
  };

  LogImpl(const LogOptions& options, rocksdb::Env* env) : options_(options), env_(env) {}

  absl::Status OpenDatabase();
  absl::Status LoadHead();
  rocksdb::ColumnFamilyOptions FamilyOptions(std::string_view name) const;
  std::shared_ptr<const Snapshot> TakeSnapshot();
  // Commit under commit_mu_; sets `published` and `listener` when the head moved.
  absl::Status CommitLocked(TxnImpl* txn, absl::Time commit_time, std::optional<Head>& published,
                            std::function<void(const Head&)>& listener);
  View CurrentView() const;
  // Free bytes the disk must have before writes resume after it was full: room to flush every
  // memtable.
  uint64_t ResumeFreeBytes() const;
  // Sets failed_ and its published copy (commit_mu_ held).
  void SetFailure(absl::Status status);
  // RocksDB stopped writes in the background (the listener; commit_mu_ may be held or not).
  void OnWritesStopped(const rocksdb::Status& error);
  // Takes a background failure into failed_ (commit_mu_ held).
  void AdoptBackgroundFailure();
  // Resumes RocksDB after a full disk if there is space again; failed_ (commit_mu_ held).
  absl::Status ResumeLocked();

  // Reads at `snapshot` (nullptr: the latest committed state, for the committer's Txn), seeing
  // only records below `size`.
  static rocksdb::ReadOptions ReadOptionsAt(const Snapshot* snapshot);
  absl::StatusOr<Record> ReadRecordAt(const Snapshot* snapshot, uint64_t position) const;
  absl::StatusOr<std::optional<uint64_t>> FindEventIdAt(const Snapshot* snapshot, uint64_t size,
                                                        std::string_view event_id) const;
  absl::StatusOr<uint64_t> StreamVersionAt(const Snapshot* snapshot, uint64_t size,
                                           std::string_view subject) const;
  // Positions listed under an `ids` key (empty when absent).
  absl::StatusOr<std::vector<uint64_t>> IdPositions(const Snapshot* snapshot,
                                                    std::string_view id_key) const;
  absl::StatusOr<std::optional<std::string>> GetStateAt(const Snapshot* snapshot,
                                                        std::string_view key) const;
  // Merkle subtree hashes: stored nodes for complete aligned subtrees of at least
  // 2^kMinStoredLevel leaves, leaf hashes recomputed from records below that.
  absl::StatusOr<Hash> StoredNode(const Snapshot* snapshot, int level, uint64_t index) const;
  absl::Status LeafHashes(const Snapshot* snapshot, uint64_t begin, uint64_t end,
                          std::vector<Hash>& out) const;
  absl::StatusOr<Hash> SubtreeHash(const Snapshot* snapshot, uint64_t begin, uint64_t end) const;
  merkle::SubtreeHashFn SubtreeHashFnAt(const Snapshot* snapshot) const;
  absl::Status VerifyIndexes(const Snapshot* snapshot, const Record& record) const;

  const LogOptions options_;
  rocksdb::Env* const env_;  // nullptr: the default
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffer_manager_;
  Compression compression_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<ColumnFamilyHandle*> handles_;
  ColumnFamilyHandle* meta_ = nullptr;
  ColumnFamilyHandle* log_ = nullptr;
  ColumnFamilyHandle* streams_ = nullptr;
  ColumnFamilyHandle* ids_ = nullptr;
  ColumnFamilyHandle* merkle_ = nullptr;
  ColumnFamilyHandle* state_ = nullptr;

  // Published to readers.
  mutable std::mutex mu_;  // guards head_, snapshot_ and write_failure_
  Head head_;
  std::shared_ptr<const Snapshot> snapshot_;
  absl::Status write_failure_;  // failed_, for readers that must not wait for a commit
  // Reported by RocksDB's listener, not yet seen by the committer.
  absl::Status background_failure_;
  bool background_resumable_ = false;

  // Committer state. Commit holds commit_mu_ throughout, so commits are serialized.
  std::mutex commit_mu_;  // guards the members below
  merkle::Frontier frontier_;
  Hash chain_{};
  uint64_t commit_sequence_ = 0;
  absl::Status failed_;
  bool resumable_ = false;  // failed_ is a full disk that DB::Resume may clear
  std::function<void(const Head&)> listener_;
};

// ---------------------------------------------------------------------------------------------
// Txn

size_t InputBytes(const RecordInput& record) {
  return record.event_id.size() + record.subject.size() + record.payload.size();
}

void TxnImpl::RollbackToSavePoint() {
  if (savepoints_.empty()) return;
  const size_t mark = savepoints_.back();
  savepoints_.pop_back();
  while (undo_.size() > mark) {
    Undo& undo = undo_.back();
    if (undo.kind == Undo::Kind::kRecord) {
      const StagedRecord& record = records_.back();
      staged_bytes_ -= InputBytes(record.input);
      staged_ids_.erase(record.input.event_id);
      if (undo.previous_version.has_value()) {
        staged_versions_[record.input.subject] = *undo.previous_version;
      } else {
        staged_versions_.erase(record.input.subject);
      }
      records_.pop_back();
    } else if (undo.previous_state.has_value()) {
      staged_state_.insert_or_assign(std::move(undo.key), std::move(*undo.previous_state));
    } else {
      staged_state_.erase(undo.key);
    }
    undo_.pop_back();
  }
}

void TxnImpl::PopSavePoint() {
  if (savepoints_.empty()) return;
  savepoints_.pop_back();
  if (savepoints_.empty()) undo_.clear();  // nothing left to roll back to
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> TxnImpl::Append(const RecordInput& record) {
  LODESTONE_RETURN_IF_ERROR(format::ValidateInput(record));
  if (auto it = staged_ids_.find(record.event_id); it != staged_ids_.end()) {
    return absl::AlreadyExistsError(absl::StrCat("event id \"", Escaped(record.event_id),
                                                 "\" is already staged at position ", it->second));
  }
  LODESTONE_ASSIGN_OR_RETURN(std::optional<uint64_t> committed, CommittedEventId(record.event_id));
  if (committed.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("event id \"", Escaped(record.event_id),
                                                 "\" is already at position ", *committed));
  }
  std::optional<uint64_t> previous_version;
  if (auto it = staged_versions_.find(record.subject); it != staged_versions_.end()) {
    previous_version = it->second;
  }
  uint64_t version = 0;
  if (previous_version.has_value()) {
    version = *previous_version + 1;
  } else {
    LODESTONE_ASSIGN_OR_RETURN(uint64_t committed_version,
                               log_->StreamVersionAt(nullptr, base_position_, record.subject));
    version = committed_version + 1;
  }
  const uint64_t position = base_position_ + records_.size();
  if (!savepoints_.empty()) {
    undo_.push_back(Undo{Undo::Kind::kRecord, {}, previous_version, std::nullopt});
  }
  records_.push_back(StagedRecord{record, version});
  staged_bytes_ += InputBytes(record);
  staged_ids_.emplace(record.event_id, position);
  staged_versions_.insert_or_assign(record.subject, version);
  return std::make_pair(position, version);
}

absl::StatusOr<uint64_t> TxnImpl::StreamVersion(std::string_view subject) {
  if (auto it = staged_versions_.find(ToAbsl(subject)); it != staged_versions_.end())
    return it->second;
  return log_->StreamVersionAt(nullptr, base_position_, subject);
}

absl::StatusOr<std::optional<uint64_t>> TxnImpl::FindEventId(std::string_view event_id) {
  if (auto it = staged_ids_.find(ToAbsl(event_id)); it != staged_ids_.end()) {
    return std::optional<uint64_t>(it->second);
  }
  return CommittedEventId(event_id);
}

absl::StatusOr<Record> TxnImpl::ReadRecord(uint64_t position) {
  if (position < base_position_) return log_->ReadRecordAt(nullptr, position);
  if (position - base_position_ >= records_.size()) {
    return absl::OutOfRangeError(absl::StrCat("position ", position, " is beyond the ",
                                              base_position_ + records_.size(),
                                              " committed and staged records"));
  }
  const StagedRecord& staged = records_[position - base_position_];
  Record record;
  record.position = position;
  record.stream_version = staged.stream_version;
  record.commit_time = absl::InfiniteFuture();  // not committed yet
  record.event_id = staged.input.event_id;
  record.subject = staged.input.subject;
  record.payload = staged.input.payload;
  return record;
}

absl::StatusOr<std::optional<std::string>> TxnImpl::GetState(std::string_view key) {
  if (auto it = staged_state_.find(key); it != staged_state_.end()) return it->second;
  return log_->GetStateAt(nullptr, key);
}

void TxnImpl::PutState(std::string_view key, std::string_view value) {
  StageState(key, std::string(value));
}

void TxnImpl::DeleteState(std::string_view key) { StageState(key, std::nullopt); }

void TxnImpl::StageState(std::string_view key, std::optional<std::string> value) {
  auto it = staged_state_.find(key);
  if (!savepoints_.empty()) {
    Undo undo{Undo::Kind::kState, std::string(key), std::nullopt, std::nullopt};
    if (it != staged_state_.end()) undo.previous_state = it->second;
    undo_.push_back(std::move(undo));
  }
  if (it != staged_state_.end()) {
    it->second = std::move(value);
  } else {
    staged_state_.emplace(std::string(key), std::move(value));
  }
}

absl::StatusOr<const std::vector<uint64_t>*> TxnImpl::CommittedIdPositions(
    const std::string& id_key) {
  auto it = committed_id_positions_.find(id_key);
  if (it == committed_id_positions_.end()) {
    LODESTONE_ASSIGN_OR_RETURN(std::vector<uint64_t> positions, log_->IdPositions(nullptr, id_key));
    it = committed_id_positions_.emplace(id_key, std::move(positions)).first;
  }
  return &it->second;
}

absl::StatusOr<std::optional<uint64_t>> TxnImpl::CommittedEventId(std::string_view event_id) {
  LODESTONE_ASSIGN_OR_RETURN(const std::vector<uint64_t>* positions,
                             CommittedIdPositions(format::IdKey(event_id)));
  for (uint64_t position : *positions) {
    if (position >= base_position_) break;
    LODESTONE_ASSIGN_OR_RETURN(Record record, log_->ReadRecordAt(nullptr, position));
    if (record.event_id == event_id) return std::optional<uint64_t>(position);
  }
  return std::optional<uint64_t>();
}

void TxnImpl::Reset(uint64_t sequence, uint64_t base_position) {
  sequence_ = sequence;
  base_position_ = base_position;
  records_.clear();
  staged_ids_.clear();
  staged_versions_.clear();
  staged_state_.clear();
  committed_id_positions_.clear();
  undo_.clear();
  savepoints_.clear();
}

// ---------------------------------------------------------------------------------------------
// Log: opening

// Whether RocksDB stopped writes for a full disk it can resume from in this process. A full
// disk met while RocksDB switched to a new WAL is fatal to the DB object in RocksDB 7.8 (it may
// have lost buffered WAL bytes): only a reopen recovers.
bool Resumable(const rocksdb::Status& error) {
  return error.IsNoSpace() && error.severity() < rocksdb::Status::Severity::kFatalError;
}

// The status commits return once RocksDB stopped writes: a full disk is RESOURCE_EXHAUSTED
// whether or not this process can resume (the message says which), anything else as mapped.
absl::Status StoppedWritesStatus(const rocksdb::Status& error, std::string_view context) {
  if (error.IsNoSpace() && !Resumable(error)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        absl::string_view(context.data(), context.size()), ": ", error.ToString(),
        " (the disk filled while RocksDB switched files; writes cannot resume in this process: "
        "reopen the log, i.e. restart the node, once there is space)"));
  }
  return FromRocks(error, absl::string_view(context.data(), context.size()));
}

// Turns RocksDB's automatic recovery from background errors off (the committer resumes), and
// tells the Log at once when a background error stops writes, so that WriteFailure() is true
// before the next commit fails. Called by RocksDB without its mutex, on the thread that met the
// error (a flush or compaction thread, or the committer inside Write).
class ManualErrorRecovery : public rocksdb::EventListener {
 public:
  explicit ManualErrorRecovery(std::function<void(const rocksdb::Status&)> stopped)
      : stopped_(std::move(stopped)) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* error) override {
    if (error != nullptr && error->severity() >= rocksdb::Status::Severity::kHardError) {
      stopped_(*error);
    }
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status /*error*/,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }

 private:
  const std::function<void(const rocksdb::Status&)> stopped_;
};

absl::StatusOr<std::unique_ptr<Log>> LogImpl::Open(const LogOptions& options, rocksdb::Env* env) {
  if (options.path.empty()) return absl::InvalidArgumentError("LogOptions.path is empty");
  std::unique_ptr<LogImpl> log(new LogImpl(options, env));
  LODESTONE_RETURN_IF_ERROR(log->OpenDatabase());
  LODESTONE_RETURN_IF_ERROR(log->LoadHead());
  return std::unique_ptr<Log>(std::move(log));
}

rocksdb::ColumnFamilyOptions LogImpl::FamilyOptions(std::string_view name) const {
  rocksdb::ColumnFamilyOptions family;
  // Each memtable may use a quarter of the budget; the WriteBufferManager caps their sum.
  family.write_buffer_size =
      std::clamp<size_t>(options_.write_buffer_bytes / 4, size_t{1} << 20, size_t{64} << 20);
  family.max_write_buffer_number = 2;
  family.level_compaction_dynamic_level_bytes = true;  // least space amplification
  family.compression = compression_.regular;
  family.bottommost_compression = compression_.bottommost;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache_;
  ConfigureTable(table);
  table.format_version = 5;
  if (name == format::kIdsFamily || name == format::kStreamsFamily ||
      name == format::kStateFamily) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Most committer lookups miss (new event ids, new subjects, new lots): a whole-key bloom
    // filter in the memtable answers them without walking the skip list.
    family.memtable_prefix_bloom_size_ratio = 0.05;
    family.memtable_whole_key_filtering = true;
  }
  if (name == format::kLogFamily) table.block_size = 16 << 10;  // better compression, smaller index
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return family;
}

absl::Status LogImpl::OpenDatabase() {
  cache_ = NewBlockCache(options_.block_cache_bytes);
  write_buffer_manager_ =
      std::make_shared<rocksdb::WriteBufferManager>(options_.write_buffer_bytes);
  compression_ = ChooseCompression();

  rocksdb::DBOptions db_options;
  if (env_ != nullptr) db_options.env = env_;
  // A record that is cut short at the end of the WAL is a write that was never acknowledged
  // (a crash mid-write) and is dropped; any other damage (a checksum mismatch anywhere, a
  // record missing in the middle) fails the open with DATA_LOSS. RocksDB's default,
  // point-in-time recovery, would instead stop replaying at a damaged record and silently drop
  // every acknowledged commit after it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // After a full disk the next Commit resumes (see CommitLocked), at once, rather than RocksDB
  // polling for free space every 5 seconds behind the committer's back.
  db_options.listeners.push_back(std::make_shared<ManualErrorRecovery>(
      [this](const rocksdb::Status& error) { OnWritesStopped(error); }));
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = false;  // created below, after the version check
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;  // Debian's default is DEBUG
  db_options.max_log_file_size = size_t{1} << 20;
  db_options.keep_log_file_num = 2;
  db_options.stats_dump_period_sec = 0;
  db_options.write_buffer_manager = write_buffer_manager_;
  db_options.max_total_wal_size =
      std::max<uint64_t>(uint64_t{16} << 20, uint64_t{4} * options_.write_buffer_bytes);
  db_options.max_background_jobs = 2;
  db_options.max_open_files = 1024;

  LODESTONE_RETURN_IF_ERROR(CreateDirectories(env_, options_.path));
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(db_options, options_.path, &existing).ok()) {
    existing = {rocksdb::kDefaultColumnFamilyName};  // a new database
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : existing) descriptors.emplace_back(name, FamilyOptions(name));
  rocksdb::DB* raw = nullptr;
  LODESTONE_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, options_.path, descriptors, &handles_, &raw),
                absl::StrCat("open ", options_.path)));
  db_.reset(raw);

  auto find_family = [&](std::string_view name) -> ColumnFamilyHandle* {
    for (ColumnFamilyHandle* handle : handles_) {
      if (handle->GetName() == name) return handle;
    }
    return nullptr;
  };
  meta_ = find_family(format::kMetaFamily);

  std::string version_value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), meta_, format::kFormatVersionKey, &version_value);
  const bool versioned = status.ok();
  if (!versioned && !status.IsNotFound()) return FromRocks(status, "read format version");
  if (versioned) {
    LODESTONE_ASSIGN_OR_RETURN(uint32_t version, format::DecodeFormatVersion(version_value));
    if (version != format::kFormatVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("log at ", options_.path, " has format version ", version,
                       "; this build reads version ", format::kFormatVersion));
    }
  } else {
    // Unversioned: must be empty (a new database, or one whose creation was interrupted).
    for (ColumnFamilyHandle* handle : handles_) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle));
      it->SeekToFirst();
      if (it->Valid()) {
        return absl::FailedPreconditionError(
            absl::StrCat("log at ", options_.path, " has data but no format version"));
      }
      LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "scan unversioned database"));
    }
  }

  for (const char* name : {format::kLogFamily, format::kStreamsFamily, format::kIdsFamily,
                           format::kMerkleFamily, format::kStateFamily}) {
    ColumnFamilyHandle* handle = find_family(name);
    if (handle == nullptr) {
      if (versioned) {
        return absl::DataLossError(
            absl::StrCat("log at ", options_.path, " is missing column family ", name));
      }
      LODESTONE_RETURN_IF_ERROR(
          FromRocks(db_->CreateColumnFamily(FamilyOptions(name), name, &handle),
                    absl::StrCat("create column family ", name)));
      handles_.push_back(handle);
    }
    const std::string_view n = name;
    if (n == format::kLogFamily) log_ = handle;
    if (n == format::kStreamsFamily) streams_ = handle;
    if (n == format::kIdsFamily) ids_ = handle;
    if (n == format::kMerkleFamily) merkle_ = handle;
    if (n == format::kStateFamily) state_ = handle;
  }

  if (!versioned) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;  // once per database: always durable
    LODESTONE_RETURN_IF_ERROR(
        FromRocks(db_->Put(write_options, meta_, format::kFormatVersionKey,
                           format::EncodeFormatVersion(format::kFormatVersion)),
                  "write format version"));
  }
  return absl::OkStatus();
}

absl::Status LogImpl::LoadHead() {
  uint64_t size = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
    it->SeekToLast();
    if (it->Valid()) {
      LODESTONE_ASSIGN_OR_RETURN(uint64_t last, format::DecodeLogKey(AsView(it->key())));
      size = last + 1;
    }
    LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "find the last record"));
  }
  std::string head_value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), meta_, format::kHeadKey, &head_value);
  if (!status.ok() && !status.IsNotFound()) return FromRocks(status, "read meta head");

  Head head;
  head.root = EmptyRoot();
  merkle::Frontier frontier;
  if (status.IsNotFound()) {
    if (size != 0) {
      return absl::DataLossError(absl::StrCat("log has ", size, " records but no meta head"));
    }
  } else {
    LODESTONE_ASSIGN_OR_RETURN(format::StoredHead stored, format::DecodeHead(head_value));
    if (stored.size != size) {
      return absl::DataLossError(absl::StrCat("meta head says ", stored.size,
                                              " records but the last record is at position ",
                                              static_cast<int64_t>(size) - 1));
    }
    if (size > 0) {
      LODESTONE_ASSIGN_OR_RETURN(frontier, merkle::Frontier::Build(size, SubtreeHashFnAt(nullptr)));
      if (frontier.Root() != stored.root) {
        return absl::DataLossError(absl::StrCat("Merkle root of the stored subtrees at size ", size,
                                                " does not match the meta head"));
      }
      LODESTONE_ASSIGN_OR_RETURN(Record tail, ReadRecordAt(nullptr, size - 1));
      Hash previous_chain = kZeroHash;
      if (size > 1) {
        LODESTONE_ASSIGN_OR_RETURN(Record before_tail, ReadRecordAt(nullptr, size - 2));
        previous_chain = before_tail.chain;
      }
      const Hash tail_chain =
          merkle::ChainHash(previous_chain, LeafHash(format::EncodeLeafData(tail)));
      if (tail_chain != tail.chain || tail.chain != stored.chain) {
        return absl::DataLossError(absl::StrCat("hash chain of the last record (position ",
                                                size - 1, ") does not match the meta head"));
      }
      if (absl::ToUnixMicros(tail.commit_time) != stored.time_micros) {
        return absl::DataLossError("commit time of the last record does not match the meta head");
      }
      head.size = size;
      head.root = stored.root;
      head.chain = tail.chain;
      head.time = tail.commit_time;
    }
  }

  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  frontier_ = frontier;
  chain_ = head.chain;
  std::shared_ptr<const Snapshot> snapshot = TakeSnapshot();
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  snapshot_ = std::move(snapshot);
  return absl::OkStatus();
}

LogImpl::~LogImpl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_.reset();
  }
  if (db_ != nullptr) {
    for (ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close().PermitUncheckedError();
  }
}

std::shared_ptr<const Snapshot> LogImpl::TakeSnapshot() {
  rocksdb::DB* db = db_.get();
  return std::shared_ptr<const Snapshot>(db->GetSnapshot(),
                                         [db](const Snapshot* s) { db->ReleaseSnapshot(s); });
}

uint64_t LogImpl::ResumeFreeBytes() const {
  return std::max<uint64_t>(uint64_t{16} << 20, uint64_t{2} * options_.write_buffer_bytes);
}

void LogImpl::OnWritesStopped(const rocksdb::Status& error) {
  std::lock_guard<std::mutex> lock(mu_);
  background_failure_ = StoppedWritesStatus(error, "background flush or compaction");
  background_resumable_ = Resumable(error);
  if (write_failure_.ok()) write_failure_ = background_failure_;
}

void LogImpl::AdoptBackgroundFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  if (background_failure_.ok()) return;
  // A failure the committer already knows of is replaced only by a worse one.
  if (failed_.ok() || (resumable_ && !background_resumable_)) {
    failed_ = background_failure_;
    resumable_ = background_resumable_;
    write_failure_ = failed_;
  }
  background_failure_ = absl::OkStatus();
}

void LogImpl::SetFailure(absl::Status status) {
  failed_ = status;
  std::lock_guard<std::mutex> lock(mu_);
  write_failure_ = std::move(status);
}

absl::Status LogImpl::WriteFailure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_failure_;
}

LogImpl::View LogImpl::CurrentView() const {
  std::lock_guard<std::mutex> lock(mu_);
  return View{snapshot_, head_};
}

// ---------------------------------------------------------------------------------------------
// Log: writing

std::unique_ptr<Txn> LogImpl::BeginTxn() {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  return std::make_unique<TxnImpl>(this, commit_sequence_, frontier_.size());
}

absl::Status LogImpl::Commit(Txn& txn_base, absl::Time commit_time) {
  auto* txn = dynamic_cast<TxnImpl*>(&txn_base);
  if (txn == nullptr || txn->log_ != this) {
    return absl::InvalidArgumentError("Commit of a Txn that this Log did not begin");
  }
  std::optional<Head> published;
  std::function<void(const Head&)> listener;
  LODESTONE_RETURN_IF_ERROR(CommitLocked(txn, commit_time, published, listener));
  // Outside commit_mu_: the listener may read the Log or begin the next Txn.
  if (published.has_value() && listener) listener(*published);
  return absl::OkStatus();
}

absl::Status LogImpl::ResumeLocked() {
  AdoptBackgroundFailure();
  if (resumable_) {
    // A full disk stopped RocksDB's writes. Once there is space again (or the file system
    // cannot tell), Resume flushes the memtables, so that no WAL the failed write may have
    // damaged is needed any more, and allows writes. Resuming while the disk is still full
    // would fail the flush, which RocksDB does not recover from: wait for the space.
    rocksdb::Env* env = env_ != nullptr ? env_ : rocksdb::Env::Default();
    uint64_t free_bytes = 0;
    const bool known = env->GetFreeSpace(options_.path, &free_bytes).ok();
    if (known && free_bytes < ResumeFreeBytes()) return failed_;
    const rocksdb::Status resumed = db_->Resume();
    if (!resumed.ok()) {
      if (resumed.IsNoSpace() && resumed.severity() < rocksdb::Status::Severity::kFatalError) {
        return failed_;  // full again
      }
      resumable_ = false;
      SetFailure(StoppedWritesStatus(resumed, "resume after a full disk"));
      return failed_;
    }
    resumable_ = false;
    SetFailure(absl::OkStatus());
  }
  return failed_;
}

absl::Status LogImpl::ResumeWrites() {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  return ResumeLocked();
}

absl::Status LogImpl::CommitLocked(TxnImpl* txn, absl::Time commit_time,
                                   std::optional<Head>& published,
                                   std::function<void(const Head&)>& listener) {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  if (absl::Status resumed = ResumeLocked(); !resumed.ok()) return resumed;
  if (!failed_.ok()) return failed_;
  if (txn->sequence_ != commit_sequence_) {
    return absl::FailedPreconditionError(
        "Commit of a Txn begun before another commit (only one Txn may be open at a time)");
  }
  if (txn->records_.empty() && txn->staged_state_.empty()) return absl::OkStatus();

  const int64_t micros = absl::ToUnixMicros(commit_time);
  rocksdb::WriteBatch batch;
  merkle::Frontier frontier = frontier_;
  Hash chain = chain_;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> id_positions;  // ids key -> positions
  for (const TxnImpl::StagedRecord& staged : txn->records_) {
    const RecordInput& in = staged.input;
    const uint64_t position = frontier.size();
    const Hash leaf_hash = LeafHash(format::EncodeLeafData(position, micros, staged.stream_version,
                                                           in.event_id, in.subject, in.payload));
    chain = merkle::ChainHash(chain, leaf_hash);
    const std::string position_value = format::EncodePosition(position);
    batch.Put(log_, format::LogKey(position),
              format::EncodeRecordValue(position, micros, staged.stream_version, in.event_id,
                                        in.subject, in.payload, chain));
    auto [ids_entry, inserted] = id_positions.try_emplace(format::IdKey(in.event_id));
    if (inserted) {
      LODESTONE_ASSIGN_OR_RETURN(const std::vector<uint64_t>* committed,
                                 txn->CommittedIdPositions(ids_entry->first));
      ids_entry->second = *committed;
    }
    ids_entry->second.push_back(position);
    batch.Put(streams_, format::StreamKey(in.subject, staged.stream_version), position_value);
    frontier.Append(leaf_hash, [&](int level, uint64_t index, const Hash& hash) {
      if (level >= format::kMinStoredLevel) {
        batch.Put(merkle_, format::MerkleKey(level, index), AsSlice(merkle::AsBytes(hash)));
      }
    });
  }
  for (const auto& [key, positions] : id_positions) {
    batch.Put(ids_, key, format::EncodePositions(positions));
  }
  for (const auto& [subject, version] : txn->staged_versions_) {
    batch.Put(streams_, format::StreamHeadKey(subject), format::EncodeStreamHead(version));
  }
  for (const auto& [key, value] : txn->staged_state_) {
    if (value.has_value()) {
      batch.Put(state_, key, *value);
    } else {
      batch.Delete(state_, key);
    }
  }
  Head head;
  {
    std::lock_guard<std::mutex> lock(mu_);
    head = head_;
  }
  const bool appended = !txn->records_.empty();
  if (appended) {
    head.size = frontier.size();
    head.root = frontier.Root();
    head.chain = chain;
    head.time = absl::FromUnixMicros(micros);
    batch.Put(meta_, format::kHeadKey,
              format::EncodeHead({head.size, micros, head.root, head.chain}));
  }

  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  if (const rocksdb::Status written = db_->Write(write_options, &batch); !written.ok()) {
    resumable_ = Resumable(written);
    SetFailure(StoppedWritesStatus(written, "commit"));
    return failed_;
  }
  ++commit_sequence_;
  frontier_ = frontier;
  chain_ = chain;
  std::shared_ptr<const Snapshot> snapshot = TakeSnapshot();
  {
    std::lock_guard<std::mutex> lock(mu_);
    head_ = head;
    snapshot_.swap(snapshot);
  }
  snapshot.reset();  // the previous snapshot, released once its last reader is done
  txn->Reset(commit_sequence_, head.size);
  if (appended) {
    published = head;
    listener = listener_;
  }
  return absl::OkStatus();
}

void LogImpl::SetCommitListener(std::function<void(const Head&)> listener) {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  listener_ = std::move(listener);
}

// ---------------------------------------------------------------------------------------------
// Log: reading

rocksdb::ReadOptions LogImpl::ReadOptionsAt(const Snapshot* snapshot) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.verify_checksums = true;
  return read_options;
}

absl::StatusOr<Record> LogImpl::ReadRecordAt(const Snapshot* snapshot, uint64_t position) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status status =
      db_->Get(ReadOptionsAt(snapshot), log_, format::LogKey(position), &value);
  if (status.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("record at position ", position, " is missing"));
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(status, absl::StrCat("read record ", position)));
  return format::DecodeRecordValue(position, AsView(value));
}

absl::StatusOr<std::optional<uint64_t>> LogImpl::FindEventIdAt(const Snapshot* snapshot,
                                                               uint64_t size,
                                                               std::string_view event_id) const {
  LODESTONE_ASSIGN_OR_RETURN(std::vector<uint64_t> positions,
                             IdPositions(snapshot, format::IdKey(event_id)));
  for (uint64_t position : positions) {
    if (position >= size) break;  // not published yet
    LODESTONE_ASSIGN_OR_RETURN(Record record, ReadRecordAt(snapshot, position));
    if (record.event_id == event_id) return std::optional<uint64_t>(position);
  }
  return std::optional<uint64_t>();  // not there, or only another id with the same key
}

absl::StatusOr<std::vector<uint64_t>> LogImpl::IdPositions(const Snapshot* snapshot,
                                                           std::string_view id_key) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(ReadOptionsAt(snapshot), ids_, AsSlice(id_key), &value);
  if (status.IsNotFound()) return std::vector<uint64_t>();
  LODESTONE_RETURN_IF_ERROR(FromRocks(status, "read event id index"));
  return format::DecodePositions(AsView(value));
}

absl::StatusOr<uint64_t> LogImpl::StreamVersionAt(const Snapshot* snapshot, uint64_t /*size*/,
                                                  std::string_view subject) const {
  // The stream head key is written in the same batch as the stream's records, so a snapshot
  // (or, for the committer, the committed state) sees the version of exactly what it can read.
  rocksdb::PinnableSlice value;
  rocksdb::Status status =
      db_->Get(ReadOptionsAt(snapshot), streams_, format::StreamHeadKey(subject), &value);
  if (status.IsNotFound()) return 0;
  LODESTONE_RETURN_IF_ERROR(FromRocks(status, "read stream head"));
  return format::DecodeStreamHead(AsView(value));
}

absl::StatusOr<std::optional<std::string>> LogImpl::GetStateAt(const Snapshot* snapshot,
                                                               std::string_view key) const {
  std::string value;
  rocksdb::Status status = db_->Get(ReadOptionsAt(snapshot), state_, AsSlice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  LODESTONE_RETURN_IF_ERROR(FromRocks(status, "read state"));
  return std::optional<std::string>(std::move(value));
}

Head LogImpl::GetHead() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

absl::StatusOr<std::vector<Record>> LogImpl::ReadAll(uint64_t from_position, size_t max_records,
                                                     size_t max_bytes) const {
  const View view = CurrentView();
  std::vector<Record> records;
  if (from_position >= view.head.size || max_records == 0) return records;
  const std::string upper = format::LogKey(view.head.size);
  const Slice upper_bound(upper);
  rocksdb::ReadOptions read_options = ReadOptionsAt(view.snapshot.get());
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_));
  uint64_t expected = from_position;
  size_t bytes = 0;
  bool limited = false;
  for (it->Seek(format::LogKey(from_position)); it->Valid(); it->Next()) {
    LODESTONE_ASSIGN_OR_RETURN(uint64_t position, format::DecodeLogKey(AsView(it->key())));
    if (position != expected) break;
    LODESTONE_ASSIGN_OR_RETURN(Record record,
                               format::DecodeRecordValue(position, AsView(it->value())));
    const size_t record_bytes = RecordBytes(record);
    if (!records.empty() && bytes + record_bytes > max_bytes) {
      limited = true;
      break;
    }
    bytes += record_bytes;
    records.push_back(std::move(record));
    ++expected;
    if (records.size() >= max_records) {
      limited = true;
      break;
    }
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "read log"));
  if (!limited && expected < view.head.size) {
    return absl::DataLossError(absl::StrCat("record at position ", expected, " is missing"));
  }
  return records;
}

absl::StatusOr<std::vector<Record>> LogImpl::ReadStream(std::string_view subject,
                                                        uint64_t from_version, size_t max_records,
                                                        size_t max_bytes) const {
  const View view = CurrentView();
  std::vector<Record> records;
  if (max_records == 0) return records;
  const std::string prefix = format::StreamPrefix(subject);
  uint64_t expected = std::max<uint64_t>(from_version, 1);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ReadOptionsAt(view.snapshot.get()), streams_));
  size_t bytes = 0;
  for (it->Seek(format::StreamKey(subject, expected)); it->Valid(); it->Next()) {
    const std::string_view key = AsView(it->key());
    if (key.size() != prefix.size() + 8 || !key.starts_with(prefix)) break;
    const uint64_t version = coding::DecodeBigEndian64(key.substr(prefix.size()));
    LODESTONE_ASSIGN_OR_RETURN(uint64_t position, format::DecodePosition(AsView(it->value())));
    if (position >= view.head.size) break;  // committed after the view was published
    if (version != expected) {
      return absl::DataLossError(
          absl::StrCat("stream index of \"", Escaped(subject), "\" skips version ", expected));
    }
    LODESTONE_ASSIGN_OR_RETURN(Record record, ReadRecordAt(view.snapshot.get(), position));
    if (record.subject != subject || record.stream_version != version) {
      return absl::DataLossError(absl::StrCat("stream index of \"", Escaped(subject), "\" version ",
                                              version, " points at position ", position,
                                              ", a record of another stream"));
    }
    const size_t record_bytes = RecordBytes(record);
    if (!records.empty() && bytes + record_bytes > max_bytes) break;
    bytes += record_bytes;
    records.push_back(std::move(record));
    ++expected;
    if (records.size() >= max_records) break;
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "read stream index"));
  return records;
}

absl::StatusOr<Record> LogImpl::ReadRecord(uint64_t position) const {
  const View view = CurrentView();
  if (position >= view.head.size) {
    return absl::OutOfRangeError(
        absl::StrCat("position ", position, " is beyond the head (size ", view.head.size, ")"));
  }
  return ReadRecordAt(view.snapshot.get(), position);
}

absl::StatusOr<uint64_t> LogImpl::StreamVersion(std::string_view subject) const {
  const View view = CurrentView();
  return StreamVersionAt(view.snapshot.get(), view.head.size, subject);
}

absl::StatusOr<std::optional<uint64_t>> LogImpl::FindEventId(std::string_view event_id) const {
  const View view = CurrentView();
  return FindEventIdAt(view.snapshot.get(), view.head.size, event_id);
}

absl::StatusOr<std::optional<std::string>> LogImpl::GetState(std::string_view key) const {
  const View view = CurrentView();
  return GetStateAt(view.snapshot.get(), key);
}

absl::StatusOr<std::string> LogImpl::LeafData(uint64_t position) const {
  LODESTONE_ASSIGN_OR_RETURN(Record record, ReadRecord(position));
  return format::EncodeLeafData(record);
}

// ---------------------------------------------------------------------------------------------
// Log: Merkle proofs

absl::StatusOr<Hash> LogImpl::StoredNode(const Snapshot* snapshot, int level,
                                         uint64_t index) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status status =
      db_->Get(ReadOptionsAt(snapshot), merkle_, format::MerkleKey(level, index), &value);
  if (status.IsNotFound() || (status.ok() && value.size() != 32)) {
    return absl::DataLossError(absl::StrCat("Merkle node at level ", level, " index ", index,
                                            status.ok() ? " is malformed" : " is missing"));
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(status, "read Merkle node"));
  Hash hash{};
  std::copy_n(value.data(), hash.size(), reinterpret_cast<char*>(hash.data()));
  return hash;
}

absl::Status LogImpl::LeafHashes(const Snapshot* snapshot, uint64_t begin, uint64_t end,
                                 std::vector<Hash>& out) const {
  const std::string upper = format::LogKey(end);
  const Slice upper_bound(upper);
  rocksdb::ReadOptions read_options = ReadOptionsAt(snapshot);
  read_options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_));
  uint64_t expected = begin;
  for (it->Seek(format::LogKey(begin)); it->Valid() && expected < end; it->Next(), ++expected) {
    LODESTONE_ASSIGN_OR_RETURN(uint64_t position, format::DecodeLogKey(AsView(it->key())));
    if (position != expected) break;
    LODESTONE_ASSIGN_OR_RETURN(Record record,
                               format::DecodeRecordValue(position, AsView(it->value())));
    out.push_back(LeafHash(format::EncodeLeafData(record)));
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "read log"));
  if (expected != end) {
    return absl::DataLossError(absl::StrCat("record at position ", expected, " is missing"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> LogImpl::SubtreeHash(const Snapshot* snapshot, uint64_t begin,
                                          uint64_t end) const {
  const uint64_t n = end - begin;
  constexpr uint64_t kSmallest = uint64_t{1} << format::kMinStoredLevel;
  if (merkle::IsPowerOfTwo(n) && begin % n == 0 && n >= kSmallest) {
    return StoredNode(snapshot, merkle::Log2(n), begin / n);
  }
  if (n <= kSmallest) {
    std::vector<Hash> leaves;
    leaves.reserve(n);
    LODESTONE_RETURN_IF_ERROR(LeafHashes(snapshot, begin, end, leaves));
    return merkle::RangeRoot(leaves);
  }
  const uint64_t k = merkle::SplitPoint(n);
  LODESTONE_ASSIGN_OR_RETURN(Hash left, SubtreeHash(snapshot, begin, begin + k));
  LODESTONE_ASSIGN_OR_RETURN(Hash right, SubtreeHash(snapshot, begin + k, end));
  return NodeHash(left, right);
}

merkle::SubtreeHashFn LogImpl::SubtreeHashFnAt(const Snapshot* snapshot) const {
  return
      [this, snapshot](uint64_t begin, uint64_t end) { return SubtreeHash(snapshot, begin, end); };
}

absl::StatusOr<Hash> LogImpl::RootAt(uint64_t tree_size) const {
  const View view = CurrentView();
  if (tree_size > view.head.size) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " is beyond the head (size ", view.head.size, ")"));
  }
  if (tree_size == view.head.size) return view.head.root;
  if (tree_size == 0) return EmptyRoot();
  return SubtreeHash(view.snapshot.get(), 0, tree_size);
}

absl::StatusOr<merkle::Frontier> LogImpl::FrontierAt(uint64_t tree_size) const {
  const View view = CurrentView();
  if (tree_size > view.head.size) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " is beyond the head (size ", view.head.size, ")"));
  }
  return merkle::Frontier::Build(tree_size, SubtreeHashFnAt(view.snapshot.get()));
}

absl::StatusOr<std::vector<Hash>> LogImpl::InclusionProof(uint64_t position,
                                                          uint64_t tree_size) const {
  const View view = CurrentView();
  if (tree_size > view.head.size) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " is beyond the head (size ", view.head.size, ")"));
  }
  if (position >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("position ", position, " is not in a tree of size ", tree_size));
  }
  return merkle::InclusionPath(position, tree_size, SubtreeHashFnAt(view.snapshot.get()));
}

absl::StatusOr<std::vector<Hash>> LogImpl::ConsistencyProof(uint64_t old_size,
                                                            uint64_t new_size) const {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("old size ", old_size, " is larger than new size ", new_size));
  }
  const View view = CurrentView();
  if (new_size > view.head.size) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", new_size, " is beyond the head (size ", view.head.size, ")"));
  }
  return merkle::ConsistencyPath(old_size, new_size, SubtreeHashFnAt(view.snapshot.get()));
}

// ---------------------------------------------------------------------------------------------
// Log: verification

absl::Status LogImpl::VerifyIndexes(const Snapshot* snapshot, const Record& record) const {
  const rocksdb::ReadOptions read_options = ReadOptionsAt(snapshot);
  absl::StatusOr<std::vector<uint64_t>> positions =
      IdPositions(snapshot, format::IdKey(record.event_id));
  if (!positions.ok()) return positions.status();
  if (std::find(positions->begin(), positions->end(), record.position) == positions->end()) {
    return absl::DataLossError(
        absl::StrCat("event id index does not point at position ", record.position));
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(
      read_options, streams_, format::StreamKey(record.subject, record.stream_version), &value);
  if (!status.ok() && !status.IsNotFound()) return FromRocks(status, "read stream index");
  if (status.IsNotFound() ||
      format::DecodePosition(AsView(value)).value_or(~uint64_t{0}) != record.position) {
    return absl::DataLossError(
        absl::StrCat("stream index does not point at position ", record.position));
  }
  return absl::OkStatus();
}

absl::Status LogImpl::Verify(uint64_t from_position) const {
  const View view = CurrentView();
  const Snapshot* snapshot = view.snapshot.get();
  const uint64_t size = view.head.size;
  if (from_position > size) {
    return absl::OutOfRangeError(
        absl::StrCat("position ", from_position, " is beyond the head (size ", size, ")"));
  }
  // The stored head must be the published one.
  std::string head_value;
  rocksdb::Status status = db_->Get(ReadOptionsAt(snapshot), meta_, format::kHeadKey, &head_value);
  if (status.ok()) {
    LODESTONE_ASSIGN_OR_RETURN(format::StoredHead stored, format::DecodeHead(head_value));
    if (stored.size != size || stored.root != view.head.root || stored.chain != view.head.chain) {
      return absl::DataLossError("meta head does not match the published head");
    }
  } else if (!status.IsNotFound() || size != 0) {
    return status.IsNotFound() ? absl::DataLossError("meta head is missing")
                               : FromRocks(status, "read meta head");
  }

  LODESTONE_ASSIGN_OR_RETURN(merkle::Frontier frontier,
                             merkle::Frontier::Build(from_position, SubtreeHashFnAt(snapshot)));
  Hash chain = kZeroHash;
  if (from_position > 0) {
    LODESTONE_ASSIGN_OR_RETURN(Record previous, ReadRecordAt(snapshot, from_position - 1));
    chain = previous.chain;
  }

  const std::string upper = format::LogKey(size);
  const Slice upper_bound(upper);
  rocksdb::ReadOptions read_options = ReadOptionsAt(snapshot);
  read_options.iterate_upper_bound = &upper_bound;
  read_options.fill_cache = false;  // a full scan must not evict the working set
  read_options.readahead_size = size_t{2} << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, log_));
  uint64_t expected = from_position;
  absl::Status node_status;
  for (it->Seek(format::LogKey(from_position)); it->Valid(); it->Next(), ++expected) {
    LODESTONE_ASSIGN_OR_RETURN(uint64_t position, format::DecodeLogKey(AsView(it->key())));
    if (position != expected) break;
    LODESTONE_ASSIGN_OR_RETURN(Record record,
                               format::DecodeRecordValue(position, AsView(it->value())));
    const Hash leaf_hash = LeafHash(format::EncodeLeafData(record));
    chain = merkle::ChainHash(chain, leaf_hash);
    if (chain != record.chain) {
      return absl::DataLossError(absl::StrCat("hash chain breaks at position ", position));
    }
    LODESTONE_RETURN_IF_ERROR(VerifyIndexes(snapshot, record));
    frontier.Append(leaf_hash, [&](int level, uint64_t index, const Hash& hash) {
      if (level < format::kMinStoredLevel || !node_status.ok()) return;
      absl::StatusOr<Hash> stored = StoredNode(snapshot, level, index);
      if (!stored.ok()) {
        node_status = stored.status();
      } else if (*stored != hash) {
        node_status = absl::DataLossError(absl::StrCat("Merkle node at level ", level, " index ",
                                                       index, " does not match its records"));
      }
    });
    LODESTONE_RETURN_IF_ERROR(node_status);
  }
  LODESTONE_RETURN_IF_ERROR(FromRocks(it->status(), "read log"));
  if (expected != size) {
    return absl::DataLossError(absl::StrCat("record at position ", expected, " is missing"));
  }
  if (chain != view.head.chain) {
    return absl::DataLossError("hash chain of the last record does not match the head");
  }
  if (frontier.Root() != view.head.root) {
    return absl::DataLossError(absl::StrCat(
        "Merkle root recomputed from the records does not match the head (size ", size, ")"));
  }
  return absl::OkStatus();
}

Log::Stats LogImpl::GetStats() const {
  Stats stats;
  uint64_t value = 0;
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &value)) {
    stats.sst_bytes = value;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
    stats.memtable_bytes = value;
  }
  stats.block_cache_bytes = cache_->GetUsage();
  return stats;
}

absl::Status LogImpl::CompactAll() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (ColumnFamilyHandle* handle : handles_) {
    LODESTONE_RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, handle, nullptr, nullptr),
                                        absl::StrCat("compact ", handle->GetName())));
  }
  return absl::OkStatus();
}

}  // namespace

rocksdb::DB* DatabaseOf(Log& log) {
  auto* impl = dynamic_cast<LogImpl*>(&log);
  return impl == nullptr ? nullptr : impl->database();
}

absl::Status CompactAll(Log& log) {
  auto* impl = dynamic_cast<LogImpl*>(&log);
  if (impl == nullptr) return absl::InvalidArgumentError("not a Log returned by Log::Open");
  return impl->CompactAll();
}

absl::StatusOr<std::unique_ptr<Log>> OpenWithEnv(const LogOptions& options, rocksdb::Env* env) {
  return LogImpl::Open(options, env);
}

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const LogOptions& options) {
  return LogImpl::Open(options, options.env);
}

}  // namespace lodestone::storage
