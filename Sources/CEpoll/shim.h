// What the worker's loop needs from Linux and glibc that Swift's Glibc module does not import:
// epoll, accept4, sendmmsg, and the heap statistics of malloc.h.
#ifndef ERIZO_CEPOLL_SHIM_H
#define ERIZO_CEPOLL_SHIM_H

#include <malloc.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// accept4 is declared only under _GNU_SOURCE; this keeps the define out of Swift's view.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

// struct mmsghdr and sendmmsg are _GNU_SOURCE too: the same layout under our name, and the system
// call behind it.
struct erizo_mmsghdr {
  struct msghdr msg_hdr;
  unsigned int msg_len;
};

static inline int erizo_sendmmsg(int fd, struct erizo_mmsghdr *messages, unsigned int count, int flags) {
  return (int)syscall(SYS_sendmmsg, fd, messages, count, flags);
}

#endif
