// The EPCIS 2.0 REST binding's query side over the ledger: GET /events (the common query
// parameters, paged) and GET /events/{eventID} (an EPCIS eventID, a CBV 2.0 event hash, or a
// native event's urn:lodestone:event:<id>), answered as EPCIS 2.0 JSON-LD (export.h). A party
// reads what it may read over gRPC (Ledger::ReadsAll, Ledger::IsPartyTo); nodes and the
// administrator read everything. Work per request is bounded (QueryOptions): docs/epcis.md.
#ifndef LODESTONE_SERVICES_EPCIS_QUERY_SERVICE_H_
#define LODESTONE_SERVICES_EPCIS_QUERY_SERVICE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/http/http_server.h"
#include "services/http/json.h"
#include "services/ledger/ledger.h"

namespace lodestone::epcis {

struct QueryOptions {
  size_t default_per_page = 100;
  size_t max_per_page = 1000;  // a larger perPage is answered with at most this many events
  // Lodestone events read per GET /events; at the limit the page ends early (perhaps empty)
  // with a nextPageToken where the scan stopped.
  size_t max_scanned = 20000;
};

class QueryService {
 public:
  // `ledger` must outlive the service.
  QueryService(ledger::Ledger& ledger, QueryOptions options = {});

  // Adds GET /events and GET /events/{eventID} to `server` (before it starts).
  void RegisterRoutes(http::HttpServer& server);

  http::Response QueryEvents(const http::Request& request) const;
  http::Response GetEvent(const http::Request& request) const;

 private:
  // Empty: reads everything; else the party whose reads are limited to what it is party to.
  absl::StatusOr<std::string> Reader(const rpc::Caller& caller) const;

  ledger::Ledger& ledger_;
  const QueryOptions options_;
};

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_QUERY_SERVICE_H_
