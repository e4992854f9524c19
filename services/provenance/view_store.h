// The provenance views over a KvStore: typed keys and values, and the write overlay the
// projector folds into before it commits a batch of updates together with its checkpoint.
#ifndef LODESTONE_SERVICES_PROVENANCE_VIEW_STORE_H_
#define LODESTONE_SERVICES_PROVENANCE_VIEW_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lodestone/v1/views.pb.h"
#include "storage/kv_store.h"

namespace lodestone::provenance {

// Key layout (all ids are [A-Za-z0-9._:/-], so 0x00 separates safely). Persisted: never change
// without bumping kViewFormatVersion (a different version makes the service rebuild).
namespace keys {
inline constexpr std::string_view kCheckpoint = "meta/checkpoint";
inline constexpr std::string_view kFormat = "meta/format";
std::string Party(std::string_view id);
std::string Facility(std::string_view id);
std::string Licence(std::string_view id);
std::string Lot(std::string_view id);
std::string Transformation(std::string_view id);
std::string Shipment(std::string_view id);
std::string Event(std::string_view event_id);
// A party holding the auditor role (value empty).
std::string Auditor(std::string_view party_id);
// Downstream edges of a lot: consumed by transformation ('t') or carried by shipment ('s').
std::string DownstreamPrefix(std::string_view lot_id);
std::string Downstream(std::string_view lot_id, char kind, std::string_view id);
// Flags by time: G/ BE64(event micros) BE64(position) rule_set 0x00 rule_id
inline constexpr std::string_view kFlagPrefix = "G/";
std::string Flag(int64_t micros, uint64_t position, std::string_view rule_set,
                 std::string_view rule_id);
// Receipts of a party: R/ party 0x00 BE64(micros) BE64(position) lot
std::string ReceiptPrefix(std::string_view party_id);
std::string Receipt(std::string_view party_id, int64_t micros, uint64_t position,
                    std::string_view lot_id);
std::string BigEndian64(uint64_t value);
uint64_t ParseBigEndian64(std::string_view bytes);
// Versions (docs/time-travel.md): V/ key 0x00 BE64(~position) -> 'P' value | 'D' (deleted), one
// per versioned key and ledger position that wrote it, newest first. Every key is versioned
// except meta/, E/ (the projector's event index) and X/.
inline constexpr std::string_view kVersionPrefix = "V/";
bool IsVersioned(std::string_view key);
std::string VersionPrefix(std::string_view key);
std::string Version(std::string_view key, uint64_t position);
// The event folded at a position: X/ BE64(position) -> PositionEntry.
std::string PositionEvent(uint64_t position);
}  // namespace keys

// 3: shipment flags list only ISO country codes (a two-letter lot id is not a country) and
// include the traced customs origin of the shipment's items.
// 4: flag times keep their microseconds (were whole seconds); licence validity is rounded
// inwards to whole microseconds (was truncated to seconds).
// 5: auditors (A/ keys); a shipment dispatched late keeps its commit time.
// 6: versioned views (V/ keys) and the position index (X/ keys), for answers at a position.
// 7: profiles keep value shares per stage (profile codec version 2), not by mining country only.
inline constexpr uint64_t kViewFormatVersion = 7;

// Reads see the overlay first. Commit writes the overlay and the checkpoint in one batch.
class ViewStore {
 public:
  // `cache_facilities`: keep decoded facility views in memory. Only for the projector's store,
  // the only writer (a query store's cache would go stale).
  explicit ViewStore(storage::KvStore& store, bool cache_facilities = false)
      : store_(store), cache_facilities_(cache_facilities) {}

  // A read-only store that answers as the views stood after the first `events` ledger events
  // (positions 0..events-1): every Get is one seek among the key's versions. `events` > 0.
  ViewStore AtPosition(uint64_t events) const;
  // 0 for the current views; otherwise the number of events this store answers after.
  uint64_t at_position() const { return at_position_; }

  // The projector: writes from now on belong to the event at `position` (each versioned key
  // written gets a version at that position; the last write in one event wins).
  void SetWritePosition(uint64_t position) { write_position_ = position; }

  // Positions (newest first) of the versions of `key` written before `before_events`, at most
  // `max_versions`.
  absl::StatusOr<std::vector<uint64_t>> VersionPositions(std::string_view key,
                                                         uint64_t before_events,
                                                         size_t max_versions) const;

  // The facility's view, through the cache when enabled; nullopt when unknown.
  absl::StatusOr<std::optional<v1::views::FacilityView>> GetFacility(std::string_view id) const;

  absl::StatusOr<std::optional<std::string>> GetRaw(std::string_view key) const;
  void PutRaw(std::string_view key, std::string value);
  void DeleteRaw(std::string_view key);

  template <typename Message>
  absl::StatusOr<std::optional<Message>> Get(std::string_view key) const {
    auto raw = GetRaw(key);
    if (!raw.ok()) return raw.status();
    if (!raw->has_value()) return std::optional<Message>();
    Message message;
    if (!message.ParseFromString(**raw)) {
      return absl::DataLossError("view value does not parse: " + std::string(key));
    }
    return std::optional<Message>(std::move(message));
  }
  template <typename Message>
  void Put(std::string_view key, const Message& message) {
    PutRaw(key, message.SerializeAsString());
  }

  // Committed keys under `prefix` merged with the overlay (overlay wins), in key order.
  absl::StatusOr<std::vector<std::string>> Keys(std::string_view prefix, size_t max_keys) const;

  // Committed entries only (queries run on a store with an empty overlay). At a position, the
  // scan walks at most kMaxScanVersions versions; `cut_short` (optional) is set when it stopped
  // before the end of the prefix because of that or of `max_entries`.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanCommitted(
      std::string_view prefix, std::string_view from, size_t max_entries,
      bool* cut_short = nullptr) const;
  static constexpr size_t kMaxScanVersions = 100000;

  absl::Status Commit(uint64_t checkpoint);
  size_t pending_writes() const { return overlay_.size(); }
  size_t pending_bytes() const { return overlay_bytes_; }

  // The committed checkpoint: the number of ledger events folded (0 for a new store).
  absl::StatusOr<uint64_t> ReadCheckpoint() const;

 private:
  static constexpr size_t kMaxCachedFacilities = 100000;  // then the cache starts over

  storage::KvStore& store_;
  const bool cache_facilities_;
  uint64_t at_position_ = 0;                                // reads: 0 = now
  uint64_t write_position_ = 0;                             // writes: the event being folded
  absl::flat_hash_map<std::string, std::string> versions_;  // version key -> 'P' value | 'D'

  mutable absl::flat_hash_map<std::string, v1::views::FacilityView> facility_cache_;
  absl::flat_hash_map<std::string, std::optional<std::string>> overlay_;  // nullopt: delete
  size_t overlay_bytes_ = 0;
};

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_VIEW_STORE_H_
