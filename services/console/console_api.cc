#include "services/console/console_api.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "services/http/problem.h"

namespace lodestone::console {

namespace {

std::string ContentType(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/plain; charset=utf-8"},
  };
  const size_t dot = path.rfind('.');
  if (dot != std::string_view::npos) {
    if (auto it = kTypes.find(path.substr(dot)); it != kTypes.end()) return std::string(it->second);
  }
  return "application/octet-stream";
}

// Same-origin only, nothing from elsewhere: the console works offline and loads no third party.
void SecurityHeaders(http::Response& response) {
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' "
                                "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cache-Control", "no-cache");
}

// The party a console caller reads as: "" for nodes and the local administrator.
std::string PartyOf(const rpc::Caller& caller) {
  return caller.kind == rpc::Caller::Kind::kParty ? caller.id : std::string();
}

http::Response Problem(const absl::Status& status) { return http::ProblemFromStatus(status); }

http::Response MessageResponse(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  if (auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
      !status.ok()) {
    return Problem(absl::InternalError(
        absl::StrCat("cannot print the answer: ", std::string(status.message()))));
  }
  http::Response response;
  response.body = std::move(json);
  SecurityHeaders(response);
  return response;
}

absl::Status ParseBody(const http::Request& request, google::protobuf::Message& message) {
  if (request.body.empty()) return absl::OkStatus();  // every field at its default
  const std::string type = request.MediaType();
  if (!type.empty() && type != "application/json") {
    return absl::InvalidArgumentError(
        absl::StrCat("the body must be application/json, got ", type));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto status = google::protobuf::util::JsonStringToMessage(request.body, &message, options);
      !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the body is not a ",
                                                   std::string(message.GetDescriptor()->name()),
                                                   ": ", std::string(status.message())));
  }
  return absl::OkStatus();
}

using MethodHandler = std::function<http::Response(const http::Request&)>;

// A provenance method: parse, Answer as the gRPC method would, print.
template <typename Request, typename Response>
MethodHandler ProvenanceMethod(const ConsoleOptions& options, const char* method) {
  return [&options, method](const http::Request& http_request) {
    Request request;
    if (auto status = ParseBody(http_request, request); !status.ok()) return Problem(status);
    Response response;
    const absl::Status status = options.provenance->Answer(
        method, PartyOf(http_request.caller), request, &response, absl::Now() + options.max_wait);
    return status.ok() ? MessageResponse(response) : Problem(status);
  };
}

template <typename Request, typename Response>
MethodHandler LedgerMethod(const ConsoleOptions& options) {
  return [&options](const http::Request& http_request) {
    Request request;
    if (auto status = ParseBody(http_request, request); !status.ok()) return Problem(status);
    auto reader = options.ledger->ReaderFor(http_request.caller);
    if (!reader.ok()) return Problem(reader.status());
    Response response;
    const absl::Status status = options.ledger->Answer(*reader, request, &response);
    return status.ok() ? MessageResponse(response) : Problem(status);
  };
}

}  // namespace

