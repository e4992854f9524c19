#include "services/provenance/history.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/domain/string_view_compat.h"
#include "services/provenance/compliance_queries.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;

// One version of the subject: the answers as they stood right after it.
struct Answer {
  uint64_t position = 0;
  bool exists = false;
  v1::Lot lot;
  v1::Shipment shipment;
  v1::CheckComplianceResponse verdicts;
};

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();  // deterministic for our messages
}

std::string VerdictOutcomes(const v1::CheckComplianceResponse& response) {
  std::string out;
  for (const auto& verdict : response.verdicts()) {
    absl::StrAppend(&out, verdict.rule_set(), "/", verdict.rule_id(), "=", verdict.outcome(), ";");
  }
  return out;
}

absl::StatusOr<Answer> AnswerAt(const Queries& queries, const v1::GetHistoryRequest& request,
                                uint64_t position) {
  Answer answer;
  answer.position = position;
  auto at = queries.AtPosition(position + 1);
  if (!at.ok()) return at.status();
  absl::Status status;
  if (request.subject_case() == v1::GetHistoryRequest::kLotId) {
    v1::GetLotRequest get;
    get.set_lot_id(request.lot_id());
    v1::GetLotResponse got;
    status = (*at)->GetLot(get, &got);
    answer.lot = got.lot();
  } else {
    v1::GetShipmentRequest get;
    get.set_shipment_id(request.shipment_id());
    v1::GetShipmentResponse got;
    status = (*at)->GetShipment(get, &got);
    answer.shipment = got.shipment();
  }
  if (absl::IsNotFound(status)) return answer;  // deleted at this version
  if (!status.ok()) return status;
  answer.exists = true;
  if (request.has_as_of()) {
    v1::CheckComplianceRequest check;
    if (request.subject_case() == v1::GetHistoryRequest::kLotId) {
      check.set_lot_id(request.lot_id());
    } else {
      check.set_shipment_id(request.shipment_id());
    }
    *check.mutable_rule_sets() = request.rule_sets();
    *check.mutable_as_of() = request.as_of();
    if (auto checked = CheckCompliance(**at, check, &answer.verdicts); !checked.ok()) {
      return checked;
    }
  }
  return answer;
}

// What differs between a version and the one before it (`before` null: none before).
std::vector<std::string> Changes(const Answer& now, const Answer* before) {
  std::vector<std::string> changed;
  if (before == nullptr || !before->exists) {
    if (now.exists) changed.push_back("created");
    return changed;
  }
  if (!now.exists) return {"deleted"};
  if (now.lot.lot_id().empty() == false) {
    const v1::Lot& a = now.lot;
    const v1::Lot& b = before->lot;
    if (!Same(a.profile(), b.profile())) changed.push_back("profile");
    if (a.profile().customs_origin() != b.profile().customs_origin()) {
      changed.push_back("customs_origin");
    }
    if (a.status() != b.status()) changed.push_back("status");
    if (a.remaining_g() != b.remaining_g()) changed.push_back("remaining");
    if (a.facility_id() != b.facility_id() || a.shipment_id() != b.shipment_id()) {
      changed.push_back("location");
    }
    if (a.created_by_event_id() != b.created_by_event_id()) changed.push_back("source");
  } else {
    const v1::Shipment& a = now.shipment;
    const v1::Shipment& b = before->shipment;
    if (a.status() != b.status()) changed.push_back("status");
    bool traced =
        a.traced_customs_origin() != b.traced_customs_origin() || a.items_size() != b.items_size();
    for (int i = 0; !traced && i < a.items_size(); ++i) {
      traced = !Same(a.items(i), b.items(i));
    }
    if (traced || a.mining_origin_size() != b.mining_origin_size()) {
      changed.push_back("traced_origin");
    }
    bool flags = a.flags_size() != b.flags_size();
    for (int i = 0; !flags && i < a.flags_size(); ++i) flags = !Same(a.flags(i), b.flags(i));
    if (flags) changed.push_back("flags");
  }
  if (VerdictOutcomes(now.verdicts) != VerdictOutcomes(before->verdicts)) {
    changed.push_back("verdicts");
  }
  return changed;
}

}  // namespace

