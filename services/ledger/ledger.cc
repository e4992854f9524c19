#include "services/ledger/ledger.h"

#include <future>
#include <limits>
#include <optional>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/base/status_macros.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"
#include "services/domain/errors.h"
#include "services/domain/rules.h"
#include "services/ledger/txn_state_store.h"

namespace lodestone::ledger {
namespace {

using domain::Rejection;

// What the committer needs of one batch; shared between the stage and done callbacks.
struct PendingBatch {
  AppendBatch batch;
  std::vector<std::string> payloads;  // canonical bytes, one per event
  AppendOutcome outcome;
};

absl::Status CheckBatchShape(const AppendBatch& batch, const std::vector<std::string>& payloads,
                             const LedgerOptions& options) {
  if (batch.events.empty()) {
    return domain::Reject(Rejection::kMalformed, "append: events must not be empty");
  }
  if (batch.events.size() > options.max_batch_events) {
    return domain::Reject(Rejection::kBatchTooLarge,
                          absl::StrCat("append: ", batch.events.size(),
                                       " events exceed the limit of ", options.max_batch_events));
  }
  size_t bytes = 0;
  for (const auto& payload : payloads) bytes += payload.size();
  if (bytes > options.max_batch_bytes) {
    return domain::Reject(
        Rejection::kBatchTooLarge,
        absl::StrCat("append: ", bytes, " bytes exceed the limit of ", options.max_batch_bytes));
  }
  absl::flat_hash_set<std::string_view> ids;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const auto& id = batch.events[i].event_id;
    if (!ids.insert(id).second) {
      return domain::Reject(
          Rejection::kMalformed,
          absl::StrCat("events[", i, "]: event id '", id, "' appears more than once in the batch"));
    }
    if (payloads[i].size() > storage::kMaxPayloadBytes) {
      return domain::Reject(Rejection::kBatchTooLarge,
                            absl::StrCat("events[", i, "] '", id, "': ", payloads[i].size(),
                                         " bytes exceed the event limit"));
    }
  }
  if (batch.expected_versions.size() > options.max_batch_events) {
    return domain::Reject(
        Rejection::kBatchTooLarge,
        absl::StrCat("append: ", batch.expected_versions.size(),
                     " expected versions exceed the limit of ", options.max_batch_events));
  }
  absl::flat_hash_set<std::string_view> subjects;
  for (size_t i = 0; i < batch.expected_versions.size(); ++i) {
    const auto& subject = batch.expected_versions[i].first;
    if (!domain::ParseSubject(subject).has_value() || !subjects.insert(subject).second) {
      return domain::Reject(Rejection::kMalformed,
                            absl::StrCat("expected_versions[", i, "]: subject '", subject,
                                         "' is malformed or repeated"));
    }
  }
  return absl::OkStatus();
}

absl::Status WithEventContext(const absl::Status& status, size_t index) {
  absl::Status out(status.code(), absl::StrCat("events[", index, "]: ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// Idempotency compares the stored bytes: a retry re-encodes to exactly them. When they differ it
// is still the same fact if the stored bytes decode to the same event and hold nothing this build
// does not understand (no unknown fields: they re-encode to themselves through the domain event):
// bytes committed by a build whose protobuf encoded the same fields otherwise. An event stored
// before attestation existed has no attester: the same event re-sent now, with its caller as
// attester, is the same fact too (a second `make run` on an older data directory).
bool SameFact(const std::string& stored_payload, const domain::Event& event) {
  v1::Event proto;
  if (!proto.ParseFromString(stored_payload)) return false;
  auto stored = codec::EventFromProto(proto);
  if (!stored.ok()) return false;
  if (codec::CanonicalEventBytes(*stored) != codec::DeterministicEventBytes(proto)) return false;
  if (*stored == event) return true;
  if (!stored->attested_by.empty() || event.attested_by.empty()) return false;
  domain::Event unattested = event;
  unattested.attested_by.clear();
  return *stored == unattested;
}

// Idempotency: returns true when the whole batch was appended before with identical content
// (and fills the outcome), false when none of it was. Anything else is ALREADY_EXISTS.
absl::StatusOr<bool> CheckDuplicates(storage::Txn& txn, PendingBatch& pending) {
  const auto& events = pending.batch.events;
  size_t found = 0;
  std::vector<EventPosition> positions;
  for (size_t i = 0; i < events.size(); ++i) {
    auto position = txn.FindEventId(events[i].event_id);
    if (!position.ok()) return position.status();
    if (!position->has_value()) continue;
    auto record = txn.ReadRecord(**position);
    if (!record.ok()) return record.status();
    if (record->payload != pending.payloads[i] && !SameFact(record->payload, events[i])) {
      return domain::Reject(
          Rejection::kDuplicateConflict,
          absl::StrCat("events[", i, "]: event id '", events[i].event_id,
                       "' was appended at position ", **position, " with different content"));
    }
    ++found;
    positions.push_back({events[i].event_id, record->position, record->stream_version});
  }
  if (found == 0) return false;
  if (found != events.size()) {
    return domain::Reject(Rejection::kDuplicateConflict,
                          absl::StrCat("append: ", found, " of ", events.size(),
                                       " event ids were appended before in another batch (first: '",
                                       positions.front().event_id, "' at position ",
                                       positions.front().position, ")"));
  }
  pending.outcome.results = std::move(positions);
  pending.outcome.duplicate = true;
  return true;
}

absl::Status CheckExpectedVersions(storage::Txn& txn, const AppendBatch& batch) {
  for (const auto& [subject, expected] : batch.expected_versions) {
    auto version = txn.StreamVersion(subject);
    if (!version.ok()) return version.status();
    if (*version != expected) {
      return domain::Reject(Rejection::kVersionConflict,
                            absl::StrCat("subject '", subject, "' is at version ", *version,
                                         ", expected ", expected));
    }
  }
  return absl::OkStatus();
}

// Captured EPCIS events are found by their CBV 2.0 hash: the first event with a hash is indexed
// under it (later ones, an error declaration's retractions, share the original's hash), in the
// same write as the event, on every node.
constexpr char kEpcisHashKey[] = "epcis-hash/";

absl::Status IndexEpcisHash(storage::Txn& txn, const domain::Event& event) {
  if (event.epcis_event_hash.empty()) return absl::OkStatus();
  const std::string key = absl::StrCat(kEpcisHashKey, event.epcis_event_hash);
  auto existing = txn.GetState(key);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value()) txn.PutState(key, event.event_id);
  return absl::OkStatus();
}

absl::Status Stage(storage::Txn& txn, PendingBatch& pending, absl::Duration max_future_skew,
                   const domain::Authority& authority) {
  auto duplicate = CheckDuplicates(txn, pending);
  if (!duplicate.ok()) return duplicate.status();
  if (*duplicate) return absl::OkStatus();
  if (auto status = CheckExpectedVersions(txn, pending.batch); !status.ok()) return status;
  TxnStateStore store(txn);
  auto& events = pending.batch.events;
  pending.outcome.results.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const domain::Event& event = events[i];
    if (auto status = domain::CheckEventTimes(event, txn.commit_time(), max_future_skew);
        !status.ok()) {
      return WithEventContext(status, i);
    }
    if (auto status = domain::ApplyEvent(event, store, authority); !status.ok()) {
      return WithEventContext(status, i);
    }
    auto appended = txn.Append({event.event_id, event.subject, pending.payloads[i]});
    if (!appended.ok()) return WithEventContext(appended.status(), i);
    if (auto status = IndexEpcisHash(txn, event); !status.ok()) return status;
    pending.outcome.results.push_back({event.event_id, appended->first, appended->second});
  }
  return absl::OkStatus();
}

// A follower's stage: the effects of every event of the leader's batch on the write model (not
// judged again: domain::ApplyCommittedEvent), its records at the same positions, then the batch's
// state. Positions are checked here; the chain and root by the caller (a replicated batch's
// fencing and sequence in services/replication, a peer's records against etcd's anchors).
absl::Status StageCommitted(storage::Txn& txn, const CommittedBatch& batch) {
  if (txn.base_position() != batch.first_position) {
    return absl::FailedPreconditionError(absl::StrCat("replicated batch starts at position ",
                                                      batch.first_position, " but the log holds ",
                                                      txn.base_position(), " records"));
  }
  TxnStateStore store(txn);
  for (size_t i = 0; i < batch.records.size(); ++i) {
    const storage::RecordInput& record = batch.records[i];
    v1::Event proto;
    if (!proto.ParseFromString(record.payload)) {
      return absl::DataLossError(absl::StrCat("replicated record ", i, " does not parse"));
    }
    auto event = codec::EventFromProto(proto);
    if (!event.ok()) return event.status();
    if (event->event_id != record.event_id || event->subject != record.subject) {
      return absl::DataLossError(absl::StrCat("replicated record ", i,
                                              " names another event id or subject than its bytes"));
    }
    if (auto status = domain::ApplyCommittedEvent(*event, store); !status.ok()) {
      return absl::InternalError(absl::StrCat("replicated event '", record.event_id,
                                              "' cannot be applied here (", status.message(),
                                              "): the write model does not match the log"));
    }
    auto appended = txn.Append(record);
    if (!appended.ok()) return appended.status();
    if (auto status = IndexEpcisHash(txn, *event); !status.ok()) return status;
    if (appended->first != batch.first_position + i) {
      return absl::InternalError("replicated record landed at another position");
    }
  }
  for (const auto& [key, value] : batch.state) txn.PutState(key, value);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options,
                                                     LedgerObserver* observer) {
  auto log = storage::Log::Open(options.log);
  if (!log.ok()) return log.status();
  return std::unique_ptr<Ledger>(new Ledger(options, *std::move(log), observer));
}

Ledger::Ledger(LedgerOptions options, std::unique_ptr<storage::Log> log, LedgerObserver* observer)
    : options_(std::move(options)), log_(std::move(log)), observer_(observer) {
  storage::GroupCommitOptions commit = options_.commit;
  if (options_.replicated) {
    commit.before_commit = [this](storage::Txn& txn, absl::Time commit_time) {
      std::lock_guard lock(hook_mu_);
      if (hook_ == nullptr) return absl::UnavailableError("no replicated node is running");
      return hook_->BeforeCommit(txn, commit_time);
    };
  }
  committer_ = std::make_unique<storage::GroupCommitter>(*log_, commit);
  log_->SetCommitListener([this](const storage::Head& head) {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [handle, listener] : listeners_) listener(head);
  });
  if (observer_ != nullptr) {
    committer_->SetGroupListener(
        [observer = observer_](size_t requests, size_t records, absl::Duration duration) {
          observer->OnCommitGroup(requests, records, duration);
        });
  }
}

Ledger::~Ledger() {
  Stop();
  log_->SetCommitListener(nullptr);
}

int Ledger::AddCommitListener(std::function<void(const storage::Head&)> listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void Ledger::RemoveCommitListener(int handle) {
  std::lock_guard lock(listeners_mu_);
  std::erase_if(listeners_, [handle](const auto& entry) { return entry.first == handle; });
}

absl::StatusOr<std::optional<std::string>> Ledger::FindEpcisEventHash(std::string_view hash) const {
  return log_->GetState(absl::StrCat(kEpcisHashKey, std::string(hash)));
}

absl::StatusOr<bool> Ledger::HoldsRole(std::string_view party_id, domain::Role role,
                                       std::string_view scope) const {
  auto value = log_->GetState(TxnStateStore::RoleStateKey(party_id, role, scope));
  if (!value.ok()) return value.status();
  return value->has_value();
}

absl::StatusOr<std::vector<StoredEvent>> Ledger::ReadEvents(uint64_t from_position,
                                                            size_t max_events) const {
  auto records = log_->ReadAll(from_position, max_events, std::numeric_limits<size_t>::max());
  if (!records.ok()) return records.status();
  std::vector<StoredEvent> events;
  events.reserve(records->size());
  v1::Event proto;
  for (const storage::Record& record : *records) {
    if (!proto.ParseFromString(record.payload)) {
      return absl::DataLossError(
          absl::StrCat("cannot parse the event at position ", record.position));
    }
    auto event = codec::EventFromProto(proto);
    if (!event.ok()) return event.status();
    events.push_back({record.position, record.commit_time, *std::move(event)});
  }
  return events;
}

absl::StatusOr<std::optional<StoredEvent>> Ledger::FindEvent(std::string_view event_id) const {
  auto position = log_->FindEventId(event_id);
  if (!position.ok()) return position.status();
  if (!position->has_value()) return std::optional<StoredEvent>();
  auto events = ReadEvents(**position, 1);
  if (!events.ok()) return events.status();
  if (events->empty()) return absl::InternalError("an indexed event is not in the log");
  return std::optional<StoredEvent>(std::move(events->front()));
}

absl::StatusOr<bool> Ledger::ReadsAll(std::string_view party_id) const {
  if (party_id == options_.authority.admin_party) return true;
  return HoldsRole(party_id, domain::Role::kAuditor);
}

absl::StatusOr<bool> Ledger::IsPartyTo(const domain::Event& event, std::string_view party) const {
  absl::Status error;
  auto operator_of = [&](std::string_view facility_id) -> std::string {
    auto value = log_->GetState(TxnStateStore::FacilityStateKey(facility_id));
    if (!value.ok()) {
      error.Update(value.status());
      return {};
    }
    auto id = TxnStateStore::DecodeFacilityOperator(*value);
    if (!id.ok()) error.Update(id.status());
    return id.ok() ? *id : std::string();
  };
  auto find_event = [&](std::string_view event_id) -> std::optional<domain::Event> {
    auto position = log_->FindEventId(event_id);
    if (!position.ok() || !position->has_value()) {
      if (!position.ok()) error.Update(position.status());
      return std::nullopt;
    }
    auto record = log_->ReadRecord(**position);
    v1::Event proto;
    if (!record.ok() || !proto.ParseFromString(record->payload)) {
      error.Update(record.ok() ? absl::DataLossError("cannot parse a stored event")
                               : record.status());
      return std::nullopt;
    }
    auto parsed = codec::EventFromProto(proto);
    if (!parsed.ok()) return std::nullopt;
    return *std::move(parsed);
  };
  const bool party_to = domain::IsPartyTo(event, party, operator_of, find_event);
  if (!error.ok()) return error;
  return party_to;
}

std::function<void()> Ledger::WakeOnCommit(std::function<void()> wake) {
  const int handle = AddCommitListener([wake = std::move(wake)](const storage::Head&) { wake(); });
  return [this, handle] { RemoveCommitListener(handle); };
}

absl::Status Ledger::SetReplicationHook(ReplicationHook* hook) {
  if (!options_.replicated) {
    return absl::FailedPreconditionError("the ledger was not opened for replication");
  }
  std::lock_guard lock(hook_mu_);
  hook_ = hook;
  return absl::OkStatus();
}

void Ledger::Stop() {
  if (committer_ != nullptr) committer_->Stop();
}

absl::Status CheckAttester(size_t index, std::string_view event_id, std::string_view attested_by,
                           std::string_view caller) {
  if (attested_by.empty() || attested_by == caller) return absl::OkStatus();
  return domain::Reject(
      Rejection::kPermissionDenied,
      absl::StrCat("events[", index, "]: event '", std::string(event_id), "': attested_by '",
                   std::string(attested_by), "' is not the caller '", std::string(caller), "'"));
}

namespace {

// Attests every event of the batch by its caller (AppendBatch::attester).
absl::Status Attest(AppendBatch& batch) {
  if (batch.pre_attested) {
    for (size_t i = 0; i < batch.events.size(); ++i) {
      if (batch.events[i].attested_by.empty()) {
        return domain::Reject(Rejection::kPermissionDenied,
                              absl::StrCat("events[", i, "]: event '", batch.events[i].event_id,
                                           "': a forwarded event must carry its attester"));
      }
    }
    return absl::OkStatus();
  }
  if (batch.attester.empty()) return absl::OkStatus();
  for (size_t i = 0; i < batch.events.size(); ++i) {
    domain::Event& event = batch.events[i];
    LODESTONE_RETURN_IF_ERROR(CheckAttester(i, event.event_id, event.attested_by, batch.attester));
    event.attested_by = batch.attester;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Ledger::VerifySignatures(const AppendBatch& batch) const {
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const domain::Event& event = batch.events[i];
    if (event.signature.empty()) continue;
    const std::string& party = event.attested_by;
    const std::string& key_id = event.signature.key_id;
    // The key: registered earlier in this batch, or committed. Key ids are never reused, so the
    // key found here is the one the write model checks (active, the attester's) at commit.
    std::optional<std::string> public_key;
    for (size_t j = 0; j < i && !public_key.has_value(); ++j) {
      const auto* k = std::get_if<domain::SigningKeyRegistered>(&batch.events[j].payload);
      if (k != nullptr && k->party_id == party && k->key_id == key_id) public_key = k->public_key;
    }
    if (!public_key.has_value()) {
      auto value = log_->GetState(TxnStateStore::SigningKeyStateKey(party, key_id));
      if (!value.ok()) return value.status();
      auto key = TxnStateStore::DecodeSigningKey(*value);
      if (!key.ok()) return key.status();
      if (key->has_value()) public_key = (*key)->public_key;
    }
    auto deny = [&](std::string_view why) {
      return domain::Reject(Rejection::kPermissionDenied,
                            absl::StrCat("events[", i, "]: event '", event.event_id,
                                         "': ", std::string(why), " (rule: signature)"));
    };
    if (!public_key.has_value()) {
      return deny(absl::StrCat("signing key '", key_id, "' is not a key of '", party, "'"));
    }
    if (!crypto::VerifySignature(*public_key, codec::SignedMessage(event),
                                 event.signature.signature)) {
      return deny(absl::StrCat("the signature does not verify under key '", key_id, "' of '", party,
                               "' (it signs the event's canonical bytes without the signature, "
                               "attested_by included)"));
    }
  }
  return absl::OkStatus();
}

void Ledger::Append(AppendBatch batch, DoneFn done) {
  if (auto status = Attest(batch); !status.ok()) {
    if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch.events.size());
    done(status);
    return;
  }
  auto pending = std::make_shared<PendingBatch>();
  pending->payloads.reserve(batch.events.size());
  for (const auto& event : batch.events) {
    pending->payloads.push_back(codec::CanonicalEventBytes(event));
  }
  const size_t batch_events = batch.events.size();
  if (auto status = CheckBatchShape(batch, pending->payloads, options_); !status.ok()) {
    if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch_events);
    done(status);
    return;
  }
  for (size_t i = 0; i < batch.events.size(); ++i) {
    if (auto status = domain::ValidateEvent(batch.events[i]); !status.ok()) {
      status = WithEventContext(status, i);
      if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch_events);
      done(status);
      return;
    }
  }
  // The cryptography runs here, on the caller's thread, not on the committer's.
  if (auto status = VerifySignatures(batch); !status.ok()) {
    if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch_events);
    done(status);
    return;
  }
  pending->batch = std::move(batch);
  auto stage = [this, pending](storage::Txn& txn) {
    return Stage(txn, *pending, options_.max_future_skew, options_.authority);
  };
  auto on_done = [this, pending, done, batch_events](absl::Status status) {
    if (!status.ok()) {
      if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch_events);
      done(status);
      return;
    }
    pending->outcome.log_size = log_->GetHead().size;
    if (observer_ != nullptr) observer_->OnAppendDone(status, &pending->outcome, batch_events);
    done(std::move(pending->outcome));
  };
  if (auto status = committer_->Submit(std::move(stage), on_done); !status.ok()) {
    if (status.code() == absl::StatusCode::kResourceExhausted) {
      status = domain::Reject(Rejection::kOverloaded, std::string(status.message()));
    }
    if (observer_ != nullptr) observer_->OnAppendDone(status, nullptr, batch_events);
    done(status);
  }
}

void Ledger::ApplyCommitted(CommittedBatch batch, std::function<void(absl::Status)> done) {
  auto shared = std::make_shared<CommittedBatch>(std::move(batch));
  const absl::Time commit_time = shared->commit_time;
  auto status = committer_->SubmitAt(
      commit_time, [this, shared](storage::Txn& txn) { return StageCommitted(txn, *shared); },
      [done](absl::Status status) { done(std::move(status)); });
  if (!status.ok()) done(status);
}

absl::Status Ledger::ApplyCommittedAndWait(CommittedBatch batch) {
  std::promise<absl::Status> promise;
  auto future = promise.get_future();
  ApplyCommitted(std::move(batch),
                 [&promise](absl::Status status) { promise.set_value(std::move(status)); });
  return future.get();
}

absl::StatusOr<AppendOutcome> Ledger::AppendAndWait(AppendBatch batch) {
  std::promise<absl::StatusOr<AppendOutcome>> promise;
  auto future = promise.get_future();
  Append(std::move(batch), [&promise](absl::StatusOr<AppendOutcome> outcome) {
    promise.set_value(std::move(outcome));
  });
  return future.get();
}

}  // namespace lodestone::ledger
