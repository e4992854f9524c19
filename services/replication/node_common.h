// What the units of a ReplicatedNode share: its options, the etcd key layout under
// /lodestone/<cluster>/ (replicated_node.h lists it), and a few small helpers.
#ifndef LODESTONE_SERVICES_REPLICATION_NODE_COMMON_H_
#define LODESTONE_SERVICES_REPLICATION_NODE_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/replication/peer_catch_up.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace lodestone::replication {

// How long a unit pauses before it retries etcd.
inline constexpr absl::Duration kRetryPause = absl::Milliseconds(100);

class NodeKeys {
 public:
  explicit NodeKeys(const std::string& cluster) : prefix_("/lodestone/" + cluster + "/") {}

  std::string Key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
  std::string Election() const { return Key("election"); }
  std::string Sequence() const { return Key("sequence"); }
  std::string Window() const { return Key("window"); }
  std::string Batches() const { return Key("batches/"); }
  std::string Nodes() const { return Key("nodes/"); }
  std::string Batch(int64_t sequence) const;  // P/batches/<20 digits>

 private:
  const std::string prefix_;
};

// Events for metrics; called on the node's threads (keep it cheap).
class ReplicationObserver {
 public:
  virtual ~ReplicationObserver() = default;
  virtual void OnCommit(absl::Duration etcd_txn, size_t records, size_t bytes) = 0;
  virtual void OnFencingRejection() = 0;
  virtual void OnLeaderChange() = 0;  // the leader this node sees changed
  virtual void OnCatchUpRejection() = 0;
  virtual void OnCompaction(int64_t batches_deleted) = 0;
};

struct ReplicatedNodeOptions {
  std::string etcd_endpoints;
  // TLS to etcd (EtcdClientOptions::tls_credentials: the endpoints are then https://); null:
  // plain text.
  std::shared_ptr<grpc::ChannelCredentials> etcd_credentials;
  std::string cluster = "default";
  std::string node_id;
  std::string advertise_address;
  absl::Duration lease_ttl = absl::Seconds(2);
  // Window: etcd drops a batch once `min_durable_copies` nodes report it applied, keeping
  // `window_min_batches` below that point for briefly absent followers (CompactionCut).
  int min_durable_copies = 2;
  int64_t window_min_batches = 1000;
  absl::Duration housekeeping_interval = absl::Milliseconds(500);  // progress, compaction
  // How long a leader resolves an ambiguous etcd answer before it steps down.
  absl::Duration commit_resolve_timeout = absl::Seconds(5);
  PeerCatchUpOptions catch_up;
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials;  // null: plaintext
  ReplicationObserver* observer = nullptr;                     // may be null
};

// A decimal sequence, the whole of `text`.
bool ParseSequence(std::string_view text, int64_t& out);

// etcd did not answer (or not in time): the call may be retried.
bool Retryable(const absl::Status& status);

void LogNode(const std::string& node_id, const std::string& message);

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_NODE_COMMON_H_
