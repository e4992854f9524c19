// OriginProfile between the domain and the wire/view protobufs.
#ifndef LODESTONE_SERVICES_PROVENANCE_PROFILE_CODEC_H_
#define LODESTONE_SERVICES_PROVENANCE_PROFILE_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lodestone/v1/provenance.pb.h"
#include "services/domain/origin.h"

namespace lodestone::provenance {

void ProfileToProto(const domain::OriginProfile& profile, v1::OriginProfile* proto);
domain::OriginProfile ProfileFromProto(const v1::OriginProfile& proto);

// The compact binary form the views store (see the format in profile_codec.cc): decoding it
// costs a few allocations instead of one per share of a nested protobuf message. Exact:
// doubles are stored bit for bit. DATA_LOSS when the bytes do not decode.
std::string EncodeProfile(const domain::OriginProfile& profile);
absl::StatusOr<domain::OriginProfile> DecodeProfile(std::string_view bytes);

inline v1::Stage StageToProto(domain::Stage stage) {
  return static_cast<v1::Stage>(static_cast<int>(stage) + 1);
}
inline v1::RouteRole RoleToProto(domain::RouteRole role) {
  return static_cast<v1::RouteRole>(static_cast<int>(role) + 1);
}

}  // namespace lodestone::provenance

#endif  // LODESTONE_SERVICES_PROVENANCE_PROFILE_CODEC_H_
