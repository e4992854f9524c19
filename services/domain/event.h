// The Lodestone event model in plain C++: no protobuf, gRPC or RocksDB types.
// Enum values equal the wire enums in proto/lodestone/v1/events.proto; never renumber them.
#ifndef LODESTONE_SERVICES_DOMAIN_EVENT_H_
#define LODESTONE_SERVICES_DOMAIN_EVENT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace lodestone::domain {

// Mass in integer grams. Mass balance is always checked exactly.
using Grams = int64_t;

enum class Material : int {
  kUnspecified = 0,
  kAntimonyOre = 1,
  kAntimonyOxide = 2,
  kAntimonyMetal = 3,
  kRareEarthOre = 4,
  kRareEarthCompound = 5,
  kRareEarthMetal = 6,
  kNdfebAlloy = 7,
  kNdfebMagnet = 8,
  kGallium = 9,
  kGermanium = 10,
  kGermaniumOxide = 11,
  kTungsten = 12,
  kTantalum = 13,
  kGraphite = 14,
  kIron = 15,
  kBoron = 16,
  kScrap = 17,
  kOther = 18,
};
inline constexpr int kMaterialMax = 18;

enum class FacilityKind : int {
  kUnspecified = 0,
  kMine = 1,
  kSeparationPlant = 2,
  kRefinery = 3,
  kSmelter = 4,
  kMetalPlant = 5,
  kMagnetPlant = 6,
  kWarehouse = 7,
  kPort = 8,
  kRecycler = 9,
};
inline constexpr int kFacilityKindMax = 9;

enum class Process : int {
  kUnspecified = 0,
  kSeparation = 1,
  kRefining = 2,
  kSmelting = 3,
  kMetalMaking = 4,
  kAlloying = 5,
  kMagnetMaking = 6,
  kRecycling = 7,
  kRepackaging = 8,
  kBlending = 9,
  kSplitting = 10,
};
inline constexpr int kProcessMax = 10;

enum class RetractionReason : int {
  kUnspecified = 0,
  kDidNotOccur = 1,
  kIncorrectData = 2,
};
inline constexpr int kRetractionReasonMax = 2;

struct PartyRegistered {
  std::string party_id;
  std::string name;
  std::string country;          // ISO 3166-1 alpha-2
  std::string parent_party_id;  // empty: none
  friend bool operator==(const PartyRegistered&, const PartyRegistered&) = default;
};

struct FacilityRegistered {
  std::string facility_id;
  std::string operator_party_id;
  std::string country;
  std::string subdivision;  // optional ISO 3166-2 ("CN-XJ"); empty: not given
  FacilityKind kind = FacilityKind::kUnspecified;
  std::string name;
  friend bool operator==(const FacilityRegistered&, const FacilityRegistered&) = default;
};

struct LotExtracted {
  std::string lot_id;
  Material material = Material::kUnspecified;
  std::string hs_code;
  Grams mass_g = 0;
  std::string facility_id;  // a mine
  friend bool operator==(const LotExtracted&, const LotExtracted&) = default;
};

struct LotRegistered {
  std::string lot_id;
  Material material = Material::kUnspecified;
  std::string hs_code;
  Grams mass_g = 0;
  std::string facility_id;
  std::string origin_country;  // empty: unknown
  int64_t value_minor = 0;     // 0: not given
  std::string currency;
  friend bool operator==(const LotRegistered&, const LotRegistered&) = default;
};

struct LotInput {
  std::string lot_id;
  Grams mass_g = 0;
  friend bool operator==(const LotInput&, const LotInput&) = default;
};

struct UntrackedInput {
  Material material = Material::kUnspecified;
  Grams mass_g = 0;
  std::string country;  // empty: unknown
  friend bool operator==(const UntrackedInput&, const UntrackedInput&) = default;
};

struct LotOutput {
  std::string lot_id;
  Material material = Material::kUnspecified;
  std::string hs_code;
  Grams mass_g = 0;
  int64_t value_minor = 0;
  std::string currency;
  friend bool operator==(const LotOutput&, const LotOutput&) = default;
};

struct LotTransformed {
  std::string transformation_id;
  std::string facility_id;
  Process process = Process::kUnspecified;
  std::vector<LotInput> inputs;
  std::vector<UntrackedInput> untracked_inputs;
  std::vector<LotOutput> outputs;
  friend bool operator==(const LotTransformed&, const LotTransformed&) = default;
};

struct ShipmentItem {
  std::string lot_id;
  Grams mass_g = 0;
  friend bool operator==(const ShipmentItem&, const ShipmentItem&) = default;
};

