// lodestone-ledger: the ledger service on one machine. Only main reads flags and environment.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "prometheus/registry.h"
#include "services/domain/rules.h"
#include "services/epcis/epcis_endpoint.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/ledger/ledger_service.h"
#include "services/ledger/node_health.h"
#include "services/programs/ledger/replication_metrics.h"
#include "services/replication/replicated_node.h"
#include "services/rpc/exit_codes.h"
#include "services/rpc/identity.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/stop_signals.h"
#include "services/rpc/tls.h"
#include "storage/backup.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400", "gRPC address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9400",
          "Prometheus /metrics address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, http_listen, "",
          "EPCIS 2.0 REST binding (HTTP; HTTPS with --tls_cert) address (host:port; port 0 = any "
          "free); empty = off. In distributed mode a follower refuses captures (503 naming the "
          "leader)");
ABSL_FLAG(int, http_max_body_mb, 16, "Largest HTTP request body (MiB); larger: 413");
ABSL_FLAG(std::string, data_dir, "./data/ledger", "RocksDB directory of the log");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache size (MiB)");
ABSL_FLAG(int, write_buffer_mb, 64, "Cap on RocksDB memtables (MiB)");
ABSL_FLAG(bool, sync, true,
          "fsync every commit group before acknowledging (never off in "
          "production)");
ABSL_FLAG(int, max_batch_events, 10000, "Most events in one Append");
ABSL_FLAG(int, max_queue, 4096, "Most append requests waiting to commit (then RESOURCE_EXHAUSTED)");
ABSL_FLAG(absl::Duration, max_future_skew, lodestone::domain::kDefaultMaxFutureSkew,
          "an event_time later than the commit time plus this is refused (INVALID_ARGUMENT)");
ABSL_FLAG(absl::Duration, late_after, lodestone::domain::kDefaultLateAfter,
          "an event committed more than this after its event_time is late: judged at both times");
ABSL_FLAG(std::string, admin_party, "lodestone-admin",
          "the bootstrap administrator party: may append anything for any party and grant roles "
          "(docs/security.md); every node of a cluster must name the same");
ABSL_FLAG(std::string, plaintext_callers, "loopback",
          "without TLS, who is the administrator: loopback (local callers only) or any (every "
          "caller: only on a network whose every client is trusted)");
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
ABSL_FLAG(int, min_durable_copies, 2,
          "distributed mode: nodes that must have applied a batch before etcd may drop it");
ABSL_FLAG(int64_t, window_min_batches, 1000,
          "distributed mode: batches etcd keeps below the durable point, for absent followers");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of this node; with --tls_key, gRPC is served over TLS and "
          "appends forwarded to the leader use TLS with this identity");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates: clients must present a certificate from them (mutual TLS), and "
          "the leader is verified against them");
ABSL_FLAG(std::string, etcd_tls_cert, "",
          "distributed mode: PEM certificate chain this node presents to etcd (etcd's "
          "--client-cert-auth); with --etcd_tls_key");
ABSL_FLAG(std::string, etcd_tls_key, "", "PEM private key of --etcd_tls_cert (unencrypted)");
ABSL_FLAG(std::string, etcd_tls_ca, "",
          "distributed mode: PEM CA certificates etcd's server certificates are verified against "
          "(empty: the default roots). Any --etcd_tls_* flag turns TLS to etcd on; the "
          "--etcd_endpoints must then all be https://");
ABSL_FLAG(std::string, health_listen, "",
          "plain-text address (host:port) serving only grpc.health.v1.Health, for probes that "
          "cannot speak TLS; empty = none");
ABSL_FLAG(std::string, backup_dir, "",
          "directory of this node's online backups (LedgerService.Backup, `lodectl backup`); "
          "empty = backups refused. Not inside --data_dir");
ABSL_FLAG(int, backups_kept, 14, "backups kept in --backup_dir (older ones purged), 1..1000");
ABSL_FLAG(std::string, port_file, "",
          "If set, write 'grpc_port metrics_port' to this file once serving (for tests)");

