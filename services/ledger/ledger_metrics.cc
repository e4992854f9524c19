#include "services/ledger/ledger_metrics.h"

#include "services/domain/errors.h"
#include "services/ledger/node_health.h"

namespace lodestone::ledger {
namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5};
}

prometheus::Histogram::BucketBoundaries CountBuckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384};
}

}  // namespace

LedgerMetrics::LedgerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      gauges_(std::make_shared<rpc::CallbackGauges>()) {
  appends_ = &prometheus::BuildCounter()
                  .Name("lodestone_ledger_appends_total")
                  .Help("Append requests by outcome (accepted, duplicate, rejected).")
                  .Register(*registry_);
  events_ = &prometheus::BuildCounter()
                 .Name("lodestone_ledger_events_total")
                 .Help("Events in append requests by outcome (accepted, duplicate, rejected).")
                 .Register(*registry_);
  rejections_ = &prometheus::BuildCounter()
                     .Name("lodestone_ledger_rejections_total")
                     .Help("Rejected append requests by reason.")
                     .Register(*registry_);
  appends_accepted_ = &appends_->Add({{"outcome", "accepted"}});
  appends_duplicate_ = &appends_->Add({{"outcome", "duplicate"}});
  appends_rejected_ = &appends_->Add({{"outcome", "rejected"}});
  events_accepted_ = &events_->Add({{"outcome", "accepted"}});
  events_duplicate_ = &events_->Add({{"outcome", "duplicate"}});
  events_rejected_ = &events_->Add({{"outcome", "rejected"}});
  commit_groups_ = &prometheus::BuildCounter()
                        .Name("lodestone_ledger_syncs_total")
                        .Help("Durable commits (one synced write per commit group).")
                        .Register(*registry_)
                        .Add({});
  committed_records_ = &prometheus::BuildCounter()
                            .Name("lodestone_ledger_committed_events_total")
                            .Help("Events made durable.")
                            .Register(*registry_)
                            .Add({});
  append_latency_ = &prometheus::BuildHistogram()
                         .Name("lodestone_ledger_append_latency_seconds")
                         .Help("Time from receiving an append to its durable acknowledgement.")
                         .Register(*registry_)
                         .Add({}, LatencyBuckets());
  batch_events_ = &prometheus::BuildHistogram()
                       .Name("lodestone_ledger_append_batch_events")
                       .Help("Events per append request.")
                       .Register(*registry_)
                       .Add({}, CountBuckets());
  group_requests_ = &prometheus::BuildHistogram()
                         .Name("lodestone_ledger_commit_group_requests")
                         .Help("Append requests sharing one synced commit.")
                         .Register(*registry_)
                         .Add({}, CountBuckets());
  commit_duration_ =
      &prometheus::BuildHistogram()
           .Name("lodestone_ledger_commit_duration_seconds")
           .Help("Duration of one commit group's write and sync (validation excluded).")
           .Register(*registry_)
           .Add({}, LatencyBuckets());
  subscribers_ = &prometheus::BuildGauge()
                      .Name("lodestone_ledger_subscribers")
                      .Help("Open Subscribe streams.")
                      .Register(*registry_)
                      .Add({});
}

void LedgerMetrics::AttachHealth(const NodeHealth* health) {
  gauges_->Add("lodestone_ledger_serving",
               "1 while this node takes appends (gRPC health SERVING), else 0 (GetHead says why).",
               [health] { return health->Check().ok() ? 1.0 : 0.0; });
  gauges_->Add("lodestone_ledger_health_code",
               "The gRPC status code appends get while not serving (8 RESOURCE_EXHAUSTED: disk "
               "full, 9 FAILED_PRECONDITION: failed log or stopped replication, 15 DATA_LOSS); 0 "
               "while serving.",
               [health] { return static_cast<double>(health->Check().code()); });
}

void LedgerMetrics::AttachLedger(Ledger* ledger) {
  gauges_->Add("lodestone_ledger_log_size_events", "Records in the log (the next position).",
               [ledger] { return static_cast<double>(ledger->log().GetHead().size); });
  gauges_->Add(
      "lodestone_ledger_commit_queue_depth", "Append requests waiting to commit.",
      [ledger] { return static_cast<double>(ledger->committer().GetStats().queue_depth); });
  gauges_->Add("lodestone_ledger_commit_queue_capacity", "Limit of the commit queue.", [ledger] {
    return static_cast<double>(ledger->options().commit.max_queue_requests);
  });
  gauges_->Add("lodestone_rocksdb_sst_bytes", "Live SST file bytes of the ledger's RocksDB.",
               [ledger] { return static_cast<double>(ledger->log().GetStats().sst_bytes); });
  gauges_->Add("lodestone_rocksdb_memtable_bytes", "Memtable bytes of the ledger's RocksDB.",
               [ledger] { return static_cast<double>(ledger->log().GetStats().memtable_bytes); });
  gauges_->Add(
      "lodestone_rocksdb_block_cache_bytes", "Block cache usage of the ledger's RocksDB.",
      [ledger] { return static_cast<double>(ledger->log().GetStats().block_cache_bytes); });
}

void LedgerMetrics::Register(rpc::MetricsEndpoint& endpoint) {
  endpoint.Register(registry_);
  endpoint.Register(gauges_);
}

prometheus::Counter& LedgerMetrics::RejectionCounter(std::string_view reason) {
  absl::MutexLock lock(&mu_);
  return rejections_->Add({{"reason", std::string(reason)}});
}

void LedgerMetrics::OnAppendDone(const absl::Status& status, const AppendOutcome* outcome,
                                 size_t batch_events) {
  batch_events_->Observe(static_cast<double>(batch_events));
  if (!status.ok()) {
    appends_rejected_->Increment();
    events_rejected_->Increment(static_cast<double>(batch_events));
    RejectionCounter(domain::RejectionLabel(status)).Increment();
    return;
  }
  if (outcome != nullptr && outcome->duplicate) {
    appends_duplicate_->Increment();
    events_duplicate_->Increment(static_cast<double>(batch_events));
  } else {
    appends_accepted_->Increment();
    events_accepted_->Increment(static_cast<double>(batch_events));
  }
}

void LedgerMetrics::OnCommitGroup(size_t requests, size_t records, absl::Duration duration) {
  commit_groups_->Increment();
  committed_records_->Increment(static_cast<double>(records));
  group_requests_->Observe(static_cast<double>(requests));
  commit_duration_->Observe(absl::ToDoubleSeconds(duration));
}

void LedgerMetrics::ObserveAppendLatency(absl::Duration latency) {
  append_latency_->Observe(absl::ToDoubleSeconds(latency));
}

}  // namespace lodestone::ledger
