#include "services/provenance/provenance_node.h"

#include <iostream>

#include "absl/time/clock.h"
#include "services/provenance/compliance_queries.h"

namespace lodestone::provenance {

absl::StatusOr<std::unique_ptr<ProvenanceNode>> ProvenanceNode::Open(
    NodeOptions options, std::unique_ptr<EventSource> source) {
  std::unique_ptr<ProvenanceNode> node(new ProvenanceNode());
  node->options_ = options;
  auto store = storage::KvStore::Open(options.store);
  if (!store.ok()) return store.status();
  node->store_ = *std::move(store);
  {
    // Views of another format are derived data: fold them again from position 0.
    ViewStore probe(*node->store_);
    if (auto checkpoint = probe.ReadCheckpoint();
        checkpoint.status().code() == absl::StatusCode::kFailedPrecondition) {
      std::cerr << "provenance: " << checkpoint.status().message() << "; rebuilding them"
                << std::endl;
      if (auto status = node->store_->DeleteAll(); !status.ok()) return status;
    }
  }
  node->views_ = std::make_unique<ViewStore>(*node->store_, /*cache_facilities=*/true);
  node->query_views_ = std::make_unique<ViewStore>(*node->store_);
  node->projector_ = std::make_unique<Projector>(*node->views_, MakeShipmentFlagger());
  if (auto status = node->projector_->Open(); !status.ok()) return status;
  node->source_ = std::move(source);
  node->runner_ =
      std::make_unique<ProjectorRunner>(*node->projector_, *node->source_, options.runner);
  node->queries_ = std::make_unique<Queries>(*node->query_views_, options.limits);
  node->registry_ = std::make_shared<prometheus::Registry>();
  node->gauges_ = std::make_shared<rpc::CallbackGauges>();
  node->service_ = std::make_unique<ProvenanceServiceImpl>(*node->queries_, *node->runner_,
                                                           node->registry_.get(), options.service);
  node->events_applied_ = &prometheus::BuildCounter()
                               .Name("lodestone_provenance_events_applied_total")
                               .Help("Ledger events folded into the views.")
                               .Register(*node->registry_)
                               .Add({});
  node->lots_recomputed_ = &prometheus::BuildCounter()
                                .Name("lodestone_provenance_lots_recomputed_total")
                                .Help("Lot profiles computed (creation and recomputation).")
                                .Register(*node->registry_)
                                .Add({});
  node->flags_raised_ = &prometheus::BuildCounter()
                             .Name("lodestone_provenance_flags_raised_total")
                             .Help("Flags raised on shipments, by rule set.")
                             .Register(*node->registry_);
  ProvenanceNode* raw = node.get();
  node->gauges_->Add("lodestone_provenance_applied_position",
                     "Ledger events folded and committed (the next position to apply).",
                     [raw] { return static_cast<double>(raw->runner_->applied_position()); });
  node->gauges_->Add("lodestone_provenance_lag_positions",
                     "Ledger events not yet folded into the views.", [raw] {
                       const uint64_t size = raw->source_->ledger_size();
                       const uint64_t applied = raw->runner_->applied_position();
                       return static_cast<double>(size > applied ? size - applied : 0);
                     });
  node->gauges_->Add(
      "lodestone_provenance_lag_seconds",
      "Seconds since the projector last committed a batch while the ledger is ahead (0 when "
      "caught up).",
      [raw] {
        if (raw->source_->ledger_size() <= raw->runner_->applied_position()) return 0.0;
        const int64_t last = raw->last_batch_micros_.load();
        if (last == 0) return 0.0;
        return absl::ToDoubleSeconds(absl::Now() - absl::FromUnixMicros(last));
      });
  node->gauges_->Add("lodestone_provenance_up",
                     "1 while the projector folds; 0 after it stopped on an error.",
                     [raw] { return raw->runner_->health().ok() ? 1.0 : 0.0; });
  node->gauges_->Add("lodestone_provenance_rocksdb_sst_bytes",
                     "Live SST bytes of the provenance views.",
                     [raw] { return static_cast<double>(raw->store_->GetStats().sst_bytes); });
  node->runner_->SetBatchListener(
      [raw](size_t events, absl::Duration duration) { raw->OnBatch(events, duration); });
  return node;
}

ProvenanceNode::~ProvenanceNode() { Stop(); }

void ProvenanceNode::Start() { runner_->Start(); }

void ProvenanceNode::EnableBackups(storage::BackupOptions options) {
  backups_ = std::make_unique<storage::BackupRunner>(
      [this, options = std::move(options)]() -> absl::StatusOr<storage::BackupSummary> {
        // Committed with the views in one batch: the backup, taken after, holds at least it.
        absl::StatusOr<uint64_t> checkpoint = query_views_->ReadCheckpoint();
        if (!checkpoint.ok()) return checkpoint.status();
        return storage::BackupKvStore(*store_, *checkpoint, options);
      });
  service_->EnableBackups(backups_.get());
}

void ProvenanceNode::Stop() {
  if (backups_) backups_->Stop();
  if (runner_) runner_->Stop();
}

void ProvenanceNode::RegisterMetrics(rpc::MetricsEndpoint& endpoint) {
  endpoint.Register(registry_);
  endpoint.Register(gauges_);
}

void ProvenanceNode::OnBatch(size_t /*events*/, absl::Duration /*duration*/) {
  last_batch_micros_ = absl::ToUnixMicros(absl::Now());
  std::lock_guard lock(stats_mu_);
  const ProjectorStats& now = projector_->stats();
  events_applied_->Increment(static_cast<double>(now.events_applied - reported_.events_applied));
  lots_recomputed_->Increment(static_cast<double>(now.lots_recomputed - reported_.lots_recomputed));
  for (const auto& [rule_set, count] : now.flags_raised_by_rule_set) {
    const uint64_t before = reported_.flags_raised_by_rule_set[rule_set];
    if (count > before) {
      flags_raised_->Add({{"rule_set", rule_set}}).Increment(static_cast<double>(count - before));
    }
  }
  reported_ = now;
}

absl::Status DeleteViews(const storage::KvOptions& options) {
  auto store = storage::KvStore::Open(options);
  if (!store.ok()) return store.status();
  return (*store)->DeleteAll();
}

}  // namespace lodestone::provenance
