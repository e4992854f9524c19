// The history checker (tests/support/history_checker.h) on fabricated histories: it passes a
// correct one and reports, precisely, a lost acknowledgement, a duplicate, a reorder, a divergent
// node, a torn or unattempted append, conflicting acknowledgements and unconverged nodes.
#include "tests/support/history_checker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lodestone::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

// A node's log holding `ids` in order, with a fabricated hash chain and root.
NodeLog Log(const std::string& node, const std::vector<std::string>& ids) {
  NodeLog log;
  log.node = node;
  std::string chain = "genesis";
  for (size_t p = 0; p < ids.size(); ++p) {
    chain = absl::StrCat(std::hash<std::string>{}(chain + "/" + ids[p]));
    log.entries.push_back({p, ids[p], 1, chain});
  }
  log.has_head = true;
  log.head_size = ids.size();
  log.root_hash = absl::StrCat("root-", chain);
  log.head_chain_hash = ids.empty() ? "" : chain;
  return log;
}

// Five single-event appends a..e acknowledged at positions 0..4.
void AckFive(HistoryChecker& history) {
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  for (size_t p = 0; p < ids.size(); ++p) history.RecordAck("n0", {{ids[p], p, 1}});
}

TEST(HistoryCheckerTest, ACorrectHistoryHasNoAnomalies) {
  HistoryChecker history;
  AckFive(history);
  history.RecordUnknown("n1", {"f"}, "deadline exceeded");  // committed after all
  history.RecordUnknown("n2", {"g"}, "unavailable");        // not committed
  history.RecordRejected("n0", {"h"}, "invalid argument");
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e", "f"};
  const HistoryReport report = history.Check({Log("n0", ids), Log("n1", ids), Log("n2", ids)});
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.nodes, 3u);
  EXPECT_EQ(report.log_size, 6u);
  EXPECT_EQ(report.acknowledged_appends, 5u);
  EXPECT_EQ(report.unknown_appends, 2u);
  EXPECT_EQ(report.unknown_present, 1u);
  EXPECT_EQ(report.unknown_absent, 1u);
  EXPECT_EQ(report.rejected_appends, 1u);
}

TEST(HistoryCheckerTest, ALaggingNodeIsAllowedUnlessConvergenceIsExpected) {
  HistoryChecker history;
  AckFive(history);
  const auto full = Log("n0", {"a", "b", "c", "d", "e"});
  const auto behind = Log("n1", {"a", "b", "c"});
  EXPECT_TRUE(history.Check({full, behind}, {.expect_converged = false}).ok());
  const HistoryReport report = history.Check({full, behind}, {.expect_converged = true});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("not converged: n1 has size 3")));
  EXPECT_THAT(report.anomalies,
              Contains("n1: 2 acknowledged events are missing (log size 3): d at 3, e at 4"));
}

TEST(HistoryCheckerTest, DetectsALostAcknowledgement) {
  HistoryChecker history;
  AckFive(history);
  // e was acknowledged at 4 but is in no log; every node ends at d.
  const auto log = Log("n", {"a", "b", "c", "d"});
  auto n0 = log, n1 = log;
  n0.node = "n0";
  n1.node = "n1";
  const HistoryReport report = history.Check({n0, n1}, {.expect_converged = false});
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.anomaly_count, 2u) << report.Summary();
  EXPECT_THAT(report.anomalies,
              Contains("n0: acknowledged event e (acknowledged at position 4, stream version 1) "
                       "is missing (log size 4)"));
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("n1: acknowledged event e")));
}

TEST(HistoryCheckerTest, ManyLostAcknowledgementsAreOneAnomalyPerNode) {
  HistoryChecker history;
  for (uint64_t p = 0; p < 20; ++p) history.RecordAck("n0", {{absl::StrCat("e", p), p, 1}});
  std::vector<std::string> ids;
  for (int p = 0; p < 12; ++p) ids.push_back(absl::StrCat("e", p));
  const HistoryReport report = history.Check({Log("n0", ids)}, {.expect_converged = false});
  EXPECT_EQ(report.anomaly_count, 1u) << report.Summary();
  EXPECT_THAT(report.anomalies, Contains("n0: 8 acknowledged events are missing (log size 12): "
                                         "e12 at 12, e13 at 13, e14 at 14, e15 at 15, e16 at "
                                         "16, ..."));
}

