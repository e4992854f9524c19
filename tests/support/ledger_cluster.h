// lodestone-ledger processes for process-level tests, soaks and benchmarks of the distributed
// mode (docs/replication.md): a LedgerNode runs one ledger process (flags, extra flags, restart
// on the same data directory and ports, SIGKILL / SIGSTOP / SIGCONT, a /metrics scrape), a
// LedgerCluster runs N of them on one etcd cluster (find the leader, wait for convergence, read
// the logs for the history checker), and an AppendLoad drives concurrent appenders that retry
// an append with the same event ids on any node until it is acknowledged and record every
// outcome in a HistoryChecker.
//
// Needs lodestone_replication (the election lookup), lodestone_workload and lodestone_proto.
// Nodes are started, signalled and restarted from one controlling thread; stub(), running(),
// Metrics() and the AppendLoad's clients may be used from any thread.
#ifndef LODESTONE_TESTS_SUPPORT_LEDGER_CLUSTER_H_
#define LODESTONE_TESTS_SUPPORT_LEDGER_CLUSTER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
#include "services/replication/etcd_client.h"
#include "tests/support/child_process.h"
#include "tests/support/history_checker.h"
#include "tests/support/http_get.h"

namespace lodestone::testing {

// The value of one sample of a Prometheus text exposition. `series` is the name with its labels
// as exposed, e.g. `lodestone_replication_is_leader` or
// `lodestone_replication_role{role="leader"}`.
inline std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, series.size(), series) != 0 || line.size() <= series.size() ||
        line[series.size()] != ' ') {
      continue;
    }
    return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return std::nullopt;
}

struct LedgerNodeOptions {
  std::string binary{};          // lodestone-ledger
  std::string data_dir{};        // kept across restarts
  std::string etcd_endpoints{};  // empty: the embedded default (no etcd)
  std::string node_id{};
  int lease_ttl_ms = 1500;
  std::vector<std::string> extra_flags{};
  std::string stderr_path{};  // empty: the node's stderr is this process's; else appended there
  std::chrono::milliseconds start_timeout{30000};
};

class LedgerNode {
 public:
  explicit LedgerNode(LedgerNodeOptions options) : options_(std::move(options)) {}
  LedgerNode(const LedgerNode&) = delete;
  LedgerNode& operator=(const LedgerNode&) = delete;
  ~LedgerNode() { Kill(); }

