// A log record as the wire's StoredEvent: what the ledger serves and what the read side and
// peers consume, in one place.
#ifndef LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_
#define LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lodestone/v1/ledger.pb.h"
#include "services/domain/rules.h"
#include "storage/log.h"

namespace lodestone::codec {

// The 32 bytes of a SHA-256 hash as a string (the wire's bytes fields), and back: nullopt unless
// exactly 32 bytes.
std::string HashToBytes(const storage::Hash& hash);
std::optional<storage::Hash> HashFromBytes(std::string_view bytes);
// Every hash of a proof path; nullopt if any is not 32 bytes.
std::optional<std::vector<storage::Hash>> HashesFromBytes(
    const google::protobuf::RepeatedPtrField<std::string>& path);

// Fills `out` from a storage record: position, stream version, commit time, the stored bytes
// (`event_bytes`) and the event parsed from them, chain hash, and `late` (domain::IsLate with
// `late_after`). DATA_LOSS if the payload does not parse.
absl::Status RecordToProto(const storage::Record& record, v1::StoredEvent* out,
                           absl::Duration late_after = domain::kDefaultLateAfter);

// The bytes to hash for a served event: its `event_bytes`, exactly as the serving log holds
// them. Only from a ledger older than that field (empty `event_bytes`, during a rolling
// upgrade) the deterministic re-serialisation of `event`, kept in `scratch`: whatever is hashed,
// the caller checks it against a leaf hash, chain or root it trusts, so a re-serialisation that
// differs is refused (DATA_LOSS there), never accepted.
std::string_view StoredEventBytes(const v1::StoredEvent& stored, std::string* scratch);

// The Merkle leaf hash of a served event (storage/FORMAT.md), from its position, commit time,
// stream version, id, subject and `bytes` (StoredEventBytes). DATA_LOSS for a commit time
// outside the Timestamp range.
absl::StatusOr<storage::Hash> StoredEventLeafHash(const v1::StoredEvent& stored,
                                                  std::string_view bytes);

// For a reader of served events that hashes what it reads: replaces `stored.event` by the parse
// of `event_bytes` (when set), recomputes the leaf hash from those bytes and, when
// `previous_chain` (the chain value of the event before it; 32 zero bytes before position 0) is
// given, checks `chain_hash = H(previous_chain || leaf hash)`. Returns `chain_hash`. DATA_LOSS,
// naming the position, when the bytes do not parse, the chain hash is not 32 bytes or the link
// does not hold.
absl::StatusOr<storage::Hash> CheckStoredEvent(v1::StoredEvent& stored,
                                               const storage::Hash* previous_chain);

}  // namespace lodestone::codec

#endif  // LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_