void RegisterConsole(http::HttpServer& server, const ConsoleOptions& options_in) {
  // Handlers outlive this call: they share one copy of the options.
  auto options = std::make_shared<const ConsoleOptions>(options_in);
  const std::vector<WebFile>& files =
      options->web_files != nullptr ? *options->web_files : EmbeddedWebFiles();
  auto by_path = std::make_shared<std::map<std::string, WebFile, std::less<>>>();
  for (const WebFile& file : files) by_path->emplace(std::string(file.path), file);

  auto serve_file = [by_path](std::string_view path) {
    if (path.empty()) path = "index.html";
    auto it = by_path->find(path);
    if (it == by_path->end()) {
      return http::ProblemResponse(404, "Not Found",
                                   absl::StrCat("no console file '", std::string(path), "'"));
    }
    http::Response response;
    response.content_type = ContentType(path);
    response.body = std::string(it->second.content);
    SecurityHeaders(response);
    return response;
  };
  // "/console" and "/console/" are one route (empty segments are ignored): the page's relative
  // links need the slash, so the first is redirected to the second.
  server.Route("GET", "/console", [serve_file](const http::Request& request) {
    if (request.path.ends_with('/')) return serve_file("");
    http::Response response;
    response.status = 308;
    response.content_type = "text/plain; charset=utf-8";
    response.headers.emplace_back("Location", "/console/");
    return response;
  });
  server.Route("GET", "/console/{file}", [serve_file](const http::Request& request) {
    return serve_file(request.path_params.at("file"));
  });
  server.Route("GET", "/console/{dir}/{file}", [serve_file](const http::Request& request) {
    return serve_file(
        absl::StrCat(request.path_params.at("dir"), "/", request.path_params.at("file")));
  });

  const ConsoleOptions& o = *options;
  auto provenance = std::make_shared<std::map<std::string, MethodHandler, std::less<>>>();
  provenance->emplace("GetLot",
                      ProvenanceMethod<v1::GetLotRequest, v1::GetLotResponse>(o, "GetLot"));
  provenance->emplace(
      "TraceOrigin",
      ProvenanceMethod<v1::TraceOriginRequest, v1::TraceOriginResponse>(o, "TraceOrigin"));
  provenance->emplace("TraceDownstream",
                      ProvenanceMethod<v1::TraceDownstreamRequest, v1::TraceDownstreamResponse>(
                          o, "TraceDownstream"));
  provenance->emplace(
      "GetShipment",
      ProvenanceMethod<v1::GetShipmentRequest, v1::GetShipmentResponse>(o, "GetShipment"));
  provenance->emplace(
      "ListFlags", ProvenanceMethod<v1::ListFlagsRequest, v1::ListFlagsResponse>(o, "ListFlags"));
  provenance->emplace("CheckCompliance",
                      ProvenanceMethod<v1::CheckComplianceRequest, v1::CheckComplianceResponse>(
                          o, "CheckCompliance"));
  provenance->emplace(
      "GetExposure",
      ProvenanceMethod<v1::GetExposureRequest, v1::GetExposureResponse>(o, "GetExposure"));
  provenance->emplace("GetHistory", ProvenanceMethod<v1::GetHistoryRequest, v1::GetHistoryResponse>(
                                        o, "GetHistory"));
  auto ledger = std::make_shared<std::map<std::string, MethodHandler, std::less<>>>();
  if (o.ledger != nullptr) {
    ledger->emplace("GetHead", LedgerMethod<v1::GetHeadRequest, v1::Head>(o));
    ledger->emplace("GetEvent", LedgerMethod<v1::GetEventRequest, v1::StoredEvent>(o));
    ledger->emplace("GetInclusionProof",
                    LedgerMethod<v1::GetInclusionProofRequest, v1::InclusionProof>(o));
    ledger->emplace("GetConsistencyProof",
                    LedgerMethod<v1::GetConsistencyProofRequest, v1::ConsistencyProof>(o));
  }
  auto dispatch = [options](
                      std::shared_ptr<std::map<std::string, MethodHandler, std::less<>>> table,
                      std::string service) {
    return [options, table, service](const http::Request& request) {
      const std::string& method = request.path_params.at("method");
      auto it = table->find(method);
      if (it == table->end()) {
        return http::ProblemResponse(404, "Not Found",
                                     absl::StrCat("no method '", method, "' in /api/", service));
      }
      return it->second(request);
    };
  };
  server.Route("POST", "/api/provenance/{method}", dispatch(provenance, "provenance"));
  server.Route("POST", "/api/ledger/{method}", dispatch(ledger, "ledger"));

  server.Route("GET", "/api/search", [options](const http::Request& request) {
    size_t limit = provenance::ProvenanceServiceImpl::kMaxSearchResults;
    if (auto text = request.Query("limit"); text.has_value() && !absl::SimpleAtoi(*text, &limit)) {
      return Problem(absl::InvalidArgumentError("limit must be a number"));
    }
    auto hits = options->provenance->Search(PartyOf(request.caller),
                                            request.Query("q").value_or(""), limit);
    if (!hits.ok()) return Problem(hits.status());
    http::Json results = http::Json::array();
    for (const auto& hit : *hits) results.push_back({{"kind", hit.kind}, {"id", hit.id}});
    http::Response response = http::JsonResponse(200, {{"results", std::move(results)}});
    SecurityHeaders(response);
    return response;
  });
  server.Route("GET", "/api/info", [options](const http::Request&) {
    http::Json info = {{"service", options->service_name}, {"ledger", options->ledger != nullptr}};
    if (options->ledger != nullptr) {
      v1::Head head;
      if (options->ledger->Answer("", v1::GetHeadRequest(), &head).ok()) {
        info["headSize"] = std::to_string(head.size());
      }
    }
    http::Response response = http::JsonResponse(200, info);
    SecurityHeaders(response);
    return response;
  });
}

}  // namespace lodestone::console
