#include "storage/leaf.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/base/coding.h"

namespace lodestone::storage {

std::string EncodeLeafData(uint64_t position, int64_t commit_micros, uint64_t stream_version,
                           std::string_view event_id, std::string_view subject,
                           std::string_view payload) {
  std::string out;
  out.reserve(1 + 3 * 8 + 3 * 4 + event_id.size() + subject.size() + payload.size());
  out.push_back(static_cast<char>(kLeafTag));
  coding::PutBigEndian64(out, position);
  coding::PutBigEndian64(out, static_cast<uint64_t>(commit_micros));
  coding::PutBigEndian64(out, stream_version);
  for (std::string_view field : {event_id, subject, payload}) {
    coding::PutBigEndian32(out, static_cast<uint32_t>(field.size()));
    out.append(field);
  }
  return out;
}

absl::StatusOr<Record> DecodeLeafData(std::string_view leaf) {
  auto bad = [](std::string_view why) {
    return absl::DataLossError(absl::StrCat("leaf bytes: ", std::string(why)));
  };
  if (leaf.size() < 1 + 3 * 8) return bad("too short");
  if (static_cast<uint8_t>(leaf[0]) != kLeafTag) {
    return bad(absl::StrCat("unknown leaf format ", static_cast<uint8_t>(leaf[0])));
  }
  Record record;
  record.position = coding::DecodeBigEndian64(leaf.substr(1, 8));
  record.commit_time =
      absl::FromUnixMicros(static_cast<int64_t>(coding::DecodeBigEndian64(leaf.substr(9, 8))));
  record.stream_version = coding::DecodeBigEndian64(leaf.substr(17, 8));
  std::string_view in = leaf.substr(25);
  std::string* fields[] = {&record.event_id, &record.subject, &record.payload};
  const size_t limits[] = {kMaxIdBytes, kMaxIdBytes, kMaxPayloadBytes};
  for (size_t i = 0; i < 3; ++i) {
    if (in.size() < 4) return bad("truncated length");
    const uint32_t size = coding::DecodeBigEndian32(in.substr(0, 4));
    in.remove_prefix(4);
    if (size > limits[i] || size > in.size()) return bad("field longer than its limit or the leaf");
    fields[i]->assign(in.substr(0, size));
    in.remove_prefix(size);
  }
  if (!in.empty()) return bad("trailing bytes");
  return record;
}

}  // namespace lodestone::storage
