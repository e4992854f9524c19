#include "services/codec/record_codec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"
#include "storage/leaf.h"
#include "storage/merkle.h"

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
  out->set_event_bytes(record.payload);
  out->set_chain_hash(HashToBytes(record.chain));
  if (out->event().has_event_time()) {
    auto event_time = TimeFromProto(out->event().event_time());
    out->set_late(event_time.ok() && domain::IsLate(*event_time, record.commit_time, late_after));
  }
  return absl::OkStatus();
}

std::string_view StoredEventBytes(const v1::StoredEvent& stored, std::string* scratch) {
  if (!stored.event_bytes().empty()) return stored.event_bytes();
  *scratch = DeterministicEventBytes(stored.event());
  return *scratch;
}

absl::StatusOr<storage::Hash> StoredEventLeafHash(const v1::StoredEvent& stored,
                                                  std::string_view bytes) {
  auto time = TimeFromProto(stored.commit_time());
  if (!time.ok()) {
    return absl::DataLossError(
        absl::StrCat("event at position ", stored.position(), " has a bad commit time"));
  }
  return storage::LeafHash(
      storage::EncodeLeafData(stored.position(), absl::ToUnixMicros(*time), stored.stream_version(),
                              stored.event().event_id(), stored.event().subject(), bytes));
}

absl::StatusOr<storage::Hash> CheckStoredEvent(v1::StoredEvent& stored,
                                               const storage::Hash* previous_chain) {
  auto fail = [&stored](const char* why) {
    return absl::DataLossError(absl::StrCat("event at position ", stored.position(), " ", why));
  };
  if (!stored.event_bytes().empty() &&
      !stored.mutable_event()->ParseFromString(stored.event_bytes())) {
    return fail("does not parse");
  }
  const std::optional<storage::Hash> chain = HashFromBytes(stored.chain_hash());
  if (!chain.has_value()) return fail("has no 32-byte chain hash");
  std::string scratch;
  auto leaf_hash = StoredEventLeafHash(stored, StoredEventBytes(stored, &scratch));
  if (!leaf_hash.ok()) return leaf_hash.status();
  if (previous_chain != nullptr &&
      storage::merkle::ChainHash(*previous_chain, *leaf_hash) != *chain) {
    return fail("does not chain to the event before it: its bytes are not those committed");
  }
  return *chain;
}

}  // namespace lodestone::codec
