// lodectl's read commands over the provenance service: readable text by default, --json for the
// protobuf JSON mapping, --dot/--svg for lineage graphs.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "services/lodectl/lodectl.h"

namespace lodestone::lodectl {
namespace {

constexpr int kMaxTracePages = 50;
constexpr int kMaxFlagPages = 100;
// history --all: at most this many pages (of up to 200 entries each).
constexpr int kMaxHistoryPages = 100;
// The verdict before the oldest entry of a page is that of the next page's first entry; each
// look-up walks at most 1,000 versions, this many look-ups at most.
constexpr int kMaxBeforeLookups = 5;

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string Percent(double share) { return absl::StrFormat("%.1f%%", share * 100); }

std::string Material(v1::Material material) {
  std::string name = v1::Material_Name(material);
  return name.rfind("MATERIAL_", 0) == 0 ? name.substr(9) : name;
}

std::string StageName(v1::Stage stage) {
  std::string name = v1::Stage_Name(stage);
  return name.rfind("STAGE_", 0) == 0 ? name.substr(6) : name;
}

std::string RoleName(v1::RouteRole role) {
  std::string name = v1::RouteRole_Name(role);
  return name.rfind("ROUTE_ROLE_", 0) == 0 ? name.substr(11) : name;
}

std::string Shares(const google::protobuf::RepeatedPtrField<v1::Share>& shares) {
  std::vector<std::string> parts;
  for (const auto& share : shares) parts.push_back(share.key() + " " + Percent(share.share()));
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

void PrintProfile(const v1::OriginProfile& profile, const std::string& indent, std::ostream& out) {
  out << indent << "customs origin: "
      << (profile.customs_origin().empty() ? "unknown" : profile.customs_origin()) << "\n";
  for (const auto& stage : profile.stages()) {
    out << indent << absl::StrFormat("%-11s", StageName(stage.stage())) << " "
        << Shares(stage.countries());
    if (stage.coverage() < 0.999999) out << "  (of " << Percent(stage.coverage()) << " of mass)";
    out << "\n";
  }
  std::vector<std::string> route;
  for (const auto& entry : profile.route()) {
    route.push_back(
        absl::StrCat(entry.country(), " ", RoleName(entry.role()), " ", Percent(entry.share())));
  }
  out << indent << "route:      " << (route.empty() ? "-" : absl::StrJoin(route, ", ")) << "\n";
  if (profile.regions_size() > 0)
    out << indent << "regions:    " << Shares(profile.regions()) << "\n";
}

template <typename Request>
void SetPositions(const Client& client, Request& request) {
  request.set_min_position(client.options().min_position);
  request.set_at_position(client.options().at_position);
}

// Which state of the ledger an answer is for (docs/time-travel.md): after the first N events.
std::string PositionLine(const Client& client, const v1::ViewPosition& view) {
  if (client.options().at_position == 0) {
    return absl::StrCat("(views at ledger position ", view.applied_position(), ")");
  }
  const uint64_t at = view.at_position();
  return absl::StrCat("(as the ledger stood after its first ", at, " events, positions 0..",
                      at == 0 ? 0 : at - 1, "; the views have folded ", view.applied_position(),
                      ")");
}

// Only for answers at a past position: today's output stays as it was.
void PrintPastPosition(const Client& client, const v1::ViewPosition& view, std::ostream& out) {
  if (client.options().at_position != 0) out << "  " << PositionLine(client, view) << "\n";
}

std::string OutcomeName(v1::Verdict::Outcome outcome) {
  switch (outcome) {
    case v1::Verdict::OUTCOME_PASS:
      return "PASS";
    case v1::Verdict::OUTCOME_FAIL:
      return "FAIL";
    case v1::Verdict::OUTCOME_NOT_IN_FORCE:
      return "NOT IN FORCE";
    case v1::Verdict::OUTCOME_NOT_APPLICABLE:
      return "N/A";
    case v1::Verdict::OUTCOME_INSUFFICIENT_DATA:
      return "INSUFFICIENT DATA";
    default:
      return "?";
  }
}

// `show_basis` (check): which shares the verdict was computed on (mass, value, declared_value).
void PrintVerdict(const v1::Verdict& verdict, std::ostream& out, bool show_basis = false) {
  out << "  " << absl::StrFormat("%-17s", OutcomeName(verdict.outcome())) << " "
      << verdict.rule_set() << "/" << verdict.rule_id() << ": " << verdict.summary();
  if (!verdict.in_force() && verdict.would_fail()) out << " [would fail once in force]";
  if (show_basis && !verdict.basis().empty()) out << " [basis: " << verdict.basis() << "]";
  out << "\n";
  for (const auto& evidence : verdict.evidence()) {
    out << "      ";
    if (evidence.stage() != v1::STAGE_UNSPECIFIED) out << StageName(evidence.stage()) << " ";
    out << evidence.key() << " " << Percent(evidence.share());
    if (!evidence.note().empty()) out << " - " << evidence.note();
    if (evidence.lineage_path_size() > 0) {
      out << " via " << absl::StrJoin(evidence.lineage_path(), " <- ");
    }
    out << "\n";
  }
}

}  // namespace

int ShowLot(Client& client, const std::string& lot_id, std::ostream& out) {
  v1::GetLotRequest request;
  request.set_lot_id(lot_id);
  SetPositions(client, request);
  v1::GetLotResponse response;
  auto status = client.provenance().GetLot(client.Context().get(), request, &response);
  if (!status.ok()) return ReportError("lot " + lot_id, status);
  if (client.options().json) {
    out << Json(response) << "\n";
    return kOk;
  }
  const auto& lot = response.lot();
  out << "lot " << lot.lot_id() << ": " << Material(lot.material()) << " (HS " << lot.hs_code()
      << "), " << lot.mass_g() << " g, " << lot.remaining_g() << " g remaining, "
      << v1::LotStatus_Name(lot.status()).substr(11) << "\n";
  out << "  at " << lot.facility_id() << " (" << lot.facility_country() << "), custodian "
      << lot.custodian_party_id();
  if (!lot.shipment_id().empty()) out << ", in transit on " << lot.shipment_id();
  out << "\n";
  PrintProfile(lot.profile(), "  ", out);
  out << "  " << PositionLine(client, response.view()) << "\n";
  return kOk;
}

int Trace(Client& client, const std::string& lot_id, std::ostream& out) {
  v1::TraceOriginResponse all;
  std::string token;
  for (int page = 0; page < kMaxTracePages; ++page) {
    v1::TraceOriginRequest request;
    request.set_lot_id(lot_id);
    request.set_max_depth(client.options().depth);
    request.set_max_nodes(client.options().max_nodes);
    request.set_page_token(token);
    SetPositions(client, request);
    v1::TraceOriginResponse response;
    auto status = client.provenance().TraceOrigin(client.Context().get(), request, &response);
    if (!status.ok()) return ReportError("trace " + lot_id, status);
    if (page == 0) {
      *all.mutable_profile() = response.profile();
      *all.mutable_view() = response.view();
    }
    all.mutable_nodes()->MergeFrom(response.nodes());
    all.mutable_edges()->MergeFrom(response.edges());
    all.set_truncated_by_depth(all.truncated_by_depth() || response.truncated_by_depth());
    token = response.next_page_token();
    if (token.empty()) break;
  }
  if (client.options().json) {
    out << Json(all) << "\n";
    return kOk;
  }
  std::map<std::string, const v1::LineageNode*> nodes;
  for (const auto& node : all.nodes()) nodes[node.id()] = &node;
  std::multimap<std::string, const v1::LineageEdge*> upstream;  // to -> edges
  for (const auto& edge : all.edges()) upstream.emplace(edge.to_id(), &edge);
  auto label = [&](const std::string& id) {
    auto it = nodes.find(id);
    if (it == nodes.end()) return id;
    const auto& n = *it->second;
    std::string text;
    switch (n.kind()) {
      case v1::LineageNode::KIND_LOT:
        text = absl::StrCat("lot ", id, " ", Material(n.material()), " ", n.mass_g(), " g");
        break;
      case v1::LineageNode::KIND_TRANSFORMATION:
        text = absl::StrCat(v1::Process_Name(n.process()).substr(8), " ", id);
        break;
      default:
        text = absl::StrCat("untracked ", Material(n.material()), " ", n.mass_g(), " g");
    }
    if (!n.facility_id().empty()) absl::StrAppend(&text, " at ", n.facility_id());
    if (!n.country().empty()) absl::StrAppend(&text, " [", n.country(), "]");
    if (!n.subdivision().empty()) absl::StrAppend(&text, " {", n.subdivision(), "}");
    if (n.retracted()) absl::StrAppend(&text, " (retracted)");
    return text;
  };
  if (client.options().dot || !client.options().svg.empty()) {
    std::string dot = "digraph lineage {\n  rankdir=BT;\n  node [shape=box, fontsize=10];\n";
    if (client.options().at_position != 0) {
      absl::StrAppend(&dot, "  // ", PositionLine(client, all.view()), "\n");
    }
    for (const auto& node : all.nodes()) {
      absl::StrAppend(&dot, "  \"", node.id(), "\" [label=\"", label(node.id()), "\"",
                      node.kind() == v1::LineageNode::KIND_TRANSFORMATION ? ", shape=ellipse" : "",
                      "];\n");
    }
    for (const auto& edge : all.edges()) {
      absl::StrAppend(&dot, "  \"", edge.from_id(), "\" -> \"", edge.to_id(), "\" [label=\"",
                      edge.mass_g(), " g\"];\n");
    }
    dot += "}\n";
    if (client.options().svg.empty()) {
      out << dot;
      return kOk;
    }
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
      std::cerr << "lodectl: --svg needs Graphviz (apt-get install graphviz); use --dot\n";
      return kFailure;
    }
    const std::string command = "dot -Tsvg -o '" + client.options().svg + "'";
    FILE* pipe = popen(command.c_str(), "w");
    if (pipe == nullptr) return kFailure;
    std::fwrite(dot.data(), 1, dot.size(), pipe);
    if (pclose(pipe) != 0) {
      std::cerr << "lodectl: Graphviz failed to render " << client.options().svg << "\n";
      return kFailure;
    }
    out << "wrote " << client.options().svg << "\n";
    return kOk;
  }
  out << "origin of lot " << lot_id << ":\n";
  PrintProfile(all.profile(), "  ", out);
  out << "lineage:\n";
  std::set<std::string> printed;
  std::function<void(const std::string&, const std::string&, int64_t)> print =
      [&](const std::string& id, const std::string& indent, int64_t mass) {
        out << indent << label(id);
        if (mass > 0) out << "  <- " << mass << " g";
        if (!printed.insert(id).second) {
          out << " (see above)\n";
          return;
        }
        out << "\n";
        auto [begin, end] = upstream.equal_range(id);
        for (auto it = begin; it != end; ++it) {
          print(it->second->from_id(), indent + "  ", it->second->mass_g());
        }
      };
  print(lot_id, "  ", 0);
  if (all.truncated_by_depth()) out << "  (deeper lineage not shown: raise --depth)\n";
  PrintPastPosition(client, all.view(), out);
  return kOk;
}

int Downstream(Client& client, const std::string& lot_id, std::ostream& out) {
  v1::TraceDownstreamRequest request;
  request.set_lot_id(lot_id);
  request.set_max_nodes(client.options().max_nodes);
  SetPositions(client, request);
  v1::TraceDownstreamResponse response;
  auto status = client.provenance().TraceDownstream(client.Context().get(), request, &response);
  if (!status.ok()) return ReportError("downstream " + lot_id, status);
  if (client.options().json) {
    out << Json(response) << "\n";
    return kOk;
  }
  out << "material from lot " << lot_id << " is in:\n";
  for (const auto& lot : response.lots()) {
    out << "  lot " << lot.lot_id() << " (" << Material(lot.material()) << " at "
        << lot.facility_id() << "): " << Percent(lot.share()) << " of its mass\n";
  }
  for (const auto& shipment : response.shipments()) {
    out << "  shipment " << shipment.shipment_id() << " to " << shipment.to_facility_id()
        << " carrying lot " << shipment.lot_id() << " (" << Percent(shipment.share()) << ")\n";
  }
  if (response.truncated()) out << "  (more not shown: raise --max_nodes)\n";
  PrintPastPosition(client, response.view(), out);
  return kOk;
}

int ShowShipment(Client& client, const std::vector<std::string>& ids, std::ostream& out) {
  int rc = kOk;
  for (const auto& id : ids) {
    v1::GetShipmentRequest request;
    request.set_shipment_id(id);
    SetPositions(client, request);
    v1::GetShipmentResponse response;
    auto status = client.provenance().GetShipment(client.Context().get(), request, &response);
    if (!status.ok()) {
      rc = ReportError("shipment " + id, status);
      continue;
    }
    if (client.options().json) {
      out << Json(response) << "\n";
      continue;
    }
    const auto& s = response.shipment();
    out << "shipment " << s.shipment_id() << ": " << s.from_facility_id() << " ("
        << s.from_country() << ") -> " << s.to_facility_id() << " (" << s.to_country() << "), "
        << s.status() << "\n";
    const bool mismatch = !s.declared_origin().empty() && !s.traced_customs_origin().empty() &&
                          s.declared_origin() != s.traced_customs_origin();
    out << "  declared origin " << (s.declared_origin().empty() ? "-" : s.declared_origin())
        << ", traced customs origin " << s.traced_customs_origin()
        << (mismatch ? "   <-- MISMATCH" : "") << "\n";
    out << "  mining origin: " << Shares(s.mining_origin()) << "\n";
    std::vector<std::string> route;
    for (const auto& entry : s.route()) {
      route.push_back(absl::StrCat(entry.country(), " ", RoleName(entry.role())));
    }
    out << "  route: " << absl::StrJoin(route, ", ") << "\n";
    for (const auto& item : s.items()) {
      out << "  item lot " << item.lot_id() << ": " << Material(item.material()) << ", "
          << item.mass_g() << " g, customs origin " << item.traced_customs_origin() << "\n";
    }
    if (s.flags().empty()) out << "  flags: none\n";
    for (const auto& flag : s.flags()) {
      out << "  FLAG " << flag.rule_set() << "/" << flag.rule_id() << ": " << flag.summary()
          << "\n";
    }
    PrintPastPosition(client, response.view(), out);
  }
  return rc;
}

int ListFlags(Client& client, std::ostream& out) {
  v1::ListFlagsRequest request;
  if (!client.options().rule_sets.empty()) request.set_rule_set(client.options().rule_sets[0]);
  request.set_country(client.options().country);
  if (!client.options().material.empty()) {
    v1::Material material;
    if (!v1::Material_Parse("MATERIAL_" + client.options().material, &material)) {
      std::cerr << "lodectl: unknown material " << client.options().material << "\n";
      return kUsage;
    }
    request.set_material(material);
  }
  if (!client.options().from.empty() &&
      !ParseTime(client.options().from, request.mutable_from_time())) {
    return kUsage;
  }
  if (!client.options().to.empty() && !ParseTime(client.options().to, request.mutable_to_time())) {
    return kUsage;
  }
  SetPositions(client, request);
  v1::ListFlagsResponse all;
  for (int page = 0; page < kMaxFlagPages; ++page) {
    v1::ListFlagsResponse response;
    auto status = client.provenance().ListFlags(client.Context().get(), request, &response);
    if (!status.ok()) return ReportError("flags", status);
    if (page == 0) *all.mutable_view() = response.view();
    all.mutable_flags()->MergeFrom(response.flags());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (client.options().json) {
    out << Json(all) << "\n";
    return kOk;
  }
  out << all.flags_size() << " flags\n";
  PrintPastPosition(client, all.view(), out);
  for (const auto& flag : all.flags()) {
    out << "  "
        << absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(flag.time().seconds()),
                            absl::UTCTimeZone())
        << " " << flag.subject() << " " << flag.rule_set() << "/" << flag.rule_id() << ": "
        << flag.summary() << "\n";
  }
  return kOk;
}

namespace {

// check --declared_values=FILE: the file's declaredValues into `request` (at most 1 MiB; the
// server validates the values). kInvalidInput for a file that cannot be read or parsed.
int LoadDeclaredValues(const std::string& path, v1::CheckComplianceRequest& request) {
  constexpr size_t kMaxBytes = size_t{1} << 20;
  std::ifstream file(path, std::ios::binary);
  std::string text(kMaxBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (!file.eof() || text.size() > kMaxBytes) {
    std::cerr << "lodectl: --declared_values " << path << ": cannot be read, or over 1 MiB\n";
    return kInvalidInput;
  }
  v1::CheckComplianceRequest parsed;
  auto status = google::protobuf::util::JsonStringToMessage(text, &parsed);
  if (!status.ok()) {
    std::cerr << "lodectl: --declared_values " << path << ": " << status.ToString() << "\n";
    return kInvalidInput;
  }
  *request.mutable_declared_values() = parsed.declared_values();
  return kOk;
}

}  // namespace

int Check(Client& client, const std::string& kind, const std::string& id, std::ostream& out) {
  v1::CheckComplianceRequest request;
  if (kind == "lot") {
    request.set_lot_id(id);
  } else {
    request.set_shipment_id(id);
  }
  for (const auto& set : client.options().rule_sets) request.add_rule_sets(set);
  if (client.options().as_of.empty() ||
      !ParseTime(client.options().as_of, request.mutable_as_of())) {
    std::cerr << "lodectl: check needs --as_of=YYYY-MM-DD\n";
    return kUsage;
  }
  if (!client.options().declared_values.empty()) {
    const int loaded = LoadDeclaredValues(client.options().declared_values, request);
    if (loaded != kOk) return loaded;
  }
  SetPositions(client, request);
  v1::CheckComplianceResponse response;
  auto status = client.provenance().CheckCompliance(client.Context().get(), request, &response);
  if (!status.ok()) return ReportError("check " + kind + " " + id, status);
  if (client.options().json) {
    out << Json(response) << "\n";
  } else {
    out << kind << " " << id << " as of " << client.options().as_of << ": "
        << (response.any_failed() ? "FAILS" : "no rule failed") << "\n";
    PrintPastPosition(client, response.view(), out);
    int hidden = 0;
    for (const auto& verdict : response.verdicts()) {
      if (verdict.outcome() == v1::Verdict::OUTCOME_NOT_APPLICABLE &&
          !client.options().show_not_applicable) {
        ++hidden;
        continue;
      }
      PrintVerdict(verdict, out, /*show_basis=*/true);
    }
    if (hidden > 0) out << "  (" << hidden << " rules not applicable: --show_not_applicable)\n";
  }
  return response.any_failed() ? kRuleFailed : kOk;
}

int Exposure(Client& client, const std::string& party_id, std::ostream& out) {
  v1::GetExposureRequest request;
  request.set_party_id(party_id);
  if (!ParseTime(client.options().from, request.mutable_from_time()) ||
      !ParseTime(client.options().to, request.mutable_to_time())) {
    std::cerr << "lodectl: exposure needs --from and --to (YYYY-MM-DD)\n";
    return kUsage;
  }
  if (!client.options().as_of.empty() &&
      !ParseTime(client.options().as_of, request.mutable_as_of())) {
    return kUsage;
  }
  SetPositions(client, request);
  v1::GetExposureResponse response;
  auto status = client.provenance().GetExposure(client.Context().get(), request, &response);
  if (!status.ok()) return ReportError("exposure " + party_id, status);
  if (client.options().json) {
    out << Json(response) << "\n";
    return kOk;
  }
  out << "party " << party_id << " received " << response.received_lots() << " lots, "
      << response.received_mass_g() << " g\n";
  PrintPastPosition(client, response.view(), out);
  PrintProfile(response.portfolio(), "  ", out);
  bool failed = false;
  for (const auto& verdict : response.verdicts()) {
    PrintVerdict(verdict, out);
    failed |= verdict.outcome() == v1::Verdict::OUTCOME_FAIL;
  }
  return failed ? kRuleFailed : kOk;
}

namespace {

// The verdicts of a version by rule ("rule_set/rule_id" -> outcome).
std::map<std::string, v1::Verdict::Outcome> Outcomes(const v1::HistoryEntry& entry) {
  std::map<std::string, v1::Verdict::Outcome> outcomes;
  for (const auto& verdict : entry.verdicts()) {
    outcomes[absl::StrCat(verdict.rule_set(), "/", verdict.rule_id())] = verdict.outcome();
  }
  return outcomes;
}

// One version's overall verdict, the gravest outcome of its rules (FAIL, INSUFFICIENT DATA,
// PASS, NOT IN FORCE, N/A); "-" when the subject did not exist then.
std::string Overall(const v1::HistoryEntry* entry) {
  if (entry == nullptr || (!entry->has_lot() && !entry->has_shipment())) return "-";
  constexpr v1::Verdict::Outcome kGravestFirst[] = {
      v1::Verdict::OUTCOME_FAIL, v1::Verdict::OUTCOME_INSUFFICIENT_DATA, v1::Verdict::OUTCOME_PASS,
      v1::Verdict::OUTCOME_NOT_IN_FORCE};
  for (const auto outcome : kGravestFirst) {
    for (const auto& verdict : entry->verdicts()) {
      if (verdict.outcome() == outcome) return OutcomeName(outcome);
    }
  }
  return OutcomeName(v1::Verdict::OUTCOME_NOT_APPLICABLE);
}

// The subject's state from a version on, in one line.
std::string State(const v1::HistoryEntry& entry) {
  if (entry.has_lot()) {
    const v1::Lot& lot = entry.lot();
    std::string mining = "-";
    for (const auto& stage : lot.profile().stages()) {
      if (stage.stage() == v1::STAGE_MINING) mining = Shares(stage.countries());
    }
    std::string state = absl::StrCat(
        v1::LotStatus_Name(lot.status()).substr(11), " at ", lot.facility_id(), ", ",
        lot.remaining_g(), " g; customs ",
        lot.profile().customs_origin().empty() ? "unknown" : lot.profile().customs_origin(),
        "; mined ", mining);
    if (!lot.shipment_id().empty()) absl::StrAppend(&state, "; on ", lot.shipment_id());
    return state;
  }
  if (entry.has_shipment()) {
    const v1::Shipment& s = entry.shipment();
    std::vector<std::string> flags;
    for (const auto& flag : s.flags()) flags.push_back(flag.rule_set() + "/" + flag.rule_id());
    return absl::StrCat(s.status(), "; declared ",
                        s.declared_origin().empty() ? "-" : s.declared_origin(), ", traced ",
                        s.traced_customs_origin().empty() ? "-" : s.traced_customs_origin(),
                        "; mined ", Shares(s.mining_origin()), "; flags ",
                        flags.empty() ? "none" : absl::StrJoin(flags, ", "));
  }
  return "no longer exists";
}

}  // namespace

int History(Client& client, const std::string& kind, const std::string& id, std::ostream& out) {
  const Options& options = client.options();
  v1::GetHistoryRequest request;
  if (kind == "lot") {
    request.set_lot_id(id);
  } else {
    request.set_shipment_id(id);
  }
  if (!options.as_of.empty() && !ParseTime(options.as_of, request.mutable_as_of())) {
    std::cerr << "lodectl: history: bad --as_of " << options.as_of << " (YYYY-MM-DD)\n";
    return kUsage;
  }
  if (!options.rule_sets.empty() && options.as_of.empty()) {
    std::cerr << "lodectl: history: --rule_set needs --as_of (the rule date)\n";
    return kUsage;
  }
  for (const auto& set : options.rule_sets) request.add_rule_sets(set);
  // --all asks for the largest pages the server gives (it caps max_entries at 200).
  request.set_max_entries(options.max_entries == 0 && options.all ? 200 : options.max_entries);
  request.set_page_token(options.page_token);
  SetPositions(client, request);
  const std::string what = "history " + kind + " " + id;
  v1::GetHistoryResponse all;
  int pages = 0;
  while (true) {
    v1::GetHistoryResponse response;
    auto status = client.provenance().GetHistory(client.Context().get(), request, &response);
    if (!status.ok()) return ReportError(what, status);
    if (pages++ == 0) *all.mutable_view() = response.view();
    all.mutable_entries()->MergeFrom(response.entries());
    all.set_next_page_token(response.next_page_token());
    if (!options.all || response.next_page_token().empty() || pages >= kMaxHistoryPages) break;
    request.set_page_token(response.next_page_token());
  }
  if (options.json) {
    out << Json(all) << "\n";
    return kOk;
  }
  // The version before the oldest entry shown, for its "before" verdicts.
  std::optional<v1::HistoryEntry> older;
  if (request.has_as_of() && !all.next_page_token().empty()) {
    v1::GetHistoryRequest next = request;
    next.set_max_entries(1);
    next.set_page_token(all.next_page_token());
    for (int i = 0; i < kMaxBeforeLookups && !older.has_value(); ++i) {
      v1::GetHistoryResponse response;
      auto status = client.provenance().GetHistory(client.Context().get(), next, &response);
      if (!status.ok()) return ReportError(what, status);
      if (response.entries_size() > 0) older = response.entries(0);
      if (response.next_page_token().empty()) break;
      next.set_page_token(response.next_page_token());
    }
  }
  out << "history of " << kind << " " << id << ", newest first: " << all.entries_size()
      << (all.entries_size() == 1 ? " version" : " versions") << "\n";
  out << "  " << PositionLine(client, all.view()) << "\n";
  if (request.has_as_of()) {
    out << "  verdicts as of " << options.as_of << " ("
        << (options.rule_sets.empty() ? std::string("all rule sets")
                                      : absl::StrJoin(options.rule_sets, ", "))
        << "), before -> after each change\n";
  }
  out << "  the change at position P shows from --at_position=P+1 on\n";
  int id_width = 8;
  int kind_width = 4;
  int changed_width = 7;
  for (const auto& entry : all.entries()) {
    changed_width =
        std::max(changed_width, static_cast<int>(absl::StrJoin(entry.changed(), ",").size()));
    id_width = std::max(id_width, static_cast<int>(std::min<size_t>(entry.event_id().size(), 40)));
    kind_width = std::max(kind_width, static_cast<int>(entry.event_kind().size()));
  }
  std::string header = absl::StrFormat("%8s  %-*s  %-*s  %-*s", "POSITION", id_width, "EVENT ID",
                                       kind_width, "KIND", changed_width, "CHANGED");
  if (request.has_as_of()) absl::StrAppend(&header, "  VERDICT BEFORE -> AFTER");
  out << absl::StripTrailingAsciiWhitespace(header) << "\n";
  for (int i = 0; i < all.entries_size(); ++i) {
    const v1::HistoryEntry& entry = all.entries(i);
    const v1::HistoryEntry* before = i + 1 < all.entries_size() ? &all.entries(i + 1)
                                     : older.has_value()        ? &*older
                                                                : nullptr;
    const bool first = absl::c_linear_search(entry.changed(), "created");
    std::string row = absl::StrFormat("%8d  %-*s  %-*s  %-*s", entry.position(), id_width,
                                      entry.event_id(), kind_width, entry.event_kind(),
                                      changed_width, absl::StrJoin(entry.changed(), ","));
    if (request.has_as_of()) {
      const bool unknown = before == nullptr && !first;  // beyond the pages fetched
      absl::StrAppend(&row, "  ", unknown ? "?" : Overall(before), " -> ", Overall(&entry));
    }
    out << absl::StripTrailingAsciiWhitespace(row) << "\n";
    if (!entry.retracted_event_id().empty()) {
      out << "          retracts " << entry.retracted_event_id() << "\n";
    }
    out << "          now: " << State(entry) << "\n";
    if (!request.has_as_of()) continue;
    // The rules whose outcome this version changed (for the first version: those failing).
    const auto now = Outcomes(entry);
    const auto then =
        before != nullptr ? Outcomes(*before) : std::map<std::string, v1::Verdict::Outcome>();
    for (const auto& [rule, outcome] : now) {
      auto it = then.find(rule);
      if (it != then.end() ? it->second == outcome : outcome != v1::Verdict::OUTCOME_FAIL) {
        continue;
      }
      out << "          " << rule << ": "
          << (it == then.end() ? std::string("-") : OutcomeName(it->second)) << " -> "
          << OutcomeName(outcome) << "\n";
    }
    for (const auto& [rule, outcome] : then) {
      if (!now.contains(rule))
        out << "          " << rule << ": " << OutcomeName(outcome) << " -> -\n";
    }
  }
  if (!all.next_page_token().empty()) {
    out << "  (older versions: --page_token=" << all.next_page_token()
        << (options.all ? ", the page limit of --all was reached" : ", or --all") << ")\n";
  }
  return kOk;
}

}  // namespace lodestone::lodectl
