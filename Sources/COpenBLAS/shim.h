#include <cblas.h>
/* mallopt: the engine keeps large tensor buffers in the heap (see configureAllocatorForTensors). */
#include <malloc.h>
