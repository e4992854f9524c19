// A history checker for the replicated ledger (docs/replication.md section 1). Clients record
// what they were told about each append: acknowledged (event ids, positions, stream versions and
// which node answered), outcome unknown (an error or timeout: it may or may not be committed), or
// rejected (a definite refusal, so it must not be in the log). Check() then reads every node's
// whole log and head and verifies:
//   - every acknowledged event is present exactly once, at its acknowledged position, with its
//     acknowledged stream version; no two acknowledgements claim one position;
//   - no event id appears twice in any log; an append's events are all present or all absent,
//     contiguous and in request order;
//   - every node's log is a prefix of one history: the same event id and the same chain hash at
//     each position; positions are dense; the head agrees with the log read;
//   - once converged (CheckOptions::expect_converged): the same size and Merkle root everywhere;
//   - events with an unknown outcome appear at most once; rejected events are absent; nothing is
//     present that was never attempted.
// It returns a report with counts and a list of precise anomalies. Record* are thread-safe.
#ifndef LODESTONE_TESTS_SUPPORT_HISTORY_CHECKER_H_
#define LODESTONE_TESTS_SUPPORT_HISTORY_CHECKER_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/client_context.h"
#include "lodestone/v1/ledger.grpc.pb.h"

namespace lodestone::testing {

// One record of a node's log as the checker sees it.
struct LogEntry {
  uint64_t position = 0;
  std::string event_id{};
  uint64_t stream_version = 0;
  std::string chain_hash{};
};

// A node's log and head, read with ReadNodeLog (or fabricated by a test).
struct NodeLog {
  std::string node{};
  std::string error{};  // non-empty: the log or head could not be read completely
  std::vector<LogEntry> entries{};
  bool has_head = false;
  uint64_t head_size = 0;
  std::string root_hash{};
  std::string head_chain_hash{};
};

struct ReadLimits {
  uint32_t page_events = 1000;
  uint64_t max_events = 50'000'000;  // a log larger than this is reported, not read
  std::chrono::milliseconds call_deadline{10000};
  std::chrono::milliseconds total_deadline{180000};
};

// Reads the node's head, then its log from position 0 up to the head's size, page by page.
inline NodeLog ReadNodeLog(v1::LedgerService::Stub& stub, const std::string& node,
                           const ReadLimits& limits = {}) {
  NodeLog log;
  log.node = node;
  const auto give_up = std::chrono::steady_clock::now() + limits.total_deadline;
  {
    v1::Head head;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + limits.call_deadline);
    const grpc::Status status = stub.GetHead(&context, v1::GetHeadRequest(), &head);
    if (!status.ok()) {
      log.error =
          absl::StrCat("GetHead failed: ", status.error_code(), " ", status.error_message());
      return log;
    }
    log.has_head = true;
    log.head_size = head.size();
    log.root_hash = head.root_hash();
    log.head_chain_hash = head.chain_hash();
  }
  if (log.head_size > limits.max_events) {
    log.error = absl::StrCat("log of ", log.head_size, " events exceeds the read limit of ",
                             limits.max_events);
    return log;
  }
  log.entries.reserve(log.head_size);
  while (log.entries.size() < log.head_size) {
    if (std::chrono::steady_clock::now() > give_up) {
      log.error =
          absl::StrCat("reading the log took longer than ", limits.total_deadline.count(), " ms");
      return log;
    }
    v1::ReadAllRequest request;
    request.set_from_position(log.entries.size());
    request.set_max_events(limits.page_events);
    v1::ReadAllResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + limits.call_deadline);
    const grpc::Status status = stub.ReadAll(&context, request, &response);
    if (!status.ok()) {
      log.error = absl::StrCat("ReadAll from ", log.entries.size(),
                               " failed: ", status.error_code(), " ", status.error_message());
      return log;
    }
    if (response.events_size() == 0) {
      log.error = absl::StrCat("ReadAll returned nothing at ", log.entries.size(),
                               " below the head size ", log.head_size);
      return log;
    }
    for (const auto& e : response.events()) {
      if (log.entries.size() == log.head_size) break;
      log.entries.push_back(
          {e.position(), e.event().event_id(), e.stream_version(), e.chain_hash()});
    }
  }
  return log;
}

