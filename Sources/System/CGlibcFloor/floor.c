// The functions run on Lambda's provided.al2023, whose glibc is 2.34, and are built on newer distributions.
// The linker binds each libc symbol to the newest version the build machine has, and four symbols used by the
// static Swift runtime, Foundation, libstdc++ and libxcrypt got a new version after 2.34: hypot and hypotf
// (2.35, a new implementation of the same contract), arc4random and arc4random_buf (new in 2.36).
//
// Defined here, hidden, they satisfy those references inside the executable itself: hypot and hypotf call
// glibc's own implementation at its first version, arc4random* read getrandom(2) (2.25), the kernel CSPRNG
// that glibc's arc4random reads too. Hidden matters: an exported definition would also satisfy the versioned
// reference below at run time and call itself. infra/package.sh checks the result with objdump.
//
// Hand-written because no library does this: it is symbol binding, not arithmetic or randomness of our own.
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__linux__) && defined(__GLIBC__)
#include <sys/random.h>

#define GANGWAY_HIDDEN __attribute__((visibility("hidden")))

#if defined(__x86_64__)
#define GANGWAY_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define GANGWAY_GLIBC_BASE "GLIBC_2.17"
#endif

#ifdef GANGWAY_GLIBC_BASE
double gangway_hypot_base(double, double);
float gangway_hypotf_base(float, float);
__asm__(".symver gangway_hypot_base, hypot@" GANGWAY_GLIBC_BASE);
__asm__(".symver gangway_hypotf_base, hypotf@" GANGWAY_GLIBC_BASE);

GANGWAY_HIDDEN double hypot(double x, double y) { return gangway_hypot_base(x, y); }
GANGWAY_HIDDEN float hypotf(float x, float y) { return gangway_hypotf_base(x, y); }
#endif

/// arc4random_buf's contract: fill the buffer with cryptographically secure bytes; never fail.
GANGWAY_HIDDEN void arc4random_buf(void *buffer, size_t length) {
    unsigned char *bytes = buffer;
    while (length > 0) {
        ssize_t got = getrandom(bytes, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            __builtin_trap();  // getrandom(2) without flags fails only on a bad buffer: never hand out zeros
        }
        bytes += got;
        length -= (size_t)got;
    }
}

GANGWAY_HIDDEN uint32_t arc4random(void) {
    uint32_t value;
    arc4random_buf(&value, sizeof value);
    return value;
}
#endif
