// lodectl append: NDJSON (one lodestone.v1.Event per line, protobuf JSON mapping) to the
// ledger, in batches. Safe to re-run after an interruption: event ids make appends idempotent.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "services/lodectl/lodectl.h"
#include "services/lodectl/ndjson.h"

namespace lodestone::lodectl {
namespace {

constexpr int kMaxAttempts = 10;
constexpr size_t kMaxReasonsShown = 20;

struct Totals {
  uint64_t lines = 0;
  uint64_t accepted = 0;
  uint64_t duplicate = 0;
  uint64_t rejected = 0;
  uint64_t log_size = 0;
  std::vector<std::string> reasons;
  bool unreachable = false;

  void Reason(std::string reason) {
    if (reasons.size() < kMaxReasonsShown) reasons.push_back(std::move(reason));
  }
};

// The line of the event a server message names ("events[i]: ..."), if it names one.
std::string WithLine(const std::vector<EventLine>& batch, const std::string& message) {
  const std::string marker = "events[";
  const auto at = message.find(marker);
  if (at != std::string::npos) {
    const auto end = message.find(']', at);
    size_t index = 0;
    if (end != std::string::npos &&
        absl::SimpleAtoi(message.substr(at + marker.size(), end - at - marker.size()), &index) &&
        index < batch.size()) {
      return absl::StrCat("line ", batch[index].number, ": ", message);
    }
  }
  return absl::StrCat("lines ", batch.front().number, "-", batch.back().number, ": ", message);
}

grpc::Status SendWithRetries(Client& client, const std::vector<EventLine>& batch,
                             v1::AppendResponse* response) {
  v1::AppendRequest request;
  for (const auto& line : batch) *request.add_events() = line.event;
  auto backoff = std::chrono::milliseconds(100);
  grpc::Status status;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto context = client.Context();
    response->Clear();
    status = client.ledger().Append(context.get(), request, response);
    const auto code = status.error_code();
    if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::RESOURCE_EXHAUSTED &&
        code != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return status;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  return status;
}

void Send(Client& client, const std::vector<EventLine>& batch, Totals& totals) {
  v1::AppendResponse response;
  grpc::Status status = SendWithRetries(client, batch, &response);
  if (status.ok()) {
    (response.duplicate() ? totals.duplicate : totals.accepted) += batch.size();
    totals.log_size = std::max(totals.log_size, response.log_size());
    return;
  }
  if (ExitCodeOf(status) == kUnreachable) {
    totals.unreachable = true;
    totals.rejected += batch.size();
    totals.Reason(WithLine(batch, "server unreachable: " + status.error_message()));
    return;
  }
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS &&
      status.error_message().find("in another batch") != std::string::npos && batch.size() > 1) {
    // Some of these events were appended before in differently cut batches (a re-run with
    // another --batch_events): send them one by one, which is idempotent.
    for (const auto& line : batch) Send(client, {line}, totals);
    return;
  }
  totals.rejected += batch.size();
  totals.Reason(WithLine(batch, status.error_message()));
}

void Progress(const Totals& totals, absl::Time start, bool done) {
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
  const uint64_t events = totals.accepted + totals.duplicate + totals.rejected;
  std::cerr << "\r  " << totals.lines << " lines, " << events << " events sent, "
            << static_cast<uint64_t>(events / seconds) << " events/s" << (done ? "\n" : "")
            << std::flush;
}

}  // namespace

int Append(Client& client, const std::string& path, const EventSigner* signer, std::ostream& out) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) {
      std::cerr << "lodectl: cannot read " << path << "\n";
      return kInvalidInput;
    }
    in = &file;
  }
  const bool tty = client.options().progress && isatty(STDERR_FILENO);
  const absl::Time start = absl::Now();
  absl::Time last_progress = start;
  Totals totals;
  NdjsonBatcher batcher(client.options().batch_events);
  auto send = [&](LineBatch batch) {
    if (!batch.errors.empty()) {  // a malformed line: nothing of this batch is sent
      for (auto& error : batch.errors) totals.Reason(std::move(error));
      totals.rejected += batch.lines;
      return;
    }
    if (batch.events.empty()) return;
    if (signer != nullptr) {
      for (auto& line : batch.events) signer->Sign(line.event);
    }
    Send(client, batch.events, totals);
  };
  std::string text;
  while (std::getline(*in, text)) {
    ++totals.lines;
    if (auto batch = batcher.Add(text)) send(*std::move(batch));
    if (totals.unreachable) break;
    if (tty && absl::Now() - last_progress > absl::Milliseconds(200)) {
      Progress(totals, start, false);
      last_progress = absl::Now();
    }
  }
  send(batcher.Finish());
  if (tty) Progress(totals, start, true);
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
  out << "appended from " << (path == "-" ? "stdin" : path) << ": " << totals.accepted
      << " accepted, " << totals.duplicate << " duplicate (already appended), " << totals.rejected
      << " rejected; " << totals.lines << " lines in " << absl::StrFormat("%.1f", seconds) << " s";
  if (totals.log_size > 0) out << "; log size " << totals.log_size;
  out << "\n";
  for (const auto& reason : totals.reasons) out << "  rejected: " << reason << "\n";
  if (totals.unreachable) return kUnreachable;
  return totals.rejected > 0 ? kInvalidInput : kOk;
}

}  // namespace lodestone::lodectl
