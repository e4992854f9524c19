// lodestone-provenance: a provenance replica that subscribes to a ledger over gRPC, folds it into
// origin views and serves lodestone.v1.ProvenanceService. Only main reads flags.
#include <algorithm>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "prometheus/registry.h"
#include "services/console/console_api.h"
#include "services/http/http_server.h"
#include "services/provenance/provenance_node.h"
#include "services/rpc/exit_codes.h"
#include "services/rpc/identity.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/stop_signals.h"
#include "services/rpc/tls.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7401", "gRPC address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9401",
          "Prometheus /metrics address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, data_dir, "./data/provenance", "RocksDB directory of the views");
ABSL_FLAG(std::string, ledger_address, "127.0.0.1:7400", "the ledger to follow (host:port)");
ABSL_FLAG(int, block_cache_mb, 256, "RocksDB block cache size (MiB)");
ABSL_FLAG(int, write_buffer_mb, 64, "Cap on RocksDB memtables (MiB)");
ABSL_FLAG(bool, rebuild, false, "delete the views and fold the ledger again from position 0");
ABSL_FLAG(int, shutdown_grace_ms, 5000, "How long SIGTERM waits for in-flight calls");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of this program; with --tls_key, gRPC is served over TLS, and the "
          "ledger is followed over TLS with this identity");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates: clients must present a certificate from them (mutual TLS); the "
          "ledger is verified against them");
ABSL_FLAG(std::string, admin_party, "lodestone-admin",
          "the bootstrap administrator party: reads every answer unredacted, like auditors");
ABSL_FLAG(std::string, plaintext_callers, "loopback",
          "without TLS, who reads everything: loopback (local callers only; others are "
          "UNAUTHENTICATED) or any (every caller: only on a network whose every client is "
          "trusted)");
ABSL_FLAG(std::string, http_listen, "",
          "the compliance console (HTTP; HTTPS with --tls_cert) address (host:port; port 0 = any "
          "free; empty = off)");
ABSL_FLAG(int, http_max_body_mb, 1, "Largest HTTP request body (MiB); larger: 413");
ABSL_FLAG(std::string, backup_dir, "",
          "directory of the views' online backups (ProvenanceService.BackupViews, `lodectl "
          "backup views`); empty = backups refused. Not inside --data_dir");
ABSL_FLAG(int, backups_kept, 14, "backups kept in --backup_dir (older ones purged), 1..1000");
ABSL_FLAG(std::string, health_listen, "",
          "plain-text address (host:port) serving only grpc.health.v1.Health, for probes that "
          "cannot speak TLS; empty = none");

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "lodestone-provenance: " << status << "\n";
  return lodestone::rpc::ExitCodeFor(status);
}

