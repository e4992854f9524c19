// Where the projector reads the ledger from: in-process (the embedded server reads the log it
// shares a process with) or over gRPC (a separate provenance service subscribes to a ledger).
// Only the log's storage interface and the wire are known here, not the ledger's write side.
#ifndef LODESTONE_SERVICES_PROVENANCE_EVENT_SOURCE_H_
#define LODESTONE_SERVICES_PROVENANCE_EVENT_SOURCE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/domain/rules.h"
#include "storage/log.h"

namespace lodestone::provenance {

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Up to `max_events` consecutive events from `from_position`, waiting up to `wait` for the
  // first one; empty when none arrived in time. UNAVAILABLE while the ledger cannot be reached.
  virtual absl::StatusOr<std::vector<v1::StoredEvent>> Read(uint64_t from_position,
                                                            size_t max_events,
                                                            absl::Duration wait) = 0;
  // Wakes a waiting Read (which then returns what it has) and makes later Reads return at once.
  virtual void Cancel() = 0;
  // The ledger's size as last seen (for lag metrics).
  virtual uint64_t ledger_size() const = 0;
};

// Calls `wake` after every commit to the log until the function it returns is called (the
// composition root connects it to whatever commits, e.g. Ledger::WakeOnCommit).
using CommitSubscriber = std::function<std::function<void()>(std::function<void()> wake)>;

// Reads a log in the same process, woken by its commits.
class LocalLogSource final : public EventSource {
 public:
  // `late_after` is the ledger's (LedgerOptions::late_after): events are marked late exactly as
  // the ledger serves them to remote replicas.
  LocalLogSource(const storage::Log& log, const CommitSubscriber& subscribe,
                 absl::Duration late_after = domain::kDefaultLateAfter);
  ~LocalLogSource() override;  // unsubscribes
  absl::StatusOr<std::vector<v1::StoredEvent>> Read(uint64_t from_position, size_t max_events,
                                                    absl::Duration wait) override;
  void Cancel() override;
  uint64_t ledger_size() const override;

 private:
  const storage::Log& log_;
  const absl::Duration late_after_;
  std::function<void()> unsubscribe_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

struct RemoteSourceOptions {
  std::string ledger_address;  // host:port
  // Of the channel to the ledger (TLS ones come from rpc/tls.h; null = plain text).
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  size_t max_buffered_events = 20000;               // the stream pauses when the buffer is full
  absl::Duration stream_deadline = absl::Hours(1);  // each Subscribe call; then resubscribe
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
};

// Subscribes to a ledger over gRPC, reconnecting with exponential backoff from the next
// position it needs; buffers a bounded number of events. Every event is read from its stored
// bytes (`event_bytes`) and checked against the chain: each consecutive event's chain hash must
// be H(previous chain || its leaf hash over those bytes). An event that fails is not passed on:
// the source logs it, backs off and subscribes again from that position, so a damaged transfer
// heals and a ledger serving bytes other than those committed stalls the fold there.
class RemoteLedgerSource final : public EventSource {
 public:
  explicit RemoteLedgerSource(RemoteSourceOptions options);
  ~RemoteLedgerSource() override;
  absl::StatusOr<std::vector<v1::StoredEvent>> Read(uint64_t from_position, size_t max_events,
                                                    absl::Duration wait) override;
  void Cancel() override;
  uint64_t ledger_size() const override;
  bool connected() const;

 private:
  void Run();

  const RemoteSourceOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;          // data arrived / space freed / cancelled
  std::deque<v1::StoredEvent> buffer_;  // consecutive positions from buffer_start_
  uint64_t wanted_position_ = 0;        // where the stream must (re)start
  bool restart_ = false;                // the reader asked for a position the buffer lacks
  bool cancelled_ = false;
  bool connected_ = false;
  uint64_t ledger_size_ = 0;
  // The position and chain hash of the last event buffered (checked), for the next one's link.
  std::optional<std::pair<uint64_t, storage::Hash>> chain_tip_;
  std::unique_ptr<grpc::ClientContext> context_;  // of the open stream, to cancel it
  std::thread thread_;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_EVENT_SOURCE_H_