absl::Status GetHistory(const Queries& queries, const v1::GetHistoryRequest& request,
                        v1::GetHistoryResponse* response) {
  std::string key;
  if (request.subject_case() == v1::GetHistoryRequest::kLotId) {
    key = keys::Lot(request.lot_id());
  } else if (request.subject_case() == v1::GetHistoryRequest::kShipmentId) {
    key = keys::Shipment(request.shipment_id());
  } else {
    return absl::InvalidArgumentError("give a lot_id or a shipment_id");
  }
  const std::string& id = request.subject_case() == v1::GetHistoryRequest::kLotId
                              ? request.lot_id()
                              : request.shipment_id();
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError("the subject id must be 1..128 bytes");
  }
  const QueryLimits& limits = queries.limits();
  const uint32_t page = request.max_entries() == 0
                            ? limits.default_history
                            : std::min(request.max_entries(), limits.max_history);
  auto applied = queries.views().ReadCheckpoint();
  if (!applied.ok()) return applied.status();
  uint64_t before = request.at_position() == 0 ? *applied : request.at_position();
  if (before > *applied) {
    return absl::OutOfRangeError(
        absl::StrCat("at_position ", before, " is beyond the views (", *applied, " events)"));
  }
  if (!request.page_token().empty()) {
    uint64_t token = 0;
    if (!absl::SimpleAtoi(d::ToAbsl(request.page_token()), &token) || token > before) {
      return absl::InvalidArgumentError("page_token is not one this server issued");
    }
    before = token;
  }
  // One more version than walked, to say what the oldest one on the page changed.
  auto positions = queries.views().VersionPositions(key, before, limits.max_history_versions + 1);
  if (!positions.ok()) return positions.status();
  if (positions->empty() && request.page_token().empty()) {
    return absl::NotFoundError(absl::StrCat("no history for '", d::ToAbsl(id), "'"));
  }
  size_t walked = 0;
  std::optional<Answer> next;  // the answer at (*positions)[i], computed as the previous one
  for (size_t i = 0; i < positions->size(); ++i) {
    if (walked >= limits.max_history_versions ||
        static_cast<uint32_t>(response->entries_size()) >= page) {
      response->set_next_page_token(absl::StrCat((*positions)[i] + 1));
      break;
    }
    ++walked;
    if (!next.has_value()) {
      auto answer = AnswerAt(queries, request, (*positions)[i]);
      if (!answer.ok()) return answer.status();
      next = *std::move(answer);
    }
    std::optional<Answer> now = *std::move(next);
    next.reset();
    std::optional<Answer> previous;
    if (i + 1 < positions->size()) {
      auto answer = AnswerAt(queries, request, (*positions)[i + 1]);
      if (!answer.ok()) return answer.status();
      previous = *std::move(answer);
      next = previous;
    }
    const auto changed = Changes(*now, previous ? &*previous : nullptr);
    if (changed.empty()) continue;  // rewritten unchanged (a re-evaluation that kept its flags)
    auto* entry = response->add_entries();
    entry->set_position(now->position);
    auto event = queries.views().Get<v1::views::PositionEntry>(keys::PositionEvent(now->position));
    if (!event.ok()) return event.status();
    if (event->has_value()) {
      entry->set_event_id((*event)->event_id());
      entry->set_event_kind((*event)->kind());
      entry->set_subject((*event)->subject());
      entry->set_retracted_event_id((*event)->retracted_event_id());
    }
    for (const auto& what : changed) entry->add_changed(what);
    if (now->exists) {
      if (request.subject_case() == v1::GetHistoryRequest::kLotId) {
        *entry->mutable_lot() = now->lot;
      } else {
        *entry->mutable_shipment() = now->shipment;
      }
    }
    *entry->mutable_verdicts() = now->verdicts.verdicts();
    entry->set_any_failed(now->verdicts.any_failed());
  }
  return absl::OkStatus();
}

}  // namespace lodestone::provenance
