#include <mpi.h>

/* Open MPI defines its predefined handles (MPI_COMM_WORLD, MPI_BYTE, ...) as macros that take
   the address of a global; Swift imports no such macro, so each one gets an accessor here. */

static inline MPI_Comm metanas_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype metanas_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype metanas_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Errhandler metanas_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int metanas_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
