// libmongoc / libbson as Swift sees them. bson_t is 128-byte aligned, so Swift gets it as an
// OpaquePointer: allocate with bson_new() and free with bson_destroy(); BCON_NEW is a variadic
// macro, so documents are built with bson_append_*.
#ifndef ERIZO_CMONGOC_SHIM_H
#define ERIZO_CMONGOC_SHIM_H

#include <mongoc/mongoc.h>

#endif
