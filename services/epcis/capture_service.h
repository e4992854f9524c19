// The EPCIS 2.0 REST binding's capture side over the ledger: POST /capture (a document, 202 and
// a capture job), GET /capture/{id}, POST /events (one event, answered when committed). Thin:
// parsing and limits in services/http, the schema in schema_validator, the meaning in mapping,
// the rules in the ledger. Every capture is one atomic append attested by the HTTP caller,
// exactly as a gRPC Append of the same caller (services/ledger/ledger_service.h).
#ifndef LODESTONE_SERVICES_EPCIS_CAPTURE_SERVICE_H_
#define LODESTONE_SERVICES_EPCIS_CAPTURE_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/epcis/mapping.h"
#include "services/epcis/schema_validator.h"
#include "services/http/http_server.h"
#include "services/ledger/ledger.h"

namespace lodestone::epcis {

struct CaptureOptions {
  size_t max_jobs = 1024;        // jobs remembered; the oldest finished one is forgotten first
  size_t max_running_jobs = 64;  // more captures in flight: 503 with Retry-After
  absl::Duration event_wait = absl::Seconds(30);  // POST /events waits this long for the commit
  size_t max_json_depth = 64;                     // deeper documents: 400
};

class CaptureService {
 public:
  // `ledger` must outlive the service. The administrator party (a plain-text local caller) is
  // the ledger's (LedgerOptions::authority.admin_party).
  static absl::StatusOr<std::unique_ptr<CaptureService>> Create(ledger::Ledger& ledger,
                                                                CaptureOptions options = {});
  ~CaptureService();

  // Adds the routes to `server` (before it starts).
  void RegisterRoutes(http::HttpServer& server);

  http::Response Capture(const http::Request& request);
  http::Response GetCaptureJob(const http::Request& request);
  http::Response CaptureEvent(const http::Request& request);

 private:
  struct Job;
  CaptureService(ledger::Ledger& ledger, CaptureOptions options,
                 std::unique_ptr<SchemaValidator> validator);

  // Media type, JSON, schema, caller, mapping: the batch ready to append, or the refusal.
  struct Prepared {
    ledger::AppendBatch batch;
    MappedDocument mapped;
  };
  absl::StatusOr<Prepared> Prepare(const http::Request& request, bool single_event,
                                   http::Response* refusal) const;

  // A re-capture of events the ledger holds (same id, same Lodestone content; e.g. a queried
  // document captured again, whose members Lodestone does not keep are gone and whose canonical
  // hash therefore differs) keeps the first capture's EPCIS eventID and hash, so it is a
  // duplicate, not a conflict.
  absl::Status KeepCapturedIdentity(const std::string& attester, MappedDocument& mapped) const;

  ledger::Ledger& ledger_;
  const CaptureOptions options_;
  std::unique_ptr<SchemaValidator> validator_;
  // Shared with the append callbacks, which may run after the service is gone.
  struct Shared {
    std::mutex mu;
    size_t running = 0;  // guarded by mu, as every Job's fields
  };
  std::shared_ptr<Shared> shared_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // guarded by shared_->mu
  std::deque<std::string> job_order_;                 // guarded by shared_->mu
  uint64_t next_job_ = 1;
  std::string job_prefix_;
};

// A ledger rejection as a problem+json naming the EPCIS event (by `source_index`) and its JSON
// Pointer: the ledger's messages start with "events[i]:".
http::Response RuleRefusal(const absl::Status& status, const MappedDocument& mapped,
                           bool single_event);

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_CAPTURE_SERVICE_H_
