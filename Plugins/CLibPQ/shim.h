#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
/* libpq, PostgreSQL's own C client (Debian: libpq-dev). */
#include <postgresql/libpq-fe.h>
#endif
