// The write model kept in the log's state key space, written in the same atomic batch as the
// events it follows from. States are encoded as lodestone.v1.internal messages.
#ifndef LODESTONE_SERVICES_LEDGER_TXN_STATE_STORE_H_
#define LODESTONE_SERVICES_LEDGER_TXN_STATE_STORE_H_

#include <optional>
#include <string>
#include <string_view>

#include "services/domain/state_store.h"
#include "storage/log.h"

namespace lodestone::ledger {

class TxnStateStore final : public domain::StateStore {
 public:
  explicit TxnStateStore(storage::Txn& txn) : txn_(txn) {}

  // The state key of a held role (present = held), for reads of committed state.
  static std::string RoleStateKey(std::string_view party_id, domain::Role role,
                                  std::string_view scope);

  // The state key of a party's signing key, and its decoding, for reads of committed state.
  static std::string SigningKeyStateKey(std::string_view party_id, std::string_view key_id);
  static absl::StatusOr<std::optional<domain::SigningKeyState>> DecodeSigningKey(
      const std::optional<std::string>& value);

  // The state key of a facility and its operator (empty when absent), for committed reads.
  static std::string FacilityStateKey(std::string_view id);
  static absl::StatusOr<std::string> DecodeFacilityOperator(
      const std::optional<std::string>& value);

  absl::StatusOr<std::optional<domain::PartyState>> GetParty(std::string_view id) override;
  absl::Status PutParty(std::string_view id, const domain::PartyState& state) override;
  absl::StatusOr<std::optional<domain::FacilityState>> GetFacility(std::string_view id) override;
  absl::Status PutFacility(std::string_view id, const domain::FacilityState& state) override;
  absl::StatusOr<std::optional<domain::LotState>> GetLot(std::string_view id) override;
  absl::Status PutLot(std::string_view id, const domain::LotState& state) override;
  absl::StatusOr<std::optional<domain::ShipmentState>> GetShipment(std::string_view id) override;
  absl::Status PutShipment(std::string_view id, const domain::ShipmentState& state) override;
  absl::StatusOr<std::optional<domain::LicenceState>> GetLicence(std::string_view id) override;
  absl::Status PutLicence(std::string_view id, const domain::LicenceState& state) override;
  absl::StatusOr<std::optional<std::string>> GetTransformation(std::string_view id) override;
  absl::Status PutTransformation(std::string_view id, std::string_view event_id) override;
  absl::StatusOr<bool> HasRole(std::string_view party_id, domain::Role role,
                               std::string_view scope) override;
  absl::Status PutRole(std::string_view party_id, domain::Role role, std::string_view scope,
                       bool held) override;
  absl::StatusOr<std::optional<domain::SigningKeyState>> GetSigningKey(
      std::string_view party_id, std::string_view key_id) override;
  absl::Status PutSigningKey(std::string_view party_id, std::string_view key_id,
                             const domain::SigningKeyState& state) override;
  absl::StatusOr<std::optional<domain::Event>> FindEvent(std::string_view event_id) override;
  absl::StatusOr<bool> IsRetracted(std::string_view event_id) override;
  absl::Status MarkRetracted(std::string_view event_id) override;

 private:
  storage::Txn& txn_;
};

}  // namespace lodestone::ledger

#endif  // LODESTONE_SERVICES_LEDGER_TXN_STATE_STORE_H_
