// Who is calling: the caller of a gRPC call named by its TLS client certificate (a party or a
// node), or, on a plain-text server, the local bootstrap administrator on loopback. Only the
// identity is established here; what a caller may do is decided elsewhere, from ledger data.
#ifndef LODESTONE_SERVICES_RPC_IDENTITY_H_
#define LODESTONE_SERVICES_RPC_IDENTITY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace lodestone::rpc {

struct Caller {
  enum class Kind {
    kParty,       // a partner: URI SAN urn:lodestone:party:<id>
    kNode,        // a ledger or provenance node: URI SAN urn:lodestone:node:<id>
    kLocalAdmin,  // a plain-text caller on loopback: the embedded default's bootstrap admin
  };
  Kind kind = Kind::kParty;
  std::string id;  // the party or node id; empty for kLocalAdmin

  bool operator==(const Caller&) const = default;
};

// "party", "node" or "local-admin", for logs and messages.
std::string_view CallerKindName(Caller::Kind kind);

// The URI SAN prefixes that name a caller, and the prefix every Lodestone identity URI shares.
inline constexpr std::string_view kIdentityUriPrefix = "urn:lodestone:";
inline constexpr std::string_view kPartyUriPrefix = "urn:lodestone:party:";
inline constexpr std::string_view kNodeUriPrefix = "urn:lodestone:node:";

struct IdentityOptions {
  // On a plain-text server, a caller from loopback (127.0.0.0/8, ::1, a Unix socket) is
  // kLocalAdmin. Off: plain-text callers are UNAUTHENTICATED. Never applies to TLS connections.
  bool allow_local_admin = false;
  // With allow_local_admin: a plain-text caller from any address is kLocalAdmin too. Only for a
  // network every client of which is trusted (programs: --plaintext_callers=any, logged loudly).
  bool plaintext_admin_from_any_address = false;
};

// The caller of the call `context` belongs to.
//
// Over TLS the caller is named by the verified client certificate (gRPC's AuthContext property
// "x509_pem_cert", parsed here): among its URI subject alternative names, exactly one must begin
// with kIdentityUriPrefix (compared without regard to case, so that a differently cased second
// claim cannot slip past), and it must be kPartyUriPrefix or kNodeUriPrefix followed by a well
// formed id (domain::IsWellFormedId: 1..128 bytes of [A-Za-z0-9._:/-]); prefix and kind are
// matched in lower case only. Other URIs (SPIFFE ids, say), DNS names and the subject are
// ignored. No client certificate (a server without a client CA does not ask for one), none or
// two such URIs, an unknown kind or a malformed id: UNAUTHENTICATED, with a message saying which.
//
// The certificate is trusted because the handshake verified it: use this only on servers that
// require and verify client certificates (ServerTlsCredentials with a CA does); the AuthContext
// does not say whether a certificate was verified. (gRPC 1.51 also lists the URIs in the
// "x509_subject_alternative_name" and "peer_uri" properties; the certificate itself is parsed
// here so that nothing depends on what a gRPC version chooses to copy, and a repeated
// subjectAltName extension is seen.)
//
// Without TLS ("insecure" or "local" transport security, or no AuthContext): kLocalAdmin for a
// loopback peer if options.allow_local_admin, else UNAUTHENTICATED. Any other transport
// security: UNAUTHENTICATED.
absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContextBase& context,
                                         const IdentityOptions& options);

// The parts of CallerFromContext, for callers that hold the pieces themselves.
//
// The caller named by a PEM client certificate (the leaf only), as above. The certificate is
// only parsed: the TLS handshake is what verified it.
absl::StatusOr<Caller> CallerFromCertificatePem(std::string_view pem);

// True for a gRPC peer string on loopback: "ipv4:127.x.y.z:port", "ipv6:[::1]:port",
// "ipv6:[::ffff:127.x.y.z]:port", "unix:..." and "unix-abstract:...".
bool IsLoopbackPeer(std::string_view peer);

// The identity options of a program: over TLS callers are named by their certificates; in plain
// text `plaintext_callers` says who is the administrator: "loopback" (local callers only; the
// embedded default) or "any" (every caller: a trusted network only). INVALID_ARGUMENT otherwise.
absl::StatusOr<IdentityOptions> ProgramIdentityOptions(bool tls,
                                                       std::string_view plaintext_callers);

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_IDENTITY_H_
