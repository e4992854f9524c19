// JSON for the HTTP interfaces (nlohmann-json): parsing untrusted bodies with limits and without
// exceptions, keeping the exact text of every non-integer number (so that quantities can be
// converted from their decimal text, never through a double), and JSON Pointers.
#ifndef LODESTONE_SERVICES_HTTP_JSON_H_
#define LODESTONE_SERVICES_HTTP_JSON_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace lodestone::http {

using Json = nlohmann::json;

struct JsonLimits {
  size_t max_depth = 64;  // nested arrays and objects; deeper: INVALID_ARGUMENT
};

struct ParsedJson {
  Json value;
  // JSON Pointer -> the number's text as written, for every number with a fraction or an
  // exponent (integers are exact in `value`).
  std::map<std::string, std::string> number_text;

  // The text of the number at `pointer`: as written for a non-integer, the integer otherwise;
  // "" when there is no number there.
  std::string NumberText(const std::string& pointer) const;
};

// INVALID_ARGUMENT naming the byte offset for malformed JSON, a duplicate object key, or nesting
// deeper than the limit. Never throws.
absl::StatusOr<ParsedJson> ParseJson(std::string_view text, const JsonLimits& limits = {});

// "/a/0/b~1c": the JSON Pointer (RFC 6901) token for `key` appended to `pointer`.
std::string PointerAppend(std::string_view pointer, std::string_view key);
std::string PointerAppend(std::string_view pointer, size_t index);

// Serializes without throwing (invalid UTF-8 is replaced).
std::string DumpJson(const Json& value, int indent = -1);

}  // namespace lodestone::http

#endif  // LODESTONE_SERVICES_HTTP_JSON_H_