  // Starts the process and waits until it serves. A restart (the node ran before) asks for the
  // same gRPC and metrics ports, and takes fresh ones if those cannot be bound. On failure,
  // error() says why (with the node's output).
  bool Start() {
    if (child_ != nullptr) Kill();
    const bool again = port_ != 0;
    for (int attempt = again ? 0 : 1; attempt < 2; ++attempt) {
      const int port = attempt == 0 ? port_ : 0;
      const int metrics_port = attempt == 0 ? metrics_port_ : 0;
      auto child = std::make_unique<ChildProcess>();
      if (!child->Start(Args(port, metrics_port))) {
        error_ = "could not start " + options_.binary;
        return false;
      }
      auto line = child->WaitForLine("serving gRPC on port", options_.start_timeout);
      if (!line) {
        error_ = absl::StrCat(options_.node_id, " did not start serving (ports ", port, "/",
                              metrics_port, "); output:\n", child->output());
        child->Signal(SIGKILL);
        child->Wait();
        continue;
      }
      const int new_port = std::stoi(line->substr(line->find("port ") + 5));
      const int new_metrics_port = std::stoi(line->substr(line->find("metrics on port ") + 16));
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no backoff inherited across starts
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
      args.SetMaxReceiveMessageSize(64 << 20);
      const std::string address = absl::StrCat("127.0.0.1:", new_port);
      auto stub = std::shared_ptr<v1::LedgerService::Stub>(v1::LedgerService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
      {
        std::lock_guard lock(mu_);
        port_ = new_port;
        metrics_port_ = new_metrics_port;
        address_ = address;
        stub_ = std::move(stub);
      }
      child_ = std::move(child);
      paused_ = false;
      running_ = true;
      ++starts_;
      return true;
    }
    return false;
  }

  // SIGKILL (also of a stopped process), and reap it.
  void Kill() {
    running_ = false;
    paused_ = false;
    if (child_ == nullptr) return;
    child_->Signal(SIGKILL);
    child_->Wait();
    output_ += child_->output();
    child_.reset();
  }
  bool Restart() {
    Kill();
    return Start();
  }
  // SIGTERM (a clean stop: a leader resigns); returns the wait status.
  int Terminate() {
    running_ = false;
    if (child_ == nullptr) return -1;
    if (paused_) child_->Signal(SIGCONT);
    paused_ = false;
    child_->Signal(SIGTERM);
    const int status = child_->Wait();
    output_ += child_->output();
    child_.reset();
    return status;
  }
  void Pause() {
    if (child_ == nullptr) return;
    child_->Signal(SIGSTOP);
    paused_ = true;
  }
  void Resume() {
    if (child_ == nullptr) return;
    child_->Signal(SIGCONT);
    paused_ = false;
  }

  bool running() const { return running_; }  // started, not killed (maybe paused)
  bool paused() const { return paused_; }
  int starts() const { return starts_; }
  const std::string& node_id() const { return options_.node_id; }
  const LedgerNodeOptions& options() const { return options_; }
  // The binary of the next Start, for a rolling upgrade (same data directory and ports, another
  // build). Call it while the node is stopped.
  void SetBinary(std::string binary) { options_.binary = std::move(binary); }
  pid_t pid() const { return child_ == nullptr ? -1 : child_->pid(); }
  std::string address() const {
    std::lock_guard lock(mu_);
    return address_;
  }
  int metrics_port() const {
    std::lock_guard lock(mu_);
    return metrics_port_;
  }
  // The stub of the last start (calls to a killed node fail fast with UNAVAILABLE).
  std::shared_ptr<v1::LedgerService::Stub> stub() const {
    std::lock_guard lock(mu_);
    return stub_;
  }
  const std::string& error() const { return error_; }
  // The stdout of every start so far (of the current one up to its "serving" line).
  std::string output() const { return output_ + (child_ ? child_->output() : ""); }

  // The /metrics exposition; nullopt when not running, paused or not answering.
  std::optional<std::string> Metrics(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const {
    if (!running_ || paused_) return std::nullopt;
    return HttpGet(metrics_port(), "/metrics", timeout);
  }
  std::optional<double> Metric(const std::string& series) const {
    auto body = Metrics();
    if (!body) return std::nullopt;
    return MetricValue(*body, series);
  }
  bool IsLeader() const { return Metric("lodestone_replication_is_leader").value_or(0) == 1; }

  std::optional<v1::Head> Head(
      std::chrono::milliseconds deadline = std::chrono::milliseconds(2000)) const {
    if (!running_ || paused_) return std::nullopt;
    auto s = stub();
    v1::Head head;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    if (!s->GetHead(&context, v1::GetHeadRequest(), &head).ok()) return std::nullopt;
    return head;
  }

 private:
  std::vector<std::string> Args(int port, int metrics_port) const {
    std::vector<std::string> args;
    if (!options_.stderr_path.empty()) {
      args = {"/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"", "sh",
              options_.stderr_path};
    }
    args.push_back(options_.binary);
    args.push_back(absl::StrCat("--listen=127.0.0.1:", port));
    args.push_back(absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port));
    args.push_back("--data_dir=" + options_.data_dir);
    if (!options_.etcd_endpoints.empty()) {
      args.push_back("--etcd_endpoints=" + options_.etcd_endpoints);
      args.push_back("--node_id=" + options_.node_id);
      args.push_back(absl::StrCat("--lease_ttl_ms=", options_.lease_ttl_ms));
    }
    for (const auto& flag : options_.extra_flags) args.push_back(flag);
    return args;
  }

  LedgerNodeOptions options_;
  std::unique_ptr<ChildProcess> child_;  // the controlling thread's
  std::atomic<bool> running_{false};
  std::atomic<bool> paused_{false};
  int starts_ = 0;
  std::string error_;
  std::string output_;  // of earlier starts
  mutable std::mutex mu_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string address_;
  std::shared_ptr<v1::LedgerService::Stub> stub_;
};

struct LedgerClusterOptions {
  std::string binary{};          // lodestone-ledger
  std::string root_dir{};        // node i keeps its data in <root_dir>/node<i>
  std::string etcd_endpoints{};  // required
  std::string cluster = "default";
  int nodes = 3;
  int lease_ttl_ms = 1500;
  std::vector<std::string> extra_flags{};
  std::vector<std::vector<std::string>> node_flags{};  // node i's own, after extra_flags
  bool stderr_to_files = false;  // <root_dir>/node<i>.stderr instead of this process's stderr
  // The test's own etcd calls (the election lookup) over TLS; null: plain text.
  std::shared_ptr<grpc::ChannelCredentials> etcd_credentials{};
};

class LedgerCluster {
 public:
  explicit LedgerCluster(LedgerClusterOptions options) : options_(std::move(options)) {
    for (int i = 0; i < options_.nodes; ++i) {
      LedgerNodeOptions node;
      node.binary = options_.binary;
      node.data_dir = absl::StrCat(options_.root_dir, "/node", i);
      node.etcd_endpoints = options_.etcd_endpoints;
      node.node_id = absl::StrCat("node", i);
      node.lease_ttl_ms = options_.lease_ttl_ms;
      node.extra_flags = options_.extra_flags;
      if (i < static_cast<int>(options_.node_flags.size())) {
        node.extra_flags.insert(node.extra_flags.end(), options_.node_flags[i].begin(),
                                options_.node_flags[i].end());
      }
      if (options_.cluster != "default")
        node.extra_flags.push_back("--cluster=" + options_.cluster);
      if (options_.stderr_to_files) {
        node.stderr_path = absl::StrCat(options_.root_dir, "/node", i, ".stderr");
      }
      nodes_.push_back(std::make_unique<LedgerNode>(std::move(node)));
    }
  }

