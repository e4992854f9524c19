#include "storage/format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/base/coding.h"
#include "storage/crc32c.h"
#include "storage/merkle.h"

namespace lodestone::storage::format {
namespace {

void AppendHash(std::string& out, const Hash& hash) {
  out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
}

Hash ReadHash(std::string_view bytes) {
  Hash hash{};
  std::copy_n(bytes.data(), hash.size(), reinterpret_cast<char*>(hash.data()));
  return hash;
}

absl::Status CorruptRecord(uint64_t position, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("record at position ", position, ": ", what));
}

}  // namespace

std::string EncodeFormatVersion(uint32_t version) {
  std::string out;
  coding::PutBigEndian32(out, version);
  return out;
}

absl::StatusOr<uint32_t> DecodeFormatVersion(std::string_view value) {
  if (value.size() != 4) {
    return absl::FailedPreconditionError(
        absl::StrCat("format version value has ", value.size(), " bytes, want 4"));
  }
  return coding::DecodeBigEndian32(value);
}

std::string LogKey(uint64_t position) { return coding::BigEndian64(position); }

absl::StatusOr<uint64_t> DecodeLogKey(std::string_view key) {
  if (key.size() != 8) {
    return absl::DataLossError(absl::StrCat("log key of ", key.size(), " bytes, want 8"));
  }
  return coding::DecodeBigEndian64(key);
}

std::string StreamPrefix(std::string_view subject) {
  std::string key;
  key.reserve(1 + subject.size() + 8);
  key.push_back(static_cast<char>(subject.size()));
  key.append(subject);
  return key;
}

std::string StreamKey(std::string_view subject, uint64_t version) {
  std::string key = StreamPrefix(subject);
  coding::PutBigEndian64(key, version);
  return key;
}

std::string EncodeStreamHead(uint64_t version) {
  std::string value;
  coding::PutBigEndian64(value, version);
  return value;
}

absl::StatusOr<uint64_t> DecodeStreamHead(std::string_view value) {
  if (value.size() != 8) {
    return absl::DataLossError(absl::StrCat("stream head of ", value.size(), " bytes, want 8"));
  }
  return coding::DecodeBigEndian64(value);
}

std::string MerkleKey(int level, uint64_t index) {
  std::string key;
  key.reserve(9);
  key.push_back(static_cast<char>(level));
  coding::PutBigEndian64(key, index);
  return key;
}

std::string EncodePosition(uint64_t position) {
  std::string out;
  coding::PutVarint64(out, position);
  return out;
}

absl::StatusOr<uint64_t> DecodePosition(std::string_view value) {
  uint64_t position = 0;
  if (!coding::GetVarint64(value, position) || !value.empty()) {
    return absl::DataLossError("malformed position in index value");
  }
  return position;
}

std::string IdKey(std::string_view event_id) {
  const Hash hash = merkle::Sha256().Update(event_id).Finish();
  return std::string(reinterpret_cast<const char*>(hash.data()), kIdKeyBytes);
}

std::string EncodePositions(const std::vector<uint64_t>& positions) {
  std::string out;
  for (uint64_t position : positions) coding::PutVarint64(out, position);
  return out;
}

absl::StatusOr<std::vector<uint64_t>> DecodePositions(std::string_view value) {
  std::vector<uint64_t> positions;
  while (!value.empty()) {
    uint64_t position = 0;
    if (!coding::GetVarint64(value, position) ||
        (!positions.empty() && position <= positions.back())) {
      return absl::DataLossError("malformed position list in event id index");
    }
    positions.push_back(position);
  }
  if (positions.empty()) return absl::DataLossError("empty position list in event id index");
  return positions;
}

absl::Status ValidateInput(const RecordInput& input) {
  if (input.event_id.empty() || input.event_id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event id must have 1..", kMaxIdBytes, " bytes, has ", input.event_id.size()));
  }
  if (input.subject.empty() || input.subject.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject must have 1..", kMaxIdBytes, " bytes, has ", input.subject.size()));
  }
  if (input.payload.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("payload must have at most ", kMaxPayloadBytes,
                                                   " bytes, has ", input.payload.size()));
  }
  return absl::OkStatus();
}

