// The write-side rules. ValidateEvent checks one event on its own; ApplyEvent checks it against
// the write model and applies its effects. docs/write-model.md states every rule in prose.
//
// Every rejection message starts with "event '<event id>': " and then names the field path the
// way the wire message does ("lot_transformed.inputs[1].mass_g").
//
// ApplyEvent does all of an event's checks before the first write, so a rejection leaves the
// store as it was; only a store error in the middle of the writes leaves partial writes, which the
// caller rolls back (rules.h).
#include "services/domain/rules.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/base/status_macros.h"
#include "services/domain/codes.h"
#include "services/domain/errors.h"
#include "services/domain/event.h"
#include "services/domain/state_store.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::domain {
namespace {

// ---------------------------------------------------------------------------------------------
// Message helpers.

// Quotes a value for a message: single quotes, C-escaped, cut at kMaxIdBytes bytes so that a
// malformed multi-megabyte field does not end up in a status message.
std::string Quote(std::string_view value) {
  const bool cut = value.size() > kMaxIdBytes;
  if (cut) value = value.substr(0, kMaxIdBytes);
  return absl::StrCat("'", absl::CHexEscape(ToAbsl(value)), cut ? "'..." : "'");
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// A field path: "head", "head[index]" or "head[index].member", formatted only when a message
// needs it.
class Field {
 public:
  explicit Field(std::string_view head) : head_(head) {}
  Field(std::string_view head, size_t index) : head_(head), index_(index) {}
  Field(std::string_view head, size_t index, std::string_view member)
      : head_(head), index_(index), member_(member) {}

  std::string str() const {
    if (!index_.has_value()) return std::string(head_);
    if (member_.empty()) return absl::StrCat(ToAbsl(head_), "[", *index_, "]");
    return absl::StrCat(ToAbsl(head_), "[", *index_, "].", ToAbsl(member_));
  }

 private:
  std::string_view head_;
  std::optional<size_t> index_;
  std::string_view member_;
};

// Builds the rejections of one event.
class Rejector {
 public:
  explicit Rejector(const Event& event) : event_id_(event.event_id) {}

  absl::Status Fail(Rejection rejection, const Field& field, std::string_view problem) const {
    return Reject(rejection, absl::StrCat("event ", Quote(event_id_), ": ", field.str(), " ",
                                          ToAbsl(problem)));
  }

  // A broken invariant of the write model: a bug or a corrupt store, never the client's fault.
  absl::Status Internal(std::string_view problem) const {
    return absl::InternalError(
        absl::StrCat("event ", Quote(event_id_), ": write model inconsistent: ", ToAbsl(problem)));
  }

 private:
  std::string_view event_id_;
};

std::string_view FacilityKindName(FacilityKind kind) {
  switch (kind) {
    case FacilityKind::kUnspecified:
      return "UNSPECIFIED";
    case FacilityKind::kMine:
      return "MINE";
    case FacilityKind::kSeparationPlant:
      return "SEPARATION_PLANT";
    case FacilityKind::kRefinery:
      return "REFINERY";
    case FacilityKind::kSmelter:
      return "SMELTER";
    case FacilityKind::kMetalPlant:
      return "METAL_PLANT";
    case FacilityKind::kMagnetPlant:
      return "MAGNET_PLANT";
    case FacilityKind::kWarehouse:
      return "WAREHOUSE";
    case FacilityKind::kPort:
      return "PORT";
    case FacilityKind::kRecycler:
      return "RECYCLER";
  }
  return "UNKNOWN_KIND";
}

// ---------------------------------------------------------------------------------------------
// Field checks shared by the payloads.

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

absl::Status CheckId(const Rejector& r, const Field& field, std::string_view id) {
  if (IsWellFormedId(id)) return absl::OkStatus();
  return r.Fail(Rejection::kMalformed, field,
                absl::StrCat("must be 1..", kMaxIdBytes, " bytes of [A-Za-z0-9._:/-], got ",
                             Quote(id), " (", id.size(), " bytes)"));
}

absl::Status CheckOptionalId(const Rejector& r, const Field& field, std::string_view id) {
  return id.empty() ? absl::OkStatus() : CheckId(r, field, id);
}

absl::Status CheckText(const Rejector& r, const Field& field, std::string_view text) {
  if (text.size() <= kMaxTextBytes) return absl::OkStatus();
  return r.Fail(Rejection::kMalformed, field,
                absl::StrCat("must be at most ", kMaxTextBytes, " bytes, got ", text.size()));
}

absl::Status CheckCountry(const Rejector& r, const Field& field, std::string_view country) {
  if (IsCountryCode(country)) return absl::OkStatus();
  return r.Fail(
      Rejection::kMalformed, field,
      absl::StrCat("must be an assigned ISO 3166-1 alpha-2 country code (uppercase), got ",
                   Quote(country)));
}

absl::Status CheckOptionalCountry(const Rejector& r, const Field& field, std::string_view country) {
  return country.empty() ? absl::OkStatus() : CheckCountry(r, field, country);
}

absl::Status CheckHsCode(const Rejector& r, const Field& field, std::string_view code) {
  if (IsHsCode(code)) return absl::OkStatus();
  return r.Fail(
      Rejection::kMalformed, field,
      absl::StrCat("must be an HS code of 4 to 10 digits with chapter 01..97, got ", Quote(code)));
}

absl::Status CheckMass(const Rejector& r, const Field& field, Grams mass_g) {
  if (mass_g <= 0) {
    return r.Fail(Rejection::kMalformed, field, absl::StrCat("must be > 0, got ", mass_g));
  }
  if (mass_g > kMaxMassG) {
    return r.Fail(Rejection::kMalformed, field,
                  absl::StrCat("must be <= ", kMaxMassG, ", got ", mass_g));
  }
  return absl::OkStatus();
}

template <typename Enum>
absl::Status CheckEnum(const Rejector& r, const Field& field, Enum value, int max) {
  const int v = static_cast<int>(value);
  if (v == 0) return r.Fail(Rejection::kMalformed, field, "must not be UNSPECIFIED");
  if (v < 0 || v > max) {
    return r.Fail(Rejection::kMalformed, field,
                  absl::StrCat("is out of range: ", v, " (valid: 1..", max, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckValue(const Rejector& r, const Field& value_field, const Field& currency_field,
                        int64_t value_minor, std::string_view currency) {
  if (value_minor < 0) {
    return r.Fail(Rejection::kMalformed, value_field,
                  absl::StrCat("must be >= 0, got ", value_minor));
  }
  if (value_minor > 0 && currency.empty()) {
    return r.Fail(Rejection::kMalformed, currency_field, "must be given when value_minor > 0");
  }
  if (!currency.empty() && !IsCurrencyCode(currency)) {
    return r.Fail(Rejection::kMalformed, currency_field,
                  absl::StrCat("must be 3 uppercase letters (ISO 4217), got ", Quote(currency)));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(const Rejector& r, const Field& field, size_t count, size_t min, size_t max,
                        std::string_view what) {
  if (count < min) {
    return r.Fail(Rejection::kMalformed, field,
                  absl::StrCat("must have at least ", min, " ", ToAbsl(what)));
  }
  if (count > max) {
    return r.Fail(Rejection::kMalformed, field,
                  absl::StrCat("has ", count, " ", ToAbsl(what), ", more than the limit of ", max));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Stateless checks, one function per payload.

absl::Status CheckFields(const Rejector& r, const PartyRegistered& p) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("party_registered.party_id"), p.party_id));
  LODESTONE_RETURN_IF_ERROR(CheckText(r, Field("party_registered.name"), p.name));
  LODESTONE_RETURN_IF_ERROR(CheckCountry(r, Field("party_registered.country"), p.country));
  const Field parent("party_registered.parent_party_id");
  LODESTONE_RETURN_IF_ERROR(CheckOptionalId(r, parent, p.parent_party_id));
  if (p.parent_party_id == p.party_id) {
    return r.Fail(Rejection::kLineageCycle, parent,
                  absl::StrCat(Quote(p.parent_party_id), " must differ from party_id"));
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const Rejector& r, const FacilityRegistered& f) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("facility_registered.facility_id"), f.facility_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckId(r, Field("facility_registered.operator_party_id"), f.operator_party_id));
  LODESTONE_RETURN_IF_ERROR(CheckCountry(r, Field("facility_registered.country"), f.country));
  if (!f.subdivision.empty() && !IsSubdivisionOf(f.subdivision, f.country)) {
    return r.Fail(Rejection::kMalformed, Field("facility_registered.subdivision"),
                  absl::StrCat("must be an ISO 3166-2 code \"", ToAbsl(f.country),
                               "-<1..3 of [A-Z0-9]>\" of the facility's country, got ",
                               Quote(f.subdivision)));
  }
  LODESTONE_RETURN_IF_ERROR(
      CheckEnum(r, Field("facility_registered.kind"), f.kind, kFacilityKindMax));
  return CheckText(r, Field("facility_registered.name"), f.name);
}

absl::Status CheckFields(const Rejector& r, const LotExtracted& l) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("lot_extracted.lot_id"), l.lot_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckEnum(r, Field("lot_extracted.material"), l.material, kMaterialMax));
  LODESTONE_RETURN_IF_ERROR(CheckHsCode(r, Field("lot_extracted.hs_code"), l.hs_code));
  LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field("lot_extracted.mass_g"), l.mass_g));
  return CheckId(r, Field("lot_extracted.facility_id"), l.facility_id);
}

absl::Status CheckFields(const Rejector& r, const LotRegistered& l) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("lot_registered.lot_id"), l.lot_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckEnum(r, Field("lot_registered.material"), l.material, kMaterialMax));
  LODESTONE_RETURN_IF_ERROR(CheckHsCode(r, Field("lot_registered.hs_code"), l.hs_code));
  LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field("lot_registered.mass_g"), l.mass_g));
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("lot_registered.facility_id"), l.facility_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckOptionalCountry(r, Field("lot_registered.origin_country"), l.origin_country));
  return CheckValue(r, Field("lot_registered.value_minor"), Field("lot_registered.currency"),
                    l.value_minor, l.currency);
}

