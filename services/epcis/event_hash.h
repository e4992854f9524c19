// The CBV 2.0 canonical event hash (EPCIS event hash algorithm, CBV 2.0 section 8.9): a
// pre-hash string of the event's fields in the canonical order with canonical values, hashed as
// "ni:///sha-256;<hex>?ver=CBV2.0". Follows the reference generator
// (RalphTro/epcis-event-hash-generator) where implementations differ; docs/epcis.md lists how.
// Pure: no I/O.
#ifndef LODESTONE_SERVICES_EPCIS_EVENT_HASH_H_
#define LODESTONE_SERVICES_EPCIS_EVENT_HASH_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "services/http/json.h"

namespace lodestone::epcis {

// The pre-hash string of event `index` of /epcisBody/eventList of `document` (empty when there
// is no such event). eventID, recordTime, errorDeclaration and @context do not take part, so an
// error declaration has the hash of the event it declares erroneous.
std::string EventPreHash(const http::ParsedJson& document, size_t index);

// "ni:///sha-256;<64 lower-case hex digits of SHA-256(pre_hash)>?ver=CBV2.0".
std::string EventHashFromPreHash(std::string_view pre_hash);

// The canonical GS1 Digital Link (https://id.gs1.org/...) of an EPC URI, EPC class or pattern
// URI or GS1 Digital Link URI, at its finest identification level without query or key
// qualifiers the hash drops; nullopt when `uri` is none of these.
std::optional<std::string> CanonicalDigitalLink(std::string_view uri);

// Lower-case hex SHA-256 of `data`.
std::string HexSha256(std::string_view data);

// Adds the prefix -> IRI bindings of a JSON-LD @context (a string, object or array of them;
// only object members with string values bind) to `prefixes`.
void AddContextPrefixes(const http::Json& context, std::map<std::string, std::string>& prefixes);

}  // namespace lodestone::epcis

#endif  // LODESTONE_SERVICES_EPCIS_EVENT_HASH_H_
