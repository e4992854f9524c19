#include "services/replication/lease_keeper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "services/replication/etcd_connection.h"

namespace lodestone::replication {

LeaseKeeper::LeaseKeeper(std::shared_ptr<internal::ConnectionPool> pool, Lease lease,
                         LostCallback on_lost)
    : pool_(std::move(pool)),
      lease_(lease),
      on_lost_(std::move(on_lost)),
      expires_at_(absl::Now() + lease.ttl) {
  thread_ = std::thread([this] { Run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  thread_.join();
}

bool LeaseKeeper::lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

absl::Time LeaseKeeper::expires_at() const {
  std::lock_guard lock(mu_);
  return expires_at_;
}

void LeaseKeeper::Run() {
  const absl::Duration interval = lease_.ttl / 3;
  const absl::Duration retry = std::max(interval / 4, absl::Milliseconds(50));
  while (true) {
    const std::shared_ptr<const internal::Connection> connection = pool_->Current();
    const absl::Time sent = absl::Now();
    const absl::StatusOr<int64_t> ttl = RenewOnce(*connection, sent + interval);
    absl::Time next = sent + interval;
    if (ttl.ok() && *ttl > 0) {
      std::lock_guard lock(mu_);
      expires_at_ = sent + absl::Seconds(*ttl);
    } else if (ttl.ok()) {
      return ReportLost(
          absl::NotFoundError(absl::StrFormat("etcd lease %x expired or was revoked", lease_.id)));
    } else if (absl::Now() >= expires_at()) {
      return ReportLost(absl::DeadlineExceededError(
          absl::StrFormat("etcd lease %x: no renewal reached etcd before it expired; last: %s",
                          lease_.id, ttl.status().ToString())));
    } else {
      pool_->Failed(*connection);
      next = absl::Now() + retry;
    }
    if (!WaitUntil(next)) return;
  }
}

absl::StatusOr<int64_t> LeaseKeeper::RenewOnce(const internal::Connection& connection,
                                               absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.AddMetadata("hasleader", "true");  // a member cut off from its cluster refuses
  {
    std::lock_guard lock(mu_);
    if (stopping_) return absl::CancelledError("lease keeper stopping");
    active_ = &context;
  }
  auto stream = connection.lease->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_.id);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  {
    std::lock_guard lock(mu_);
    active_ = nullptr;
  }
  if (answered) return response.ttl();
  if (status.ok()) status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed");
  return internal::ToStatus(status, "LeaseKeepAlive", connection.endpoint);
}

bool LeaseKeeper::WaitUntil(absl::Time until) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(std::max(until - absl::Now(), absl::ZeroDuration())),
               [this] { return stopping_; });
  return !stopping_;
}

void LeaseKeeper::ReportLost(const absl::Status& status) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    lost_ = true;
  }
  if (on_lost_) on_lost_(status);
}

}  // namespace lodestone::replication
