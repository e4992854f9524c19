// Facilities and helpers shared by the domain tests (the DESIGN.md section 1 cast).
#ifndef LODESTONE_TESTS_SERVICES_DOMAIN_FIXTURES_H_
#define LODESTONE_TESTS_SERVICES_DOMAIN_FIXTURES_H_

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "services/domain/origin.h"

namespace lodestone::domain::testing_fixtures {

template <typename T>
T Must(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return *std::move(v);
}

inline FacilityInfo Facility(std::string country, std::string subdivision, std::string party,
                             FacilityKind kind) {
  return FacilityInfo{std::move(country), std::move(subdivision), std::move(party), kind};
}

inline LotOutput Output(std::string lot_id, Material material, std::string hs, Grams g,
                        int64_t value_minor = 0, std::string currency = "") {
  return LotOutput{std::move(lot_id), material, std::move(hs), g, value_minor, std::move(currency)};
}

inline const FacilityInfo kCnMine = Facility("CN", "CN-HN", "hsn-mining", FacilityKind::kMine);
inline const FacilityInfo kCnSmelter =
    Facility("CN", "CN-HN", "hsn-smelting", FacilityKind::kSmelter);
inline const FacilityInfo kCnPort = Facility("CN", "CN-GD", "shekou-port", FacilityKind::kPort);
inline const FacilityInfo kThWarehouse =
    Facility("TH", "TH-20", "th-affiliate", FacilityKind::kWarehouse);
inline const FacilityInfo kUsWarehouse =
    Facility("US", "US-TX", "us-importer", FacilityKind::kWarehouse);
inline const FacilityInfo kBoMine = Facility("BO", "BO-P", "potosi-coop", FacilityKind::kMine);
inline const FacilityInfo kMxSmelter =
    Facility("MX", "MX-SLP", "mx-smelting", FacilityKind::kSmelter);
inline const FacilityInfo kUsMine = Facility("US", "US-CA", "mp-materials", FacilityKind::kMine);
inline const FacilityInfo kCnSeparation =
    Facility("CN", "CN-NM", "baotou-separation", FacilityKind::kSeparationPlant);
inline const FacilityInfo kMySeparation =
    Facility("MY", "MY-06", "kuantan-separation", FacilityKind::kSeparationPlant);
inline const FacilityInfo kVnMetal =
    Facility("VN", "VN-HN", "vn-metals", FacilityKind::kMetalPlant);
inline const FacilityInfo kJpMagnet =
    Facility("JP", "JP-13", "jp-magnets", FacilityKind::kMagnetPlant);

}  // namespace lodestone::domain::testing_fixtures

#endif  // LODESTONE_TESTS_SERVICES_DOMAIN_FIXTURES_H_