int Run() {
  using lodestone::provenance::NodeOptions;
  auto transport = lodestone::rpc::ProgramTransportFromFlags(
      {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca)});
  if (!transport.ok()) return Fail(transport.status());
  auto identity = lodestone::rpc::ProgramIdentityOptions(transport->tls,
                                                         absl::GetFlag(FLAGS_plaintext_callers));
  if (!identity.ok()) return Fail(identity.status());
  if (identity->plaintext_admin_from_any_address) {
    std::cerr << "lodestone-provenance: WARNING: --plaintext_callers=any: every caller that "
                 "reaches the port reads everything; use it only on a network you trust\n";
  }
  NodeOptions options;
  options.service.identity = *identity;
  options.service.admin_party = absl::GetFlag(FLAGS_admin_party);
  options.store.path = absl::GetFlag(FLAGS_data_dir);
  options.store.block_cache_bytes = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  options.store.write_buffer_bytes = size_t(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  if (absl::GetFlag(FLAGS_rebuild)) {
    if (auto status = lodestone::provenance::DeleteViews(options.store); !status.ok()) {
      return Fail(status);
    }
    std::cout << "lodestone-provenance: views deleted; folding the ledger from position 0"
              << std::endl;
  }
  lodestone::provenance::RemoteSourceOptions source;
  source.ledger_address = absl::GetFlag(FLAGS_ledger_address);
  source.credentials = transport->client;
  auto node = lodestone::provenance::ProvenanceNode::Open(
      options, std::make_unique<lodestone::provenance::RemoteLedgerSource>(source));
  if (!node.ok()) return Fail(node.status());
  auto endpoint = lodestone::rpc::MetricsEndpoint::Start(absl::GetFlag(FLAGS_metrics_listen));
  if (!endpoint.ok()) return Fail(endpoint.status());
  (*node)->RegisterMetrics(**endpoint);
  auto http_registry = std::make_shared<prometheus::Registry>();
  (*endpoint)->Register(http_registry);
  if (const std::string backup_dir = absl::GetFlag(FLAGS_backup_dir); !backup_dir.empty()) {
    (*node)->EnableBackups({.directory = backup_dir,
                            .max_kept = static_cast<uint32_t>(
                                std::clamp(absl::GetFlag(FLAGS_backups_kept), 1, 1000))});
  }
  (*node)->Start();
  auto server =
      lodestone::rpc::StartServer(absl::GetFlag(FLAGS_listen), {&(*node)->service()}, {},
                                  {transport->server, absl::GetFlag(FLAGS_health_listen)});
  if (!server.ok()) return Fail(server.status());
  // The console over HTTP (no ledger here: its proof page is hidden).
  std::unique_ptr<lodestone::http::HttpServer> http;
  if (const std::string http_listen = absl::GetFlag(FLAGS_http_listen); !http_listen.empty()) {
    const int max_body_mb = absl::GetFlag(FLAGS_http_max_body_mb);
    if (max_body_mb < 1 || max_body_mb > 64) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--http_max_body_mb must be in [1, 64], not ", max_body_mb)));
    }
    lodestone::http::ServerOptions http_options;
    http_options.address = http_listen;
    if (transport->tls) {
      auto material = lodestone::rpc::LoadTlsMaterial({absl::GetFlag(FLAGS_tls_cert),
                                                       absl::GetFlag(FLAGS_tls_key),
                                                       absl::GetFlag(FLAGS_tls_ca)});
      if (!material.ok()) return Fail(material.status());
      http_options.tls = *std::move(material);
    }
    http_options.identity = *identity;
    http_options.limits.max_body_bytes = size_t(max_body_mb) << 20;
    http_options.registry = http_registry.get();
    http_options.server_name = "lodestone-provenance";
    auto created = lodestone::http::HttpServer::Create(std::move(http_options));
    if (!created.ok()) return Fail(created.status());
    http = *std::move(created);
    lodestone::console::ConsoleOptions console;
    console.provenance = &(*node)->service();
    console.service_name = "lodestone-provenance";
    RegisterConsole(*http, console);
    if (auto started = http->Start(); !started.ok()) return Fail(started);
  }
  std::cout << "lodestone-provenance: " << transport->description;
  if (server->health_server) std::cout << "; plain-text health on port " << server->health_port;
  std::cout << std::endl;
  std::cout << "lodestone-provenance: serving gRPC on port " << server->port << ", metrics on port "
            << (*endpoint)->port() << ", following ledger " << source.ledger_address
            << ", views at position " << (*node)->runner().applied_position() << std::endl;
  if (http) {
    std::cout
        << "lodestone-provenance: serving the console at " << (http->tls() ? "https" : "http")
        << "://"
        << absl::GetFlag(FLAGS_http_listen).substr(0, absl::GetFlag(FLAGS_http_listen).rfind(':'))
        << ":" << http->port() << "/console/" << std::endl;
  }
  const int signal = lodestone::rpc::WaitForStopSignal();
  std::cout << "lodestone-provenance: signal " << signal << ", draining" << std::endl;
  if (http) http->Stop();
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms)));
  (*node)->Stop();
  std::cout << "lodestone-provenance: stopped at position " << (*node)->runner().applied_position()
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lodestone-provenance: follows a Lodestone ledger, folds its events into material-origin "
      "views and serves lodestone.v1.ProvenanceService (origin traces and compliance checks).");
  absl::ParseCommandLine(argc, argv);
  lodestone::rpc::BlockStopSignals();
  return Run();
}