TEST(HistoryCheckerTest, DetectsALostAcknowledgementReplacedByAnotherEvent) {
  HistoryChecker history;
  AckFive(history);
  history.RecordUnknown("n1", {"x"}, "unavailable");
  // A deposed leader acknowledged c at 2, but the history holds x there.
  const std::vector<std::string> ids = {"a", "b", "x", "d", "e"};
  const HistoryReport report = history.Check({Log("n0", ids), Log("n1", ids)});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains("n0: acknowledged event c (acknowledged at position 2, "
                                         "stream version 1) is not there: position 2 holds x; "
                                         "the event is missing"));
}

TEST(HistoryCheckerTest, DetectsADuplicate) {
  HistoryChecker history;
  AckFive(history);
  history.RecordUnknown("n2", {"f"}, "deadline exceeded");
  // f (unknown outcome) was committed twice: a retry that was not recognised as a duplicate.
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e", "f", "f"};
  const HistoryReport report = history.Check({Log("n0", ids)});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains("n0: event f appears 2 times, at positions 5, 6"));
}

TEST(HistoryCheckerTest, DetectsAReorder) {
  HistoryChecker history;
  AckFive(history);
  const std::vector<std::string> ids = {"a", "b", "d", "c", "e"};
  const HistoryReport report = history.Check({Log("n0", ids)});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("acknowledged event c (acknowledged at "
                                                   "position 2, stream version 1) is not there: "
                                                   "position 2 holds d; the event is at position "
                                                   "3")));
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("acknowledged event d")));
}

TEST(HistoryCheckerTest, DetectsADivergentNode) {
  HistoryChecker history;
  AckFive(history);
  history.RecordUnknown("n2", {"x"}, "unavailable");
  history.RecordUnknown("n2", {"y"}, "unavailable");
  // n2 applied x where the others have y: each log is fine alone, they are not one history.
  const HistoryReport report = history.Check({Log("n0", {"a", "b", "c", "d", "e", "y"}),
                                              Log("n1", {"a", "b", "c", "d", "e", "y"}),
                                              Log("n2", {"a", "b", "c", "d", "e", "x"})});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("n2 diverges from n0 at position 5: x chain")));
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("not converged: n2 has size 6")));
}

TEST(HistoryCheckerTest, DetectsADifferentChainWithTheSameEvents) {
  HistoryChecker history;
  AckFive(history);
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  auto bad = Log("n1", ids);
  bad.entries[3].chain_hash = "tampered";  // e.g. another commit time in the leaf
  const HistoryReport report = history.Check({Log("n0", ids), bad}, {.expect_converged = false});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("n1 diverges from n0 at position 3: d chain")));
}

TEST(HistoryCheckerTest, DetectsEventsNeverAttemptedAndRejectedEventsPresent) {
  HistoryChecker history;
  AckFive(history);
  history.RecordRejected("n0", {"r"}, "failed precondition");
  const HistoryReport report = history.Check({Log("n0", {"a", "b", "c", "d", "e", "z", "r"})});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains("n0: event z at position 5 was never attempted"));
  EXPECT_THAT(report.anomalies, Contains(AllOf(HasSubstr("n0: event r is at position 6"),
                                               HasSubstr("rejected (failed precondition)"))));
}

TEST(HistoryCheckerTest, DetectsATornOrScatteredAppend) {
  HistoryChecker history;
  history.RecordAck("n0", {{"a", 0, 1}});
  history.RecordUnknown("n1", {"p", "q", "r"}, "unavailable");
  history.RecordUnknown("n1", {"s", "t"}, "unavailable");
  history.RecordUnknown("n1", {"u"}, "unavailable");
  const HistoryReport report = history.Check({Log("n0", {"a", "p", "q", "s", "u", "t"})});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies, Contains("n0: 2 of the 3 events of one append are present (p@1 "
                                         "q@2; requested p q r)"));
  EXPECT_THAT(report.anomalies, Contains("n0: the events of one append are not consecutive and "
                                         "in request order: s@3 t@5"));
}

