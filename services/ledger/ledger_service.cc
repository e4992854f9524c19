#include "services/ledger/ledger_service.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "services/domain/errors.h"
#include "services/ledger/node_health.h"
#include "services/rpc/grpc_status.h"

namespace lodestone::ledger {
namespace {

// Each event is served twice over, as its stored bytes (event_bytes) and parsed (event): its
// payload counts twice against the page's byte limit.
size_t PayloadBytesPerPage(const ServiceLimits& limits) { return limits.max_page_bytes / 2; }

grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(rpc::ToGrpcStatus(status));
  return reactor;
}

absl::StatusOr<AppendBatch> DecodeAppend(const v1::AppendRequest& request) {
  AppendBatch batch;
  batch.events.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    auto event = codec::EventFromProto(request.events(i));
    if (!event.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("events[", i, "]: ", event.status().message()));
    }
    batch.events.push_back(*std::move(event));
  }
  for (const auto& expected : request.expected_versions()) {
    batch.expected_versions.emplace_back(expected.subject(), expected.version());
  }
  return batch;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Subscribe: each stream has at most one message in flight (flow control by the transport's
// write completion) and holds at most one page in memory. A caught-up stream parks in the hub;
// the hub's thread wakes parked streams after each commit. Reads happen on that thread or in
// OnWriteDone, bounded by the page limits.

class Subscription;

class SubscriptionHub {
 public:
  SubscriptionHub(storage::Log& log, size_t max_subscribers, absl::Duration late_after)
      : log_(log), max_subscribers_(max_subscribers), late_after_(late_after) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SubscriptionHub() { Stop(); }

  bool TryAdd() {
    std::lock_guard lock(mu_);
    if (stopping_ || count_ >= max_subscribers_) return false;
    ++count_;
    return true;
  }
  void Remove(Subscription* subscription) {
    std::lock_guard lock(mu_);
    --count_;
    parked_.erase(std::remove_if(parked_.begin(), parked_.end(),
                                 [subscription](const auto& p) { return p.get() == subscription; }),
                  parked_.end());
  }
  enum class Park { kParked, kRetry, kStopping };
  // Parks `subscription` until the log grows past `next_position`; kRetry when it already has.
  Park TryPark(std::shared_ptr<Subscription> subscription, uint64_t next_position) {
    std::lock_guard lock(mu_);
    if (stopping_) return Park::kStopping;
    if (log_.GetHead().size > next_position) return Park::kRetry;
    parked_.push_back(std::move(subscription));
    return Park::kParked;
  }
  void OnCommit() {
    std::lock_guard lock(mu_);
    ++commits_;
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }
  storage::Log& log() { return log_; }
  absl::Duration late_after() const { return late_after_; }

 private:
  void Run();

  storage::Log& log_;
  const size_t max_subscribers_;
  const absl::Duration late_after_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Subscription>> parked_;
  size_t count_ = 0;
  uint64_t commits_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

class SubscribeReactor;

class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(SubscriptionHub& hub, SubscribeReactor* reactor, uint64_t next_position,
               size_t page_events, size_t page_bytes)
      : hub_(hub),
        reactor_(reactor),
        next_position_(next_position),
        page_events_(page_events),
        page_bytes_(page_bytes) {}

  void Pump();
  void OnWriteDone(bool ok);
  void End(const grpc::Status& status);
  void Detach() {
    std::lock_guard lock(mu_);
    reactor_ = nullptr;
  }

 private:
  void FinishLocked(const grpc::Status& status);

  SubscriptionHub& hub_;
  std::mutex mu_;
  SubscribeReactor* reactor_;
  uint64_t next_position_;
  const size_t page_events_;
  const size_t page_bytes_;
  bool writing_ = false;
  bool finished_ = false;
  v1::SubscribeResponse message_;
};

class SubscribeReactor final : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  SubscribeReactor(std::shared_ptr<SubscriptionHub> hub, LedgerMetrics* metrics,
                   uint64_t from_position, size_t page_events, size_t page_bytes)
      : hub_(std::move(hub)), metrics_(metrics) {
    subscription_ =
        std::make_shared<Subscription>(*hub_, this, from_position, page_events, page_bytes);
    if (metrics_ != nullptr) metrics_->SubscriberAdded();
  }
  void Start() { subscription_->Pump(); }
  void OnWriteDone(bool ok) override { subscription_->OnWriteDone(ok); }
  void OnCancel() override { subscription_->End(grpc::Status::CANCELLED); }
  void OnDone() override {
    subscription_->Detach();
    hub_->Remove(subscription_.get());
    if (metrics_ != nullptr) metrics_->SubscriberRemoved();
    delete this;
  }

 private:
  std::shared_ptr<SubscriptionHub> hub_;
  LedgerMetrics* const metrics_;
  std::shared_ptr<Subscription> subscription_;
};

