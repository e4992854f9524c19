#include "services/replication/etcd_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/replication/etcd_connection.h"

namespace lodestone::replication {
namespace {

using internal::CallTimes;
using internal::Connection;
using internal::RetryCall;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  return KeyValue{kv.key(),          kv.value(),   kv.create_revision(),
                  kv.mod_revision(), kv.version(), kv.lease()};
}

etcdserverpb::Compare ToProto(const Compare& compare) {
  etcdserverpb::Compare out;
  out.set_key(compare.key);
  switch (compare.op) {
    case Compare::Op::kEqual:
      out.set_result(etcdserverpb::Compare::EQUAL);
      break;
    case Compare::Op::kNotEqual:
      out.set_result(etcdserverpb::Compare::NOT_EQUAL);
      break;
    case Compare::Op::kGreater:
      out.set_result(etcdserverpb::Compare::GREATER);
      break;
    case Compare::Op::kLess:
      out.set_result(etcdserverpb::Compare::LESS);
      break;
  }
  switch (compare.target) {
    case Compare::Target::kValue:
      out.set_target(etcdserverpb::Compare::VALUE);
      out.set_value(compare.value);
      break;
    case Compare::Target::kVersion:
      out.set_target(etcdserverpb::Compare::VERSION);
      out.set_version(compare.number);
      break;
    case Compare::Target::kCreateRevision:
      out.set_target(etcdserverpb::Compare::CREATE);
      out.set_create_revision(compare.number);
      break;
    case Compare::Target::kModRevision:
      out.set_target(etcdserverpb::Compare::MOD);
      out.set_mod_revision(compare.number);
      break;
  }
  return out;
}

etcdserverpb::RequestOp ToProto(const TxnOp& op) {
  etcdserverpb::RequestOp out;
  if (op.type == TxnOp::Type::kPut) {
    etcdserverpb::PutRequest* put = out.mutable_request_put();
    put->set_key(op.key);
    put->set_value(op.value);
    put->set_lease(op.lease);
    return out;
  }
  etcdserverpb::DeleteRangeRequest* del = out.mutable_request_delete_range();
  del->set_key(op.key);
  if (op.type == TxnOp::Type::kDeletePrefix) del->set_range_end(PrefixRangeEnd(op.key));
  if (op.type == TxnOp::Type::kDeleteRange) del->set_range_end(op.value);
  return out;
}

absl::Status CheckValue(std::string_view key, std::string_view value) {
  if (key.empty()) return absl::InvalidArgumentError("etcd keys may not be empty");
  if (value.size() <= kMaxValueBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("etcd value of '", ToAbsl(key), "' has ",
                                                 value.size(), " bytes; the limit is ",
                                                 kMaxValueBytes));
}

absl::Status CheckRequestSize(const google::protobuf::Message& request) {
  const size_t bytes = request.ByteSizeLong();
  if (bytes <= kMaxRequestBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("etcd request of ", bytes, " bytes exceeds the limit of ", kMaxRequestBytes));
}

absl::StatusOr<etcdserverpb::TxnRequest> BuildTxn(const std::vector<Compare>& compares,
                                                  const std::vector<TxnOp>& success) {
  if (compares.size() + success.size() > kMaxTxnOps) {
    return absl::InvalidArgumentError(absl::StrCat("etcd txn has ", compares.size(),
                                                   " compares and ", success.size(),
                                                   " operations; the limit is ", kMaxTxnOps));
  }
  etcdserverpb::TxnRequest request;
  for (const Compare& compare : compares) *request.add_compare() = ToProto(compare);
  for (const TxnOp& op : success) {
    if (auto status = CheckValue(op.key, op.value); !status.ok()) return status;
    *request.add_success() = ToProto(op);
  }
  if (auto status = CheckRequestSize(request); !status.ok()) return status;
  return request;
}

CallTimes Times(const EtcdClientOptions& options) {
  return CallTimes{options.call_timeout, options.attempt_timeout};
}

}  // namespace

// --- Compare, TxnOp, PrefixRangeEnd ---

Compare Compare::ValueEquals(std::string_view key, std::string_view value) {
  return Compare{std::string(key), Target::kValue, Op::kEqual, std::string(value), 0};
}
Compare Compare::VersionEquals(std::string_view key, int64_t version) {
  return Compare{std::string(key), Target::kVersion, Op::kEqual, "", version};
}
Compare Compare::CreateRevisionEquals(std::string_view key, int64_t revision) {
  return Compare{std::string(key), Target::kCreateRevision, Op::kEqual, "", revision};
}
Compare Compare::ModRevisionEquals(std::string_view key, int64_t revision) {
  return Compare{std::string(key), Target::kModRevision, Op::kEqual, "", revision};
}