absl::Status CheckFields(const Rejector& r, const LotTransformed& t) {
  constexpr std::string_view kInputs = "lot_transformed.inputs";
  constexpr std::string_view kUntracked = "lot_transformed.untracked_inputs";
  constexpr std::string_view kOutputs = "lot_transformed.outputs";
  LODESTONE_RETURN_IF_ERROR(
      CheckId(r, Field("lot_transformed.transformation_id"), t.transformation_id));
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("lot_transformed.facility_id"), t.facility_id));
  LODESTONE_RETURN_IF_ERROR(CheckEnum(r, Field("lot_transformed.process"), t.process, kProcessMax));
  // Counts first, so that the loops below are bounded.
  LODESTONE_RETURN_IF_ERROR(CheckCount(r, Field(kInputs),
                                       t.inputs.size() + t.untracked_inputs.size(), 1,
                                       kMaxTransformationInputs, "inputs (tracked or untracked)"));
  LODESTONE_RETURN_IF_ERROR(
      CheckCount(r, Field(kOutputs), t.outputs.size(), 1, kMaxTransformationOutputs, "outputs"));

  Grams tracked_g = 0;
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    LODESTONE_RETURN_IF_ERROR(CheckId(r, Field(kInputs, i, "lot_id"), t.inputs[i].lot_id));
    LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field(kInputs, i, "mass_g"), t.inputs[i].mass_g));
    tracked_g += t.inputs[i].mass_g;
  }
  Grams untracked_g = 0;
  for (size_t i = 0; i < t.untracked_inputs.size(); ++i) {
    const UntrackedInput& u = t.untracked_inputs[i];
    LODESTONE_RETURN_IF_ERROR(
        CheckEnum(r, Field(kUntracked, i, "material"), u.material, kMaterialMax));
    LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field(kUntracked, i, "mass_g"), u.mass_g));
    LODESTONE_RETURN_IF_ERROR(CheckOptionalCountry(r, Field(kUntracked, i, "country"), u.country));
    untracked_g += u.mass_g;
  }
  Grams outputs_g = 0;
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    const LotOutput& o = t.outputs[i];
    LODESTONE_RETURN_IF_ERROR(CheckId(r, Field(kOutputs, i, "lot_id"), o.lot_id));
    LODESTONE_RETURN_IF_ERROR(
        CheckEnum(r, Field(kOutputs, i, "material"), o.material, kMaterialMax));
    LODESTONE_RETURN_IF_ERROR(CheckHsCode(r, Field(kOutputs, i, "hs_code"), o.hs_code));
    LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field(kOutputs, i, "mass_g"), o.mass_g));
    LODESTONE_RETURN_IF_ERROR(CheckValue(r, Field(kOutputs, i, "value_minor"),
                                         Field(kOutputs, i, "currency"), o.value_minor,
                                         o.currency));
    outputs_g += o.mass_g;
  }

  // Lineage: each lot once among the inputs, once among the outputs, never on both sides.
  absl::flat_hash_map<absl::string_view, size_t> input_index;
  input_index.reserve(t.inputs.size());
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const auto [it, inserted] = input_index.try_emplace(t.inputs[i].lot_id, i);
    if (!inserted) {
      return r.Fail(Rejection::kLineageCycle, Field(kInputs, i, "lot_id"),
                    absl::StrCat(Quote(t.inputs[i].lot_id), " repeats inputs[", it->second,
                                 "]: list each input lot once"));
    }
  }
  absl::flat_hash_map<absl::string_view, size_t> output_index;
  output_index.reserve(t.outputs.size());
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    const auto [it, inserted] = output_index.try_emplace(t.outputs[i].lot_id, i);
    if (!inserted) {
      return r.Fail(Rejection::kLineageCycle, Field(kOutputs, i, "lot_id"),
                    absl::StrCat(Quote(t.outputs[i].lot_id), " repeats outputs[", it->second, "]"));
    }
    const auto input = input_index.find(t.outputs[i].lot_id);
    if (input != input_index.end()) {
      return r.Fail(Rejection::kLineageCycle, Field(kOutputs, i, "lot_id"),
                    absl::StrCat(Quote(t.outputs[i].lot_id), " is also inputs[", input->second,
                                 "]: a lot cannot be made from itself"));
    }
  }

  // Mass balance, exact: at most 1000 masses of at most 2^52 g each, so no sum overflows.
  if (outputs_g > tracked_g + untracked_g) {
    return r.Fail(
        Rejection::kMassBalance, Field(kOutputs),
        absl::StrCat("total ", outputs_g, " g exceeds the inputs' ", tracked_g + untracked_g,
                     " g (tracked ", tracked_g, " g + untracked ", untracked_g, " g)"));
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const Rejector& r, const ShipmentDispatched& s) {
  constexpr std::string_view kItems = "shipment_dispatched.items";
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("shipment_dispatched.shipment_id"), s.shipment_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckId(r, Field("shipment_dispatched.from_facility_id"), s.from_facility_id));
  const Field to("shipment_dispatched.to_facility_id");
  LODESTONE_RETURN_IF_ERROR(CheckId(r, to, s.to_facility_id));
  if (s.to_facility_id == s.from_facility_id) {
    return r.Fail(Rejection::kMalformed, to,
                  absl::StrCat(Quote(s.to_facility_id), " must differ from from_facility_id"));
  }
  LODESTONE_RETURN_IF_ERROR(
      CheckCount(r, Field(kItems), s.items.size(), 1, kMaxShipmentItems, "items"));
  absl::flat_hash_map<absl::string_view, size_t> item_index;
  item_index.reserve(s.items.size());
  for (size_t i = 0; i < s.items.size(); ++i) {
    LODESTONE_RETURN_IF_ERROR(CheckId(r, Field(kItems, i, "lot_id"), s.items[i].lot_id));
    LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field(kItems, i, "mass_g"), s.items[i].mass_g));
    const auto [it, inserted] = item_index.try_emplace(s.items[i].lot_id, i);
    if (!inserted) {
      return r.Fail(Rejection::kMalformed, Field(kItems, i, "lot_id"),
                    absl::StrCat(Quote(s.items[i].lot_id), " repeats items[", it->second, "]"));
    }
  }
  LODESTONE_RETURN_IF_ERROR(
      CheckCountry(r, Field("shipment_dispatched.declared_origin"), s.declared_origin));
  LODESTONE_RETURN_IF_ERROR(
      CheckHsCode(r, Field("shipment_dispatched.declared_hs_code"), s.declared_hs_code));
  LODESTONE_RETURN_IF_ERROR(
      CheckOptionalId(r, Field("shipment_dispatched.export_licence_id"), s.export_licence_id));
  return CheckText(r, Field("shipment_dispatched.customs_entry"), s.customs_entry);
}

absl::Status CheckFields(const Rejector& r, const ShipmentArrived& s) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("shipment_arrived.shipment_id"), s.shipment_id));
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("shipment_arrived.facility_id"), s.facility_id));
  return CheckText(r, Field("shipment_arrived.customs_entry"), s.customs_entry);
}

absl::Status CheckFields(const Rejector& r, const ExportLicenceGranted& l) {
  constexpr std::string_view kHsCodes = "export_licence_granted.hs_codes";
  constexpr std::string_view kMaterials = "export_licence_granted.materials";
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("export_licence_granted.licence_id"), l.licence_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckCountry(r, Field("export_licence_granted.issuing_country"), l.issuing_country));
  LODESTONE_RETURN_IF_ERROR(
      CheckId(r, Field("export_licence_granted.exporter_party_id"), l.exporter_party_id));
  LODESTONE_RETURN_IF_ERROR(
      CheckCount(r, Field(kHsCodes), l.hs_codes.size(), 0, kMaxLicenceCodes, "codes"));
  LODESTONE_RETURN_IF_ERROR(
      CheckCount(r, Field(kMaterials), l.materials.size(), 0, kMaxLicenceCodes, "materials"));
  if (l.hs_codes.empty() && l.materials.empty()) {
    return r.Fail(Rejection::kMalformed, Field(kHsCodes),
                  "and export_licence_granted.materials must not both be empty: a licence covers "
                  "at least one HS code or material");
  }
  for (size_t i = 0; i < l.hs_codes.size(); ++i) {
    LODESTONE_RETURN_IF_ERROR(CheckHsCode(r, Field(kHsCodes, i), l.hs_codes[i]));
  }
  for (size_t i = 0; i < l.materials.size(); ++i) {
    LODESTONE_RETURN_IF_ERROR(CheckEnum(r, Field(kMaterials, i), l.materials[i], kMaterialMax));
  }
  LODESTONE_RETURN_IF_ERROR(CheckMass(r, Field("export_licence_granted.quantity_g"), l.quantity_g));
  LODESTONE_RETURN_IF_ERROR(
      CheckOptionalId(r, Field("export_licence_granted.end_user_party_id"), l.end_user_party_id));
  LODESTONE_RETURN_IF_ERROR(CheckOptionalCountry(
      r, Field("export_licence_granted.end_user_country"), l.end_user_country));
  if (!(l.valid_from < l.valid_until)) {
    return r.Fail(Rejection::kMalformed, Field("export_licence_granted.valid_from"),
                  absl::StrCat(TimeText(l.valid_from), " must be before valid_until ",
                               TimeText(l.valid_until)));
  }
  return absl::OkStatus();
}

// RoleGranted and RoleRevoked carry the same fields.
template <typename RoleEvent>
absl::Status CheckRoleFields(const Rejector& r, std::string_view name, const RoleEvent& e) {
  const std::string head(name);
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field(head + ".party_id"), e.party_id));
  LODESTONE_RETURN_IF_ERROR(CheckEnum(r, Field(head + ".role"), e.role, kRoleMax));
  const bool authority = e.role == Role::kLicensingAuthority;
  const bool delegate = e.role == Role::kDelegate;
  if (authority) {
    LODESTONE_RETURN_IF_ERROR(CheckCountry(r, Field(head + ".country"), e.country));
  } else if (!e.country.empty()) {
    return r.Fail(Rejection::kMalformed, Field(head + ".country"),
                  "must be empty: only a licensing authority has a country");
  }
  if (delegate) {
    LODESTONE_RETURN_IF_ERROR(
        CheckId(r, Field(head + ".principal_party_id"), e.principal_party_id));
    if (e.principal_party_id == e.party_id) {
      return r.Fail(Rejection::kMalformed, Field(head + ".principal_party_id"),
                    "must differ from party_id: a party acts for itself without a delegation");
    }
  } else if (!e.principal_party_id.empty()) {
    return r.Fail(Rejection::kMalformed, Field(head + ".principal_party_id"),
                  "must be empty: only a delegate has a principal");
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const Rejector& r, const RoleGranted& g) {
  return CheckRoleFields(r, "role_granted", g);
}

absl::Status CheckFields(const Rejector& r, const RoleRevoked& g) {
  return CheckRoleFields(r, "role_revoked", g);
}