struct ShipmentDispatched {
  std::string shipment_id;
  std::vector<ShipmentItem> items;
  std::string from_facility_id;
  std::string to_facility_id;
  std::string declared_origin;
  std::string declared_hs_code;
  std::string export_licence_id;  // empty: none
  std::string customs_entry;
  friend bool operator==(const ShipmentDispatched&, const ShipmentDispatched&) = default;
};

struct ShipmentArrived {
  std::string shipment_id;
  std::string facility_id;
  std::string customs_entry;
  friend bool operator==(const ShipmentArrived&, const ShipmentArrived&) = default;
};

struct ExportLicenceGranted {
  std::string licence_id;
  std::string issuing_country;
  std::string exporter_party_id;
  std::vector<std::string> hs_codes;
  std::vector<Material> materials;
  Grams quantity_g = 0;
  std::string end_user_party_id;
  std::string end_user_country;
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();
  friend bool operator==(const ExportLicenceGranted&, const ExportLicenceGranted&) = default;
};

struct EventRetracted {
  std::string retracted_event_id;
  RetractionReason reason = RetractionReason::kUnspecified;
  std::vector<std::string> corrective_event_ids;
  std::string note;
  friend bool operator==(const EventRetracted&, const EventRetracted&) = default;
};

// Who may say what (docs/security.md). Persisted: never renumber.
enum class Role : int {
  kUnspecified = 0,
  kRegistrar = 1,           // registers parties and facilities, grants and revokes roles
  kLicensingAuthority = 2,  // of `country`: the only issuer of its export licences
  kAuditor = 3,             // reads everything
  kDelegate = 4,            // appends on behalf of `principal_party_id`
};
inline constexpr int kRoleMax = 4;

// Grants `party_id` a role: a licensing authority names its `country`, a delegate the
// `principal_party_id` it may act for; other roles leave both empty.
struct RoleGranted {
  std::string party_id;
  Role role = Role::kUnspecified;
  std::string country;
  std::string principal_party_id;
  friend bool operator==(const RoleGranted&, const RoleGranted&) = default;
};

// Takes a granted role back (the same fields as the grant).
struct RoleRevoked {
  std::string party_id;
  Role role = Role::kUnspecified;
  std::string country;
  std::string principal_party_id;
  friend bool operator==(const RoleRevoked&, const RoleRevoked&) = default;
};

// Registers `public_key` (raw Ed25519, kEd25519PublicKeyBytes bytes; the domain treats it as
// opaque) under `key_id` for `party_id`; `replaces_key_id`, when given, names an active key of
// the same party revoked by this registration (a rotation). Key ids are never reused per party.
struct SigningKeyRegistered {
  std::string party_id;
  std::string key_id;
  std::string public_key;
  std::string replaces_key_id;  // empty: none
  friend bool operator==(const SigningKeyRegistered&, const SigningKeyRegistered&) = default;
};
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// Revokes a signing key from this position on.
struct SigningKeyRevoked {
  std::string party_id;
  std::string key_id;
  friend bool operator==(const SigningKeyRevoked&, const SigningKeyRevoked&) = default;
};

using Payload =
    std::variant<std::monostate, PartyRegistered, FacilityRegistered, LotExtracted, LotRegistered,
                 LotTransformed, ShipmentDispatched, ShipmentArrived, ExportLicenceGranted,
                 EventRetracted, RoleGranted, RoleRevoked, SigningKeyRegistered, SigningKeyRevoked>;

// A detached signature of the event by its attester, under one of the attester's registered
// keys. The domain checks that the key is the attester's and active at the event's position;
// the cryptography (over the event's canonical bytes without the signature) is the ledger's.
struct EventSignature {
  std::string key_id;
  std::string signature;  // kEd25519SignatureBytes bytes
  bool empty() const { return key_id.empty() && signature.empty(); }
  friend bool operator==(const EventSignature&, const EventSignature&) = default;
};

// The envelope. `payload` holds std::monostate only when the wire event had no payload, which
// validation rejects.
struct Event {
  std::string event_id;
  absl::Time event_time = absl::InfinitePast();  // InfinitePast: not given (rejected)
  std::string subject;                           // "<kind>/<id>"
  std::string actor;                             // the party on whose behalf the event is appended
  std::string attested_by;  // the authenticated party that appended it (set by the ledger);
                            // empty only for events committed before attestation existed
  // Captured from EPCIS (docs/epcis.md): the EPCIS eventID as captured (empty: none) and the
  // CBV 2.0 canonical event hash (domain::IsEpcisEventHash); both empty for native events.
  std::string epcis_event_id;
  std::string epcis_event_hash;
  Payload payload;
  EventSignature signature;  // empty: unsigned
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_EVENT_H_
