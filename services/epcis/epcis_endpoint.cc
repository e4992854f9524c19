#include "services/epcis/epcis_endpoint.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace lodestone::epcis {

absl::StatusOr<std::unique_ptr<EpcisEndpoint>> EpcisEndpoint::Start(ledger::Ledger& ledger,
                                                                    EndpointOptions options) {
  const std::string address = options.server.address;
  std::string host = address.substr(0, address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  auto capture = CaptureService::Create(ledger, std::move(options.capture));
  if (!capture.ok()) return capture.status();
  auto query = std::make_unique<QueryService>(ledger, options.query);
  auto server = http::HttpServer::Create(std::move(options.server));
  if (!server.ok()) return server.status();
  (*capture)->RegisterRoutes(**server);
  query->RegisterRoutes(**server);
  if (options.more_routes) options.more_routes(**server);
  if (auto status = (*server)->Start(); !status.ok()) return status;
  return std::unique_ptr<EpcisEndpoint>(new EpcisEndpoint(std::move(host), *std::move(capture),
                                                          std::move(query), *std::move(server)));
}

EpcisEndpoint::EpcisEndpoint(std::string host, std::unique_ptr<CaptureService> capture,
                             std::unique_ptr<QueryService> query,
                             std::unique_ptr<http::HttpServer> server)
    : host_(std::move(host)),
      capture_(std::move(capture)),
      query_(std::move(query)),
      server_(std::move(server)) {}

EpcisEndpoint::~EpcisEndpoint() { Stop(); }

void EpcisEndpoint::Stop() { server_->Stop(); }

std::string EpcisEndpoint::url() const {
  return absl::StrCat(server_->tls() ? "https://" : "http://", host_, ":", server_->port());
}

absl::StatusOr<EndpointOptions> ProgramEndpointOptions(const ProgramHttpFlags& flags,
                                                       const rpc::IdentityOptions& identity,
                                                       prometheus::Registry* registry) {
  if (flags.max_body_mb < 1 || flags.max_body_mb > kMaxProgramBodyMb) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_max_body_mb must be in [1, ", kMaxProgramBodyMb, "], not ", flags.max_body_mb));
  }
  EndpointOptions options;
  options.server.address = flags.listen;
  if (!flags.tls_files.cert.empty() && !flags.tls_files.key.empty()) {
    auto material = rpc::LoadTlsMaterial(flags.tls_files);
    if (!material.ok()) return material.status();
    options.server.tls = *std::move(material);
  }
  options.server.identity = identity;
  options.server.limits.max_body_bytes = size_t(flags.max_body_mb) << 20;
  options.server.registry = registry;
  return options;
}

absl::StatusOr<std::unique_ptr<EpcisEndpoint>> StartProgramEndpoint(
    ledger::Ledger& ledger, const ProgramHttpFlags& flags, const rpc::IdentityOptions& identity,
    prometheus::Registry* registry, std::function<void(http::HttpServer&)> more_routes) {
  if (flags.listen.empty()) return std::unique_ptr<EpcisEndpoint>();
  auto options = ProgramEndpointOptions(flags, identity, registry);
  if (!options.ok()) return options.status();
  options->more_routes = std::move(more_routes);
  return EpcisEndpoint::Start(ledger, *std::move(options));
}

}  // namespace lodestone::epcis
