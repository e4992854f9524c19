// Who may ask the provenance service what (docs/security.md, "Reads"). Nodes, the local
// administrator, the administrator party and auditors read everything. A partner asks about
// lots it holds or has held, shipments it dispatched or receives, and its own exposure; the
// answers keep upstream material by country, subdivision and stage, but the identities of
// custody the partner was never part of (lot, transformation, facility, party, shipment and
// event ids) are replaced by pseudonyms ("redacted:lot:1") that are consistent within one
// answer, so that a lineage graph still connects. Views only: no gRPC here.
#ifndef LODESTONE_SERVICES_PROVENANCE_READ_RULE_H_
#define LODESTONE_SERVICES_PROVENANCE_READ_RULE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lodestone/v1/provenance.pb.h"
#include "services/provenance/view_store.h"

namespace lodestone::provenance {

// A reader: empty party = reads everything.
struct Reader {
  std::string party;
  bool unrestricted() const { return party.empty(); }
};

class ReadRule {
 public:
  // `views` is the committed view store (read-only here); `admin_party` the bootstrap
  // administrator (--admin_party), who reads everything.
  ReadRule(const ViewStore& views, std::string admin_party)
      : views_(views), admin_party_(std::move(admin_party)) {}

  // The reader a party caller is: unrestricted for the administrator and for auditors (the
  // views fold RoleGranted/RoleRevoked of ROLE_AUDITOR).
  absl::StatusOr<Reader> PartyReader(const std::string& party) const;

  // OK, PERMISSION_DENIED naming the rule, or NOT_FOUND for an unknown subject.
  absl::Status MayAskAboutLot(const Reader& reader, std::string_view lot_id) const;
  absl::Status MayAskAboutShipment(const Reader& reader, std::string_view shipment_id) const;
  absl::Status MayAskAboutParty(const Reader& reader, std::string_view party_id) const;
  absl::Status MayAsk(const Reader& reader, const v1::CheckComplianceRequest& request) const;

  // Replace, in place, the identities `reader` was never party to (nothing for unrestricted
  // readers). ListFlags also drops the flags of subjects the reader may not ask about.
  absl::Status Redact(const Reader& reader, v1::GetLotResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::TraceOriginResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::TraceDownstreamResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::GetShipmentResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::ListFlagsResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::CheckComplianceResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::GetExposureResponse& response) const;
  absl::Status Redact(const Reader& reader, v1::GetHistoryResponse& response) const;

 private:
  const ViewStore& views_;
  const std::string admin_party_;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_READ_RULE_H_