void Subscription::Pump() {
  std::lock_guard lock(mu_);
  while (reactor_ != nullptr && !finished_ && !writing_) {
    auto records = hub_.log().ReadAll(next_position_, page_events_, page_bytes_);
    if (!records.ok()) {
      FinishLocked(rpc::ToGrpcStatus(records.status()));
      return;
    }
    if (records->empty()) {
      switch (hub_.TryPark(shared_from_this(), next_position_)) {
        case SubscriptionHub::Park::kParked:
          return;
        case SubscriptionHub::Park::kStopping:
          FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
          return;
        case SubscriptionHub::Park::kRetry:
          continue;
      }
    }
    message_.Clear();
    for (const auto& record : *records) {
      if (auto status = codec::RecordToProto(record, message_.add_events(), hub_.late_after());
          !status.ok()) {
        FinishLocked(rpc::ToGrpcStatus(status));
        return;
      }
    }
    next_position_ = records->back().position + 1;
    message_.set_log_size(hub_.log().GetHead().size);
    writing_ = true;
    reactor_->StartWrite(&message_);
  }
}

void Subscription::OnWriteDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "subscriber stream broken"));
      return;
    }
  }
  Pump();
}

void Subscription::End(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  FinishLocked(status);
}

void Subscription::FinishLocked(const grpc::Status& status) {
  if (finished_ || reactor_ == nullptr) return;
  finished_ = true;
  reactor_->Finish(status);
}

void SubscriptionHub::Run() {
  std::unique_lock lock(mu_);
  uint64_t seen = 0;
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || commits_ != seen; });
    if (stopping_) break;
    seen = commits_;
    std::vector<std::shared_ptr<Subscription>> ready;
    ready.swap(parked_);
    lock.unlock();
    for (auto& subscription : ready) subscription->Pump();
    ready.clear();
    lock.lock();
  }
  std::vector<std::shared_ptr<Subscription>> parked;
  parked.swap(parked_);
  lock.unlock();
  for (auto& subscription : parked) {
    subscription->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
  }
}

// ---------------------------------------------------------------------------------------------
// Forwarding (distributed mode): a follower hands appends to one thread that finds the leader
// and calls it, so that no gRPC reaction blocks on the network.

constexpr char kForwardedHeader[] = "x-lodestone-forwarded";

class AppendForwarder {
 public:
  explicit AppendForwarder(Forwarding forwarding) : forwarding_(std::move(forwarding)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~AppendForwarder() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // Calls in flight end within their deadline (at most max_deadline); their callbacks use
    // this object.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
  }
  bool is_leader() const { return forwarding_.is_leader(); }

