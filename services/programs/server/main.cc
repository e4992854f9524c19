// lodestone-server: the embedded single-machine shape. The ledger and the provenance service in
// one process, both gRPC services on one port, metrics on another, RocksDB under --data_dir.
// No external server is needed. Only main reads flags.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "prometheus/registry.h"
#include "services/console/console_api.h"
#include "services/domain/rules.h"
#include "services/epcis/epcis_endpoint.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/ledger/ledger_service.h"
#include "services/ledger/node_health.h"
#include "services/provenance/provenance_node.h"
#include "services/rpc/exit_codes.h"
#include "services/rpc/identity.h"
#include "services/rpc/metrics_endpoint.h"
#include "services/rpc/server_builder.h"
#include "services/rpc/stop_signals.h"
#include "services/rpc/tls.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "gRPC address of both services (host:port; port 0 = any free)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9400",
          "Prometheus /metrics address (host:port; port 0 = any free)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:7480",
          "EPCIS 2.0 REST binding (HTTP; HTTPS with --tls_cert) address (host:port; port 0 = any "
          "free; empty = off)");
ABSL_FLAG(std::string, http_tls_listen, "",
          "with --tls_listen: also serve the HTTP routes (EPCIS, console) over mutual TLS on this "
          "address (host:port; port 0 = any free), callers named by their client certificates "
          "as on --tls_listen; empty = off");
ABSL_FLAG(int, http_max_body_mb, 16, "Largest HTTP request body (MiB); larger: 413");
ABSL_FLAG(std::string, data_dir, "./data",
          "data directory: the ledger in <dir>/ledger, the views in <dir>/provenance");
ABSL_FLAG(int, block_cache_mb, 64, "RocksDB block cache of each store (MiB)");
ABSL_FLAG(int, write_buffer_mb, 64, "Cap on the RocksDB memtables of each store (MiB)");
ABSL_FLAG(bool, sync, true, "fsync every ledger commit group before acknowledging");
ABSL_FLAG(int, max_batch_events, 10000, "Most events in one Append");
ABSL_FLAG(bool, rebuild_views, false,
          "delete the provenance views and fold the ledger again from position 0");
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
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of this program; with --tls_key, gRPC is served over TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates: clients must present a certificate from them (mutual TLS)");
ABSL_FLAG(std::string, tls_listen, "",
          "with --tls_cert, --tls_key and --tls_ca: serve mutual TLS on this address (host:port) "
          "too, callers named by their certificates, while --listen stays plain text for local "
          "callers (the administrator); empty = --listen itself is TLS when --tls_cert is set");
ABSL_FLAG(std::string, backup_dir, "",
          "directory of online backups (`lodectl backup`: the ledger's in <dir>/ledger; `lodectl "
          "backup views`: the views' in <dir>/provenance); empty = backups refused. Not inside "
          "--data_dir");
ABSL_FLAG(int, backups_kept, 14, "backups kept of each store (older ones purged), 1..1000");
ABSL_FLAG(std::string, health_listen, "",
          "plain-text address (host:port) serving only grpc.health.v1.Health, for probes that "
          "cannot speak TLS; empty = none");

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "lodestone-server: " << status << "\n";
  return lodestone::rpc::ExitCodeFor(status);
}

