#include "services/provenance/queries.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"
#include "services/domain/string_view_compat.h"
#include "services/provenance/profile_codec.h"
#include "services/provenance/projector.h"

namespace lodestone::provenance {
namespace {

namespace d = ::lodestone::domain;
using v1::views::LotView;
using v1::views::ShipmentView;
using v1::views::TransformationView;

constexpr size_t kMaxTraceNodesTotal = 100000;  // offset + page of a TraceOrigin walk

template <typename Message>
absl::StatusOr<Message> Find(const ViewStore& views, const std::string& key, std::string_view what,
                             std::string_view id) {
  auto value = views.Get<Message>(key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return absl::NotFoundError(absl::StrCat("no ", d::ToAbsl(what), " '", d::ToAbsl(id), "'"));
  }
  return **value;
}

absl::Status RequireId(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(d::ToAbsl(field), " must be 1..128 bytes"));
  }
  return absl::OkStatus();
}

uint32_t Capped(uint32_t requested, uint32_t fallback, uint32_t cap) {
  return requested == 0 ? fallback : std::min(requested, cap);
}

int64_t Micros(const google::protobuf::Timestamp& ts) { return codec::MicrosFloor(ts); }

}  // namespace

absl::StatusOr<std::unique_ptr<Queries>> Queries::AtPosition(uint64_t events) const {
  if (events == 0) return absl::InvalidArgumentError("at_position 0 means now");
  auto applied = views_.ReadCheckpoint();
  if (!applied.ok()) return applied.status();
  if (events > *applied) {
    return absl::OutOfRangeError(absl::StrCat(
        "at_position ", events, " is beyond the views (they have folded ", *applied, " events)"));
  }
  return std::unique_ptr<Queries>(
      new Queries(std::make_unique<ViewStore>(views_.AtPosition(events)), limits_));
}

absl::Status Queries::GetLot(const v1::GetLotRequest& request, v1::GetLotResponse* response) const {
  if (request.at_position() != 0) {
    return AtPositionOf(*this, request, [&](const Queries& at, const v1::GetLotRequest& here) {
      return at.GetLot(here, response);
    });
  }
  if (auto status = RequireId(request.lot_id(), "lot_id"); !status.ok()) return status;
  auto lot = Find<LotView>(views_, keys::Lot(request.lot_id()), "lot", request.lot_id());
  if (!lot.ok()) return lot.status();
  auto* out = response->mutable_lot();
  out->set_lot_id(request.lot_id());
  out->set_material(lot->material());
  out->set_hs_code(lot->hs_code());
  out->set_mass_g(lot->mass_g());
  out->set_remaining_g(lot->remaining_g());
  out->set_status(lot->status());
  out->set_facility_id(lot->facility_id());
  out->set_shipment_id(lot->shipment_id());
  auto profile = DecodeProfile(lot->profile_bin());
  if (!profile.ok()) return profile.status();
  ProfileToProto(*profile, out->mutable_profile());
  out->set_created_by_event_id(lot->created_by_event_id());
  out->set_created_position(lot->created_position());
  auto facility = views_.Get<v1::views::FacilityView>(keys::Facility(lot->facility_id()));
  if (!facility.ok()) return facility.status();
  if (facility->has_value()) {
    out->set_facility_country((*facility)->country());
    out->set_custodian_party_id((*facility)->operator_party_id());
  }
  return absl::OkStatus();
}

