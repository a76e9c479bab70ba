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
