// A log record as the wire's StoredEvent: what the ledger serves and what the read side and
// peers consume, in one place.
#ifndef LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_
#define LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
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

// Fills `out` from a storage record: position, stream version, commit time, the event parsed
// from the payload, chain hash, and `late` (domain::IsLate with `late_after`). DATA_LOSS if the
// payload does not parse.
absl::Status RecordToProto(const storage::Record& record, v1::StoredEvent* out,
                           absl::Duration late_after = domain::kDefaultLateAfter);

}  // namespace lodestone::codec

#endif  // LODESTONE_SERVICES_CODEC_RECORD_CODEC_H_
