#include "services/provenance/view_store.h"

namespace lodestone::provenance {
namespace keys {
namespace {

std::string Join(std::string_view prefix, std::string_view id) {
  std::string key;
  key.reserve(prefix.size() + id.size());
  key.append(prefix).append(id);
  return key;
}

}  // namespace

std::string Party(std::string_view id) { return Join("P/", id); }
std::string Facility(std::string_view id) { return Join("F/", id); }
std::string Licence(std::string_view id) { return Join("C/", id); }
std::string Lot(std::string_view id) { return Join("L/", id); }
std::string Transformation(std::string_view id) { return Join("T/", id); }
std::string Shipment(std::string_view id) { return Join("S/", id); }
std::string Event(std::string_view event_id) { return Join("E/", event_id); }
std::string Auditor(std::string_view party_id) { return Join("A/", party_id); }

std::string DownstreamPrefix(std::string_view lot_id) {
  std::string key = Join("D/", lot_id);
  key.push_back('\0');
  return key;
}

std::string Downstream(std::string_view lot_id, char kind, std::string_view id) {
  std::string key = DownstreamPrefix(lot_id);
  key.push_back(kind);
  key.append(id);
  return key;
}

std::string BigEndian64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

uint64_t ParseBigEndian64(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

// Times are stored offset by 2^63 so that negative (pre-1970) times still sort.
std::string Flag(int64_t micros, uint64_t position, std::string_view rule_set,
                 std::string_view rule_id) {
  std::string key(kFlagPrefix);
  key += BigEndian64(static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63));
  key += BigEndian64(position);
  key.append(rule_set).push_back('\0');
  key.append(rule_id);
  return key;
}

std::string ReceiptPrefix(std::string_view party_id) {
  std::string key = Join("R/", party_id);
  key.push_back('\0');
  return key;
}

std::string Receipt(std::string_view party_id, int64_t micros, uint64_t position,
                    std::string_view lot_id) {
  std::string key = ReceiptPrefix(party_id);
  key += BigEndian64(static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63));
  key += BigEndian64(position);
  key.append(lot_id);
  return key;
}

}  // namespace keys

absl::StatusOr<std::optional<std::string>> ViewStore::GetRaw(std::string_view key) const {
  if (auto it = overlay_.find(absl::string_view(key.data(), key.size())); it != overlay_.end()) {
    return it->second;
  }
  return store_.Get(key);
}

absl::StatusOr<std::optional<v1::views::FacilityView>> ViewStore::GetFacility(
    std::string_view id) const {
  if (cache_facilities_) {
    if (auto it = facility_cache_.find(absl::string_view(id.data(), id.size()));
        it != facility_cache_.end()) {
      return std::optional<v1::views::FacilityView>(it->second);
    }
  }
  auto facility = Get<v1::views::FacilityView>(keys::Facility(id));
  if (!facility.ok() || !facility->has_value() || !cache_facilities_) return facility;
  if (facility_cache_.size() >= kMaxCachedFacilities) facility_cache_.clear();
  facility_cache_.emplace(std::string(id), **facility);
  return facility;
}

void ViewStore::PutRaw(std::string_view key, std::string value) {
  if (cache_facilities_ && key.starts_with("F/")) {
    facility_cache_.erase(absl::string_view(key.data() + 2, key.size() - 2));
  }
  overlay_bytes_ += key.size() + value.size();
  overlay_.insert_or_assign(std::string(key), std::move(value));
}

void ViewStore::DeleteRaw(std::string_view key) {
  if (cache_facilities_ && key.starts_with("F/")) {
    facility_cache_.erase(absl::string_view(key.data() + 2, key.size() - 2));
  }
  overlay_bytes_ += key.size();
  overlay_.insert_or_assign(std::string(key), std::nullopt);
}

absl::StatusOr<std::vector<std::string>> ViewStore::Keys(std::string_view prefix,
                                                         size_t max_keys) const {
  auto committed = store_.Scan(prefix, "", max_keys, size_t{64} << 20);
  if (!committed.ok()) return committed.status();
  std::map<std::string, bool, std::less<>> merged;  // key -> present
  for (auto& [key, value] : *committed) merged.emplace(std::move(key), true);
  for (const auto& [key, value] : overlay_) {  // the overlay is one batch: a linear pass
    if (std::string_view(key).starts_with(prefix)) merged.insert_or_assign(key, value.has_value());
  }
  std::vector<std::string> out;
  for (auto& [key, present] : merged) {
    if (!present) continue;
    if (out.size() >= max_keys) break;
    out.push_back(key);
  }
  return out;
}

absl::Status ViewStore::Commit(uint64_t checkpoint) {
  storage::KvBatch batch;
  for (const auto& [key, value] : overlay_) {
    if (value.has_value()) {
      batch.Put(key, *value);
    } else {
      batch.Delete(key);
    }
  }
  batch.Put(keys::kCheckpoint, keys::BigEndian64(checkpoint));
  batch.Put(keys::kFormat, keys::BigEndian64(kViewFormatVersion));
  if (auto status = store_.Write(batch); !status.ok()) return status;
  overlay_.clear();
  overlay_bytes_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ViewStore::ReadCheckpoint() const {
  auto format = store_.Get(keys::kFormat);
  if (!format.ok()) return format.status();
  if (format->has_value() && keys::ParseBigEndian64(**format) != kViewFormatVersion) {
    return absl::FailedPreconditionError(
        "provenance views have another format version: rebuild them");
  }
  auto value = store_.Get(keys::kCheckpoint);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return 0;
  return keys::ParseBigEndian64(**value);
}

}  // namespace lodestone::provenance