absl::Status Queries::TraceOrigin(const v1::TraceOriginRequest& request,
                                  v1::TraceOriginResponse* response) const {
  if (request.at_position() != 0) {
    return AtPositionOf(*this, request, [&](const Queries& at, const v1::TraceOriginRequest& here) {
      return at.TraceOrigin(here, response);
    });
  }
  if (auto status = RequireId(request.lot_id(), "lot_id"); !status.ok()) return status;
  const uint32_t max_depth = Capped(request.max_depth(), limits_.default_depth, limits_.max_depth);
  const uint32_t page = Capped(request.max_nodes(), limits_.default_nodes, limits_.max_nodes);
  uint64_t offset = 0;
  if (!request.page_token().empty() &&
      !absl::SimpleAtoi(d::ToAbsl(request.page_token()), &offset)) {
    return absl::InvalidArgumentError("page_token is not one this server issued");
  }
  if (offset + page > kMaxTraceNodesTotal) {
    return absl::InvalidArgumentError(
        absl::StrCat("a trace is paged up to ", kMaxTraceNodesTotal, " nodes"));
  }
  auto root = Find<LotView>(views_, keys::Lot(request.lot_id()), "lot", request.lot_id());
  if (!root.ok()) return root.status();
  auto profile = DecodeProfile(root->profile_bin());
  if (!profile.ok()) return profile.status();
  ProfileToProto(*profile, response->mutable_profile());

  // Breadth-first upstream walk, in a deterministic order, so that pages are stable.
  struct Pending {
    std::string id;
    bool is_lot;
    uint32_t depth;
  };
  std::deque<Pending> queue{{request.lot_id(), true, 0}};
  absl::flat_hash_set<std::string> seen{"L" + request.lot_id()};
  uint64_t index = 0;
  bool more = false;
  while (!queue.empty()) {
    Pending next = std::move(queue.front());
    queue.pop_front();
    if (index >= offset + page) {
      more = true;
      break;
    }
    const bool emit = index >= offset;
    ++index;
    v1::LineageNode* node = emit ? response->add_nodes() : nullptr;
    if (next.is_lot) {
      auto lot = Find<LotView>(views_, keys::Lot(next.id), "lot", next.id);
      if (!lot.ok()) return lot.status();
      std::string facility_id = lot->facility_id();
      if (lot->has_extracted()) facility_id = lot->extracted().facility_id();
      if (lot->has_registered()) facility_id = lot->registered().facility_id();
      if (node != nullptr) {
        node->set_kind(v1::LineageNode::KIND_LOT);
        node->set_id(next.id);
        node->set_depth(next.depth);
        node->set_material(lot->material());
        node->set_mass_g(lot->mass_g());
        node->set_retracted(lot->status() == v1::LOT_STATUS_RETRACTED);
        node->set_facility_id(facility_id);
        auto facility = views_.Get<v1::views::FacilityView>(keys::Facility(facility_id));
        if (!facility.ok()) return facility.status();
        if (facility->has_value()) {
          node->set_country((*facility)->country());
          node->set_subdivision((*facility)->subdivision());
        }
      }
      if (lot->has_transformation_id()) {
        if (node != nullptr) {
          auto* edge = response->add_edges();
          edge->set_from_id(lot->transformation_id());
          edge->set_to_id(next.id);
          edge->set_mass_g(lot->mass_g());
        }
        if (next.depth + 1 > max_depth) {
          response->set_truncated_by_depth(true);
        } else if (seen.insert("T" + lot->transformation_id()).second) {
          queue.push_back({lot->transformation_id(), false, next.depth + 1});
        }
      }
      continue;
    }
    auto transformation =
        Find<TransformationView>(views_, keys::Transformation(next.id), "transformation", next.id);
    if (!transformation.ok()) return transformation.status();
    const auto& t = transformation->event();
    if (node != nullptr) {
      node->set_kind(v1::LineageNode::KIND_TRANSFORMATION);
      node->set_id(next.id);
      node->set_depth(next.depth);
      node->set_process(t.process());
      node->set_facility_id(t.facility_id());
      node->set_retracted(transformation->retracted());
      auto facility = views_.Get<v1::views::FacilityView>(keys::Facility(t.facility_id()));
      if (!facility.ok()) return facility.status();
      if (facility->has_value()) {
        node->set_country((*facility)->country());
        node->set_subdivision((*facility)->subdivision());
      }
      for (int i = 0; i < t.untracked_inputs_size(); ++i) {
        const auto& untracked = t.untracked_inputs(i);
        auto* u = response->add_nodes();
        u->set_kind(v1::LineageNode::KIND_UNTRACKED_INPUT);
        u->set_id(absl::StrCat(d::ToAbsl(next.id), "#untracked", i));
        u->set_depth(next.depth + 1);
        u->set_material(untracked.material());
        u->set_mass_g(untracked.mass_g());
        u->set_country(untracked.country().empty() ? "??" : untracked.country());
        auto* edge = response->add_edges();
        edge->set_from_id(u->id());
        edge->set_to_id(next.id);
        edge->set_mass_g(untracked.mass_g());
      }
    }
    for (const auto& input : t.inputs()) {
      if (node != nullptr) {
        auto* edge = response->add_edges();
        edge->set_from_id(input.lot_id());
        edge->set_to_id(next.id);
        edge->set_mass_g(input.mass_g());
      }
      if (seen.insert("L" + input.lot_id()).second) {
        queue.push_back({input.lot_id(), true, next.depth});
      }
    }
  }
  if (more) response->set_next_page_token(absl::StrCat(offset + page));
  return absl::OkStatus();
}

