// Byte encodings shared by every persisted format (storage/FORMAT.md, the provenance profile
// codec): big-endian fixed-width integers (keys sort numerically), LEB128 varints (values),
// little-endian fixed32 (checksums), zigzag for signed varints.
#ifndef LODESTONE_SERVICES_BASE_CODING_H_
#define LODESTONE_SERVICES_BASE_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lodestone::coding {

inline void PutBigEndian64(std::string& out, uint64_t value) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(buf, 8);
}

inline std::string BigEndian64(uint64_t value) {
  std::string out;
  PutBigEndian64(out, value);
  return out;
}

inline void PutBigEndian32(std::string& out, uint32_t value) {
  char buf[4];
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(buf, 4);
}

// Requires in.size() >= 8.
inline uint64_t DecodeBigEndian64(std::string_view in) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

// Requires in.size() >= 4.
inline uint32_t DecodeBigEndian32(std::string_view in) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

inline void PutFixed32LittleEndian(std::string& out, uint32_t value) {
  char buf[4];
  for (int i = 0; i < 4; ++i) {
    buf[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out.append(buf, 4);
}

// Requires in.size() >= 4.
inline uint32_t DecodeFixed32LittleEndian(std::string_view in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

inline void PutVarint64(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline size_t VarintLength(uint64_t value) {
  size_t length = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++length;
  }
  return length;
}

// Consumes a varint from the front of `in`. False if truncated or longer than 10 bytes.
inline bool GetVarint64(std::string_view& in, uint64_t& value) {
  value = 0;
  for (size_t i = 0; i < in.size() && i < 10; ++i) {
    const uint64_t byte = static_cast<uint8_t>(in[i]);
    if (i == 9 && byte > 1) return false;  // would overflow 64 bits
    value |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

// Consumes varint length + bytes. False if truncated or longer than `max_length`.
inline bool GetLengthPrefixed(std::string_view& in, size_t max_length, std::string_view& value) {
  uint64_t length = 0;
  if (!GetVarint64(in, length) || length > max_length || length > in.size()) return false;
  value = in.substr(0, length);
  in.remove_prefix(length);
  return true;
}

inline void PutLengthPrefixed(std::string& out, std::string_view value) {
  PutVarint64(out, value.size());
  out.append(value);
}

inline uint64_t ZigZag(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}
inline int64_t UnZigZag(uint64_t value) {
  return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

}  // namespace lodestone::coding

#endif  // LODESTONE_SERVICES_BASE_CODING_H_
