// The ledger's write side on one machine: validates append batches against the write model and
// commits them, with their state changes, through the storage group committer. No gRPC here;
// ledger_service.* is the thin RPC layer over it.
#ifndef LODESTONE_SERVICES_LEDGER_LEDGER_H_
#define LODESTONE_SERVICES_LEDGER_LEDGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/domain/event.h"
#include "services/domain/rules.h"
#include "storage/group_commit.h"
#include "storage/log.h"

namespace lodestone::ledger {

struct LedgerOptions {
  storage::LogOptions log;
  storage::GroupCommitOptions commit;
  // Distributed mode: every group goes through the replication hook (Ledger::SetReplication-
  // Hook) before it is written locally; while no hook is set, appends fail UNAVAILABLE. False:
  // local only.
  bool replicated = false;
  // An event_time later than the commit time plus this is INVALID_ARGUMENT (domain
  // CheckEventTimes). Judged by the committing node only: followers apply what it committed.
  absl::Duration max_future_skew = domain::kDefaultMaxFutureSkew;
  // An event committed more than this after its event_time is served marked late.
  absl::Duration late_after = domain::kDefaultLateAfter;
  // Authority outside the ledger's data (the bootstrap administrator); every node of a cluster
  // should be given the same: it judges the appends of whichever node leads (followers apply
  // committed batches without judging them).
  domain::Authority authority;
  size_t max_batch_events = 10000;  // more: INVALID_ARGUMENT (batch_too_large)
  size_t max_batch_bytes = size_t{8}
                           << 20;  // canonical bytes of all events; more: INVALID_ARGUMENT
};

struct AppendBatch {
  std::vector<domain::Event> events;
  std::vector<std::pair<std::string, uint64_t>> expected_versions;  // (subject, version)
  // The authenticated party appending: every event is attested by it (`attested_by` set to it;
  // an event naming another attester is PERMISSION_DENIED) and authorized as its statement
  // (domain ApplyEvent). Empty: an in-process caller that attests nothing (tests and tools).
  std::string attester;
  // The events carry the attester a ledger node authenticated before forwarding them; taken as
  // given (set only for callers with a node identity).
  bool pre_attested = false;
};

// OK when an event's `attested_by` is empty or the caller; else PERMISSION_DENIED naming the
// event (its index in the batch and its id).
absl::Status CheckAttester(size_t index, std::string_view event_id, std::string_view attested_by,
                           std::string_view caller);

struct EventPosition {
  std::string event_id;
  uint64_t position = 0;
  uint64_t stream_version = 0;
};

struct AppendOutcome {
  std::vector<EventPosition> results;  // one per event, in batch order
  bool duplicate = false;              // every event was appended before with identical content
  uint64_t log_size = 0;
};

// A committed event, decoded.
struct StoredEvent {
  uint64_t position = 0;
  absl::Time commit_time;
  domain::Event event;
};

// Records another node committed, to be applied here at `first_position` with `commit_time`
// (payloads: canonical event bytes, as the other log holds them).
struct CommittedBatch {
  uint64_t first_position = 0;
  absl::Time commit_time;
  std::vector<storage::RecordInput> records;
  // State written atomically with the records (e.g. the replication bookkeeping), in keys
  // outside the write model's key spaces.
  std::vector<std::pair<std::string, std::string>> state;
};

// The ledger's side of the distributed mode: how its commit groups are replicated is not its
// business (services/replication implements this).
class ReplicationHook {
 public:
  virtual ~ReplicationHook() = default;
  // Called on the committer thread with every group before it is written locally: `txn` holds
  // the group's staged records (Txn::StagedRecords, from Txn::base_position) and `commit_time`
  // is the time they commit with. The group is written and acknowledged only if this returns
  // OK; state the hook stages in `txn` (PutState) commits atomically with the group.
  virtual absl::Status BeforeCommit(storage::Txn& txn, absl::Time commit_time) = 0;
};

// Observes outcomes for metrics; called on the committer thread (keep it cheap).
class LedgerObserver {
 public:
  virtual ~LedgerObserver() = default;
  virtual void OnAppendDone(const absl::Status& status, const AppendOutcome* outcome,
                            size_t batch_events) = 0;
  virtual void OnCommitGroup(size_t requests, size_t records, absl::Duration duration) = 0;
};

class Ledger {
 public:
  using DoneFn = std::function<void(absl::StatusOr<AppendOutcome>)>;

  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const LedgerOptions& options,
                                                      LedgerObserver* observer = nullptr);
  ~Ledger();

