// RFC 9457 problem details (application/problem+json) and the one mapping from absl::Status
// codes to HTTP status codes.
#ifndef LODESTONE_SERVICES_HTTP_PROBLEM_H_
#define LODESTONE_SERVICES_HTTP_PROBLEM_H_

#include <string_view>

#include "absl/status/status.h"
#include "services/http/http_server.h"
#include "services/http/json.h"

namespace lodestone::http {

inline constexpr std::string_view kProblemMediaType = "application/problem+json";

// {"type","title","status","detail", ...extensions}. `type` is "about:blank" unless given;
// `extensions` (an object, or null) adds members.
Response ProblemResponse(int status, std::string_view title, std::string_view detail,
                         const Json& extensions = Json(), std::string_view type = "about:blank");

// INVALID_ARGUMENT 400, NOT_FOUND 404, ALREADY_EXISTS 409, ABORTED 409, FAILED_PRECONDITION 409,
// PERMISSION_DENIED 403, UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, UNIMPLEMENTED 501, OUT_OF_RANGE 400, others 500.
int HttpStatusFromStatus(const absl::Status& status);

// A problem for a failed status: the title is the status code's name, the detail its message,
// and a member "code" carries the code name ("INVALID_ARGUMENT").
Response ProblemFromStatus(const absl::Status& status, const Json& extensions = Json());

Response JsonResponse(int status, const Json& body,
                      std::string_view content_type = "application/json");

}  // namespace lodestone::http

#endif  // LODESTONE_SERVICES_HTTP_PROBLEM_H_
