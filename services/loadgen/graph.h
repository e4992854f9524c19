// A generated supply-chain graph for the provenance benchmark: mines in several countries,
// extractions, partial consumption, splits, blends across countries (shipments re-merge
// material), and one deep chain for trace latency by depth. Deterministic for a seed.
#ifndef LODESTONE_SERVICES_LOADGEN_GRAPH_H_
#define LODESTONE_SERVICES_LOADGEN_GRAPH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lodestone/v1/events.pb.h"

namespace lodestone::loadgen {

struct GraphOptions {
  uint64_t lots = 1000000;  // lots to create in all (extracted and transformation outputs)
  uint64_t seed = 1;
  std::string prefix = "g";  // id prefix, so that several graphs can share a ledger
  int deep_chain = 1000;     // length of the deep chain (0: none)
};

struct GraphSummary {
  uint64_t events = 0;
  uint64_t lots = 0;
  std::vector<std::string> sample_lots;      // lots spread over the graph, for queries
  std::vector<std::string> deep_chain_lots;  // deep_chain_lots[k] is at depth k
};

// Calls `emit` with batches of consecutive events, in an order the ledger accepts.
GraphSummary GenerateGraph(const GraphOptions& options, size_t batch_events,
                           const std::function<bool(std::vector<v1::Event>)>& emit);

}  // namespace lodestone::loadgen

#endif  // LODESTONE_SERVICES_LOADGEN_GRAPH_H_
