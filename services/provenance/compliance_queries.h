// Compliance over the views: the shipment flags raised while folding, CheckCompliance and
// GetExposure. The rules themselves live in the domain library (services/domain/compliance.h).
#ifndef LODESTONE_SERVICES_PROVENANCE_COMPLIANCE_QUERIES_H_
#define LODESTONE_SERVICES_PROVENANCE_COMPLIANCE_QUERIES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lodestone/v1/provenance.pb.h"
#include "services/provenance/projector.h"
#include "services/provenance/queries.h"

namespace lodestone::provenance {

// Rule sets evaluated on every dispatch (as of the dispatch's event time); failing verdicts
// become flags on the shipment.
inline constexpr const char* kFlaggingRuleSets[] = {"transshipment", "china-export-licensing"};

// The projector's flagger: deterministic (rules as data, time from the event).
ShipmentFlagger MakeShipmentFlagger();

absl::Status CheckCompliance(const Queries& queries, const v1::CheckComplianceRequest& request,
                             v1::CheckComplianceResponse* response);
absl::Status GetExposure(const Queries& queries, const v1::GetExposureRequest& request,
                         v1::GetExposureResponse* response);

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_COMPLIANCE_QUERIES_H_
