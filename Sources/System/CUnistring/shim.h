// GNU libunistring (libunistring-dev): Unicode normalisation, case mapping and character properties for PRECIS
// (RFC 8264/8265) login-name enforcement. FoundationEssentials has none of these and ICU is too large for a
// function's cold start; the static archive is linked, so a function needs no extra shared object.
// A glibc header first: libunistring's own <unistring/stdint.h> replaces the C integer types unless __GLIBC__
// is already defined, and Swift's Glibc module would then see two definitions of them.
#include <stdint.h>
#include <stdlib.h>
#include <unistr.h>
#include <uninorm.h>
#include <unicase.h>
#include <unictype.h>

// The normalisation forms are macros over addresses of extern structs, which Swift does not import.
static inline uninorm_t gangway_uninorm_nfc(void) { return UNINORM_NFC; }
static inline uninorm_t gangway_uninorm_nfkc(void) { return UNINORM_NFKC; }