namespace {

// The transport to etcd, from --etcd_tls_* and the scheme of --etcd_endpoints: TLS when any
// --etcd_tls_* flag is given or the endpoints are https:// (the etcd client then refuses
// endpoints that are not https://).
struct EtcdTransport {
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // null: plain text
  std::string description;
};

absl::StatusOr<EtcdTransport> EtcdTransportFromFlags(const std::string& endpoints) {
  const lodestone::rpc::TlsFiles files{absl::GetFlag(FLAGS_etcd_tls_cert),
                                       absl::GetFlag(FLAGS_etcd_tls_key),
                                       absl::GetFlag(FLAGS_etcd_tls_ca)};
  const bool flags = !files.cert.empty() || !files.key.empty() || !files.ca.empty();
  if (flags && endpoints.empty()) {
    return absl::InvalidArgumentError(
        "--etcd_tls_cert, --etcd_tls_key and --etcd_tls_ca need --etcd_endpoints (distributed "
        "mode)");
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        files.cert.empty() ? "--etcd_tls_key is set but --etcd_tls_cert is not: give both"
                           : "--etcd_tls_cert is set but --etcd_tls_key is not: give both");
  }
  EtcdTransport transport;
  if (!flags && !absl::StrContains(endpoints, "https://")) {
    transport.description = "plain text";
    return transport;
  }
  auto credentials = lodestone::rpc::ClientTlsCredentials(files);
  if (!credentials.ok()) return credentials.status();
  transport.credentials = *std::move(credentials);
  transport.description =
      absl::StrCat("TLS, ",
                   files.cert.empty() ? "no client certificate"
                                      : absl::StrCat("client certificate ", files.cert),
                   ", etcd verified against ", files.ca.empty() ? "the default roots" : files.ca);
  return transport;
}

int Fail(const absl::Status& status) {
  std::cerr << "lodestone-ledger: " << status << "\n";
  return lodestone::rpc::ExitCodeFor(status);
}

