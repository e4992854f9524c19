// A small client for etcd 3.4's gRPC API (KV, Lease, Watch, v3election): what the replicated
// ledger needs, nothing more (docs/replication.md). No gRPC in this header.
//
// Endpoints: a comma-separated list, all http:// (or bare host:port) for plain text, or all
// https:// with TLS credentials (rpc::ClientTlsCredentials: the CA that etcd's server
// certificates chain to, and the client certificate etcd's --client-cert-auth asks for; the host
// of each endpoint must be in its member's certificate). Calls go to one endpoint at a time; on
// UNAVAILABLE, or when an attempt runs out of its own time (a stopped member), the call moves on to
// the next endpoint and retries until its deadline. A write that was retried may have been applied
// by the earlier attempt: guard writes that must happen once with Txn compares (the ledger's commit
// compares the expected sequence, so a repeated commit fails instead of committing twice).
//
// Thread-safe. LeaseKeeper and Watcher objects may outlive the client.
#ifndef LODESTONE_SERVICES_REPLICATION_ETCD_CLIENT_H_
#define LODESTONE_SERVICES_REPLICATION_ETCD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/replication/etcd_types.h"
#include "services/replication/etcd_watcher.h"
#include "services/replication/lease_keeper.h"

namespace grpc {
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace lodestone::replication {

namespace internal {
class ConnectionPool;
}  // namespace internal

struct EtcdClientOptions {
  std::string endpoints;  // "127.0.0.1:2379,http://10.0.0.2:2379" or "https://10.0.0.2:2379,..."
  absl::Duration call_timeout = absl::Seconds(5);     // deadline of each call (all attempts)
  absl::Duration attempt_timeout = absl::Seconds(2);  // one attempt on one endpoint
  int max_receive_bytes = kDefaultMaxReceiveBytes;    // per reply; at least kMinReceiveBytes
  // TLS to every endpoint (they must then all be https://); null: plain text (none may be).
  std::shared_ptr<grpc::ChannelCredentials> tls_credentials = nullptr;
};

// Cancels a blocking Campaign from another thread. Once cancelled, it stays cancelled.
class Canceller {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class EtcdClient;
  bool Attach(grpc::ClientContext* context);  // false if already cancelled
  void Detach();

  mutable std::mutex mu_;
  bool cancelled_ = false;
  grpc::ClientContext* active_ = nullptr;
};

class EtcdClient {
 public:
  // INVALID_ARGUMENT for a malformed endpoint list, endpoint schemes that disagree with
  // tls_credentials, a non-positive timeout, or max_receive_bytes below kMinReceiveBytes. Connects
  // lazily: an unreachable etcd shows in the first call.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(EtcdClientOptions options);
  ~EtcdClient();

  // --- KV (linearizable reads) ---
  // NOT_FOUND when the key does not exist.
  absl::StatusOr<KeyValue> Get(std::string_view key);
  // Keys starting with `prefix`, from `from_key` on (if later than `prefix`), in key order, at
  // most `limit` (clamped to 1..kMaxPageKeys).
  absl::StatusOr<RangeResult> GetPrefix(std::string_view prefix, int64_t limit,
                                        std::string_view from_key = {});
  // Returns the revision of the write. `lease` 0: no lease.
  absl::StatusOr<int64_t> Put(std::string_view key, std::string_view value, int64_t lease = 0);
  // Return the number of keys deleted.
  absl::StatusOr<int64_t> Delete(std::string_view key);
  absl::StatusOr<int64_t> DeletePrefix(std::string_view prefix);
  // If every compare holds, applies `success` atomically. At most kMaxTxnOps compares + ops.
  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<TxnOp>& success);
  // Txn that also requires create_revision(leader.key) == leader.rev: it fails once `leader` is
  // no longer the leader (its key was deleted by resignation or lease expiry, whatever its
  // process believes). The fencing token of docs/replication.md.
  absl::StatusOr<TxnResult> FencedTxn(const LeaderKey& leader, std::vector<Compare> compares,
                                      const std::vector<TxnOp>& success);
  // Compacts history up to `revision` and waits until etcd has done so physically. OUT_OF_RANGE
  // if `revision` was compacted already or is in the future.
  absl::Status Compact(int64_t revision);

  // --- Leases ---
  // `ttl` is whole seconds (rounded up), at least 1 s. etcd may grant more than asked.
  absl::StatusOr<Lease> GrantLease(absl::Duration ttl);
  // Revokes the lease and deletes its keys. NOT_FOUND if it does not exist (expired).
  absl::Status RevokeLease(int64_t lease);
  // Keeps `lease` alive on a thread of its own until the keeper is destroyed.
  std::unique_ptr<LeaseKeeper> KeepAlive(const Lease& lease, LeaseKeeper::LostCallback on_lost);

  // --- Election (etcd's v3election service) ---
  // Campaigns for `election` with the key `<election>/<lease hex>` holding `value`, attached to
  // `lease`. Blocks until leader; DEADLINE_EXCEEDED after `timeout`, CANCELLED through `cancel`.
  // After such a failure the campaign key may still exist (etcd withdraws it only when the
  // campaign was already waiting; a win may also race the deadline): campaign again with the
  // same lease (it resumes the same key) or revoke the lease. Keep the lease
  // alive while campaigning: a lease that expires loses its place.
  absl::StatusOr<LeaderKey> Campaign(std::string_view election, int64_t lease,
                                     std::string_view value, absl::Duration timeout,
                                     Canceller* cancel = nullptr);
  // The current leader's campaign key (its value is what the leader proclaimed). NOT_FOUND when
  // there is no leader.
  absl::StatusOr<KeyValue> Leader(std::string_view election);
  // Gives up leadership (deletes the campaign key if it is still `leader`'s); the lease stays.
  absl::Status Resign(const LeaderKey& leader);

  // --- Watch ---
  // Delivers every put and delete under `prefix` from `from_revision` (inclusive; 0: from now)
  // on the watcher's thread, in revision order, across endpoint failures, until the watcher is
  // stopped or destroyed. If `from_revision` has been compacted, delivers one kCompacted event and
  // stops.
  std::unique_ptr<Watcher> Watch(std::string_view prefix, int64_t from_revision,
                                 Watcher::Callback callback);

  // The endpoint calls currently go to.
  std::string current_endpoint() const;

 private:
  EtcdClient(EtcdClientOptions options, std::shared_ptr<internal::ConnectionPool> pool);
  absl::StatusOr<RangeResult> Range(std::string_view key, std::string_view range_end,
                                    int64_t limit);
  absl::StatusOr<int64_t> DeleteRange(std::string_view key, std::string_view range_end);

  const EtcdClientOptions options_;
  const std::shared_ptr<internal::ConnectionPool> pool_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_ETCD_CLIENT_H_