TEST(HistoryCheckerTest, DetectsConflictingAcknowledgements) {
  HistoryChecker history;
  history.RecordAck("n0", {{"a", 0, 1}});
  history.RecordAck("n1", {{"b", 0, 1}});  // split brain: two leaders acknowledged position 0
  history.RecordAck("n2", {{"a", 1, 1}}, /*duplicate=*/true);  // a retry answered elsewhere
  const HistoryReport report = history.Check({Log("n0", {"a"})}, {.expect_converged = false});
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.anomalies,
              Contains("position 0 acknowledged for both a (via n0) and b (via n1)"));
  EXPECT_THAT(report.anomalies,
              Contains("event a acknowledged at position 0 and again at position 1 (via n2)"));
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("n0: acknowledged event b")));
}

TEST(HistoryCheckerTest, ReportsAnAcknowledgementThatDoesNotMatchItsRequest) {
  HistoryChecker history;
  v1::AppendResponse response;
  auto* result = response.add_results();
  result->set_event_id("b");
  result->set_position(0);
  result->set_stream_version(1);
  history.RecordAck("n0", {"a"}, response);
  const HistoryReport report = history.Check({Log("n0", {"b"})}, {.expect_converged = false});
  EXPECT_THAT(report.anomalies,
              Contains("acknowledgement from n0 result 0 names b, the request's event is a"));
}

TEST(HistoryCheckerTest, DetectsAWrongStreamVersionAndAHeadThatDisagreesWithTheLog) {
  HistoryChecker history;
  history.RecordAck("n0", {{"a", 0, 1}, {"b", 1, 2}});
  auto log = Log("n0", {"a", "b"});
  log.entries[1].stream_version = 3;
  log.head_chain_hash = "other";
  const HistoryReport report = history.Check({log});
  EXPECT_THAT(report.anomalies,
              Contains("n0: acknowledged event b (acknowledged at position 1, stream version 2) "
                       "has stream version 3"));
  EXPECT_THAT(report.anomalies, Contains(HasSubstr("n0: head chain hash")));
}

TEST(HistoryCheckerTest, ReportsAnUnreadableNodeAndCapsTheList) {
  HistoryChecker history;
  NodeLog down;
  down.node = "n1";
  down.error = "GetHead failed: 14 connection refused";
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(absl::StrCat("stray", i));
  const HistoryReport report = history.Check({Log("n0", ids), down}, {.max_listed_anomalies = 3});
  EXPECT_EQ(report.anomaly_count, 11u);
  EXPECT_EQ(report.anomalies.size(), 3u);
  EXPECT_THAT(report.anomalies,
              Contains("n1: log not readable: GetHead failed: 14 connection refused"));
  EXPECT_THAT(report.Summary(), HasSubstr("... and 8 more"));
}

TEST(HistoryCheckerTest, AnAppendInFlightIsAttemptedAndASnapshotKeepsWhatWasRecorded) {
  HistoryChecker history;
  history.RecordAck("n0", {{"a", 0, 1}});
  history.RecordAttempt({"b"});  // sent, no answer yet
  const HistoryChecker snapshot(history);
  history.RecordAck("n0", {{"b", 1, 1}});
  history.RecordAck("n0", {{"c", 2, 1}});
  // Read after the snapshot, the log holds b (in flight then) and c (not attempted then).
  const HistoryReport report = snapshot.Check({Log("n0", {"a", "b"})});
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.acknowledged_appends, 1u);
  EXPECT_THAT(snapshot.Check({Log("n0", {"a", "b", "c"})}).anomalies,
              Contains("n0: event c at position 2 was never attempted"));
  EXPECT_TRUE(history.Check({Log("n0", {"a", "b", "c"})}).ok());
}

}  // namespace
}  // namespace lodestone::testing
