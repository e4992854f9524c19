#include "services/http/problem.h"

#include <string>

#include "absl/status/status.h"

namespace lodestone::http {

Response ProblemResponse(int status, std::string_view title, std::string_view detail,
                         const Json& extensions, std::string_view type) {
  Json body = Json::object();
  body["type"] = std::string(type);
  body["title"] = std::string(title);
  body["status"] = status;
  if (!detail.empty()) body["detail"] = std::string(detail);
  if (extensions.is_object()) {
    for (const auto& [key, value] : extensions.items()) body[key] = value;
  }
  return JsonResponse(status, body, kProblemMediaType);
}

int HttpStatusFromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

Response ProblemFromStatus(const absl::Status& status, const Json& extensions) {
  Json members = extensions.is_object() ? extensions : Json::object();
  members["code"] = absl::StatusCodeToString(status.code());
  const int http_status = HttpStatusFromStatus(status);
  Response response = ProblemResponse(http_status, absl::StatusCodeToString(status.code()),
                                      std::string(status.message()), members);
  if (http_status == 503 || http_status == 429) response.headers.emplace_back("Retry-After", "1");
  return response;
}

Response JsonResponse(int status, const Json& body, std::string_view content_type) {
  Response response;
  response.status = status;
  response.content_type = std::string(content_type);
  response.body = DumpJson(body);
  return response;
}

}  // namespace lodestone::http
