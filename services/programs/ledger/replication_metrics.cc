#include "services/programs/ledger/replication_metrics.h"

#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace lodestone::programs {
namespace {

using replication::NodeRole;

prometheus::MetricFamily Gauge(std::string name, std::string help) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  return family;
}

void AddValue(prometheus::MetricFamily& family, double value,
              std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

}  // namespace

// Scrape-time gauges over the node's status.
class ReplicationMetrics::StatusGauges final : public prometheus::Collectable {
 public:
  explicit StatusGauges(const replication::ReplicatedNode& node) : node_(node) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    replication::ReplicationStatus s = node_.GetStatus();
    if (s.role == NodeRole::kStopped) s = {};  // not running: no stale figures
    auto role = Gauge("lodestone_replication_role", "1 for this node's current role, else 0.");
    for (NodeRole r :
         {NodeRole::kLeader, NodeRole::kFollower, NodeRole::kCatchingUp, NodeRole::kStopped}) {
      AddValue(role, s.role == r ? 1 : 0, {{"role", replication::NodeRoleName(r)}});
    }
    auto is_leader =
        Gauge("lodestone_replication_is_leader", "1 while this node is the leader, else 0.");
    AddValue(is_leader, s.role == NodeRole::kLeader ? 1 : 0);
    auto applied = Gauge("lodestone_replication_applied_sequence",
                         "The last etcd batch sequence this node applied.");
    AddValue(applied, static_cast<double>(s.applied_sequence));
    auto committed = Gauge("lodestone_replication_committed_sequence",
                           "The last batch sequence committed in etcd, as this node last saw it.");
    AddValue(committed, static_cast<double>(s.committed_sequence));
    auto lag = Gauge("lodestone_replication_lag_batches",
                     "Committed batches this node has not applied yet.");
    AddValue(lag, static_cast<double>(s.committed_sequence - s.applied_sequence));
    auto window = Gauge("lodestone_replication_window_batches",
                        "Batches etcd holds (its window), as this node last saw it.");
    AddValue(window,
             static_cast<double>(std::max<int64_t>(0, s.committed_sequence - s.window_first + 1)));
    return {std::move(role),      std::move(is_leader), std::move(applied),
            std::move(committed), std::move(lag),       std::move(window)};
  }

 private:
  const replication::ReplicatedNode& node_;
};

ReplicationMetrics::ReplicationMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto counter = [this](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add({});
  };
  leader_changes_ = counter("lodestone_replication_leader_changes_total",
                            "Changes of the cluster's leader this node observed.");
  fencing_rejections_ =
      counter("lodestone_replication_fencing_rejections_total",
              "Commits or compactions of this node that etcd refused (fence or sequence).");
  catchup_rejections_ = counter("lodestone_replication_catchup_rejections_total",
                                "Peer catch-up chunks refused because they did not verify.");
  compacted_batches_ = counter("lodestone_replication_compacted_batches_total",
                               "Batches this node deleted from etcd's window as leader.");
  etcd_txn_seconds_ =
      &prometheus::BuildHistogram()
           .Name("lodestone_replication_etcd_txn_seconds")
           .Help("Duration of the leader's successful fenced commit Txns.")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                            0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  batch_records_ =
      &prometheus::BuildHistogram()
           .Name("lodestone_replication_batch_records")
           .Help("Records per committed batch.")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 4, 16, 64, 256, 1024, 4096, 16384});
  batch_bytes_ = &prometheus::BuildHistogram()
                      .Name("lodestone_replication_batch_bytes")
                      .Help("Encoded bytes per committed batch.")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{256, 1024, 4096, 16384,
                                                                       65536, 262144, 1048576});
}

void ReplicationMetrics::Register(rpc::MetricsEndpoint& endpoint,
                                  const replication::ReplicatedNode& node) {
  endpoint.Register(registry_);
  endpoint.Register(std::make_shared<StatusGauges>(node));
}

void ReplicationMetrics::OnCommit(absl::Duration etcd_txn, size_t records, size_t bytes) {
  etcd_txn_seconds_->Observe(absl::ToDoubleSeconds(etcd_txn));
  batch_records_->Observe(static_cast<double>(records));
  batch_bytes_->Observe(static_cast<double>(bytes));
}

}  // namespace lodestone::programs