  struct Job {
    grpc::ServerUnaryReactor* reactor;
    const v1::AppendRequest* request;
    // The request with every event attested by the caller this node authenticated, when
    // appends are attested (then forwarded instead of `request`).
    std::shared_ptr<const v1::AppendRequest> attested;
    v1::AppendResponse* response;
    std::chrono::system_clock::time_point deadline;
  };
  // False when max_queued forwards are waiting or in flight.
  bool Enqueue(Job job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || jobs_.size() + in_flight_ >= forwarding_.max_queued) return false;
      jobs_.push_back(job);
    }
    cv_.notify_all();
    return true;
  }

 private:
  // One thread looks the leader up and starts each forward as an asynchronous call, so a slow
  // or stopped leader holds up no other forward; answers complete on gRPC's threads.
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      Job job = jobs_.front();
      jobs_.pop_front();
      ++in_flight_;
      lock.unlock();
      Forward(job);
      lock.lock();
    }
  }

  void Done() {
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }

  void Forward(const Job& job) {
    const std::string leader = forwarding_.leader_address();
    if (leader.empty()) {
      job.reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no leader; retry"));
      Done();
      return;
    }
    auto& stub = stubs_[leader];
    if (stub == nullptr) {
      stub = v1::LedgerService::NewStub(grpc::CreateChannel(
          leader, forwarding_.credentials != nullptr ? forwarding_.credentials
                                                     : grpc::InsecureChannelCredentials()));
    }
    auto* context = new grpc::ClientContext();
    context->set_deadline(std::min(
        job.deadline,
        std::chrono::system_clock::now() + absl::ToChronoMilliseconds(forwarding_.max_deadline)));
    context->AddMetadata(kForwardedHeader, "1");
    const v1::AppendRequest* request = job.attested ? job.attested.get() : job.request;
    stub->async()->Append(
        context, request, job.response,
        [this, context, reactor = job.reactor, keep = job.attested](grpc::Status status) {
          reactor->Finish(status);
          delete context;
          Done();
        });
  }

  const Forwarding forwarding_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  size_t in_flight_ = 0;
  bool stopping_ = false;
  // Used by the forwarder thread only; never erased (calls in flight use them).
  std::map<std::string, std::unique_ptr<v1::LedgerService::Stub>> stubs_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------

LedgerServiceImpl::LedgerServiceImpl(Ledger& ledger, LedgerMetrics* metrics, ServiceLimits limits)
    : ledger_(ledger),
      metrics_(metrics),
      limits_(limits),
      hub_(std::make_shared<SubscriptionHub>(ledger.log(), limits.max_subscribers,
                                             ledger.options().late_after)) {
  listener_ =
      ledger_.AddCommitListener([hub = hub_.get()](const storage::Head&) { hub->OnCommit(); });
}

LedgerServiceImpl::~LedgerServiceImpl() {
  ledger_.RemoveCommitListener(listener_);
  hub_->Stop();
}

void LedgerServiceImpl::Shutdown() { hub_->Stop(); }

void LedgerServiceImpl::EnableForwarding(Forwarding forwarding) {
  forwarder_ = std::make_unique<AppendForwarder>(std::move(forwarding));
}

size_t LedgerServiceImpl::PageSize(uint32_t requested) const {
  if (requested == 0) return limits_.default_page_events;
  return std::min<size_t>(requested, limits_.max_page_events);
}

// Who attests an append (RequireAttestation): the attester, or a node's pre-attested events.
struct AttestedBy {
  std::string attester;
  bool pre_attested = false;
  bool is_party = false;  // a partner's certificate: never a forwarding node
};

absl::StatusOr<AttestedBy> Attester(const grpc::CallbackServerContext& context,
                                    const rpc::IdentityOptions& identity,
                                    const std::string& admin_party) {
  auto caller = rpc::CallerFromContext(context, identity);
  if (!caller.ok()) return caller.status();
  switch (caller->kind) {
    case rpc::Caller::Kind::kParty:
      return AttestedBy{caller->id, false, true};
    case rpc::Caller::Kind::kNode:
      return AttestedBy{"", true};
    case rpc::Caller::Kind::kLocalAdmin:
      if (admin_party.empty()) {
        return absl::PermissionDeniedError(
            "a local caller appends as the administrator, and no administrator party is set "
            "(--admin_party)");
      }
      return AttestedBy{admin_party, false};
  }
  return absl::InternalError("unknown caller kind");
}

