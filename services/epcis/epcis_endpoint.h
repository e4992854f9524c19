// The EPCIS 2.0 REST binding as the programs serve it: one HTTP server (services/http) with the
// EPCIS routes over one ledger. The programs' main builds the options from their flags; this
// owns the server and the services behind its routes, and stops the server first.
#ifndef LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_
#define LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/epcis/capture_service.h"
#include "services/epcis/query_service.h"
#include "services/http/http_server.h"
#include "services/ledger/ledger.h"
#include "services/rpc/identity.h"
#include "services/rpc/tls.h"

namespace lodestone::epcis {

struct EndpointOptions {
  http::ServerOptions server;  // address, TLS, identity, limits, metrics registry
  CaptureOptions capture;
  QueryOptions query;
  // Other routes on the same server (the console's), registered before it starts; may be empty.
  std::function<void(http::HttpServer&)> more_routes;
};

class EpcisEndpoint {
 public:
  // Binds and serves. `ledger` must outlive the endpoint. UNAVAILABLE if the address cannot be
  // bound; INTERNAL if the embedded schema does not load.
  static absl::StatusOr<std::unique_ptr<EpcisEndpoint>> Start(ledger::Ledger& ledger,
                                                              EndpointOptions options);
  ~EpcisEndpoint();  // stops

  // Stops accepting and finishes the requests in progress. Idempotent.
  void Stop();

  int port() const { return server_->port(); }
  bool tls() const { return server_->tls(); }
  // "http://127.0.0.1:7480" (the bound port; the host as given, 127.0.0.1 for 0.0.0.0 / [::]).
  std::string url() const;

 private:
  EpcisEndpoint(std::string host, std::unique_ptr<CaptureService> capture,
                std::unique_ptr<QueryService> query, std::unique_ptr<http::HttpServer> server);
  std::string host_;
  std::unique_ptr<CaptureService> capture_;
  std::unique_ptr<QueryService> query_;
  std::unique_ptr<http::HttpServer> server_;  // declared last: destroyed (stopped) first
};

// What a program's flags say about its HTTP interface; the program's main reads the flags
// (--http_listen, --http_max_body_mb and the --tls_* files it also gives gRPC).
struct ProgramHttpFlags {
  std::string listen;       // host:port; empty = no HTTP interface
  int max_body_mb = 16;     // largest request body, MiB, in [1, kMaxProgramBodyMb]
  rpc::TlsFiles tls_files;  // HTTPS when cert and key are given, as gRPC's transport
};
inline constexpr int kMaxProgramBodyMb = 1024;

// The endpoint options of a program: its flags, the caller identity rules of its gRPC services
// and the registry of its HTTP metrics (may be null; must outlive the endpoint).
// INVALID_ARGUMENT (naming the flag) for a body limit outside [1, kMaxProgramBodyMb]; the errors
// of rpc::LoadTlsMaterial.
absl::StatusOr<EndpointOptions> ProgramEndpointOptions(const ProgramHttpFlags& flags,
                                                       const rpc::IdentityOptions& identity,
                                                       prometheus::Registry* registry);

// nullptr when flags.listen is empty; otherwise the started endpoint, or the errors of
// ProgramEndpointOptions and EpcisEndpoint::Start.
absl::StatusOr<std::unique_ptr<EpcisEndpoint>> StartProgramEndpoint(
    ledger::Ledger& ledger, const ProgramHttpFlags& flags, const rpc::IdentityOptions& identity,
    prometheus::Registry* registry, std::function<void(http::HttpServer&)> more_routes = {});

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_