std::string EncodeRecordValue(uint64_t position, int64_t commit_micros, uint64_t stream_version,
                              std::string_view event_id, std::string_view subject,
                              std::string_view payload, const Hash& chain) {
  std::string out;
  out.reserve(1 + 10 + 10 + 3 * 3 + event_id.size() + subject.size() + payload.size() +
              kRecordTrailerBytes);
  out.push_back(static_cast<char>(kRecordTag));
  coding::PutVarint64(out, static_cast<uint64_t>(commit_micros));
  coding::PutVarint64(out, stream_version);
  coding::PutLengthPrefixed(out, event_id);
  coding::PutLengthPrefixed(out, subject);
  coding::PutLengthPrefixed(out, payload);
  AppendHash(out, chain);
  const uint32_t crc = crc32c::Extend(crc32c::Value(LogKey(position)), out);
  coding::PutFixed32LittleEndian(out, crc);
  return out;
}

absl::StatusOr<Record> DecodeRecordValue(uint64_t position, std::string_view value) {
  if (value.size() < 1 + kRecordTrailerBytes) return CorruptRecord(position, "value too short");
  const std::string_view body = value.substr(0, value.size() - 4);
  const uint32_t stored_crc = coding::DecodeFixed32LittleEndian(value.substr(value.size() - 4));
  if (crc32c::Extend(crc32c::Value(LogKey(position)), body) != stored_crc) {
    return CorruptRecord(position, "checksum mismatch");
  }
  if (static_cast<uint8_t>(body[0]) != kRecordTag) {
    return CorruptRecord(position,
                         absl::StrCat("unknown record tag ", static_cast<uint8_t>(body[0])));
  }
  std::string_view in = body.substr(1, body.size() - 1 - 32);
  uint64_t micros = 0;
  Record record;
  std::string_view event_id, subject, payload;
  if (!coding::GetVarint64(in, micros) || !coding::GetVarint64(in, record.stream_version) ||
      !coding::GetLengthPrefixed(in, kMaxIdBytes, event_id) ||
      !coding::GetLengthPrefixed(in, kMaxIdBytes, subject) ||
      !coding::GetLengthPrefixed(in, kMaxPayloadBytes, payload) || !in.empty()) {
    return CorruptRecord(position, "malformed fields");
  }
  record.position = position;
  record.commit_time = absl::FromUnixMicros(static_cast<int64_t>(micros));
  record.event_id = std::string(event_id);
  record.subject = std::string(subject);
  record.payload = std::string(payload);
  record.chain = ReadHash(body.substr(body.size() - 32));
  return record;
}

std::string EncodeHead(const StoredHead& head) {
  std::string out;
  out.push_back(static_cast<char>(kHeadTag));
  coding::PutVarint64(out, head.size);
  coding::PutVarint64(out, static_cast<uint64_t>(head.time_micros));
  AppendHash(out, head.root);
  AppendHash(out, head.chain);
  coding::PutFixed32LittleEndian(out, crc32c::Value(out));
  return out;
}

absl::StatusOr<StoredHead> DecodeHead(std::string_view value) {
  if (value.size() < 1 + 2 + 64 + 4) return absl::DataLossError("meta head too short");
  const std::string_view body = value.substr(0, value.size() - 4);
  if (crc32c::Value(body) != coding::DecodeFixed32LittleEndian(value.substr(value.size() - 4))) {
    return absl::DataLossError("meta head checksum mismatch");
  }
  if (static_cast<uint8_t>(body[0]) != kHeadTag) return absl::DataLossError("unknown head tag");
  std::string_view in = body.substr(1);
  StoredHead head;
  uint64_t micros = 0;
  if (!coding::GetVarint64(in, head.size) || !coding::GetVarint64(in, micros) || in.size() != 64) {
    return absl::DataLossError("malformed meta head");
  }
  head.time_micros = static_cast<int64_t>(micros);
  head.root = ReadHash(in.substr(0, 32));
  head.chain = ReadHash(in.substr(32, 32));
  return head;
}

}  // namespace lodestone::storage::format