// One event of an acknowledgement, as the client was told.
struct AckedEvent {
  std::string event_id{};
  uint64_t position = 0;
  uint64_t stream_version = 0;
};

struct CheckOptions {
  // Every node has applied everything: the same size, head and Merkle root on all of them, and
  // every acknowledged event on every node. Off: nodes may lag behind the longest log.
  bool expect_converged = true;
  size_t max_listed_anomalies = 200;  // the count stays exact past this
};

struct HistoryReport {
  size_t nodes = 0;
  uint64_t log_size = 0;  // of the longest log read
  size_t acknowledged_appends = 0;
  size_t acknowledged_events = 0;
  size_t duplicate_acknowledgements = 0;  // acknowledged as a duplicate of an earlier commit
  size_t unknown_appends = 0;
  size_t unknown_present = 0;  // unknown-outcome appends found committed
  size_t unknown_absent = 0;   // ... and found not committed
  size_t rejected_appends = 0;
  size_t anomaly_count = 0;
  std::vector<std::string> anomalies{};  // the first CheckOptions::max_listed_anomalies

  bool ok() const { return anomaly_count == 0; }
  std::string Summary() const {
    std::string out = absl::StrCat(
        "history: ", nodes, " nodes, log size ", log_size, "; acknowledged ", acknowledged_appends,
        " appends (", acknowledged_events, " events, ", duplicate_acknowledgements,
        " as duplicates); unknown outcome ", unknown_appends, " (", unknown_present, " committed, ",
        unknown_absent, " not); rejected ", rejected_appends, "; anomalies ", anomaly_count);
    for (const auto& anomaly : anomalies) absl::StrAppend(&out, "\n  ", anomaly);
    if (anomalies.size() < anomaly_count) {
      absl::StrAppend(&out, "\n  ... and ", anomaly_count - anomalies.size(), " more");
    }
    return out;
  }
};

class HistoryChecker {
 public:
  HistoryChecker() = default;
  // A snapshot of what was recorded so far (to check logs read afterwards while appends go on).
  HistoryChecker(const HistoryChecker& other) {
    std::lock_guard lock(other.mu_);
    appends_ = other.appends_;
    record_anomalies_ = other.record_anomalies_;
    in_flight_ = other.in_flight_;
  }
  HistoryChecker& operator=(const HistoryChecker&) = delete;

  // An append about to be sent, whose outcome is recorded later: its events count as attempted,
  // so that a check made while it is in flight does not call them never attempted.
  void RecordAttempt(const std::vector<std::string>& event_ids) {
    std::lock_guard lock(mu_);
    in_flight_.insert(event_ids.begin(), event_ids.end());
  }

  // For a check under load: a snapshot taken before the logs were read holds the
  // acknowledgements they must contain; this adds the events `later` (the live checker, after
  // the read) knows were attempted, since appends sent after the snapshot may be in the logs.
  void AddAttemptsFrom(const HistoryChecker& later) {
    std::set<std::string> attempted;
    {
      std::lock_guard lock(later.mu_);
      attempted = later.in_flight_;
      for (const Append& append : later.appends_) {
        attempted.insert(append.event_ids.begin(), append.event_ids.end());
      }
    }
    std::lock_guard lock(mu_);
    in_flight_.merge(attempted);
  }

  // An acknowledged append: `event_ids` in request order, `response` as received from `node`.
  void RecordAck(const std::string& node, const std::vector<std::string>& event_ids,
                 const v1::AppendResponse& response) {
    std::vector<AckedEvent> events;
    for (const auto& r : response.results()) {
      events.push_back({r.event_id(), r.position(), r.stream_version()});
    }
    std::lock_guard lock(mu_);
    if (events.size() != event_ids.size()) {
      record_anomalies_.push_back(absl::StrCat("acknowledgement from ", node, " has ",
                                               events.size(), " results for ", event_ids.size(),
                                               " events (", absl::StrJoin(event_ids, ","), ")"));
    } else {
      for (size_t i = 0; i < events.size(); ++i) {
        if (events[i].event_id != event_ids[i]) {
          record_anomalies_.push_back(absl::StrCat("acknowledgement from ", node, " result ", i,
                                                   " names ", events[i].event_id,
                                                   ", the request's event is ", event_ids[i]));
        }
      }
    }
    appends_.push_back(
        {Outcome::kAcknowledged, node, event_ids, std::move(events), response.duplicate(), ""});
  }

