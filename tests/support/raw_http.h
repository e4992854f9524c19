// A raw HTTP/1.1 exchange over loopback for tests of what ordinary clients do not send (a
// declared 100 MB body, oversized headers): the first response to `request`.
#ifndef LODESTONE_TESTS_SUPPORT_RAW_HTTP_H_
#define LODESTONE_TESTS_SUPPORT_RAW_HTTP_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

namespace lodestone::testing {

// Sends `request` on a new connection and reads its first response (bounded by a timeout).
inline std::string RawExchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return "";
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  // Until the first response is complete: its headers and Content-Length bytes of body.
  for (;;) {
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) {
      const size_t at = response.find("Content-Length: ");
      size_t length = 0;
      if (at != std::string::npos && at < end) {
        length = std::stoul(response.substr(at + 16, response.find("\r\n", at) - at - 16));
      }
      if (response.size() >= end + 4 + length) break;
    }
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_RAW_HTTP_H_
