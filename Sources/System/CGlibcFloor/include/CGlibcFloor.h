// Nothing to import: this target only supplies the definitions in floor.c, which the link prefers to glibc's.
