// The history of a lot or shipment over the versioned views: the positions at which its answer
// changed, newest first (docs/time-travel.md).
#ifndef LODESTONE_SERVICES_PROVENANCE_HISTORY_H_
#define LODESTONE_SERVICES_PROVENANCE_HISTORY_H_

#include "absl/status/status.h"
#include "lodestone/v1/provenance.pb.h"
#include "services/provenance/queries.h"

namespace lodestone::provenance {

// NOT_FOUND for a subject that never existed up to the position; INVALID_ARGUMENT for a
// malformed request or page token. A page ends after max_entries entries or after
// QueryLimits::max_history_versions versions walked (then next_page_token goes on).
absl::Status GetHistory(const Queries& queries, const v1::GetHistoryRequest& request,
                        v1::GetHistoryResponse* response);

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_HISTORY_H_
