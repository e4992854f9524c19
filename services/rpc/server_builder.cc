#include "services/rpc/server_builder.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace lodestone::rpc {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Drops the builder plugins registered process-wide (reflection): the health port serves the
// health service and nothing else.
class NoPluginsOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

void ApplyLimits(const ServerLimits& limits, const char* quota_name, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(limits.max_send_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  grpc::ResourceQuota quota(quota_name);
  quota.Resize(limits.memory_quota_bytes);
  quota.SetMaxThreads(limits.max_threads);
  builder.SetResourceQuota(quota);
}

}  // namespace

// The health port's Health service: Check answers the status StartedServer set on the main
// server's default health service too (service "" only; other names are NOT_FOUND, as there).
// Watch is left UNIMPLEMENTED: probes use Check.
class HealthPortService final : public grpc::health::v1::Health::CallbackService {
 public:
  void SetServing(bool serving) {
    std::lock_guard lock(mu_);
    if (!shut_down_) serving_ = serving;
  }
  void Shutdown() {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    serving_ = false;
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (!request->service().empty()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"));
      return reactor;
    }
    {
      std::lock_guard lock(mu_);
      response->set_status(serving_ ? HealthCheckResponse::SERVING
                                    : HealthCheckResponse::NOT_SERVING);
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::mutex mu_;
  bool serving_ = true;  // the default health service starts SERVING too
  bool shut_down_ = false;
};

StartedServer::StartedServer() = default;
StartedServer::StartedServer(StartedServer&&) = default;
StartedServer::~StartedServer() { StopHealthServer(); }

StartedServer& StartedServer::operator=(StartedServer&& other) {
  if (this != &other) {
    StopHealthServer();
    server = std::move(other.server);
    port = other.port;
    health_server = std::move(other.health_server);
    health_port = other.health_port;
    health_service_ = std::move(other.health_service_);
  }
  return *this;
}

void StartedServer::StopHealthServer() {
  if (health_server != nullptr) {
    health_server->Shutdown(std::chrono::system_clock::now());
    health_server.reset();
  }
  health_service_.reset();  // after its server
}

void StartedServer::SetServing(bool serving) {
  if (server != nullptr && server->GetHealthCheckService() != nullptr) {
    server->GetHealthCheckService()->SetServingStatus(serving);
  }
  if (health_service_ != nullptr) health_service_->SetServing(serving);
}

void StartedServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  // NOT_SERVING on both ports, and no later change.
  if (health_service_ != nullptr) health_service_->Shutdown();
  if (server != nullptr) {
    if (server->GetHealthCheckService() != nullptr) server->GetHealthCheckService()->Shutdown();
    server->Shutdown(deadline);
  }
  // Probes saw NOT_SERVING while the main server drained; now the health port goes too.
  StopHealthServer();
}

absl::StatusOr<StartedServer> StartServer(const std::string& address,
                                          const std::vector<grpc::Service*>& services,
                                          const ServerLimits& limits,
                                          const ServerTransport& transport) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  StartedServer started;
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address,
                             transport.credentials != nullptr ? transport.credentials
                                                              : grpc::InsecureServerCredentials(),
                             &started.port);
    if (!transport.second_address.empty()) {
      if (transport.second_credentials == nullptr) {
        return absl::InvalidArgumentError("a second port needs its credentials");
      }
      builder.AddListeningPort(transport.second_address, transport.second_credentials,
                               &started.second_port);
    }
    for (grpc::Service* service : services) builder.RegisterService(service);
    ApplyLimits(limits, "lodestone", builder);
    started.server = builder.BuildAndStart();
    if (started.server == nullptr || started.port == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    }
    if (!transport.second_address.empty() && started.second_port == 0) {
      started.server->Shutdown();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", transport.second_address));
    }
  }
  if (!transport.health_address.empty()) {
    started.health_service_ = std::make_unique<HealthPortService>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(transport.health_address, grpc::InsecureServerCredentials(),
                             &started.health_port);
    builder.RegisterService(started.health_service_.get());
    // No default health service (HealthPortService is the health service), no reflection.
    builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    builder.SetOption(std::make_unique<NoPluginsOption>());
    ApplyLimits(kHealthPortLimits, "lodestone-health", builder);
    started.health_server = builder.BuildAndStart();
    if (started.health_server == nullptr || started.health_port == 0) {
      started.health_server.reset();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", transport.health_address, " (health port)"));
    }
  }
  return started;
}

}  // namespace lodestone::rpc
