// Linux epoll and accept4 for the worker's loop (not part of Swift's Glibc module).
#ifndef ERIZO_CEPOLL_SHIM_H
#define ERIZO_CEPOLL_SHIM_H

#include <sys/epoll.h>
#include <sys/socket.h>

// accept4 is declared only under _GNU_SOURCE; this keeps the define out of Swift's view.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
