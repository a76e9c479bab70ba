// The parts of the system OpenSSL (libssl-dev) that Gangway uses: RSA keys, RS256, SHA-256, randomness;
// digests, HMAC, PBKDF2 and scrypt by name for imported password hashes (provider.h: the legacy provider for MD4/whirlpool).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/provider.h>

// EVP_PKEY_KEYPAIR is a composite macro Swift cannot import.
static inline int gangway_evp_pkey_keypair(void) { return EVP_PKEY_KEYPAIR; }

// SHA-256 through OpenSSL's low-level implementation (the code the default provider's SHA-256 runs too). OpenSSL 3's
// one-shot SHA256() and every EVP digest first fetch the algorithm from a provider, and a process's first fetch
// loads the configuration and builds the provider's method tables: 5.4 million instructions, 30% of a cold
// `authorize` that only hashes a random value (callgrind). The low-level API is deprecated in OpenSSL 3, not removed.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void gangway_sha256(const unsigned char *data, size_t count, unsigned char *out) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, count);
    SHA256_Final(out, &context);
}
#pragma clang diagnostic pop