  // Starts every node; error() says which did not start and why.
  bool Start() {
    for (auto& node : nodes_) {
      if (!node->Start()) {
        error_ = node->error();
        return false;
      }
    }
    return true;
  }

  int size() const { return static_cast<int>(nodes_.size()); }
  LedgerNode& node(int i) { return *nodes_[i]; }
  const LedgerNode& node(int i) const { return *nodes_[i]; }
  const std::string& error() const { return error_; }

  // Nodes running and not paused.
  std::vector<int> Live() const {
    std::vector<int> live;
    for (int i = 0; i < size(); ++i) {
      if (nodes_[i]->running() && !nodes_[i]->paused()) live.push_back(i);
    }
    return live;
  }

  // The one live node whose gauge lodestone_replication_is_leader is 1; -1 if none or several.
  int LeaderByMetrics() const {
    int leader = -1;
    for (int i : Live()) {
      if (nodes_[i]->IsLeader()) {
        if (leader >= 0) return -1;
        leader = i;
      }
    }
    return leader;
  }

  // The node the etcd election names (its campaign value is "<node_id>\n<address>"); -1 if none.
  int LeaderByElection() const {
    auto etcd = replication::EtcdClient::Create({.endpoints = options_.etcd_endpoints,
                                                 .call_timeout = absl::Seconds(3),
                                                 .tls_credentials = options_.etcd_credentials});
    if (!etcd.ok()) return -1;
    auto elected = (*etcd)->Leader("/lodestone/" + options_.cluster + "/election");
    if (!elected.ok()) return -1;
    for (int i = 0; i < size(); ++i) {
      if (elected->value.rfind(nodes_[i]->node_id() + "\n", 0) == 0) return i;
    }
    return -1;
  }

  // Polls until one live node (other than `not_node`) says it leads and the election names it.
  int WaitForLeader(std::chrono::milliseconds timeout, int not_node = -1) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      const int leader = LeaderByMetrics();
      if (leader >= 0 && leader != not_node && LeaderByElection() == leader) return leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return -1;
  }

