// EPCIS 2.0 events -> Lodestone events (docs/epcis.md has the table). Pure: no ledger, no I/O.
// A document maps whole or not at all; the first event that cannot be mapped is named by its
// index and a JSON Pointer.
#ifndef LODESTONE_SERVICES_EPCIS_MAPPING_H_
#define LODESTONE_SERVICES_EPCIS_MAPPING_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/domain/event.h"
#include "services/http/json.h"

namespace lodestone::epcis {

// Why a capture was refused, as the problem+json body names it.
struct CaptureError {
  std::string kind;  // "schema", "mapping" or "rule"
  size_t event_index = 0;
  bool has_event = false;  // false: the document as a whole (no event index)
  std::string pointer;     // JSON Pointer into the captured document
  std::string reason;
};

struct MappingOptions {
  // The actor of events that name none (lodestone:actor): the caller's party.
  std::string default_actor;
};

struct MappedDocument {
  std::vector<domain::Event> events;
  std::vector<size_t> source_index;  // per Lodestone event: the index of its EPCIS event
  size_t epcis_events = 0;
  // Per EPCIS event: its CBV 2.0 canonical event hash (event_hash.h), "ni:///sha-256;...".
  std::vector<std::string> event_hashes;
};

// The events of an EPCIS document (/epcisBody/eventList) that has passed schema validation. An
// event without eventID is identified by its canonical event hash (a re-capture of the same
// event, or an error declaration of it, has the same one).
// On failure returns INVALID_ARGUMENT and fills `error` (kind "mapping").
absl::Status MapDocument(const http::ParsedJson& document, const MappingOptions& options,
                         MappedDocument* out, CaptureError* error);

// The Lodestone event id an EPCIS eventID maps to: "epcis:<eventID>" when that is a well formed
// id, else "epcis:sha256:<first 40 hex digits of SHA-256(eventID)>".
std::string EventIdFromEpcis(std::string_view epcis_event_id);

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_MAPPING_H_