absl::Status CheckFields(const Rejector& r, const SigningKeyRegistered& k) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("signing_key_registered.party_id"), k.party_id));
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("signing_key_registered.key_id"), k.key_id));
  if (k.public_key.size() != kEd25519PublicKeyBytes) {
    return r.Fail(Rejection::kMalformed, Field("signing_key_registered.public_key"),
                  absl::StrCat("must be a raw Ed25519 key of ", kEd25519PublicKeyBytes,
                               " bytes, got ", k.public_key.size()));
  }
  const Field replaces("signing_key_registered.replaces_key_id");
  LODESTONE_RETURN_IF_ERROR(CheckOptionalId(r, replaces, k.replaces_key_id));
  if (k.replaces_key_id == k.key_id) {
    return r.Fail(Rejection::kMalformed, replaces, "must name another key than key_id");
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const Rejector& r, const SigningKeyRevoked& k) {
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("signing_key_revoked.party_id"), k.party_id));
  return CheckId(r, Field("signing_key_revoked.key_id"), k.key_id);
}

absl::Status CheckSignatureFields(const Rejector& r, const Event& event) {
  if (event.signature.empty()) return absl::OkStatus();
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("signature.key_id"), event.signature.key_id));
  if (event.signature.signature.size() != kEd25519SignatureBytes) {
    return r.Fail(Rejection::kMalformed, Field("signature.signature"),
                  absl::StrCat("must be an Ed25519 signature of ", kEd25519SignatureBytes,
                               " bytes, got ", event.signature.signature.size()));
  }
  if (event.attested_by.empty()) {
    return r.Fail(Rejection::kMalformed, Field("attested_by"),
                  "must name the signer: a signed event carries its attester in the signed bytes");
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const Rejector& r, const EventRetracted& e, const Event& event) {
  constexpr std::string_view kCorrective = "event_retracted.corrective_event_ids";
  const Field target("event_retracted.retracted_event_id");
  LODESTONE_RETURN_IF_ERROR(CheckId(r, target, e.retracted_event_id));
  if (e.retracted_event_id == event.event_id) {
    return r.Fail(Rejection::kMalformed, target, "must name another event, not the retraction");
  }
  LODESTONE_RETURN_IF_ERROR(
      CheckEnum(r, Field("event_retracted.reason"), e.reason, kRetractionReasonMax));
  LODESTONE_RETURN_IF_ERROR(CheckCount(r, Field(kCorrective), e.corrective_event_ids.size(), 0,
                                       kMaxCorrectiveEventIds, "event ids"));
  for (size_t i = 0; i < e.corrective_event_ids.size(); ++i) {
    LODESTONE_RETURN_IF_ERROR(CheckId(r, Field(kCorrective, i), e.corrective_event_ids[i]));
  }
  return CheckText(r, Field("event_retracted.note"), e.note);
}

// The subject must name an entity the event concerns.
absl::Status CheckSubjectConcerns(const Rejector& r, const Event& event,
                                  const SubjectRef& subject) {
  auto is = [&subject](std::string_view kind, std::string_view id) {
    return subject.kind == kind && subject.id == id;
  };
  std::string expected;
  bool ok = false;
  if (const auto* p = std::get_if<PartyRegistered>(&event.payload)) {
    ok = is("party", p->party_id);
    expected = absl::StrCat("party/", p->party_id);
  } else if (const auto* f = std::get_if<FacilityRegistered>(&event.payload)) {
    ok = is("facility", f->facility_id);
    expected = absl::StrCat("facility/", f->facility_id);
  } else if (const auto* l = std::get_if<LotExtracted>(&event.payload)) {
    ok = is("lot", l->lot_id);
    expected = absl::StrCat("lot/", l->lot_id);
  } else if (const auto* l = std::get_if<LotRegistered>(&event.payload)) {
    ok = is("lot", l->lot_id);
    expected = absl::StrCat("lot/", l->lot_id);
  } else if (const auto* t = std::get_if<LotTransformed>(&event.payload)) {
    ok = is("facility", t->facility_id) ||
         (subject.kind == "lot" &&
          (std::any_of(t->inputs.begin(), t->inputs.end(),
                       [&](const LotInput& in) { return in.lot_id == subject.id; }) ||
           std::any_of(t->outputs.begin(), t->outputs.end(),
                       [&](const LotOutput& out) { return out.lot_id == subject.id; })));
    expected = absl::StrCat("facility/", t->facility_id, " or lot/<an input or output lot>");
  } else if (const auto* s = std::get_if<ShipmentDispatched>(&event.payload)) {
    ok = is("shipment", s->shipment_id);
    expected = absl::StrCat("shipment/", s->shipment_id);
  } else if (const auto* s = std::get_if<ShipmentArrived>(&event.payload)) {
    ok = is("shipment", s->shipment_id);
    expected = absl::StrCat("shipment/", s->shipment_id);
  } else if (const auto* l = std::get_if<ExportLicenceGranted>(&event.payload)) {
    ok = is("licence", l->licence_id);
    expected = absl::StrCat("licence/", l->licence_id);
  } else if (const auto* g = std::get_if<RoleGranted>(&event.payload)) {
    ok = is("party", g->party_id);
    expected = absl::StrCat("party/", g->party_id);
  } else if (const auto* v = std::get_if<RoleRevoked>(&event.payload)) {
    ok = is("party", v->party_id);
    expected = absl::StrCat("party/", v->party_id);
  } else if (const auto* k = std::get_if<SigningKeyRegistered>(&event.payload)) {
    ok = is("party", k->party_id);
    expected = absl::StrCat("party/", k->party_id);
  } else if (const auto* k = std::get_if<SigningKeyRevoked>(&event.payload)) {
    ok = is("party", k->party_id);
    expected = absl::StrCat("party/", k->party_id);
  } else if (std::holds_alternative<EventRetracted>(event.payload)) {
    ok = true;  // ApplyEvent checks it equals the retracted event's subject
  }
  if (ok) return absl::OkStatus();
  return r.Fail(
      Rejection::kMalformed, Field("subject"),
      absl::StrCat(Quote(event.subject), " must name an entity the event concerns: ", expected));
}

// ---------------------------------------------------------------------------------------------
// Stateful checks and effects.

// With `judge` (a new event), checks the event against the write model and applies its effects.
// Without (an event committed before, ApplyCommittedEvent), applies the effects only: no rule is
// judged again, and only what the effects need must exist (else INTERNAL, the write model does
// not match the log).
class Applier {
 public:
  Applier(const Event& event, StateStore& store, bool judge)
      : event_(event), r_(event), store_(store), judge_(judge) {}

  absl::Status Apply(const PartyRegistered& p);
  absl::Status Apply(const FacilityRegistered& f);
  absl::Status Apply(const LotExtracted& l);
  absl::Status Apply(const LotRegistered& l);
  absl::Status Apply(const LotTransformed& t);
  absl::Status Apply(const ShipmentDispatched& s);
  absl::Status Apply(const ShipmentArrived& s);
  absl::Status Apply(const ExportLicenceGranted& l);
  absl::Status Apply(const EventRetracted& e);
  absl::Status Apply(const RoleGranted& g);
  absl::Status Apply(const RoleRevoked& v);
  absl::Status Apply(const SigningKeyRegistered& k);
  absl::Status Apply(const SigningKeyRevoked& k);

 private:
  // The referenced entity when it is registered and not retracted; else kUnknownEntity (never
  // registered) or kWrongState (registration retracted).
  absl::StatusOr<PartyState> ActiveParty(const Field& field, std::string_view id);
  absl::StatusOr<FacilityState> ActiveFacility(const Field& field, std::string_view id);
  absl::StatusOr<LicenceState> ActiveLicence(const Field& field, std::string_view id);
  // A lot that may be consumed or shipped: exists (kUnknownEntity), not retracted (kWrongState),
  // not in transit and at `facility_id` (kWrongLocation).
  absl::StatusOr<LotState> LotAt(const Field& field, std::string_view lot_id,
                                 std::string_view facility_id);
  // Checks that `lot_id` may be declared by this event with `mass_g`: a new id, or the id of a
  // retracted lot whose consumed mass (kept across the retraction) is at most `mass_g`. Returns
  // the consumed mass to carry over (0 for a new lot).
  absl::StatusOr<Grams> DeclarableLot(const Field& id_field, const Field& mass_field,
                                      std::string_view lot_id, Grams mass_g);
  // Rejects re-declaring `lot_id` (a retracted lot that lots were made from) as an output of a
  // transformation of `inputs` when it is an ancestor of one of them: the lineage would loop.
  absl::Status CheckNotAncestor(const Field& field, std::string_view lot_id,
                                const std::vector<LotInput>& inputs);
  // Rejects a parent chain that would lead back to `party_id` or is too deep.
  absl::Status CheckAffiliateChain(const Field& field, std::string_view party_id,
                                   std::string_view parent_party_id);
  LotState NewLot(Material material, std::string_view hs_code, Grams mass_g, Grams consumed_g,
                  std::string_view facility_id) const;

  // Retractions, by the type of the retracted event.
  absl::Status Retract(const Event& target, const PartyRegistered& p);
  absl::Status Retract(const Event& target, const FacilityRegistered& f);
  absl::Status Retract(const Event& target, const LotExtracted& l);
  absl::Status Retract(const Event& target, const LotRegistered& l);
  absl::Status Retract(const Event& target, const LotTransformed& t);
  absl::Status Retract(const Event& target, const ShipmentDispatched& s);
  absl::Status Retract(const Event& target, const ShipmentArrived& s);
  absl::Status Retract(const Event& target, const ExportLicenceGranted& l);
  // Role events are not retracted: a wrong grant is revoked, a wrong revocation granted again,
  // so the history of who held what stays readable.
  template <typename RoleEvent>
  absl::Status RetractRoleEvent(const Event& target);
  absl::Status Retract(const Event& target, const RoleGranted&) {
    return RetractRoleEvent<RoleGranted>(target);
  }
  absl::Status Retract(const Event& target, const RoleRevoked&) {
    return RetractRoleEvent<RoleRevoked>(target);
  }
  absl::Status Retract(const Event& target, const SigningKeyRegistered&) {
    return RetractRoleEvent<SigningKeyRegistered>(target);
  }
  absl::Status Retract(const Event& target, const SigningKeyRevoked&) {
    return RetractRoleEvent<SigningKeyRevoked>(target);
  }
  // Marks `key_id` of `party_id` revoked by this event and counts it off the party.
  absl::Status RevokeKey(const Field& field, std::string_view party_id, std::string_view key_id);
  // A lot created by `target`, checked to be retractable (not in transit).
  absl::StatusOr<LotState> CreatedLot(const Event& target, std::string_view lot_id);

