#include "services/replication/etcd_watcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/replication/etcd_connection.h"

namespace lodestone::replication {
namespace {

constexpr absl::Duration kInitialBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

WatchEvent FromProto(const mvccpb::Event& event) {
  WatchEvent out;
  out.type =
      event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
  out.key = event.kv().key();
  if (out.type == WatchEvent::Type::kPut) out.value = event.kv().value();
  out.mod_revision = event.kv().mod_revision();
  return out;
}

etcdserverpb::WatchRequest CreateRequest(const std::string& prefix, int64_t from_revision) {
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(prefix);
  create->set_range_end(PrefixRangeEnd(prefix));
  create->set_start_revision(from_revision);  // 0: from now
  create->set_fragment(true);                 // etcd splits large responses; Handle joins them
  return request;
}

// Errors that another endpoint or a later attempt would not fix.
bool Permanent(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

}  // namespace

Watcher::Watcher(std::shared_ptr<internal::ConnectionPool> pool, std::string prefix,
                 int64_t from_revision, Callback callback)
    : pool_(std::move(pool)),
      prefix_(std::move(prefix)),
      callback_(std::move(callback)),
      next_revision_(std::max<int64_t>(from_revision, 0)) {
  thread_ = std::thread([this] { Run(); });
}

Watcher::~Watcher() { Stop(); }

void Watcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status Watcher::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

int64_t Watcher::next_revision() const {
  std::lock_guard lock(mu_);
  return next_revision_;
}

void Watcher::Run() {
  absl::Duration backoff = kInitialBackoff;
  while (true) {
    const std::shared_ptr<const internal::Connection> connection = pool_->Current();
    const int64_t resume_from = next_revision();
    if (RunStream(*connection) == Next::kStop) return;
    if (next_revision() != resume_from) backoff = kInitialBackoff;  // it made progress
    pool_->Failed(*connection);
    if (!WaitFor(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Watcher::Next Watcher::RunStream(const internal::Connection& connection) {
  grpc::ClientContext context;
  context.AddMetadata("hasleader", "true");  // a member cut off from its cluster ends the stream
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Next::kStop;
    active_ = &context;
  }
  auto stream = connection.watch->Watch(&context);
  Next next =
      stream->Write(CreateRequest(prefix_, next_revision())) ? Next::kContinue : Next::kReconnect;
  etcdserverpb::WatchResponse response;
  std::vector<WatchEvent> pending;
  while (next == Next::kContinue) {
    next =
        stream->Read(&response) ? Handle(response, pending, connection.endpoint) : Next::kReconnect;
  }
  context.TryCancel();  // no-op if the stream already ended
  const grpc::Status status = stream->Finish();
  {
    std::lock_guard lock(mu_);
    active_ = nullptr;
    if (stopping_) return Next::kStop;
  }
  if (next == Next::kReconnect && Permanent(status)) {
    End(internal::ToStatus(status, "Watch", connection.endpoint));
    return Next::kStop;
  }
  return next;
}

Watcher::Next Watcher::Handle(const etcdserverpb::WatchResponse& response,
                              std::vector<WatchEvent>& pending, const std::string& endpoint) {
  if (response.created() && next_revision() == 0) {
    std::lock_guard lock(mu_);
    next_revision_ = response.header().revision() + 1;
  }
  if (response.compact_revision() != 0) {
    Deliver({WatchEvent{WatchEvent::Type::kCompacted, "", "", response.compact_revision()}});
    return Next::kStop;
  }
  if (response.canceled()) {
    End(absl::AbortedError(
        absl::StrCat("etcd cancelled the watch at ", endpoint, ": ", response.cancel_reason())));
    return Next::kStop;
  }
  for (const mvccpb::Event& event : response.events()) pending.push_back(FromProto(event));
  if (response.fragment()) return Next::kContinue;
  const bool delivered = Deliver(pending);
  pending.clear();
  return delivered ? Next::kContinue : Next::kStop;
}

bool Watcher::Deliver(const std::vector<WatchEvent>& events) {
  for (const WatchEvent& event : events) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
    }
    callback_(event);
    if (event.type == WatchEvent::Type::kCompacted) {
      End(absl::OutOfRangeError(absl::StrCat("etcd watch on '", prefix_, "': revision ",
                                             next_revision(), " was compacted (compaction at ",
                                             event.mod_revision, ")")));
      return false;
    }
  }
  if (!events.empty()) {
    std::lock_guard lock(mu_);
    next_revision_ = events.back().mod_revision + 1;
  }
  return true;
}

bool Watcher::WaitFor(absl::Duration pause) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(pause), [this] { return stopping_; });
  return !stopping_;
}

void Watcher::End(const absl::Status& status) {
  std::lock_guard lock(mu_);
  status_ = status;
}

}  // namespace lodestone::replication
