// The thin gRPC layer (callback API) over the provenance queries, with read-your-writes:
// a request with min_position waits (bounded) until the views have folded that ledger position.
#ifndef LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_
#define LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/provenance/queries.h"
#include "services/provenance/read_rule.h"
#include "services/provenance/runner.h"
#include "services/rpc/identity.h"
#include "storage/backup.h"

namespace lodestone::provenance {

struct ServiceOptions {
  absl::Duration max_position_wait = absl::Seconds(5);  // then UNAVAILABLE
  // Who is calling (rpc/identity.h), and so what it may ask and see (read_rule.h). Unset:
  // every caller reads everything (in-process tests, and only those).
  std::optional<rpc::IdentityOptions> identity;
  std::string admin_party;  // reads everything (--admin_party)
};

// One search result: kind "lot", "shipment", "party", "facility" or "licence", and the id.
struct SearchHit {
  std::string kind;
  std::string id;
  bool operator==(const SearchHit&) const = default;
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
  // Nodes and the administrator only (provenance_service_backup.cc).
  grpc::ServerUnaryReactor* BackupViews(grpc::CallbackServerContext* context,
                                        const v1::BackupViewsRequest* request,
                                        v1::BackupViewsResponse* response) override;
  // BackupViews runs on `runner` (else FAILED_PRECONDITION). Set before serving.
  void EnableBackups(storage::BackupRunner* runner) { backups_ = runner; }

  // Answers one query as the gRPC method does (who may ask, waiting for the request's
  // min_position and at_position until `deadline` but at most max_position_wait, the query,
  // redaction), for another transport: the console's HTTP API. `party` is the caller's party id
  // ("" = a node or the local administrator: reads everything); `method` labels the latency
  // metric. Blocks the calling thread until answered.
  template <typename Request, typename Response>
  absl::Status Answer(const char* method, const std::string& party, const Request& request,
                      Response* response, absl::Time deadline) {
    return AnswerNow(method, party, request.min_position(), request.at_position(), deadline,
                     response->mutable_view(), [this, &request, response](const Reader& reader) {
                       return Query(reader, request, response);
                     });
  }

  // Ids beginning with `prefix` (1..128 bytes, else INVALID_ARGUMENT), by kind (lots,
  // shipments, parties, facilities, licences) then id, at most `limit` (capped at
  // kMaxSearchResults). A partner finds only lots and shipments it may ask about, itself, and
  // the facilities it operates; of each kind at most kMaxSearchScan ids are looked at.
  static constexpr size_t kMaxSearchResults = 50;
  static constexpr size_t kMaxSearchScan = 500;
  absl::StatusOr<std::vector<SearchHit>> Search(const std::string& party, std::string_view prefix,
                                                size_t limit) const;

 private:
  // Who may ask, the query and the redaction of each method.
  absl::Status Query(const Reader& reader, const v1::GetLotRequest& request,
                     v1::GetLotResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::TraceOriginRequest& request,
                     v1::TraceOriginResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::TraceDownstreamRequest& request,
                     v1::TraceDownstreamResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::GetShipmentRequest& request,
                     v1::GetShipmentResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::ListFlagsRequest& request,
                     v1::ListFlagsResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::CheckComplianceRequest& request,
                     v1::CheckComplianceResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::GetExposureRequest& request,
                     v1::GetExposureResponse* response) const;
  absl::Status Query(const Reader& reader, const v1::GetHistoryRequest& request,
                     v1::GetHistoryResponse* response) const;

  // Runs `query` once the views reflect `min_position` and `at_position` (or fails at
  // `deadline`, capped by max_position_wait), then calls `finish` exactly once. `view` is the
  // response's ViewPosition, filled with the position the answer reflects (at least).
  void Run(const char* method, absl::StatusOr<std::string> party, uint64_t min_position,
           uint64_t at_position, absl::Time deadline, v1::ViewPosition* view,
           std::function<absl::Status(const Reader&)> query,
           std::function<void(absl::Status)> finish);
  absl::Status AnswerNow(const char* method, const std::string& party, uint64_t min_position,
                         uint64_t at_position, absl::Time deadline, v1::ViewPosition* view,
                         std::function<absl::Status(const Reader&)> query);
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const char* method,
                                  const Request& request, Response* response) {
    return Serve(context, method, request.min_position(), request.at_position(),
                 response->mutable_view(), [this, &request, response](const Reader& reader) {
                   return Query(reader, request, response);
                 });
  }
  // The gRPC call's Run: its caller, its deadline, its reactor.
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
  storage::BackupRunner* backups_ = nullptr;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_PROVENANCE_SERVICE_H_