  // A party whose state the effects change: the live party when judging, else the party as the
  // write model holds it (INTERNAL when it holds none).
  absl::StatusOr<PartyState> PartyToChange(const Field& field, std::string_view id);

  const Event& event_;
  const Rejector r_;
  StateStore& store_;
  const bool judge_;
};

absl::StatusOr<PartyState> Applier::PartyToChange(const Field& field, std::string_view id) {
  if (judge_) return ActiveParty(field, id);
  LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> party, store_.GetParty(id));
  if (!party.has_value()) return r_.Internal(absl::StrCat("party ", Quote(id), " does not exist"));
  return *std::move(party);
}

absl::StatusOr<PartyState> Applier::ActiveParty(const Field& field, std::string_view id) {
  if (!judge_) return PartyState{};  // only judged: nothing to read
  LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> party, store_.GetParty(id));
  if (!party.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, field,
                   absl::StrCat("names unknown party ", Quote(id)));
  }
  if (party->status != EntityStatus::kActive) {
    return r_.Fail(Rejection::kWrongState, field,
                   absl::StrCat("names party ", Quote(id), " whose registration (event ",
                                Quote(party->created_by_event_id),
                                ") was retracted; register it again first"));
  }
  return *std::move(party);
}

absl::StatusOr<FacilityState> Applier::ActiveFacility(const Field& field, std::string_view id) {
  if (!judge_) return FacilityState{};  // only judged: nothing to read
  LODESTONE_ASSIGN_OR_RETURN(std::optional<FacilityState> facility, store_.GetFacility(id));
  if (!facility.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, field,
                   absl::StrCat("names unknown facility ", Quote(id)));
  }
  if (facility->status != EntityStatus::kActive) {
    return r_.Fail(Rejection::kWrongState, field,
                   absl::StrCat("names facility ", Quote(id), " whose registration (event ",
                                Quote(facility->created_by_event_id),
                                ") was retracted; register it again first"));
  }
  return *std::move(facility);
}

absl::StatusOr<LicenceState> Applier::ActiveLicence(const Field& field, std::string_view id) {
  if (!judge_) return LicenceState{};  // only judged: nothing to read
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LicenceState> licence, store_.GetLicence(id));
  if (!licence.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, field,
                   absl::StrCat("names unknown export licence ", Quote(id)));
  }
  if (licence->status != EntityStatus::kActive) {
    return r_.Fail(Rejection::kWrongState, field,
                   absl::StrCat("names export licence ", Quote(id), " whose grant (event ",
                                Quote(licence->created_by_event_id), ") was retracted"));
  }
  return *std::move(licence);
}

absl::StatusOr<LotState> Applier::LotAt(const Field& field, std::string_view lot_id,
                                        std::string_view facility_id) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(lot_id));
  if (!lot.has_value() && !judge_) {
    return r_.Internal(absl::StrCat("lot ", Quote(lot_id), " does not exist"));
  }
  if (!lot.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, field,
                   absl::StrCat("names unknown lot ", Quote(lot_id)));
  }
  if (!judge_) return *std::move(lot);
  switch (lot->status) {
    case LotStatus::kActive:
      break;
    case LotStatus::kRetracted:
      return r_.Fail(
          Rejection::kWrongState, field,
          absl::StrCat("names lot ", Quote(lot_id), " whose creation (event ",
                       Quote(lot->created_by_event_id), ") was retracted; declare it again first"));
    case LotStatus::kInTransit:
      return r_.Fail(Rejection::kWrongLocation, field,
                     absl::StrCat("names lot ", Quote(lot_id), " which is in transit on shipment ",
                                  Quote(lot->shipment_id)));
    default:
      return r_.Internal(
          absl::StrCat("lot ", Quote(lot_id), " has status ", static_cast<int>(lot->status)));
  }
  if (lot->facility_id != facility_id) {
    return r_.Fail(Rejection::kWrongLocation, field,
                   absl::StrCat("names lot ", Quote(lot_id), " which is at facility ",
                                Quote(lot->facility_id), ", not at ", Quote(facility_id)));
  }
  return *std::move(lot);
}

absl::StatusOr<Grams> Applier::DeclarableLot(const Field& id_field, const Field& mass_field,
                                             std::string_view lot_id, Grams mass_g) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(lot_id));
  if (!lot.has_value()) return Grams{0};
  if (!judge_) {  // the consumption a retracted lot carries over, as when it was committed
    return lot->status == LotStatus::kRetracted ? std::max<Grams>(lot->mass_g - lot->remaining_g, 0)
                                                : Grams{0};
  }
  if (lot->status != LotStatus::kRetracted) {
    return r_.Fail(Rejection::kAlreadyExists, id_field,
                   absl::StrCat(Quote(lot_id), " already exists (created by event ",
                                Quote(lot->created_by_event_id), ")"));
  }
  const Grams consumed_g = lot->mass_g - lot->remaining_g;
  if (consumed_g < 0) {
    return r_.Internal(absl::StrCat("lot ", Quote(lot_id), " has remaining_g ", lot->remaining_g,
                                    " > mass_g ", lot->mass_g));
  }
  if (mass_g < consumed_g) {
    return r_.Fail(
        Rejection::kInsufficientMass, mass_field,
        absl::StrCat(mass_g, " re-declares retracted lot ", Quote(lot_id), " of which ", consumed_g,
                     " g were already consumed; it must be at least ", consumed_g));
  }
  return consumed_g;
}

absl::Status Applier::CheckNotAncestor(const Field& field, std::string_view lot_id,
                                       const std::vector<LotInput>& inputs) {
  // Walks up from the inputs through the transformations that made them. A lot whose creation
  // was retracted, or that was extracted or registered, has no parents.
  std::vector<std::string> frontier;
  absl::flat_hash_set<std::string> seen;
  for (const LotInput& in : inputs) {
    if (seen.insert(in.lot_id).second) frontier.push_back(in.lot_id);
  }
  while (!frontier.empty()) {
    const std::string current = std::move(frontier.back());
    frontier.pop_back();
    if (current == lot_id) {
      return r_.Fail(Rejection::kLineageCycle, field,
                     absl::StrCat("re-declares retracted lot ", Quote(lot_id),
                                  " from inputs made from it: the lineage would loop"));
    }
    LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(current));
    if (!lot.has_value() || lot->status == LotStatus::kRetracted) continue;
    LODESTONE_ASSIGN_OR_RETURN(std::optional<Event> made_by,
                               store_.FindEvent(lot->created_by_event_id));
    if (!made_by.has_value()) {
      return r_.Internal(absl::StrCat("lot ", Quote(current), " was created by unknown event ",
                                      Quote(lot->created_by_event_id)));
    }
    const auto* t = std::get_if<LotTransformed>(&made_by->payload);
    if (t == nullptr) continue;
    for (const LotInput& in : t->inputs) {
      if (!seen.insert(in.lot_id).second) continue;
      if (seen.size() > kMaxLineageCheckLots) {
        return r_.Fail(
            Rejection::kLineageCycle, field,
            absl::StrCat("re-declares retracted lot ", Quote(lot_id),
                         ", and the ancestry of the inputs exceeds ", kMaxLineageCheckLots,
                         " lots, so the lineage cannot be shown not to loop"));
      }
      frontier.push_back(in.lot_id);
    }
  }
  return absl::OkStatus();
}

absl::Status Applier::CheckAffiliateChain(const Field& field, std::string_view party_id,
                                          std::string_view parent_party_id) {
  std::string current(parent_party_id);
  for (size_t depth = 0; !current.empty(); ++depth) {
    if (current == party_id) {
      return r_.Fail(Rejection::kLineageCycle, field,
                     absl::StrCat(Quote(parent_party_id), " descends from party ", Quote(party_id),
                                  ": affiliate links must not form a cycle"));
    }
    if (depth == kMaxAffiliateDepth) {
      return r_.Fail(Rejection::kMalformed, field,
                     absl::StrCat(Quote(parent_party_id), " has more than ", kMaxAffiliateDepth,
                                  " ancestors"));
    }
    LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> party, store_.GetParty(current));
    if (!party.has_value()) break;
    current = std::move(party->parent_party_id);
  }
  return absl::OkStatus();
}

LotState Applier::NewLot(Material material, std::string_view hs_code, Grams mass_g,
                         Grams consumed_g, std::string_view facility_id) const {
  LotState lot;
  lot.material = material;
  lot.hs_code = std::string(hs_code);
  lot.mass_g = mass_g;
  lot.remaining_g = mass_g - consumed_g;
  lot.facility_id = std::string(facility_id);
  lot.status = LotStatus::kActive;
  lot.created_by_event_id = event_.event_id;
  return lot;
}

absl::Status Applier::Apply(const PartyRegistered& p) {
  const Field id_field("party_registered.party_id");
  LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> existing, store_.GetParty(p.party_id));
  if (judge_ && existing.has_value() && existing->status == EntityStatus::kActive) {
    return r_.Fail(Rejection::kAlreadyExists, id_field,
                   absl::StrCat(Quote(p.party_id), " is already registered (event ",
                                Quote(existing->created_by_event_id), ")"));
  }
  if (judge_ && !p.parent_party_id.empty()) {
    const Field parent("party_registered.parent_party_id");
    LODESTONE_RETURN_IF_ERROR(ActiveParty(parent, p.parent_party_id).status());
    // Only a party registered again after a retraction can already have descendants.
    if (existing.has_value()) {
      LODESTONE_RETURN_IF_ERROR(CheckAffiliateChain(parent, p.party_id, p.parent_party_id));
    }
  }
  PartyState party;
  party.name = p.name;
  party.country = p.country;
  party.parent_party_id = p.parent_party_id;
  party.status = EntityStatus::kActive;
  party.created_by_event_id = event_.event_id;
  return store_.PutParty(p.party_id, party);
}

absl::Status Applier::Apply(const FacilityRegistered& f) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<FacilityState> existing,
                             store_.GetFacility(f.facility_id));
  if (judge_ && existing.has_value() && existing->status == EntityStatus::kActive) {
    return r_.Fail(Rejection::kAlreadyExists, Field("facility_registered.facility_id"),
                   absl::StrCat(Quote(f.facility_id), " is already registered (event ",
                                Quote(existing->created_by_event_id), ")"));
  }
  LODESTONE_RETURN_IF_ERROR(
      ActiveParty(Field("facility_registered.operator_party_id"), f.operator_party_id).status());
  FacilityState facility;
  facility.operator_party_id = f.operator_party_id;
  facility.country = f.country;
  facility.subdivision = f.subdivision;
  facility.kind = f.kind;
  facility.status = EntityStatus::kActive;
  facility.created_by_event_id = event_.event_id;
  return store_.PutFacility(f.facility_id, facility);
}

