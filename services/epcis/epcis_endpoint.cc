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
  auto server = http::HttpServer::Create(std::move(options.server));
  if (!server.ok()) return server.status();
  (*capture)->RegisterRoutes(**server);
  if (auto status = (*server)->Start(); !status.ok()) return status;
  return std::unique_ptr<EpcisEndpoint>(
      new EpcisEndpoint(std::move(host), *std::move(capture), *std::move(server)));
}

EpcisEndpoint::EpcisEndpoint(std::string host, std::unique_ptr<CaptureService> capture,
                             std::unique_ptr<http::HttpServer> server)
    : host_(std::move(host)), capture_(std::move(capture)), server_(std::move(server)) {}

EpcisEndpoint::~EpcisEndpoint() { Stop(); }

void EpcisEndpoint::Stop() { server_->Stop(); }

std::string EpcisEndpoint::url() const {
  return absl::StrCat(server_->tls() ? "https://" : "http://", host_, ":", server_->port());
}

}  // namespace lodestone::epcis