  // Polls until the nodes report the same head (size and Merkle root) twice in a row.
  bool WaitConverged(const std::vector<int>& nodes, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<v1::Head> previous;
    do {
      std::optional<v1::Head> first;
      bool same = true;
      for (int i : nodes) {
        auto head = nodes_[i]->Head();
        if (!head) {
          same = false;
          break;
        }
        if (!first) first = head;
        same &= head->size() == first->size() && head->root_hash() == first->root_hash();
      }
      if (same && first && previous && previous->size() == first->size() &&
          previous->root_hash() == first->root_hash()) {
        return true;
      }
      previous = same ? first : std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
  bool WaitConverged(std::chrono::milliseconds timeout) const {
    std::vector<int> all;
    for (int i = 0; i < size(); ++i) all.push_back(i);
    return WaitConverged(all, timeout);
  }

  // Who leads, for failure messages: each node's state and gauges, and the etcd election.
  std::string DescribeLeadership() const {
    std::string out;
    for (int i = 0; i < size(); ++i) {
      const LedgerNode& node = *nodes_[i];
      absl::StrAppend(&out, node.node_id(), ": ");
      if (!node.running()) {
        absl::StrAppend(&out, "down; ");
        continue;
      }
      if (node.paused()) {
        absl::StrAppend(&out, "stopped; ");
        continue;
      }
      auto body = node.Metrics();
      if (!body) {
        absl::StrAppend(&out, "no metrics; ");
        continue;
      }
      constexpr absl::string_view kPrefix = "lodestone_replication_";
      for (const char* name : {"is_leader", "role{role=\"leader\"}", "role{role=\"follower\"}",
                               "role{role=\"catching_up\"}", "applied_sequence"}) {
        if (auto value = MetricValue(*body, absl::StrCat(kPrefix, name))) {
          absl::StrAppend(&out, name, "=", *value, " ");
        }
      }
      if (auto head = node.Head()) absl::StrAppend(&out, "size=", head->size());
      absl::StrAppend(&out, "; ");
    }
    const int elected = LeaderByElection();
    absl::StrAppend(&out, "election: ", elected < 0 ? "none" : nodes_[elected]->node_id());
    return out;
  }

  // Reads the nodes' logs (ReadNodeLog).
  std::vector<NodeLog> ReadLogs(const std::vector<int>& nodes) const {
    std::vector<NodeLog> logs;
    for (int i : nodes) {
      auto stub = nodes_[i]->stub();
      if (stub == nullptr) {
        logs.push_back({.node = nodes_[i]->node_id(), .error = "never started"});
        continue;
      }
      logs.push_back(ReadNodeLog(*stub, nodes_[i]->node_id()));
    }
    return logs;
  }

  // Reads the nodes' logs and checks them against `history`.
  HistoryReport CheckHistory(const HistoryChecker& history, const std::vector<int>& nodes,
                             const CheckOptions& options = {}) const {
    return history.Check(ReadLogs(nodes), options);
  }
  HistoryReport CheckHistory(const HistoryChecker& history,
                             const CheckOptions& options = {}) const {
    std::vector<int> all;
    for (int i = 0; i < size(); ++i) all.push_back(i);
    return CheckHistory(history, all, options);
  }

  // Appends through any running node, retrying UNAVAILABLE (no leader yet, a node down) and
  // deadlines with the same event ids on the next node until `timeout`; records the outcome in
  // `history` when given. `answered_by` gets the index of the node that answered.
  grpc::Status AppendWithRetry(const std::vector<v1::Event>& events, v1::AppendResponse* response,
                               std::chrono::milliseconds timeout, HistoryChecker* history = nullptr,
                               int* answered_by = nullptr) {
    v1::AppendRequest request;
    std::vector<std::string> ids;
    for (const auto& e : events) {
      *request.add_events() = e;
      ids.push_back(e.event_id());
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    grpc::Status status(grpc::StatusCode::UNAVAILABLE, "no node running");
    bool ambiguous = false;
    for (int attempt = 0;; ++attempt) {
      const int i = attempt % size();
      LedgerNode& node = *nodes_[i];
      if (node.running() && !node.paused()) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
        status = node.stub()->Append(&context, request, response);
        if (status.ok()) {
          if (history != nullptr) history->RecordAck(node.node_id(), ids, *response);
          if (answered_by != nullptr) *answered_by = i;
          return status;
        }
        if (!Retryable(status.error_code())) {
          if (history != nullptr) {
            if (ambiguous) {
              history->RecordUnknown(node.node_id(), ids, status.error_message());
            } else {
              history->RecordRejected(node.node_id(), ids, status.error_message());
            }
          }
          return status;
        }
        ambiguous = true;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      if (i == size() - 1) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (history != nullptr) history->RecordUnknown("", ids, status.error_message());
    return status;
  }

  // Errors after which the client cannot know whether its append was committed: it retries
  // them with the same event ids.
  static bool Retryable(grpc::StatusCode code) {
    return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
           code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::ABORTED ||
           code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNKNOWN;
  }

 private:
  const LedgerClusterOptions options_;
  std::vector<std::unique_ptr<LedgerNode>> nodes_;
  std::string error_;
};

struct AppendLoadOptions {
  int clients = 4;
  int max_events_per_append = 3;  // each append carries 1..this many events
  std::string prefix = "load";    // event ids: <prefix>-c<client>-<sequence>-<index>
  std::string facility{};         // an existing facility; every event extracts a new lot there
  std::chrono::milliseconds attempt_deadline{2000};
  std::chrono::milliseconds give_up_after{60000};  // one append retried this long: unknown
  std::chrono::milliseconds stop_grace{20000};     // after Stop(), for the append in progress
  std::chrono::milliseconds pause{0};              // between a client's appends
  // After an ambiguous failure, the client walks away with this probability (the append's
  // outcome stays unknown) instead of retrying.
  double abandon_probability = 0;
  uint64_t seed = 1;
};

// Concurrent appenders: each client appends LotExtracted batches through one node (at first
// client i through node i mod N, so followers forward) and retries a failed attempt with the same
// event ids on the next node, which it then sticks to.
class AppendLoad {
 public:
  AppendLoad(LedgerCluster& cluster, HistoryChecker& history, AppendLoadOptions options)
      : cluster_(cluster), history_(history), options_(std::move(options)) {}
  ~AppendLoad() { Stop(); }
  AppendLoad(const AppendLoad&) = delete;
  AppendLoad& operator=(const AppendLoad&) = delete;

  void Start() {
    for (int c = 0; c < options_.clients; ++c) threads_.emplace_back([this, c] { Client(c); });
  }

  // Lets each client finish (or give up on) the append in progress, then joins them.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      stop_deadline_ = std::chrono::steady_clock::now() + options_.stop_grace;
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t acknowledged_events() const { return acknowledged_events_; }
  uint64_t unknown() const { return unknown_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t failed_attempts() const { return failed_attempts_; }
  std::string last_rejection() const {
    std::lock_guard lock(mu_);
    return last_rejection_;
  }

  // True once `count` more appends than `since` (an earlier acknowledged()) are acknowledged.
  bool WaitForAcks(uint64_t since, uint64_t count, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (acknowledged_ < since + count) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

 private:
  enum class Result { kAcknowledged, kUnknown, kRejected, kNotSent };

  void Client(int c) {
    std::mt19937_64 rng(options_.seed * 1000003 + static_cast<uint64_t>(c));
    int node = c % cluster_.size();  // sticks to the node that answered last
    for (uint64_t seq = 0; !stopping(); ++seq) {
      const int n =
          1 + static_cast<int>(rng() % static_cast<uint64_t>(options_.max_events_per_append));
      v1::AppendRequest request;
      std::vector<std::string> ids;
      for (int k = 0; k < n; ++k) {
        const std::string id = absl::StrCat(options_.prefix, "-c", c, "-", seq, "-", k);
        *request.add_events() =
            loadgen::LotExtracted(id, id + "-lot", options_.facility, v1::MATERIAL_ANTIMONY_ORE,
                                  "261710", 1000 + static_cast<int64_t>(rng() % 100000));
        ids.push_back(id);
      }
      node = AppendOne(node, request, ids, rng);
      if (options_.pause.count() > 0) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, options_.pause, [this] { return stopping_; });
      }
    }
  }

  // Sends to `first`, then to the next nodes in turn; returns the node to start the next append
  // at (the one that acknowledged this one).
  int AppendOne(int first, const v1::AppendRequest& request, const std::vector<std::string>& ids,
                std::mt19937_64& rng) {
    const auto give_up = std::chrono::steady_clock::now() + options_.give_up_after;
    const int size = cluster_.size();
    history_.RecordAttempt(ids);
    bool ambiguous = false;
    std::string last_error;
    std::string last_node;
    int index = first;
    for (int attempt = 0;; ++attempt) {
      const auto now = std::chrono::steady_clock::now();
      if (now > give_up || StopGraceOver(now)) break;
      index = (first + attempt) % size;
      LedgerNode& node = cluster_.node(index);
      if (node.running()) {
        auto stub = node.stub();
        v1::AppendResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + options_.attempt_deadline);
        const grpc::Status status = stub->Append(&context, request, &response);
        if (status.ok()) {
          history_.RecordAck(node.node_id(), ids, response);
          acknowledged_events_ += ids.size();
          ++acknowledged_;
          return index;
        }
        ++failed_attempts_;
        last_node = node.node_id();
        last_error = absl::StrCat(status.error_code(), " ", status.error_message());
        if (!LedgerCluster::Retryable(status.error_code())) {
          if (ambiguous) {
            history_.RecordUnknown(last_node, ids, last_error);
            ++unknown_;
          } else {
            history_.RecordRejected(last_node, ids, last_error);
            ++rejected_;
          }
          std::lock_guard lock(mu_);
          last_rejection_ = absl::StrCat(last_node, ": ", last_error);
          return index;
        }
        ambiguous = true;
        if (options_.abandon_probability > 0 &&
            std::uniform_real_distribution<double>(0, 1)(rng) < options_.abandon_probability) {
          break;
        }
      }
      if (attempt % size == size - 1) {  // a full round failed: back off a little
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    history_.RecordUnknown(last_node, ids, last_error.empty() ? "never sent" : last_error);
    ++unknown_;
    return (index + 1) % size;
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  bool StopGraceOver(std::chrono::steady_clock::time_point now) const {
    std::lock_guard lock(mu_);
    return stopping_ && now > stop_deadline_;
  }

  LedgerCluster& cluster_;
  HistoryChecker& history_;
  const AppendLoadOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::string last_rejection_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> acknowledged_events_{0};
  std::atomic<uint64_t> unknown_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> failed_attempts_{0};
};

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_LEDGER_CLUSTER_H_
