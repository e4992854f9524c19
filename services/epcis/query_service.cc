#include "services/epcis/query_service.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/domain/rules.h"
#include "services/epcis/export.h"
#include "services/epcis/mapping.h"
#include "services/epcis/vocabulary.h"
#include "services/http/problem.h"

namespace lodestone::epcis {
namespace {

using http::Json;
using http::Response;

constexpr char kTokenPrefix[] = "p";
constexpr size_t kReadChunk = 256;
constexpr char kNativePrefix[] = "urn:lodestone:event:";

// Reads committed events forward from a position, a chunk at a time, up to `end`.
class Cursor {
 public:
  Cursor(const ledger::Ledger& ledger, uint64_t from, uint64_t end)
      : ledger_(ledger), next_read_(from), end_(end) {}

  absl::StatusOr<const ledger::StoredEvent*> Peek() {
    if (buffer_.empty() && next_read_ < end_) {
      auto events =
          ledger_.ReadEvents(next_read_, std::min<uint64_t>(kReadChunk, end_ - next_read_));
      if (!events.ok()) return events.status();
      next_read_ += events->size();
      if (events->empty()) next_read_ = end_;
      for (auto& event : *events) buffer_.push_back(std::move(event));
    }
    return buffer_.empty() ? nullptr : &buffer_.front();
  }
  ledger::StoredEvent Take() {
    ledger::StoredEvent event = std::move(buffer_.front());
    buffer_.pop_front();
    return event;
  }
  // The position of the next event Take would return.
  uint64_t position() const { return buffer_.empty() ? next_read_ : buffer_.front().position; }

