// Linux epoll for the worker's loop (not part of Swift's Glibc module).
#ifndef ERIZO_CEPOLL_SHIM_H
#define ERIZO_CEPOLL_SHIM_H

#include <sys/epoll.h>

#endif
