// Keys and values of the on-disk format, version 1 (FORMAT.md is the prose description; keep the
// two in step). Internal to storage/; tests use it to forge and corrupt values.
#ifndef LODESTONE_STORAGE_FORMAT_H_
#define LODESTONE_STORAGE_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/leaf.h"
#include "storage/log.h"

namespace lodestone::storage::format {

// Stored under kFormatVersionKey in the default column family as 4 bytes big-endian.
inline constexpr uint32_t kFormatVersion = 1;

// Column families.
inline constexpr char kMetaFamily[] = "default";
inline constexpr char kLogFamily[] = "log";
inline constexpr char kStreamsFamily[] = "streams";
inline constexpr char kIdsFamily[] = "ids";
inline constexpr char kMerkleFamily[] = "merkle";
inline constexpr char kStateFamily[] = "state";

// Keys of the default (meta) family.
inline constexpr char kFormatVersionKey[] = "format_version";
inline constexpr char kHeadKey[] = "head";

// First byte of a record value and of a meta head value (the leaf's: storage/leaf.h).
inline constexpr uint8_t kRecordTag = 1;
inline constexpr uint8_t kHeadTag = 1;

// Merkle subtrees of fewer than 2^kMinStoredLevel leaves are not stored: they are recomputed
// from the records (at most 2^kMinStoredLevel - 1 contiguous records).
inline constexpr int kMinStoredLevel = 4;

// Size of the fixed tail of a record value: chain hash + CRC-32C.
inline constexpr size_t kRecordTrailerBytes = 32 + 4;

std::string EncodeFormatVersion(uint32_t version);
// FAILED_PRECONDITION unless exactly 4 bytes.
absl::StatusOr<uint32_t> DecodeFormatVersion(std::string_view value);

// `log` family: 8-byte big-endian position.
std::string LogKey(uint64_t position);
absl::StatusOr<uint64_t> DecodeLogKey(std::string_view key);

// `streams` family: u8 subject length, subject, 8-byte big-endian stream version.
std::string StreamKey(std::string_view subject, uint64_t version);
std::string StreamPrefix(std::string_view subject);  // the key without the version
// The stream's head entry: the prefix alone, whose value is the current version (BE64).
inline std::string StreamHeadKey(std::string_view subject) { return StreamPrefix(subject); }
std::string EncodeStreamHead(uint64_t version);
absl::StatusOr<uint64_t> DecodeStreamHead(std::string_view value);

// `merkle` family: u8 level, 8-byte big-endian index.
std::string MerkleKey(int level, uint64_t index);

// `streams` values: varint position.
std::string EncodePosition(uint64_t position);
absl::StatusOr<uint64_t> DecodePosition(std::string_view value);

// `ids` family: the first 8 bytes of SHA-256(event id); the value lists the positions of every
// record whose event id has that key (almost always one), as ascending varints. Readers confirm
// the event id against the record itself.
inline constexpr size_t kIdKeyBytes = 8;
std::string IdKey(std::string_view event_id);
std::string EncodePositions(const std::vector<uint64_t>& positions);
absl::StatusOr<std::vector<uint64_t>> DecodePositions(std::string_view value);  // DATA_LOSS

// INVALID_ARGUMENT unless 1 <= |event id|, |subject| <= kMaxIdBytes and |payload| <=
// kMaxPayloadBytes.
absl::Status ValidateInput(const RecordInput& input);

// The canonical leaf bytes: storage/leaf.h (clients decode them without RocksDB).
using ::lodestone::storage::DecodeLeafData;
using ::lodestone::storage::EncodeLeafData;

// A record value. Its CRC-32C covers LogKey(position) followed by every value byte before the
// CRC, so a value copied under another key fails its check.
std::string EncodeRecordValue(uint64_t position, int64_t commit_micros, uint64_t stream_version,
                              std::string_view event_id, std::string_view subject,
                              std::string_view payload, const Hash& chain);
// DATA_LOSS naming `position` on any mismatch.
absl::StatusOr<Record> DecodeRecordValue(uint64_t position, std::string_view value);

// The meta head: what the last commit published, checked at Open.
struct StoredHead {
  uint64_t size = 0;
  int64_t time_micros = 0;
  Hash root{};
  Hash chain{};
};
std::string EncodeHead(const StoredHead& head);
absl::StatusOr<StoredHead> DecodeHead(std::string_view value);  // DATA_LOSS when malformed

}  // namespace lodestone::storage::format

#endif  // LODESTONE_STORAGE_FORMAT_H_
