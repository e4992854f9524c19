// The canonical leaf bytes of a log record (FORMAT.md, "Leaf bytes, hashes and the chain"): what
// its Merkle leaf hash covers. Here, apart from the RocksDB log, so that clients verifying proofs
// (lodectl) can read a proven leaf without linking the storage engine.
#ifndef LODESTONE_STORAGE_LEAF_H_
#define LODESTONE_STORAGE_LEAF_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/log.h"

namespace lodestone::storage {

// First byte of the leaf bytes: their format.
inline constexpr uint8_t kLeafTag = 1;

std::string EncodeLeafData(uint64_t position, int64_t commit_micros, uint64_t stream_version,
                           std::string_view event_id, std::string_view subject,
                           std::string_view payload);
inline std::string EncodeLeafData(const Record& record) {
  return EncodeLeafData(record.position, absl::ToUnixMicros(record.commit_time),
                        record.stream_version, record.event_id, record.subject, record.payload);
}

// The record a leaf's bytes encode (its chain stays zero: a leaf does not hold it), for clients
// that check a proof's leaf and then read what it says. DATA_LOSS unless `leaf` is exactly one
// well-formed leaf within the input limits (kMaxIdBytes, kMaxPayloadBytes).
absl::StatusOr<Record> DecodeLeafData(std::string_view leaf);

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_LEAF_H_
