// The system zlib (zlib1g-dev): gzip for the files export jobs write.
#include <zlib.h>
