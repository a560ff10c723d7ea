/* The static variant gets no pkg-config flags: name OpenBLAS's own cblas.h (the pthread build's,
   which pkg-config would put first on the include path), then the usual shim. */
#include </usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h>
#include "../shim.h"
