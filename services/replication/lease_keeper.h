// Keeps an etcd lease alive from a thread of its own (EtcdClient::KeepAlive). No gRPC here.
#ifndef LODESTONE_SERVICES_REPLICATION_LEASE_KEEPER_H_
#define LODESTONE_SERVICES_REPLICATION_LEASE_KEEPER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/replication/etcd_types.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace lodestone::replication {

namespace internal {
class ConnectionPool;
struct Connection;
}  // namespace internal

// Renews the lease every ttl/3 through etcd's LeaseKeepAlive stream (one request and reply per
// renewal, each with a deadline), moving to the next endpoint when one fails. The lease is lost
// when etcd answers that it no longer exists, or when no renewal reached etcd before the local
// estimate of its expiry (send time of the last renewal + granted TTL, never later than etcd's).
class LeaseKeeper {
 public:
  // Called once, on the keeper's thread, when the lease is lost: NOT_FOUND (etcd: expired or
  // revoked) or DEADLINE_EXCEEDED (could not renew in time). The keeper then stops renewing.
  // The callback must not destroy the keeper.
  using LostCallback = std::function<void(const absl::Status&)>;

  LeaseKeeper(std::shared_ptr<internal::ConnectionPool> pool, Lease lease, LostCallback on_lost);
  // Stops renewing (interrupting a renewal in flight). The lease then expires after its TTL
  // unless someone revokes it.
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  int64_t lease_id() const { return lease_.id; }
  bool lost() const;
  // The local, conservative estimate of when the lease expires if no renewal succeeds.
  absl::Time expires_at() const;

 private:
  void Run();
  // One keepalive round trip: the TTL etcd granted in seconds (0: the lease is gone).
  absl::StatusOr<int64_t> RenewOnce(const internal::Connection& connection, absl::Time deadline);
  // Waits until `until` or Stop; false when stopping.
  bool WaitUntil(absl::Time until);
  void ReportLost(const absl::Status& status);

  const std::shared_ptr<internal::ConnectionPool> pool_;
  const Lease lease_;
  const LostCallback on_lost_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool lost_ = false;
  absl::Time expires_at_;
  grpc::ClientContext* active_ = nullptr;  // the renewal in flight, cancelled by the destructor
  std::thread thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_LEASE_KEEPER_H_
