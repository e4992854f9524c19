#include "services/replication/etcd_connection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/replication/etcd_types.h"

namespace lodestone::replication::internal {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Keepalive pings detect a member that stopped answering on an open stream (a watch). etcd
// refuses pings more often than --grpc-keepalive-min-time (5 s by default), and pings without an
// open stream: hence 10 s, only while calls are active.
grpc::ChannelArguments ChannelArgs(int max_receive_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_receive_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A restarted member is found again quickly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

std::shared_ptr<const Connection> Connect(
    const std::string& endpoint, int max_receive_bytes,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  auto connection = std::make_shared<Connection>();
  connection->endpoint = endpoint;
  connection->channel = grpc::CreateCustomChannel(
      endpoint, credentials != nullptr ? credentials : grpc::InsecureChannelCredentials(),
      ChannelArgs(max_receive_bytes));
  connection->kv = etcdserverpb::KV::NewStub(connection->channel);
  connection->lease = etcdserverpb::Lease::NewStub(connection->channel);
  connection->watch = etcdserverpb::Watch::NewStub(connection->channel);
  connection->election = v3electionpb::Election::NewStub(connection->channel);
  return connection;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEndpoints(std::string_view endpoints, bool tls) {
  std::vector<std::string> result;
  for (absl::string_view entry : absl::StrSplit(ToAbsl(endpoints), ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    const absl::string_view given = entry;
    if (absl::ConsumePrefix(&entry, "https://")) {
      if (!tls) {
        return absl::InvalidArgumentError(absl::StrCat(
            "etcd endpoint '", given, "' is https:// but the etcd client has no TLS credentials"));
      }
    } else if (tls) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint '", given,
                       "' is not https:// but the etcd client uses TLS: give every endpoint as "
                       "https://host:port"));
    } else {
      absl::ConsumePrefix(&entry, "http://");
    }
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint list '", ToAbsl(endpoints), "' has an empty entry"));
    }
    result.emplace_back(entry);
  }
  return result;
}

ConnectionPool::ConnectionPool(const std::vector<std::string>& endpoints, int max_receive_bytes,
                               const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  for (const std::string& endpoint : endpoints) {
    connections_.push_back(Connect(endpoint, max_receive_bytes, credentials));
  }
}

std::shared_ptr<const Connection> ConnectionPool::Current() const {
  std::lock_guard lock(mu_);
  return connections_[current_];
}

void ConnectionPool::Failed(const Connection& failed) {
  std::lock_guard lock(mu_);
  if (connections_[current_].get() == &failed) current_ = (current_ + 1) % connections_.size();
}

absl::Status ToStatus(const grpc::Status& status, std::string_view what,
                      std::string_view endpoint) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  if (code == absl::StatusCode::kUnknown &&
      absl::StrContains(status.error_message(), "election: no leader")) {
    code = absl::StatusCode::kNotFound;
  }
  return absl::Status(code, absl::StrCat("etcd ", ToAbsl(what), " at ", ToAbsl(endpoint), ": ",
                                         status.error_message()));
}

bool Retryable(const grpc::Status& status, absl::Time attempt_deadline, absl::Time call_deadline) {
  if (absl::Now() >= call_deadline) return false;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return true;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return attempt_deadline < call_deadline;
    default:
      return false;
  }
}

absl::Status FinalStatus(const grpc::Status& last, const absl::Status& unavailable,
                         std::string_view what, std::string_view endpoint) {
  if (last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED || unavailable.ok()) {
    return ToStatus(last, what, endpoint);
  }
  return absl::UnavailableError(
      absl::StrCat("no etcd endpoint answered in time; last failure: ", unavailable.message()));
}

void BackoffAfterFailure(int failures, size_t endpoints, absl::Time call_deadline) {
  if (failures % static_cast<int>(endpoints) != 0) return;  // try the other endpoints first
  const int round = std::min(failures / static_cast<int>(endpoints), 5);
  const absl::Duration pause =
      std::min(absl::Milliseconds(50) * (1 << (round - 1)), absl::Seconds(1));
  absl::SleepFor(std::min(pause, call_deadline - absl::Now()));
}

}  // namespace lodestone::replication::internal
