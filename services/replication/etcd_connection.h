// Internal to services/replication (its .cc files only): gRPC channels to the etcd endpoints,
// failover between them, retries within a deadline, and gRPC -> absl status mapping.
#ifndef LODESTONE_SERVICES_REPLICATION_ETCD_CONNECTION_H_
#define LODESTONE_SERVICES_REPLICATION_ETCD_CONNECTION_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/api/v3election/v3electionpb/v3election.grpc.pb.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"

namespace lodestone::replication::internal {

// One endpoint: its channel (gRPC connects lazily and reconnects by itself) and the stubs.
struct Connection {
  std::string endpoint;  // host:port
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  std::unique_ptr<v3electionpb::Election::Stub> election;
};

// "host:port,http://host:port" -> {"host:port", "host:port"}; with `tls`,
// "https://host:port,..." -> {"host:port", ...}. INVALID_ARGUMENT for an empty list, an empty
// entry, an https:// entry without `tls`, and an entry that is not https:// with `tls` (the scheme
// must say what the connection is: no endpoint silently falls back to plain text).
absl::StatusOr<std::vector<std::string>> ParseEndpoints(std::string_view endpoints, bool tls);

// The endpoints in order; calls go to the current one, and a failure moves to the next.
class ConnectionPool {
 public:
  // `credentials`: TLS (rpc::ClientTlsCredentials) or null for plain text.
  ConnectionPool(const std::vector<std::string>& endpoints, int max_receive_bytes,
                 const std::shared_ptr<grpc::ChannelCredentials>& credentials);

  std::shared_ptr<const Connection> Current() const;
  // Moves to the next endpoint, unless another caller already moved away from `failed`.
  void Failed(const Connection& failed);
  size_t size() const { return connections_.size(); }

 private:
  std::vector<std::shared_ptr<const Connection>> connections_;
  mutable std::mutex mu_;
  size_t current_ = 0;
};

struct CallTimes {
  absl::Duration call = absl::Seconds(5);     // the whole call, over every attempt
  absl::Duration attempt = absl::Seconds(2);  // one attempt on one endpoint
};

// "etcd <what> at <endpoint>: <message>", with the same code (gRPC and absl codes are equal).
// etcd's "election: no leader" (sent as UNKNOWN) becomes NOT_FOUND.
absl::Status ToStatus(const grpc::Status& status, std::string_view what, std::string_view endpoint);

// Whether a failed attempt is worth another endpoint: UNAVAILABLE (unreachable, no leader, or
// etcd timed out), or DEADLINE_EXCEEDED of the attempt's own deadline (a stopped member) while
// the call has time left.
bool Retryable(const grpc::Status& status, absl::Time attempt_deadline, absl::Time call_deadline);

// Sleeps after every full round over the endpoints (50 ms doubling to 1 s), never past
// `call_deadline`.
void BackoffAfterFailure(int failures, size_t endpoints, absl::Time call_deadline);

// The status of a call that failed for good: `last`, except that a call that ran out of time
// after an endpoint was UNAVAILABLE reports UNAVAILABLE (etcd could not be reached).
absl::Status FinalStatus(const grpc::Status& last, const absl::Status& unavailable,
                         std::string_view what, std::string_view endpoint);

// Runs `attempt(const Connection&, grpc::ClientContext*) -> grpc::Status` on the current
// endpoint, moving on to the next while Retryable, until success or the call deadline. A write
// retried after UNAVAILABLE or an attempt timeout may have been applied by the earlier attempt.
template <typename Attempt>
absl::Status RetryCall(ConnectionPool& pool, const CallTimes& times, std::string_view what,
                       Attempt&& attempt) {
  const absl::Time call_deadline = absl::Now() + times.call;
  absl::Status unavailable;  // the last UNAVAILABLE, if any
  for (int failures = 1;; ++failures) {
    const std::shared_ptr<const Connection> connection = pool.Current();
    const absl::Time attempt_deadline = std::min(call_deadline, absl::Now() + times.attempt);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(attempt_deadline));
    const grpc::Status status = attempt(*connection, &context);
    if (status.ok()) return absl::OkStatus();
    if (!Retryable(status, attempt_deadline, call_deadline)) {
      return FinalStatus(status, unavailable, what, connection->endpoint);
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      unavailable = ToStatus(status, what, connection->endpoint);
    }
    pool.Failed(*connection);
    BackoffAfterFailure(failures, pool.size(), call_deadline);
  }
}

}  // namespace lodestone::replication::internal

#endif  // LODESTONE_SERVICES_REPLICATION_ETCD_CONNECTION_H_
