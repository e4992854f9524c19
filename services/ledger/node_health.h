// Whether this ledger node can take appends and, when it cannot, the precise status they get:
// the one source for the gRPC health status, GetHead's `health`, the metrics and the refusal
// of appends. It never says UNAVAILABLE, which tells clients to retry: what it reports does
// not go away by retrying (docs/operations.md, "Health").
#ifndef LODESTONE_SERVICES_LEDGER_NODE_HEALTH_H_
#define LODESTONE_SERVICES_LEDGER_NODE_HEALTH_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/log.h"

namespace lodestone::ledger {

class NodeHealth {
 public:
  // `replication`: OK while this node applies the cluster's committed batches (the distributed
  // mode's ReplicatedNode::status, non-OK once applying stopped); null in the embedded mode.
  // Both must be cheap and outlive this object.
  NodeHealth(storage::Log& log, std::function<absl::Status()> replication = nullptr);
  ~NodeHealth();  // Stop()
  NodeHealth(const NodeHealth&) = delete;
  NodeHealth& operator=(const NodeHealth&) = delete;

  // OK, or the status an append gets here now:
  // - RESOURCE_EXHAUSTED: the disk is full (free space: writes resume, or restart the node if
  //   the message says so);
  // - DATA_LOSS: stored data failed a checksum, or this node diverged from the cluster;
  // - FAILED_PRECONDITION: the log failed a write (an I/O error) and takes nothing more until
  //   the node restarts, or the node stopped applying the cluster's batches.
  absl::Status Check() const;

  // Calls `changed` with Check() now and whenever its verdict (OK or its code) changes, from a
  // thread polling every `interval`, until Stop. Once only. While the disk is full the thread
  // also asks the log to resume (Log::ResumeWrites): a node refusing appends comes back by
  // itself once there is space.
  void Watch(std::function<void(const absl::Status&)> changed,
             absl::Duration interval = absl::Milliseconds(100));
  void Stop();  // joins the watcher; idempotent

 private:
  void Run(std::function<void(const absl::Status&)> changed, absl::Duration interval);

  storage::Log& log_;
  const std::function<absl::Status()> replication_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_NODE_HEALTH_H_