absl::Status Applier::Apply(const LotExtracted& l) {
  LODESTONE_ASSIGN_OR_RETURN(
      Grams consumed_g, DeclarableLot(Field("lot_extracted.lot_id"), Field("lot_extracted.mass_g"),
                                      l.lot_id, l.mass_g));
  const Field facility_field("lot_extracted.facility_id");
  LODESTONE_ASSIGN_OR_RETURN(FacilityState facility, ActiveFacility(facility_field, l.facility_id));
  if (judge_ && facility.kind != FacilityKind::kMine) {
    return r_.Fail(Rejection::kWrongState, facility_field,
                   absl::StrCat("facility ", Quote(l.facility_id), " is a ",
                                ToAbsl(FacilityKindName(facility.kind)),
                                ", not a mine: extract at a mine or register the lot"));
  }
  return store_.PutLot(l.lot_id,
                       NewLot(l.material, l.hs_code, l.mass_g, consumed_g, l.facility_id));
}

absl::Status Applier::Apply(const LotRegistered& l) {
  LODESTONE_ASSIGN_OR_RETURN(Grams consumed_g,
                             DeclarableLot(Field("lot_registered.lot_id"),
                                           Field("lot_registered.mass_g"), l.lot_id, l.mass_g));
  LODESTONE_RETURN_IF_ERROR(
      ActiveFacility(Field("lot_registered.facility_id"), l.facility_id).status());
  return store_.PutLot(l.lot_id,
                       NewLot(l.material, l.hs_code, l.mass_g, consumed_g, l.facility_id));
}

absl::Status Applier::Apply(const LotTransformed& t) {
  constexpr std::string_view kInputs = "lot_transformed.inputs";
  constexpr std::string_view kOutputs = "lot_transformed.outputs";
  LODESTONE_ASSIGN_OR_RETURN(std::optional<std::string> made_by,
                             store_.GetTransformation(t.transformation_id));
  if (judge_ && made_by.has_value()) {
    // The id is free again once the transformation that used it was retracted.
    LODESTONE_ASSIGN_OR_RETURN(bool retracted, store_.IsRetracted(*made_by));
    if (!retracted) {
      return r_.Fail(
          Rejection::kAlreadyExists, Field("lot_transformed.transformation_id"),
          absl::StrCat(Quote(t.transformation_id), " was already used by event ", Quote(*made_by)));
    }
  }
  LODESTONE_RETURN_IF_ERROR(
      ActiveFacility(Field("lot_transformed.facility_id"), t.facility_id).status());

  std::vector<LotState> inputs;
  inputs.reserve(t.inputs.size());
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const LotInput& in = t.inputs[i];
    LODESTONE_ASSIGN_OR_RETURN(LotState lot,
                               LotAt(Field(kInputs, i, "lot_id"), in.lot_id, t.facility_id));
    if (judge_ && in.mass_g > lot.remaining_g) {
      return r_.Fail(Rejection::kInsufficientMass, Field(kInputs, i, "mass_g"),
                     absl::StrCat(in.mass_g, " exceeds the ", lot.remaining_g,
                                  " g remaining in lot ", Quote(in.lot_id)));
    }
    inputs.push_back(std::move(lot));
  }
  std::vector<Grams> consumed;
  consumed.reserve(t.outputs.size());
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    LODESTONE_ASSIGN_OR_RETURN(
        Grams consumed_g, DeclarableLot(Field(kOutputs, i, "lot_id"), Field(kOutputs, i, "mass_g"),
                                        t.outputs[i].lot_id, t.outputs[i].mass_g));
    // Only a retracted lot that was consumed has descendants that the inputs could be.
    if (judge_ && consumed_g > 0) {
      LODESTONE_RETURN_IF_ERROR(
          CheckNotAncestor(Field(kOutputs, i, "lot_id"), t.outputs[i].lot_id, t.inputs));
    }
    consumed.push_back(consumed_g);
  }

  for (size_t i = 0; i < t.inputs.size(); ++i) {
    inputs[i].remaining_g -= t.inputs[i].mass_g;
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(t.inputs[i].lot_id, inputs[i]));
  }
  for (size_t i = 0; i < t.outputs.size(); ++i) {
    const LotOutput& o = t.outputs[i];
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(
        o.lot_id, NewLot(o.material, o.hs_code, o.mass_g, consumed[i], t.facility_id)));
  }
  return store_.PutTransformation(t.transformation_id, event_.event_id);
}

absl::Status Applier::Apply(const ShipmentDispatched& s) {
  constexpr std::string_view kItems = "shipment_dispatched.items";
  LODESTONE_ASSIGN_OR_RETURN(std::optional<ShipmentState> existing,
                             store_.GetShipment(s.shipment_id));
  if (judge_ && existing.has_value() && existing->status != ShipmentStatus::kRetracted) {
    return r_.Fail(Rejection::kAlreadyExists, Field("shipment_dispatched.shipment_id"),
                   absl::StrCat(Quote(s.shipment_id), " was already dispatched (event ",
                                Quote(existing->dispatched_by_event_id), ")"));
  }
  LODESTONE_RETURN_IF_ERROR(
      ActiveFacility(Field("shipment_dispatched.from_facility_id"), s.from_facility_id).status());
  LODESTONE_RETURN_IF_ERROR(
      ActiveFacility(Field("shipment_dispatched.to_facility_id"), s.to_facility_id).status());
  if (!s.export_licence_id.empty()) {
    LODESTONE_RETURN_IF_ERROR(
        ActiveLicence(Field("shipment_dispatched.export_licence_id"), s.export_licence_id)
            .status());
  }
  std::vector<LotState> lots;
  lots.reserve(s.items.size());
  for (size_t i = 0; i < s.items.size(); ++i) {
    const ShipmentItem& item = s.items[i];
    LODESTONE_ASSIGN_OR_RETURN(LotState lot,
                               LotAt(Field(kItems, i, "lot_id"), item.lot_id, s.from_facility_id));
    if (judge_ && item.mass_g > lot.remaining_g) {
      return r_.Fail(Rejection::kInsufficientMass, Field(kItems, i, "mass_g"),
                     absl::StrCat(item.mass_g, " exceeds the ", lot.remaining_g,
                                  " g remaining in lot ", Quote(item.lot_id)));
    }
    if (judge_ && item.mass_g < lot.remaining_g) {
      return r_.Fail(
          Rejection::kWrongState, Field(kItems, i, "mass_g"),
          absl::StrCat(item.mass_g, " is less than the ", lot.remaining_g, " g remaining in lot ",
                       Quote(item.lot_id), ": ship the whole remaining mass or split first"));
    }
    lots.push_back(std::move(lot));
  }

  for (size_t i = 0; i < s.items.size(); ++i) {
    lots[i].status = LotStatus::kInTransit;
    lots[i].shipment_id = s.shipment_id;
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(s.items[i].lot_id, lots[i]));
  }
  ShipmentState shipment;
  shipment.items = s.items;
  shipment.from_facility_id = s.from_facility_id;
  shipment.to_facility_id = s.to_facility_id;
  shipment.export_licence_id = s.export_licence_id;
  shipment.status = ShipmentStatus::kDispatched;
  shipment.dispatched_by_event_id = event_.event_id;
  return store_.PutShipment(s.shipment_id, shipment);
}

absl::Status Applier::Apply(const ShipmentArrived& s) {
  const Field id_field("shipment_arrived.shipment_id");
  const Field facility_field("shipment_arrived.facility_id");
  LODESTONE_ASSIGN_OR_RETURN(std::optional<ShipmentState> shipment,
                             store_.GetShipment(s.shipment_id));
  if (!shipment.has_value() && !judge_) {
    return r_.Internal(absl::StrCat("shipment ", Quote(s.shipment_id), " does not exist"));
  }
  if (!shipment.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, id_field,
                   absl::StrCat("names unknown shipment ", Quote(s.shipment_id)));
  }
  if (judge_ && shipment->status == ShipmentStatus::kArrived) {
    return r_.Fail(
        Rejection::kWrongState, id_field,
        absl::StrCat("names shipment ", Quote(s.shipment_id), " which already arrived (event ",
                     Quote(shipment->arrived_by_event_id), ")"));
  }
  if (judge_ && shipment->status != ShipmentStatus::kDispatched) {
    return r_.Fail(Rejection::kWrongState, id_field,
                   absl::StrCat("names shipment ", Quote(s.shipment_id), " whose dispatch (event ",
                                Quote(shipment->dispatched_by_event_id), ") was retracted"));
  }
  if (judge_ && s.facility_id != shipment->to_facility_id) {
    return r_.Fail(Rejection::kWrongLocation, facility_field,
                   absl::StrCat(Quote(s.facility_id), " is not the destination of shipment ",
                                Quote(s.shipment_id), ", which is bound for ",
                                Quote(shipment->to_facility_id)));
  }
  LODESTONE_RETURN_IF_ERROR(ActiveFacility(facility_field, s.facility_id).status());
  std::vector<LotState> lots;
  lots.reserve(shipment->items.size());
  for (const ShipmentItem& item : shipment->items) {
    LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(item.lot_id));
    if (!lot.has_value() || lot->status != LotStatus::kInTransit ||
        lot->shipment_id != s.shipment_id) {
      return r_.Internal(absl::StrCat("lot ", Quote(item.lot_id), " of dispatched shipment ",
                                      Quote(s.shipment_id), " is not in transit on it"));
    }
    lots.push_back(*std::move(lot));
  }

  for (size_t i = 0; i < lots.size(); ++i) {
    lots[i].status = LotStatus::kActive;
    lots[i].facility_id = shipment->to_facility_id;
    lots[i].shipment_id.clear();
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(shipment->items[i].lot_id, lots[i]));
  }
  shipment->status = ShipmentStatus::kArrived;
  shipment->arrived_by_event_id = event_.event_id;
  return store_.PutShipment(s.shipment_id, *shipment);
}

absl::Status Applier::Apply(const ExportLicenceGranted& l) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LicenceState> existing, store_.GetLicence(l.licence_id));
  if (judge_ && existing.has_value() && existing->status == EntityStatus::kActive) {
    return r_.Fail(Rejection::kAlreadyExists, Field("export_licence_granted.licence_id"),
                   absl::StrCat(Quote(l.licence_id), " was already granted (event ",
                                Quote(existing->created_by_event_id), ")"));
  }
  LODESTONE_RETURN_IF_ERROR(
      ActiveParty(Field("export_licence_granted.exporter_party_id"), l.exporter_party_id).status());
  LicenceState licence;
  licence.issuing_country = l.issuing_country;
  licence.exporter_party_id = l.exporter_party_id;
  licence.quantity_g = l.quantity_g;
  licence.status = EntityStatus::kActive;
  licence.created_by_event_id = event_.event_id;
  return store_.PutLicence(l.licence_id, licence);
}

