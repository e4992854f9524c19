#include "services/epcis/schema_validator.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

#define VALIJSON_USE_EXCEPTIONS 1
#include "valijson/adapters/nlohmann_json_adapter.hpp"
#include "valijson/constraint_builder.hpp"
#include "valijson/constraints/concrete_constraints.hpp"
#include "valijson/schema.hpp"
#include "valijson/schema_parser.hpp"
#include "valijson/validation_results.hpp"
#include "valijson/validator.hpp"

namespace lodestone::epcis {

extern const char kEpcisSchemaJson[];
extern const size_t kEpcisSchemaJsonSize;
extern const char kEpcisContextJsonLd[];
extern const size_t kEpcisContextJsonLdSize;

namespace {

// The schema's "format" keywords are renamed to this one before parsing, so that valijson's own
// (regular-expression) format check never runs and ours does.
constexpr char kFormatKeyword[] = "x-lodestone-format";

bool Digits(std::string_view s, size_t at, size_t n, int* value) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

class FormatConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit FormatConstraint(std::string format) : format_(std::move(format)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    std::string text;
    if (!target.maybeString() || !target.getString(text)) return true;  // formats apply to strings
    bool ok = true;
    if (format_ == "date-time") ok = IsRfc3339DateTime(text);
    if (format_ == "uri") ok = IsAbsoluteUri(text);
    if (!ok && results != nullptr) {
      results->pushError(context,
                         absl::StrCat("'", text.substr(0, 80), "' is not a valid ", format_));
    }
    return ok;
  }

 private:
  Constraint* cloneInto(void* memory) const override {
    return new (memory) FormatConstraint(*this);
  }
  size_t sizeOf() const override { return sizeof(FormatConstraint); }

  std::string format_;
};

class FormatBuilder final : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& value) const override {
    std::string format;
    value.getString(format);
    return new FormatConstraint(format);
  }
};

void RenameFormats(http::Json& schema) {
  if (schema.is_object()) {
    if (schema.contains("format") && schema["format"].is_string()) {
      schema[kFormatKeyword] = schema["format"];
      schema.erase("format");
    }
    for (auto& [key, value] : schema.items()) RenameFormats(value);
  } else if (schema.is_array()) {
    for (auto& value : schema) RenameFormats(value);
  }
}

// Replaces every "$ref": "#/definitions/<name>" by a copy of that definition (with the
// reference's sibling keywords, if any, beside it in an allOf). valijson 1.0 mixes up the
// `propertyNames` of a referenced schema with those of the schema referring to it (an object
// under "ilmd" was judged by the event's property-name rule); inlined, each keeps its own.
// The EPCIS schema has no recursive definitions; a cycle is reported rather than expanded.
absl::StatusOr<http::Json> InlineRefs(const http::Json& schema, const http::Json& definitions,
                                      std::vector<std::string>& stack) {
  constexpr std::string_view kPrefix = "#/definitions/";
  if (schema.is_array()) {
    http::Json out = http::Json::array();
    for (const auto& item : schema) {
      auto inlined = InlineRefs(item, definitions, stack);
      if (!inlined.ok()) return inlined.status();
      out.push_back(*std::move(inlined));
    }
    return out;
  }
  if (!schema.is_object()) return schema;
  http::Json out = http::Json::object();
  for (const auto& [key, value] : schema.items()) {
    if (key == "$ref") continue;
    auto inlined = InlineRefs(value, definitions, stack);
    if (!inlined.ok()) return inlined.status();
    out[key] = *std::move(inlined);
  }
  const auto ref = schema.find("$ref");
  if (ref == schema.end() || !ref->is_string()) return out;
  const std::string target = ref->get<std::string>();
  if (!target.starts_with(kPrefix)) {
    return absl::InternalError(absl::StrCat("unsupported $ref '", target, "'"));
  }
  const std::string name = target.substr(kPrefix.size());
  if (!definitions.contains(name)) {
    return absl::InternalError(absl::StrCat("$ref to a missing definition '", name, "'"));
  }
  if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
    return absl::InternalError(absl::StrCat("recursive definition '", name, "'"));
  }
  stack.push_back(name);
  auto expanded = InlineRefs(definitions[name], definitions, stack);
  stack.pop_back();
  if (!expanded.ok()) return expanded.status();
  if (out.empty()) return expanded;
  return http::Json{{"allOf", http::Json::array({*std::move(expanded), std::move(out)})}};
}

