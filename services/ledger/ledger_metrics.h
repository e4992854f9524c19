// The ledger's Prometheus metrics. Names follow Prometheus conventions (base units, _total for
// counters); no ids as labels.
#ifndef LODESTONE_SERVICES_LEDGER_LEDGER_METRICS_H_
#define LODESTONE_SERVICES_LEDGER_LEDGER_METRICS_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/ledger/ledger.h"
#include "services/rpc/metrics_endpoint.h"

namespace lodestone::ledger {

class NodeHealth;

class LedgerMetrics final : public LedgerObserver {
 public:
  LedgerMetrics();

  // Adds scrape-time gauges over the ledger (log size, queue depth, RocksDB figures). The
  // ledger must outlive scrapes of the endpoint.
  void AttachLedger(Ledger* ledger);
  // Adds lodestone_ledger_serving (1 while appends are taken, else 0) and
  // lodestone_ledger_health_code (the gRPC status code appends get: 0, or 8, 9, 15). `health`
  // must outlive scrapes.
  void AttachHealth(const NodeHealth* health);
  void Register(rpc::MetricsEndpoint& endpoint);

  void OnAppendDone(const absl::Status& status, const AppendOutcome* outcome,
                    size_t batch_events) override;
  void OnCommitGroup(size_t requests, size_t records, absl::Duration duration) override;

  void ObserveAppendLatency(absl::Duration latency);
  void SubscriberAdded() { subscribers_->Increment(); }
  void SubscriberRemoved() { subscribers_->Decrement(); }

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  prometheus::Counter& RejectionCounter(std::string_view reason);

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<rpc::CallbackGauges> gauges_;
  prometheus::Family<prometheus::Counter>* appends_;
  prometheus::Family<prometheus::Counter>* events_;
  prometheus::Family<prometheus::Counter>* rejections_;
  prometheus::Counter* appends_accepted_;
  prometheus::Counter* appends_duplicate_;
  prometheus::Counter* appends_rejected_;
  prometheus::Counter* events_accepted_;
  prometheus::Counter* events_duplicate_;
  prometheus::Counter* events_rejected_;
  prometheus::Counter* commit_groups_;
  prometheus::Counter* committed_records_;
  prometheus::Histogram* append_latency_;
  prometheus::Histogram* batch_events_;
  prometheus::Histogram* group_requests_;
  prometheus::Histogram* commit_duration_;
  prometheus::Gauge* subscribers_;
  absl::Mutex mu_;
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_LEDGER_METRICS_H_