int Run() {
  using lodestone::ledger::Ledger;
  using lodestone::replication::NodeRole;
  using lodestone::replication::ReplicatedNode;
  const lodestone::rpc::TlsFiles tls_files{
      absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca)};
  auto transport = lodestone::rpc::ProgramTransportFromFlags(tls_files);
  if (!transport.ok()) {
    return Fail(transport.status());
  }
  auto identity = lodestone::rpc::ProgramIdentityOptions(transport->tls,
                                                         absl::GetFlag(FLAGS_plaintext_callers));
  if (!identity.ok()) {
    return Fail(identity.status());
  }
  if (identity->plaintext_admin_from_any_address) {
    std::cerr << "lodestone-ledger: WARNING: --plaintext_callers=any: every caller that reaches "
                 "the port is the administrator; use it only on a network you trust\n";
  }
  lodestone::ledger::LedgerOptions options;
  options.authority.admin_party = absl::GetFlag(FLAGS_admin_party);
  options.max_future_skew = absl::GetFlag(FLAGS_max_future_skew);
  options.late_after = absl::GetFlag(FLAGS_late_after);
  options.log.path = absl::GetFlag(FLAGS_data_dir);
  options.log.block_cache_bytes = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.log.write_buffer_bytes = size_t(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  options.log.sync = absl::GetFlag(FLAGS_sync);
  options.max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  options.commit.max_queue_requests = absl::GetFlag(FLAGS_max_queue);

  const bool distributed = !absl::GetFlag(FLAGS_etcd_endpoints).empty();
  auto etcd_transport = EtcdTransportFromFlags(absl::GetFlag(FLAGS_etcd_endpoints));
  if (!etcd_transport.ok()) {
    return Fail(etcd_transport.status());
  }
  if (distributed) {
    options.replicated = true;  // the node below is the ledger's replication hook once started
    // One commit group is one etcd value (at most 1 MiB): an append carries at most 256 KiB of
    // events and a group stops growing past 512 KiB (docs/replication.md section 3).
    options.max_batch_bytes = std::min<size_t>(options.max_batch_bytes, size_t{256} << 10);
    options.commit.max_group_bytes = size_t{512} << 10;
  }
  auto metrics = std::make_unique<lodestone::ledger::LedgerMetrics>();
  auto ledger = Ledger::Open(options, metrics.get());
  if (!ledger.ok()) {
    return Fail(ledger.status());
  }
  metrics->AttachLedger(ledger->get());
  // Distributed mode: the node exists from here on (it outlives the service, the server and the
  // metrics endpoint, declared after it); it runs from Start, once the port is bound, until
  // Stop. While it is not running (role kStopped) this node forwards nothing and reports no
  // replication status.
  std::unique_ptr<ReplicatedNode> node;
  lodestone::replication::ReplicatedNodeOptions node_options;
  auto replication_metrics = std::make_unique<lodestone::programs::ReplicationMetrics>();
  if (distributed) {
    node_options.etcd_endpoints = absl::GetFlag(FLAGS_etcd_endpoints);
    node_options.etcd_credentials = etcd_transport->credentials;
    node_options.cluster = absl::GetFlag(FLAGS_cluster);
    node_options.advertise_address = absl::GetFlag(FLAGS_advertise_address);
    node_options.node_id = absl::GetFlag(FLAGS_node_id);
    node_options.lease_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_lease_ttl_ms));
    node_options.min_durable_copies = absl::GetFlag(FLAGS_min_durable_copies);
    node_options.window_min_batches = absl::GetFlag(FLAGS_window_min_batches);
    node_options.observer = replication_metrics.get();
    node_options.peer_credentials = transport->client;  // catch-up from peers, as forwarding
    auto created = ReplicatedNode::Create(node_options, **ledger);
    if (!created.ok()) {
      return Fail(created.status());
    }
    node = *std::move(created);
  }
  auto endpoint = lodestone::rpc::MetricsEndpoint::Start(absl::GetFlag(FLAGS_metrics_listen));
  if (!endpoint.ok()) {
    return Fail(endpoint.status());
  }
  metrics->Register(**endpoint);
  auto http_registry = std::make_shared<prometheus::Registry>();
  (*endpoint)->Register(http_registry);
  lodestone::ledger::LedgerServiceImpl service(**ledger, metrics.get());
  service.RequireAttestation(*identity);
  // Honest health: a failed log or a stopped replication is NOT_SERVING, with the reason in
  // GetHead and the metrics, and appends get its precise status.
  lodestone::ledger::NodeHealth health((*ledger)->log(), [&node]() -> absl::Status {
    return node ? node->status() : absl::OkStatus();
  });
  metrics->AttachHealth(&health);
  service.SetHealth(&health);
  std::unique_ptr<lodestone::storage::BackupRunner> backups;
  if (const std::string backup_dir = absl::GetFlag(FLAGS_backup_dir); !backup_dir.empty()) {
    backups = lodestone::storage::BackupRunner::ForLog(
        (*ledger)->log(),
        lodestone::storage::BackupOptions{.directory = backup_dir,
                                          .max_kept = static_cast<uint32_t>(std::clamp(
                                              absl::GetFlag(FLAGS_backups_kept), 1, 1000))});
    service.EnableBackups(backups.get());
  }
  if (distributed) {
    // A follower forwards appends to the leader.
    lodestone::ledger::Forwarding forwarding;
    forwarding.is_leader = [&node = *node] {
      const NodeRole role = node.role();
      return role == NodeRole::kStopped || role == NodeRole::kLeader;
    };
    forwarding.leader_address = [&node = *node] {
      return node.role() == NodeRole::kStopped ? std::string() : node.leader_address();
    };
    forwarding.credentials = transport->client;
    service.EnableForwarding(std::move(forwarding));
    service.SetNodeStatus([&node = *node]() -> std::optional<lodestone::v1::NodeStatus> {
      const lodestone::replication::ReplicationStatus status = node.GetStatus();
      if (status.role == NodeRole::kStopped) return std::nullopt;
      lodestone::v1::NodeStatus out;
      out.set_node_id(node.node_id());
      out.set_role(lodestone::replication::NodeRoleName(status.role));
      out.set_leader_id(status.leader_id);
      out.set_applied_sequence(status.applied_sequence);
      out.set_committed_sequence(status.committed_sequence);
      return out;
    });
    replication_metrics->Register(**endpoint, *node);
  }
  auto server =
      lodestone::rpc::StartServer(absl::GetFlag(FLAGS_listen), {&service}, {},
                                  {transport->server, absl::GetFlag(FLAGS_health_listen)});
  if (!server.ok()) {
    return Fail(server.status());
  }
  health.Watch([&server = *server](const absl::Status& status) {
    server.SetServing(status.ok());
    if (!status.ok()) std::cerr << "lodestone-ledger: NOT_SERVING: " << status << std::endl;
  });
  if (distributed) {
    std::string advertise_address = absl::GetFlag(FLAGS_advertise_address);
    if (advertise_address.empty()) advertise_address = "127.0.0.1:" + std::to_string(server->port);
    if (auto status = node->SetAdvertiseAddress(advertise_address); !status.ok()) {
      return Fail(status);
    }
    if (auto status = node->Start(); !status.ok()) {
      return Fail(status);
    }
    std::cout << "lodestone-ledger: distributed mode, node " << node->node_id() << ", etcd "
              << node_options.etcd_endpoints << " (" << etcd_transport->description << ")"
              << std::endl;
  }
  auto epcis = lodestone::epcis::StartProgramEndpoint(
      **ledger,
      {absl::GetFlag(FLAGS_http_listen), absl::GetFlag(FLAGS_http_max_body_mb), tls_files},
      *identity, http_registry.get());
  if (!epcis.ok()) {
    return Fail(epcis.status());
  }
  std::cout << "lodestone-ledger: " << transport->description;
  if (server->health_server) std::cout << "; plain-text health on port " << server->health_port;
  std::cout << std::endl;
  std::cout << "lodestone-ledger: serving gRPC on port " << server->port << ", metrics on port "
            << (*endpoint)->port() << ", data in " << options.log.path << ", log size "
            << (*ledger)->log().GetHead().size << std::endl;
  if (*epcis) {
    std::cout << "lodestone-ledger: serving EPCIS 2.0 at " << (*epcis)->url() << std::endl;
  }
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
  if (*epcis) (*epcis)->Stop();
  if (backups) backups->Stop();  // a running backup finishes and answers
  health.Stop();
  if (node) node->Stop();  // resigns: another node takes over at once
  server->Shutdown(std::chrono::system_clock::now() +
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
