// lodectl epcis import FILE / epcis export: EPCIS 2.0 documents through the ledger's HTTP port
// (the REST binding, docs/epcis.md), for partners who move files rather than call APIs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "services/lodectl/lodectl.h"

namespace lodestone::lodectl {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxFileBytes = size_t{1} << 30;  // 1 GiB
constexpr int kMaxDepth = 64;
constexpr int kMaxExportPages = 10000;

// Byte ranges of JSON values by JSON Pointer, found by walking the text once (no numbers are
// converted: the import sends each event's text as written).
class JsonWalk {
 public:
  explicit JsonWalk(std::string_view text) : text_(text) {}

  // Walks the whole text; for every value calls `visit(pointer, begin, end)`. False on malformed
  // JSON (error_offset() says where) or nesting deeper than kMaxDepth.
  template <typename Visit>
  bool Run(Visit&& visit) {
    pos_ = 0;
    std::string pointer;
    if (!Value(pointer, 0, visit)) return false;
    SkipSpace();
    if (pos_ != text_.size()) return Fail();
    return true;
  }
  size_t error_offset() const { return pos_; }

 private:
  bool Fail() { return false; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool String(std::string* out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return Fail();
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') ++pos_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return Fail();
    if (out != nullptr) *out = std::string(text_.substr(start, pos_ - start));
    ++pos_;
    return true;
  }
  static std::string Token(const std::string& key) {
    std::string out;
    for (char c : key) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
    return out;
  }
  template <typename Visit>
  bool Value(std::string& pointer, int depth, Visit& visit) {
    if (depth > kMaxDepth) return Fail();
    SkipSpace();
    if (pos_ >= text_.size()) return Fail();
    const size_t begin = pos_;
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      ++pos_;
      SkipSpace();
      const char close = c == '{' ? '}' : ']';
      size_t index = 0;
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
      } else {
        while (true) {
          std::string token;
          if (c == '{') {
            SkipSpace();
            std::string key;
            if (!String(&key)) return false;
            SkipSpace();
            if (pos_ >= text_.size() || text_[pos_] != ':') return Fail();
            ++pos_;
            token = Token(key);
          } else {
            token = std::to_string(index);
          }
          const size_t length = pointer.size();
          pointer += "/" + token;
          if (!Value(pointer, depth + 1, visit)) return false;
          pointer.resize(length);
          ++index;
          SkipSpace();
          if (pos_ < text_.size() && text_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < text_.size() && text_[pos_] == close) {
            ++pos_;
            break;
          }
          return Fail();
        }
      }
    } else if (c == '"') {
      if (!String(nullptr)) return false;
    } else {
      while (pos_ < text_.size() &&
             std::string_view("{}[],: \t\r\n\"").find(text_[pos_]) == std::string_view::npos) {
        ++pos_;
      }
      if (pos_ == begin) return Fail();
    }
    visit(std::string_view(pointer), begin, pos_);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

size_t LineOf(std::string_view text, size_t offset) {
  return 1 + std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n');
}

std::string ReadAll(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<httplib::Client> HttpClient(const Options& options) {
  auto client = options.tls_files.cert.empty()
                    ? std::make_unique<httplib::Client>(options.http_server)
                    : std::make_unique<httplib::Client>(options.http_server, options.tls_files.cert,
                                                        options.tls_files.key);
  if (!options.tls_files.ca.empty()) {
    client->set_ca_cert_path(options.tls_files.ca.c_str());
    client->enable_server_certificate_verification(true);
  }
  const auto deadline = std::chrono::milliseconds(options.deadline_ms);
  client->set_connection_timeout(deadline);
  client->set_read_timeout(deadline);
  client->set_write_timeout(deadline);
  return client;
}

int ExitForHttp(int status) {
  if (status == 400 || status == 409 || status == 413 || status == 415 || status == 422) {
    return kInvalidInput;
  }
  if (status == 404) return kNotFound;
  if (status == 503 || status == 504) return kUnreachable;
  return kFailure;
}

int Unreachable(const Options& options, const std::string& what, httplib::Error error) {
  std::cerr << "lodectl: " << what << ": " << options.http_server << ": "
            << httplib::to_string(error) << "\n";
  return kUnreachable;
}

// The HTTP status a capture job's error stands for (its problem's "status").
int HttpStatusOfJobError(const Json& problem) { return problem.value("status", 500); }

// A capture refusal named in the file: the event's index and line, the pointer, the reason.
int ReportRefusal(const std::string& path, std::string_view text, const Json& problem,
                  size_t first_index, int status) {
  std::string pointer = problem.value("pointer", "");
  constexpr std::string_view kList = "/epcisBody/eventList/";
  std::optional<size_t> event;
  if (std::string_view(pointer).starts_with(kList)) {
    const std::string rest = pointer.substr(kList.size());
    size_t index = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find('/')), &index)) {
      event = first_index + index;
      const size_t slash = rest.find('/');
      pointer = absl::StrCat(std::string(kList), *event,
                             slash == std::string::npos ? "" : rest.substr(slash));
    }
  }
  // The line of the value the pointer names, else of its nearest enclosing value.
  size_t offset = 0, best = 0;
  JsonWalk(text).Run([&](std::string_view at, size_t begin, size_t) {
    if (std::string_view(pointer).starts_with(at) && at.size() >= best &&
        (pointer.size() == at.size() || pointer[at.size()] == '/')) {
      best = at.size();
      offset = begin;
    }
  });
  std::cerr << "lodectl: epcis import: " << path << ":" << LineOf(text, offset) << ": ";
  if (event) std::cerr << "event " << *event << ": ";
  std::cerr << (pointer.empty() ? "" : pointer + ": ") << problem.value("kind", "refused") << ": "
            << problem.value("detail", problem.value("title", "")) << " (HTTP " << status << ")\n";
  return ExitForHttp(status == 202 ? HttpStatusOfJobError(problem) : status);
}

}  // namespace

