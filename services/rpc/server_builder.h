// The gRPC server setup every Lodestone program shares: limits, health checking, reflection.
#ifndef LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_
#define LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port (useful with port 0)
};

// Binds `address` ("host:port", port 0 picks a free one) without TLS, registers `services`,
// enables the standard health service (all services SERVING) and reflection.
absl::StatusOr<StartedServer> StartServer(const std::string& address,
                                          const std::vector<grpc::Service*>& services,
                                          const ServerLimits& limits);

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_SERVER_BUILDER_H_
