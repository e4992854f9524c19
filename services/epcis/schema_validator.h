// Validation of EPCIS 2.0 documents against the ratified EPCIS 2.0.1 JSON Schema (draft-07,
// compiled into the library), with valijson and Lodestone's own `date-time` and `uri` format
// checks (valijson 1.0 checks no `uri` format, and its `date-time` is a regular expression).
#ifndef LODESTONE_SERVICES_EPCIS_SCHEMA_VALIDATOR_H_
#define LODESTONE_SERVICES_EPCIS_SCHEMA_VALIDATOR_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/http/json.h"

namespace lodestone::epcis {

struct SchemaViolation {
  std::string pointer;  // JSON Pointer of the most specific failing value
  std::string message;
};

class SchemaValidator {
 public:
  // INTERNAL if the embedded schema does not load (a build defect).
  static absl::StatusOr<std::unique_ptr<SchemaValidator>> Create();
  ~SchemaValidator();

  // OK, or INVALID_ARGUMENT with `violation` set. Thread-safe.
  absl::Status Validate(const http::Json& document, SchemaViolation* violation) const;

 private:
  struct Impl;
  explicit SchemaValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The format checks, exposed for tests.
bool IsRfc3339DateTime(std::string_view text);
bool IsAbsoluteUri(std::string_view text);

// The embedded schema and JSON-LD context (the vendored files' bytes).
std::string_view EpcisSchemaText();
std::string_view EpcisContextText();

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_SCHEMA_VALIDATOR_H_
