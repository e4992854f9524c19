// The small pieces of EPCIS/CBV vocabulary the mapping needs, as pure functions: quantities to
// grams from their decimal text, GS1 identifiers (EPC URNs and GS1 Digital Link URIs) to the
// Lodestone ids they name, CBV words in their three spellings, and the Lodestone extension
// namespace. docs/epcis.md is the reference.
#ifndef LODESTONE_SERVICES_EPCIS_VOCABULARY_H_
#define LODESTONE_SERVICES_EPCIS_VOCABULARY_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/domain/event.h"

namespace lodestone::epcis {

// The Lodestone extension namespace (a JSON-LD prefix bound to it, "lodestone" by convention).
inline constexpr std::string_view kLodestoneNamespace = "urn:lodestone:epcis:v1:";

// Grams, exactly, from a quantity's decimal text ("452", "1.25", "2.5E3") and its UN/ECE Rec 20
// unit: GRM, KGM, TNE (tonne), MGM, and LBR / ONZ (avoirdupois, exact by definition, rounded once
// to the nearest gram, half to even). INVALID_ARGUMENT for a missing or unknown unit (counts
// have none), text that is not a decimal, a metric quantity that is not a whole number of
// grams, zero or negative masses, and masses above 2^52 g.
absl::StatusOr<domain::Grams> GramsFromDecimal(std::string_view text, std::string_view uom);

// What a GS1 identifier names in Lodestone. Accepted spellings (docs/epcis.md):
//   lot       urn:epc:class:lgtin:CP.IR.LOT | https://<host>/01/<gtin>/10/<lot> |
//   urn:lodestone:lot:<id> facility  urn:epc:id:sgln:CP.LR.EXT |
//   https://<host>/414/<gln>[/254/<ext>] | urn:lodestone:facility:<id> party urn:epc:id:pgln:CP.PR
//   | https://<host>/417/<gln> | urn:lodestone:party:<id>
// GS1 keys become "01/<gtin14>/10/<lot>", "414/<gln13>[/254/<ext>]" and "417/<gln13>" (check
// digits verified); nullopt when `uri` is not of that kind, INVALID_ARGUMENT when it is but is
// malformed or does not make a well-formed Lodestone id.
absl::StatusOr<std::optional<std::string>> LotId(std::string_view uri);
absl::StatusOr<std::optional<std::string>> FacilityId(std::string_view uri);
absl::StatusOr<std::optional<std::string>> PartyId(std::string_view uri);
// A business transaction's id as a shipment id: urn:epcglobal:cbv:bt:<gln>:<id> -> "bt:<gln>:<id>",
// a GS1 Digital Link GDTI .../253/<gdti> -> "253/<gdti>", urn:lodestone:shipment:<id> -> <id>.
absl::StatusOr<std::string> ShipmentId(std::string_view uri);

// The GS1 Digital Link (https://id.gs1.org/...) of a Lodestone id made by the functions above,
// or urn:lodestone:<kind>:<id> for a native one. `kind` is "lot", "facility", "party" or
// "shipment" (a "bt:" id becomes its CBV URN again, "253/" a GDTI Digital Link); ShipmentId and
// the *Id functions read each back to `id`.
std::string IdToUri(std::string_view kind, std::string_view id);

// The bare CBV word of a CBV value written bare ("shipping"), as a URN
// ("urn:epcglobal:cbv:bizstep:shipping") or as a Web URI
// ("https://ref.gs1.org/cbv/BizStep-shipping"); `urn_kind` is "bizstep", "disp", "btt", "sdt" or
// "er", `web_prefix` "BizStep", "Disp", "BTT", "SDT" or "ER". "" when the value is none of these.
std::string CbvWord(std::string_view value, std::string_view urn_kind, std::string_view web_prefix);

// Lower-case names of the domain enums ("antimony_oxide", "refinery", "refining"); nullopt for
// an unknown name.
std::optional<domain::Material> MaterialFromName(std::string_view name);
std::string_view MaterialToName(domain::Material material);
std::optional<domain::Process> ProcessFromName(std::string_view name);
std::string_view ProcessToName(domain::Process process);

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_VOCABULARY_H_
