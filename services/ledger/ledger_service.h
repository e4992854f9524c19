// The thin gRPC layer (callback API) over the Ledger: decode, call, encode. No rules here.
#ifndef LODESTONE_SERVICES_LEDGER_LEDGER_SERVICE_H_
#define LODESTONE_SERVICES_LEDGER_LEDGER_SERVICE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_metrics.h"
#include "services/rpc/identity.h"
#include "storage/backup.h"

namespace lodestone::ledger {

struct ServiceLimits {
  size_t default_page_events = 100;
  size_t max_page_events = 1000;  // larger requested pages are capped
  // A page stops growing past this many bytes of events (each event's payload counted twice: it
  // is served as event_bytes and parsed).
  size_t max_page_bytes = size_t{4} << 20;
  size_t max_subscribers = 256;  // more: RESOURCE_EXHAUSTED
};

class SubscriptionHub;
class AppendForwarder;
class NodeHealth;

// Distributed mode: how a follower finds the leader to forward appends to.
struct Forwarding {
  std::function<bool()> is_leader;              // cheap; called on gRPC threads
  std::function<std::string()> leader_address;  // may block: called on the forwarder thread
  size_t max_queued = 1024;  // more forwards waiting or in flight: RESOURCE_EXHAUSTED
  absl::Duration max_deadline = absl::Seconds(10);  // of a forwarded call
  // Of the channels to the leader (TLS when the cluster runs TLS: see rpc/tls.h).
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
};

class LedgerServiceImpl final : public v1::LedgerService::CallbackService {
 public:
  // `metrics` may be null.
  LedgerServiceImpl(Ledger& ledger, LedgerMetrics* metrics, ServiceLimits limits = {});
  ~LedgerServiceImpl() override;

  // Ends open Subscribe streams (UNAVAILABLE) so that the server can shut down.
  void Shutdown();

  // Appends received while not the leader are forwarded to the leader (once: a forwarded append
  // is never forwarded again) on a forwarder thread, and its answer is returned.
  void EnableForwarding(Forwarding forwarding);

  // Every append is attested by its caller (docs/security.md): the party named by its client
  // certificate; a plain-text local caller (`identity.allow_local_admin`) is the ledger's
  // administrator (LedgerOptions::authority.admin_party); a node forwarding for a caller it
  // authenticated passes the events' attester on. A caller without an identity is
  // UNAUTHENTICATED. Not called: appends are not attested (in-process tests and tools only).
  // Set before the server starts.
  void RequireAttestation(rpc::IdentityOptions identity) { identity_ = identity; }

  // Distributed mode: GetHead also reports this node's replication status (nullopt: none).
  // Set before the server starts; called on gRPC threads (keep it cheap).
  void SetNodeStatus(std::function<std::optional<v1::NodeStatus>()> status) {
    node_status_ = std::move(status);
  }

  // While `health` says this node cannot take appends, they are refused with its status (also
  // an append whose commit failed with it), and GetHead reports it. Set before the server
  // starts; must outlive the service.
  void SetHealth(const NodeHealth* health) { health_ = health; }
  // Backup serves backups with `runner` (else FAILED_PRECONDITION). Set before the server
  // starts; must outlive the service.
  void EnableBackups(storage::BackupRunner* runner) { backups_ = runner; }

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::ServerUnaryReactor* ReadStream(grpc::CallbackServerContext* context,
                                       const v1::ReadStreamRequest* request,
                                       v1::ReadStreamResponse* response) override;
  grpc::ServerUnaryReactor* ReadAll(grpc::CallbackServerContext* context,
                                    const v1::ReadAllRequest* request,
                                    v1::ReadAllResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* GetHead(grpc::CallbackServerContext* context,
                                    const v1::GetHeadRequest* request, v1::Head* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* context,
                                              const v1::GetInclusionProofRequest* request,
                                              v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* context,
                                                const v1::GetConsistencyProofRequest* request,
                                                v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const v1::GetEventRequest* request,
                                     v1::StoredEvent* response) override;
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override;
  // Nodes and the administrator only (ledger_service_backup.cc).
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;

  // The answers of GetHead, GetInclusionProof, GetConsistencyProof and GetEvent for `reader`
  // (ReaderFor), synchronously: the gRPC methods' code, for another transport (the console's
  // HTTP API). A partner proves and reads only events it is party to.
  absl::Status Answer(const std::string& reader, const v1::GetHeadRequest& request,
                      v1::Head* response) const;
  absl::Status Answer(const std::string& reader, const v1::GetInclusionProofRequest& request,
                      v1::InclusionProof* response) const;
  absl::Status Answer(const std::string& reader, const v1::GetConsistencyProofRequest& request,
                      v1::ConsistencyProof* response) const;
  absl::Status Answer(const std::string& reader, const v1::GetEventRequest& request,
                      v1::StoredEvent* response) const;
  // Who reads, for a caller named by any transport: empty for callers that read everything
  // (nodes, the local administrator, the administrator party, auditors), else the party.
  absl::StatusOr<std::string> ReaderFor(const rpc::Caller& caller) const;

 private:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const Request& request,
                                  Response* response) const;
  size_t PageSize(uint32_t requested) const;
  // With attestation: whole-log reads (ReadAll, Subscribe) are for nodes, the administrator and
  // auditors; a party is PERMISSION_DENIED, a caller without identity UNAUTHENTICATED.
  absl::Status MayReadAll(const grpc::CallbackServerContext& context) const;
  // Who reads: empty for callers that read everything (no attestation configured, nodes, the
  // administrator, auditors), else the party whose reads are limited to the events it is party
  // to (Ledger::IsPartyTo).
  absl::StatusOr<std::string> PartnerReader(const grpc::CallbackServerContext& context) const;
  // Whether `reader` (PartnerReader) may see `record`.
  absl::StatusOr<bool> MayRead(const std::string& reader, const storage::Record& record) const;

  Ledger& ledger_;
  LedgerMetrics* const metrics_;
  const ServiceLimits limits_;
  std::shared_ptr<SubscriptionHub> hub_;
  int listener_ = -1;
  std::unique_ptr<AppendForwarder> forwarder_;
  std::function<std::optional<v1::NodeStatus>()> node_status_;
  std::optional<rpc::IdentityOptions> identity_;
  const NodeHealth* health_ = nullptr;
  storage::BackupRunner* backups_ = nullptr;
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_LEDGER_SERVICE_H_
