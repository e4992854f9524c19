// Lodestone events -> EPCIS 2.0 JSON-LD events (docs/epcis.md, "Query and export"): the inverse
// of the mapping, so that an exported event captured again maps to the same Lodestone events.
// Pure: the caller reads the ledger and hands over the events of one EPCIS event.
#ifndef LODESTONE_SERVICES_EPCIS_EXPORT_H_
#define LODESTONE_SERVICES_EPCIS_EXPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/domain/event.h"
#include "services/http/json.h"

namespace lodestone::epcis {

// The @context of exported documents and events: the standard context and the Lodestone
// extension namespace bound to "lodestone".
http::Json ExportContext();

// Whether two consecutive committed events are parts of one EPCIS event (captured from it: the
// same EPCIS eventID and hash and payload kind; a commissioning of several lots, or the
// retractions of one error declaration).
bool SameEpcisEvent(const domain::Event& a, const domain::Event& b);

// The eventID an event is exported with: the EPCIS eventID it was captured with, else its
// canonical hash (a captured event without eventID), else urn:lodestone:event:<id> (native).
std::string ExportedEventId(const domain::Event& event);

// The EPCIS event of `group` (one EPCIS event's Lodestone events, SameEpcisEvent, in log order),
// committed at `record_time`: ObjectEvent or TransformationEvent with the Lodestone extension
// members; nullopt for events that are master data or authority (parties, facilities, licences,
// roles, keys) and for retractions (ExportRetraction).
std::optional<http::Json> ExportEvent(const std::vector<domain::Event>& group,
                                      absl::Time record_time);

// The EPCIS error declaration of `retractions` (one EventRetracted group) of the events
// `originals`: the originals' export with `errorDeclaration`; `corrective_ids` are the exported
// eventIDs of the corrective events. nullopt when the originals do not export.
std::optional<http::Json> ExportRetraction(const std::vector<domain::Event>& retractions,
                                           const std::vector<domain::Event>& originals,
                                           const std::vector<std::string>& corrective_ids,
                                           absl::Time record_time);

// What query filters read of an exported group, without exporting it: its EPCIS type (empty:
// not exported), the lots it names, the facility of its bizLocation (empty: none) and its
// bizStep word (empty: none).
struct ExportedFacts {
  std::string event_type;
  std::vector<std::string> lots;
  std::string biz_location;
  std::string biz_step;
};
ExportedFacts FactsOf(const std::vector<domain::Event>& group);

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_EXPORT_H_
