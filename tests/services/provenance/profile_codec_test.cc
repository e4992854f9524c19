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
  profile.value.by_mining_country = {{"BO", 0.6}};
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

TEST(ProfileCodecTest, TruncatedOrExtendedBytesAreDataLoss) {
  const std::string bytes = EncodeProfile(RichProfile());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(DecodeProfile(bytes.substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeProfile(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string wrong_version = bytes;
  wrong_version[0] = 2;
  EXPECT_EQ(DecodeProfile(wrong_version).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace lodestone::provenance