std::string_view RoleScope(Role role, std::string_view country, std::string_view principal) {
  if (role == Role::kLicensingAuthority) return country;
  if (role == Role::kDelegate) return principal;
  return {};
}

absl::Status Applier::Apply(const RoleGranted& g) {
  LODESTONE_RETURN_IF_ERROR(ActiveParty(Field("role_granted.party_id"), g.party_id).status());
  if (g.role == Role::kDelegate) {
    LODESTONE_RETURN_IF_ERROR(
        ActiveParty(Field("role_granted.principal_party_id"), g.principal_party_id).status());
  }
  const std::string_view scope = RoleScope(g.role, g.country, g.principal_party_id);
  LODESTONE_ASSIGN_OR_RETURN(bool held, store_.HasRole(g.party_id, g.role, scope));
  if (judge_ && held) {
    return r_.Fail(Rejection::kAlreadyExists, Field("role_granted.role"),
                   absl::StrCat("party ", Quote(g.party_id), " already holds this role"));
  }
  return store_.PutRole(g.party_id, g.role, scope, true);
}

absl::Status Applier::Apply(const RoleRevoked& v) {
  const std::string_view scope = RoleScope(v.role, v.country, v.principal_party_id);
  LODESTONE_ASSIGN_OR_RETURN(bool held, store_.HasRole(v.party_id, v.role, scope));
  if (judge_ && !held) {
    return r_.Fail(Rejection::kWrongState, Field("role_revoked.role"),
                   absl::StrCat("party ", Quote(v.party_id), " does not hold this role"));
  }
  return store_.PutRole(v.party_id, v.role, scope, false);
}

template <typename RoleEvent>
absl::Status Applier::RetractRoleEvent(const Event& target) {
  constexpr bool kKey = std::is_same_v<RoleEvent, SigningKeyRegistered> ||
                        std::is_same_v<RoleEvent, SigningKeyRevoked>;
  if (!judge_) return absl::OkStatus();  // refused today; a retraction committed then undid nothing
  return r_.Fail(
      Rejection::kWrongState, Field("event_retracted.retracted_event_id"),
      absl::StrCat(
          "names ", kKey ? "signing key" : "role", " event ", Quote(target.event_id), ": ",
          kKey ? "key" : "role", " events are not retracted; ",
          kKey ? "revoke or register the key instead" : "grant or revoke the role instead"));
}

absl::Status Applier::RevokeKey(const Field& field, std::string_view party_id,
                                std::string_view key_id) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<SigningKeyState> key,
                             store_.GetSigningKey(party_id, key_id));
  if (!key.has_value() && !judge_) {
    return r_.Internal(absl::StrCat("signing key ", Quote(key_id), " of party ", Quote(party_id),
                                    " does not exist"));
  }
  if (!key.has_value()) {
    return r_.Fail(
        Rejection::kUnknownEntity, field,
        absl::StrCat("names unknown signing key ", Quote(key_id), " of party ", Quote(party_id)));
  }
  const bool was_active = key->status == KeyStatus::kActive;
  if (judge_ && !was_active) {
    return r_.Fail(Rejection::kWrongState, field,
                   absl::StrCat("names signing key ", Quote(key_id), " of party ", Quote(party_id),
                                ", already revoked by event ", Quote(key->revoked_by_event_id)));
  }
  if (!was_active) return absl::OkStatus();  // committed: it stays revoked by the first
  key->status = KeyStatus::kRevoked;
  key->revoked_by_event_id = event_.event_id;
  LODESTONE_RETURN_IF_ERROR(store_.PutSigningKey(party_id, key_id, *key));
  LODESTONE_ASSIGN_OR_RETURN(PartyState party, PartyToChange(field, party_id));
  if (party.active_signing_keys > 0) --party.active_signing_keys;
  return store_.PutParty(party_id, party);
}

absl::Status Applier::Apply(const SigningKeyRegistered& k) {
  const Field party_field("signing_key_registered.party_id");
  LODESTONE_RETURN_IF_ERROR(ActiveParty(party_field, k.party_id).status());
  LODESTONE_ASSIGN_OR_RETURN(std::optional<SigningKeyState> existing,
                             store_.GetSigningKey(k.party_id, k.key_id));
  if (judge_ && existing.has_value()) {
    return r_.Fail(Rejection::kAlreadyExists, Field("signing_key_registered.key_id"),
                   absl::StrCat("names key ", Quote(k.key_id), " of party ", Quote(k.party_id),
                                ", registered by event ", Quote(existing->registered_by_event_id),
                                ": key ids are never reused"));
  }
  if (!k.replaces_key_id.empty()) {
    LODESTONE_RETURN_IF_ERROR(
        RevokeKey(Field("signing_key_registered.replaces_key_id"), k.party_id, k.replaces_key_id));
  }
  SigningKeyState key;
  key.public_key = k.public_key;
  key.status = KeyStatus::kActive;
  key.registered_by_event_id = event_.event_id;
  LODESTONE_RETURN_IF_ERROR(store_.PutSigningKey(k.party_id, k.key_id, key));
  LODESTONE_ASSIGN_OR_RETURN(PartyState party, PartyToChange(party_field, k.party_id));
  ++party.active_signing_keys;
  return store_.PutParty(k.party_id, party);
}

absl::Status Applier::Apply(const SigningKeyRevoked& k) {
  return RevokeKey(Field("signing_key_revoked.key_id"), k.party_id, k.key_id);
}

absl::Status Applier::Apply(const EventRetracted& e) {
  const Field target_field("event_retracted.retracted_event_id");
  LODESTONE_ASSIGN_OR_RETURN(std::optional<Event> target, store_.FindEvent(e.retracted_event_id));
  if (!target.has_value() && !judge_) {
    return r_.Internal(
        absl::StrCat("retracted event ", Quote(e.retracted_event_id), " is not in the log"));
  }
  if (!target.has_value()) {
    return r_.Fail(Rejection::kUnknownEntity, target_field,
                   absl::StrCat("names unknown event ", Quote(e.retracted_event_id)));
  }
  if (!judge_) {
    // Effects only once, and none for a retraction of a retraction (refused by every build).
    LODESTONE_ASSIGN_OR_RETURN(bool done, store_.IsRetracted(e.retracted_event_id));
    if (done || std::holds_alternative<EventRetracted>(target->payload)) return absl::OkStatus();
  }
  if (std::holds_alternative<EventRetracted>(target->payload)) {
    return r_.Fail(Rejection::kWrongState, target_field,
                   absl::StrCat("names event ", Quote(e.retracted_event_id),
                                ", itself a retraction: retractions cannot be retracted"));
  }
  LODESTONE_ASSIGN_OR_RETURN(bool already, store_.IsRetracted(e.retracted_event_id));
  if (already) {
    return r_.Fail(
        Rejection::kWrongState, target_field,
        absl::StrCat("names event ", Quote(e.retracted_event_id), ", which is already retracted"));
  }
  if (judge_ && event_.subject != target->subject) {
    return r_.Fail(
        Rejection::kMalformed, Field("subject"),
        absl::StrCat(Quote(event_.subject), " must equal the subject ", Quote(target->subject),
                     " of the retracted event ", Quote(e.retracted_event_id)));
  }
  const absl::Status effects = std::visit(
      [&](const auto& payload) -> absl::Status {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, EventRetracted>) {
          return r_.Internal(
              absl::StrCat("recorded event ", Quote(e.retracted_event_id), " cannot be retracted"));
        } else {
          return Retract(*target, payload);
        }
      },
      target->payload);
  LODESTONE_RETURN_IF_ERROR(effects);
  return store_.MarkRetracted(e.retracted_event_id);
}

absl::Status Applier::Retract(const Event& target, const PartyRegistered& p) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> party, store_.GetParty(p.party_id));
  if (!party.has_value() || party->status != EntityStatus::kActive ||
      party->created_by_event_id != target.event_id) {
    return r_.Internal(absl::StrCat("party ", Quote(p.party_id), " is not the one registered by ",
                                    Quote(target.event_id)));
  }
  party->status = EntityStatus::kRetracted;
  return store_.PutParty(p.party_id, *party);
}

absl::Status Applier::Retract(const Event& target, const FacilityRegistered& f) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<FacilityState> facility,
                             store_.GetFacility(f.facility_id));
  if (!facility.has_value() || facility->status != EntityStatus::kActive ||
      facility->created_by_event_id != target.event_id) {
    return r_.Internal(absl::StrCat("facility ", Quote(f.facility_id),
                                    " is not the one registered by ", Quote(target.event_id)));
  }
  facility->status = EntityStatus::kRetracted;
  return store_.PutFacility(f.facility_id, *facility);
}

absl::Status Applier::Retract(const Event& target, const ExportLicenceGranted& l) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LicenceState> licence, store_.GetLicence(l.licence_id));
  if (!licence.has_value() || licence->status != EntityStatus::kActive ||
      licence->created_by_event_id != target.event_id) {
    return r_.Internal(absl::StrCat("licence ", Quote(l.licence_id), " is not the one granted by ",
                                    Quote(target.event_id)));
  }
  licence->status = EntityStatus::kRetracted;
  return store_.PutLicence(l.licence_id, *licence);
}

absl::StatusOr<LotState> Applier::CreatedLot(const Event& target, std::string_view lot_id) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(lot_id));
  if (!lot.has_value() || lot->status == LotStatus::kRetracted ||
      lot->created_by_event_id != target.event_id) {
    return r_.Internal(
        absl::StrCat("lot ", Quote(lot_id), " is not the one created by ", Quote(target.event_id)));
  }
  if (judge_ && lot->status == LotStatus::kInTransit) {
    return r_.Fail(Rejection::kWrongState, Field("event_retracted.retracted_event_id"),
                   absl::StrCat("names event ", Quote(target.event_id), " that created lot ",
                                Quote(lot_id), ", which is in transit on shipment ",
                                Quote(lot->shipment_id), ": retract the dispatch first"));
  }
  return *std::move(lot);
}

absl::Status Applier::Retract(const Event& target, const LotExtracted& l) {
  LODESTONE_ASSIGN_OR_RETURN(LotState lot, CreatedLot(target, l.lot_id));
  lot.status = LotStatus::kRetracted;  // mass_g and remaining_g kept: consumption survives
  return store_.PutLot(l.lot_id, lot);
}

