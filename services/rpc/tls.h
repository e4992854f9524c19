// TLS for the gRPC servers and clients: PEM files loaded and checked (readable, parseable, the
// key matching the certificate, the certificate within its validity period) before gRPC sees
// them, so that a bad file is reported at startup with its path instead of as a failed
// handshake later. Certificates are read once: replacing the files needs a restart.
#ifndef LODESTONE_SERVICES_RPC_TLS_H_
#define LODESTONE_SERVICES_RPC_TLS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace lodestone::rpc {

// Paths of PEM files; empty = not given.
struct TlsFiles {
  std::string cert;  // certificate chain, leaf first
  std::string key;   // the leaf's private key, unencrypted
  std::string ca;    // trusted CA certificates (one or more)
};

// A PEM file larger than this is refused (a certificate chain is a few KiB).
inline constexpr size_t kMaxPemFileBytes = size_t{1} << 20;

// The checked contents of TlsFiles (empty where the path was empty).
struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string ca_certs;
};

// Reads and checks the given files: each must be a readable regular file of at most
// kMaxPemFileBytes holding PEM blocks OpenSSL parses; cert and key must be given together, the
// key must match the first certificate, and that certificate must be valid now. Errors name
// the file: NOT_FOUND (missing), PERMISSION_DENIED (unreadable), INVALID_ARGUMENT (bad content).
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// Server credentials: `cert` and `key` are required. With `ca`, every client must present a
// certificate that chains to it (REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY): the
// services have no other authentication, so the CA decides who may append to the ledger. A
// client certificate that is requested but not verified would authenticate nobody. Without
// `ca`, client certificates are not requested (server-authenticated TLS only).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const TlsFiles& files);

// Client credentials: `ca` verifies the server (empty = gRPC's default roots, overridable with
// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH); `cert` and `key`, given together, are the client's
// identity for servers that require client certificates.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const TlsFiles& files);

// The transport of a program that serves gRPC and also calls other Lodestone servers (the
// ledger forwarding to its leader, provenance following the ledger), from its --tls_cert,
// --tls_key and --tls_ca flags. TLS is on when cert and key are given; the same files are then
// the server's certificate, the client identity of its outgoing calls, and (ca) the trust
// anchor both ways.
struct ProgramTransport {
  bool tls = false;
  std::shared_ptr<grpc::ServerCredentials> server;   // insecure when !tls
  std::shared_ptr<grpc::ChannelCredentials> client;  // insecure when !tls
  std::string description;                           // for the startup log line
};

// INVALID_ARGUMENT, naming the flags, for a key without a certificate (or the reverse) and for
// a CA without both; the errors of LoadTlsMaterial otherwise.
absl::StatusOr<ProgramTransport> ProgramTransportFromFlags(const TlsFiles& files);

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_TLS_H_
