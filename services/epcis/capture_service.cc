#include "services/epcis/capture_service.h"

#include <openssl/rand.h>

#include <cstdio>
#include <future>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/http/problem.h"

namespace lodestone::epcis {

using http::Json;
using http::Response;

struct CaptureService::Job {
  std::string id;
  std::string owner;  // the party whose capture it is: only it (and nodes, the admin) sees it
  absl::Time created;
  absl::Time finished = absl::InfinitePast();
  bool running = true;
  bool success = false;
  Json errors = Json::array();
  Json events = Json::array();  // {"index", "eventID", "position"} per Lodestone event
};

namespace {

constexpr char kProblemBase[] = "urn:lodestone:epcis:problem:";

Response CaptureProblem(int status, const CaptureError& error) {
  Json extensions = Json::object();
  extensions["kind"] = error.kind;
  extensions["pointer"] = error.pointer;
  if (error.has_event) extensions["eventIndex"] = error.event_index;
  const std::string title = error.kind == "schema"    ? "The document is not valid EPCIS 2.0"
                            : error.kind == "mapping" ? "The event has no Lodestone meaning"
                            : error.kind == "rule"    ? "The ledger refused the capture"
                                                      : "The capture was refused";
  return http::ProblemResponse(status, title, error.reason, extensions,
                               absl::StrCat(kProblemBase, error.kind));
}

std::string TimeText(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

// The event of a single-event capture is captured as the only event of a document; pointers
// into it are given relative to the event.
std::string EventPointer(std::string pointer, bool single_event) {
  constexpr std::string_view kPrefix = "/epcisBody/eventList/0";
  if (single_event && std::string_view(pointer).starts_with(kPrefix)) {
    return pointer.substr(kPrefix.size());
  }
  return pointer;
}

Json JobJson(const CaptureService* /*unused*/, const std::string& id, absl::Time created,
             absl::Time finished, bool running, bool success, const Json& errors,
             const Json& events) {
  Json body = Json::object();
  body["captureID"] = id;
  body["createdAt"] = TimeText(created);
  if (!running) body["finishedAt"] = TimeText(finished);
  body["running"] = running;
  body["success"] = success;
  body["captureErrorBehaviour"] = "rollback";
  body["errors"] = errors;
  body["events"] = events;
  return body;
}

}  // namespace

Response RuleRefusal(const absl::Status& status, const MappedDocument& mapped, bool single_event) {
  CaptureError error;
  error.kind = "rule";
  error.reason = std::string(status.message());
  // "events[i]: ..." names the Lodestone event; its EPCIS event is source_index[i].
  const std::string message(status.message());
  if (message.starts_with("events[")) {
    const size_t close = message.find(']');
    size_t index = 0;
    if (close != std::string::npos && absl::SimpleAtoi(message.substr(7, close - 7), &index) &&
        index < mapped.source_index.size()) {
      error.has_event = true;
      error.event_index = mapped.source_index[index];
      error.pointer = EventPointer(http::PointerAppend("/epcisBody/eventList", error.event_index),
                                   single_event);
    }
  }
  Response response = CaptureProblem(http::HttpStatusFromStatus(status), error);
  Json body = Json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    body["code"] = absl::StatusCodeToString(status.code());
    response.body = http::DumpJson(body);
  }
  if (response.status == 503 || response.status == 429) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

absl::StatusOr<std::unique_ptr<CaptureService>> CaptureService::Create(ledger::Ledger& ledger,
                                                                       CaptureOptions options) {
  auto validator = SchemaValidator::Create();
  if (!validator.ok()) return validator.status();
  return std::unique_ptr<CaptureService>(
      new CaptureService(ledger, std::move(options), *std::move(validator)));
}

CaptureService::CaptureService(ledger::Ledger& ledger, CaptureOptions options,
                               std::unique_ptr<SchemaValidator> validator)
    : ledger_(ledger),
      options_(std::move(options)),
      validator_(std::move(validator)),
      shared_(std::make_shared<Shared>()) {
  // Job ids are unguessable across restarts of the process: a random prefix and a counter.
  unsigned char random[8] = {};
  RAND_bytes(random, sizeof(random));
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", random[i]);
  job_prefix_ = hex;
}

CaptureService::~CaptureService() = default;

void CaptureService::RegisterRoutes(http::HttpServer& server) {
  server.Route("POST", "/capture", [this](const http::Request& r) { return Capture(r); });
  server.Route("GET", "/capture/{id}", [this](const http::Request& r) { return GetCaptureJob(r); });
  server.Route("POST", "/events", [this](const http::Request& r) { return CaptureEvent(r); });
}

absl::StatusOr<CaptureService::Prepared> CaptureService::Prepare(const http::Request& request,
                                                                 bool single_event,
                                                                 Response* refusal) const {
  const std::string media = request.MediaType();
  if (media != "application/ld+json" && media != "application/json") {
    *refusal = http::ProblemResponse(
        415, "Unsupported Media Type",
        absl::StrCat("Content-Type '", media,
                     "': an EPCIS document is application/ld+json or application/json"));
    return absl::InvalidArgumentError("media type");
  }
  std::string attester;
  switch (request.caller.kind) {
    case rpc::Caller::Kind::kParty:
      attester = request.caller.id;
      break;
    case rpc::Caller::Kind::kLocalAdmin:
      attester = ledger_.options().authority.admin_party;
      if (attester.empty()) {
        *refusal = http::ProblemFromStatus(absl::PermissionDeniedError(
            "a local caller captures as the administrator, and no administrator party is set"));
        return absl::PermissionDeniedError("no admin");
      }
      break;
    case rpc::Caller::Kind::kNode:
      *refusal = http::ProblemFromStatus(
          absl::PermissionDeniedError("nodes do not capture EPCIS events; parties do"));
      return absl::PermissionDeniedError("node");
  }
  auto parsed = http::ParseJson(request.body, {.max_depth = options_.max_json_depth});
  if (!parsed.ok()) {
    *refusal =
        CaptureProblem(400, {"malformed", 0, false, "", std::string(parsed.status().message())});
    return parsed.status();
  }
  if (single_event) {
    // One event is validated and mapped as the only event of a document.
    Json document = Json::object();
    document["@context"] = parsed->value.contains("@context")
                               ? parsed->value["@context"]
                               : Json("https://ref.gs1.org/standards/epcis/epcis-context.jsonld");
    document["type"] = "EPCISDocument";
    document["schemaVersion"] = "2.0";
    document["creationDate"] = TimeText(absl::Now());
    document["epcisBody"] = {{"eventList", Json::array({std::move(parsed->value)})}};
    http::ParsedJson wrapped;
    wrapped.value = std::move(document);
    for (auto& [pointer, text] : parsed->number_text) {
      wrapped.number_text["/epcisBody/eventList/0" + pointer] = std::move(text);
    }
    *parsed = std::move(wrapped);
  }
  SchemaViolation violation;
  if (auto status = validator_->Validate(parsed->value, &violation); !status.ok()) {
    CaptureError error{"schema", 0, false, EventPointer(violation.pointer, single_event),
                       violation.message};
    constexpr std::string_view kList = "/epcisBody/eventList/";
    if (std::string_view(violation.pointer).starts_with(kList)) {
      size_t index = 0;
      const std::string rest = violation.pointer.substr(kList.size());
      if (absl::SimpleAtoi(rest.substr(0, rest.find('/')), &index)) {
        error.has_event = true;
        error.event_index = index;
      }
    }
    *refusal = CaptureProblem(400, error);
    return status;
  }
  Prepared prepared;
  CaptureError error;
  if (auto status = MapDocument(*parsed, {attester}, &prepared.mapped, &error); !status.ok()) {
    error.pointer = EventPointer(error.pointer, single_event);
    *refusal = CaptureProblem(422, error);
    return status;
  }
  if (prepared.mapped.events.empty()) {
    *refusal = CaptureProblem(422, {"mapping", 0, false, "/epcisBody/eventList", "no events"});
    return absl::InvalidArgumentError("empty");
  }
  if (auto status = KeepCapturedIdentity(attester, prepared.mapped); !status.ok()) {
    *refusal = http::ProblemFromStatus(status);
    return status;
  }
  prepared.batch.events = prepared.mapped.events;
  prepared.batch.attester = attester;
  return prepared;
}

absl::Status CaptureService::KeepCapturedIdentity(const std::string& attester,
                                                  MappedDocument& mapped) const {
  for (size_t i = 0; i < mapped.events.size(); ++i) {
    domain::Event& event = mapped.events[i];
    auto stored = ledger_.FindEvent(event.event_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) continue;
    const domain::Event& held = (*stored)->event;
    domain::Event same = event;
    same.attested_by = attester;
    same.epcis_event_id = held.epcis_event_id;
    same.epcis_event_hash = held.epcis_event_hash;
    if (same != held) continue;  // another event under this id: the ledger refuses it (409)
    event.epcis_event_id = held.epcis_event_id;
    event.epcis_event_hash = held.epcis_event_hash;
    mapped.event_hashes[mapped.source_index[i]] = held.epcis_event_hash;
  }
  return absl::OkStatus();
}

Response CaptureService::Capture(const http::Request& request) {
  Response refusal;
  auto prepared = Prepare(request, /*single_event=*/false, &refusal);
  if (!prepared.ok()) return refusal;
  auto job = std::make_shared<Job>();
  job->owner = prepared->batch.attester;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->running >= options_.max_running_jobs) {
      Response busy = http::ProblemResponse(
          503, "Service Unavailable",
          absl::StrCat(shared_->running, " captures are in flight; retry later"));
      busy.headers.emplace_back("Retry-After", "1");
      return busy;
    }
    while (job_order_.size() >= options_.max_jobs) {
      // Forget the oldest finished job; if every remembered job still runs, refuse.
      auto it = job_order_.begin();
      while (it != job_order_.end() && jobs_[*it]->running) ++it;
      if (it == job_order_.end()) {
        Response busy = http::ProblemResponse(503, "Service Unavailable",
                                              "too many capture jobs running; retry later");
        busy.headers.emplace_back("Retry-After", "1");
        return busy;
      }
      jobs_.erase(*it);
      job_order_.erase(it);
    }
    job->id = absl::StrCat(job_prefix_, "-", next_job_++);
    job->created = absl::Now();
    jobs_[job->id] = job;
    job_order_.push_back(job->id);
    ++shared_->running;
  }
  const std::string id = job->id;
  auto mapped = std::make_shared<MappedDocument>(std::move(prepared->mapped));
  ledger_.Append(std::move(prepared->batch),
                 [job, mapped, shared = shared_](absl::StatusOr<ledger::AppendOutcome> outcome) {
                   std::lock_guard<std::mutex> lock(shared->mu);
                   job->running = false;
                   job->finished = absl::Now();
                   --shared->running;
                   if (!outcome.ok()) {
                     const Response problem = RuleRefusal(outcome.status(), *mapped, false);
                     job->errors.push_back(Json::parse(problem.body, nullptr, false));
                     return;
                   }
                   job->success = true;
                   for (size_t i = 0; i < outcome->results.size(); ++i) {
                     const size_t index = mapped->source_index[i];
                     job->events.push_back({{"index", index},
                                            {"eventID", outcome->results[i].event_id},
                                            {"eventHash", mapped->event_hashes[index]},
                                            {"position", outcome->results[i].position}});
                   }
                 });
  Json body = Json::object();
  body["captureID"] = id;
  Response response = http::JsonResponse(202, body);
  response.headers.emplace_back("Location", absl::StrCat("/capture/", id));
  return response;
}

