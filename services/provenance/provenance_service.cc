#include "services/provenance/provenance_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/provenance/compliance_queries.h"
#include "services/provenance/history.h"
#include "services/rpc/grpc_status.h"
#include "services/rpc/identity.h"

namespace lodestone::provenance {

namespace {

// The answer of `query` for `reader`, if the reader may ask (`may`), redacted for it.
template <typename Response, typename Query>
absl::Status Authorised(const ReadRule& rule, const Reader& reader, absl::Status may, Query query,
                        Response& response) {
  if (!may.ok()) return may;
  if (auto status = query(); !status.ok()) return status;
  return rule.Redact(reader, response);
}

}  // namespace

ProvenanceServiceImpl::ProvenanceServiceImpl(const Queries& queries, ProjectorRunner& runner,
                                             prometheus::Registry* registry, ServiceOptions options)
    : queries_(queries),
      runner_(runner),
      options_(options),
      read_rule_(queries.views(), options_.admin_party) {
  if (registry != nullptr) {
    latency_ = &prometheus::BuildHistogram()
                    .Name("lodestone_provenance_query_latency_seconds")
                    .Help("Provenance query latency by method, waiting for a position included.")
                    .Register(*registry);
  }
}

void ProvenanceServiceImpl::Run(const char* method, absl::StatusOr<std::string> party,
                                uint64_t min_position, uint64_t at_position, absl::Time deadline,
                                v1::ViewPosition* view,
                                std::function<absl::Status(const Reader&)> query,
                                std::function<void(absl::Status)> finish) {
  const absl::Time start = absl::Now();
  prometheus::Histogram* histogram = nullptr;
  if (latency_ != nullptr) {
    histogram = &latency_->Add(
        {{"method", method}},
        prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025, 0.05, 0.1, 0.25, 1, 5});
  }
  // An answer at a position the views have not reached yet waits for it like min_position.
  min_position = std::max(min_position, at_position);
  // Who calls is known before waiting: an unauthenticated caller holds no waiter. What a party
  // may read (auditor or not) is decided on the views the answer comes from.
  if (!party.ok()) {
    finish(party.status());
    return;
  }
  auto run = [this, finish, party = *std::move(party), view, query = std::move(query), histogram,
              start, min_position, at_position](bool reached) {
    if (!reached) {
      finish(absl::UnavailableError(absl::StrCat("views have not reached ledger position ",
                                                 min_position, " (at ", runner_.applied_position(),
                                                 "); retry")));
      return;
    }
    const uint64_t applied = runner_.applied_position();
    auto reader = party.empty() ? absl::StatusOr<Reader>(Reader{}) : read_rule_.PartyReader(party);
    absl::Status status = reader.ok() ? query(*reader) : reader.status();
    if (status.ok()) {
      view->set_applied_position(applied);
      view->set_at_position(at_position == 0 ? applied : at_position);
    }
    if (histogram != nullptr) histogram->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    finish(status);
  };
  if (auto health = runner_.health(); !health.ok()) {
    finish(absl::UnavailableError(absl::StrCat("projector stopped: ", health.message())));
    return;
  }
  deadline = std::min(deadline, start + options_.max_position_wait);
  if (auto status = runner_.WhenApplied(min_position, deadline, std::move(run)); !status.ok()) {
    finish(status);
  }
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::Serve(
    grpc::CallbackServerContext* context, const char* method, uint64_t min_position,
    uint64_t at_position, v1::ViewPosition* view,
    std::function<absl::Status(const Reader&)> query) {
  auto* reactor = context->DefaultReactor();
  Run(method, CallingParty(*context), min_position, at_position,
      absl::FromChrono(context->deadline()), view, std::move(query),
      [reactor](absl::Status status) { reactor->Finish(rpc::ToGrpcStatus(status)); });
  return reactor;
}

absl::Status ProvenanceServiceImpl::AnswerNow(const char* method, const std::string& party,
                                              uint64_t min_position, uint64_t at_position,
                                              absl::Time deadline, v1::ViewPosition* view,
                                              std::function<absl::Status(const Reader&)> query) {
  // Run finishes exactly once: inline, on a projector thread, or at the deadline.
  struct Outcome {
    absl::Notification done;
    absl::Status status;
  };
  auto outcome = std::make_shared<Outcome>();
  Run(method, party, min_position, at_position, deadline, view, std::move(query),
      [outcome](absl::Status status) {
        outcome->status = std::move(status);
        outcome->done.Notify();
      });
  outcome->done.WaitForNotification();
  return outcome->status;
}

absl::StatusOr<std::string> ProvenanceServiceImpl::CallingParty(
    const grpc::CallbackServerContext& context) const {
  if (!options_.identity.has_value()) return std::string();
  auto caller = rpc::CallerFromContext(context, *options_.identity);
  if (!caller.ok()) return caller.status();
  if (caller->kind != rpc::Caller::Kind::kParty) return std::string();  // a node, the local admin
  return caller->id;
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader, const v1::GetLotRequest& request,
                                          v1::GetLotResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAskAboutLot(reader, request.lot_id()),
      [&] { return queries_.GetLot(request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::TraceOriginRequest& request,
                                          v1::TraceOriginResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAskAboutLot(reader, request.lot_id()),
      [&] { return queries_.TraceOrigin(request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::TraceDownstreamRequest& request,
                                          v1::TraceDownstreamResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAskAboutLot(reader, request.lot_id()),
      [&] { return queries_.TraceDownstream(request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::GetShipmentRequest& request,
                                          v1::GetShipmentResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAskAboutShipment(reader, request.shipment_id()),
      [&] { return queries_.GetShipment(request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader, const v1::ListFlagsRequest& request,
                                          v1::ListFlagsResponse* response) const {
  return Authorised(
      read_rule_, reader, absl::OkStatus(), [&] { return queries_.ListFlags(request, response); },
      *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::CheckComplianceRequest& request,
                                          v1::CheckComplianceResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAsk(reader, request),
      [&] { return provenance::CheckCompliance(queries_, request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::GetExposureRequest& request,
                                          v1::GetExposureResponse* response) const {
  return Authorised(
      read_rule_, reader, read_rule_.MayAskAboutParty(reader, request.party_id()),
      [&] { return provenance::GetExposure(queries_, request, response); }, *response);
}

absl::Status ProvenanceServiceImpl::Query(const Reader& reader,
                                          const v1::GetHistoryRequest& request,
                                          v1::GetHistoryResponse* response) const {
  return Authorised(
      read_rule_, reader,
      request.has_shipment_id() ? read_rule_.MayAskAboutShipment(reader, request.shipment_id())
                                : read_rule_.MayAskAboutLot(reader, request.lot_id()),
      [&] { return provenance::GetHistory(queries_, request, response); }, *response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::GetLot(grpc::CallbackServerContext* context,
                                                        const v1::GetLotRequest* request,
                                                        v1::GetLotResponse* response) {
  return Serve(context, "GetLot", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::TraceOrigin(grpc::CallbackServerContext* context,
                                                             const v1::TraceOriginRequest* request,
                                                             v1::TraceOriginResponse* response) {
  return Serve(context, "TraceOrigin", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::TraceDownstream(
    grpc::CallbackServerContext* context, const v1::TraceDownstreamRequest* request,
    v1::TraceDownstreamResponse* response) {
  return Serve(context, "TraceDownstream", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::GetShipment(grpc::CallbackServerContext* context,
                                                             const v1::GetShipmentRequest* request,
                                                             v1::GetShipmentResponse* response) {
  return Serve(context, "GetShipment", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::ListFlags(grpc::CallbackServerContext* context,
                                                           const v1::ListFlagsRequest* request,
                                                           v1::ListFlagsResponse* response) {
  return Serve(context, "ListFlags", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::CheckCompliance(
    grpc::CallbackServerContext* context, const v1::CheckComplianceRequest* request,
    v1::CheckComplianceResponse* response) {
  return Serve(context, "CheckCompliance", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::GetExposure(grpc::CallbackServerContext* context,
                                                             const v1::GetExposureRequest* request,
                                                             v1::GetExposureResponse* response) {
  return Serve(context, "GetExposure", *request, response);
}

grpc::ServerUnaryReactor* ProvenanceServiceImpl::GetHistory(grpc::CallbackServerContext* context,
                                                            const v1::GetHistoryRequest* request,
                                                            v1::GetHistoryResponse* response) {
  return Serve(context, "GetHistory", *request, response);
}

absl::StatusOr<std::vector<SearchHit>> ProvenanceServiceImpl::Search(const std::string& party,
                                                                     std::string_view prefix,
                                                                     size_t limit) const {
  if (prefix.empty() || prefix.size() > 128) {
    return absl::InvalidArgumentError("the search prefix must be 1..128 bytes");
  }
  limit = std::min(limit == 0 ? kMaxSearchResults : limit, kMaxSearchResults);
  auto reader = party.empty() ? absl::StatusOr<Reader>(Reader{}) : read_rule_.PartyReader(party);
  if (!reader.ok()) return reader.status();
  const ViewStore& views = queries_.views();
  std::vector<SearchHit> hits;
  struct Kind {
    const char* name;
    std::string (*key)(std::string_view);
  };
  for (const Kind& kind :
       {Kind{"lot", &keys::Lot}, Kind{"shipment", &keys::Shipment}, Kind{"party", &keys::Party},
        Kind{"facility", &keys::Facility}, Kind{"licence", &keys::Licence}}) {
    const std::string key_prefix = kind.key("");
    auto found = views.Keys(kind.key(prefix), reader->unrestricted() ? limit : kMaxSearchScan);
    if (!found.ok()) return found.status();
    for (const std::string& key : *found) {
      if (hits.size() >= limit) return hits;
      const std::string id = key.substr(key_prefix.size());
      bool may = reader->unrestricted();
      if (!may) {
        const std::string_view k = kind.name;
        if (k == "lot") {
          may = read_rule_.MayAskAboutLot(*reader, id).ok();
        } else if (k == "shipment") {
          may = read_rule_.MayAskAboutShipment(*reader, id).ok();
        } else if (k == "party") {
          may = id == reader->party;
        } else if (k == "facility") {
          auto facility = views.GetFacility(id);
          if (!facility.ok()) return facility.status();
          may = facility->has_value() && (*facility)->operator_party_id() == reader->party;
        }
      }
      if (may) hits.push_back({kind.name, id});
    }
  }
  return hits;
}

}  // namespace lodestone::provenance
