#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/codec/event_codec.h"
#include "services/lodectl/lodectl.h"

namespace lodestone::lodectl {

Client::Client(const Options& options) : options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  auto channel = grpc::CreateCustomChannel(
      options.server,
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
      args);
  ledger_ = v1::LedgerService::NewStub(channel);
  provenance_ = v1::ProvenanceService::NewStub(channel);
  health_ = grpc::health::v1::Health::NewStub(channel);
}

int Health(Client& client, const std::string& service, std::ostream& out) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  auto context = client.Context();
  const grpc::Status status = client.health().Check(context.get(), request, &response);
  if (!status.ok()) return ReportError("health", status);
  out << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kOk : kUnreachable;
}

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(options_.deadline_ms));
  return context;
}

int ExitCodeOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kUnreachable;
    case grpc::StatusCode::NOT_FOUND:
      return kNotFound;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kInvalidInput;
    default:
      return kFailure;
  }
}

int ReportError(const std::string& what, const grpc::Status& status) {
  std::cerr << "lodectl: " << what << ": ";
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) std::cerr << "server unreachable: ";
  std::cerr << status.error_message() << " (code " << status.error_code() << ")\n";
  return ExitCodeOf(status);
}

bool ParseTime(const std::string& text, google::protobuf::Timestamp* out) {
  absl::Time time;
  std::string error;
  if (text.size() == 10) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(text, &day)) return false;
    time = absl::FromCivil(day, absl::UTCTimeZone());
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return false;
  }
  codec::TimeToProto(time, out);  // exact: the nanoseconds of an RFC 3339 time are kept
  return true;
}

}  // namespace lodestone::lodectl
