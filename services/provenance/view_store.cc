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

bool IsVersioned(std::string_view key) {
  return !key.starts_with("meta/") && !key.starts_with("E/") && !key.starts_with("X/") &&
         !key.starts_with(kVersionPrefix);
}

std::string VersionPrefix(std::string_view key) {
  std::string out(kVersionPrefix);
  out.append(key).push_back('\0');
  return out;
}

std::string Version(std::string_view key, uint64_t position) {
  return VersionPrefix(key) + BigEndian64(~position);
}

std::string PositionEvent(uint64_t position) { return "X/" + BigEndian64(position); }

}  // namespace keys

namespace {

constexpr size_t kVersionSuffix = 9;  // 0x00 BE64(~position)

// The value of a version record: nullopt for a deletion.
std::optional<std::string> VersionValue(std::string_view record) {
  if (record.empty() || record[0] != 'P') return std::nullopt;
  return std::string(record.substr(1));
}

}  // namespace

ViewStore ViewStore::AtPosition(uint64_t events) const {
  ViewStore at(store_);
  at.at_position_ = events;
  return at;
}

absl::StatusOr<std::vector<uint64_t>> ViewStore::VersionPositions(std::string_view key,
                                                                  uint64_t before_events,
                                                                  size_t max_versions) const {
  std::vector<uint64_t> out;
  if (before_events == 0) return out;
  const std::string prefix = keys::VersionPrefix(key);
  auto entries =
      store_.Scan(prefix, keys::Version(key, before_events - 1), max_versions, size_t{16} << 20);
  if (!entries.ok()) return entries.status();
  for (const auto& [version, unused] : *entries) {
    if (version.size() != prefix.size() + 8) continue;
    out.push_back(~keys::ParseBigEndian64(std::string_view(version).substr(prefix.size())));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ViewStore::ScanCommitted(
    std::string_view prefix, std::string_view from, size_t max_entries, bool* cut_short) const {
  if (cut_short != nullptr) *cut_short = false;
  if (at_position_ == 0) {
    auto entries = store_.Scan(prefix, from, max_entries, size_t{16} << 20);
    if (entries.ok() && cut_short != nullptr) *cut_short = entries->size() >= max_entries;
    return entries;
  }
  // Versions of each key, newest first: the first one below the position is the value there.
  const std::string vprefix = std::string(keys::kVersionPrefix).append(prefix);
  std::string next = std::string(keys::kVersionPrefix).append(from.empty() ? prefix : from);
  const uint64_t newest = ~(at_position_ - 1);  // the suffix of the newest visible version
  std::vector<std::pair<std::string, std::string>> out;
  std::string current;  // the key whose visible version was found (or skipped) last
  bool have_current = false;
  size_t walked = 0;
  constexpr size_t kChunk = 512;
  while (out.size() < max_entries) {
    if (walked >= kMaxScanVersions) {
      if (cut_short != nullptr) *cut_short = true;
      return out;
    }
    auto chunk = store_.Scan(vprefix, next, kChunk, size_t{16} << 20);
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) return out;
    for (auto& [version, record] : *chunk) {
      ++walked;
      if (version.size() < keys::kVersionPrefix.size() + kVersionSuffix) continue;
      std::string_view key(version);
      key = key.substr(keys::kVersionPrefix.size(),
                       version.size() - keys::kVersionPrefix.size() - kVersionSuffix);
      const uint64_t suffix =
          keys::ParseBigEndian64(std::string_view(version).substr(version.size() - 8));
      if (have_current && key == current) continue;  // an older version of a key already seen
      if (suffix < newest) continue;                 // written after the position
      current.assign(key);
      have_current = true;
      if (auto value = VersionValue(record); value.has_value()) {
        out.emplace_back(current, *std::move(value));
        if (out.size() >= max_entries) break;
      }
    }
    if (out.size() >= max_entries) {
      if (cut_short != nullptr) *cut_short = true;
      return out;
    }
    next = chunk->back().first;
    next.push_back('\0');
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> ViewStore::GetRaw(std::string_view key) const {
  if (at_position_ != 0) {
    // One seek: the newest version written before the position.
    auto entries = store_.Scan(keys::VersionPrefix(key), keys::Version(key, at_position_ - 1), 1,
                               size_t{1} << 30);
    if (!entries.ok()) return entries.status();
    if (entries->empty() ||
        (*entries)[0].first.size() != key.size() + keys::kVersionPrefix.size() + kVersionSuffix) {
      return std::optional<std::string>();
    }
    return VersionValue((*entries)[0].second);
  }
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
  if (keys::IsVersioned(key)) {
    overlay_bytes_ += key.size() + value.size() + 12;
    std::string record;
    record.reserve(value.size() + 1);
    record.push_back('P');
    record.append(value);
    versions_.insert_or_assign(keys::Version(key, write_position_), std::move(record));
  }
  overlay_.insert_or_assign(std::string(key), std::move(value));
}

void ViewStore::DeleteRaw(std::string_view key) {
  if (cache_facilities_ && key.starts_with("F/")) {
    facility_cache_.erase(absl::string_view(key.data() + 2, key.size() - 2));
  }
  overlay_bytes_ += key.size();
  if (keys::IsVersioned(key)) {
    overlay_bytes_ += key.size() + 12;
    versions_.insert_or_assign(keys::Version(key, write_position_), "D");
  }
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
  for (const auto& [key, record] : versions_) batch.Put(key, record);
  batch.Put(keys::kCheckpoint, keys::BigEndian64(checkpoint));
  batch.Put(keys::kFormat, keys::BigEndian64(kViewFormatVersion));
  if (auto status = store_.Write(batch); !status.ok()) return status;
  overlay_.clear();
  versions_.clear();
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
