// The Prometheus /metrics endpoint (prometheus-cpp) every program serves on its own port, and
// gauges computed at scrape time.
#ifndef LODESTONE_SERVICES_RPC_METRICS_ENDPOINT_H_
#define LODESTONE_SERVICES_RPC_METRICS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace lodestone::rpc {

class MetricsEndpoint {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one). UNAVAILABLE if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address);

  void Register(const std::shared_ptr<prometheus::Collectable>& collectable);
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, int port);
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

// Gauges whose values are read by callbacks when Prometheus scrapes. Callbacks must be cheap
// and thread-safe, and outlive the registration (unregister by destroying the endpoint first).
class CallbackGauges final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, std::function<double()> value);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> value;
  };
  std::vector<Gauge> gauges_;
};

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_METRICS_ENDPOINT_H_
