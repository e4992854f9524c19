// The EPCIS 2.0 REST binding as the programs serve it: one HTTP server (services/http) with the
// EPCIS routes over one ledger. The programs' main builds the options from their flags; this
// owns the server and the services behind its routes, and stops the server first.
#ifndef LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_
#define LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/epcis/capture_service.h"
#include "services/http/http_server.h"
#include "services/ledger/ledger.h"

namespace lodestone::epcis {

struct EndpointOptions {
  http::ServerOptions server;  // address, TLS, identity, limits, metrics registry
  CaptureOptions capture;
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
                std::unique_ptr<http::HttpServer> server);
  std::string host_;
  std::unique_ptr<CaptureService> capture_;
  std::unique_ptr<http::HttpServer> server_;  // declared last: destroyed (stopped) first
};

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_EPCIS_ENDPOINT_H_
