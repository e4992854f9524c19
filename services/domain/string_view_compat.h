// Debian's Abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so absl::string_view
// is a class of its own and does not convert from std::string_view. The domain's interfaces use
// std::string_view; these helpers cross to Abseil APIs (StrCat, Status, Cord, hash maps).
#ifndef LODESTONE_SERVICES_DOMAIN_STRING_VIEW_COMPAT_H_
#define LODESTONE_SERVICES_DOMAIN_STRING_VIEW_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace lodestone::domain {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace lodestone::domain

#endif  // LODESTONE_SERVICES_DOMAIN_STRING_VIEW_COMPAT_H_
