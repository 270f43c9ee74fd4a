// SHA-256 through OpenSSL's EVP interface.
#include "common/util/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "common/util/error.h"

namespace kd {

struct Sha256::Context {
  Context() : ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw Error("cannot initialise SHA-256");
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx;
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {}
Sha256::~Sha256() = default;

void Sha256::update(const void* bytes, size_t n) {
  if (n > 0 && EVP_DigestUpdate(ctx_->ctx.get(), bytes, n) != 1) throw Error("SHA-256 update failed");
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->ctx.get(), md, &n) != 1) throw Error("SHA-256 finalisation failed");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 d;
  d.update(bytes);
  return d.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open file to hash").file(path.string());
  Sha256 d;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) d.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error("cannot read file to hash").file(path.string());
  return d.hex();
}

}  // namespace kd
