// The compliance console over HTTP (docs/console.md): its web application under /console/ and
// the JSON API it calls, which answers through the gRPC services' own code
// (ProvenanceServiceImpl::Answer, LedgerServiceImpl::Answer), so that who may ask, waiting for
// positions, the queries and redaction are the same as over gRPC. Thin: JSON <-> the v1
// messages (the proto3 JSON mapping) and statuses -> RFC 9457 problems.
#ifndef LODESTONE_SERVICES_CONSOLE_CONSOLE_API_H_
#define LODESTONE_SERVICES_CONSOLE_CONSOLE_API_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/console/web_files.h"
#include "services/http/http_server.h"
#include "services/ledger/ledger_service.h"
#include "services/provenance/provenance_service.h"

namespace lodestone::console {

struct ConsoleOptions {
  provenance::ProvenanceServiceImpl* provenance = nullptr;  // required
  // The ledger's proofs and events (the embedded server); null: /api/ledger/* is 404 and the
  // console hides its proof page (/api/info says "ledger": false).
  ledger::LedgerServiceImpl* ledger = nullptr;
  std::string service_name = "lodestone";  // /api/info
  // How long a query may wait for min_position/at_position (and at most the provenance
  // service's max_position_wait): then 503.
  absl::Duration max_wait = absl::Seconds(10);
  // The web application; null: the embedded one (EmbeddedWebFiles()).
  const std::vector<WebFile>* web_files = nullptr;
};

// Registers, on `server` (before it starts):
//   GET  /console, /console/, /console/{path}    the web application (index.html at /console/)
//   POST /api/provenance/{method}                GetLot, TraceOrigin, TraceDownstream,
//        GetShipment, ListFlags, CheckCompliance, GetExposure, GetHistory
//   POST /api/ledger/{method}                    GetHead, GetEvent, GetInclusionProof,
//        GetConsistencyProof
//   GET  /api/search?q=PREFIX&limit=N            {"results":[{"kind","id"}]}
//   GET  /api/info                               {"service","headSize","ledger"}
// Request bodies are the proto3 JSON of the request message (unknown fields: 400); answers the
// proto3 JSON of the response, or application/problem+json with the status's HTTP code.
// The options' services must outlive the server.
void RegisterConsole(http::HttpServer& server, const ConsoleOptions& options);

}  // namespace lodestone::console

#endif  // LODESTONE_SERVICES_CONSOLE_CONSOLE_API_H_
