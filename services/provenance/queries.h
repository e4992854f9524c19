// The provenance queries over the committed views. No gRPC here: each query fills a response
// message or returns a status (NOT_FOUND for unknown ids, INVALID_ARGUMENT for malformed
// queries). Every limit is stated in QueryLimits and enforced.
#ifndef LODESTONE_SERVICES_PROVENANCE_QUERIES_H_
#define LODESTONE_SERVICES_PROVENANCE_QUERIES_H_

#include <cstddef>
#include <cstdint>
#include <memory>

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
  uint32_t default_history = 20;
  uint32_t max_history = 200;          // GetHistory entries per page
  size_t max_history_versions = 1000;  // versions a GetHistory page walks
};

class Queries {
 public:
  // `views` is read-only here (a ViewStore with an empty overlay over the committed store).
  Queries(const ViewStore& views, QueryLimits limits = {}) : views_(views), limits_(limits) {}

  // The same queries as the ledger stood after its first `events` events (docs/time-travel.md):
  // OUT_OF_RANGE when the views have not folded that many yet.
  absl::StatusOr<std::unique_ptr<Queries>> AtPosition(uint64_t events) const;

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
  Queries(std::unique_ptr<ViewStore> owned, QueryLimits limits)
      : owned_(std::move(owned)), views_(*owned_), limits_(limits) {}

  std::unique_ptr<ViewStore> owned_;  // a store at a position
  const ViewStore& views_;
  const QueryLimits limits_;
};

// Runs `query` on the queries at `request.at_position()`, with a copy of the request whose
// at_position is cleared, and says in the response's view which position it answered for.
template <typename Request, typename Query>
absl::Status AtPositionOf(const Queries& queries, const Request& request, Query query) {
  auto at = queries.AtPosition(request.at_position());
  if (!at.ok()) return at.status();
  Request here = request;
  here.set_at_position(0);
  return query(**at, here);
}

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_QUERIES_H_