// "<root>", "[epcisBody]", "[eventList]", "[0]" -> "/epcisBody/eventList/0".
std::string ContextToPointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (const std::string& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    pointer = http::PointerAppend(pointer, part.substr(1, part.size() - 2));
  }
  return pointer;
}

}  // namespace

bool IsRfc3339DateTime(std::string_view s) {
  // date-fullyear "-" date-month "-" date-mday "T" time-hour ":" time-minute ":" time-second
  // [time-secfrac] time-offset (RFC 3339 section 5.6; "T" and "Z" in either case).
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > days) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  int offset_hour, offset_minute;
  return i + 6 == s.size() && Digits(s, i + 1, 2, &offset_hour) && s[i + 3] == ':' &&
         Digits(s, i + 4, 2, &offset_minute) && offset_hour <= 23 && offset_minute <= 59;
}

bool IsAbsoluteUri(std::string_view s) {
  // scheme ":" followed by URI characters: unreserved, reserved and %HH (RFC 3986).
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto hex = [&](char c) {
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  if (s.empty() || !alpha(s[0])) return false;
  size_t i = 1;
  while (i < s.size() &&
         (alpha(s[i]) || digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
    ++i;
  }
  if (i == s.size() || s[i] != ':') return false;
  static constexpr std::string_view kAllowed = "-._~:/?#[]@!$&'()*+,;=";
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 2;
    } else if (!alpha(c) && !digit(c) && kAllowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string_view EpcisSchemaText() { return {kEpcisSchemaJson, kEpcisSchemaJsonSize}; }
std::string_view EpcisContextText() { return {kEpcisContextJsonLd, kEpcisContextJsonLdSize}; }

struct SchemaValidator::Impl {
  valijson::Schema schema;
};

absl::StatusOr<std::unique_ptr<SchemaValidator>> SchemaValidator::Create() {
  auto parsed = http::ParseJson(EpcisSchemaText(), {.max_depth = 128});
  if (!parsed.ok())
    return absl::InternalError(absl::StrCat("EPCIS schema: ", parsed.status().message()));
  std::vector<std::string> stack;
  http::Json definitions = parsed->value.value("definitions", http::Json::object());
  parsed->value.erase("definitions");
  auto inlined = InlineRefs(parsed->value, definitions, stack);
  if (!inlined.ok()) {
    return absl::InternalError(absl::StrCat("EPCIS schema: ", inlined.status().message()));
  }
  http::Json schema = *std::move(inlined);
  RenameFormats(schema);
  auto impl = std::make_unique<Impl>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.addConstraintBuilder(kFormatKeyword, new FormatBuilder());
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("EPCIS schema does not load: ", e.what()));
  }
  return std::unique_ptr<SchemaValidator>(new SchemaValidator(std::move(impl)));
}

SchemaValidator::SchemaValidator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaValidator::~SchemaValidator() = default;

absl::Status SchemaValidator::Validate(const http::Json& document,
                                       SchemaViolation* violation) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  bool ok = false;
  try {
    ok = validator.validate(impl_->schema, adapter, &results);
  } catch (const std::exception& e) {
    *violation = {"", absl::StrCat("schema validation failed: ", e.what())};
    return absl::InvalidArgumentError(violation->message);
  }
  if (ok) return absl::OkStatus();
  // The most specific error: the deepest path (anyOf/oneOf report every branch; the deepest one
  // is where the document went wrong), the first among equals.
  const valijson::ValidationResults::Error* best = nullptr;
  valijson::ValidationResults::Error error;
  std::vector<valijson::ValidationResults::Error> all;
  while (results.popError(error)) all.push_back(error);
  for (const auto& candidate : all) {
    if (best == nullptr || candidate.context.size() > best->context.size()) best = &candidate;
  }
  if (best == nullptr) {
    *violation = {"", "the document does not validate against the EPCIS 2.0.1 JSON Schema"};
  } else {
    *violation = {ContextToPointer(best->context), best->description};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("schema: ", violation->pointer, ": ", violation->message));
}

}  // namespace lodestone::epcis
