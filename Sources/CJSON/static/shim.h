/* The static variant gets no pkg-config flags, so json-c's header folder is named here. */
#include <json-c/json.h>
