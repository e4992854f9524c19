// One provenance replica: its view store, projector, runner, queries, gRPC service and metrics,
// wired together over an EventSource. Used by lodestone-provenance (remote ledger) and by the
// embedded server (in-process ledger).
#ifndef LODESTONE_SERVICES_PROVENANCE_PROVENANCE_NODE_H_
#define LODESTONE_SERVICES_PROVENANCE_PROVENANCE_NODE_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/provenance/event_source.h"
#include "services/provenance/projector.h"
#include "services/provenance/provenance_service.h"
#include "services/provenance/queries.h"
#include "services/provenance/runner.h"
#include "services/rpc/metrics_endpoint.h"
#include "storage/backup.h"
#include "storage/kv_store.h"

namespace lodestone::provenance {

struct NodeOptions {
  // The views are derived data committed atomically with their checkpoint: a crash can lose
  // only whole, recent batches, which are folded again. So they are not synced by default.
  storage::KvOptions store = NotSynced();
  static storage::KvOptions NotSynced() {
    storage::KvOptions options;
    options.sync = false;
    return options;
  }
  RunnerOptions runner;
  QueryLimits limits;
  ServiceOptions service;
};

class ProvenanceNode {
 public:
  // Opens the views (FAILED_PRECONDITION for views of another format: rebuild them).
  static absl::StatusOr<std::unique_ptr<ProvenanceNode>> Open(NodeOptions options,
                                                              std::unique_ptr<EventSource> source);
  ~ProvenanceNode();

  void Start();  // starts folding
  void Stop();   // stops folding and backups (the views stay as committed)

  // Serves ProvenanceService.BackupViews into `options.directory` (storage/backup.h), off the
  // gRPC threads, one at a time. Call before serving.
  void EnableBackups(storage::BackupOptions options);

  ProvenanceServiceImpl& service() { return *service_; }
  ProjectorRunner& runner() { return *runner_; }
  const Queries& queries() const { return *queries_; }
  void RegisterMetrics(rpc::MetricsEndpoint& endpoint);

 private:
  ProvenanceNode() = default;
  void OnBatch(size_t events, absl::Duration duration);

  NodeOptions options_;
  std::unique_ptr<storage::KvStore> store_;
  std::unique_ptr<ViewStore> views_;        // the projector's (with its overlay)
  std::unique_ptr<ViewStore> query_views_;  // the queries' (always an empty overlay)
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<EventSource> source_;
  std::unique_ptr<ProjectorRunner> runner_;
  std::unique_ptr<Queries> queries_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<rpc::CallbackGauges> gauges_;
  std::unique_ptr<ProvenanceServiceImpl> service_;
  prometheus::Counter* events_applied_ = nullptr;
  prometheus::Counter* lots_recomputed_ = nullptr;
  prometheus::Family<prometheus::Counter>* flags_raised_ = nullptr;
  ProjectorStats reported_;  // what the counters already hold
  std::mutex stats_mu_;
  std::atomic<int64_t> last_batch_micros_{0};
  std::unique_ptr<storage::BackupRunner> backups_;  // declared last: stopped before the store
};

// Deletes every view (and the checkpoint) in the store at `options.path`, so that the next Open
// folds the ledger again from position 0.
absl::Status DeleteViews(const storage::KvOptions& options);

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_PROVENANCE_NODE_H_