grpc::ServerUnaryReactor* LedgerServiceImpl::Append(grpc::CallbackServerContext* context,
                                                    const v1::AppendRequest* request,
                                                    v1::AppendResponse* response) {
  AttestedBy attested;
  if (identity_.has_value()) {
    auto by = Attester(*context, *identity_, ledger_.options().authority.admin_party);
    if (!by.ok()) return FinishWith(context, by.status());
    attested = *std::move(by);
  }
  const bool forwarded = context->client_metadata().count(kForwardedHeader) != 0;
  if (forwarded && attested.is_party) {
    // Only a node (or, on a plaintext loopback server, the local administrator) forwards: a
    // partner's "already forwarded" claim would make a follower judge an append that belongs
    // to the leader.
    return FinishWith(context,
                      absl::PermissionDeniedError(absl::StrCat(
                          "the ", kForwardedHeader,
                          " header is accepted from nodes only, not from party certificates")));
  }
  if (health_ != nullptr) {
    if (absl::Status unhealthy = health_->Check(); !unhealthy.ok()) {
      return FinishWith(context, unhealthy);
    }
  }
  if (forwarder_ != nullptr && !forwarder_->is_leader() && !forwarded) {
    std::shared_ptr<v1::AppendRequest> copy;
    if (!attested.attester.empty()) {
      // The leader sees this node, not the caller, and takes the events' attester as given:
      // this node attests them, refusing one that names another attester (as the leader would).
      copy = std::make_shared<v1::AppendRequest>(*request);
      for (int i = 0; i < copy->events_size(); ++i) {
        v1::Event& event = *copy->mutable_events(i);
        if (event.attested_by().empty()) {
          event.set_attested_by(attested.attester);
        } else if (auto status =
                       CheckAttester(i, event.event_id(), event.attested_by(), attested.attester);
                   !status.ok()) {
          return FinishWith(context, status);
        }
      }
    }
    auto* reactor = context->DefaultReactor();
    if (!forwarder_->Enqueue({reactor, request, copy, response, context->deadline()})) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "too many appends waiting to be forwarded to the leader"));
    }
    return reactor;
  }
  auto batch = DecodeAppend(*request);
  if (!batch.ok()) return FinishWith(context, batch.status());
  batch->attester = std::move(attested.attester);
  batch->pre_attested = attested.pre_attested;
  auto* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  ledger_.Append(
      *std::move(batch), [this, reactor, response, start](absl::StatusOr<AppendOutcome> outcome) {
        if (!outcome.ok()) {
          // The commit that failed the log gets what every later append will.
          absl::Status unhealthy = health_ != nullptr ? health_->Check() : absl::OkStatus();
          reactor->Finish(rpc::ToGrpcStatus(unhealthy.ok() ? outcome.status() : unhealthy));
          return;
        }
        for (const auto& result : outcome->results) {
          auto* out = response->add_results();
          out->set_event_id(result.event_id);
          out->set_position(result.position);
          out->set_stream_version(result.stream_version);
        }
        response->set_duplicate(outcome->duplicate);
        response->set_log_size(outcome->log_size);
        if (metrics_ != nullptr) metrics_->ObserveAppendLatency(absl::Now() - start);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* LedgerServiceImpl::ReadStream(grpc::CallbackServerContext* context,
                                                        const v1::ReadStreamRequest* request,
                                                        v1::ReadStreamResponse* response) {
  if (request->subject().empty()) {
    return FinishWith(context, absl::InvalidArgumentError("subject must not be empty"));
  }
  auto reader = PartnerReader(*context);
  if (!reader.ok()) return FinishWith(context, reader.status());
  const uint64_t from = std::max<uint64_t>(request->from_version(), 1);
  auto records = ledger_.log().ReadStream(request->subject(), from, PageSize(request->max_events()),
                                          PayloadBytesPerPage(limits_));
  if (!records.ok()) return FinishWith(context, records.status());
  auto version = ledger_.log().StreamVersion(request->subject());
  if (!version.ok()) return FinishWith(context, version.status());
  if (*version == 0) {
    return FinishWith(context,
                      absl::NotFoundError(absl::StrCat("no stream '", request->subject(), "'")));
  }
  for (const auto& record : *records) {
    auto readable = MayRead(*reader, record);
    if (!readable.ok()) return FinishWith(context, readable.status());
    if (!*readable) {
      response->set_withheld(response->withheld() + 1);
      continue;
    }
    if (auto status =
            codec::RecordToProto(record, response->add_events(), ledger_.options().late_after);
        !status.ok()) {
      return FinishWith(context, status);
    }
  }
  response->set_next_version(records->empty() ? from : records->back().stream_version + 1);
  response->set_stream_version(*version);
  return FinishWith(context, absl::OkStatus());
}

absl::StatusOr<std::string> LedgerServiceImpl::PartnerReader(
    const grpc::CallbackServerContext& context) const {
  if (!identity_.has_value()) return std::string();
  auto caller = rpc::CallerFromContext(context, *identity_);
  if (!caller.ok()) return caller.status();
  return ReaderFor(*caller);
}

absl::StatusOr<std::string> LedgerServiceImpl::ReaderFor(const rpc::Caller& caller) const {
  if (caller.kind != rpc::Caller::Kind::kParty) return std::string();  // node, administrator
  auto reads_all = ledger_.ReadsAll(caller.id);
  if (!reads_all.ok()) return reads_all.status();
  if (*reads_all) return std::string();
  return caller.id;
}

absl::StatusOr<bool> LedgerServiceImpl::MayRead(const std::string& reader,
                                                const storage::Record& record) const {
  if (reader.empty()) return true;
  v1::Event proto;
  if (!proto.ParseFromString(record.payload)) {
    return absl::DataLossError(
        absl::StrCat("cannot parse the event at position ", record.position));
  }
  auto event = codec::EventFromProto(proto);
  if (!event.ok()) return event.status();
  return ledger_.IsPartyTo(*event, reader);
}

absl::Status LedgerServiceImpl::MayReadAll(const grpc::CallbackServerContext& context) const {
  auto reader = PartnerReader(context);
  if (!reader.ok()) return reader.status();
  if (reader->empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("party '", *reader,
                   "' may not read the whole log: ReadAll and Subscribe are for "
                   "ledger nodes, the administrator and auditors"));
}

grpc::ServerUnaryReactor* LedgerServiceImpl::ReadAll(grpc::CallbackServerContext* context,
                                                     const v1::ReadAllRequest* request,
                                                     v1::ReadAllResponse* response) {
  if (auto status = MayReadAll(*context); !status.ok()) return FinishWith(context, status);
  const uint64_t size = ledger_.log().GetHead().size;
  auto records = ledger_.log().ReadAll(request->from_position(), PageSize(request->max_events()),
                                       PayloadBytesPerPage(limits_));
  if (!records.ok()) return FinishWith(context, records.status());
  for (const auto& record : *records) {
    if (auto status =
            codec::RecordToProto(record, response->add_events(), ledger_.options().late_after);
        !status.ok()) {
      return FinishWith(context, status);
    }
  }
  response->set_next_position(records->empty() ? request->from_position()
                                               : records->back().position + 1);
  response->set_log_size(std::max(size, response->next_position()));
  return FinishWith(context, absl::OkStatus());
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* LedgerServiceImpl::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) {
  class Refused final : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
   public:
    explicit Refused(grpc::Status status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  if (auto status = MayReadAll(*context); !status.ok()) {
    return new Refused(rpc::ToGrpcStatus(status));
  }
  if (!hub_->TryAdd()) {
    return new Refused(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many subscribers"));
  }
  auto* reactor = new SubscribeReactor(hub_, metrics_, request->from_position(),
                                       PageSize(request->max_events_per_message()),
                                       PayloadBytesPerPage(limits_));
  reactor->Start();
  return reactor;
}

absl::Status LedgerServiceImpl::Answer(const std::string& /*reader*/,
                                       const v1::GetHeadRequest& /*request*/,
                                       v1::Head* response) const {
  const storage::Head head = ledger_.log().GetHead();
  response->set_size(head.size);
  response->set_root_hash(codec::HashToBytes(head.root));
  response->set_chain_hash(codec::HashToBytes(head.chain));
  codec::TimeToProto(head.time, response->mutable_time());
  if (node_status_) {
    if (std::optional<v1::NodeStatus> node = node_status_()) *response->mutable_node() = *node;
  }
  if (health_ != nullptr) {
    const absl::Status health = health_->Check();
    response->mutable_health()->set_serving(health.ok());
    if (!health.ok()) {
      response->mutable_health()->set_code(absl::StatusCodeToString(health.code()));
      response->mutable_health()->set_reason(std::string(health.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status LedgerServiceImpl::Answer(const std::string& reader,
                                       const v1::GetInclusionProofRequest& request,
                                       v1::InclusionProof* response) const {
  const uint64_t size =
      request.tree_size() == 0 ? ledger_.log().GetHead().size : request.tree_size();
  auto path = ledger_.log().InclusionProof(request.position(), size);
  if (!path.ok()) return path.status();
  // The leaf is the event: a partner proves only events it may read.
  if (!reader.empty()) {
    auto record = ledger_.log().ReadRecord(request.position());
    if (!record.ok()) return record.status();
    auto readable = MayRead(reader, *record);
    if (!readable.ok()) return readable.status();
    if (!*readable) {
      return absl::PermissionDeniedError(
          absl::StrCat("party '", reader, "' is not party to the event at position ",
                       request.position(), " and may not read its leaf"));
    }
  }
  auto leaf = ledger_.log().LeafData(request.position());
  if (!leaf.ok()) return leaf.status();
  auto root = ledger_.log().RootAt(size);
  if (!root.ok()) return root.status();
  response->set_position(request.position());
  response->set_tree_size(size);
  response->set_leaf_data(*leaf);
  response->set_leaf_hash(codec::HashToBytes(storage::LeafHash(*leaf)));
  for (const auto& hash : *path) response->add_path(codec::HashToBytes(hash));
  response->set_root_hash(codec::HashToBytes(*root));
  return absl::OkStatus();
}

absl::Status LedgerServiceImpl::Answer(const std::string& /*reader*/,
                                       const v1::GetConsistencyProofRequest& request,
                                       v1::ConsistencyProof* response) const {
  const uint64_t new_size =
      request.new_size() == 0 ? ledger_.log().GetHead().size : request.new_size();
  auto path = ledger_.log().ConsistencyProof(request.old_size(), new_size);
  if (!path.ok()) return path.status();
  auto old_root = ledger_.log().RootAt(request.old_size());
  if (!old_root.ok()) return old_root.status();
  auto new_root = ledger_.log().RootAt(new_size);
  if (!new_root.ok()) return new_root.status();
  response->set_old_size(request.old_size());
  response->set_new_size(new_size);
  for (const auto& hash : *path) response->add_path(codec::HashToBytes(hash));
  response->set_old_root_hash(codec::HashToBytes(*old_root));
  response->set_new_root_hash(codec::HashToBytes(*new_root));
  return absl::OkStatus();
}

absl::Status LedgerServiceImpl::Answer(const std::string& reader,
                                       const v1::GetEventRequest& request,
                                       v1::StoredEvent* response) const {
  if (!domain::IsWellFormedId(request.event_id())) {
    return absl::InvalidArgumentError("event_id is not a well-formed id");
  }
  auto position = ledger_.log().FindEventId(request.event_id());
  if (!position.ok()) return position.status();
  if (!position->has_value()) {
    return absl::NotFoundError(absl::StrCat("no event '", request.event_id(), "'"));
  }
  auto record = ledger_.log().ReadRecord(**position);
  if (!record.ok()) return record.status();
  auto readable = MayRead(reader, *record);
  if (!readable.ok()) return readable.status();
  if (!*readable) {
    return absl::PermissionDeniedError(absl::StrCat("party '", reader, "' is not party to event '",
                                                    request.event_id(), "' and may not read it"));
  }
  return codec::RecordToProto(*record, response, ledger_.options().late_after);
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* LedgerServiceImpl::Serve(grpc::CallbackServerContext* context,
                                                   const Request& request,
                                                   Response* response) const {
  auto reader = PartnerReader(*context);
  if (!reader.ok()) return FinishWith(context, reader.status());
  return FinishWith(context, Answer(*reader, request, response));
}

grpc::ServerUnaryReactor* LedgerServiceImpl::GetHead(grpc::CallbackServerContext* context,
                                                     const v1::GetHeadRequest* request,
                                                     v1::Head* response) {
  return FinishWith(context, Answer("", *request, response));  // the head is everyone's
}

grpc::ServerUnaryReactor* LedgerServiceImpl::GetInclusionProof(
    grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::InclusionProof* response) {
  return Serve(context, *request, response);
}

grpc::ServerUnaryReactor* LedgerServiceImpl::GetConsistencyProof(
    grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  return FinishWith(context, Answer("", *request, response));  // hashes only
}

grpc::ServerUnaryReactor* LedgerServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                      const v1::GetEventRequest* request,
                                                      v1::StoredEvent* response) {
  return Serve(context, *request, response);
}

grpc::ServerUnaryReactor* LedgerServiceImpl::Echo(grpc::CallbackServerContext* context,
                                                  const v1::EchoRequest* request,
                                                  v1::EchoResponse* response) {
  response->set_payload(request->payload());
  return FinishWith(context, absl::OkStatus());
}

}  // namespace lodestone::ledger
