// lodestone-ledger: the ledger service on one machine. Only main reads flags and environment.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/ledger/ledger_service.h"
#include "services/replication/replicated_node.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/stop_signals.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400", "gRPC address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9400",
          "Prometheus /metrics address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, data_dir, "./data/ledger", "RocksDB directory of the log");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache size (MiB)");
ABSL_FLAG(int, write_buffer_mb, 64, "Cap on RocksDB memtables (MiB)");
ABSL_FLAG(bool, sync, true,
          "fsync every commit group before acknowledging (never off in "
          "production)");
ABSL_FLAG(int, max_batch_events, 10000, "Most events in one Append");
ABSL_FLAG(int, max_queue, 4096, "Most append requests waiting to commit (then RESOURCE_EXHAUSTED)");
ABSL_FLAG(int, shutdown_grace_ms, 5000, "How long SIGTERM waits for in-flight calls");
ABSL_FLAG(std::string, etcd_endpoints, "",
          "distributed mode: comma-separated etcd 3.4 endpoints; empty = the embedded default "
          "(local sequencer, no etcd)");
ABSL_FLAG(std::string, cluster, "default",
          "distributed mode: keys live under /lodestone/<cluster>/");
ABSL_FLAG(std::string, node_id, "",
          "distributed mode: this node's id (default: the listen address)");
ABSL_FLAG(std::string, advertise_address, "",
          "distributed mode: host:port other nodes and clients reach this node at (default: the "
          "bound address)");
ABSL_FLAG(int, lease_ttl_ms, 2000, "distributed mode: the leader lease TTL");
ABSL_FLAG(std::string, port_file, "",
          "If set, write 'grpc_port metrics_port' to this file once serving (for tests)");

namespace {

int Run() {
  using lodestone::ledger::Ledger;
  lodestone::ledger::LedgerOptions options;
  options.log.path = absl::GetFlag(FLAGS_data_dir);
  options.log.block_cache_bytes = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.log.write_buffer_bytes = size_t(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  options.log.sync = absl::GetFlag(FLAGS_sync);
  options.max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  options.commit.max_queue_requests = absl::GetFlag(FLAGS_max_queue);

  const bool distributed = !absl::GetFlag(FLAGS_etcd_endpoints).empty();
  auto slot = std::make_shared<lodestone::replication::NodeSlot>();
  if (distributed) options.replicate = lodestone::replication::ReplicatedNode::ReplicateHook(slot);
  auto metrics = std::make_unique<lodestone::ledger::LedgerMetrics>();
  auto ledger = Ledger::Open(options, metrics.get());
  if (!ledger.ok()) {
    std::cerr << "lodestone-ledger: " << ledger.status() << "\n";
    return 1;
  }
  metrics->AttachLedger(ledger->get());
  auto endpoint = lodestone::rpc::MetricsEndpoint::Start(absl::GetFlag(FLAGS_metrics_listen));
  if (!endpoint.ok()) {
    std::cerr << "lodestone-ledger: " << endpoint.status() << "\n";
    return 1;
  }
  metrics->Register(**endpoint);
  lodestone::ledger::LedgerServiceImpl service(**ledger, metrics.get());
  // Distributed mode: a follower forwards appends to the leader. The node is created once the
  // port is bound; until then (and after it stops) this node forwards nothing.
  struct NodeHolder {
    std::shared_mutex mu;  // shared by readers: a slow leader lookup never blocks a reaction
    lodestone::replication::ReplicatedNode* node = nullptr;
  };
  auto holder = std::make_shared<NodeHolder>();
  if (distributed) {
    lodestone::ledger::Forwarding forwarding;
    forwarding.is_leader = [holder] {
      std::shared_lock lock(holder->mu);
      return holder->node == nullptr ||
             holder->node->role() == lodestone::replication::NodeRole::kLeader;
    };
    forwarding.leader_address = [holder] {
      std::shared_lock lock(holder->mu);
      return holder->node == nullptr ? std::string() : holder->node->leader_address();
    };
    service.EnableForwarding(std::move(forwarding));
  }
  auto server = lodestone::rpc::StartServer(absl::GetFlag(FLAGS_listen), {&service}, {});
  if (!server.ok()) {
    std::cerr << "lodestone-ledger: " << server.status() << "\n";
    return 1;
  }
  std::unique_ptr<lodestone::replication::ReplicatedNode> node;
  if (distributed) {
    lodestone::replication::ReplicatedNodeOptions node_options;
    node_options.etcd_endpoints = absl::GetFlag(FLAGS_etcd_endpoints);
    node_options.cluster = absl::GetFlag(FLAGS_cluster);
    node_options.advertise_address = absl::GetFlag(FLAGS_advertise_address);
    if (node_options.advertise_address.empty()) {
      node_options.advertise_address = "127.0.0.1:" + std::to_string(server->port);
    }
    node_options.node_id = absl::GetFlag(FLAGS_node_id);
    if (node_options.node_id.empty()) node_options.node_id = node_options.advertise_address;
    node_options.lease_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ttl_ms));
    auto created = lodestone::replication::ReplicatedNode::Create(node_options, **ledger, slot);
    if (!created.ok()) {
      std::cerr << "lodestone-ledger: " << created.status() << "\n";
      return 1;
    }
    node = *std::move(created);
    if (auto status = node->Start(); !status.ok()) {
      std::cerr << "lodestone-ledger: " << status << "\n";
      return 1;
    }
    {
      std::lock_guard lock(holder->mu);
      holder->node = node.get();
    }
    auto gauges = std::make_shared<lodestone::rpc::CallbackGauges>();
    gauges->Add("lodestone_replication_is_leader", "1 while this node is the leader, else 0.",
                [holder] {
                  std::shared_lock lock(holder->mu);
                  return holder->node != nullptr &&
                                 holder->node->role() == lodestone::replication::NodeRole::kLeader
                             ? 1.0
                             : 0.0;
                });
    gauges->Add("lodestone_replication_applied_sequence",
                "The last etcd batch sequence this node applied.", [holder] {
                  std::shared_lock lock(holder->mu);
                  return holder->node == nullptr
                             ? 0.0
                             : static_cast<double>(holder->node->applied_sequence());
                });
    (*endpoint)->Register(gauges);
    std::cout << "lodestone-ledger: distributed mode, node " << node_options.node_id << ", etcd "
              << node_options.etcd_endpoints << std::endl;
  }
  std::cout << "lodestone-ledger: serving gRPC on port " << server->port << ", metrics on port "
            << (*endpoint)->port() << ", data in " << options.log.path << ", log size "
            << (*ledger)->log().GetHead().size << std::endl;
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%d %d\n", server->port, (*endpoint)->port());
      std::fclose(f);
      std::rename(tmp.c_str(), port_file.c_str());
    }
  }

  const int signal = lodestone::rpc::WaitForStopSignal();
  std::cout << "lodestone-ledger: signal " << signal << ", draining" << std::endl;
  service.Shutdown();
  if (node) {
    {
      std::lock_guard lock(holder->mu);
      holder->node = nullptr;
    }
    node->Stop();  // resigns: another node takes over at once
  }
  server->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms)));
  (*ledger)->Stop();
  std::cout << "lodestone-ledger: stopped at log size " << (*ledger)->log().GetHead().size
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lodestone-ledger: the Lodestone ledger (append-only, hash-chained, Merkle-proven event "
      "log of critical-mineral shipments) serving lodestone.v1.LedgerService over gRPC.");
  absl::ParseCommandLine(argc, argv);
  lodestone::rpc::BlockStopSignals();
  return Run();
}