absl::Status Applier::Retract(const Event& target, const LotRegistered& l) {
  LODESTONE_ASSIGN_OR_RETURN(LotState lot, CreatedLot(target, l.lot_id));
  lot.status = LotStatus::kRetracted;
  return store_.PutLot(l.lot_id, lot);
}

absl::Status Applier::Retract(const Event& target, const LotTransformed& t) {
  std::vector<LotState> outputs;
  outputs.reserve(t.outputs.size());
  for (const LotOutput& o : t.outputs) {
    LODESTONE_ASSIGN_OR_RETURN(LotState lot, CreatedLot(target, o.lot_id));
    outputs.push_back(std::move(lot));
  }
  std::vector<LotState> inputs;
  inputs.reserve(t.inputs.size());
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    const LotInput& in = t.inputs[i];
    LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(in.lot_id));
    if (!lot.has_value() && !judge_) {
      return r_.Internal(absl::StrCat("input lot ", Quote(in.lot_id), " does not exist"));
    }
    if (!lot.has_value()) {
      return r_.Fail(Rejection::kUnknownEntity, Field("event_retracted.retracted_event_id"),
                     absl::StrCat("names event ", Quote(target.event_id), " whose input lot ",
                                  Quote(in.lot_id), " no longer exists"));
    }
    if (lot->remaining_g + in.mass_g > lot->mass_g) {
      return r_.Internal(absl::StrCat("restoring ", in.mass_g, " g to lot ", Quote(in.lot_id),
                                      " would exceed its mass (", lot->remaining_g, " of ",
                                      lot->mass_g, " g remaining)"));
    }
    inputs.push_back(*std::move(lot));
  }

  for (size_t i = 0; i < t.outputs.size(); ++i) {
    outputs[i].status = LotStatus::kRetracted;
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(t.outputs[i].lot_id, outputs[i]));
  }
  for (size_t i = 0; i < t.inputs.size(); ++i) {
    inputs[i].remaining_g += t.inputs[i].mass_g;
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(t.inputs[i].lot_id, inputs[i]));
  }
  // The transformation id becomes free because its event is marked retracted (see Apply above).
  return absl::OkStatus();
}

absl::Status Applier::Retract(const Event& target, const ShipmentDispatched& s) {
  LODESTONE_ASSIGN_OR_RETURN(std::optional<ShipmentState> shipment,
                             store_.GetShipment(s.shipment_id));
  if (!shipment.has_value() || shipment->dispatched_by_event_id != target.event_id ||
      shipment->status == ShipmentStatus::kRetracted) {
    return r_.Internal(absl::StrCat("shipment ", Quote(s.shipment_id),
                                    " is not the one dispatched by ", Quote(target.event_id)));
  }
  if (judge_ && shipment->status == ShipmentStatus::kArrived) {
    return r_.Fail(Rejection::kWrongState, Field("event_retracted.retracted_event_id"),
                   absl::StrCat("names the dispatch of shipment ", Quote(s.shipment_id),
                                ", which arrived (event ", Quote(shipment->arrived_by_event_id),
                                "): retract the arrival first"));
  }
  std::vector<LotState> lots;
  lots.reserve(shipment->items.size());
  for (const ShipmentItem& item : shipment->items) {
    LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(item.lot_id));
    if (!lot.has_value() || lot->status != LotStatus::kInTransit ||
        lot->shipment_id != s.shipment_id) {
      return r_.Internal(absl::StrCat("lot ", Quote(item.lot_id), " of dispatched shipment ",
                                      Quote(s.shipment_id), " is not in transit on it"));
    }
    lots.push_back(*std::move(lot));
  }

  for (size_t i = 0; i < lots.size(); ++i) {
    lots[i].status = LotStatus::kActive;
    lots[i].facility_id = shipment->from_facility_id;
    lots[i].shipment_id.clear();
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(shipment->items[i].lot_id, lots[i]));
  }
  shipment->status = ShipmentStatus::kRetracted;
  return store_.PutShipment(s.shipment_id, *shipment);
}

absl::Status Applier::Retract(const Event& target, const ShipmentArrived& s) {
  const Field target_field("event_retracted.retracted_event_id");
  LODESTONE_ASSIGN_OR_RETURN(std::optional<ShipmentState> shipment,
                             store_.GetShipment(s.shipment_id));
  if (!shipment.has_value() || shipment->status != ShipmentStatus::kArrived ||
      shipment->arrived_by_event_id != target.event_id) {
    return r_.Internal(absl::StrCat("shipment ", Quote(s.shipment_id), " did not arrive by event ",
                                    Quote(target.event_id)));
  }
  std::vector<LotState> lots;
  lots.reserve(shipment->items.size());
  for (const ShipmentItem& item : shipment->items) {
    LODESTONE_ASSIGN_OR_RETURN(std::optional<LotState> lot, store_.GetLot(item.lot_id));
    if (!lot.has_value()) {
      return r_.Internal(absl::StrCat("lot ", Quote(item.lot_id), " of shipment ",
                                      Quote(s.shipment_id), " does not exist"));
    }
    if (judge_ &&
        (lot->status != LotStatus::kActive || lot->facility_id != shipment->to_facility_id)) {
      return r_.Fail(
          Rejection::kWrongState, target_field,
          absl::StrCat("names the arrival of shipment ", Quote(s.shipment_id), " whose lot ",
                       Quote(item.lot_id), " is no longer at ", Quote(shipment->to_facility_id),
                       ": retract what moved or retracted it first"));
    }
    if (judge_ && lot->remaining_g < item.mass_g) {
      return r_.Fail(Rejection::kWrongState, target_field,
                     absl::StrCat("names the arrival of shipment ", Quote(s.shipment_id),
                                  " whose lot ", Quote(item.lot_id), " was consumed at ",
                                  Quote(shipment->to_facility_id), " (", lot->remaining_g, " of ",
                                  item.mass_g, " g left): retract the transformations first"));
    }
    lots.push_back(*std::move(lot));
  }

  for (size_t i = 0; i < lots.size(); ++i) {
    lots[i].status = LotStatus::kInTransit;
    lots[i].facility_id = shipment->from_facility_id;
    lots[i].shipment_id = s.shipment_id;
    LODESTONE_RETURN_IF_ERROR(store_.PutLot(shipment->items[i].lot_id, lots[i]));
  }
  shipment->status = ShipmentStatus::kDispatched;
  shipment->arrived_by_event_id.clear();
  return store_.PutShipment(s.shipment_id, *shipment);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

bool IsWellFormedId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), IsIdChar);
}

