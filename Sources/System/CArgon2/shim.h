// The reference Argon2 library (libargon2-dev): verifying imported argon2i/argon2d/argon2id PHC strings.
#include <argon2.h>