  // Checks the batch statelessly (shape, limits, duplicate ids and subjects within it) and
  // verifies its signatures on the calling thread, then queues it. `done` runs exactly once: inline
  // for a batch rejected before queueing, otherwise on the committer thread after the batch
  // committed (or was rejected). All-or-nothing.
  void Append(AppendBatch batch, DoneFn done);

  // Synchronous convenience for tests and tools.
  absl::StatusOr<AppendOutcome> AppendAndWait(AppendBatch batch);

  // A follower applies a batch its leader committed: the events' effects are applied to the
  // write model without judging them again (domain::ApplyCommittedEvent: the leader's commit was
  // the judgement, so a rule tightened since does not stop a replica) and the records committed
  // with the leader's commit time at the same positions, with the batch's state in the same
  // write. FAILED_PRECONDITION when the batch does not start at this log's size (a gap or a
  // batch already applied); DATA_LOSS when a payload does not parse or names another id or
  // subject than its record; INTERNAL when the effects cannot be applied (the write model does
  // not match the log). `done` runs once.
  void ApplyCommitted(CommittedBatch batch, std::function<void(absl::Status)> done);
  absl::Status ApplyCommittedAndWait(CommittedBatch batch);

  // Sets the replication hook (null: clears it; appends then fail UNAVAILABLE); waits for a
  // call of the previous hook in flight. The hook must stay valid until it is cleared or the
  // ledger stopped. FAILED_PRECONDITION unless the ledger was opened with `replicated`.
  absl::Status SetReplicationHook(ReplicationHook* hook);

  // Stops accepting appends (UNAVAILABLE), commits what is queued. Idempotent.
  void Stop();

  // Called after every commit that appended records, on the committer thread: notify, don't
  // work. Returns a handle for RemoveCommitListener.
  int AddCommitListener(std::function<void(const storage::Head&)> listener);
  void RemoveCommitListener(int handle);
  // As AddCommitListener, for a listener that only needs waking; the returned function removes
  // it (and must be called before the ledger is destroyed).
  std::function<void()> WakeOnCommit(std::function<void()> wake);

  // The id of the first event captured from the EPCIS event with this CBV 2.0 canonical hash
  // (Event::epcis_event_hash), as of the last commit; nullopt: none. Kept in the ledger's state,
  // written with the event on every node.
  absl::StatusOr<std::optional<std::string>> FindEpcisEventHash(std::string_view hash) const;

  // Decoded events from `from_position`, at most `max_events` (fewer at the log's end).
  // DATA_LOSS for a stored event that does not decode.
  absl::StatusOr<std::vector<StoredEvent>> ReadEvents(uint64_t from_position,
                                                      size_t max_events) const;
  // The committed event with this id; nullopt: none.
  absl::StatusOr<std::optional<StoredEvent>> FindEvent(std::string_view event_id) const;

  // Whether `party_id` reads every event (the administrator party, an auditor) rather than
  // those it is party to (IsPartyTo), as of the last commit.
  absl::StatusOr<bool> ReadsAll(std::string_view party_id) const;

  // Whether `party_id` holds `role` (with `scope`) as of the last commit.
  absl::StatusOr<bool> HoldsRole(std::string_view party_id, domain::Role role,
                                 std::string_view scope = {}) const;

  // Whether `party` may read `event` as a partner (domain::IsPartyTo against the write model
  // as of the last commit).
  absl::StatusOr<bool> IsPartyTo(const domain::Event& event, std::string_view party) const;

  storage::Log& log() { return *log_; }
  const storage::Log& log() const { return *log_; }
  storage::GroupCommitter& committer() { return *committer_; }
  const LedgerOptions& options() const { return options_; }

 private:
  Ledger(LedgerOptions options, std::unique_ptr<storage::Log> log, LedgerObserver* observer);

  // PERMISSION_DENIED unless every signed event's signature verifies under the key it names
  // (registered earlier in the batch or committed); whether that key is the attester's and
  // active at the batch's position is the write model's (domain ApplyEvent) judgement.
  absl::Status VerifySignatures(const AppendBatch& batch) const;

  const LedgerOptions options_;
  std::unique_ptr<storage::Log> log_;
  std::unique_ptr<storage::GroupCommitter> committer_;
  LedgerObserver* const observer_;
  std::mutex hook_mu_;  // held during a BeforeCommit call, so that clearing waits for it
  ReplicationHook* hook_ = nullptr;
  std::mutex listeners_mu_;
  std::vector<std::pair<int, std::function<void(const storage::Head&)>>> listeners_;
  int next_listener_ = 0;
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_LEDGER_H_
