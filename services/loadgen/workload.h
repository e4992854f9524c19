// Builders of valid wire events, shared by the load generator, the tests and the demo tools.
#ifndef LODESTONE_SERVICES_LOADGEN_WORKLOAD_H_
#define LODESTONE_SERVICES_LOADGEN_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lodestone/v1/events.pb.h"

namespace lodestone::loadgen {

// Event time used by generated events: fixed, so that generated data is deterministic.
inline constexpr int64_t kEventTimeSeconds = 1767225600;  // 2026-01-01T00:00:00Z

v1::Event PartyRegistered(const std::string& event_id, const std::string& party_id,
                          const std::string& country);
v1::Event FacilityRegistered(const std::string& event_id, const std::string& facility_id,
                             const std::string& party_id, const std::string& country,
                             v1::FacilityKind kind, const std::string& subdivision = "");
v1::Event LotExtracted(const std::string& event_id, const std::string& lot_id,
                       const std::string& facility_id, v1::Material material,
                       const std::string& hs_code, int64_t mass_g);
v1::Event LotRegistered(const std::string& event_id, const std::string& lot_id,
                        const std::string& facility_id, v1::Material material,
                        const std::string& hs_code, int64_t mass_g,
                        const std::string& origin_country = "");
struct Input {
  std::string lot_id;
  int64_t mass_g;
};
struct Output {
  std::string lot_id;
  v1::Material material;
  std::string hs_code;
  int64_t mass_g;
};
v1::Event LotTransformed(const std::string& event_id, const std::string& transformation_id,
                         const std::string& facility_id, v1::Process process,
                         const std::vector<Input>& inputs, const std::vector<Output>& outputs);
v1::Event ShipmentDispatched(const std::string& event_id, const std::string& shipment_id,
                             const std::vector<Input>& items, const std::string& from_facility,
                             const std::string& to_facility, const std::string& declared_origin,
                             const std::string& declared_hs_code);
v1::Event ShipmentArrived(const std::string& event_id, const std::string& shipment_id,
                          const std::string& facility_id);
v1::Event EventRetracted(const std::string& event_id, const std::string& subject,
                         const std::string& retracted_event_id);
// A role granted to `party_id` (country: licensing authorities; principal: delegates).
v1::Event RoleGranted(const std::string& event_id, const std::string& party_id, v1::Role role,
                      const std::string& country = "", const std::string& principal_party_id = "");
v1::Event RoleRevoked(const std::string& event_id, const std::string& party_id, v1::Role role,
                      const std::string& country = "", const std::string& principal_party_id = "");
// A party's Ed25519 public key (raw 32 bytes) under `key_id`, and its revocation.
v1::Event SigningKeyRegistered(const std::string& event_id, const std::string& party_id,
                               const std::string& key_id, const std::string& public_key);
v1::Event SigningKeyRevoked(const std::string& event_id, const std::string& party_id,
                            const std::string& key_id);

// The events that set up one mine for load: an operator party and a mine facility.
std::vector<v1::Event> MineSetup(const std::string& prefix, const std::string& country);

}  // namespace lodestone::loadgen

#endif  // LODESTONE_SERVICES_LOADGEN_WORKLOAD_H_