TxnOp TxnOp::Put(std::string_view key, std::string_view value, int64_t lease) {
  return TxnOp{Type::kPut, std::string(key), std::string(value), lease};
}
TxnOp TxnOp::Delete(std::string_view key) { return TxnOp{Type::kDelete, std::string(key), "", 0}; }
TxnOp TxnOp::DeletePrefix(std::string_view prefix) {
  return TxnOp{Type::kDeletePrefix, std::string(prefix), "", 0};
}
TxnOp TxnOp::DeleteRange(std::string_view key, std::string_view range_end) {
  return TxnOp{Type::kDeleteRange, std::string(key), std::string(range_end), 0};
}

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();  // 0xff cannot be incremented: the range ends after the shorter prefix
  }
  return std::string(1, '\0');  // every key
}

// --- Canceller ---

void Canceller::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (active_ != nullptr) active_->TryCancel();
}

bool Canceller::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

bool Canceller::Attach(grpc::ClientContext* context) {
  std::lock_guard lock(mu_);
  if (cancelled_) return false;
  active_ = context;
  return true;
}

void Canceller::Detach() {
  std::lock_guard lock(mu_);
  active_ = nullptr;
}

// --- EtcdClient ---

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdClientOptions options) {
  absl::StatusOr<std::vector<std::string>> endpoints =
      internal::ParseEndpoints(options.endpoints, options.tls_credentials != nullptr);
  if (!endpoints.ok()) return endpoints.status();
  if (options.call_timeout <= absl::ZeroDuration() ||
      options.attempt_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd client timeouts must be positive");
  }
  if (options.max_receive_bytes < kMinReceiveBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd client max_receive_bytes must be at least ", kMinReceiveBytes));
  }
  auto pool = std::make_shared<internal::ConnectionPool>(*endpoints, options.max_receive_bytes,
                                                         options.tls_credentials);
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(options), std::move(pool)));
}

EtcdClient::EtcdClient(EtcdClientOptions options, std::shared_ptr<internal::ConnectionPool> pool)
    : options_(std::move(options)), pool_(std::move(pool)) {}

EtcdClient::~EtcdClient() = default;

std::string EtcdClient::current_endpoint() const { return pool_->Current()->endpoint; }

absl::StatusOr<KeyValue> EtcdClient::Get(std::string_view key) {
  absl::StatusOr<RangeResult> range = Range(key, "", 1);
  if (!range.ok()) return range.status();
  if (range->kvs.empty()) return absl::NotFoundError(absl::StrCat("etcd key '", ToAbsl(key), "'"));
  return std::move(range->kvs.front());
}

absl::StatusOr<RangeResult> EtcdClient::GetPrefix(std::string_view prefix, int64_t limit,
                                                  std::string_view from_key) {
  if (limit <= 0 || limit > kMaxPageKeys) limit = kMaxPageKeys;
  const std::string_view start = from_key > prefix ? from_key : prefix;
  return Range(start, PrefixRangeEnd(prefix), limit);
}

// Halves the page while the reply would not fit the receive limit.
absl::StatusOr<RangeResult> EtcdClient::Range(std::string_view key, std::string_view range_end,
                                              int64_t limit) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(std::string(range_end));
  etcdserverpb::RangeResponse response;
  absl::Status status;
  while (true) {
    request.set_limit(limit);
    status = RetryCall(*pool_, Times(options_), "Range",
                       [&](const Connection& connection, grpc::ClientContext* context) {
                         return connection.kv->Range(context, request, &response);
                       });
    if (status.code() != absl::StatusCode::kResourceExhausted || limit <= 1) break;
    limit /= 2;
  }
  if (!status.ok()) return status;
  RangeResult result;
  for (const mvccpb::KeyValue& kv : response.kvs()) result.kvs.push_back(FromProto(kv));
  result.more = response.more();
  result.revision = response.header().revision();
  return result;
}

absl::StatusOr<int64_t> EtcdClient::Put(std::string_view key, std::string_view value,
                                        int64_t lease) {
  if (auto status = CheckValue(key, value); !status.ok()) return status;
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  if (auto status = CheckRequestSize(request); !status.ok()) return status;
  etcdserverpb::PutResponse response;
  absl::Status status = RetryCall(*pool_, Times(options_), "Put",
                                  [&](const Connection& connection, grpc::ClientContext* context) {
                                    return connection.kv->Put(context, request, &response);
                                  });
  if (!status.ok()) return status;
  return response.header().revision();
}

absl::StatusOr<int64_t> EtcdClient::Delete(std::string_view key) { return DeleteRange(key, ""); }

absl::StatusOr<int64_t> EtcdClient::DeletePrefix(std::string_view prefix) {
  return DeleteRange(prefix, PrefixRangeEnd(prefix));
}

absl::StatusOr<int64_t> EtcdClient::DeleteRange(std::string_view key, std::string_view range_end) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  request.set_range_end(std::string(range_end));
  etcdserverpb::DeleteRangeResponse response;
  absl::Status status = RetryCall(*pool_, Times(options_), "DeleteRange",
                                  [&](const Connection& connection, grpc::ClientContext* context) {
                                    return connection.kv->DeleteRange(context, request, &response);
                                  });
  if (!status.ok()) return status;
  return response.deleted();
}

