// gRPC channel credentials of a party or a node from the throwaway test PKI (test_certs.h): a
// client certificate with the identity URI SAN the servers name callers by (rpc/identity.h).
#ifndef LODESTONE_TESTS_SERVICES_RPC_PARTY_CREDENTIALS_H_
#define LODESTONE_TESTS_SERVICES_RPC_PARTY_CREDENTIALS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "grpcpp/security/credentials.h"
#include "tests/services/rpc/test_certs.h"

namespace lodestone::testing {

// `uri` is the whole identity, e.g. "urn:lodestone:party:m-party"; `serial` must be unique
// within the PKI.
inline std::shared_ptr<grpc::ChannelCredentials> IdentityCredentials(const TestPki& pki,
                                                                     const std::string& name,
                                                                     const std::string& uri,
                                                                     int serial) {
  std::string error;
  EXPECT_TRUE(pki_internal::MakeLeaf(
      pki.dir, name, name, "ca",
      "extendedKeyUsage = clientAuth\nsubjectAltName = URI:" + uri + "\n", serial, &error))
      << error;
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pki_internal::ReadText(pki.ca_cert);
  ssl.pem_private_key = pki_internal::ReadText(pki.dir + "/" + name + ".key");
  ssl.pem_cert_chain = pki_internal::ReadText(pki.dir + "/" + name + ".crt");
  return grpc::SslCredentials(ssl);
}

inline std::shared_ptr<grpc::ChannelCredentials> PartyCredentials(const TestPki& pki,
                                                                  const std::string& party,
                                                                  int serial) {
  return IdentityCredentials(pki, "party-" + party, "urn:lodestone:party:" + party, serial);
}

// A CA-signed client certificate without an identity SAN: UNAUTHENTICATED everywhere.
inline std::shared_ptr<grpc::ChannelCredentials> AnonymousCredentials(const TestPki& pki) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pki_internal::ReadText(pki.ca_cert);
  ssl.pem_private_key = pki_internal::ReadText(pki.client_key);
  ssl.pem_cert_chain = pki_internal::ReadText(pki.client_cert);
  return grpc::SslCredentials(ssl);
}

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SERVICES_RPC_PARTY_CREDENTIALS_H_
