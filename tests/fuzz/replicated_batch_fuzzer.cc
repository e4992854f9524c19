// The replication batch decoder: what a follower does with a batch value read from etcd
// (services/replication: ReplicatedBatch bytes -> ToCommittedBatch -> Ledger::ApplyCommitted).
// Input: the bytes of a lodestone.v1.internal.ReplicatedBatch (an etcd value). Each input is
// applied to a new, empty ledger (real RocksDB, on RocksDB's in-memory Env), so inputs do not
// depend on each other.
// Invariants: ToCommittedBatch keeps every field; an applied batch reads back record for record
// with its commit time, the log verifies (chain, Merkle root) and the applied sequence is the
// batch's; a refused batch (any status) leaves the log empty and no sequence; a batch that does
// not start at position 0 is refused.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "lodestone/v1/state.pb.h"
#include "rocksdb/env.h"
#include "services/ledger/ledger.h"
#include "services/replication/replicated_batch.h"
#include "storage/log.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using lodestone::v1::internal::ReplicatedBatch;

constexpr int kMaxRecords = 32;  // bounds the work per input

void CheckCommittedBatch(const ReplicatedBatch& batch) {
  const auto committed = lodestone::replication::ToCommittedBatch(batch);
  FUZZ_CHECK(committed.first_position == batch.first_position());
  FUZZ_CHECK(committed.commit_time == absl::FromUnixMicros(batch.commit_time_micros()));
  FUZZ_CHECK(committed.records.size() == static_cast<size_t>(batch.records_size()));
  for (int i = 0; i < batch.records_size(); ++i) {
    FUZZ_CHECK(committed.records[i].event_id == batch.records(i).event_id());
    FUZZ_CHECK(committed.records[i].subject == batch.records(i).subject());
    FUZZ_CHECK(committed.records[i].payload == batch.records(i).payload());
  }
  FUZZ_CHECK(committed.state.size() == (batch.sequence() > 0 ? 1u : 0u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReplicatedBatch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (batch.records_size() > kMaxRecords) return 0;
  CheckCommittedBatch(batch);

  std::unique_ptr<rocksdb::Env> env(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  lodestone::ledger::LedgerOptions options;
  options.log.path = "/fuzz/ledger";
  options.log.env = env.get();
  options.log.sync = false;
  options.log.block_cache_bytes = size_t{1} << 20;
  options.log.write_buffer_bytes = size_t{4} << 20;
  options.authority.admin_party = "lodestone-admin";
  auto ledger = lodestone::ledger::Ledger::Open(options);
  FUZZ_CHECK(ledger.ok());

  const absl::Status status = lodestone::replication::ApplyReplicatedAndWait(**ledger, batch);
  const lodestone::storage::Log& log = (*ledger)->log();
  const auto sequence = lodestone::replication::AppliedSequence(log);
  FUZZ_CHECK(sequence.ok());
  if (batch.first_position() != 0) FUZZ_CHECK(!status.ok());
  if (!status.ok()) {
    FUZZ_CHECK(log.GetHead().size == 0);
    FUZZ_CHECK(*sequence == 0);
  } else {
    const size_t n = batch.records_size();
    FUZZ_CHECK(log.GetHead().size == n);
    FUZZ_CHECK(*sequence == (batch.sequence() > 0 ? batch.sequence() : 0));
    if (n > 0) {
      auto records = log.ReadAll(0, n, SIZE_MAX);
      FUZZ_CHECK(records.ok() && records->size() == n);
      for (size_t i = 0; i < n; ++i) {
        const auto& record = (*records)[i];
        FUZZ_CHECK(record.position == i);
        FUZZ_CHECK(record.event_id == batch.records(i).event_id());
        FUZZ_CHECK(record.subject == batch.records(i).subject());
        FUZZ_CHECK(record.payload == batch.records(i).payload());
        FUZZ_CHECK(record.commit_time == absl::FromUnixMicros(batch.commit_time_micros()));
      }
      FUZZ_CHECK(log.Verify().ok());
    }
  }
  (*ledger)->Stop();
  ledger->reset();
  return 0;
}
