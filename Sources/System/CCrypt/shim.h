// The system libxcrypt (libcrypt-dev): bcrypt ($2a$/$2b$) password hashing.
#include <crypt.h>
