// A watch on a key prefix delivering events on a thread of its own (EtcdClient::Watch). No gRPC.
#ifndef LODESTONE_SERVICES_REPLICATION_ETCD_WATCHER_H_
#define LODESTONE_SERVICES_REPLICATION_ETCD_WATCHER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/replication/etcd_types.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace etcdserverpb {
class WatchResponse;
}  // namespace etcdserverpb

namespace lodestone::replication {

namespace internal {
class ConnectionPool;
struct Connection;
}  // namespace internal

// Watches [prefix, PrefixRangeEnd(prefix)) from a revision. Events arrive in revision order
// (events of one revision - one Txn - together, in the order etcd applied them). When the stream
// breaks (member killed or cut off from its leader at once; a stopped member after the channel's
// keepalive gives up, about 15 s), the watcher resumes on the next endpoint from the revision
// after the last one delivered, so nothing is skipped or repeated. Large responses arrive in
// fragments, which are joined before delivery.
class Watcher {
 public:
  // Runs on the watcher's thread, one event at a time. It must not destroy the watcher.
  using Callback = std::function<void(const WatchEvent&)>;

  Watcher(std::shared_ptr<internal::ConnectionPool> pool, std::string prefix, int64_t from_revision,
          Callback callback);
  ~Watcher();  // Stop()
  // Cancels the stream and waits for a callback in progress; no callback runs afterwards.
  // Idempotent; call it from one thread at a time, never from the callback.
  void Stop();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // OK while watching; OUT_OF_RANGE after a kCompacted event; otherwise the error that ended the
  // watch (one that another endpoint would not fix, e.g. etcd cancelled it).
  absl::Status status() const;
  // The revision the watch continues from: one past the last delivered event's (0 before the
  // first event or creation when watching "from now").
  int64_t next_revision() const;

 private:
  enum class Next { kContinue, kReconnect, kStop };

  void Run();
  Next RunStream(const internal::Connection& connection);
  // Delivers what a response completes (fragments accumulate in `pending`).
  Next Handle(const etcdserverpb::WatchResponse& response, std::vector<WatchEvent>& pending,
              const std::string& endpoint);
  // Delivers the joined events of one response; false if it ended the watch (compaction).
  bool Deliver(const std::vector<WatchEvent>& events);
  bool WaitFor(absl::Duration pause);  // false when stopping
  void End(const absl::Status& status);

  const std::shared_ptr<internal::ConnectionPool> pool_;
  const std::string prefix_;
  const Callback callback_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  absl::Status status_;
  int64_t next_revision_ = 0;
  grpc::ClientContext* active_ = nullptr;  // the open stream, cancelled by the destructor
  std::thread thread_;
};

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_ETCD_WATCHER_H_
