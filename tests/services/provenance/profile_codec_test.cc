// The compact profile encoding the views store: exact round trips, and damaged bytes refused.
#include "services/provenance/profile_codec.h"

#include <gtest/gtest.h>

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;

d::OriginProfile RichProfile() {
  d::OriginProfile profile;
  profile.stages[0] = {{"CN", 0.25}, {"US", 0.70000000000000007}, {"??", 0.05}};
  profile.stages[1] = {{"MY", 1.0 / 3}};
  profile.customs_origin = "JP";
  profile.route = {{"CN", d::RouteRole::kMined, 0.25}, {"TH", d::RouteRole::kStored, 1}};
  profile.regions = {{"CN-XJ", 1e-9}};
  profile.parties = {{"party-1", 0.5}, {"(other)", 0.125}};
  profile.value.total = d::LotValue{-123456789, "USD", 42};
  profile.value.gap = d::ValueGap::kCurrencyMismatch;
  profile.value.by_stage[0] = {{"BO", 0.6}};
  profile.value.by_stage[1] = {{"CN", 0.1 + 0.2}, {"MY", 0.25}};
  return profile;
}

TEST(ProfileCodecTest, RoundTripIsExactToTheBit) {
  const d::OriginProfile profile = RichProfile();
  auto decoded = DecodeProfile(EncodeProfile(profile));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, profile);
  auto empty = DecodeProfile(EncodeProfile(d::OriginProfile()));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, d::OriginProfile());
}

TEST(ProfileCodecTest, ValueSharesPerStageSurviveTheProtoForm) {
  const d::OriginProfile profile = RichProfile();
  v1::OriginProfile proto;
  ProfileToProto(profile, &proto);
  ASSERT_EQ(proto.value().by_stage_size(), 2);
  EXPECT_EQ(proto.value().by_stage(1).stage(), v1::STAGE_SEPARATION);
  EXPECT_DOUBLE_EQ(proto.value().by_stage(1).coverage(), 0.1 + 0.2 + 0.25);
  ASSERT_EQ(proto.value().by_mining_country_size(), 1);
  EXPECT_EQ(proto.value().by_mining_country(0).key(), "BO");
  EXPECT_EQ(ProfileFromProto(proto).value.by_stage, profile.value.by_stage);
}

TEST(ProfileCodecTest, TruncatedOrExtendedBytesAreDataLoss) {
  const std::string bytes = EncodeProfile(RichProfile());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(DecodeProfile(bytes.substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeProfile(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string wrong_version = bytes;
  wrong_version[0] = 1;  // view format 6 and earlier: one value distribution
  EXPECT_EQ(DecodeProfile(wrong_version).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace lodestone::provenance
