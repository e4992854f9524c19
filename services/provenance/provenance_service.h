// The thin gRPC layer (callback API) over the provenance queries, with read-your-writes:
// a request with min_position waits (bounded) until the views have folded that ledger position.
#ifndef LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_
#define LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/provenance/queries.h"
#include "services/provenance/read_rule.h"
#include "services/provenance/runner.h"
#include "services/rpc/identity.h"

namespace lodestone::provenance {

struct ServiceOptions {
  absl::Duration max_position_wait = absl::Seconds(5);  // then UNAVAILABLE
  // Who is calling (rpc/identity.h), and so what it may ask and see (read_rule.h). Unset:
  // every caller reads everything (in-process tests, and only those).
  std::optional<rpc::IdentityOptions> identity;
  std::string admin_party;  // reads everything (--admin_party)
};

class ProvenanceServiceImpl final : public v1::ProvenanceService::CallbackService {
 public:
  // `registry` may be null (no metrics).
  ProvenanceServiceImpl(const Queries& queries, ProjectorRunner& runner,
                        prometheus::Registry* registry, ServiceOptions options = {});

  grpc::ServerUnaryReactor* GetLot(grpc::CallbackServerContext* context,
                                   const v1::GetLotRequest* request,
                                   v1::GetLotResponse* response) override;
  grpc::ServerUnaryReactor* TraceOrigin(grpc::CallbackServerContext* context,
                                        const v1::TraceOriginRequest* request,
                                        v1::TraceOriginResponse* response) override;
  grpc::ServerUnaryReactor* TraceDownstream(grpc::CallbackServerContext* context,
                                            const v1::TraceDownstreamRequest* request,
                                            v1::TraceDownstreamResponse* response) override;
  grpc::ServerUnaryReactor* GetShipment(grpc::CallbackServerContext* context,
                                        const v1::GetShipmentRequest* request,
                                        v1::GetShipmentResponse* response) override;
  grpc::ServerUnaryReactor* ListFlags(grpc::CallbackServerContext* context,
                                      const v1::ListFlagsRequest* request,
                                      v1::ListFlagsResponse* response) override;
  grpc::ServerUnaryReactor* CheckCompliance(grpc::CallbackServerContext* context,
                                            const v1::CheckComplianceRequest* request,
                                            v1::CheckComplianceResponse* response) override;
  grpc::ServerUnaryReactor* GetExposure(grpc::CallbackServerContext* context,
                                        const v1::GetExposureRequest* request,
                                        v1::GetExposureResponse* response) override;
  grpc::ServerUnaryReactor* GetHistory(grpc::CallbackServerContext* context,
                                       const v1::GetHistoryRequest* request,
                                       v1::GetHistoryResponse* response) override;

 private:
  // Runs `query` once the views reflect `min_position` and `at_position`, then finishes the call.
  // `view` is the response's ViewPosition, filled with the position the answer reflects (at least).
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const char* method,
                                  uint64_t min_position, uint64_t at_position,
                                  v1::ViewPosition* view,
                                  std::function<absl::Status(const Reader&)> query);
  // The party named by the caller's certificate; empty for nodes, the local administrator, and
  // a service without identity options. UNAUTHENTICATED as rpc::CallerFromContext says.
  absl::StatusOr<std::string> CallingParty(const grpc::CallbackServerContext& context) const;

  const Queries& queries_;
  ProjectorRunner& runner_;
  const ServiceOptions options_;
  const ReadRule read_rule_;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_