  // An acknowledgement given directly (fabricated histories in tests).
  void RecordAck(const std::string& node, std::vector<AckedEvent> events, bool duplicate = false) {
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e.event_id);
    std::lock_guard lock(mu_);
    appends_.push_back(
        {Outcome::kAcknowledged, node, std::move(ids), std::move(events), duplicate, ""});
  }

  // An append whose outcome the client does not know (error or timeout after it may have been
  // sent, and no later acknowledgement): it may or may not be committed.
  void RecordUnknown(const std::string& node, std::vector<std::string> event_ids,
                     const std::string& error) {
    std::lock_guard lock(mu_);
    appends_.push_back({Outcome::kUnknown, node, std::move(event_ids), {}, false, error});
  }

  // An append definitely refused (a validation error, with no earlier ambiguous attempt): it
  // must not be committed.
  void RecordRejected(const std::string& node, std::vector<std::string> event_ids,
                      const std::string& error) {
    std::lock_guard lock(mu_);
    appends_.push_back({Outcome::kRejected, node, std::move(event_ids), {}, false, error});
  }

  size_t acknowledged() const { return Count(Outcome::kAcknowledged); }
  size_t unknown() const { return Count(Outcome::kUnknown); }
  size_t rejected() const { return Count(Outcome::kRejected); }

  // Reads every node's log (ReadNodeLog) and checks it.
  HistoryReport Check(const std::vector<std::pair<std::string, v1::LedgerService::Stub*>>& nodes,
                      const CheckOptions& options = {}, const ReadLimits& limits = {}) const {
    std::vector<NodeLog> logs;
    for (const auto& [name, stub] : nodes) logs.push_back(ReadNodeLog(*stub, name, limits));
    return Check(logs, options);
  }

  HistoryReport Check(const std::vector<NodeLog>& logs, const CheckOptions& options = {}) const {
    std::vector<Append> appends;
    std::vector<std::string> record_anomalies;
    std::set<std::string> in_flight;
    {
      std::lock_guard lock(mu_);
      appends = appends_;
      record_anomalies = record_anomalies_;
      in_flight = in_flight_;
    }
    HistoryReport report;
    Reporter anomaly{report, options.max_listed_anomalies};
    for (const auto& a : record_anomalies) anomaly(a);
    report.nodes = logs.size();

    // What was attempted, and what the acknowledgements claim.
    std::unordered_map<std::string, size_t> attempted;  // event id -> index in appends
    std::map<std::string, const AckedEvent*> acked;     // event id -> its first acknowledgement
    std::map<uint64_t, std::pair<const AckedEvent*, const Append*>> claimed;  // position -> ack
    for (size_t i = 0; i < appends.size(); ++i) {
      const Append& append = appends[i];
      for (const auto& id : append.event_ids) attempted.emplace(id, i);
      if (append.outcome == Outcome::kUnknown) ++report.unknown_appends;
      if (append.outcome == Outcome::kRejected) ++report.rejected_appends;
      if (append.outcome != Outcome::kAcknowledged) continue;
      ++report.acknowledged_appends;
      report.acknowledged_events += append.acked.size();
      if (append.duplicate) ++report.duplicate_acknowledgements;
      for (const AckedEvent& e : append.acked) {
        auto [it, fresh] = acked.emplace(e.event_id, &e);
        if (!fresh && it->second->position != e.position) {
          anomaly(absl::StrCat("event ", e.event_id, " acknowledged at position ",
                               it->second->position, " and again at position ", e.position,
                               " (via ", append.node, ")"));
        }
        auto [at, free] = claimed.emplace(e.position, std::make_pair(&e, &append));
        if (!free && at->second.first->event_id != e.event_id) {
          anomaly(absl::StrCat("position ", e.position, " acknowledged for both ",
                               at->second.first->event_id, " (via ", at->second.second->node,
                               ") and ", e.event_id, " (via ", append.node, ")"));
        }
      }
    }

    // The reference history: the longest readable log.
    const NodeLog* reference = nullptr;
    for (const auto& log : logs) {
      if (!log.error.empty()) {
        anomaly(absl::StrCat(log.node, ": log not readable: ", log.error));
        continue;
      }
      if (reference == nullptr || log.entries.size() > reference->entries.size()) {
        reference = &log;
      }
    }
    if (reference == nullptr) {
      anomaly("no node's log could be read");
      return report;
    }
    report.log_size = reference->entries.size();

    std::set<std::string> never_attempted_reported;
    for (const auto& log : logs) {
      if (!log.error.empty()) continue;
      const std::string& name = log.node;
      const auto& entries = log.entries;
      // Dense positions, and where each event id is.
      std::unordered_map<std::string, std::vector<uint64_t>> where;
      for (size_t p = 0; p < entries.size(); ++p) {
        if (entries[p].position != p) {
          anomaly(absl::StrCat(name, ": the record read at index ", p, " says position ",
                               entries[p].position));
        }
        where[entries[p].event_id].push_back(p);
      }
      for (const auto& [id, positions] : where) {
        if (positions.size() > 1) {
          anomaly(absl::StrCat(name, ": event ", id, " appears ", positions.size(),
                               " times, at positions ", absl::StrJoin(positions, ", ")));
        }
        auto it = attempted.find(id);
        if (it == attempted.end()) {
          if (in_flight.count(id) == 0 && never_attempted_reported.insert(id).second) {
            anomaly(absl::StrCat(name, ": event ", id, " at position ", positions[0],
                                 " was never attempted"));
          }
        } else if (appends[it->second].outcome == Outcome::kRejected) {
          anomaly(absl::StrCat(name, ": event ", id, " is at position ", positions[0],
                               " but its append was rejected (", appends[it->second].error, ")"));
        }
      }
      // Every acknowledged event at its acknowledged position.
      const bool must_hold_all = options.expect_converged || &log == reference ||
                                 entries.size() == reference->entries.size();
      std::vector<const AckedEvent*> missing;  // beyond the end of this log
      for (const auto& [id, ack] : acked) {
        const auto found = where.find(id);
        const std::string via = absl::StrCat(id, " (acknowledged at position ", ack->position,
                                             ", stream version ", ack->stream_version, ")");
        if (ack->position < entries.size()) {
          const LogEntry& entry = entries[ack->position];
          if (entry.event_id != id) {
            anomaly(absl::StrCat(name, ": acknowledged event ", via, " is not there: position ",
                                 ack->position, " holds ", entry.event_id,
                                 found == where.end()
                                     ? std::string("; the event is missing")
                                     : absl::StrCat("; the event is at position ",
                                                    absl::StrJoin(found->second, ", "))));
          } else if (entry.stream_version != ack->stream_version) {
            anomaly(absl::StrCat(name, ": acknowledged event ", via, " has stream version ",
                                 entry.stream_version));
          }
        } else if (found != where.end()) {
          anomaly(absl::StrCat(name, ": acknowledged event ", via, " is at position ",
                               absl::StrJoin(found->second, ", ")));
        } else if (must_hold_all) {
          missing.push_back(ack);
        }
      }
      // Acknowledged events past the end of the log: one anomaly per node.
      if (missing.size() == 1) {
        anomaly(absl::StrCat(name, ": acknowledged event ", missing[0]->event_id,
                             " (acknowledged at position ", missing[0]->position,
                             ", stream version ", missing[0]->stream_version,
                             ") is missing (log size ", entries.size(), ")"));
      } else if (!missing.empty()) {
        std::sort(missing.begin(), missing.end(), [](const AckedEvent* a, const AckedEvent* b) {
          return a->position < b->position;
        });
        std::string listed;
        for (size_t i = 0; i < missing.size() && i < 5; ++i) {
          absl::StrAppend(&listed, i == 0 ? "" : ", ", missing[i]->event_id, " at ",
                          missing[i]->position);
        }
        anomaly(absl::StrCat(name, ": ", missing.size(),
                             " acknowledged events are missing (log size ", entries.size(),
                             "): ", listed, missing.size() > 5 ? ", ..." : ""));
      }
      // Appends are atomic and ordered: all of an append's events or none, consecutive.
      for (const Append& append : appends) {
        if (append.event_ids.size() < 2) continue;
        std::vector<std::string> present;
        bool consecutive = true;
        std::optional<uint64_t> previous;
        for (const auto& id : append.event_ids) {
          const auto found = where.find(id);
          if (found == where.end()) continue;
          present.push_back(absl::StrCat(id, "@", found->second[0]));
          if (previous.has_value() && found->second[0] != *previous + 1) consecutive = false;
          previous = found->second[0];
        }
        if (present.empty()) continue;
        if (present.size() != append.event_ids.size()) {
          // A batch is applied in one write: even a lagging node holds all of it or none.
          anomaly(absl::StrCat(name, ": ", present.size(), " of the ", append.event_ids.size(),
                               " events of one append are present (", absl::StrJoin(present, " "),
                               "; requested ", absl::StrJoin(append.event_ids, " "), ")"));
        } else if (!consecutive) {
          anomaly(absl::StrCat(name,
                               ": the events of one append are not consecutive and in "
                               "request order: ",
                               absl::StrJoin(present, " ")));
        }
      }
      // The head agrees with the log read.
      if (log.has_head) {
        if (log.head_size != entries.size()) {
          anomaly(absl::StrCat(name, ": head size ", log.head_size, " but ", entries.size(),
                               " records read"));
        } else if (!entries.empty() && log.head_chain_hash != entries.back().chain_hash) {
          anomaly(absl::StrCat(name, ": head chain hash ", Hex(log.head_chain_hash),
                               " differs from the last record's ", Hex(entries.back().chain_hash)));
        }
      }
      // A prefix of the reference history.
      if (&log != reference) {
        const size_t common = std::min(entries.size(), reference->entries.size());
        for (size_t p = 0; p < common; ++p) {
          const LogEntry& mine = entries[p];
          const LogEntry& theirs = reference->entries[p];
          if (mine.event_id != theirs.event_id || mine.chain_hash != theirs.chain_hash) {
            anomaly(absl::StrCat(name, " diverges from ", reference->node, " at position ", p, ": ",
                                 mine.event_id, " chain ", Hex(mine.chain_hash), " vs ",
                                 theirs.event_id, " chain ", Hex(theirs.chain_hash)));
            break;
          }
        }
      }
    }

    // Unknown outcomes: committed or not (duplicates were reported above).
    std::unordered_map<std::string, bool> in_reference;
    for (const auto& e : reference->entries) in_reference.emplace(e.event_id, true);
    for (const Append& append : appends) {
      if (append.outcome != Outcome::kUnknown || append.event_ids.empty()) continue;
      if (in_reference.count(append.event_ids[0]) != 0) {
        ++report.unknown_present;
      } else {
        ++report.unknown_absent;
      }
    }

    // Converged: one size, head and Merkle root everywhere.
    if (options.expect_converged) {
      for (const auto& log : logs) {
        if (!log.error.empty()) continue;
        if (!log.has_head) {
          anomaly(absl::StrCat(log.node, ": no head read"));
        } else if (log.head_size != reference->head_size || log.root_hash != reference->root_hash) {
          anomaly(absl::StrCat("not converged: ", log.node, " has size ", log.head_size, " root ",
                               Hex(log.root_hash), ", ", reference->node, " has size ",
                               reference->head_size, " root ", Hex(reference->root_hash)));
        }
      }
    }
    return report;
  }

 private:
  enum class Outcome { kAcknowledged, kUnknown, kRejected };
  struct Append {
    Outcome outcome;
    std::string node;
    std::vector<std::string> event_ids;
    std::vector<AckedEvent> acked;  // acknowledged only
    bool duplicate = false;
    std::string error;
  };
  struct Reporter {
    HistoryReport& report;
    size_t max_listed;
    void operator()(std::string anomaly) const {
      ++report.anomaly_count;
      if (report.anomalies.size() < max_listed) report.anomalies.push_back(std::move(anomaly));
    }
  };

  static std::string Hex(const std::string& bytes) {
    return bytes.empty() ? "(none)" : absl::BytesToHexString(bytes).substr(0, 16);
  }
  size_t Count(Outcome outcome) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(
        appends_.begin(), appends_.end(), [&](const Append& a) { return a.outcome == outcome; }));
  }

  mutable std::mutex mu_;
  std::vector<Append> appends_;
  std::vector<std::string> record_anomalies_;
  std::set<std::string> in_flight_;  // attempted; outcome recorded in appends_ later (or never)
};

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_HISTORY_CHECKER_H_
