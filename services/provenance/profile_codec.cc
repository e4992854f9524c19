#include "services/provenance/profile_codec.h"

#include <cstring>

#include "services/base/coding.h"

namespace lodestone::provenance {
namespace {

void SharesToProto(const domain::Distribution& distribution,
                   google::protobuf::RepeatedPtrField<v1::Share>* out) {
  for (const auto& entry : distribution) {
    auto* share = out->Add();
    share->set_key(entry.key);
    share->set_share(entry.share);
  }
}

domain::Distribution SharesFromProto(const google::protobuf::RepeatedPtrField<v1::Share>& in) {
  domain::Distribution out;
  out.reserve(in.size());
  for (const auto& share : in) out.push_back({share.key(), share.share()});
  return out;
}

}  // namespace

void ProfileToProto(const domain::OriginProfile& profile, v1::OriginProfile* proto) {
  proto->Clear();
  for (domain::Stage stage : domain::AllStages()) {
    const auto& distribution = profile.stage(stage);
    if (distribution.empty()) continue;
    auto* stage_shares = proto->add_stages();
    stage_shares->set_stage(StageToProto(stage));
    stage_shares->set_coverage(domain::StageCoverage(profile, stage));
    SharesToProto(distribution, stage_shares->mutable_countries());
  }
  proto->set_customs_origin(profile.customs_origin);
  for (const auto& entry : profile.route) {
    auto* route = proto->add_route();
    route->set_country(entry.country);
    route->set_role(RoleToProto(entry.role));
    route->set_share(entry.share);
  }
  SharesToProto(profile.regions, proto->mutable_regions());
  SharesToProto(profile.parties, proto->mutable_parties());
  auto* value = proto->mutable_value();
  value->set_available(profile.value.total.has_value() &&
                       profile.value.gap == domain::ValueGap::kNone);
  value->set_gap(std::string(domain::ValueGapName(profile.value.gap)));
  if (profile.value.total.has_value()) {
    value->set_has_total(true);
    value->set_total_minor(profile.value.total->minor);
    value->set_currency(profile.value.total->currency);
    value->set_mass_g(profile.value.total->mass_g);
  }
  SharesToProto(profile.value.stage(domain::Stage::kMining), value->mutable_by_mining_country());
  for (domain::Stage stage : domain::AllStages()) {
    const auto& distribution = profile.value.stage(stage);
    if (distribution.empty()) continue;
    auto* stage_shares = value->add_by_stage();
    stage_shares->set_stage(StageToProto(stage));
    stage_shares->set_coverage(domain::ValueStageCoverage(profile, stage));
    SharesToProto(distribution, stage_shares->mutable_countries());
  }
}

domain::OriginProfile ProfileFromProto(const v1::OriginProfile& proto) {
  domain::OriginProfile profile;
  for (const auto& stage_shares : proto.stages()) {
    const int index = static_cast<int>(stage_shares.stage()) - 1;
    if (index < 0 || index >= domain::kStageCount) continue;
    profile.stages[index] = SharesFromProto(stage_shares.countries());
  }
  profile.customs_origin = proto.customs_origin();
  for (const auto& route : proto.route()) {
    profile.route.push_back({route.country(),
                             static_cast<domain::RouteRole>(static_cast<int>(route.role()) - 1),
                             route.share()});
  }
  profile.regions = SharesFromProto(proto.regions());
  profile.parties = SharesFromProto(proto.parties());
  const auto& value = proto.value();
  if (value.has_total()) {
    profile.value.total = domain::LotValue{value.total_minor(), value.currency(), value.mass_g()};
  }
  for (int gap = 0; gap <= 2; ++gap) {
    if (domain::ValueGapName(static_cast<domain::ValueGap>(gap)) == value.gap()) {
      profile.value.gap = static_cast<domain::ValueGap>(gap);
    }
  }
  for (const auto& stage_shares : value.by_stage()) {
    const int index = static_cast<int>(stage_shares.stage()) - 1;
    if (index < 0 || index >= domain::kStageCount) continue;
    profile.value.by_stage[index] = SharesFromProto(stage_shares.countries());
  }
  if (value.by_stage().empty()) {  // from a peer that sends mining value shares only
    profile.value.by_stage[0] = SharesFromProto(value.by_mining_country());
  }
  return profile;
}

// Binary profile, version 2 (persisted in views: change only with a new view format version):
//   u8 version=2
//   7 x distribution (stages in order)    distribution = varint n, n x (string key, f64 share)
//   string customs_origin                 string = varint length, bytes
//   varint n, n x (string country, u8 role, f64 share)   the route
//   distribution regions, distribution parties
//   u8 flags (bit 0: has total value), u8 value gap
//   if has total: varint zigzag minor, string currency, varint zigzag mass_g
//   7 x distribution (value shares, stages in order)
// f64 is the IEEE-754 double's 8 bytes, little endian. Version 1 (view formats up to 6) had one
// value distribution, by mining country; stores of those formats are folded again on open, so
// it is never read.
namespace {

void PutString(std::string& out, std::string_view text) { coding::PutLengthPrefixed(out, text); }

void PutDouble(std::string& out, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void PutDistribution(std::string& out, const domain::Distribution& distribution) {
  coding::PutVarint64(out, distribution.size());
  for (const auto& entry : distribution) {
    PutString(out, entry.key);
    PutDouble(out, entry.share);
  }
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Varint(uint64_t& value) { return coding::GetVarint64(bytes_, value); }
  bool String(std::string& out) {
    uint64_t size;
    if (!Varint(size) || size > bytes_.size()) return false;
    out.assign(bytes_.data(), size);
    bytes_.remove_prefix(size);
    return true;
  }
  bool Byte(uint8_t& out) {
    if (bytes_.empty()) return false;
    out = static_cast<uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return true;
  }
  bool Double(double& out) {
    if (bytes_.size() < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[i])) << (8 * i);
    bytes_.remove_prefix(8);
    std::memcpy(&out, &bits, sizeof(out));
    return true;
  }
  bool Distribution(domain::Distribution& out) {
    uint64_t n;
    if (!Varint(n) || n > bytes_.size()) return false;
    out.resize(n);
    for (auto& entry : out) {
      if (!String(entry.key) || !Double(entry.share)) return false;
    }
    return true;
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

}  // namespace

std::string EncodeProfile(const domain::OriginProfile& profile) {
  std::string out;
  out.reserve(256);
  out.push_back(2);
  for (const auto& stage : profile.stages) PutDistribution(out, stage);
  PutString(out, profile.customs_origin);
  coding::PutVarint64(out, profile.route.size());
  for (const auto& entry : profile.route) {
    PutString(out, entry.country);
    out.push_back(static_cast<char>(entry.role));
    PutDouble(out, entry.share);
  }
  PutDistribution(out, profile.regions);
  PutDistribution(out, profile.parties);
  const auto& value = profile.value;
  out.push_back(static_cast<char>(value.total.has_value() ? 1 : 0));
  out.push_back(static_cast<char>(value.gap));
  if (value.total.has_value()) {
    coding::PutVarint64(out, coding::ZigZag(value.total->minor));
    PutString(out, value.total->currency);
    coding::PutVarint64(out, coding::ZigZag(value.total->mass_g));
  }
  for (const auto& stage : value.by_stage) PutDistribution(out, stage);
  return out;
}

absl::StatusOr<domain::OriginProfile> DecodeProfile(std::string_view bytes) {
  const auto corrupt = [] { return absl::DataLossError("stored origin profile does not decode"); };
  Reader in(bytes);
  uint8_t version;
  if (!in.Byte(version) || version != 2) return corrupt();
  domain::OriginProfile profile;
  for (auto& stage : profile.stages) {
    if (!in.Distribution(stage)) return corrupt();
  }
  if (!in.String(profile.customs_origin)) return corrupt();
  uint64_t routes;
  if (!in.Varint(routes) || routes > bytes.size()) return corrupt();
  profile.route.resize(routes);
  for (auto& entry : profile.route) {
    uint8_t role;
    if (!in.String(entry.country) || !in.Byte(role) || role > 3 || !in.Double(entry.share)) {
      return corrupt();
    }
    entry.role = static_cast<domain::RouteRole>(role);
  }
  if (!in.Distribution(profile.regions) || !in.Distribution(profile.parties)) return corrupt();
  uint8_t flags, gap;
  if (!in.Byte(flags) || !in.Byte(gap) || gap > 2) return corrupt();
  profile.value.gap = static_cast<domain::ValueGap>(gap);
  if (flags & 1) {
    uint64_t minor, mass;
    domain::LotValue total;
    if (!in.Varint(minor) || !in.String(total.currency) || !in.Varint(mass)) return corrupt();
    total.minor = coding::UnZigZag(minor);
    total.mass_g = coding::UnZigZag(mass);
    profile.value.total = std::move(total);
  }
  for (auto& stage : profile.value.by_stage) {
    if (!in.Distribution(stage)) return corrupt();
  }
  if (!in.done()) return corrupt();
  return profile;
}

}  // namespace lodestone::provenance