Response CaptureService::GetCaptureJob(const http::Request& request) {
  const std::string id = request.path_params.at("id");
  std::lock_guard<std::mutex> lock(shared_->mu);
  auto it = jobs_.find(id);
  // Another partner's job is answered as unknown: its errors name that partner's events.
  if (it == jobs_.end() || (request.caller.kind == rpc::Caller::Kind::kParty &&
                            request.caller.id != it->second->owner)) {
    return http::ProblemResponse(404, "Not Found", absl::StrCat("no capture job '", id, "'"));
  }
  const Job& job = *it->second;
  return http::JsonResponse(200, JobJson(this, job.id, job.created, job.finished, job.running,
                                         job.success, job.errors, job.events));
}

Response CaptureService::CaptureEvent(const http::Request& request) {
  Response refusal;
  auto prepared = Prepare(request, /*single_event=*/true, &refusal);
  if (!prepared.ok()) return refusal;
  auto promise = std::make_shared<std::promise<absl::StatusOr<ledger::AppendOutcome>>>();
  auto future = promise->get_future();
  ledger_.Append(std::move(prepared->batch),
                 [promise](absl::StatusOr<ledger::AppendOutcome> outcome) {
                   promise->set_value(std::move(outcome));
                 });
  if (future.wait_for(absl::ToChronoMilliseconds(options_.event_wait)) !=
      std::future_status::ready) {
    return http::ProblemFromStatus(
        absl::DeadlineExceededError("the commit took too long; the event may still be appended "
                                    "(re-send it: captures are idempotent)"));
  }
  auto outcome = future.get();
  if (!outcome.ok()) return RuleRefusal(outcome.status(), prepared->mapped, true);
  Json events = Json::array();
  for (const auto& result : outcome->results) {
    events.push_back({{"eventID", result.event_id},
                      {"eventHash", prepared->mapped.event_hashes.at(0)},
                      {"position", result.position}});
  }
  Json body = {{"duplicate", outcome->duplicate}, {"events", events}};
  Response response = http::JsonResponse(outcome->duplicate ? 200 : 201, body);
  return response;
}

}  // namespace lodestone::epcis