absl::StatusOr<TxnResult> EtcdClient::Txn(const std::vector<Compare>& compares,
                                          const std::vector<TxnOp>& success) {
  absl::StatusOr<etcdserverpb::TxnRequest> request = BuildTxn(compares, success);
  if (!request.ok()) return request.status();
  etcdserverpb::TxnResponse response;
  absl::Status status = RetryCall(*pool_, Times(options_), "Txn",
                                  [&](const Connection& connection, grpc::ClientContext* context) {
                                    return connection.kv->Txn(context, *request, &response);
                                  });
  if (!status.ok()) return status;
  return TxnResult{response.succeeded(), response.header().revision()};
}

absl::StatusOr<TxnResult> EtcdClient::FencedTxn(const LeaderKey& leader,
                                                std::vector<Compare> compares,
                                                const std::vector<TxnOp>& success) {
  if (leader.key.empty() || leader.rev <= 0) {
    return absl::InvalidArgumentError("FencedTxn needs a leader key from Campaign");
  }
  compares.insert(compares.begin(), Compare::CreateRevisionEquals(leader.key, leader.rev));
  return Txn(compares, success);
}

absl::Status EtcdClient::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(true);
  etcdserverpb::CompactionResponse response;
  return RetryCall(*pool_, Times(options_), "Compact",
                   [&](const Connection& connection, grpc::ClientContext* context) {
                     return connection.kv->Compact(context, request, &response);
                   });
}

absl::StatusOr<Lease> EtcdClient::GrantLease(absl::Duration ttl) {
  const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(ttl, absl::Seconds(1)));
  if (seconds < 1) return absl::InvalidArgumentError("etcd lease TTL must be at least 1 s");
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(seconds);
  etcdserverpb::LeaseGrantResponse response;
  absl::Status status =
      RetryCall(*pool_, Times(options_), "LeaseGrant",
                [&](const Connection& connection, grpc::ClientContext* context) {
                  return connection.lease->LeaseGrant(context, request, &response);
                });
  if (!status.ok()) return status;
  if (!response.error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return Lease{response.id(), absl::Seconds(response.ttl())};
}

absl::Status EtcdClient::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return RetryCall(*pool_, Times(options_), "LeaseRevoke",
                   [&](const Connection& connection, grpc::ClientContext* context) {
                     return connection.lease->LeaseRevoke(context, request, &response);
                   });
}

std::unique_ptr<LeaseKeeper> EtcdClient::KeepAlive(const Lease& lease,
                                                   LeaseKeeper::LostCallback on_lost) {
  return std::make_unique<LeaseKeeper>(pool_, lease, std::move(on_lost));
}

// One attempt lasts as long as the whole call: waiting is what a campaign does.
absl::StatusOr<LeaderKey> EtcdClient::Campaign(std::string_view election, int64_t lease,
                                               std::string_view value, absl::Duration timeout,
                                               Canceller* cancel) {
  if (auto status = CheckValue(election, value); !status.ok()) return status;
  v3electionpb::CampaignRequest request;
  request.set_name(std::string(election));
  request.set_lease(lease);
  request.set_value(std::string(value));
  v3electionpb::CampaignResponse response;
  absl::Status status =
      RetryCall(*pool_, CallTimes{timeout, timeout}, "Campaign",
                [&](const Connection& connection, grpc::ClientContext* context) {
                  if (cancel != nullptr && !cancel->Attach(context)) {
                    return grpc::Status(grpc::StatusCode::CANCELLED, "campaign cancelled");
                  }
                  grpc::Status result = connection.election->Campaign(context, request, &response);
                  if (cancel != nullptr) cancel->Detach();
                  return result;
                });
  if (!status.ok()) return status;
  const v3electionpb::LeaderKey& leader = response.leader();
  return LeaderKey{leader.name(), leader.key(), leader.rev(), leader.lease()};
}

absl::StatusOr<KeyValue> EtcdClient::Leader(std::string_view election) {
  v3electionpb::LeaderRequest request;
  request.set_name(std::string(election));
  v3electionpb::LeaderResponse response;
  absl::Status status = RetryCall(*pool_, Times(options_), "Leader",
                                  [&](const Connection& connection, grpc::ClientContext* context) {
                                    return connection.election->Leader(context, request, &response);
                                  });
  if (!status.ok()) return status;
  return FromProto(response.kv());
}

absl::Status EtcdClient::Resign(const LeaderKey& leader) {
  v3electionpb::ResignRequest request;
  v3electionpb::LeaderKey* key = request.mutable_leader();
  key->set_name(leader.name);
  key->set_key(leader.key);
  key->set_rev(leader.rev);
  key->set_lease(leader.lease);
  v3electionpb::ResignResponse response;
  return RetryCall(*pool_, Times(options_), "Resign",
                   [&](const Connection& connection, grpc::ClientContext* context) {
                     return connection.election->Resign(context, request, &response);
                   });
}

std::unique_ptr<Watcher> EtcdClient::Watch(std::string_view prefix, int64_t from_revision,
                                           Watcher::Callback callback) {
  return std::make_unique<Watcher>(pool_, std::string(prefix), from_revision, std::move(callback));
}

}  // namespace lodestone::replication