bool IsEpcisEventHash(std::string_view hash) {
  constexpr std::string_view kPrefix = "ni:///sha-256;";
  constexpr std::string_view kSuffix = "?ver=CBV2.0";
  if (hash.size() != kPrefix.size() + 64 + kSuffix.size() || !hash.starts_with(kPrefix) ||
      !hash.ends_with(kSuffix)) {
    return false;
  }
  const std::string_view hex = hash.substr(kPrefix.size(), 64);
  return std::all_of(hex.begin(), hex.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<SubjectRef> ParseSubject(std::string_view subject) {
  const size_t slash = subject.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  SubjectRef ref{subject.substr(0, slash), subject.substr(slash + 1)};
  if (std::find(std::begin(kSubjectKinds), std::end(kSubjectKinds), ref.kind) ==
      std::end(kSubjectKinds)) {
    return std::nullopt;
  }
  if (!IsWellFormedId(ref.id)) return std::nullopt;
  return ref;
}

absl::Time EarliestAcceptedTime() { return absl::FromUnixSeconds(-2208988800); }

absl::Time LatestAcceptedTime() {
  return absl::FromUnixSeconds(253402300799) + absl::Nanoseconds(999999999);
}

absl::Status CheckEventTimes(const Event& event, absl::Time commit_time,
                             absl::Duration max_future_skew) {
  const Rejector r(event);
  auto in_range = [&](std::string_view field, absl::Time time) -> absl::Status {
    if (time < EarliestAcceptedTime() || time > LatestAcceptedTime()) {
      return r.Fail(
          Rejection::kMalformed, Field(field),
          absl::StrCat(TimeText(time), " is outside the accepted range ",
                       TimeText(EarliestAcceptedTime()), " .. ", TimeText(LatestAcceptedTime())));
    }
    return absl::OkStatus();
  };
  LODESTONE_RETURN_IF_ERROR(in_range("event_time", event.event_time));
  if (event.event_time > commit_time + max_future_skew) {
    return r.Fail(
        Rejection::kMalformed, Field("event_time"),
        absl::StrCat(TimeText(event.event_time), " is later than the ledger's commit time ",
                     TimeText(commit_time), " plus the allowed skew of ",
                     absl::FormatDuration(max_future_skew)));
  }
  if (const auto* licence = std::get_if<ExportLicenceGranted>(&event.payload)) {
    if (licence->valid_from != absl::InfinitePast()) {
      LODESTONE_RETURN_IF_ERROR(in_range("export_licence_granted.valid_from", licence->valid_from));
    }
    if (licence->valid_until != absl::InfiniteFuture()) {
      LODESTONE_RETURN_IF_ERROR(
          in_range("export_licence_granted.valid_until", licence->valid_until));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEvent(const Event& event) {
  const Rejector r(event);
  LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("event_id"), event.event_id));
  if (event.event_time == absl::InfinitePast() || event.event_time == absl::InfiniteFuture()) {
    return r.Fail(Rejection::kMalformed, Field("event_time"), "must be given");
  }
  if (event.actor.empty() || event.actor.size() > kMaxIdBytes) {
    return r.Fail(Rejection::kMalformed, Field("actor"),
                  absl::StrCat("must be 1..", kMaxIdBytes, " bytes, got ", event.actor.size()));
  }
  if (!event.attested_by.empty()) {
    LODESTONE_RETURN_IF_ERROR(CheckId(r, Field("attested_by"), event.attested_by));
  }
  if (!event.epcis_event_hash.empty() && !IsEpcisEventHash(event.epcis_event_hash)) {
    return r.Fail(Rejection::kMalformed, Field("epcis_event_hash"),
                  "must be a CBV 2.0 event hash \"ni:///sha-256;<64 hex>?ver=CBV2.0\"");
  }
  if (!event.epcis_event_id.empty()) {
    const bool printable = std::all_of(event.epcis_event_id.begin(), event.epcis_event_id.end(),
                                       [](char c) { return c > ' ' && c < 0x7f; });
    if (event.epcis_event_hash.empty() || !printable ||
        event.epcis_event_id.size() > kMaxEpcisEventIdBytes) {
      return r.Fail(Rejection::kMalformed, Field("epcis_event_id"),
                    absl::StrCat("must be 1..", kMaxEpcisEventIdBytes,
                                 " printable ASCII bytes, with an epcis_event_hash"));
    }
  }
  if (std::holds_alternative<std::monostate>(event.payload)) {
    return r.Fail(Rejection::kMalformed, Field("payload"), "must be set");
  }
  LODESTONE_RETURN_IF_ERROR(CheckSignatureFields(r, event));
  const std::optional<SubjectRef> subject = ParseSubject(event.subject);
  if (!subject.has_value()) {
    return r.Fail(Rejection::kMalformed, Field("subject"),
                  absl::StrCat("must be \"<kind>/<id>\" with kind one of party, facility, lot, "
                               "shipment, licence and a well-formed id, got ",
                               Quote(event.subject)));
  }
  const absl::Status fields = std::visit(
      [&](const auto& payload) -> absl::Status {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return absl::OkStatus();  // rejected above
        } else if constexpr (std::is_same_v<T, EventRetracted>) {
          return CheckFields(r, payload, event);
        } else {
          return CheckFields(r, payload);
        }
      },
      event.payload);
  LODESTONE_RETURN_IF_ERROR(fields);
  return CheckSubjectConcerns(r, event, *subject);
}

namespace {

// Who may say what (docs/security.md): the attester acts for the actor, and the actor may say
// this. References to entities that do not exist are left to the Applier (NOT_FOUND).
class Authorizer {
 public:
  Authorizer(const Event& event, StateStore& store) : event_(event), r_(event), store_(store) {}

  absl::Status Check(const Authority& authority) {
    const std::string& caller = event_.attested_by;
    if (caller.empty()) return absl::OkStatus();  // committed before attestation existed
    if (!authority.admin_party.empty() && caller == authority.admin_party) {
      return CheckSignatureKey(caller);  // the administrator may say anything for anyone
    }
    if (caller != event_.actor) {
      LODESTONE_ASSIGN_OR_RETURN(bool delegate,
                                 store_.HasRole(caller, Role::kDelegate, event_.actor));
      if (!delegate) {
        return Deny("actor", absl::StrCat(Quote(caller), " may not append on behalf of ",
                                          Quote(event_.actor), ": it is not its delegate"));
      }
    }
    LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> actor, store_.GetParty(event_.actor));
    if (!actor.has_value() || actor->status != EntityStatus::kActive) {
      return Deny("actor",
                  absl::StrCat("actor ", Quote(event_.actor), " is not a registered party"));
    }
    LODESTONE_RETURN_IF_ERROR(CheckSignatureKey(caller));
    return std::visit([this](const auto& payload) { return May(payload); }, event_.payload);
  }

 private:
  absl::Status Deny(std::string_view rule, std::string_view why) const {
    return r_.Fail(Rejection::kPermissionDenied, Field("actor"),
                   absl::StrCat(ToAbsl(why), " (rule: ", ToAbsl(rule), ")"));
  }

  // A signed event names an active key of its attester; an attester with an active key signs.
  absl::Status CheckSignatureKey(const std::string& attester) {
    const EventSignature& signature = event_.signature;
    if (signature.empty()) {
      LODESTONE_ASSIGN_OR_RETURN(std::optional<PartyState> party, store_.GetParty(attester));
      if (party.has_value() && party->active_signing_keys > 0) {
        return DenySignature(absl::StrCat(Quote(attester),
                                          " has a registered signing key: its events must be "
                                          "signed"));
      }
      return absl::OkStatus();
    }
    LODESTONE_ASSIGN_OR_RETURN(std::optional<SigningKeyState> key,
                               store_.GetSigningKey(attester, signature.key_id));
    if (!key.has_value()) {
      return DenySignature(absl::StrCat("signing key ", Quote(signature.key_id),
                                        " is not a key of ", Quote(attester)));
    }
    if (key->status != KeyStatus::kActive) {
      return DenySignature(absl::StrCat("signing key ", Quote(signature.key_id), " of ",
                                        Quote(attester), " was revoked by event ",
                                        Quote(key->revoked_by_event_id)));
    }
    return absl::OkStatus();
  }

  absl::Status DenySignature(std::string_view why) const {
    return r_.Fail(Rejection::kPermissionDenied, Field("signature"),
                   absl::StrCat(ToAbsl(why), " (rule: signature)"));
  }

  absl::Status Registrar(std::string_view what) {
    LODESTONE_ASSIGN_OR_RETURN(bool held, store_.HasRole(event_.actor, Role::kRegistrar, ""));
    if (held) return absl::OkStatus();
    return Deny("registrar", absl::StrCat(Quote(event_.actor), " is not a registrar and may not ",
                                          ToAbsl(what)));
  }

  absl::Status Operates(std::string_view facility_id, std::string_view what) {
    LODESTONE_ASSIGN_OR_RETURN(std::optional<FacilityState> facility,
                               store_.GetFacility(facility_id));
    if (!facility.has_value() || facility->operator_party_id == event_.actor) {
      return absl::OkStatus();
    }
    return Deny("operator", absl::StrCat(Quote(event_.actor), " may not ", ToAbsl(what),
                                         " facility ", Quote(facility_id), ", operated by ",
                                         Quote(facility->operator_party_id)));
  }

  absl::Status May(const std::monostate&) { return absl::OkStatus(); }
  absl::Status May(const PartyRegistered&) { return Registrar("register parties"); }
  absl::Status May(const FacilityRegistered&) { return Registrar("register facilities"); }
  absl::Status May(const LotExtracted& l) { return Operates(l.facility_id, "extract lots at"); }
  absl::Status May(const LotRegistered& l) { return Operates(l.facility_id, "register lots at"); }
  absl::Status May(const LotTransformed& t) { return Operates(t.facility_id, "transform lots at"); }
  absl::Status May(const ShipmentDispatched& s) {
    return Operates(s.from_facility_id, "dispatch from");
  }
  absl::Status May(const ShipmentArrived& s) {
    return Operates(s.facility_id, "record arrivals at");
  }
  absl::Status May(const ExportLicenceGranted& l) {
    LODESTONE_ASSIGN_OR_RETURN(
        bool held, store_.HasRole(event_.actor, Role::kLicensingAuthority, l.issuing_country));
    if (held) return absl::OkStatus();
    return Deny("licensing_authority",
                absl::StrCat(Quote(event_.actor), " is not the licensing authority of ",
                             l.issuing_country, " and may not grant its export licences"));
  }
  template <typename RoleEvent>
  absl::Status MayChangeRole(const RoleEvent& e) {
    // A party may name (or dismiss) its own delegates; every other role is the registrar's.
    if (e.role == Role::kDelegate && e.principal_party_id == event_.actor) {
      return absl::OkStatus();
    }
    return Registrar("grant or revoke roles");
  }
  absl::Status May(const RoleGranted& g) { return MayChangeRole(g); }
  absl::Status May(const RoleRevoked& v) { return MayChangeRole(v); }
  absl::Status May(const SigningKeyRegistered&) { return Registrar("register signing keys"); }
  absl::Status May(const SigningKeyRevoked&) { return Registrar("revoke signing keys"); }
  absl::Status May(const EventRetracted& e) {
    LODESTONE_ASSIGN_OR_RETURN(std::optional<Event> target, store_.FindEvent(e.retracted_event_id));
    if (!target.has_value() || target->actor == event_.actor) return absl::OkStatus();
    return Deny("own_events", absl::StrCat(Quote(event_.actor), " may not retract event ",
                                           Quote(e.retracted_event_id), " of ",
                                           Quote(target->actor), ": only its own"));
  }

  const Event& event_;
  const Rejector r_;
  StateStore& store_;
};

}  // namespace

namespace {

absl::Status RunApplier(const Event& event, StateStore& store, bool judge) {
  Applier applier(event, store, judge);
  return std::visit(
      [&](const auto& payload) -> absl::Status {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return absl::InternalError(absl::StrCat("event '", event.event_id, "' has no payload"));
        } else {
          return applier.Apply(payload);
        }
      },
      event.payload);
}

}  // namespace

absl::Status ApplyEvent(const Event& event, StateStore& store, const Authority& authority) {
  LODESTONE_RETURN_IF_ERROR(ValidateEvent(event));
  LODESTONE_RETURN_IF_ERROR(Authorizer(event, store).Check(authority));
  return RunApplier(event, store, /*judge=*/true);
}

absl::Status ApplyCommittedEvent(const Event& event, StateStore& store) {
  return RunApplier(event, store, /*judge=*/false);
}

bool IsPartyTo(const Event& event, std::string_view party,
               const std::function<std::string(std::string_view facility_id)>& operator_of,
               const std::function<std::optional<Event>(std::string_view event_id)>& find_event) {
  if (party.empty()) return false;
  if (event.attested_by == party || event.actor == party) return true;
  auto operates = [&](std::string_view facility_id) {
    return !facility_id.empty() && operator_of(facility_id) == party;
  };
  return std::visit(
      [&](const auto& p) -> bool {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, PartyRegistered>) {
          return p.party_id == party || p.parent_party_id == party;
        } else if constexpr (std::is_same_v<T, FacilityRegistered>) {
          return p.operator_party_id == party;
        } else if constexpr (std::is_same_v<T, LotExtracted> || std::is_same_v<T, LotRegistered> ||
                             std::is_same_v<T, LotTransformed>) {
          return operates(p.facility_id);
        } else if constexpr (std::is_same_v<T, ShipmentDispatched>) {
          return operates(p.from_facility_id) || operates(p.to_facility_id);
        } else if constexpr (std::is_same_v<T, ShipmentArrived>) {
          return operates(p.facility_id);
        } else if constexpr (std::is_same_v<T, ExportLicenceGranted>) {
          return p.exporter_party_id == party || p.end_user_party_id == party;
        } else if constexpr (std::is_same_v<T, RoleGranted> || std::is_same_v<T, RoleRevoked>) {
          return p.party_id == party || p.principal_party_id == party;
        } else if constexpr (std::is_same_v<T, SigningKeyRegistered> ||
                             std::is_same_v<T, SigningKeyRevoked>) {
          return p.party_id == party;
        } else if constexpr (std::is_same_v<T, EventRetracted>) {
          std::optional<Event> target = find_event(p.retracted_event_id);
          return target.has_value() && !std::holds_alternative<EventRetracted>(target->payload) &&
                 IsPartyTo(*target, party, operator_of, find_event);
        } else {
          return false;
        }
      },
      event.payload);
}

}  // namespace lodestone::domain