 private:
  const ledger::Ledger& ledger_;
  uint64_t next_read_;
  const uint64_t end_;
  std::deque<ledger::StoredEvent> buffer_;
};

// The events of one EPCIS event from the cursor (at least one).
absl::StatusOr<std::vector<ledger::StoredEvent>> NextGroup(Cursor& cursor) {
  std::vector<ledger::StoredEvent> group;
  group.push_back(cursor.Take());
  while (true) {
    auto next = cursor.Peek();
    if (!next.ok()) return next.status();
    if (*next == nullptr || (*next)->commit_time != group.back().commit_time ||
        !SameEpcisEvent(group.back().event, (*next)->event)) {
      return group;
    }
    group.push_back(cursor.Take());
  }
}

std::vector<domain::Event> EventsOf(const std::vector<ledger::StoredEvent>& group) {
  std::vector<domain::Event> events;
  for (const auto& stored : group) events.push_back(stored.event);
  return events;
}

Response BadQuery(std::string detail) {
  return http::ProblemResponse(400, "Bad Request", detail, Json(),
                               "urn:lodestone:epcis:problem:query");
}

struct Filter {
  std::set<std::string> event_types;
  std::optional<absl::Time> ge_time, lt_time;
  std::set<std::string> lots;  // MATCH_epc and MATCH_anyEPCClass, as Lodestone lot ids
  std::set<std::string> biz_steps;
  std::set<std::string> biz_locations;
};

// The values of a parameter: comma-separated, or repeated.
std::vector<std::string> Values(const std::string& value) {
  return absl::StrSplit(value, ',', absl::SkipEmpty());
}

}  // namespace

QueryService::QueryService(ledger::Ledger& ledger, QueryOptions options)
    : ledger_(ledger), options_(options) {}

void QueryService::RegisterRoutes(http::HttpServer& server) {
  server.Route("GET", "/events", [this](const http::Request& r) { return QueryEvents(r); });
  server.Route("GET", "/events/{eventID}", [this](const http::Request& r) { return GetEvent(r); });
}

absl::StatusOr<std::string> QueryService::Reader(const rpc::Caller& caller) const {
  if (caller.kind != rpc::Caller::Kind::kParty) return std::string();  // node, administrator
  auto reads_all = ledger_.ReadsAll(caller.id);
  if (!reads_all.ok()) return reads_all.status();
  return *reads_all ? std::string() : caller.id;
}

namespace {

// Whether an event with these facts and time is wanted (the query's filters).
using KeepFn = std::function<bool(const ExportedFacts&, absl::Time event_time)>;

// The EPCIS event of a group, with the ledger's help for retractions (their originals and the
// corrective events' eventIDs); nullopt for what is not exported or not kept (judged before the
// JSON is built).
absl::StatusOr<std::optional<Json>> Export(const ledger::Ledger& ledger,
                                           const std::vector<ledger::StoredEvent>& group,
                                           const KeepFn& keep) {
  const std::vector<domain::Event> events = EventsOf(group);
  const absl::Time record_time = group.front().commit_time;
  if (!std::holds_alternative<domain::EventRetracted>(events.front().payload)) {
    const ExportedFacts facts = FactsOf(events);
    if (facts.event_type.empty() || !keep(facts, events.front().event_time)) {
      return std::optional<Json>();
    }
    return ExportEvent(events, record_time);
  }
  std::vector<domain::Event> originals;
  for (const domain::Event& event : events) {
    const auto& retracted = std::get<domain::EventRetracted>(event.payload);
    auto original = ledger.FindEvent(retracted.retracted_event_id);
    if (!original.ok()) return original.status();
    if (!original->has_value()) return std::optional<Json>();
    originals.push_back((*original)->event);
  }
  const ExportedFacts facts = FactsOf(originals);
  if (facts.event_type.empty() || !keep(facts, originals.front().event_time)) {
    return std::optional<Json>();
  }
  std::vector<std::string> corrective;
  for (const std::string& id :
       std::get<domain::EventRetracted>(events.front().payload).corrective_event_ids) {
    auto found = ledger.FindEvent(id);
    if (!found.ok()) return found.status();
    corrective.push_back(found->has_value() ? ExportedEventId((*found)->event)
                                            : absl::StrCat(kNativePrefix, id));
  }
  return ExportRetraction(events, originals, corrective, record_time);
}

}  // namespace

Response QueryService::QueryEvents(const http::Request& request) const {
  Filter filter;
  size_t per_page = options_.default_per_page;
  uint64_t from = 0;
  for (const auto& [name, value] : request.query) {
    if (name == "eventType") {
      for (const std::string& type : Values(value)) filter.event_types.insert(type);
    } else if (name == "GE_eventTime" || name == "LT_eventTime") {
      absl::Time time;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
        return BadQuery(absl::StrCat(name, ": not an RFC 3339 date-time: ", error));
      }
      (name == "GE_eventTime" ? filter.ge_time : filter.lt_time) = time;
    } else if (name == "MATCH_epc" || name == "MATCH_anyEPCClass") {
      for (const std::string& uri : Values(value)) {
        auto lot = LotId(uri);
        if (!lot.ok()) return BadQuery(absl::StrCat(name, ": ", lot.status().message()));
        if (!lot->has_value()) {
          return BadQuery(absl::StrCat(name, ": '", uri,
                                       "' names no lot (an LGTIN, a Digital Link with a lot, or "
                                       "urn:lodestone:lot:<id>; patterns are not supported)"));
        }
        filter.lots.insert(**lot);
      }
    } else if (name == "EQ_bizStep") {
      for (const std::string& step : Values(value)) {
        filter.biz_steps.insert(CbvWord(step, "bizstep", "BizStep"));
      }
    } else if (name == "EQ_bizLocation") {
      for (const std::string& uri : Values(value)) {
        auto facility = FacilityId(uri);
        if (!facility.ok() || !facility->has_value()) {
          return BadQuery(absl::StrCat("EQ_bizLocation: '", uri,
                                       "' is not an SGLN, a GLN Digital Link or "
                                       "urn:lodestone:facility:<id>"));
        }
        filter.biz_locations.insert(**facility);
      }
    } else if (name == "perPage") {
      if (!absl::SimpleAtoi(value, &per_page) || per_page == 0) {
        return BadQuery("perPage: a positive integer");
      }
      per_page = std::min(per_page, options_.max_per_page);
    } else if (name == "nextPageToken") {
      if (!value.starts_with(kTokenPrefix) || !absl::SimpleAtoi(value.substr(1), &from)) {
        return BadQuery("nextPageToken: not a token this server gave");
      }
    } else {
      return BadQuery(absl::StrCat(
          "unknown query parameter '", name,
          "' (eventType, GE_eventTime, LT_eventTime, MATCH_epc, MATCH_anyEPCClass, EQ_bizStep, "
          "EQ_bizLocation, perPage, nextPageToken)"));
    }
  }
  auto reader = Reader(request.caller);
  if (!reader.ok()) return http::ProblemFromStatus(reader.status());
  const uint64_t end = ledger_.log().GetHead().size;
  Cursor cursor(ledger_, std::min(from, end), end);
  Json events = Json::array();
  size_t scanned = 0;
  while (events.size() < per_page && scanned < options_.max_scanned) {
    auto next = cursor.Peek();
    if (!next.ok()) return http::ProblemFromStatus(next.status());
    if (*next == nullptr) break;
    auto group = NextGroup(cursor);
    if (!group.ok()) return http::ProblemFromStatus(group.status());
    scanned += group->size();
    const auto keep = [&](const ExportedFacts& facts, absl::Time event_time) {
      if (!filter.event_types.empty() && !filter.event_types.contains(facts.event_type)) {
        return false;
      }
      if (filter.ge_time && event_time < *filter.ge_time) return false;
      if (filter.lt_time && event_time >= *filter.lt_time) return false;
      if (!filter.lots.empty() &&
          std::none_of(facts.lots.begin(), facts.lots.end(),
                       [&](const auto& l) { return filter.lots.contains(l); })) {
        return false;
      }
      if (!filter.biz_steps.empty() && !filter.biz_steps.contains(facts.biz_step)) return false;
      return filter.biz_locations.empty() || filter.biz_locations.contains(facts.biz_location);
    };
    auto exported = Export(ledger_, *group, keep);
    if (!exported.ok()) return http::ProblemFromStatus(exported.status());
    if (!exported->has_value()) continue;
    if (!reader->empty()) {
      auto party_to = ledger_.IsPartyTo(group->front().event, *reader);
      if (!party_to.ok()) return http::ProblemFromStatus(party_to.status());
      if (!*party_to) continue;
    }
    Json& event = **exported;
    events.push_back(std::move(event));
  }
  Json document = {
      {"@context", ExportContext()},
      {"type", "EPCISQueryDocument"},
      {"schemaVersion", "2.0"},
      {"creationDate", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"epcisBody",
       {{"queryResults",
         {{"queryName", "SimpleEventQuery"},
          {"resultsBody", {{"eventList", std::move(events)}}}}}}}};
  Response response = http::JsonResponse(200, document, "application/ld+json");
  auto last = cursor.Peek();
  if (last.ok() && *last != nullptr) {
    // More to read: the token is where this page stopped (an opaque position).
    const std::string token = absl::StrCat(kTokenPrefix, cursor.position());
    std::string link = "/events?";
    for (const auto& [name, value] : request.query) {
      if (name == "nextPageToken") continue;
      absl::StrAppend(&link, http::UrlEncode(name), "=", http::UrlEncode(value), "&");
    }
    absl::StrAppend(&link, "nextPageToken=", token);
    response.headers.emplace_back("Link", absl::StrCat("<", link, ">; rel=\"next\""));
    response.headers.emplace_back("GS1-Next-Page-Token", token);
  }
  return response;
}

