// The provenance queries over the committed views. No gRPC here: each query fills a response
// message or returns a status (NOT_FOUND for unknown ids, INVALID_ARGUMENT for malformed
// queries). Every limit is stated in QueryLimits and enforced.
#ifndef LODESTONE_SERVICES_PROVENANCE_QUERIES_H_
#define LODESTONE_SERVICES_PROVENANCE_QUERIES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "lodestone/v1/provenance.pb.h"
#include "services/provenance/view_store.h"

namespace lodestone::provenance {

struct QueryLimits {
  uint32_t default_depth = 32;
  uint32_t max_depth = 256;  // TraceOrigin depth cap
  uint32_t default_nodes = 200;
  uint32_t max_nodes = 2000;  // TraceOrigin nodes per page, TraceDownstream lots
  uint32_t default_flags = 100;
  uint32_t max_flags = 1000;     // ListFlags page
  size_t max_scan_keys = 20000;  // keys a ListFlags page may skip over while filtering
  size_t max_receipts = 100000;  // receipts folded into one GetExposure answer
};

class Queries {
 public:
  // `views` is read-only here (a ViewStore with an empty overlay over the committed store).
  Queries(const ViewStore& views, QueryLimits limits = {}) : views_(views), limits_(limits) {}

  absl::Status GetLot(const v1::GetLotRequest& request, v1::GetLotResponse* response) const;
  absl::Status TraceOrigin(const v1::TraceOriginRequest& request,
                           v1::TraceOriginResponse* response) const;
  absl::Status TraceDownstream(const v1::TraceDownstreamRequest& request,
                               v1::TraceDownstreamResponse* response) const;
  absl::Status GetShipment(const v1::GetShipmentRequest& request,
                           v1::GetShipmentResponse* response) const;
  absl::Status ListFlags(const v1::ListFlagsRequest& request,
                         v1::ListFlagsResponse* response) const;

  const ViewStore& views() const { return views_; }
  const QueryLimits& limits() const { return limits_; }

 private:
  const ViewStore& views_;
  const QueryLimits limits_;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_QUERIES_H_
