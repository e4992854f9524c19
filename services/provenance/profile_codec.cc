#include "services/provenance/profile_codec.h"

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
  SharesToProto(profile.value.by_mining_country, value->mutable_by_mining_country());
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
  profile.value.by_mining_country = SharesFromProto(value.by_mining_country());
  return profile;
}

}  // namespace lodestone::provenance