Response QueryService::GetEvent(const http::Request& request) const {
  const std::string id = request.path_params.at("eventID");
  auto reader = Reader(request.caller);
  if (!reader.ok()) return http::ProblemFromStatus(reader.status());
  // The first Lodestone event of the EPCIS event `id` names.
  std::optional<std::string> first;
  if (domain::IsEpcisEventHash(id)) {
    auto found = ledger_.FindEpcisEventHash(id);
    if (!found.ok()) return http::ProblemFromStatus(found.status());
    first = *found;
  }
  std::vector<std::string> candidates;
  if (first) candidates.push_back(*first);
  candidates.push_back(EventIdFromEpcis(id));
  candidates.push_back(absl::StrCat(EventIdFromEpcis(id), "/0"));
  if (id.starts_with(kNativePrefix)) {
    candidates.push_back(id.substr(std::string_view(kNativePrefix).size()));
  }
  std::optional<uint64_t> position;
  for (const std::string& candidate : candidates) {
    auto found = ledger_.log().FindEventId(candidate);
    if (!found.ok()) return http::ProblemFromStatus(found.status());
    if (found->has_value()) {
      position = **found;
      break;
    }
  }
  const Response not_found =
      http::ProblemResponse(404, "Not Found", absl::StrCat("no EPCIS event '", id, "'"));
  if (!position) return not_found;
  Cursor cursor(ledger_, *position, ledger_.log().GetHead().size);
  auto peek = cursor.Peek();
  if (!peek.ok()) return http::ProblemFromStatus(peek.status());
  if (*peek == nullptr) return not_found;
  auto group = NextGroup(cursor);
  if (!group.ok()) return http::ProblemFromStatus(group.status());
  if (!reader->empty()) {
    auto party_to = ledger_.IsPartyTo(group->front().event, *reader);
    if (!party_to.ok()) return http::ProblemFromStatus(party_to.status());
    if (!*party_to) return not_found;  // as unknown: its existence is another partner's
  }
  auto exported = Export(ledger_, *group, [](const ExportedFacts&, absl::Time) { return true; });
  if (!exported.ok()) return http::ProblemFromStatus(exported.status());
  if (!exported->has_value()) {
    return http::ProblemResponse(404, "Not Found",
                                 absl::StrCat("event '", id,
                                              "' is master data or authority, not an EPCIS event "
                                              "(docs/epcis.md)"));
  }
  Json event = Json::object();
  event["@context"] = ExportContext();
  for (auto& [key, value] : (*exported)->items()) event[key] = value;
  return http::JsonResponse(200, event, "application/ld+json");
}

}  // namespace lodestone::epcis