absl::Status Queries::TraceDownstream(const v1::TraceDownstreamRequest& request,
                                      v1::TraceDownstreamResponse* response) const {
  if (request.at_position() != 0) {
    return AtPositionOf(*this, request,
                        [&](const Queries& at, const v1::TraceDownstreamRequest& here) {
                          return at.TraceDownstream(here, response);
                        });
  }
  if (auto status = RequireId(request.lot_id(), "lot_id"); !status.ok()) return status;
  const uint32_t max_nodes = Capped(request.max_nodes(), limits_.default_nodes, limits_.max_nodes);
  auto root = Find<LotView>(views_, keys::Lot(request.lot_id()), "lot", request.lot_id());
  if (!root.ok()) return root.status();
  // Lots in creation order: every parent is settled before its children.
  using Item = std::pair<uint64_t, std::string>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  absl::flat_hash_map<std::string, double> share{{request.lot_id(), 1.0}};
  absl::flat_hash_set<std::string> done;
  queue.emplace(root->created_position(), request.lot_id());
  while (!queue.empty()) {
    const std::string id = queue.top().second;
    queue.pop();
    if (!done.insert(id).second) continue;
    if (done.size() > max_nodes + 1u) {
      response->set_truncated(true);
      break;
    }
    auto lot = Find<LotView>(views_, keys::Lot(id), "lot", id);
    if (!lot.ok()) return lot.status();
    const double from_root = share[id];
    if (id != request.lot_id()) {
      auto* out = response->add_lots();
      out->set_lot_id(id);
      out->set_share(from_root);
      out->set_material(lot->material());
      out->set_facility_id(lot->facility_id());
      out->set_status(lot->status());
    }
    const std::string prefix = keys::DownstreamPrefix(id);
    bool cut_short = false;
    auto edges = views_.ScanCommitted(prefix, "", limits_.max_scan_keys, &cut_short);
    if (!edges.ok()) return edges.status();
    if (cut_short) response->set_truncated(true);
    for (const auto& [key, unused] : *edges) {
      const char kind = key[prefix.size()];
      const std::string child = key.substr(prefix.size() + 1);
      if (kind == 's') {
        auto shipment = views_.Get<ShipmentView>(keys::Shipment(child));
        if (!shipment.ok()) return shipment.status();
        auto* out = response->add_shipments();
        out->set_shipment_id(child);
        out->set_lot_id(id);
        out->set_share(from_root);
        if (shipment->has_value()) {
          out->set_to_facility_id((*shipment)->dispatched().to_facility_id());
        }
        continue;
      }
      auto transformation = views_.Get<TransformationView>(keys::Transformation(child));
      if (!transformation.ok()) return transformation.status();
      if (!transformation->has_value() || (*transformation)->retracted()) continue;
      const auto& t = (*transformation)->event();
      int64_t total = 0, from_lot = 0;
      for (const auto& input : t.inputs()) {
        total += input.mass_g();
        if (input.lot_id() == id) from_lot += input.mass_g();
      }
      for (const auto& untracked : t.untracked_inputs()) total += untracked.mass_g();
      if (total == 0) continue;
      const double fraction = from_root * static_cast<double>(from_lot) / total;
      for (const auto& output : t.outputs()) {
        auto out = views_.Get<LotView>(keys::Lot(output.lot_id()));
        if (!out.ok()) return out.status();
        if (!out->has_value() || (*out)->transformation_id() != child) continue;
        share[output.lot_id()] += fraction;
        queue.emplace((*out)->created_position(), output.lot_id());
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Queries::GetShipment(const v1::GetShipmentRequest& request,
                                  v1::GetShipmentResponse* response) const {
  if (request.at_position() != 0) {
    return AtPositionOf(*this, request, [&](const Queries& at, const v1::GetShipmentRequest& here) {
      return at.GetShipment(here, response);
    });
  }
  if (auto status = RequireId(request.shipment_id(), "shipment_id"); !status.ok()) return status;
  auto shipment = Find<ShipmentView>(views_, keys::Shipment(request.shipment_id()), "shipment",
                                     request.shipment_id());
  if (!shipment.ok()) return shipment.status();
  const auto& dispatched = shipment->dispatched();
  auto* out = response->mutable_shipment();
  out->set_shipment_id(request.shipment_id());
  out->set_from_facility_id(dispatched.from_facility_id());
  out->set_to_facility_id(dispatched.to_facility_id());
  for (const auto& [facility_id, field] :
       {std::pair{dispatched.from_facility_id(), out->mutable_from_country()},
        std::pair{dispatched.to_facility_id(), out->mutable_to_country()}}) {
    auto facility = views_.Get<v1::views::FacilityView>(keys::Facility(facility_id));
    if (!facility.ok()) return facility.status();
    if (facility->has_value()) *field = (*facility)->country();
  }
  out->set_declared_origin(dispatched.declared_origin());
  out->set_declared_hs_code(dispatched.declared_hs_code());
  out->set_export_licence_id(dispatched.export_licence_id());
  out->set_customs_entry(dispatched.customs_entry());
  out->set_status(shipment->status());
  codec::MicrosToProto(shipment->dispatched_micros(), out->mutable_dispatched_time());
  if (!shipment->arrived_event_id().empty()) {
    codec::MicrosToProto(shipment->arrived_micros(), out->mutable_arrived_time());
  }
  std::map<std::string, int64_t> customs_mass;
  std::map<std::string, double> mining;
  std::map<std::pair<std::string, int>, double> route;
  int64_t total = 0;
  for (const auto& item : dispatched.items()) {
    auto lot = Find<LotView>(views_, keys::Lot(item.lot_id()), "lot", item.lot_id());
    if (!lot.ok()) return lot.status();
    auto profile = ProfileAt(views_, *lot, shipment->dispatched_position());
    if (!profile.ok()) return profile.status();
    auto* view = out->add_items();
    view->set_lot_id(item.lot_id());
    view->set_mass_g(item.mass_g());
    view->set_material(lot->material());
    view->set_hs_code(lot->hs_code());
    view->set_traced_customs_origin(profile->customs_origin);
    ProfileToProto(*profile, view->mutable_profile());
    total += item.mass_g();
    customs_mass[profile->customs_origin.empty() ? "??" : profile->customs_origin] += item.mass_g();
    for (const auto& entry : profile->stage(d::Stage::kMining)) {
      mining[entry.key] += entry.share * item.mass_g();
    }
    for (const auto& entry : profile->route) {
      route[{entry.country, static_cast<int>(entry.role)}] += entry.share * item.mass_g();
    }
  }
  std::string majority;
  int64_t majority_mass = -1;
  for (const auto& [country, mass] : customs_mass) {
    if (mass > majority_mass) majority = country, majority_mass = mass;
  }
  out->set_traced_customs_origin(majority);
  for (const auto& [country, mass] : mining) {
    auto* share = out->add_mining_origin();
    share->set_key(country);
    share->set_share(total > 0 ? mass / total : 0);
  }
  for (const auto& [key, mass] : route) {
    auto* entry = out->add_route();
    entry->set_country(key.first);
    entry->set_role(RoleToProto(static_cast<d::RouteRole>(key.second)));
    entry->set_share(total > 0 ? mass / total : 0);
  }
  *out->mutable_flags() = shipment->flags();
  return absl::OkStatus();
}

absl::Status Queries::ListFlags(const v1::ListFlagsRequest& request,
                                v1::ListFlagsResponse* response) const {
  if (request.at_position() != 0) {
    return AtPositionOf(*this, request, [&](const Queries& at, const v1::ListFlagsRequest& here) {
      return at.ListFlags(here, response);
    });
  }
  const uint32_t page = Capped(request.max_flags(), limits_.default_flags, limits_.max_flags);
  std::string from(keys::kFlagPrefix);
  if (!request.page_token().empty()) {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(d::ToAbsl(request.page_token()), &decoded) ||
        !std::string_view(decoded).starts_with(keys::kFlagPrefix)) {
      return absl::InvalidArgumentError("page_token is not one this server issued");
    }
    from = decoded;
  } else if (request.has_from_time()) {
    from = keys::Flag(Micros(request.from_time()), 0, "", "");
  }
  const bool has_to = request.has_to_time();
  const int64_t to_micros = has_to ? Micros(request.to_time()) : 0;
  bool cut_short = false;
  auto entries = views_.ScanCommitted(keys::kFlagPrefix, from, limits_.max_scan_keys, &cut_short);
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) {
    if (static_cast<uint32_t>(response->flags_size()) >= page) {
      response->set_next_page_token(absl::WebSafeBase64Escape(key));
      return absl::OkStatus();
    }
    v1::Flag flag;
    if (!flag.ParseFromString(value)) return absl::DataLossError("flag does not parse");
    if (has_to && Micros(flag.time()) >= to_micros) return absl::OkStatus();
    if (!request.rule_set().empty() && flag.rule_set() != request.rule_set()) continue;
    if (request.material() != v1::MATERIAL_UNSPECIFIED && flag.material() != request.material()) {
      continue;
    }
    if (!request.country().empty() && std::find(flag.countries().begin(), flag.countries().end(),
                                                request.country()) == flag.countries().end()) {
      continue;
    }
    *response->add_flags() = std::move(flag);
  }
  if (cut_short && !entries->empty()) {
    // Filtered out too many to finish this page: say where to go on.
    std::string next = entries->back().first;
    next.push_back('\0');
    response->set_next_page_token(absl::WebSafeBase64Escape(next));
  }
  return absl::OkStatus();
}

}  // namespace lodestone::provenance
