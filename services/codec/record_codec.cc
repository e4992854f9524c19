#include "services/codec/record_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"

namespace lodestone::codec {

std::string HashToBytes(const storage::Hash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

std::optional<storage::Hash> HashFromBytes(std::string_view bytes) {
  storage::Hash hash;
  if (bytes.size() != hash.size()) return std::nullopt;
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(hash.data()));
  return hash;
}

std::optional<std::vector<storage::Hash>> HashesFromBytes(
    const google::protobuf::RepeatedPtrField<std::string>& path) {
  std::vector<storage::Hash> hashes;
  hashes.reserve(path.size());
  for (const std::string& bytes : path) {
    std::optional<storage::Hash> hash = HashFromBytes(bytes);
    if (!hash.has_value()) return std::nullopt;
    hashes.push_back(*hash);
  }
  return hashes;
}

absl::Status RecordToProto(const storage::Record& record, v1::StoredEvent* out,
                           absl::Duration late_after) {
  out->set_position(record.position);
  out->set_stream_version(record.stream_version);
  TimeToProto(record.commit_time, out->mutable_commit_time());
  if (!out->mutable_event()->ParseFromString(record.payload)) {
    return absl::DataLossError(
        absl::StrCat("event at position ", record.position, " does not parse"));
  }
  out->set_chain_hash(HashToBytes(record.chain));
  if (out->event().has_event_time()) {
    auto event_time = TimeFromProto(out->event().event_time());
    out->set_late(event_time.ok() && domain::IsLate(*event_time, record.commit_time, late_after));
  }
  return absl::OkStatus();
}

}  // namespace lodestone::codec
