#include "storage/kv_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"
#include "storage/log_internal.h"
#include "storage/rocks_util.h"

namespace lodestone::storage {

class KvStoreImpl final : public KvStore {
 public:
  explicit KvStoreImpl(const KvOptions& options) : options_(options) {}
  ~KvStoreImpl() override = default;

  absl::Status Open() {
    cache_ = NewBlockCache(options_.block_cache_bytes);
    const Compression compression = ChooseCompression();
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;  // Debian's default is DEBUG
    db_options.max_log_file_size = size_t{1} << 20;
    db_options.keep_log_file_num = 2;
    db_options.stats_dump_period_sec = 0;
    db_options.max_background_jobs = 2;
    db_options.max_open_files = 1024;
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options_.write_buffer_bytes);
    db_options.write_buffer_size =
        std::clamp<size_t>(options_.write_buffer_bytes / 2, size_t{1} << 20, size_t{64} << 20);
    db_options.max_total_wal_size =
        std::max<uint64_t>(uint64_t{16} << 20, uint64_t{2} * options_.write_buffer_bytes);
    db_options.level_compaction_dynamic_level_bytes = true;
    db_options.compression = compression.regular;
    db_options.bottommost_compression = compression.bottommost;
    db_options.memtable_prefix_bloom_size_ratio = 0.05;
    db_options.memtable_whole_key_filtering = true;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache_;
    ConfigureTable(table);
    table.format_version = 5;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    if (absl::Status created = CreateDirectories(nullptr, options_.path); !created.ok()) {
      return created;
    }
    rocksdb::DB* raw = nullptr;
    absl::Status status = FromRocks(rocksdb::DB::Open(db_options, options_.path, &raw),
                                    absl::StrCat("open ", options_.path));
    db_.reset(raw);
    return status;
  }

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override {
    std::string value;
    rocksdb::ReadOptions read_options;
    read_options.verify_checksums = true;
    rocksdb::Status status = db_->Get(read_options, AsSlice(key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (auto error = FromRocks(status, "kv get"); !error.ok()) return error;
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Write(const KvBatch& batch) override {
    rocksdb::WriteBatch write_batch;
    for (const auto& op : batch.ops_) {
      if (op.del) {
        write_batch.Delete(AsSlice(op.key));
      } else {
        write_batch.Put(AsSlice(op.key), AsSlice(op.value));
      }
    }
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync;
    return FromRocks(db_->Write(write_options, &write_batch), "kv write");
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      std::string_view prefix, std::string_view from, size_t max_entries,
      size_t max_bytes) const override {
    std::vector<std::pair<std::string, std::string>> out;
    rocksdb::ReadOptions read_options;
    read_options.verify_checksums = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
    const std::string_view start = from.empty() || from < prefix ? prefix : from;
    size_t bytes = 0;
    for (it->Seek(AsSlice(start)); it->Valid() && out.size() < max_entries; it->Next()) {
      const std::string_view key = AsView(it->key());
      if (!key.starts_with(prefix)) break;
      if (!out.empty() && bytes >= max_bytes) break;
      out.emplace_back(std::string(key), std::string(AsView(it->value())));
      bytes += key.size() + it->value().size();
    }
    if (auto error = FromRocks(it->status(), "kv scan"); !error.ok()) return error;
    return out;
  }

  absl::Status DeleteAll() override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!it->Valid()) return FromRocks(it->status(), "kv scan");
    const std::string first(AsView(it->key()));
    it->SeekToLast();
    std::string last(AsView(it->key()));
    last.push_back('\0');  // DeleteRange's end is exclusive
    it.reset();
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    return FromRocks(db_->DeleteRange(write_options, db_->DefaultColumnFamily(), first, last),
                     "kv delete all");
  }

  rocksdb::DB* db() { return db_.get(); }

  Stats GetStats() const override {
    Stats stats;
    uint64_t value = 0;
    if (db_->GetIntProperty("rocksdb.total-sst-files-size", &value)) stats.sst_bytes = value;
    if (db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &value)) {
      stats.memtable_bytes = value;
    }
    stats.block_cache_bytes = cache_->GetUsage();
    return stats;
  }

 private:
  const KvOptions options_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::unique_ptr<rocksdb::DB> db_;
};

rocksdb::DB* DatabaseOf(KvStore& store) {
  auto* impl = dynamic_cast<KvStoreImpl*>(&store);
  return impl == nullptr ? nullptr : impl->db();
}

absl::StatusOr<std::unique_ptr<KvStore>> KvStore::Open(const KvOptions& options) {
  auto store = std::make_unique<KvStoreImpl>(options);
  if (auto status = store->Open(); !status.ok()) return status;
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace lodestone::storage
