// The gRPC server setup every Lodestone program shares: limits, health checking, reflection,
// TLS, and the optional plain-text health port.
#ifndef LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_
#define LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/support/server_callback.h"

namespace lodestone::rpc {

struct ServerLimits {
  int max_receive_message_bytes = 8 << 20;  // larger requests fail with RESOURCE_EXHAUSTED
  int max_send_message_bytes = 8 << 20;
  int max_concurrent_streams = 256;               // per HTTP/2 connection
  size_t memory_quota_bytes = size_t{512} << 20;  // gRPC ResourceQuota for the whole server
  int max_threads = 64;                           // ResourceQuota thread cap
};

// How the server is reached.
struct ServerTransport {
  // Of the main port; null = plain text (grpc::InsecureServerCredentials).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // "host:port" (port 0 = any free) of a second, plain-text server that serves only the standard
  // health service grpc.health.v1.Health, method Check (no reflection, no other service), for
  // probes that cannot speak TLS (the kubelet's gRPC probes); empty = none.
  std::string health_address;
  // "host:port" of a second port of the same server, with `second_credentials` (not null): the
  // embedded server's TLS port beside its plain-text loopback port (--tls_listen); empty = none.
  // Every call is identified by the connection it came on (rpc::CallerFromContext).
  std::string second_address{};
  std::shared_ptr<grpc::ServerCredentials> second_credentials{};
};

// The health port's own limits: it is unauthenticated, so it gets little.
inline constexpr ServerLimits kHealthPortLimits{
    .max_receive_message_bytes = 4 << 10,
    .max_send_message_bytes = 4 << 10,
    .max_concurrent_streams = 16,
    .memory_quota_bytes = size_t{16} << 20,
    .max_threads = 4,
};

class HealthPortService;

struct StartedServer {
  StartedServer();
  StartedServer(StartedServer&&);
  StartedServer& operator=(StartedServer&& other);
  // Stops the health server at once if Shutdown was not called (a slow health call would
  // otherwise hold it).
  ~StartedServer();

  // Sets the health status (service "") of the main server and of the health port. Change it
  // only here (not through server->GetHealthCheckService()), so that the two always agree.
  void SetServing(bool serving);

  // The health status becomes NOT_SERVING for good (on both ports); then the main server drains
  // until `deadline` (calls still running then are cancelled), then the health port stops.
  void Shutdown(std::chrono::system_clock::time_point deadline);

  std::unique_ptr<grpc::Server> server;
  int port = 0;                                 // the bound port (useful with port 0)
  int second_port = 0;                          // of ServerTransport::second_address
  std::unique_ptr<grpc::Server> health_server;  // null without ServerTransport::health_address
  int health_port = 0;

 private:
  friend absl::StatusOr<StartedServer> StartServer(const std::string&,
                                                   const std::vector<grpc::Service*>&,
                                                   const ServerLimits&, const ServerTransport&);
  void StopHealthServer();

  std::unique_ptr<HealthPortService> health_service_;  // of health_server
};

// Binds `address` ("host:port", port 0 picks a free one) with `transport.credentials` (plain
// text by default), registers `services`, enables the standard health service (service ""
// SERVING) and reflection; then starts the health port if asked for (Check only: Watch is
// UNIMPLEMENTED there).
absl::StatusOr<StartedServer> StartServer(const std::string& address,
                                          const std::vector<grpc::Service*>& services,
                                          const ServerLimits& limits,
                                          const ServerTransport& transport = {});

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_