int Run() {
  // The embedded server makes no outgoing calls: only the server side is used.
  const lodestone::rpc::TlsFiles tls_files{
      absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca)};
  auto transport = lodestone::rpc::ProgramTransportFromFlags(tls_files);
  if (!transport.ok()) return Fail(transport.status());
  // With --tls_listen the main port is plain text (the local administrator) and the TLS port
  // names its callers by their client certificates: both kinds of caller on one server.
  const std::string tls_listen = absl::GetFlag(FLAGS_tls_listen);
  if (!tls_listen.empty() && (!transport->tls || absl::GetFlag(FLAGS_tls_ca).empty())) {
    return Fail(absl::InvalidArgumentError(
        "--tls_listen needs --tls_cert, --tls_key and --tls_ca (callers on it are named by "
        "their client certificates)"));
  }
  const bool main_port_tls = transport->tls && tls_listen.empty();
  auto identity =
      lodestone::rpc::ProgramIdentityOptions(main_port_tls, absl::GetFlag(FLAGS_plaintext_callers));
  if (!identity.ok()) return Fail(identity.status());
  if (identity->plaintext_admin_from_any_address) {
    std::cerr << "lodestone-server: WARNING: --plaintext_callers=any: every caller that reaches "
                 "the port is the administrator; use it only on a network you trust\n";
  }
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error)
    return Fail(absl::UnavailableError("cannot create " + data_dir + ": " + error.message()));
  const size_t cache = size_t(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  const size_t buffers = size_t(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;

  lodestone::ledger::LedgerOptions ledger_options;
  ledger_options.authority.admin_party = absl::GetFlag(FLAGS_admin_party);
  ledger_options.max_future_skew = absl::GetFlag(FLAGS_max_future_skew);
  ledger_options.late_after = absl::GetFlag(FLAGS_late_after);
  ledger_options.log.path = data_dir + "/ledger";
  ledger_options.log.block_cache_bytes = cache;
  ledger_options.log.write_buffer_bytes = buffers;
  ledger_options.log.sync = absl::GetFlag(FLAGS_sync);
  ledger_options.max_batch_events = absl::GetFlag(FLAGS_max_batch_events);
  auto ledger_metrics = std::make_unique<lodestone::ledger::LedgerMetrics>();
  auto ledger = lodestone::ledger::Ledger::Open(ledger_options, ledger_metrics.get());
  if (!ledger.ok()) return Fail(ledger.status());
  ledger_metrics->AttachLedger(ledger->get());

  lodestone::provenance::NodeOptions node_options;
  node_options.store.path = data_dir + "/provenance";
  node_options.store.block_cache_bytes = cache;
  node_options.store.write_buffer_bytes = buffers;
  node_options.service.identity = *identity;
  node_options.service.admin_party = absl::GetFlag(FLAGS_admin_party);
  if (absl::GetFlag(FLAGS_rebuild_views)) {
    if (auto status = lodestone::provenance::DeleteViews(node_options.store); !status.ok()) {
      return Fail(status);
    }
  }
  auto node = lodestone::provenance::ProvenanceNode::Open(
      node_options, std::make_unique<lodestone::provenance::LocalLogSource>(
                        (*ledger)->log(),
                        [raw = ledger->get()](std::function<void()> wake) {
                          return raw->WakeOnCommit(std::move(wake));
                        },
                        ledger_options.late_after));
  if (!node.ok()) return Fail(node.status());

  auto endpoint = lodestone::rpc::MetricsEndpoint::Start(absl::GetFlag(FLAGS_metrics_listen));
  if (!endpoint.ok()) return Fail(endpoint.status());
  ledger_metrics->Register(**endpoint);
  (*node)->RegisterMetrics(**endpoint);
  auto http_registry = std::make_shared<prometheus::Registry>();
  (*endpoint)->Register(http_registry);
  (*node)->Start();

  lodestone::ledger::LedgerServiceImpl ledger_service(**ledger, ledger_metrics.get());
  ledger_service.RequireAttestation(*identity);
  // Honest health, as a ledger node's: a failed log is NOT_SERVING with its reason.
  lodestone::ledger::NodeHealth health((*ledger)->log());
  ledger_metrics->AttachHealth(&health);
  ledger_service.SetHealth(&health);
  std::unique_ptr<lodestone::storage::BackupRunner> backups;
  if (const std::string backup_dir = absl::GetFlag(FLAGS_backup_dir); !backup_dir.empty()) {
    const auto kept = static_cast<uint32_t>(std::clamp(absl::GetFlag(FLAGS_backups_kept), 1, 1000));
    backups = lodestone::storage::BackupRunner::ForLog(
        (*ledger)->log(), {.directory = backup_dir + "/ledger", .max_kept = kept});
    ledger_service.EnableBackups(backups.get());
    (*node)->EnableBackups({.directory = backup_dir + "/provenance", .max_kept = kept});
  }
  lodestone::rpc::ServerTransport server_transport;
  server_transport.credentials = main_port_tls ? transport->server : nullptr;
  server_transport.health_address = absl::GetFlag(FLAGS_health_listen);
  if (!tls_listen.empty()) {
    server_transport.second_address = tls_listen;
    server_transport.second_credentials = transport->server;
  }
  auto server = lodestone::rpc::StartServer(
      absl::GetFlag(FLAGS_listen), {&ledger_service, &(*node)->service()}, {}, server_transport);
  if (!server.ok()) return Fail(server.status());
  health.Watch([&server = *server](const absl::Status& status) {
    server.SetServing(status.ok());
    if (!status.ok()) std::cerr << "lodestone-server: NOT_SERVING: " << status << std::endl;
  });
  // HTTP (EPCIS and the console) is HTTPS when gRPC's main port is TLS; with --tls_listen it
  // stays plain text for local callers, as --listen does.
  const lodestone::rpc::TlsFiles http_tls = main_port_tls ? tls_files : lodestone::rpc::TlsFiles{};
  lodestone::console::ConsoleOptions console;
  console.provenance = &(*node)->service();
  console.ledger = &ledger_service;
  console.service_name = "lodestone-server";
  auto epcis = lodestone::epcis::StartProgramEndpoint(
      **ledger, {absl::GetFlag(FLAGS_http_listen), absl::GetFlag(FLAGS_http_max_body_mb), http_tls},
      *identity, http_registry.get(),
      [&console](lodestone::http::HttpServer& http) { RegisterConsole(http, console); });
  if (!epcis.ok()) return Fail(epcis.status());
  // With --tls_listen, the HTTP routes may also be served over mutual TLS with the same
  // certificates and caller identity as the TLS gRPC port.
  std::unique_ptr<lodestone::epcis::EpcisEndpoint> epcis_tls;
  if (const std::string http_tls_listen = absl::GetFlag(FLAGS_http_tls_listen);
      !http_tls_listen.empty()) {
    if (tls_listen.empty()) {
      return Fail(absl::InvalidArgumentError("--http_tls_listen needs --tls_listen"));
    }
    auto started = lodestone::epcis::StartProgramEndpoint(
        **ledger, {http_tls_listen, absl::GetFlag(FLAGS_http_max_body_mb), tls_files}, *identity,
        http_registry.get(),
        [&console](lodestone::http::HttpServer& http) { RegisterConsole(http, console); });
    if (!started.ok()) return Fail(started.status());
    epcis_tls = *std::move(started);
  }
  std::cout << "lodestone-server: " << transport->description;
  if (server->second_port != 0) {
    std::cout << " on TLS port " << server->second_port << ", plain text for local callers";
  }
  if (server->health_server) std::cout << "; plain-text health on port " << server->health_port;
  std::cout << std::endl;
  std::cout << "lodestone-server: serving gRPC on port " << server->port << ", metrics on port "
            << (*endpoint)->port() << ", data in " << data_dir << ", log size "
            << (*ledger)->log().GetHead().size << std::endl;
  if (*epcis) {
    std::cout << "lodestone-server: serving EPCIS 2.0 at " << (*epcis)->url() << std::endl;
    std::cout << "lodestone-server: serving the console at " << (*epcis)->url() << "/console/"
              << std::endl;
  }
  if (epcis_tls) {
    std::cout << "lodestone-server: serving EPCIS 2.0 over mutual TLS at " << epcis_tls->url()
              << std::endl;
  }

  const int signal = lodestone::rpc::WaitForStopSignal();
  std::cout << "lodestone-server: signal " << signal << ", draining" << std::endl;
  ledger_service.Shutdown();
  if (*epcis) (*epcis)->Stop();
  if (backups) backups->Stop();  // a running backup finishes and answers
  health.Stop();
  if (epcis_tls) epcis_tls->Stop();
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms)));
  (*node)->Stop();
  (*ledger)->Stop();
  std::cout << "lodestone-server: stopped at log size " << (*ledger)->log().GetHead().size
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "lodestone-server: the embedded Lodestone server. Runs the ledger (lodestone.v1."
      "LedgerService) and the provenance service (lodestone.v1.ProvenanceService) in one "
      "process on one gRPC port, with RocksDB under --data_dir and Prometheus metrics on "
      "--metrics_listen. Query it with lodectl.");
  absl::ParseCommandLine(argc, argv);
  lodestone::rpc::BlockStopSignals();
  return Run();
}