int EpcisImport(const Options& options, const std::string& path, std::ostream& out) {
  bool readable = false;
  const std::string text = path == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                                       : ReadAll(path, &readable);
  if (path != "-" && !readable) {
    std::cerr << "lodectl: epcis import: cannot read " << path << "\n";
    return kInvalidInput;
  }
  if (text.size() > kMaxFileBytes) {
    std::cerr << "lodectl: epcis import: " << path << " is larger than 1 GiB\n";
    return kInvalidInput;
  }
  size_t list_begin = 0, list_end = 0;
  bool found = false;
  std::vector<std::pair<size_t, size_t>> events;
  JsonWalk walk(text);
  const bool parsed = walk.Run([&](std::string_view pointer, size_t begin, size_t end) {
    constexpr std::string_view kList = "/epcisBody/eventList";
    if (pointer == kList) {
      found = text[begin] == '[';
      list_begin = begin;
      list_end = end;
    } else if (pointer.starts_with(kList) && pointer.size() > kList.size() &&
               pointer.find('/', kList.size() + 1) == std::string_view::npos) {
      events.emplace_back(begin, end);
    }
  });
  if (!parsed) {
    std::cerr << "lodectl: epcis import: " << path << ":" << LineOf(text, walk.error_offset())
              << ": malformed JSON (or nested deeper than " << kMaxDepth << ")\n";
    return kInvalidInput;
  }
  if (!found) {
    std::cerr << "lodectl: epcis import: " << path
              << ": not an EPCIS document (no /epcisBody/eventList array)\n";
    return kInvalidInput;
  }
  auto client = HttpClient(options);
  const bool tty = options.progress && isatty(STDERR_FILENO);
  size_t lodestone_events = 0;
  // One capture per --batch_events EPCIS events, each the document with that slice of its
  // events (their text as written): atomic per capture; re-running is idempotent.
  for (size_t first = 0; first < events.size() || (first == 0 && events.empty());
       first += options.batch_events) {
    const size_t last = std::min(events.size(), first + options.batch_events);
    std::string body = text.substr(0, list_begin + 1);
    for (size_t i = first; i < last; ++i) {
      if (i > first) body += ",";
      body.append(text, events[i].first, events[i].second - events[i].first);
    }
    body.append(text, list_end - 1, std::string::npos);
    auto posted = client->Post("/capture", body, "application/ld+json");
    if (!posted) return Unreachable(options, "epcis import", posted.error());
    Json answer = Json::parse(posted->body, nullptr, false);
    if (posted->status != 202) {
      return ReportRefusal(path, text, answer.is_object() ? answer : Json::object(), first,
                           posted->status);
    }
    const std::string location = posted->get_header_value("Location");
    Json job;
    const absl::Time give_up = absl::Now() + absl::Milliseconds(options.deadline_ms) * 6;
    for (absl::Duration wait = absl::Milliseconds(5);;
         wait = std::min(wait * 2, absl::Seconds(1))) {
      auto got = client->Get(location);
      if (!got) return Unreachable(options, "epcis import", got.error());
      job = Json::parse(got->body, nullptr, false);
      if (got->status != 200 || !job.is_object()) {
        std::cerr << "lodectl: epcis import: " << location << ": HTTP " << got->status << "\n";
        return ExitForHttp(got->status);
      }
      if (!job.value("running", true)) break;
      if (absl::Now() > give_up) {
        std::cerr << "lodectl: epcis import: capture " << location
                  << " still running; re-run the import later (it is idempotent)\n";
        return kUnreachable;
      }
      absl::SleepFor(wait);
    }
    if (!job.value("success", false)) {
      if (tty) std::cerr << "\n";
      const Json problem =
          job.contains("errors") && !job["errors"].empty() ? job["errors"][0] : Json::object();
      return ReportRefusal(path, text, problem, first, 202);
    }
    lodestone_events += job.value("events", Json::array()).size();
    if (options.progress) {
      const size_t width = 30, done = events.empty() ? width : width * last / events.size();
      std::cerr << (tty ? "\r" : "") << "[" << std::string(done, '#')
                << std::string(width - done, '.') << "] " << last << "/" << events.size()
                << " EPCIS events" << (tty ? "" : "\n") << std::flush;
    }
    if (events.empty()) break;
  }
  if (tty) std::cerr << "\n";
  out << "captured " << events.size() << " EPCIS events as " << lodestone_events
      << " Lodestone events (new or already there)\n";
  return kOk;
}

