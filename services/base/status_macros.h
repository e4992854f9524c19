// Early-return helpers for absl::Status (Abseil 20220623 has no public status macros): the one
// definition the whole project uses. Include it in .cc files only.
#ifndef LODESTONE_SERVICES_BASE_STATUS_MACROS_H_
#define LODESTONE_SERVICES_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LODESTONE_STATUS_CONCAT_INNER(a, b) a##b
#define LODESTONE_STATUS_CONCAT(a, b) LODESTONE_STATUS_CONCAT_INNER(a, b)

#define LODESTONE_RETURN_IF_ERROR(expr)                   \
  do {                                                    \
    if (::absl::Status _status = (expr); !_status.ok()) { \
      return _status;                                     \
    }                                                     \
  } while (false)

#define LODESTONE_ASSIGN_OR_RETURN(lhs, expr) \
  LODESTONE_ASSIGN_OR_RETURN_IMPL(LODESTONE_STATUS_CONCAT(_status_or_, __LINE__), lhs, expr)

#define LODESTONE_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(*statusor)

#endif  // LODESTONE_SERVICES_BASE_STATUS_MACROS_H_
