// The provenance projector: folds ledger events, in log order, into the views. Deterministic:
// no clock, randomness or I/O beyond the view store. Each Commit writes the view updates and the
// checkpoint (the number of events folded) in one atomic batch, so a restart resumes exactly.
#ifndef LODESTONE_SERVICES_PROVENANCE_PROJECTOR_H_
#define LODESTONE_SERVICES_PROVENANCE_PROJECTOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lodestone/v1/ledger.pb.h"
#include "lodestone/v1/views.pb.h"
#include "services/domain/origin.h"
#include "services/provenance/view_store.h"

namespace lodestone::provenance {

// Evaluates shipment-level rules when a shipment is dispatched (as of its event time) and
// returns the flags to keep on it. Injected so that the projector does not depend on how rules
// are chosen; must be deterministic.
using ShipmentFlagger =
    std::function<std::vector<v1::Flag>(ViewStore& views, const v1::views::ShipmentView&)>;

struct ProjectorStats {
  uint64_t events_applied = 0;
  uint64_t lots_recomputed = 0;
  uint64_t flags_raised = 0;
  std::map<std::string, uint64_t> flags_raised_by_rule_set;
};

class Projector {
 public:
  explicit Projector(ViewStore& views, ShipmentFlagger flagger = nullptr);

  // Reads the checkpoint.
  absl::Status Open();
  // Events folded so far, including those not yet committed.
  uint64_t next_position() const { return next_position_; }
  // Folds one event; its position must be next_position() (FAILED_PRECONDITION otherwise).
  // An error means the views cannot follow the ledger (corrupt data): stop, do not skip.
  absl::Status Apply(const v1::StoredEvent& stored);
  // Writes the pending view updates with the checkpoint.
  absl::Status Commit();
  size_t pending_bytes() const { return views_.pending_bytes(); }
  const ProjectorStats& stats() const { return stats_; }

 private:
  absl::Status ApplyPayload(const v1::StoredEvent& stored);
  absl::Status OnLotCreated(const std::string& lot_id, const v1::Event& event, uint64_t position,
                            v1::views::LotView lot);
  absl::Status OnTransformed(const v1::Event& event, uint64_t position);
  absl::Status OnDispatched(const v1::StoredEvent& stored);
  absl::Status OnArrived(const v1::StoredEvent& stored);
  absl::Status OnRetracted(const v1::Event& event, uint64_t position);

  // Recomputes the profiles of `seeds` and of every lot downstream of them, each after all of
  // its parents (the earliest created first among those ready), and re-evaluates the flags of
  // shipments carrying them.
  absl::Status Recompute(const std::vector<std::string>& seeds);
  absl::Status RecomputeLot(const std::string& lot_id, v1::views::LotView& lot);
  absl::Status ReevaluateShipment(const std::string& shipment_id);

  ViewStore& views_;
  ShipmentFlagger flagger_;
  uint64_t next_position_ = 0;
  ProjectorStats stats_;
};

// Helpers shared with the query layer.
absl::StatusOr<domain::FacilityInfo> LoadFacilityInfo(const ViewStore& views,
                                                      const std::string& facility_id);
// The lot's profile as it was just before ledger position `position` (its base profile plus the
// arrivals before that position).
absl::StatusOr<domain::OriginProfile> ProfileAt(const ViewStore& views,
                                                const v1::views::LotView& lot, uint64_t position);
// The profiles of a transformation's outputs (in output order), from its inputs' profiles as
// they were when it happened.
// `loaded_inputs`, when given, are the input lots' views in input order (already read).
absl::StatusOr<std::vector<domain::OriginProfile>> TransformationOutputs(
    const ViewStore& views, const v1::views::TransformationView& transformation,
    const std::vector<v1::views::LotView>* loaded_inputs = nullptr);

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_PROJECTOR_H_
