// Prometheus metrics of a distributed-mode ledger node (docs/replication.md section 10). Part of
// the lodestone-ledger program, which alone links both the ledger and the replication module.
#ifndef LODESTONE_SERVICES_PROGRAMS_LEDGER_REPLICATION_METRICS_H_
#define LODESTONE_SERVICES_PROGRAMS_LEDGER_REPLICATION_METRICS_H_

#include <memory>

#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/replication/replicated_node.h"
#include "services/rpc/metrics_endpoint.h"

namespace lodestone::programs {

class ReplicationMetrics final : public replication::ReplicationObserver {
 public:
  ReplicationMetrics();
  // The node's status is read at scrape time (all zero while it does not run); `node` must
  // outlive the endpoint's scrapes.
  void Register(rpc::MetricsEndpoint& endpoint, const replication::ReplicatedNode& node);

  void OnCommit(absl::Duration etcd_txn, size_t records, size_t bytes) override;
  void OnFencingRejection() override { fencing_rejections_->Increment(); }
  void OnLeaderChange() override { leader_changes_->Increment(); }
  void OnCatchUpRejection() override { catchup_rejections_->Increment(); }
  void OnCompaction(int64_t batches_deleted) override {
    compacted_batches_->Increment(static_cast<double>(batches_deleted));
  }

 private:
  class StatusGauges;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* leader_changes_;
  prometheus::Counter* fencing_rejections_;
  prometheus::Counter* catchup_rejections_;
  prometheus::Counter* compacted_batches_;
  prometheus::Histogram* etcd_txn_seconds_;
  prometheus::Histogram* batch_records_;
  prometheus::Histogram* batch_bytes_;
};

}  // namespace lodestone::programs

#endif  // LODESTONE_SERVICES_PROGRAMS_LEDGER_REPLICATION_METRICS_H_