int EpcisExport(const Options& options, std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> query = {{"perPage", "1000"}};
  const auto time_param = [](const std::string& text) {
    return text.size() == 10 ? text + "T00:00:00Z" : text;  // YYYY-MM-DD: midnight UTC
  };
  if (!options.lot.empty()) {
    query.emplace_back("MATCH_anyEPCClass", options.lot.find(':') == std::string::npos
                                                ? "urn:lodestone:lot:" + options.lot
                                                : options.lot);
  }
  if (!options.from.empty()) query.emplace_back("GE_eventTime", time_param(options.from));
  if (!options.to.empty()) query.emplace_back("LT_eventTime", time_param(options.to));
  std::string target = "/events?";
  for (size_t i = 0; i < query.size(); ++i) {
    absl::StrAppend(&target, i == 0 ? "" : "&", query[i].first, "=",
                    httplib::detail::encode_query_param(query[i].second));
  }
  auto client = HttpClient(options);
  Json events = Json::array();
  Json context;
  for (int page = 0;; ++page) {
    if (page == kMaxExportPages) {
      std::cerr << "lodectl: epcis export: more than " << kMaxExportPages
                << " pages; narrow the query (--lot, --from, --to)\n";
      return kFailure;
    }
    auto got = client->Get(target);
    if (!got) return Unreachable(options, "epcis export", got.error());
    Json body = Json::parse(got->body, nullptr, false);
    if (got->status != 200 || !body.is_object()) {
      std::cerr << "lodectl: epcis export: HTTP " << got->status << ": "
                << (body.is_object() ? body.value("detail", "") : got->body) << "\n";
      return ExitForHttp(got->status);
    }
    if (context.is_null()) context = body["@context"];
    for (auto& event : body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) {
      events.push_back(std::move(event));
    }
    if (options.progress) std::cerr << "exported " << events.size() << " EPCIS events\n";
    const std::string link = got->get_header_value("Link");
    if (link.empty()) break;
    target = link.substr(1, link.find('>') - 1);
  }
  Json document = {
      {"@context", context},
      {"type", "EPCISDocument"},
      {"schemaVersion", "2.0"},
      {"creationDate", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"epcisBody", {{"eventList", std::move(events)}}}};
  const std::string text = document.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  if (options.out.empty() || options.out == "-") {
    out << text;
    return kOk;
  }
  std::ofstream file(options.out, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.good()) {
    std::cerr << "lodectl: epcis export: cannot write " << options.out << "\n";
    return kFailure;
  }
  out << "wrote " << document["epcisBody"]["eventList"].size() << " EPCIS events to " << options.out
      << "\n";
  return kOk;
}

}  // namespace lodestone::lodectl
