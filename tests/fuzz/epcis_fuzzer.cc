// EPCIS 2.0 capture up to the ledger (services/epcis, as CaptureService prepares a capture):
// JSON parse with limits (http::ParseJson), schema validation (SchemaValidator), mapping to
// Lodestone events (MapDocument). Input: the text of an EPCIS document (a capture body).
// Invariants: a mapped document's bookkeeping is consistent (one source index per event, one
// hash per EPCIS event, indexes in order); mapping is deterministic; a refused mapping says so
// as INVALID_ARGUMENT with kind "mapping"; every mapped event the ledger's validation accepts
// survives the codec round trip (event_checks.h).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "services/domain/rules.h"
#include "services/epcis/mapping.h"
#include "services/epcis/schema_validator.h"
#include "services/http/json.h"
#include "tests/fuzz/event_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace epcis = lodestone::epcis;

const epcis::SchemaValidator& Validator() {
  static const epcis::SchemaValidator* validator = [] {
    auto created = epcis::SchemaValidator::Create();
    FUZZ_CHECK(created.ok());
    return created->release();
  }();
  return *validator;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed =
      lodestone::http::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) return 0;
  epcis::SchemaViolation violation;
  if (!Validator().Validate(parsed->value, &violation).ok()) return 0;
  const epcis::MappingOptions options{.default_actor = "fuzz-party"};
  epcis::MappedDocument mapped;
  epcis::CaptureError error;
  const absl::Status status = epcis::MapDocument(*parsed, options, &mapped, &error);
  if (!status.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(status));
    FUZZ_CHECK(error.kind == "mapping");
    return 0;
  }
  FUZZ_CHECK(mapped.source_index.size() == mapped.events.size());
  FUZZ_CHECK(mapped.event_hashes.size() == mapped.epcis_events);
  for (size_t i = 0; i < mapped.source_index.size(); ++i) {
    FUZZ_CHECK(mapped.source_index[i] < mapped.epcis_events);
    if (i > 0) FUZZ_CHECK(mapped.source_index[i - 1] <= mapped.source_index[i]);
  }
  epcis::MappedDocument again;
  FUZZ_CHECK(epcis::MapDocument(*parsed, options, &again, &error).ok());
  FUZZ_CHECK(again.events == mapped.events && again.event_hashes == mapped.event_hashes);
  for (const auto& event : mapped.events) {
    if (lodestone::domain::ValidateEvent(event).ok()) {
      lodestone::fuzz::CheckCanonicalRoundTrip(event);
    }
  }
  return 0;
}
